"""A user's own profile, and a customer deleting their account (issue 13, privacy and deletion).

Terms:
- *profile*: what a user says about themself: name, phone, photo URL. The email address is changed by verifying the
  new one, never here.
- *deleting an account*: the customer's personal data is erased at once and for good: the account row keeps only its
  id (so bookings keep their history) and is marked deleted, which signs it out everywhere (services.auth
  current_viewer); its bookings stay as anonymous records for the business (name "Former customer", no email,
  phone or notes), and so do the events written for them in staff members' calendars and the notices that named
  them to staff (services.customer_erasure); its sign-in identities, refresh tokens, notifications, mail preferences,
  calendar feeds and every mail to it (sent or owed) are deleted, so no more mail goes out to it. Only customers delete
  their own accounts: an owner or staff member's account holds a business's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import (
    AccountToken,
    MailOutbox,
    MailPreference,
    Notification,
    RefreshToken,
    SignInIdentity,
    User,
    UserRole,
)
from services import live, validation
from services.access import require_signed_in
from services.auth import Viewer, normalise_email
from services.calendar_feeds import forget_customer_feeds
from services.customer_erasure import anonymise_bookings
from services.errors import InvalidInputError, NotAuthorizedError
from services.validation import text

FORMER_CUSTOMER = "Former customer"
DELETED_NAME = "Deleted account"
MAX_PHOTO_URL = validation.MAX_URL_LENGTH


@dataclass(frozen=True)
class ProfileChange:
    """What to change; None leaves a field as it is, "" clears the phone or the photo."""

    name: str | None = None
    phone: str | None = None
    photo_url: str | None = None


async def update_my_profile(viewer: Viewer, change: ProfileChange) -> User:
    """Change the viewer's own profile; bad input is refused before anything changes."""
    user_id = require_signed_in(viewer)
    checks = validation.FieldChecks()
    fields: dict[str, str] = {}
    if change.name is not None:
        fields["name"] = checks.check(text, change.name, ["input", "name"])
    if change.phone is not None:
        fields["phone"] = checks.check(validation.phone, change.phone, ["input", "phone"])
    if change.photo_url is not None:
        fields["photo_url"] = checks.check(validation.https_url, change.photo_url, ["input", "photoUrl"],
                                           max_length=MAX_PHOTO_URL)
    checks.done()
    if fields:
        await User.filter(id=user_id).update(**fields)
    return await User.get(id=user_id)


async def delete_my_account(viewer: Viewer, confirm_email: str, now: datetime) -> None:
    """Erase the viewer's customer account, confirmed by typing its email address (see the module's terms)."""
    user_id = require_signed_in(viewer)
    user = await User.get(id=user_id)
    if user.role != UserRole.CUSTOMER:
        raise NotAuthorizedError("Only a customer account can be deleted by its owner; a business account is closed "
                                 "by the business's owner")
    if normalise_email(confirm_email, ["input", "email"]) != user.email:
        raise InvalidInputError(["input", "email"], "Type the account's email address to confirm")
    async with in_transaction() as db:
        erased = await anonymise_bookings(user_id, FORMER_CUSTOMER, now, db)
        await SignInIdentity.filter(user_id=user_id).using_db(db).delete()
        await RefreshToken.filter(user_id=user_id).using_db(db).delete()
        await AccountToken.filter(user_id=user_id).using_db(db).delete()
        await Notification.filter(user_id=user_id).using_db(db).delete()
        # Mail stops: nothing more is sent to them, and what was written to them (their name, their bookings) goes.
        await MailOutbox.filter(Q(user_id=user_id) | Q(address=user.email)).using_db(db).delete()
        await MailPreference.filter(user_id=user_id).using_db(db).delete()
        await forget_customer_feeds(user_id, db)
        await User.filter(id=user_id).using_db(db).update(
            email=f"deleted-{user_id}@deleted.invalid", name=DELETED_NAME, password_hash="", phone="",
            photo_url="", email_verified_at=None, deleted_at=now)
    for business_id in sorted({booking.business_id for booking in erased}):
        rows = [booking for booking in erased if booking.business_id == business_id]
        await live.publish_booking_rows("updated", rows, time_changed=False)
