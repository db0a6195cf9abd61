"""PostgreSQL connections go back to the pool without a reset query, and nothing of a session leaks meanwhile."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.postgres_engine import ResetFreeConnection
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's pool only")


async def test_the_pool_hands_out_connections_that_send_no_reset_query(db: str) -> None:
    # given the application's database client
    client = connections.get("default")
    # when a connection is taken from its pool, then it is one that sends no reset query on release
    async with client.acquire_connection() as connection:
        assert isinstance(connection, ResetFreeConnection)
        assert connection.get_reset_query() == ""


async def test_a_setting_made_inside_a_transaction_ends_with_it(db: str) -> None:
    # given a transaction that changes a setting for itself only (as the code does: SET LOCAL)
    async with in_transaction() as transaction:
        await transaction.execute_script("SET LOCAL statement_timeout = '1234ms'")
        assert (await transaction.execute_query_dict("SHOW statement_timeout"))[0]["statement_timeout"] == "1234ms"
    # when the next statements run outside it, on whichever pooled connection
    values = {(await connections.get("default").execute_query_dict("SHOW statement_timeout"))[0][
        "statement_timeout"] for _ in range(5)}
    # then none sees the setting
    assert values == {"0"}
