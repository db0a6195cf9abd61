"""Tortoise models, one module per aggregate; every model is re-exported here (Tortoise discovers them here)."""

from models.account_tokens import AccountToken, AccountTokenPurpose
from models.accounts import RefreshToken, User, UserRole
from models.appointments import AppointmentDelivery, AppointmentHost, AppointmentType, ImportedAppointment
from models.bookings import Booking, BookingSeries, BookingStatus
from models.businesses import (
    Business,
    ScheduleOverride,
    Service,
    Staff,
    StaffPriority,
    WorkingHoursRange,
)
from models.calendar_feeds import CalendarFeed, FeedKind
from models.calendars import (
    ORGANIZATION_WIDE,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConflictPolicy,
    ConnectionHealth,
    ExternalCalendar,
    Provider,
    SyncDirection,
    SyncFrequency,
)
from models.channels import WatchChannel
from models.identities import SignInIdentity, SignInState
from models.mail import MailOutbox, MailPreference, MailState
from models.oauth import OAuthState
from models.outbox import OutboxEntry
from models.sync import (
    ConflictStatus,
    EventMapping,
    EventMappingState,
    Notification,
    RetiredEvent,
    SyncConflict,
    SyncLogEntry,
)

__all__ = [
    "ORGANIZATION_WIDE",
    "AccountToken",
    "AccountTokenPurpose",
    "AppointmentDelivery",
    "AppointmentHost",
    "AppointmentType",
    "Booking",
    "BookingSeries",
    "BookingStatus",
    "Business",
    "BusyBlock",
    "BusyBlockSource",
    "CalendarConnection",
    "CalendarFeed",
    "ConflictPolicy",
    "ConflictStatus",
    "ConnectionHealth",
    "EventMapping",
    "EventMappingState",
    "ExternalCalendar",
    "FeedKind",
    "ImportedAppointment",
    "MailOutbox",
    "MailPreference",
    "MailState",
    "Notification",
    "OAuthState",
    "OutboxEntry",
    "Provider",
    "RefreshToken",
    "RetiredEvent",
    "ScheduleOverride",
    "Service",
    "SignInIdentity",
    "SignInState",
    "Staff",
    "StaffPriority",
    "SyncConflict",
    "SyncDirection",
    "SyncFrequency",
    "SyncLogEntry",
    "User",
    "UserRole",
    "WatchChannel",
    "WorkingHoursRange",
]
