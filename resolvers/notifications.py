"""The viewer's notifications (conflicts, re-authorisation, sync recovered) and marking them read."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import pk, typed_errors
from resolvers.permissions import IsSignedIn, permission, viewer_of
from schema.sync_inputs import MarkNotificationsReadInput
from schema.sync_payloads import NotificationList, NotificationsResult
from schema.sync_types import Notification
from services import sync_queries
from services.quotas import MAX_NOTIFICATIONS_PER_REQUEST, at_most


@permission(IsSignedIn())
@typed_errors
async def notifications(info: Info, unread_only: bool = False, first: int = 50) -> NotificationsResult:
    """The viewer's notifications, newest first (`first`: 1 to 100)."""
    viewer = viewer_of(info)
    rows = await sync_queries.notifications(viewer, unread_only, first)
    return NotificationList(notifications=[Notification.from_model(row) for row in rows],
                            unread_count=await sync_queries.unread_count(viewer))


@permission(IsSignedIn())
@typed_errors
async def mark_notifications_read(input: MarkNotificationsReadInput, info: Info) -> NotificationsResult:
    viewer = viewer_of(info)
    at_most(input.ids, MAX_NOTIFICATIONS_PER_REQUEST, ["input", "ids"], "notifications at once")
    ids = [pk(value, "Notification", ["input", "ids", index]) for index, value in enumerate(input.ids)]
    rows = await sync_queries.mark_notifications_read(viewer, ids, info.context.now())
    return NotificationList(notifications=[Notification.from_model(row) for row in rows],
                            unread_count=await sync_queries.unread_count(viewer))
