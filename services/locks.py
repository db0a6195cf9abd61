"""Row locks: the per-staff lock that serialises every change to what a staff member can be booked for, and the
locks that make a quota check and the insert it allows one step."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from models import Business, Staff, User


async def lock_staff(staff_id: int, connection: BaseDBAsyncClient) -> None:
    """Take the staff member's lock for the rest of `connection`'s transaction.

    Writing the row is the lock: a row lock on PostgreSQL, the database write lock on SQLite. Bookings, blocked
    time, working hours and overrides all take it first, so a booking's availability re-check never reads a
    schedule another transaction is changing.
    """
    await Staff.filter(id=staff_id).using_db(connection).update(booking_lock=F("booking_lock") + 1)


async def lock_owner(user_id: int, connection: BaseDBAsyncClient) -> None:
    """Serialise the owner's quota checks (how many businesses) for the rest of `connection`'s transaction.

    A row lock on PostgreSQL; on SQLite every transaction already runs alone.
    """
    await User.filter(id=user_id).using_db(connection).select_for_update().first()


async def lock_business(business_id: int, connection: BaseDBAsyncClient) -> None:
    """Serialise a business's quota checks (how many staff, how many services) for the rest of the transaction."""
    await Business.filter(id=business_id).using_db(connection).select_for_update().first()
