"""Enums of calendar connections and sync. Values mirror the model and domain enums so conversion is by value."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class CalendarProvider(Enum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"
    CALDAV = "caldav"
    CALENDLY = "calendly"


@strawberry.enum(description="Where a booking was made: in Lockstep, or at an appointment provider that owns its time "
                             "(moved there only; cancelling it here cancels it there)")
class BookingSource(Enum):
    LOCKSTEP = "lockstep"
    CALENDLY = "calendly"


@strawberry.enum(description="Which CalDAV server an account is on; iCloud and Fastmail need no server URL.")
class CaldavServerType(Enum):
    ICLOUD = "icloud"
    FASTMAIL = "fastmail"
    NEXTCLOUD = "nextcloud"
    GENERIC = "generic"


@strawberry.enum(description="Two-way; import only (calendar -> Lockstep); export only (Lockstep -> calendar).")
class SyncDirection(Enum):
    TWO_WAY = "two_way"
    IMPORT_ONLY = "import_only"
    EXPORT_ONLY = "export_only"


@strawberry.enum(description="How often a calendar is read; MANUAL only on syncNow.")
class SyncFrequency(Enum):
    REAL_TIME = "real_time"
    EVERY_5_MINUTES = "every_5_minutes"
    EVERY_15_MINUTES = "every_15_minutes"
    HOURLY = "hourly"
    MANUAL = "manual"


@strawberry.enum(description="What happens when the calendar and a booking disagree: ASK opens a conflict for a "
                             "person; the other policies settle it at once. Everyone concerned is notified.")
class ConflictPolicy(Enum):
    ASK = "ask"
    PLATFORM_WINS = "platform_wins"
    CALENDAR_WINS = "calendar_wins"
    KEEP_BOTH = "keep_both"


@strawberry.enum
class ConnectionHealthStatus(Enum):
    ACTIVE = "active"
    DEGRADED = "degraded"
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    DISCONNECTED = "disconnected"


@strawberry.enum(description="Why an account could not be connected.")
class ConnectionProblem(Enum):
    WRONG_PASSWORD = "wrong_password"
    WRONG_URL = "wrong_url"
    NOT_CALDAV = "not_caldav"
    TLS_ERROR = "tls_error"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    BAD_TOKEN = "bad_token"  # an access token the provider does not know (mistyped, or never issued)
    REVOKED = "revoked"  # a token the provider no longer accepts


@strawberry.enum(description="EVENT_MOVED / EVENT_DELETED: the booking's event was moved or deleted in the calendar; "
                             "BUSY_OVERLAP: a calendar event overlaps the booking.")
class SyncConflictKind(Enum):
    EVENT_MOVED = "event_moved"
    EVENT_DELETED = "event_deleted"
    BUSY_OVERLAP = "busy_overlap"


@strawberry.enum
class ConflictStatus(Enum):
    OPEN = "open"
    SETTLED = "settled"


@strawberry.enum(description="What settled a conflict: the booking moved to the calendar's time, its event written "
                             "back, the booking cancelled, or both sides kept as they are.")
class ConflictResolution(Enum):
    RESCHEDULE_BOOKING = "reschedule_booking"
    RESTORE_EVENT = "restore_event"
    CANCEL_BOOKING = "cancel_booking"
    KEEP_BOTH = "keep_both"


@strawberry.enum(description="KEEP_BOOKING: the booking stands (a moved or deleted event is written back). "
                             "ACCEPT_CALENDAR: the calendar's version is taken (the booking moves to the event's new "
                             "time if it is free, otherwise it is cancelled).")
class ConflictChoice(Enum):
    KEEP_BOOKING = "keep_booking"
    ACCEPT_CALENDAR = "accept_calendar"


@strawberry.enum(description="A booking's event in one calendar: SYNCED; PENDING (to be written); FAILED (gave up "
                             "after every retry: retrySync); CONFLICT (held back until the conflict is settled); "
                             "UNLINKED (no longer synced).")
class SyncItemState(Enum):
    SYNCED = "synced"
    PENDING = "pending"
    FAILED = "failed"
    CONFLICT = "conflict"
    UNLINKED = "unlinked"


@strawberry.enum(description="Why a connection's calendars could not be read for its preview: the provider refused "
                             "the credentials (reconnect the calendar); it limits how often it is asked; it could not "
                             "be reached or did not answer in time; it refused to list the events; the provider is "
                             "not available or not configured on this server; the connection is disconnected.")
class PreviewProblem(Enum):
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    REFUSED = "refused"
    PROVIDER_NOT_AVAILABLE = "provider_not_available"
    DISCONNECTED = "disconnected"
