"""The fake Microsoft's routes: the identity platform's endpoints and the Graph v1.0 paths of the OpenAPI subset
(the /me forms, the calendarView/delta aliases `delta()` and `microsoft.graph.delta()`, and /subscriptions), each
with the handler method that serves it and the delegated permissions any one of which lets a token call it."""

from __future__ import annotations

_READ = frozenset({"Calendars.Read", "Calendars.ReadWrite"})
_WRITE = frozenset({"Calendars.ReadWrite"})
ROUTE_SCOPES: dict[str, frozenset[str]] = {
    "me": frozenset({"User.Read"}),
    "calendars": _READ, "calendar.view": _READ, "delta": _READ, "events.list": _READ, "event.get": _READ,
    "instances": _READ, "events.create": _WRITE, "event.patch": _WRITE, "event.delete": _WRITE,
    "event.cancel": _WRITE,
    # Outlook categories live in the mailbox settings, not the calendar
    "categories": frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}),
    "category.create": frozenset({"MailboxSettings.ReadWrite"}),
    "subscription.create": _READ, "subscription.get": _READ, "subscriptions.list": _READ,
    "subscription.patch": _READ, "subscription.reauthorize": _READ, "subscription.delete": _READ,
}
_CALENDARS = ("/v1.0/me/calendars/{calendar_id}", "/v1.0/me/calendar", "/v1.0/me")
_DELTA = ("delta", "delta()", "microsoft.graph.delta()")


def routes() -> list[tuple[str, str, str]]:
    """(method, path, handler method name); the route's name is the handler's without underscores."""
    found = [
        ("GET", "/{tenant}/oauth2/v2.0/authorize", "_authorize"),
        ("GET", "/{tenant}/oauth2/v2.0/consent", "_consent"),
        ("POST", "/{tenant}/oauth2/v2.0/token", "_token"),
        ("GET", "/v1.0/me", "_me"),
        ("GET", "/v1.0/me/calendars", "_calendars"),
        ("GET", "/v1.0/me/events", "_events_list"),
        ("POST", "/v1.0/me/events", "_events_create"),
        ("GET", "/v1.0/me/calendars/{calendar_id}/events", "_events_list"),
        ("POST", "/v1.0/me/calendars/{calendar_id}/events", "_events_create"),
        ("GET", "/v1.0/me/events/{event_id}", "_event_get"),
        ("PATCH", "/v1.0/me/events/{event_id}", "_event_patch"),
        ("DELETE", "/v1.0/me/events/{event_id}", "_event_delete"),
        ("GET", "/v1.0/me/events/{event_id}/instances", "_instances"),
        ("POST", "/v1.0/me/events/{event_id}/cancel", "_event_cancel"),
        ("GET", "/v1.0/me/outlook/masterCategories", "_categories"),
        ("POST", "/v1.0/me/outlook/masterCategories", "_category_create"),
        ("GET", "/v1.0/subscriptions", "_subscriptions_list"),
        ("POST", "/v1.0/subscriptions", "_subscription_create"),
        ("GET", "/v1.0/subscriptions/{subscription_id}", "_subscription_get"),
        ("PATCH", "/v1.0/subscriptions/{subscription_id}", "_subscription_patch"),
        ("DELETE", "/v1.0/subscriptions/{subscription_id}", "_subscription_delete"),
        ("POST", "/v1.0/subscriptions/{subscription_id}/reauthorize", "_subscription_reauthorize"),
    ]
    for base in _CALENDARS:
        found.append(("GET", f"{base}/calendarView", "_calendar_view"))
        found += [("GET", f"{base}/calendarView/{alias}", "_delta") for alias in _DELTA]
    return found
