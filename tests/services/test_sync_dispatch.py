"""Handing out due pushes: only to connections that write to their calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import CalendarConnection, EventMapping, EventMappingState, OutboxEntry, SyncDirection
from services.sync_dispatch import LEASE, claim_due_pushes, dispatch_outbox
from tests.support.statements import counted_statements
from tests.support.sync import book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)


async def test_pending_items_of_an_import_only_connection_wait_unclaimed_until_it_writes_again(db: str) -> None:
    # given a booking owed to a calendar whose connection was then switched to import only
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    (mapping_id,) = await dispatch_outbox(NOW)
    await CalendarConnection.filter(id=given.connection.id).update(direction=SyncDirection.IMPORT_ONLY)
    # when pushes are handed out, then it is not one of them, and stays owed as it was
    assert await claim_due_pushes(NOW + timedelta(minutes=5)) == []
    mapping = await EventMapping.get(id=mapping_id)
    assert (mapping.state, mapping.next_attempt_at) == (EventMappingState.PENDING, NOW)
    # when the connection writes again, it is handed out (once, leased)
    await CalendarConnection.filter(id=given.connection.id).update(direction=SyncDirection.TWO_WAY)
    later = NOW + timedelta(minutes=6)
    assert await claim_due_pushes(later) == [mapping_id]
    assert (await EventMapping.get(id=mapping_id)).next_attempt_at == later + LEASE
    assert await claim_due_pushes(later) == []


async def test_a_batch_of_outbox_rows_costs_the_statements_of_one_row(db: str) -> None:
    # given one booking's change, dispatched
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    with counted_statements() as one:
        (first,) = await dispatch_outbox(NOW)
    # when six more bookings' changes are dispatched together
    for hour in range(6):
        await book(given, TEN_BERLIN + timedelta(days=1, hours=hour), NOW)
    with counted_statements() as six:
        owed = await dispatch_outbox(NOW)
    # then each has its pending mapping, every row is done, and the batch cost what the single row did
    mappings = await EventMapping.filter(state=EventMappingState.PENDING).order_by("id").values_list("id", flat=True)
    assert sorted([first, *owed]) == list(mappings) and len(owed) == 6
    assert await OutboxEntry.filter(processed_at=None).count() == 0
    assert len(six) == len(one)
    assert await dispatch_outbox(NOW) == []
