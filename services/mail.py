"""Queueing mail, and each user's choice of the kinds of mail they get.

A mail is a row of the mail outbox (models.mail), written by `queue_mail` inside the transaction of the change it
tells of, so it is sent exactly when that change commits, and never holds the change up: sending is a job's
(jobs.mail), handed out by the scheduler. A kind the user turned off is not queued at all (and a mail queued before
it was turned off is dropped when its turn comes, services.mail_delivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain.mail import ACCOUNT_KINDS, MailKind
from models import MailOutbox, MailPreference, MailState
from services.access import require_signed_in
from services.auth import Viewer
from services.errors import InvalidInputError

# The kinds a user may turn off: every kind but account mail.
_KINDS = frozenset(kind.value for kind in MailKind if kind not in ACCOUNT_KINDS)


async def kind_is_off(user_id: int, kind: MailKind, db: Any = None) -> bool:
    return await MailPreference.filter(user_id=user_id, kind=kind.value, enabled=False).using_db(db).exists()


async def queue_mail(kind: MailKind, data: dict[str, object], now: datetime, *, user_id: int | None = None,
                     address: str = "", booking_id: int | None = None, due_at: datetime | None = None,
                     db: Any = None) -> MailOutbox | None:
    """Owe one mail of `kind` to a user (`user_id`: their address is read when it is sent) or to an `address`
    alone, saying what `data` holds; due at `due_at` (a reminder) or at once. Inside the caller's transaction `db`.
    None when there is nobody to send it to, or the user turned the kind off."""
    if user_id is None and not address:
        return None
    if user_id is not None and kind not in ACCOUNT_KINDS and await kind_is_off(user_id, kind, db):
        return None
    return await MailOutbox.create(kind=kind.value, user_id=user_id, address="" if user_id is not None else address,
                                   booking_id=booking_id, data=data, next_attempt_at=due_at or now, using_db=db)


async def drop_owed(booking_ids: Sequence[int], kind: MailKind, db: Any = None) -> int:
    """Unsent mail of `kind` about the bookings is no longer owed (a reminder of a booking moved or cancelled)."""
    if not booking_ids:
        return 0
    return await MailOutbox.filter(booking_id__in=list(booking_ids), kind=kind.value,
                                   state=MailState.PENDING).using_db(db).update(state=MailState.DROPPED)


async def mail_preferences(viewer: Viewer) -> list[tuple[str, bool]]:
    """Every kind of mail one may turn off (its MailKind value; account mail is always sent), and whether the viewer
    gets it (on unless they turned it off)."""
    user_id = require_signed_in(viewer)
    off = set(await MailPreference.filter(user_id=user_id, enabled=False).values_list("kind", flat=True))
    return [(kind.value, kind.value not in off) for kind in MailKind if kind.value in _KINDS]


async def set_mail_preferences(viewer: Viewer, choices: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Turn kinds of mail (MailKind values) on or off for the viewer (the last choice of a kind named twice
    counts); returns every kind as mail_preferences does."""
    user_id = require_signed_in(viewer)
    chosen: dict[str, bool] = {}
    for index, (kind, enabled) in enumerate(choices):
        if kind not in _KINDS:
            raise InvalidInputError(["input", "preferences", index, "kind"], "Unknown kind of mail")
        chosen[kind] = enabled
    async with in_transaction() as db:
        for kind, enabled in chosen.items():
            if not await MailPreference.filter(user_id=user_id, kind=kind).using_db(db).update(enabled=enabled):
                await MailPreference.create(user_id=user_id, kind=kind, enabled=enabled, using_db=db)
    return await mail_preferences(viewer)
