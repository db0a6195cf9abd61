"""The fake Calendly's read and cancel handlers: the current user, event types, scheduled events with their invitees,
and a host's cancellation (docs/calendly.md, "Endpoints").

Each handler runs with the caller (`request[USER]`, set by the fake's middleware after the bearer token) under the
fake's lock. Every token sees its whole organization, as an organization owner's would; `user` narrows a listing
to the events that user hosts (another user of the organization only together with `organization`, as Calendly
asks).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from tests.fakes.calendly_errors import denied, error, invalid
from tests.fakes.calendly_paging import moment_of, page, sort_of
from tests.fakes.calendly_store import EventType, ScheduledEvent, Store, User, now

USER = web.RequestKey("calendly_user", User)  # the caller, by their token
REASON_LENGTH = 10_000


class CalendlyApi:
    _lock: threading.RLock
    store: Store
    url: str

    def cancel_by_host(self, event_uri: str, reason: str = "", host: User | str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    # -- who asks, and whom they name ---------------------------------------------------------------------------

    def _user_named(self, request: web.Request, value: str | None) -> User | None:
        """The user a `user` parameter names: None when absent, 403 when not of the caller's organization."""
        if value is None:
            return None
        caller: User = request[USER]
        found = self.store.users.get(self.store.find("users", value) or "")
        if found is None or found.organization != caller.organization:
            raise denied("This user is not in your organization")
        return found

    def _organization_named(self, request: web.Request, value: str | None) -> str | None:
        if value is None:
            return None
        if self.store.find("organizations", value) != request[USER].organization:
            raise denied()
        return value

    def _visible(self, request: web.Request, event: ScheduledEvent | None) -> ScheduledEvent:
        if event is None or self.store.users[event.hosts[0]].organization != request[USER].organization:
            raise error(404)
        return event

    # -- users and event types ----------------------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response({"resource": self.store.user_resource(request[USER])})

    async def _user_get(self, request: web.Request) -> web.Response:
        found = self.store.users.get(request.match_info["uuid"])
        if found is None or found.organization != request[USER].organization:
            raise error(404)
        return web.json_response({"resource": self.store.user_resource(found)})

    async def _event_types(self, request: web.Request) -> web.Response:
        query = request.query
        user = self._user_named(request, query.get("user"))
        organization = self._organization_named(request, query.get("organization"))
        if user is None and organization is None:
            raise invalid("user", "user or organization is required")
        active = {"true": True, "false": False, None: None}.get(query.get("active"), "bad")
        if active == "bad":
            raise invalid("active", "must be true or false")
        descending = sort_of(request, "name")
        kinds: list[EventType] = [
            kind for kind in self.store.event_types.values()
            if self.store.users[kind.owner].organization == request[USER].organization
            and (user is None or kind.owner == user.uuid) and (active is None or kind.active == active)]
        kinds.sort(key=lambda kind: kind.name.lower(), reverse=descending)
        return page(request, self.url, kinds, self.store.event_type_resource)

    async def _event_type_get(self, request: web.Request) -> web.Response:
        kind = self.store.event_types.get(request.match_info["uuid"])
        if kind is None or self.store.users[kind.owner].organization != request[USER].organization:
            raise error(404)
        return web.json_response({"resource": self.store.event_type_resource(kind)})

    # -- scheduled events and invitees --------------------------------------------------------------------------

    async def _scheduled_events(self, request: web.Request) -> web.Response:
        query = request.query
        caller: User = request[USER]
        user = self._user_named(request, query.get("user"))
        organization = self._organization_named(request, query.get("organization"))
        if user is None and organization is None:
            raise invalid("user", "user or organization is required")
        if user is not None and user is not caller and organization is None:
            raise denied("Please also specify organization when requesting events for a user within your "
                         "organization.")
        status = query.get("status")
        if status not in (None, "active", "canceled"):
            raise invalid("status", "must be active or canceled")
        earliest, latest = moment_of(request, "min_start_time"), moment_of(request, "max_start_time")
        email = query.get("invitee_email")
        descending = sort_of(request, "start_time")
        events = [event for event in self.store.events.values()
                  if self.store.users[event.hosts[0]].organization == caller.organization
                  and (user is None or user.uuid in event.hosts) and (status is None or event.status == status)
                  and (earliest is None or event.start >= earliest) and (latest is None or event.start < latest)
                  and (email is None or any(self.store.invitees[uuid].email == email for uuid in event.invitees))]
        events.sort(key=lambda event: (event.start, event.created_at), reverse=descending)
        return page(request, self.url, events, self.store.event_resource)

    async def _scheduled_event(self, request: web.Request) -> web.Response:
        event = self._visible(request, self.store.events.get(request.match_info["uuid"]))
        return web.json_response({"resource": self.store.event_resource(event)})

    async def _invitees(self, request: web.Request) -> web.Response:
        event = self._visible(request, self.store.events.get(request.match_info["uuid"]))
        status, email = request.query.get("status"), request.query.get("email")
        if status not in (None, "active", "canceled"):
            raise invalid("status", "must be active or canceled")
        descending = sort_of(request, "created_at")
        people = [self.store.invitees[uuid] for uuid in event.invitees]
        chosen: Sequence[Any] = sorted(
            (person for person in people if (status is None or person.status == status)
             and (email is None or person.email == email)),
            key=lambda person: person.created_at, reverse=descending)
        return page(request, self.url, chosen, self.store.invitee_resource)

    async def _invitee_get(self, request: web.Request) -> web.Response:
        event = self._visible(request, self.store.events.get(request.match_info["event_uuid"]))
        person = self.store.invitees.get(request.match_info["invitee_uuid"])
        if person is None or person.event != event.uuid:
            raise error(404)
        return web.json_response({"resource": self.store.invitee_resource(person)})

    async def _cancellation(self, request: web.Request) -> web.Response:
        event = self._visible(request, self.store.events.get(request.match_info["uuid"]))
        reason: Any = ""
        raw = await request.read()  # the body is optional
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise invalid("reason", "the body is not JSON") from None
            reason = (body.get("reason") or "") if isinstance(body, dict) else None
            if not isinstance(reason, str) or len(reason) > REASON_LENGTH:
                raise invalid("reason", f"must be text of at most {REASON_LENGTH} characters")
        if event.status == "canceled":
            raise denied("Event is already canceled")
        if event.end <= now():
            raise denied("Event in the past")
        cancellation = self.cancel_by_host(self.store.uri("scheduled_events", event.uuid), reason,
                                           request[USER])
        return web.json_response({"resource": cancellation}, status=201)
