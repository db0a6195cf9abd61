"""One transaction across several services, and the live events raised inside it.

A use case that has several services change the database together (a pull: busy blocks, hand edits of bookings,
conflicts, notifications, the cursor, the health) opens one transaction with `committed()` and passes it down as
`db`. Each service takes an optional `db`: without one it runs in a transaction of its own, as it always did; with
one it works inside the caller's and commits nothing itself.

Live events (services.live) describe committed changes: subscribers read the database when one arrives. So inside
`committed()` every event published is held, and published in order only once the transaction has committed; when
it rolls back they are dropped, since what they describe never happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from services import live


def _require_held(db: BaseDBAsyncClient) -> BaseDBAsyncClient:
    if not live.is_holding():
        # Events published inside a transaction that is not held would reach subscribers before the commit.
        raise RuntimeError("a caller passing its transaction must open it with services.transactions.committed()")
    return db


@asynccontextmanager
async def committed(db: BaseDBAsyncClient | None = None) -> AsyncIterator[BaseDBAsyncClient]:
    """The caller's transaction `db` when given (the caller commits it and publishes what was held), else a
    transaction of its own whose live events are published once it has committed (dropped if it rolls back)."""
    if db is not None:
        yield _require_held(db)
        return
    with live.holding() as held:
        async with in_transaction() as own:
            yield own
    await live.publish_all(held)


@asynccontextmanager
async def savepoint(db: BaseDBAsyncClient | None) -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction of its own (as committed()), or a savepoint in the caller's `db`: a step that fails inside it
    (a move onto time that is taken) is undone alone, its live events with it, and the caller's transaction goes on
    (on PostgreSQL a failed statement would otherwise abort all of it). Nested on the same connection, never on
    another one: SQLite has one writer, and a second connection's transaction would wait for the first forever."""
    if db is None:
        async with committed() as own:
            yield own
        return
    _require_held(db)
    with live.holding() as held:
        async with db._in_transaction() as nested:
            yield nested
    await live.publish_all(held)  # into the caller's held events, published when it commits
