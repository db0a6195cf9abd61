"""Claims: handing out due rows of one table in a single statement, the one place where the two databases differ.

A *claim* picks at most `limit` rows that are due (an index range: the caller's `where` starts with the indexed
column's condition and `order` follows that index), sets the claim's columns on them, and returns their IDs, all in
one `UPDATE ... RETURNING`. On PostgreSQL the rows are picked with `FOR UPDATE SKIP LOCKED`, so several schedulers
(or a scheduler and a webhook) claiming at once take disjoint rows instead of waiting for or colliding with each
other. SQLite has a single writer, so the statement alone is atomic there.

SQL fragments are written with `?` placeholders; on PostgreSQL they become `$1, $2, ...` in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient


@dataclass(frozen=True)
class Claim:
    """One claim statement. `table` is claimed (its `id` returned); `joins` add the tables the filter needs (the
    claimed table is named by its own name); `where` and `order` select what is due; `assign` is the SET list.
    Parameters follow the placeholders of `assign`, then of `joins` and `where`."""

    table: str
    assign: str
    assign_params: Sequence[object]
    where: str
    where_params: Sequence[object] = ()
    joins: str = ""
    order: str = "id"
    limit: int = 500
    # False for a claim of one named row that must wait for a transaction holding it rather than pass it by.
    skip_locked: bool = True

    def and_where(self, condition: str, *params: object) -> Claim:
        """The same claim with one more condition (its parameters after the others)."""
        return replace(self, where=f"{self.where} AND {condition}", where_params=[*self.where_params, *params])


def placeholders(values: Sequence[object]) -> str:
    """`?, ?, ...` for an IN list of `values` (at least one, so an empty list matches nothing: `IN (NULL)`)."""
    return ", ".join("?" for _ in values) if values else "NULL"


def _param(value: object) -> object:
    # Instants are compared in UTC, written as the ORM writes them (SQLite keeps ISO text, so the form must match).
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def numbered(sql: str) -> str:
    """PostgreSQL's form of a statement written with `?` placeholders."""
    parts = sql.split("?")
    return "".join(part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, start=1))


def is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


def _chosen(claim: Claim) -> str:
    return (f"SELECT {claim.table}.id FROM {claim.table} {claim.joins} WHERE {claim.where} "
            f"ORDER BY {claim.order} LIMIT {int(claim.limit)}")


def claim_sql(claim: Claim, postgres: bool) -> str:
    lock = f" FOR UPDATE OF {claim.table} SKIP LOCKED" if postgres and claim.skip_locked else ""
    sql = f"UPDATE {claim.table} SET {claim.assign} WHERE id IN ({_chosen(claim)}{lock}) RETURNING id"
    return numbered(sql) if postgres else sql


def select_sql(claim: Claim, postgres: bool) -> str:
    """The claim's selection alone (its `where_params` only), without claiming."""
    return numbered(_chosen(claim)) if postgres else _chosen(claim)


async def run_claim(claim: Claim, db: BaseDBAsyncClient | None = None) -> list[int]:
    """Run the claim; returns the claimed IDs in ascending order."""
    if claim.limit <= 0:
        return []
    client = db or connections.get("default")
    params = [_param(value) for value in (*claim.assign_params, *claim.where_params)]
    # execute_query_dict fetches rows on both clients (asyncpg's execute_query returns none for an UPDATE).
    rows = await client.execute_query_dict(claim_sql(claim, is_postgres(client)), params)
    return sorted(cast(int, row["id"]) for row in rows)


async def run_update(sql: str, params: Sequence[object], db: BaseDBAsyncClient | None = None) -> int:
    """Run one `UPDATE ... RETURNING id` written with `?` placeholders; returns how many rows it changed. For the
    statements of every pull (the sync lease): the ORM builds its query anew on each call, which cost as much
    as the database's own work."""
    client = db or connections.get("default")
    rows = await client.execute_query_dict(numbered(sql) if is_postgres(client) else sql,
                                           [_param(value) for value in params])
    return len(rows)


async def explain(claim: Claim, db: BaseDBAsyncClient | None = None) -> str:
    """The database's plan of the claim's selection (EXPLAIN / EXPLAIN QUERY PLAN), one line per step."""
    client = db or connections.get("default")
    postgres = is_postgres(client)
    sql = f"EXPLAIN {select_sql(claim, True)}" if postgres else f"EXPLAIN QUERY PLAN {select_sql(claim, False)}"
    rows = await client.execute_query_dict(sql, [_param(value) for value in claim.where_params])
    return "\n".join(str(row["QUERY PLAN"] if postgres else row["detail"]) for row in rows)


async def run_select(claim: Claim, db: BaseDBAsyncClient | None = None) -> list[int]:
    """The IDs the claim would take, in ascending order, without claiming them."""
    client = db or connections.get("default")
    rows = await client.execute_query_dict(select_sql(claim, is_postgres(client)),
                                           [_param(value) for value in claim.where_params])
    return sorted(cast(int, row["id"]) for row in rows)
