"""Each claim of the scheduler is an index range over what is due (the database's own query plan says so), and runs
as one statement.

On SQLite the plan is fixed (the claims look connections up in scalar subqueries), so the test names the index.
PostgreSQL plans by its statistics, which an empty test database does not have: there the test asks only that no
table of the claim is read whole; bench/sync_scale.py prints its plans over 30,000 connections."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from models.claims import Claim, claim_sql, explain, is_postgres
from services.oauth_tokens import refresh_claim
from services.sync_dispatch import pull_claims, push_claim
from services.watch_channels import watch_claim

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


def claims() -> dict[str, tuple[Claim, str]]:
    """Each claim, and the index of the claimed table its range runs over."""
    never, due = pull_claims(NOW)
    return {
        "pushes": (push_claim(NOW), "idx_eventmappin_state_d4fb3c (state=? AND next_attempt_at<?)"),
        "pulls never given a time": (never, "idx_externalcal_next_pu_be0555 (next_pull_at=?)"),
        "pulls due": (due, "idx_externalcal_next_pu_be0555 (next_pull_at<?)"),
        "refreshes": (refresh_claim(NOW, ["google"]),
                      "idx_calendarcon_health_c1792c (health=? AND token_expires_at<?)"),
        "watches never looked at": (watch_claim(NOW, ["google"], never=True),
                                    "idx_externalcal_watch_d_4dd742 (watch_due_at=?)"),
        "watches due": (watch_claim(NOW, ["google"]), "idx_externalcal_watch_d_4dd742 (watch_due_at<?)"),
    }


@pytest.mark.parametrize("name", list(claims()))
async def test_each_claim_reads_an_index_range(db: str, name: str) -> None:
    # given an empty database (PostgreSQL is told not to prefer a scan of its tiny tables)
    claim, index = claims()[name]
    async with in_transaction() as connection:
        if is_postgres(connection):
            await connection.execute_script("SET LOCAL enable_seqscan = off")
        # when the database plans the claim's selection
        plan = await explain(claim, connection)
    # then the claimed table's due rows are found through the index, not a scan of the table
    if is_postgres(connection):
        assert "Seq Scan" not in plan, plan
    else:
        assert plan.splitlines()[0] == f"SEARCH {claim.table} USING INDEX {index}", plan
        assert "SCAN " not in plan, plan


def test_a_claim_is_one_update_returning_and_skips_locked_rows_on_postgresql() -> None:
    claim, _ = claims()["pushes"]
    on_postgres, on_sqlite = claim_sql(claim, True), claim_sql(claim, False)
    assert on_postgres.startswith("UPDATE eventmapping SET next_attempt_at = $1 WHERE id IN (SELECT")
    assert on_postgres.endswith("LIMIT 500 FOR UPDATE OF eventmapping SKIP LOCKED) RETURNING id")
    assert on_sqlite.endswith("LIMIT 500) RETURNING id") and "$" not in on_sqlite
