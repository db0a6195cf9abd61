"""The per-staff lock that serialises every change to what a staff member can be booked for."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from models import Staff


async def lock_staff(staff_id: int, connection: BaseDBAsyncClient) -> None:
    """Take the staff member's lock for the rest of `connection`'s transaction.

    Writing the row is the lock: a row lock on PostgreSQL, the database write lock on SQLite. Bookings, blocked
    time, working hours and overrides all take it first, so a booking's availability re-check never reads a
    schedule another transaction is changing.
    """
    await Staff.filter(id=staff_id).using_db(connection).update(booking_lock=F("booking_lock") + 1)
