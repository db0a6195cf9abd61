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
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class WriteLockedTransaction(SqliteTransactionWrapper):
    """A transaction that holds SQLite's write lock from its first statement; nested ones are savepoints in it."""

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # the lock stayed taken for the whole busy timeout
            raise TransactionManagementError(exc) from exc


class WriteLockedTransactionContext(SqliteTransactionContext):
    """Tortoise's context, except that a transaction that could not begin (the write lock stayed taken for the whole
    busy timeout, or the wait was cancelled) gives the connection back instead of keeping it locked for good."""

    async def __aenter__(self) -> Any:
        await self._trxlock.acquire()
        token = None
        try:
            await self.ensure_connection()
            token = get_connections().set(self.connection_name, self.connection)
            await self.connection.begin()
        except BaseException:
            try:
                if self.connection._connection is not None and self.connection._connection.in_transaction:
                    await self.connection._connection.rollback()
            finally:
                if token is not None:
                    get_connections().reset(token)
                self._trxlock.release()
            raise
        self.token = token
        return self.connection


class WriteLockingSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return WriteLockedTransactionContext(WriteLockedTransaction(self), self._lock)

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
