"""Confirming a calendar connection: the step that binds an OAuth grant to the user who started it.

Anyone can open a consent link, so the callback does not connect anything by itself. It keeps the granted account
(tokens included) sealed server-side and sends the browser back to the return URL with a *confirmation code*: random,
single use, valid CONFIRMATION_LIFETIME, and stored only as its hash. The app, signed in as the user who started
the connection, then confirms with that code, and only then does the account become the staff member's connection.
A code presented by anyone else is answered as unknown, and connects nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from models import CalendarConnection, OAuthState
from services.auth import Viewer
from services.connections import ProbedCalendar
from services.credentials import CredentialVault
from services.errors import NotFoundError
from services.oauth_connections import GrantedAccount, PendingConnection, complete_oauth_connection
from services.sync_queries import managed_staff

CONFIRMATION_LIFETIME = timedelta(minutes=10)
_CODE_PATH = ["input", "code"]


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _sealed(account: GrantedAccount, vault: CredentialVault) -> str:
    return vault.seal({"account_label": account.account_label, "credentials": account.credentials,
                       "token_expires_at": account.token_expires_at.isoformat(),
                       "calendars": [asdict(calendar) for calendar in account.calendars]})


def _unsealed(sealed: str, vault: CredentialVault) -> GrantedAccount:
    stored: dict[str, Any] = vault.unseal(sealed)
    return GrantedAccount(stored["account_label"], stored["credentials"],
                          datetime.fromisoformat(stored["token_expires_at"]),
                          tuple(ProbedCalendar(**calendar) for calendar in stored["calendars"]))


async def erase_unconfirmed_grants(now: datetime) -> int:
    """Erase the tokens of grants nobody confirmed in time (the scheduler calls this every minute, and so does each
    new grant and each refused confirmation), so they do not linger in the database; how many were erased."""
    return await OAuthState.filter(confirm_by__lte=now, granted_account__not_isnull=True).update(granted_account=None)


async def hold_granted_account(pending: PendingConnection, account: GrantedAccount, vault: CredentialVault,
                               now: datetime) -> str:
    """Keep what the provider granted, sealed, until it is confirmed; returns the one-time confirmation code."""
    code = secrets.token_urlsafe(32)
    await erase_unconfirmed_grants(now)
    await OAuthState.filter(id=pending.state_id).update(
        granted_account=_sealed(account, vault), confirmation_hash=_digest(code),
        confirm_by=now + CONFIRMATION_LIFETIME)
    return code


async def confirm_calendar_connection(viewer: Viewer, code: str, vault: CredentialVault, now: datetime
                                      ) -> CalendarConnection:
    """Connect the account held under `code`: only for the user who started, once, before the code expires, and
    while they still manage the staff member."""
    row = await OAuthState.get_or_none(confirmation_hash=_digest(code)) if code else None
    if (row is None or row.granted_account is None or row.confirm_by is None or row.confirmed_at is not None
            or row.confirm_by <= now or viewer.user_id != row.user_id):
        # Another user's code, a used or an expired one all read as unknown: nothing tells them apart.
        await erase_unconfirmed_grants(now)
        raise NotFoundError("Calendar connection to confirm", _CODE_PATH)
    await managed_staff(viewer, row.staff_id, _CODE_PATH)
    sealed = row.granted_account
    # Used exactly once even when confirmed twice at once: only one conditional update wins.
    if await OAuthState.filter(id=row.id, confirmed_at=None).update(confirmed_at=now, granted_account=None) != 1:
        raise NotFoundError("Calendar connection to confirm", _CODE_PATH)
    pending = PendingConnection(row.user_id, row.staff_id, str(row.provider), "", row.return_url, row.id)
    return await complete_oauth_connection(pending, _unsealed(sealed, vault), vault, now)
