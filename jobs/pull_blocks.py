"""The busy blocks of one external calendar, as a pull reads and writes them (jobs.pull applies them in its one
transaction)."""

from __future__ import annotations

from datetime import UTC

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.intervals import Span
from domain.sync import BlockKey, ImportPlan, StoredBlock
from models import BusyBlock, BusyBlockSource, ExternalCalendar

_BATCH = 500


async def stored_blocks(calendar_id: int) -> dict[BlockKey, tuple[int, StoredBlock]]:
    """The calendar's blocks by key, with their row IDs."""
    rows = await BusyBlock.filter(external_calendar_id=calendar_id).values_list(
        "id", "external_event_id", "occurrence_key", "starts_at", "ends_at", "title", "all_day", "tentative",
        "recurring")
    return {(event_id, key): (row_id, StoredBlock(event_id, key, Span(start.astimezone(UTC), end.astimezone(UTC)),
                                                  title, all_day, tentative, recurring))
            for row_id, event_id, key, start, end, title, all_day, tentative, recurring in rows}


async def apply_blocks(calendar: ExternalCalendar, plan: ImportPlan,
                        stored: dict[BlockKey, tuple[int, StoredBlock]], staff_id: int,
                        db: BaseDBAsyncClient) -> None:
    """Write the plan: deletes and new blocks in batches (an initial import brings thousands)."""
    doomed = [stored[key][0] for key in plan.deletes if key in stored]
    for start in range(0, len(doomed), _BATCH):
        await BusyBlock.filter(id__in=doomed[start:start + _BATCH]).using_db(db).delete()
    new = []
    for block in plan.upserts:
        values = {"starts_at": block.span.start, "ends_at": block.span.end, "title": block.title[:500],
                  "all_day": block.all_day, "tentative": block.tentative, "recurring": block.recurring}
        if block.key in stored:
            await BusyBlock.filter(id=stored[block.key][0]).using_db(db).update(**values)
        else:
            new.append(BusyBlock(staff_id=staff_id, source=BusyBlockSource.EXTERNAL,
                                 external_calendar_id=calendar.id, external_event_id=block.event_id,
                                 occurrence_key=block.occurrence_key, **values))
    await BusyBlock.bulk_create(new, batch_size=_BATCH, using_db=db)


def changed_spans(plan: ImportPlan, stored: dict[BlockKey, tuple[int, StoredBlock]]) -> list[Span]:
    """Where free time may have changed: the new blocks and the old place of changed or removed ones."""
    before = [stored[key][1].span for key in (*plan.deletes, *(block.key for block in plan.upserts)) if key in stored]
    return [*before, *(block.span for block in plan.upserts)]


def pull_detail(plan: ImportPlan, expired: bool, unreadable: list[str]) -> str:
    """What a pull that changed something did, for its sync log entry."""
    detail = f"{len(plan.upserts)} busy blocks added or changed, {len(plan.deletes)} removed"
    if expired:
        detail += "; the sync cursor had expired, so the window was listed again in full"
    if unreadable:
        detail += f"; {len(unreadable)} events could not be read and keep their last known blocks"
    return detail
