"""Tortoise's SQLite client, with every transaction taking the database's write lock when it begins.

SQLite lets one writer in at a time. A plain `BEGIN` is deferred: the transaction starts as a reader and asks for the
write lock at its first write. When another process (the worker, the scheduler, the API) has written in between,
that upgrade cannot wait, because the reader's snapshot is already stale, so it fails at once with "database is
locked" whatever the busy timeout. `BEGIN IMMEDIATE` takes the write lock first and so waits up to the busy timeout
for it like any single write does. Reads outside a transaction are not affected, and PostgreSQL uses its own client.

Registered as the engine of `sqlite://` URLs by `models.database.tortoise_config`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.exceptions import TransactionManagementError


class WriteLockedTransaction(SqliteTransactionWrapper):
    """A transaction that holds SQLite's write lock from its first statement; nested ones are savepoints in it."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # the lock stayed taken for the whole busy timeout
            raise TransactionManagementError(exc) from exc


class WriteLockingSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(WriteLockedTransaction(self), self._lock)

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            await connection.execute("BEGIN IMMEDIATE")
            try:
                await connection.executemany(query, values)
            except Exception:
                await connection.rollback()
                raise
            else:
                await connection.commit()


client_class = WriteLockingSqliteClient
