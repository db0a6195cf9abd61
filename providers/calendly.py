"""The Calendly client on aiohttp, over the Calendly API v2 (docs/calendly.md): the connected user, their event types,
scheduled events with their invitees read as appointments, cancelling an event as its host, and webhook
subscriptions.

Every URL is a constructor argument, so the fake in tests/fakes/calendly.py and the real API are interchangeable.
The access token comes from an AccessTokens source (providers/tokens.py): an OAuth connection's refreshes once on a
401 (Calendly's refresh tokens are single use: the source must keep the new one), a personal access token's cannot
(PersonalAccessToken), so its 401 is AuthFailed at once.

Terms:
- *import window*: the span of start times a listing covers, from `min_start` to before `max_start` (docs/calendly.md
  says what Calendly leaves open at the edges). With no `status` it lists active and canceled events alike, which
  is how a caller sees what was canceled since.
- *already cancelled*: cancelling an event Calendly holds as canceled already raises AlreadyCancelled, a NotFound:
  a caller that takes NotFound on a cancel or delete as done (the event is not there to take time) does the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from domain.calendly import (
    Appointment,
    CalendlyEventType,
    CalendlyUser,
    UnreadableDelivery,
    appointment_of,
    event_type_of,
    user_of,
    uuid_of,
)
from providers.base import AuthFailed, NotFound, ProviderError
from providers.calendly_http import DEFAULT_API_URL, Answer, CalendlySession
from providers.closing import ClosedOnExit
from providers.tokens import AccessTokens

__all__ = ["DEFAULT_API_URL", "AlreadyCancelled", "AlreadyExists", "Appointments", "CalendlyClient",
           "PersonalAccessToken", "WebhookSubscription", "WebhooksRefused"]

INVITEE_EVENTS = ("invitee.created", "invitee.canceled")
REASON_LENGTH = 10_000  # the most a cancellation's reason may hold
Read = TypeVar("Read")


class AlreadyExists(ProviderError):
    """409: the organization has a subscription with this callback URL for this user (or organization) already."""


class WebhooksRefused(ProviderError):
    """403 on creating a subscription: the plan does not allow it, or the token lacks webhooks:write.
    `calendly_message` is Calendly's own words, to show the person connecting."""

    def __init__(self, message: str, calendly_message: str) -> None:
        super().__init__(message)
        self.calendly_message = calendly_message


class AlreadyCancelled(NotFound):
    """403 "Event is already canceled" on a cancellation: nothing is left to cancel, so it counts as done."""


