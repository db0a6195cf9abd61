"""Tortoise models, one module per aggregate; every model is re-exported here (Tortoise discovers them here)."""

from models.accounts import RefreshToken, User, UserRole
from models.bookings import Booking, BookingSeries, BookingStatus
from models.businesses import (
    Business,
    ScheduleOverride,
    Service,
    Staff,
    WorkingHoursRange,
)
from models.calendars import (
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConflictPolicy,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Provider,
    SyncDirection,
    SyncFrequency,
    SyncLogEntry,
)
from models.outbox import OutboxEntry

__all__ = [
    "Booking",
    "BookingSeries",
    "BookingStatus",
    "Business",
    "BusyBlock",
    "BusyBlockSource",
    "CalendarConnection",
    "ConflictPolicy",
    "ConnectionHealth",
    "EventMapping",
    "EventMappingState",
    "ExternalCalendar",
    "OutboxEntry",
    "Provider",
    "RefreshToken",
    "ScheduleOverride",
    "Service",
    "Staff",
    "SyncDirection",
    "SyncFrequency",
    "SyncLogEntry",
    "User",
    "UserRole",
    "WorkingHoursRange",
]
