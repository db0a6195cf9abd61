"""Success payloads and result unions of calendar connections and sync."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from schema.errors import (
    ConnectionCheckFailed,
    ConnectionPreviewFailed,
    NotAuthorized,
    NotFound,
    SlotUnavailable,
    ValidationError,
)
from schema.preview_types import ConnectionPreview
from schema.sync_types import (
    CalendarConnection,
    DiscoveredCalendar,
    ExternalCalendar,
    Notification,
    SyncConflict,
    SyncItem,
    SyncLogConnection,
)


@strawberry.type(description="Open `authorizationUrl` in a browser before `expiresAt`; the provider sends the user "
                             "back to the return URL with `calendarConnection=confirm` and a `confirmationCode` "
                             "for `confirmCalendarConnection` (by the same user, within 10 minutes), or "
                             "`calendarConnection=failed` and an `error`")
class CalendarAuthorization:
    authorization_url: str
    expires_at: datetime


@strawberry.type
class CalendarConnectionList:
    connections: list[CalendarConnection]


@strawberry.type(description="The account works; these are the calendars connecting it would add.")
class ConnectionTestPayload:
    server_url: str
    calendars: list[DiscoveredCalendar]


@strawberry.type
class SyncConflictList:
    conflicts: list[SyncConflict]


@strawberry.type
class NotificationList:
    notifications: list[Notification]
    unread_count: int


CalendarConnectionResult = Annotated[CalendarConnection | ValidationError | NotAuthorized | NotFound,
                                     strawberry.union("CalendarConnectionResult")]
ConnectCaldavResult = Annotated[CalendarConnection | ValidationError | NotAuthorized | NotFound | ConnectionCheckFailed,
                                strawberry.union("ConnectCaldavResult")]
TestCalendarConnectionResult = Annotated[
    ConnectionTestPayload | ValidationError | NotAuthorized | NotFound | ConnectionCheckFailed,
    strawberry.union("TestCalendarConnectionResult")]
CalendarConnectionsResult = Annotated[CalendarConnectionList | ValidationError | NotAuthorized | NotFound,
                                      strawberry.union("CalendarConnectionsResult")]
ExternalCalendarResult = Annotated[ExternalCalendar | ValidationError | NotAuthorized | NotFound,
                                   strawberry.union("ExternalCalendarResult")]
SyncLogResult = Annotated[SyncLogConnection | ValidationError | NotAuthorized | NotFound,
                          strawberry.union("SyncLogResult")]
SyncItemResult = Annotated[SyncItem | ValidationError | NotAuthorized | NotFound, strawberry.union("SyncItemResult")]
SyncConflictResult = Annotated[SyncConflict | ValidationError | NotAuthorized | NotFound | SlotUnavailable,
                               strawberry.union("SyncConflictResult")]
SyncConflictsResult = Annotated[SyncConflictList | ValidationError | NotAuthorized | NotFound,
                                strawberry.union("SyncConflictsResult")]
NotificationsResult = Annotated[NotificationList | ValidationError | NotAuthorized | NotFound,
                                strawberry.union("NotificationsResult")]
StartCalendarConnectionResult = Annotated[CalendarAuthorization | ValidationError | NotAuthorized | NotFound,
                                          strawberry.union("StartCalendarConnectionResult")]
ConnectionPreviewResult = Annotated[
    ConnectionPreview | ValidationError | NotAuthorized | NotFound | ConnectionPreviewFailed,
    strawberry.union("ConnectionPreviewResult")]
