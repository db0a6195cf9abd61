"""Managing staff members: their details, whether they take bookings, and their invitation.

Terms:
- *active*: an active staff member takes bookings. A deactivated one takes none: availability offers no slot of
  theirs, a booking or a move naming them is StaffInactiveError, and a booking for "any staff" passes them over.
  Their bookings stay theirs (and in their calendar) until the owner reassigns (services.reassignment) or cancels
  them; `bookings_to_reassign` lists the ones still ahead. Reactivating them makes them bookable again.
- *zone change*: working hours and dated overrides are wall-clock times in the staff member's own zone, so after a
  change they are read in the new zone (09:00-17:00 stays 09:00-17:00 local, now in the new zone). Bookings keep
  their instants: a booking at 09:00 Berlin stays at that instant, and is shown at its local time in the new zone. A
  recurring series keeps the zone it was booked in (its occurrences are rows already). Events already written to
  calendars keep their instants too; the next change of a booking writes it with the new zone.
- *invitation*: the one-time code with which a staff member creates their sign-in (services.auth), mailed to them
  as a link (services.staff_invites). Resending makes and mails a new code, and the old one stops working; once the
  staff member has joined there is nothing to resend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from models import Booking, BookingStatus, Staff
from services import live, validation
from services.access import is_owner, manages_schedule, require_owner, require_signed_in
from services.auth import AccountSecurity, Viewer, invite_code
from services.errors import NotAuthorizedError, NotFoundError, StaffAlreadyJoinedError
from services.locks import lock_staff
from services.staff_invites import mail_staff_invite
from services.throttle import Attempt

# The most upcoming bookings a deactivation lists; the rest are read with bookings(filter: {staffId, from}).
MAX_LISTED_BOOKINGS = 100


@dataclass(frozen=True)
class StaffChange:
    """What to change; None leaves a field as it is, "" clears the photo. `active` is the owner's to change."""

    name: str | None = None
    time_zone: str | None = None
    photo_url: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class UpcomingBookings:
    """A staff member's confirmed bookings that have not started, first ones first (at most MAX_LISTED_BOOKINGS),
    and how many there are in all."""

    bookings: list[Booking]
    total: int


async def _staff(staff_id: int) -> Staff:
    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise NotFoundError("Staff", ["input", "staffId"])
    return staff


def _validated(change: StaffChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.name is not None:
        values["name"] = validation.text(change.name, ["input", "name"])
    if change.time_zone is not None:
        values["time_zone"] = validation.zone(change.time_zone, ["input", "timeZone"])
    if change.photo_url is not None:
        values["photo_url"] = validation.https_url(change.photo_url, ["input", "photoUrl"])
    if change.active is not None:
        values["active"] = change.active
    return values


async def update_staff(viewer: Viewer, staff_id: int, change: StaffChange) -> Staff:
    """Change a staff member: the owner changes anything, the staff member themself their name, zone and photo.
    A new zone or a change of `active` gives their schedule a new version (cached slots are retired) and is
    announced once committed."""
    require_signed_in(viewer)
    staff = await _staff(staff_id)
    if not await manages_schedule(viewer, staff):
        raise NotAuthorizedError("Only the business owner or this staff member may change this staff member")
    if change.active is not None and not await is_owner(viewer, staff.business_id):
        raise NotAuthorizedError("Only the business owner may activate or deactivate a staff member")
    values = _validated(change)
    schedule_changes = (values.get("time_zone", staff.time_zone) != staff.time_zone
                        or values.get("active", staff.active) != staff.active)
    if values:
        async with in_transaction() as db:
            if schedule_changes:
                # The booking lock first: a booking being made for this person either committed before (and is
                # one of theirs to reassign) or re-reads them under this lock (services.booking_rules).
                await lock_staff(staff.id, db)
            await Staff.filter(id=staff.id).using_db(db).update(**values)
    if schedule_changes:
        await live.publish_schedule_changed([staff.id])
    return await Staff.get(id=staff.id)


async def upcoming_bookings(staff_id: int, now: datetime, limit: int = MAX_LISTED_BOOKINGS) -> UpcomingBookings:
    ahead = Booking.filter(staff_id=staff_id, status=BookingStatus.CONFIRMED, starts_at__gte=now)
    rows = await ahead.order_by("starts_at", "id").limit(limit)
    return UpcomingBookings(list(rows), await ahead.count())


async def deactivate_staff(viewer: Viewer, staff_id: int, now: datetime) -> tuple[Staff, UpcomingBookings]:
    """The staff member takes no new bookings from now on (owner only; deactivating twice changes nothing), and the
    bookings of theirs still ahead, to be reassigned."""
    staff = await _staff(staff_id)
    await require_owner(viewer, staff.business_id)
    changed = await update_staff(viewer, staff.id, StaffChange(active=False))
    return changed, await upcoming_bookings(staff.id, now)


async def resend_staff_invite(viewer: Viewer, staff_id: int, security: AccountSecurity,
                              client: str) -> tuple[Staff, str]:
    """A new invitation code for a staff member who has not joined yet (owner only), mailed to them as a link in the
    same transaction (services.staff_invites); the old code stops working. Throttled per client address and per
    staff member, as mail-sending requests are."""
    staff = await _staff(staff_id)
    await require_owner(viewer, staff.business_id)
    if staff.user_id is not None:
        raise StaffAlreadyJoinedError()
    await security.throttle.spend(Attempt("resend_staff_invite", client, account=f"staff:{staff.id}"))
    code, digest = invite_code()
    async with in_transaction() as db:
        # Only while nobody has joined with the old code: accepting it meanwhile wins, and then nothing is resent.
        if await Staff.filter(id=staff.id, user_id=None).using_db(db).update(invite_code_hash=digest) != 1:
            raise StaffAlreadyJoinedError()
        await mail_staff_invite(staff, code, security, datetime.now(UTC), db)
    return await Staff.get(id=staff.id), code
