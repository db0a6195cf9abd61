"""Tortoise's SQLite client, with every transaction taking the database's write lock when it begins, and every wait
for that lock watched closely.

SQLite lets one writer in at a time. A plain `BEGIN` is deferred: the transaction starts as a reader and asks for the
write lock at its first write. When another process (the worker, the scheduler, the API) has written in between,
that upgrade cannot wait, because the reader's snapshot is already stale, so it fails at once with "database is
locked" whatever the busy timeout. `BEGIN IMMEDIATE` takes the write lock first and so waits up to the busy timeout
for it like any single write does. Reads outside a transaction are not affected, and PostgreSQL uses its own client.

How a statement waits for the lock: SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then
100 ms between tries, so a writer that finds the lock taken wakes late, and while another process writes in quick
succession (a scheduler tick is five short transactions) it sleeps through the gaps between them and waits for the
whole run. On a push notification's path that was the tail (bench/google_latency.py). So SQLite's handler is off
here (`timeout=0`), and a statement that finds the lock taken outside a transaction (a `BEGIN IMMEDIATE`, or a single
write) is tried again after a pause of at most a millisecond, until the busy timeout has passed. Retrying it is
safe: a statement refused with SQLITE_BUSY outside a transaction has changed nothing.

Registered as the engine of `sqlite://` URLs by `models.database.tortoise_config`.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import aiosqlite
from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

FIRST_PAUSE = 0.0001  # seconds between tries for a taken lock: doubling from this, up to LONGEST_PAUSE
LONGEST_PAUSE = 0.001


def _lock_taken(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or str(error) == "database is locked"


class PatientConnection(sqlite3.Connection):
    """A connection whose statements outside a transaction wait for a taken write lock in short pauses, for up to
    `patience` seconds (see the module's docstring). Inside a transaction the lock is already held (transactions
    begin IMMEDIATE), so nothing there waits for it."""

    patience = 10.0

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self._patiently(super().execute, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self._patiently(super().executemany, sql, parameters)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        # A script is not retried (part of it may have run): SQLite's own handler waits for it, as before.
        super().execute(f"PRAGMA busy_timeout = {int(self.patience * 1000)}")
        try:
            return super().executescript(script)
        finally:
            super().execute("PRAGMA busy_timeout = 0")

    def _patiently(self, run: Any, sql: str, parameters: Any) -> sqlite3.Cursor:
        deadline, pause = None, FIRST_PAUSE
        while True:
            try:
                return run(sql, parameters)  # type: ignore[no-any-return]
            except sqlite3.OperationalError as error:
                if self.in_transaction or not _lock_taken(error):
                    raise
                now = time.monotonic()
                deadline = now + self.patience if deadline is None else deadline
                if now >= deadline:
                    raise
                time.sleep(min(pause, deadline - now))  # on the connection's own thread (aiosqlite's)
                pause = min(pause * 2, LONGEST_PAUSE)


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
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        # The busy timeout bounds the wait of PatientConnection; SQLite's own handler stays off.
        self.patience = int(self.pragmas.pop("busy_timeout", 5000)) / 1000

    async def create_connection(self, with_db: bool) -> None:
        if not self._connection:
            self._connection = await aiosqlite.connect(self.filename, isolation_level=None, timeout=0,
                                                       factory=PatientConnection)
            self._connection._conn.row_factory = sqlite3.Row
            self._connection._conn.patience = self.patience  # type: ignore[attr-defined]
            for pragma, value in self.pragmas.items():
                cursor = await self._connection.execute(f"PRAGMA {pragma}={value}")
                await cursor.close()
            await self._post_connect()

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
