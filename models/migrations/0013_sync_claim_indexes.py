"""Indexes that make the scheduler's claims index ranges over what is due (services.sync_dispatch, models.claims),
and a time for every calendar that had none.

- pending mappings by next attempt; calendars by next pull; connections by staff member, by health and token
  expiry, and by provider and frequency; working hours by staff member; a series' occurrences in order.
- When each calendar may next need a push channel (none yet: now; the claim sets the others aside itself).
- A calendar without a pull time (created before connecting gave every calendar one) gets one: due now, unless its
  connection is manual (then far off, as after a pull: only "sync now" makes it due). This keeps the "never
  pulled" range of the pull claim empty.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_GIVE_TIMES = [
    "UPDATE externalcalendar SET next_pull_at = CURRENT_TIMESTAMP WHERE next_pull_at IS NULL AND connection_id IN"
    " (SELECT id FROM calendarconnection WHERE frequency <> 'manual')",
    "UPDATE externalcalendar SET next_pull_at = {far} WHERE next_pull_at IS NULL",
]


async def _give_pull_times(_apps: Any, schema_editor: Any) -> None:
    postgres = schema_editor.client.capabilities.dialect == "postgres"
    # SQLite keeps instants as ISO text in the ORM's form (with the offset), PostgreSQL as timestamptz.
    now = "CURRENT_TIMESTAMP" if postgres else "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')"
    far = "TIMESTAMPTZ '2999-01-01 00:00:00+00'" if postgres else "'2999-01-01 00:00:00+00:00'"
    for statement in _GIVE_TIMES:
        await schema_editor.client.execute_script(statement.replace("CURRENT_TIMESTAMP", now).format(far=far))


async def _nothing(_apps: Any, _schema_editor: Any) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0012_event_mapping_unique")]

    initial = False

    operations = [
        ops.AddIndex(model_name="EventMapping", index=Index(fields=["state", "next_attempt_at"])),
        ops.AddIndex(model_name="ExternalCalendar", index=Index(fields=["next_pull_at"])),
        ops.AddField(model_name="ExternalCalendar", name="watch_due_at",
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddIndex(model_name="ExternalCalendar", index=Index(fields=["watch_due_at"])),
        ops.AddIndex(model_name="CalendarConnection", index=Index(fields=["staff_id"])),
        ops.AddIndex(model_name="CalendarConnection", index=Index(fields=["health", "token_expires_at"])),
        ops.AddIndex(model_name="CalendarConnection", index=Index(fields=["provider", "frequency"])),
        ops.AddIndex(model_name="WorkingHoursRange", index=Index(fields=["staff_id", "weekday"])),
        ops.AddIndex(model_name="Booking", index=Index(fields=["series_id", "occurrence_index"])),
        ops.RunPython(_give_pull_times, _nothing),
    ]
