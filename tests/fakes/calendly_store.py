"""What the fake Calendly holds (organizations, users, event types, scheduled events with their invitees, webhook
subscriptions) and how it writes each as the API's JSON resource.

Resources are kept by uuid and their URIs are written under the fake's own base URL (`{base}/users/{uuid}`), known
once the server listens. Times are aware UTC datetimes, written as the API writes them ("2030-01-08T14:00:00.000000Z").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WEBHOOK_EVENTS = ("invitee.created", "invitee.canceled", "routing_form_submission.created")
_NO_TRACKING = {"utm_campaign": None, "utm_source": None, "utm_medium": None, "utm_content": None, "utm_term": None,
                "salesforce_uuid": None}


def new_uuid() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class User:
    uuid: str
    name: str
    email: str
    time_zone: str
    slug: str
    organization: str  # uuid
    created_at: datetime = field(default_factory=now)


@dataclass
class EventType:
    uuid: str
    owner: str  # user uuid
    name: str
    duration: int  # minutes
    slug: str
    colour: str = "#8247f5"
    active: bool = True
    created_at: datetime = field(default_factory=now)


@dataclass
class Invitee:
    uuid: str
    event: str  # scheduled event uuid
    name: str
    email: str
    time_zone: str | None
    answers: list[tuple[str, str]]
    status: str = "active"
    rescheduled: bool = False
    old_invitee: str | None = None  # URIs
    new_invitee: str | None = None
    cancellation: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class ScheduledEvent:
    uuid: str
    event_type: str  # uuid
    name: str
    start: datetime
    end: datetime
    hosts: list[str]  # user uuids, the first the event type's owner
    location: str
    status: str = "active"
    cancellation: dict[str, Any] | None = None
    invitees: list[str] = field(default_factory=list)  # uuids, in booking order
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Subscription:
    uuid: str
    callback_url: str
    events: list[str]
    scope: str
    organization: str  # uuid
    user: str | None  # uuid, for scope user
    creator: str  # uuid
    signing_key: str = field(repr=False)
    state: str = "active"
    retry_started_at: datetime | None = None
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class Store:
    base: str = ""  # the server's URL, once it listens
    organizations: set[str] = field(default_factory=set)
    users: dict[str, User] = field(default_factory=dict)
    event_types: dict[str, EventType] = field(default_factory=dict)
    events: dict[str, ScheduledEvent] = field(default_factory=dict)
    invitees: dict[str, Invitee] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)

    # -- URIs ---------------------------------------------------------------------------------------------------

    def uri(self, kind: str, uuid: str) -> str:
        return f"{self.base}/{kind}/{uuid}"

    def user_uri(self, user: User) -> str:
        return self.uri("users", user.uuid)

    def invitee_uri(self, invitee: Invitee) -> str:
        return f"{self.uri('scheduled_events', invitee.event)}/invitees/{invitee.uuid}"

    def find(self, kind: str, uri: str | None) -> str | None:
        """The uuid of a resource URI of this fake of `kind` ("users", "organizations"), None when it is not one."""
        prefix = f"{self.base}/{kind}/"
        if not uri or not uri.startswith(prefix) or "/" in uri[len(prefix):]:
            return None
        return uri[len(prefix):]

    def invitee_by_uri(self, uri: str) -> Invitee:
        return self.invitees[uri.rsplit("/", 1)[-1]]

    # -- resources ----------------------------------------------------------------------------------------------

    def user_resource(self, user: User) -> dict[str, Any]:
        return {"uri": self.user_uri(user), "name": user.name, "slug": user.slug, "email": user.email,
                "scheduling_url": f"https://calendly.com/{user.slug}", "timezone": user.time_zone,
                "avatar_url": None, "created_at": stamp(user.created_at), "updated_at": stamp(user.created_at),
                "current_organization": self.uri("organizations", user.organization), "resource_type": "User",
                "locale": "en"}

    def event_type_resource(self, event_type: EventType) -> dict[str, Any]:
        owner = self.users[event_type.owner]
        return {"uri": self.uri("event_types", event_type.uuid), "name": event_type.name,
                "active": event_type.active, "slug": event_type.slug,
                "scheduling_url": f"https://calendly.com/{owner.slug}/{event_type.slug}",
                "duration": event_type.duration, "duration_options": None, "kind": "solo", "pooling_type": None,
                "type": "StandardEventType", "color": event_type.colour, "created_at": stamp(event_type.created_at),
                "updated_at": stamp(event_type.created_at), "internal_note": None, "description_plain": None,
                "description_html": None, "profile": {"type": "User", "name": owner.name,
                                                       "owner": self.user_uri(owner)},
                "secret": False, "booking_method": "instant", "custom_questions": [], "deleted_at": None,
                "kind_description": "One-on-One", "admin_managed": False, "locations": None, "position": 0}

    def event_resource(self, event: ScheduledEvent, *, embedded: bool = False) -> dict[str, Any]:
        active = sum(self.invitees[uuid].status == "active" for uuid in event.invitees)
        resource = {
            "uri": self.uri("scheduled_events", event.uuid), "name": event.name, "status": event.status,
            "start_time": stamp(event.start), "end_time": stamp(event.end),
            "event_type": self.uri("event_types", event.event_type),
            "location": {"type": "physical", "location": event.location, "additional_info": None},
            "invitees_counter": {"total": len(event.invitees), "active": active, "limit": 1},
            "created_at": stamp(event.created_at), "updated_at": stamp(event.updated_at),
            "event_memberships": [{"user": self.uri("users", host), "user_email": self.users[host].email,
                                   "user_name": self.users[host].name} for host in event.hosts],
            "event_guests": [], "meeting_notes_plain": None, "meeting_notes_html": None}
        if not embedded:
            resource["calendar_event"] = None
        if event.cancellation is not None:
            resource["cancellation"] = event.cancellation
        return resource

    def invitee_resource(self, invitee: Invitee) -> dict[str, Any]:
        # The fake's event types do not ask for first and last names apart, so those stay null, as at Calendly.
        resource = {
            "uri": self.invitee_uri(invitee), "email": invitee.email, "first_name": None, "last_name": None,
            "name": invitee.name, "status": invitee.status, "timezone": invitee.time_zone,
            "event": self.uri("scheduled_events", invitee.event), "created_at": stamp(invitee.created_at),
            "updated_at": stamp(invitee.updated_at),
            "questions_and_answers": [{"question": question, "answer": answer, "position": position}
                                      for position, (question, answer) in enumerate(invitee.answers)],
            "tracking": dict(_NO_TRACKING), "text_reminder_number": None, "rescheduled": invitee.rescheduled,
            "old_invitee": invitee.old_invitee, "new_invitee": invitee.new_invitee,
            "cancel_url": f"https://calendly.com/cancellations/{invitee.uuid}",
            "reschedule_url": f"https://calendly.com/reschedulings/{invitee.uuid}",
            "routing_form_submission": None, "payment": None, "no_show": None, "reconfirmation": None,
            "scheduling_method": None, "invitee_scheduled_by": None}
        if invitee.cancellation is not None:
            resource["cancellation"] = invitee.cancellation
        return resource

    def delivered_invitee(self, invitee: Invitee) -> dict[str, Any]:
        """An invitee as a webhook's payload carries it: with its scheduled event embedded."""
        event = self.events[invitee.event]
        return {**self.invitee_resource(invitee), "scheduled_event": self.event_resource(event, embedded=True)}

    def subscription_resource(self, subscription: Subscription) -> dict[str, Any]:
        return {"uri": self.uri("webhook_subscriptions", subscription.uuid),
                "callback_url": subscription.callback_url, "created_at": stamp(subscription.created_at),
                "updated_at": stamp(subscription.updated_at),
                "retry_started_at": None if subscription.retry_started_at is None
                else stamp(subscription.retry_started_at),
                "state": subscription.state, "events": list(subscription.events), "scope": subscription.scope,
                "organization": self.uri("organizations", subscription.organization),
                "user": None if subscription.user is None else self.uri("users", subscription.user),
                "creator": self.uri("users", subscription.creator), "group": None}
