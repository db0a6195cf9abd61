"""Provider credentials (OAuth tokens, CalDAV passwords, Calendly keys), encrypted at rest.

Terms: the *vault* holds one or more Fernet keys. The first key encrypts; every key decrypts, so a new key can be put
first while rows written under older keys stay readable. *Rotating* re-encrypts every stored credential under the
first key, after which the older keys can be dropped. Neither ciphertext nor keys ever appear in error messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from models import CalendarConnection


class CredentialsUnreadable(Exception):
    """Stored credentials could not be decrypted with any configured key (a key was dropped too early)."""


class InvalidSecretKey(ValueError):
    pass


def new_key() -> str:
    return Fernet.generate_key().decode()


class CredentialVault:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise InvalidSecretKey("at least one secret key is needed")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError):
                # Name the position, never the value.
                raise InvalidSecretKey(f"secret key number {position} is not a Fernet key") from None
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "CredentialVault(<keys hidden>)"

    def seal(self, credentials: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()

    def unseal(self, sealed: str) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken:
            raise CredentialsUnreadable("stored credentials cannot be decrypted with the configured keys") from None
        return value

    def reseal(self, sealed: str) -> str:
        """The same credentials encrypted under the first key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise CredentialsUnreadable("stored credentials cannot be decrypted with the configured keys") from None


async def rotate_stored_credentials(vault: CredentialVault) -> int:
    """Re-encrypt every connection's credentials under the vault's first key; returns how many were rewritten.

    Safe to run twice or to interrupt: each row is rewritten on its own, and a row already under the first key is
    simply written again.
    """
    rewritten = 0
    for connection in await CalendarConnection.exclude(credentials="").only("id", "credentials"):
        await CalendarConnection.filter(id=connection.id, credentials=connection.credentials).update(
            credentials=vault.reseal(connection.credentials))
        rewritten += 1
    return rewritten
