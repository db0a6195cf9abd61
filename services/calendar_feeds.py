"""Calendar feed addresses: making, revoking and listing them, and finding the feed an address names.

Terms (models.calendar_feeds): a feed of a *subject* (a staff member, a business, a customer) is made by one
person, who is shown its address once, `{public URL}/feeds/{token}.ics`; the token is 32 random bytes, kept only as
its SHA-256 (and, for a customer's feed, sealed with the credential keys, so each booking mail can link to it).

Who may: a staff member's feed, that staff member and the business's owner; a business's feed, its owner; a
customer's feed, the customer, for the bookings they made at any business. Each person holds at most one active
feed of each subject: making another revokes their previous one (never someone else's), which is how a leaked
address is replaced. A feed also stops answering when its maker loses the right to it (their account is deleted,
they no longer own the business or are no longer that staff member).
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import Business, CalendarFeed, FeedKind, Staff, User, UserRole
from services.access import is_owner, require_signed_in, staff_profile
from services.account_tokens import token_digest
from services.auth import Viewer
from services.credentials import CredentialsUnreadable, CredentialVault
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError

# token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_ONE_SUBJECT = "Give staffId or businessId, not both"


@dataclass(frozen=True)
class FeedAddress:
    """Where feeds are served: under the public URL, whose host also names the bookings' UIDs (as in mail)."""

    public_url: str

    def url(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/feeds/{token}.ics"

    @property
    def host(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"


@dataclass(frozen=True)
class FeedSubject:
    kind: FeedKind
    subject_id: int
    business_id: int | None


def _active_key(subject: FeedSubject, maker_id: int) -> str:
    return f"{subject.kind.value}:{subject.subject_id}:{maker_id}"


async def _subject(viewer: Viewer, staff_id: int | None, business_id: int | None) -> FeedSubject:
    """The subject the viewer names and may have a feed of (NotFoundError, NotAuthorizedError otherwise)."""
    user_id = require_signed_in(viewer)
    if staff_id is not None and business_id is not None:
        raise InvalidInputError(["input"], _ONE_SUBJECT)
    if staff_id is not None:
        staff = await Staff.get_or_none(id=staff_id)
        if staff is None:
            raise NotFoundError("Staff", ["input", "staffId"])
        if staff.user_id != user_id and not await is_owner(viewer, staff.business_id):
            raise NotAuthorizedError("Only the owner or this staff member may have this staff member's feed")
        return FeedSubject(FeedKind.STAFF, staff.id, staff.business_id)
    if business_id is not None:
        if not await Business.exists(id=business_id):
            raise NotFoundError("Business", ["input", "businessId"])
        if not await is_owner(viewer, business_id):
            raise NotAuthorizedError("Only the business owner may have the whole business's feed")
        return FeedSubject(FeedKind.BUSINESS, business_id, business_id)
    if viewer.role != UserRole.CUSTOMER:
        raise InvalidInputError(["input"], "Give staffId or businessId (a customer gives neither, for their own "
                                           "bookings)")
    return FeedSubject(FeedKind.CUSTOMER, user_id, None)


async def _insert(subject: FeedSubject, maker_id: int, vault: CredentialVault, db: Any) -> tuple[CalendarFeed, str]:
    """A new active feed of the maker's, in the transaction `db`; IntegrityError while they hold another one."""
    token = secrets.token_urlsafe(32)
    sealed = vault.seal({"token": token}) if subject.kind == FeedKind.CUSTOMER else ""
    feed = await CalendarFeed.create(kind=subject.kind, subject_id=subject.subject_id,
                                     business_id=subject.business_id, created_by_id=maker_id,
                                     token_digest=token_digest(token), sealed_token=sealed,
                                     active_key=_active_key(subject, maker_id), using_db=db)
    return feed, token


async def _replace(subject: FeedSubject, maker_id: int, vault: CredentialVault, now: datetime,
                   db: Any) -> tuple[CalendarFeed, str]:
    """The maker's new feed of the subject, in the transaction `db`, their previous active one revoked."""
    await CalendarFeed.filter(active_key=_active_key(subject, maker_id)).using_db(db).update(active_key=None,
                                                                                            revoked_at=now)
    return await _insert(subject, maker_id, vault, db)


async def create_feed(viewer: Viewer, staff_id: int | None, business_id: int | None, vault: CredentialVault,
                      now: datetime) -> tuple[CalendarFeed, str]:
    """A new feed of the subject named (a staff member, a business, or neither: the customer's own) and its token,
    kept only as its digest (and sealed, for a customer's feed): the caller shows its address once. The viewer's
    previous feed of the subject is revoked."""
    subject = await _subject(viewer, staff_id, business_id)
    maker_id = require_signed_in(viewer)

    async def made() -> tuple[CalendarFeed, str]:
        async with in_transaction() as db:
            return await _replace(subject, maker_id, vault, now, db)

    try:
        return await made()
    except IntegrityError:
        # The same person made one at the same moment (both took the place of the old one): this one replaces it.
        return await made()


async def may_manage(viewer: Viewer, feed: CalendarFeed) -> bool:
    """Whether the viewer may list and revoke the feed: whoever may have a feed of its subject."""
    if viewer.user_id is None:
        return False
    if feed.kind == FeedKind.CUSTOMER:
        return feed.subject_id == viewer.user_id
    if feed.kind == FeedKind.STAFF:
        profile = await staff_profile(viewer)
        if profile is not None and profile.id == feed.subject_id:
            return True
    return feed.business_id is not None and await is_owner(viewer, feed.business_id)


async def revoke_feed(viewer: Viewer, feed_id: int, now: datetime) -> CalendarFeed:
    """Revoke the feed: its address answers 404 from now on. Revoking one already revoked changes nothing. A feed
    the viewer may not manage is not found, exactly like one that does not exist."""
    require_signed_in(viewer)
    feed = await CalendarFeed.get_or_none(id=feed_id)
    if feed is None or not await may_manage(viewer, feed):
        raise NotFoundError("CalendarFeed", ["input", "id"])
    if feed.revoked_at is None:
        await CalendarFeed.filter(id=feed.id, revoked_at=None).update(revoked_at=now, active_key=None)
        await feed.refresh_from_db()
    return feed


async def listed_to(viewer: Viewer) -> Q:
    """Which feeds are listed to the viewer (viewer_feeds): the active ones they may manage."""
    user_id = require_signed_in(viewer)
    if viewer.role == UserRole.OWNER:
        owned = await Business.filter(owner_id=user_id).values_list("id", flat=True)
        where = Q(business_id__in=list(owned))
    elif viewer.role == UserRole.STAFF:
        profile = await staff_profile(viewer)
        where = Q(kind=FeedKind.STAFF, subject_id=profile.id) if profile else Q(id=-1)
    else:
        where = Q(kind=FeedKind.CUSTOMER, subject_id=user_id)
    return where & Q(revoked_at=None)


async def viewer_feeds(viewer: Viewer) -> list[CalendarFeed]:
    """The active feeds the viewer may manage, oldest first: a customer's own; a staff member's of themself; an
    owner's of their businesses and of their staff members (whoever made them)."""
    return await CalendarFeed.filter(await listed_to(viewer)).order_by("id")


async def _maker_still_may(feed: CalendarFeed) -> bool:
    maker = await User.get_or_none(id=feed.created_by_id)
    if maker is None or maker.deleted_at is not None:
        return False
    if feed.kind == FeedKind.CUSTOMER:
        return feed.subject_id == maker.id
    if feed.business_id is None:
        return False
    if await Business.exists(id=feed.business_id, owner_id=maker.id):
        return True
    return feed.kind == FeedKind.STAFF and await Staff.exists(id=feed.subject_id, user_id=maker.id)


async def feed_of_token(token: str) -> CalendarFeed | None:
    """The active feed whose address holds `token`, or None (unknown, revoked, or its maker no longer has the
    right). Found by the token's digest, compared again in constant time; the token is never stored or logged."""
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    digest = token_digest(token)
    feed = await CalendarFeed.get_or_none(token_digest=digest, revoked_at=None)
    if feed is None or not hmac.compare_digest(feed.token_digest, digest):
        return None
    return feed if await _maker_still_may(feed) else None


async def customer_feed_token(user_id: int, vault: CredentialVault) -> str | None:
    """The token of the customer's own active feed, made now when they have none (a booking mail links to it), or
    None when the account is not a customer's, is deleted, or its feed's sealed token cannot be read with the
    configured keys (the mail then goes without the link)."""
    user = await User.get_or_none(id=user_id)
    if user is None or user.deleted_at is not None or user.role != UserRole.CUSTOMER:
        return None
    subject = FeedSubject(FeedKind.CUSTOMER, user_id, None)
    for _attempt in range(2):
        active = await CalendarFeed.get_or_none(active_key=_active_key(subject, user_id))
        if active is not None:
            try:
                return str(vault.unseal(active.sealed_token)["token"])
            except (CredentialsUnreadable, KeyError):
                return None
        try:
            async with in_transaction() as db:
                _feed, token = await _insert(subject, user_id, vault, db)
                return token
        except IntegrityError:
            continue  # another mail of theirs made it at the same moment: read that one
    return None


async def reseal_feed_tokens(vault: CredentialVault) -> int:
    """Re-encrypt every active customer feed's sealed token under the vault's first key (rotating the keys);
    returns how many were rewritten. Safe to repeat or interrupt."""
    rewritten = 0
    for feed in await CalendarFeed.filter(revoked_at=None).exclude(sealed_token="").only("id", "sealed_token"):
        await CalendarFeed.filter(id=feed.id, sealed_token=feed.sealed_token).update(
            sealed_token=vault.reseal(feed.sealed_token))
        rewritten += 1
    return rewritten


async def forget_customer_feeds(user_id: int, db: Any) -> None:
    """A deleted customer's feeds, and every feed they made, are deleted in the caller's transaction."""
    await CalendarFeed.filter(Q(created_by_id=user_id) | Q(kind=FeedKind.CUSTOMER, subject_id=user_id)).using_db(
        db).delete()
