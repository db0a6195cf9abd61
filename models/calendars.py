"""Calendar connections, their calendars and the busy time imported from them.

The sync engine fills these in; the booking core already reads busy blocks (manual blocks are busy blocks too).
What the engine wrote and did (event mappings, sync log, conflicts, notifications) lives in models/sync.py.
"""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from domain.conflicts import ConflictPolicy
from models.accounts import User
from models.bookings import Booking
from models.businesses import Staff


class Provider(StrEnum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"
    CALDAV = "caldav"
    CALENDLY = "calendly"


class SyncDirection(StrEnum):
    TWO_WAY = "two_way"
    IMPORT_ONLY = "import_only"
    EXPORT_ONLY = "export_only"


class SyncFrequency(StrEnum):
    REAL_TIME = "real_time"
    EVERY_5_MINUTES = "every_5_minutes"
    EVERY_15_MINUTES = "every_15_minutes"
    HOURLY = "hourly"
    MANUAL = "manual"


class ConnectionHealth(StrEnum):
    ACTIVE = "active"
    DEGRADED = "degraded"
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    DISCONNECTED = "disconnected"


ORGANIZATION_WIDE = "organization"  # CalendarConnection.account_scope of an organization-wide account


class CalendarConnection(Model):
    """One staff member's link to one provider account. `credentials` is ciphertext, never plain."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="connections")
    staff_id: int
    provider = fields.CharEnumField(Provider, max_length=16)
    server_type = fields.CharField(max_length=16, default="")  # CalDAV: icloud, fastmail, nextcloud or generic
    account_label = fields.CharField(max_length=254, default="")
    # An appointment provider's account connected organization-wide ("organization": every member's appointments,
    # each for the staff member its host is); "" for a connection of one person's calendars.
    account_scope = fields.CharField(max_length=16, default="")
    credentials = fields.TextField(default="")
    # OAuth providers: when the access token in `credentials` runs out (refreshed ahead of it), and the recent failed
    # refreshes (ISO instants) that were not the provider refusing the grant (3 within 24 h deactivate).
    token_expires_at = fields.DatetimeField(null=True)
    refresh_failures: fields.JSONField[list[str]] = fields.JSONField(default=list)
    refresh_claimed_until = fields.DatetimeField(null=True)  # a refresh job is queued or running until then
    # The per-connection refresh lock (services/oauth_tokens.py): who refreshes the tokens now, and until when at
    # most, so two refreshes (the scheduled one, one after a 401) never both spend a single-use refresh token.
    refresh_lock_owner = fields.CharField(max_length=64, default="")
    refresh_lock_until = fields.DatetimeField(null=True)
    direction = fields.CharEnumField(SyncDirection, max_length=16, default=SyncDirection.TWO_WAY)
    frequency = fields.CharEnumField(SyncFrequency, max_length=20, default=SyncFrequency.REAL_TIME)
    conflict_policy = fields.CharEnumField(ConflictPolicy, max_length=16, default=ConflictPolicy.ASK)
    tentative_blocks = fields.BooleanField(default=False)
    all_day_blocks = fields.BooleanField(default=True)
    health = fields.CharEnumField(ConnectionHealth, max_length=32, default=ConnectionHealth.ACTIVE)
    last_successful_sync_at = fields.DatetimeField(null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    consecutive_failures = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    disconnected_at = fields.DatetimeField(null=True)

    class Meta:
        # By staff member (their destinations); token refreshes are claimed by health and expiry, and push channels
        # for the connections of a provider and frequency.
        indexes = (("staff_id",), ("health", "token_expires_at"), ("provider", "frequency"))


class ExternalCalendar(Model):
    """A calendar inside a connection. At most one per staff member is the destination for bookings."""

    id = fields.IntField(primary_key=True)
    connection: fields.ForeignKeyRelation[CalendarConnection] = fields.ForeignKeyField(
        "models.CalendarConnection", related_name="calendars"
    )
    connection_id: int
    provider_calendar_id = fields.CharField(max_length=500)
    name = fields.CharField(max_length=200)
    colour = fields.CharField(max_length=9, default="")
    time_zone = fields.CharField(max_length=64, default="UTC")
    writable = fields.BooleanField(default=True)
    primary = fields.BooleanField(default=False)
    import_busy = fields.BooleanField(default=True)
    is_destination = fields.BooleanField(default=False)
    sync_cursor = fields.TextField(default="")
    # The span the stored blocks cover; when the day rolls on, the next pull lists the new window in full.
    window_start = fields.DatetimeField(null=True)
    window_end = fields.DatetimeField(null=True)
    last_pulled_at = fields.DatetimeField(null=True)
    next_pull_at = fields.DatetimeField(null=True)
    # Complete listings in a row that came back suddenly empty; the blocks are dropped only once that is confirmed.
    empty_listings = fields.IntField(default=0)
    # The events the last pulls could not read (bad data, or the server failed on them): they keep their last
    # blocks, and while any is left the connection's health is degraded and says how many.
    unreadable_event_ids: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # Pushes and pulls of one calendar never run at once (a pull reading a listing older than a push it raced with
    # would take Lockstep's own write for a hand edit): a job holds this lease, which lapses if the job dies.
    sync_lock_owner = fields.CharField(max_length=64, default="")
    sync_lock_until = fields.DatetimeField(null=True)
    # A job opening this calendar's push channel is queued or running until then (or, after a failure, the next
    # attempt waits until then).
    watch_claimed_until = fields.DatetimeField(null=True)
    # When the calendar may next need a push channel (services.watch_channels): none yet means now; a calendar that
    # is not watched is set far off until a change could make it watched, one with a channel a day before it expires.
    watch_due_at = fields.DatetimeField(null=True)

    class Meta:
        unique_together = (("connection", "provider_calendar_id"),)
        # The scheduler's claims of due pulls and due push channels are ranges over these.
        indexes = (("next_pull_at",), ("watch_due_at",))


class BusyBlockSource(StrEnum):
    MANUAL = "manual"
    EXTERNAL = "external"


class BusyBlock(Model):
    """A span of time taken by something that is not a booking: an imported external event (one row per expanded
    occurrence) or time a person blocked by hand ("lunch"). `title` is private to the staff member."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="busy_blocks")
    staff_id: int
    source = fields.CharEnumField(BusyBlockSource, max_length=16)
    external_calendar: fields.ForeignKeyNullableRelation[ExternalCalendar] = fields.ForeignKeyField(
        "models.ExternalCalendar", related_name="busy_blocks", null=True
    )
    external_calendar_id: int | None
    external_event_id = fields.CharField(max_length=500, default="")
    occurrence_key = fields.CharField(max_length=64, default="")
    title = fields.CharField(max_length=500, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    all_day = fields.BooleanField(default=False)
    # An imported tentative event (it blocks because its connection lets tentative events block).
    tentative = fields.BooleanField(default=False)
    # Whether the imported event repeats (one row per occurrence then): such an event is never taken over as a
    # booking's nor deleted as a duplicate, which would change every occurrence. None: not known (imported before
    # Lockstep recorded it; the next listing of the event says).
    recurring = fields.BooleanField(null=True)
    # A duplicate the staff member dropped (services.merging): it stays stored as the calendar holds it, but is not
    # shown while what it duplicates (another block, or a booking) still holds exactly its span.
    duplicate_of_block: fields.ForeignKeyNullableRelation["BusyBlock"] = fields.ForeignKeyField(
        "models.BusyBlock", related_name="dropped_duplicates", null=True, on_delete=fields.SET_NULL)
    duplicate_of_block_id: int | None
    duplicate_of_booking: fields.ForeignKeyNullableRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="dropped_duplicates", null=True, on_delete=fields.SET_NULL)
    duplicate_of_booking_id: int | None
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="busy_blocks_created", null=True
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        indexes = (("staff_id", "starts_at"),)
        # One block per occurrence of a calendar event, whatever two imports racing would do.
        unique_together = (("external_calendar", "external_event_id", "occurrence_key"),)
