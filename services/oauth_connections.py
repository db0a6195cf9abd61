"""Connecting a calendar account by OAuth (each provider whose registry entry describes OAuth): starting the
authorisation, and taking the provider's answer when it sends the user back to the callback
(services.oauth_confirmation then holds the granted account until the user who started confirms it).

Terms:
- *state*: the random value that ties the provider's answer to the authorisation Lockstep started. It is bound to
  the user who started it, single use, valid for STATE_LIFETIME, and kept server-side (only its hash is stored), so
  the flow completes even when the phone opens the provider's page in a browser that is not the app.
- *return URL*: where the user is sent afterwards with the outcome; it must match the allow-list (domain.redirects).
- *gateway*: talks to the provider for this flow (authorisation URL, code exchange, the account's calendars).
  Services may not call providers, so the app injects one per provider.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.redirects import return_url_allowed
from models import CalendarConnection, ConnectionHealth, OAuthState, Provider
from services.auth import Viewer
from services.connections import ProbedCalendar, save_connection
from services.credentials import CredentialVault
from services.errors import InvalidInputError, ServiceError
from services.sync_queries import managed_staff

STATE_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class GrantedAccount:
    """What a completed authorisation gives: the account's name (its email), the tokens to store sealed, when the
    access token expires, and the account's calendars."""

    account_label: str
    credentials: dict[str, Any] = field(repr=False)
    token_expires_at: datetime
    calendars: tuple[ProbedCalendar, ...]


class OAuthGrantError(Exception):
    """The provider did not grant access (refused, or the code exchange failed). The message is safe to show;
    `outcome` is what the return URL is told (`{"error": "grant_failed"}` unless the provider's refusal needs a
    person, such as an administrator's approval)."""

    def __init__(self, message: str, outcome: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome or {"error": "grant_failed"}


class OAuthGateway(Protocol):
    provider: str

    def authorization_url(self, state: str, code_verifier: str) -> str:
        """The provider's consent page for this state, with the PKCE challenge of `code_verifier`."""
        ...

    async def grant(self, code: str, code_verifier: str, now: datetime) -> GrantedAccount:
        """Trade the authorisation code for tokens and read the account; OAuthGrantError when it fails."""
        ...


class OAuthStateError(ServiceError):
    """The callback's state is not one Lockstep handed out (`unknown`), ran out (`expired`) or was used (`used`)."""

    def __init__(self, reason: str) -> None:
        super().__init__({
            "unknown": "This sign-in link is not valid. Start connecting the calendar again from the app.",
            "expired": "This sign-in link has expired. Start connecting the calendar again from the app.",
            "used": "This sign-in link was already used. Start connecting the calendar again from the app.",
        }[reason])
        self.reason = reason


@dataclass(frozen=True)
class AuthorisationStart:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class PendingConnection:
    """A valid, now used, state: who asked, for whom, and where to send them back."""

    user_id: int
    staff_id: int
    provider: str
    code_verifier: str = field(repr=False)
    return_url: str
    state_id: int


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def start_calendar_connection(viewer: Viewer, staff_id: int, return_url: str, gateway: OAuthGateway,
                                    allowed_return_urls: Sequence[str], vault: CredentialVault, now: datetime
                                    ) -> AuthorisationStart:
    """Begin connecting the staff member's account at `gateway`'s provider: the URL to open, valid STATE_LIFETIME."""
    staff = await managed_staff(viewer, staff_id, ["input", "staffId"])
    if not return_url_allowed(return_url, allowed_return_urls):
        raise InvalidInputError(["input", "returnUrl"], "This return URL is not on the allowed list")
    assert viewer.user_id is not None  # managed_staff refuses anonymous viewers
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    expires_at = now + STATE_LIFETIME
    await OAuthState.create(state_hash=_digest(state), user_id=viewer.user_id, staff_id=staff.id,
                            provider=gateway.provider, code_verifier=vault.seal({"verifier": verifier}),
                            return_url=return_url, expires_at=expires_at)
    return AuthorisationStart(gateway.authorization_url(state, verifier), expires_at)


async def use_authorisation_state(state: str, provider: str, vault: CredentialVault, now: datetime
                                  ) -> PendingConnection:
    """Take the state of a callback: valid once, before it expires, for the provider it was made for."""
    row = await OAuthState.get_or_none(state_hash=_digest(state), provider=provider) if state else None
    if row is None:
        raise OAuthStateError("unknown")
    if row.used_at is not None:
        raise OAuthStateError("used")
    if row.expires_at <= now:
        raise OAuthStateError("expired")
    # Used exactly once even when the same callback arrives twice at once: only one conditional update wins.
    if await OAuthState.filter(id=row.id, used_at=None).update(used_at=now) != 1:
        raise OAuthStateError("used")
    return PendingConnection(row.user_id, row.staff_id, str(row.provider),
                             str(vault.unseal(row.code_verifier)["verifier"]), row.return_url, row.id)


async def complete_oauth_connection(pending: PendingConnection, account: GrantedAccount, vault: CredentialVault,
                                    now: datetime) -> CalendarConnection:
    """Store the granted account as the staff member's connection (the same account again revives its connection),
    with its calendars; the primary one imports busy time and becomes the destination unless one exists. Every
    calendar is due its first import now."""
    fields = {"provider": Provider(pending.provider), "account_label": account.account_label,
              "credentials": vault.seal(account.credentials), "token_expires_at": account.token_expires_at,
              "refresh_failures": []}

    async def same_account(db: BaseDBAsyncClient) -> CalendarConnection | None:
        return await CalendarConnection.filter(
            staff_id=pending.staff_id, provider=pending.provider, account_label=account.account_label,
        ).exclude(health=ConnectionHealth.DISCONNECTED).using_db(db).order_by("id").first()

    return await save_connection(pending.staff_id, same_account, fields, account.calendars, now)
