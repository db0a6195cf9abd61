"""The one small protocol every calendar provider implements, and the errors providers raise.

Terms:
- *calendar id*, *event id*: the provider's own identifiers (a CalDAV href, a Google or Graph id), opaque to us.
- *etag*: the provider's version of one event; writing with an etag fails with PreconditionFailed if the event
  changed since.
- *payload*: the event as the provider holds it (iCalendar text for CalDAV, JSON for Google and Graph); the domain
  reads it, providers never interpret busy semantics.
- *cursor*: what the provider gave at the end of the last fetch (a sync token, a delta link); passing it back asks
  for what changed since. No cursor asks for everything in the window.
- *marker*: Lockstep's own identifier for an event it writes, derived from the booking, stored in the event (a UID,
  a private extended property) so Lockstep recognises its own events and a retried create cannot duplicate one.

Providers translate their errors at the edge into the ProviderError family below; messages are safe to log and to
show (no tokens, passwords or response bodies with secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.calendly import Appointment, CalendlyEventType, CalendlyUser
from domain.intervals import Span


@dataclass(frozen=True)
class RemoteCalendar:
    calendar_id: str
    name: str
    colour: str
    time_zone: str
    writable: bool
    primary: bool


@dataclass(frozen=True)
class RemoteEvent:
    event_id: str
    etag: str
    payload: str


@dataclass(frozen=True)
class Changes:
    """The result of one fetch. With `complete` true the events listed are all there are in the window, so anything
    not listed is gone; otherwise `changed` and `deleted` are relative to the cursor that was passed.

    `unreadable`: ids of events the server failed to serve one by one (see the field).

    `cancelled_occurrences`: for a provider that lists a series' occurrences apart (Google), the deleted ones among
    `deleted` that belonged to a series: which series, and when the occurrence was planned. The deleted item itself
    says no more (no title, no marker), so this is how a pull knows which of a series' occurrences went. A provider
    whose deleted items do not even say that (Graph) names instead the series it lists whole (`whole_series`)."""

    changed: tuple[RemoteEvent, ...]
    deleted: tuple[str, ...]
    cursor: str
    complete: bool
    cancelled_occurrences: tuple[CancelledOccurrence, ...] = ()
    # Events the calendar holds but the server could not give (it failed on them alone): neither changed nor
    # deleted, so whatever they blocked before stays in force.
    unreadable: tuple[str, ...] = ()
    # For a provider that lists a series' occurrences apart: the series (by event id) whose occurrences in the
    # window this fetch lists in full, though it is incremental, so an occurrence of one that is not listed is gone
    # (Graph: a Lockstep series changed in the calendar, its instances read whole).
    whole_series: tuple[str, ...] = ()


@dataclass(frozen=True)
class CancelledOccurrence:
    series_id: str
    planned_start: datetime


@dataclass(frozen=True)
class MovedOccurrence:
    """One occurrence of a recurring event that no longer follows the rule: it was planned at `planned_start`
    (its RECURRENCE-ID) and now takes place from `starts_at` to `ends_at`."""

    planned_start: datetime
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class OutgoingEvent:
    """An event Lockstep writes for a booking (or a recurring series of bookings: `rrule` evaluated in `time_zone`
    from `starts_at`, `exdates` the planned starts of cancelled occurrences, `moved` the rescheduled ones)."""

    marker: str
    summary: str
    description: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()
    moved: tuple[MovedOccurrence, ...] = ()
    colour: str = ""


@dataclass(frozen=True)
class Written:
    event_id: str
    etag: str


@dataclass(frozen=True)
class Subscription:
    """A push channel (Google channel, Graph subscription) and when it expires."""

    subscription_id: str
    resource_id: str
    expires_at: datetime


class CalendarProvider(Protocol):
    async def list_calendars(self) -> list[RemoteCalendar]:
        """Every calendar of the account."""
        ...

    async def fetch_changes(self, calendar_id: str, cursor: str | None, window: Span) -> Changes:
        """What changed since `cursor`, or everything in `window` when there is none. Raises CursorExpired when
        the cursor is no longer accepted (the caller then fetches everything again)."""
        ...

    async def put_event(self, calendar_id: str, event: OutgoingEvent, *, event_id: str | None = None,
                        etag: str | None = None) -> Written:
        """Create the event (`event_id` None; creating the same marker twice yields the one event) or replace it,
        only if it is still at `etag` when one is given."""
        ...

    async def delete_event(self, calendar_id: str, event_id: str, *, etag: str | None = None,
                           reason: str = "") -> None:
        """Delete the event, only if it is still at `etag` when one is given. Raises NotFound if it is gone.
        `reason`: why, for a provider that tells the other party (an appointment provider's cancellation); a
        calendar ignores it."""
        ...

    async def watch(self, calendar_id: str, address: str, token: str) -> Subscription | None:
        """Ask the provider to notify `address` of changes, with `token` to prove the sender; None when the
        provider cannot push (CalDAV)."""
        ...

    async def renew(self, subscription: Subscription) -> Subscription | None:
        """Extend a push channel's life (and its authorisation); None when the provider cannot (a new channel is then
        opened instead). Raises NotFound when the provider no longer knows the channel."""
        ...

    async def unwatch(self, subscription: Subscription) -> None:
        """Stop a push channel."""
        ...


@dataclass(frozen=True)
class AppointmentListing:
    """An appointment provider's appointments in a window (active and canceled), and the ones it listed that could
    not be read (their known state stays as it is)."""

    appointments: tuple[Appointment, ...]
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubscriptionRepair:
    """What checking a webhook subscription found: `recreated` when it was disabled or gone and a new one now
    stands in for it (`resource_id`), else it was live as it was."""

    resource_id: str
    recreated: bool
    reason: str = ""


class AppointmentSource(Protocol):
    """The side of an appointment provider's client (Calendly) that calendars do not have: the account's
    appointments, read by the backstop, and its webhook subscription, kept alive by it. Its CalendarProvider side
    lists one calendar standing for the account, never writes events, and cancels an appointment as `delete_event`
    (the event id is the appointment's event URI)."""

    async def account(self) -> tuple[CalendlyUser, list[CalendlyEventType]]:
        """Who the account is, and what can be booked with it (its event types)."""
        ...

    async def appointments(self, window: Span) -> AppointmentListing:
        """Every appointment starting in `window`, active and canceled."""
        ...

    async def repair_subscription(self, subscription: Subscription, address: str) -> SubscriptionRepair:
        """Check the subscription; one the provider disabled (after a day of failed deliveries) or deleted is
        created again for `address`."""
        ...


class ProviderError(Exception):
    """A provider call failed; the message is safe to log and show. Raised as such (not as one of the kinds below)
    it is the provider refusing the request itself (a 400, a 403 rule, a 413): sending the same again cannot help."""


class AuthFailed(ProviderError):
    """Credentials were refused: the connection needs re-authorisation."""


class RateLimited(ProviderError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PreconditionFailed(ProviderError):
    """The event changed since the etag we had."""


class NotFound(ProviderError):
    pass


class CursorExpired(ProviderError):
    """The sync cursor is no longer accepted; fetch everything again."""


class Unavailable(ProviderError):
    """The provider could not be reached or answered with a server error; try again later."""


def is_transient(error: ProviderError) -> bool:
    """Whether the failure says nothing about the item itself (unreachable, timeout, server error, rate limit), so
    sending the same request later can succeed: retried on domain.retry's schedule for at least a day."""
    return isinstance(error, Unavailable | RateLimited)
