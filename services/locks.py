"""Row locks: the per-staff lock that serialises every change to what a staff member can be booked for, the
connection lock that serialises changes of a calendar connection's health, and the locks that make a quota check and
the insert it allows one step.

Lock order, in every transaction that takes more than one: the staff member first, then the connection, then rows
(busy blocks, event mappings, bookings, calendars). Taken in one order, two transactions never wait for each other
in a circle (PostgreSQL would abort one as a deadlock); on SQLite a write transaction holds the database's write lock
from its start (models.sqlite_engine), so these row locks add nothing there."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from models import Business, CalendarConnection, Staff, User


async def lock_staff(staff_id: int, connection: BaseDBAsyncClient) -> None:
    """Take the staff member's lock for the rest of `connection`'s transaction.

    Writing the row is the lock: a row lock on PostgreSQL, the database write lock on SQLite. Bookings, blocked
    time, working hours and overrides all take it first, so a booking's availability re-check never reads a
    schedule another transaction is changing.
    """
    await Staff.filter(id=staff_id).using_db(connection).update(booking_lock=F("booking_lock") + 1)


async def hold_staff(staff_id: int, connection: BaseDBAsyncClient) -> None:
    """Take the same lock as lock_staff, without giving the schedule a new version: for a transaction that may
    change the staff member's bookings or busy time (a pull) and must take this lock before the connection's, but
    should not retire cached slot answers when in the end it changes nothing. (FOR NO KEY UPDATE conflicts with
    lock_staff's row update, and not with inserts of rows that refer to the staff member.)"""
    if connection.capabilities.support_for_update:  # SQLite: the write transaction holds the whole database
        await Staff.filter(id=staff_id).using_db(connection).select_for_update(no_key=True).first()


async def hold_staff_pool(staff_ids: Sequence[int], connection: BaseDBAsyncClient) -> None:
    """hold_staff for each of `staff_ids`, in one statement and in id order (the order every transaction takes staff
    locks in): a booking that may go to any of them holds them all while it reads their schedules and bookings and
    chooses one (services.assignment), so two such bookings of one pool run one after the other."""
    if connection.capabilities.support_for_update:
        # PostgreSQL locks the rows as the sorted result returns them: in id order.
        # (Rows, not values: a values query would drop the FOR NO KEY UPDATE.)
        await Staff.filter(id__in=list(staff_ids)).order_by("id").using_db(connection).select_for_update(
            no_key=True).only("id")


async def lock_connection(connection_id: int, connection: BaseDBAsyncClient) -> CalendarConnection:
    """Take the calendar connection's row lock for the rest of the transaction and return the row as it is now.
    A transaction that takes both takes the staff member's first."""
    return await CalendarConnection.filter(id=connection_id).using_db(connection).select_for_update(
        no_key=True).get()


async def lock_owner(user_id: int, connection: BaseDBAsyncClient) -> None:
    """Serialise the owner's quota checks (how many businesses) for the rest of `connection`'s transaction.

    A row lock on PostgreSQL; on SQLite every transaction already runs alone.
    """
    await User.filter(id=user_id).using_db(connection).select_for_update().first()


async def lock_business(business_id: int, connection: BaseDBAsyncClient) -> None:
    """Serialise a business's quota checks (how many staff, how many services) for the rest of the transaction."""
    await Business.filter(id=business_id).using_db(connection).select_for_update().first()
