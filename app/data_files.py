"""The data folder holds the SQLite database (with its WAL and SHM files), the bundled Redis's `redis.rdb` and log,
and the generated secrets: readable by the service's own user only.

Every command that may create files there first sets the process's umask to 077, so whatever SQLite, Redis or
Lockstep creates afterwards is owner-only from the first byte (child processes inherit the umask), and then
tightens what an earlier version or a hand copy left open: the folder to 0700, its files to 0600.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.settings import Settings

FOLDER_MODE = 0o700
FILE_MODE = 0o600
OWNER_ONLY_UMASK = 0o077


def _sqlite_file(database_url: str) -> Path | None:
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def restrict_umask() -> None:
    """Files this process (and its children) create from now on are readable by their owner only."""
    os.umask(OWNER_ONLY_UMASK)


def protect_data_files(settings: Settings) -> None:
    """Create the data folder owner-only, and make what is already in it (and the SQLite files) owner-only."""
    restrict_umask()
    settings.data_dir.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(settings.data_dir, FOLDER_MODE)
    files = [entry for entry in settings.data_dir.iterdir() if entry.is_file() and not entry.is_symlink()]
    database = _sqlite_file(settings.database_url)
    if database is not None:
        files += [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    for path in files:
        try:
            if stat.S_IMODE(path.stat().st_mode) & ~FILE_MODE:
                os.chmod(path, FILE_MODE)
        except FileNotFoundError:
            continue
