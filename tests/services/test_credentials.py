"""Credentials encrypted at rest, readable under any configured key, and rotated to the newest key."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from models import Business, CalendarConnection, Provider, Staff, User
from services.credentials import (
    CredentialsUnreadable,
    CredentialVault,
    InvalidSecretKey,
    new_key,
    rotate_stored_credentials,
)

SECRET = {"username": "sam", "password": "hunter2-app-password"}


def test_sealed_credentials_hide_the_secret_and_open_again() -> None:
    vault = CredentialVault([new_key()])
    sealed = vault.seal(SECRET)
    assert "hunter2" not in sealed
    assert vault.unseal(sealed) == SECRET


def test_a_vault_without_the_right_key_refuses_without_echoing_anything() -> None:
    sealed = CredentialVault([new_key()]).seal(SECRET)
    with pytest.raises(CredentialsUnreadable) as raised:
        CredentialVault([new_key()]).unseal(sealed)
    assert str(raised.value) == "stored credentials cannot be decrypted with the configured keys"
    assert sealed not in repr(raised.value)


def test_a_bad_key_is_named_by_position_never_by_value() -> None:
    good = new_key()
    with pytest.raises(InvalidSecretKey) as raised:
        CredentialVault([good, "not-a-key-but-maybe-a-secret"])
    assert str(raised.value) == "secret key number 2 is not a Fernet key"
    assert "not-a-key" not in repr(raised.value.__cause__)  # no chained exception carries the value
    assert good not in repr(CredentialVault([good]))


async def _connection_with(sealed: str) -> CalendarConnection:
    owner = await User.create(email="o@example.com", name="O", password_hash="-", role="owner")
    business = await Business.create(name="B", time_zone="UTC", owner=owner)
    staff = await Staff.create(business=business, name="S", email="s@example.com", time_zone="UTC")
    return await CalendarConnection.create(staff=staff, provider=Provider.CALDAV, credentials=sealed)


async def test_rotation_moves_stored_credentials_to_the_new_key(db: str) -> None:
    # given credentials stored under an old key
    old, new = new_key(), new_key()
    connection = await _connection_with(CredentialVault([old]).seal(SECRET))
    # when the new key is put first and the credentials are rotated (twice: it is idempotent)
    vault = CredentialVault([new, old])
    assert await rotate_stored_credentials(vault) == 1
    assert await rotate_stored_credentials(vault) == 1
    # then the new key alone reads them, and the old key alone no longer does
    stored = (await CalendarConnection.get(id=connection.id)).credentials
    assert CredentialVault([new]).unseal(stored) == SECRET
    with pytest.raises(CredentialsUnreadable):
        CredentialVault([old]).unseal(stored)


async def test_rotate_secrets_command_rewrites_the_database(db: str, tmp_path: Path, repo_root: Path) -> None:
    old, new = new_key(), new_key()
    connection = await _connection_with(CredentialVault([old]).seal(SECRET))
    env = {**os.environ, "LOCKSTEP_DATABASE_URL": db, "LOCKSTEP_DATA_DIR": str(tmp_path),
           "LOCKSTEP_SECRET_KEYS": f"{new},{old}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "rotate-secrets", cwd=repo_root, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = (stream.decode() for stream in await process.communicate())
    assert process.returncode == 0, err
    assert out == ("re-encrypted 1 stored credentials and 0 customer feed tokens under the first key of "
                   "LOCKSTEP_SECRET_KEYS\n")
    assert new not in out + err and old not in out + err
    stored = (await CalendarConnection.get(id=connection.id)).credentials
    assert CredentialVault([new]).unseal(stored) == SECRET
