"""The whole service pointed at the fake Google: the settings a uvicorn API, a scheduler and a worker need to talk
to the fake (and to be reached by its push channels), and the scheduler and worker as child processes.

The API's public URL is its own loopback address, so the fake's channels POST their notifications to the real
`/webhooks/google` of the server under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fakes.google import FakeGoogle
from tests.support.server import ROOT


def google_env(google: FakeGoogle, public_url: str, redis_url: str, channel: str, secret_key: str,
               return_urls: tuple[str, ...] = ()) -> dict[str, str]:
    """Settings shared by the API, the scheduler and the worker (all of them must agree on the live channel, the
    credential key and where Google is)."""
    return {
        "LOCKSTEP_PUBLIC_URL": public_url, "LOCKSTEP_REDIS_URL": redis_url, "LOCKSTEP_LIVE_CHANNEL": channel,
        "LOCKSTEP_SECRET_KEYS": secret_key, "LOCKSTEP_OAUTH_RETURN_URLS": ",".join(return_urls),
        "LOCKSTEP_GOOGLE_CLIENT_ID": google.oauth.client_id,
        "LOCKSTEP_GOOGLE_CLIENT_SECRET": google.oauth.client_secret,
        "LOCKSTEP_GOOGLE_AUTHORIZE_URL": google.authorize_url, "LOCKSTEP_GOOGLE_TOKEN_URL": google.token_url,
        "LOCKSTEP_GOOGLE_REVOKE_URL": google.revoke_url, "LOCKSTEP_GOOGLE_API_URL": google.api_url,
    }


@contextmanager
def sync_processes(database_url: str, data_dir: Path, env: dict[str, str]) -> Iterator[None]:
    """`python -m app scheduler` and `python -m app worker` beside the API, as production runs them; their output goes
    to log files in `data_dir`."""
    child_env = {**os.environ, "LOCKSTEP_DATABASE_URL": database_url, "LOCKSTEP_DATA_DIR": str(data_dir), **env}
    children = []
    try:
        for verb in ("scheduler", "worker"):
            log = (data_dir / f"{verb}.log").open("w")
            children.append((subprocess.Popen([sys.executable, "-m", "app", verb], cwd=ROOT, env=child_env,
                                              stdout=log, stderr=subprocess.STDOUT), log))
        yield
    finally:
        for child, _log in children:
            child.terminate()
        for child, log in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
            log.close()