class PersonalAccessToken:
    """The AccessTokens of a personal access token: always the same, and never refreshed (a 401 means it was
    revoked)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "PersonalAccessToken(…)"

    async def current(self) -> str:
        return self._token

    async def refreshed(self, rejected: str) -> str:
        raise AuthFailed("Calendly refused the personal access token: a new one has to be entered")


@dataclass(frozen=True)
class WebhookSubscription:
    uri: str
    callback_url: str
    state: str  # "active" or "disabled" (after a day of failed deliveries: create it again)
    scope: str  # "user" or "organization"
    user: str  # URI, "" for an organization's
    organization: str
    retry_started_at: datetime | None  # when deliveries started failing, while they do
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class Appointments:
    """The appointments of an import window, and the invitees (or events) Calendly listed that could not be read:
    a caller keeps what it knew of those rather than taking them as gone."""

    appointments: tuple[Appointment, ...]
    unreadable: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Appointment]:
        return iter(self.appointments)

    def __len__(self) -> int:
        return len(self.appointments)


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("an import window needs aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _resource(answer: Answer) -> Any:
    return answer.body.get("resource") if isinstance(answer.body, dict) else None


def _read(what: str, reader: Callable[[Any], Read], value: Any) -> Read:
    try:
        return reader(value)
    except UnreadableDelivery as exc:
        raise ProviderError(f"{what}: Calendly's answer could not be read ({exc})") from None


def _path_id(what: str, uri: str) -> str:
    try:
        return uuid_of(uri)
    except ValueError:
        raise ProviderError(f"{what}: not a Calendly resource URI") from None


def _subscription_of(resource: Any) -> WebhookSubscription:
    if not isinstance(resource, dict):
        raise UnreadableDelivery("the subscription is not an object")
    texts = {name: value for name in ("uri", "callback_url", "state", "scope", "organization")
             if isinstance(value := resource.get(name), str)}
    if len(texts) < 5:
        raise UnreadableDelivery("the subscription lacks one of uri, callback_url, state, scope, organization")
    retrying = resource.get("retry_started_at")
    try:
        started = None if retrying is None else datetime.fromisoformat(str(retrying)).astimezone(UTC)
    except ValueError:
        raise UnreadableDelivery("subscription.retry_started_at is not a time") from None
    events = resource.get("events")
    return WebhookSubscription(uri=texts["uri"], callback_url=texts["callback_url"], state=texts["state"],
                               scope=texts["scope"], user=str(resource.get("user") or ""),
                               organization=texts["organization"], retry_started_at=started,
                               events=tuple(map(str, events)) if isinstance(events, list) else ())


class CalendlyClient(ClosedOnExit):
    """One Calendly user's access. Close it with `aclose()` or use it as an async context manager. `account` (the
    user's URI, say) shares the user's spent rate limit between clients in one process."""

    def __init__(self, tokens: AccessTokens, *, api_url: str = DEFAULT_API_URL, timeout: float = 30.0,
                 account: str = "") -> None:
        self._http = CalendlySession(tokens, api_url, timeout, account)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the user and their event types -------------------------------------------------------------------------

    async def me(self) -> CalendlyUser:
        answer = await self._http.ok("users.me", "GET", "users/me")
        return _read("users.me", user_of, _resource(answer))

    async def event_types(self, user_uri: str) -> list[CalendlyEventType]:
        listed = await self._http.collection("event_types.list", "event_types", [("user", user_uri)])
        return [_read("event_types.list", event_type_of, item) for item in listed]

    # -- scheduled events ---------------------------------------------------------------------------------------

    async def scheduled_events(self, *, user: str = "", organization: str = "", status: str | None = None,
                               min_start: datetime, max_start: datetime) -> list[dict[str, Any]]:
        """The ScheduledEvent resources of `user` (or of `organization`, or of `user` within it) starting in
        [min_start, max_start), earliest first; `status` "active" or "canceled" narrows, None lists both."""
        if not (user or organization):
            raise ValueError("scheduled events are listed for a user or an organization")
        params = [*([("user", user)] if user else []), *([("organization", organization)] if organization else []),
                  *([("status", status)] if status else []), ("min_start_time", _stamp(min_start)),
                  ("max_start_time", _stamp(max_start)), ("sort", "start_time:asc")]
        return await self._http.collection("scheduled_events.list", "scheduled_events", params)

    async def invitees(self, event_uri: str) -> list[dict[str, Any]]:
        """The Invitee resources of a scheduled event, active and canceled, in booking order."""
        path = f"scheduled_events/{_path_id('invitees.list', event_uri)}/invitees"
        return await self._http.collection("invitees.list", path, [("sort", "created_at:asc")])

    async def appointments(self, *, user: str = "", organization: str = "", status: str | None = None,
                           min_start: datetime, max_start: datetime) -> Appointments:
        """Every invitee of every scheduled event of the window (as `scheduled_events` lists them) as an
        appointment: one listing of events and one of invitees per event."""
        found: list[Appointment] = []
        unreadable: list[str] = []
        events = await self.scheduled_events(user=user, organization=organization, status=status,
                                             min_start=min_start, max_start=max_start)
        for event in events:
            event_uri = event.get("uri")
            if not isinstance(event_uri, str):
                unreadable.append("")
                continue
            for invitee in await self.invitees(event_uri):
                try:
                    found.append(appointment_of(event, invitee))
                except UnreadableDelivery:
                    uri = invitee.get("uri")
                    unreadable.append(uri if isinstance(uri, str) else event_uri)
        return Appointments(tuple(found), tuple(unreadable))

    async def cancel(self, event_uri: str, reason: str) -> None:
        """Cancel a scheduled event as its host (Calendly tells its invitees). NotFound when Calendly does not
        know it; AlreadyCancelled (a NotFound) when it is canceled already; ProviderError when Calendly refuses
        (an event in the past, or one the user may not cancel)."""
        path = f"scheduled_events/{_path_id('scheduled_event.cancel', event_uri)}/cancellation"
        answer = await self._http.call("scheduled_event.cancel", "POST", path,
                                       body={"reason": reason[:REASON_LENGTH]})
        if answer.ok:
            return
        if answer.status == 403 and "already canceled" in answer.message.lower():
            raise AlreadyCancelled(answer.said())
        raise answer.error()

    # -- webhook subscriptions ----------------------------------------------------------------------------------

    async def create_webhook(self, *, url: str, organization: str, user: str | None, scope: str,
                             signing_key: str | None, events: Sequence[str] = INVITEE_EVENTS
                             ) -> WebhookSubscription:
        """Subscribe `url` to `events` of the user (`scope` "user") or the whole organization. `signing_key` only
        with a personal access token (an OAuth app's key is the app's); Calendly never shows it again.
        AlreadyExists on a 409, WebhooksRefused on a 403."""
        if scope not in ("user", "organization") or (scope == "user") != bool(user):
            raise ValueError("a user-scoped subscription names its user, an organization's names none")
        body: dict[str, Any] = {"url": url, "events": list(events), "organization": organization, "scope": scope}
        if user:
            body["user"] = user
        if signing_key is not None:
            body["signing_key"] = signing_key
        answer = await self._http.call("webhook.create", "POST", "webhook_subscriptions", body=body)
        if answer.status == 409:
            raise AlreadyExists(answer.said())
        if answer.status == 403:
            raise WebhooksRefused(answer.said(), answer.message)
        if not answer.ok:
            raise answer.error()
        return _read("webhook.create", _subscription_of, _resource(answer))

    async def webhooks(self, *, organization: str, scope: str, user: str | None = None) -> list[WebhookSubscription]:
        """The subscriptions of the organization of `scope` (of `user`, when given)."""
        params = [("organization", organization), ("scope", scope), *([("user", user)] if user else [])]
        listed = await self._http.collection("webhooks.list", "webhook_subscriptions", params)
        return [_read("webhooks.list", _subscription_of, item) for item in listed]

    async def delete_webhook(self, uri: str) -> None:
        """Delete a subscription; NotFound when Calendly does not know it (any more)."""
        await self._http.ok("webhook.delete", "DELETE", f"webhook_subscriptions/{_path_id('webhook.delete', uri)}")
