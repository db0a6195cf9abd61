"""The mail catcher: with no mail server configured, `serve` keeps every mail it sends as an `.eml` file in the data
folder's `mail/`, says where at start-up, and stops the catcher with the service."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.mail_catcher import MailCatcher
from jobs.smtp import deliver, smtp_server
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up
from tests.support.server import free_port, wait_until_healthy


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def test_the_catcher_keeps_each_message_as_an_eml_file_and_stops_listening_when_stopped(tmp_path: Path) -> None:
    # given a running catcher
    catcher = MailCatcher(tmp_path)
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "bookings@fixit.example", "cleo@example.com", "Hello"
        message.set_content("Your booking is confirmed.")
        # when two mails are sent to it over SMTP
        await deliver(smtp_server(catcher.url), message)
        await deliver(smtp_server(catcher.url), message)
        # then each is a file of its own in the mail folder, as sent
        files = sorted((tmp_path / "mail").glob("*.eml"))
        assert len(files) == 2
        kept = cast(EmailMessage, message_from_bytes(files[0].read_bytes(), policy=policy.default))
        assert (kept["Subject"], kept.get_content().strip()) == ("Hello", "Your booking is confirmed.")
    finally:
        catcher.stop()
    assert _refused(catcher.port)


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    data_dir: Path
    log: Path


@pytest.fixture
def served(tmp_path: Path, repo_root: Path) -> Iterator[Served]:
    """The service on a fresh data folder, with no mail server (nor Redis) configured."""
    data_dir = tmp_path / "fresh-data"
    port = free_port()
    env = {**os.environ, "LOCKSTEP_DATA_DIR": str(data_dir), "LOCKSTEP_PORT": str(port), "LOCKSTEP_WORKERS": "1"}
    for name in ("LOCKSTEP_REDIS_URL", "LOCKSTEP_DATABASE_URL", "LOCKSTEP_JWT_SECRET", "LOCKSTEP_SMTP_URL"):
        env.pop(name, None)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=repo_root, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, 90, log_path)
        yield Served(process, base, data_dir, log_path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def kept_mail(folder: Path, seconds: float, subject_ends: str) -> list[EmailMessage]:
    """The mails kept in `folder` whose subject ends so, waiting up to `seconds` for the first."""
    deadline = time.monotonic() + seconds
    while True:
        found = [cast(EmailMessage, message_from_bytes(path.read_bytes(), policy=policy.default))
                 for path in sorted(folder.glob("*.eml"))]
        matching = [mail for mail in found if str(mail["Subject"]).endswith(subject_ends)]
        if matching or time.monotonic() > deadline:
            return matching
        time.sleep(0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the service's processes end with it on Linux")
async def test_serve_without_a_mail_server_keeps_the_mails_it_sends_in_the_data_folder(served: Served) -> None:
    # given the service started with no mail server configured: it says where the mail goes
    folder = served.data_dir / "mail"
    assert f"every mail is kept as an .eml file in {folder}" in served.log.read_text()
    # when a customer books through the API
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
        api = GraphQLClient(http)
        shop = await given_shop(api)
        customer = (await sign_up(api, "cleo@example.com", name="Cleo Customer"))["accessToken"]
        local = datetime.now(ZoneInfo("Europe/Berlin")).replace(hour=10, minute=0, second=0, microsecond=0)
        starts = (local + timedelta(days=3)).astimezone(UTC)
        made = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": starts.isoformat()}},
                         customer)
        assert made["createBooking"]["__typename"] == "BookingPayload"
    # then its confirmation is soon an .eml file in the data folder (beside the sign-ups' verification mail)
    (mail,) = await asyncio.to_thread(kept_mail, folder, 30, " is confirmed")
    assert mail["To"] == "cleo@example.com"
    # and the service (its catcher with it) stops cleanly
    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(served.process.wait, 60) == 128 + signal.SIGTERM
