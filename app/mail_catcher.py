"""The mail catcher `serve` runs when no LOCKSTEP_SMTP_URL is set: an SMTP server on the loopback interface
(aiosmtpd, in a thread of the serving process) that keeps every message it receives as an `.eml` file in the data
folder's `mail/`, so that on a developer machine every mail Lockstep sends can be opened in a mail program. It
accepts anything and sends nothing on; it starts and stops with the service.
"""

from __future__ import annotations

import itertools
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _KeepAsFiles:
    """aiosmtpd handler: each message's bytes, as received, into a file of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        final = self.folder / f"{stamp}-{os.getpid()}-{next(self._numbers)}.eml"
        partial = final.with_suffix(".part")
        content = envelope.original_content or envelope.content
        partial.write_bytes(content if isinstance(content, bytes) else str(content).encode())
        partial.replace(final)  # a mail program watching the folder never opens half a message
        return "250 Message kept"


class MailCatcher:
    """A running catcher; `url` is the LOCKSTEP_SMTP_URL that reaches it, `folder` where the messages go."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.folder = data_dir / "mail"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_loopback_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._controller = Controller(_KeepAsFiles(self.folder), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
