"""What the sync engine wrote and did: event mappings, the sync log, conflicts and stored notifications."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.accounts import User
from models.bookings import Booking
from models.businesses import Staff
from models.calendars import CalendarConnection, ExternalCalendar


class EventMappingState(StrEnum):
    SYNCED = "synced"
    PENDING = "pending"
    FAILED = "failed"
    CONFLICT = "conflict"  # the calendar's copy was changed by hand; nothing is pushed until the conflict is settled
    UNLINKED = "unlinked"  # deliberately no longer synced; both copies stay as they are


class EventMapping(Model):
    """The event Lockstep wrote for a booking in one external calendar, and what it last wrote there.

    A recurring series is one event: its mapping hangs on the series' first occurrence. `written` holds the
    occurrences as last written (planned start -> booking id, start, end, all ISO 8601 UTC) so a pull can tell a hand
    edit in the calendar from Lockstep's own write. `next_attempt_at` is when the scheduler (re)enqueues a pending
    push; it doubles as a lease while a job is queued.
    """

    id = fields.IntField(primary_key=True)
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField("models.Booking", related_name="mappings")
    booking_id: int
    external_calendar: fields.ForeignKeyRelation[ExternalCalendar] = fields.ForeignKeyField(
        "models.ExternalCalendar", related_name="mappings"
    )
    external_calendar_id: int
    external_event_id = fields.CharField(max_length=500, default="")
    etag = fields.CharField(max_length=500, default="")
    version_written = fields.IntField(default=0)
    state = fields.CharEnumField(EventMappingState, max_length=16, default=EventMappingState.PENDING)
    written: fields.JSONField[dict[str, list[object]]] = fields.JSONField(default=dict)
    attempts = fields.IntField(default=0)
    # Bumped each time a booking change queues the mapping: a push marks it synced only if this did not move while
    # the push ran (else the booking changed again and the newer state still has to be written).
    queued = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    # Failed because the provider stayed unreachable for a day (not because it refused the event): the connection's
    # recovery sends it again by itself.
    failed_by_outage = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        unique_together = (("booking", "external_calendar"),)
        # The scheduler's claim of pending pushes is a range over the first index (state first, then when due); a
        # pull looks up the events it listed by the second.
        indexes = (("state", "next_attempt_at"), ("external_calendar_id", "external_event_id"))


class RetiredEvent(Model):
    """An event in a calendar that the next push of `mapping` deletes: the booking's earlier event there once another
    event was taken over as its event (services.event_links), or an imported copy of the booking merged away
    (services.merging). Until then a pull never imports it as busy time."""

    id = fields.IntField(primary_key=True)
    mapping: fields.ForeignKeyRelation[EventMapping] = fields.ForeignKeyField(
        "models.EventMapping", related_name="retired_events", on_delete=fields.CASCADE)
    mapping_id: int
    external_calendar: fields.ForeignKeyRelation[ExternalCalendar] = fields.ForeignKeyField(
        "models.ExternalCalendar", related_name="retired_events", on_delete=fields.CASCADE)
    external_calendar_id: int
    external_event_id = fields.CharField(max_length=500)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("external_calendar", "external_event_id"),)


class SyncLogEntry(Model):
    """Append-only record of one sync action. `error` holds a sanitised message, never a secret."""

    id = fields.IntField(primary_key=True)
    connection: fields.ForeignKeyNullableRelation[CalendarConnection] = fields.ForeignKeyField(
        "models.CalendarConnection", related_name="log", null=True
    )
    connection_id: int | None
    booking: fields.ForeignKeyNullableRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="sync_log", null=True
    )
    booking_id: int | None
    mapping: fields.ForeignKeyNullableRelation["EventMapping"] = fields.ForeignKeyField(
        "models.EventMapping", related_name="log", null=True
    )
    mapping_id: int | None
    direction = fields.CharField(max_length=16)
    action = fields.CharField(max_length=32)
    outcome = fields.CharField(max_length=16)
    detail = fields.CharField(max_length=500, default="")
    error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        indexes = (("connection_id", "id"),)


class ConflictStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"


class SyncConflict(Model):
    """A disagreement between a booking and the staff member's calendar. `kind` and `resolution` take the values
    of domain.conflicts; `proposed_start`/`proposed_end` is where the calendar has the booking's event now."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="conflicts")
    staff_id: int
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField("models.Booking", related_name="conflicts")
    booking_id: int
    connection: fields.ForeignKeyNullableRelation[CalendarConnection] = fields.ForeignKeyField(
        "models.CalendarConnection", related_name="conflicts", null=True
    )
    connection_id: int | None
    kind = fields.CharField(max_length=32)
    external_event_id = fields.CharField(max_length=500, default="")  # the calendar event involved
    status = fields.CharEnumField(ConflictStatus, max_length=16, default=ConflictStatus.OPEN)
    resolution = fields.CharField(max_length=32, default="")
    proposed_start = fields.DatetimeField(null=True)
    proposed_end = fields.DatetimeField(null=True)
    detail = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)
    settled_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="conflicts_settled", null=True
    )
    settled_by_id: int | None

    class Meta:
        indexes = (("staff_id", "status"),)


class Notification(Model):
    """A message for one person (a conflict opened, a connection needs re-authorisation, sync recovered). Stored
    so nothing is missed; live delivery reads the same rows."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="notifications")
    user_id: int
    kind = fields.CharField(max_length=48)
    message = fields.CharField(max_length=500)
    data: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        indexes = (("user_id", "id"),)
