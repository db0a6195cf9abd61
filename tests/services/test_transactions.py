"""One transaction across services (services.transactions): its live events follow its commit, a savepoint in it
fails alone, and a service handed a transaction whose events are not held refuses to run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio.client import PubSub
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain.intervals import Span
from models import User, UserRole
from services import live
from services.transactions import committed, savepoint
from tests.support.live import hearing, next_event

START = datetime(2030, 1, 8, 9, tzinfo=UTC)
SPAN = Span(START, START + timedelta(hours=1))


class Stop(Exception):
    pass


@pytest.fixture
async def heard(redis_url: str) -> AsyncIterator[PubSub]:
    async with hearing(redis_url) as pubsub:
        yield pubsub


async def new_user(email: str, db: BaseDBAsyncClient | None = None) -> User:
    return await User.create(email=email, name="Ann", password_hash="-", role=UserRole.STAFF, using_db=db)


async def test_events_raised_in_a_transaction_are_published_once_it_has_committed(db: str, heard: PubSub) -> None:
    # when a transaction publishes two events
    async with committed() as tx:
        await new_user("ann@example.com", tx)
        await live.publish_availability_changed(7, [SPAN])
        await live.publish_notifications_added([3])
        # then none is out while it is open
        assert await next_event(heard, wait=0.3) is None
    # and both are, in order, once it has committed
    assert await next_event(heard) == live.AvailabilityChanged(7, (SPAN,))
    assert await next_event(heard) == live.NotificationsAdded((3,))
    assert await User.filter(email="ann@example.com").count() == 1


async def test_a_transaction_that_rolls_back_publishes_nothing(db: str, heard: PubSub) -> None:
    # when a transaction publishes an event and then fails
    with pytest.raises(Stop):
        async with committed() as tx:
            await new_user("ann@example.com", tx)
            await live.publish_availability_changed(7, [SPAN])
            raise Stop
    # then its row is gone and its event was never published
    assert await User.all().count() == 0
    assert await next_event(heard, wait=0.5) is None


async def test_a_failed_savepoint_is_undone_alone_and_the_transaction_goes_on(db: str, heard: PubSub) -> None:
    await new_user("taken@example.com")
    async with committed() as tx:
        await new_user("ann@example.com", tx)
        # when a step inside a savepoint fails on the database (a duplicate email), and the caller carries on
        with pytest.raises(IntegrityError):
            async with savepoint(tx) as step:
                await live.publish_notifications_added([9])
                await new_user("bob@example.com", step)
                await new_user("taken@example.com", step)
        await new_user("cleo@example.com", tx)
        await live.publish_notifications_added([10])
    # then only the savepoint's rows are gone: the transaction around it committed (PostgreSQL did not abort it)
    assert sorted(await User.all().values_list("email", flat=True)) == [
        "ann@example.com", "cleo@example.com", "taken@example.com"]
    # and only the events of what committed are published
    assert await next_event(heard) == live.NotificationsAdded((10,))
    assert await next_event(heard, wait=0.5) is None


async def test_a_savepoint_that_succeeds_publishes_with_its_transaction(db: str, heard: PubSub) -> None:
    async with committed() as tx:
        async with savepoint(tx) as step:
            await new_user("bob@example.com", step)
            await live.publish_notifications_added([9])
        # when the savepoint is released, its event waits for the transaction
        assert await next_event(heard, wait=0.3) is None
        await live.publish_notifications_added([10])
    assert [await next_event(heard), await next_event(heard)] == [live.NotificationsAdded((9,)),
                                                                  live.NotificationsAdded((10,))]


async def test_a_transaction_whose_events_are_not_held_is_refused(db: str) -> None:
    from tortoise.transactions import in_transaction

    # when a service is handed a transaction opened without services.transactions.committed
    with pytest.raises(RuntimeError, match="committed"):
        async with in_transaction() as tx:
            await new_user("ann@example.com", tx)
            async with committed(tx):
                pass
    with pytest.raises(RuntimeError, match="committed"):
        async with in_transaction() as tx, savepoint(tx):
            pass
    # then it refused before changing anything, and the transaction rolled back
    assert await User.all().count() == 0
