"""Appointments made elsewhere (Calendly) and what each report of one does to Lockstep: a pure decision.

Terms:
- *appointment*: one invitee of one scheduled event at the provider (domain.calendly.Appointment), reported by a
  webhook delivery or found by the backstop's listing. Lockstep keys what it holds for one by the scheduled event's
  URI: a one-on-one event has one invitee, and a group event takes its host's time as long as the event is on.
- *holder*: what takes the time in Lockstep: a booking (its event type is mapped to a service) or a busy block.
- *known appointment*: what Lockstep stored of an appointment it applied: its event and invitee, its times, whether
  it is still on, and, once the provider said it was rescheduled, the invitee that replaced it (`successor`).
- *reschedule pair*: the provider reports a reschedule as two appointments: the old one canceled with
  `rescheduled` and `new_invitee`, and a new one (a new scheduled event) whose `old_invitee` names the old invitee.
  The halves may come in either order, twice, or one of them late or never: the result is always one holder at the
  new time, never a cancellation plus a new one.

`plan_appointment` decides from the report and the two known appointments it may concern: the one of its own event,
and the one whose invitee it replaces (for a new half of a pair). Applying the same report twice, or a report
older than what is known, plans nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.calendly import Appointment


@dataclass(frozen=True)
class KnownAppointment:
    event_uri: str
    invitee_uri: str
    starts_at: datetime
    ends_at: datetime
    active: bool
    successor: str = ""  # the invitee that replaced this one in a reschedule ("" until told)
    updated_at: datetime | None = None  # the provider's time of the last report applied


class AppointmentStep(StrEnum):
    NOTHING = "nothing"  # already applied, stale, or nothing of ours (a canceled appointment never known)
    CREATE = "create"  # a new appointment: a new holder takes its time
    MOVE = "move"  # the new half of a reschedule pair: the predecessor's holder moves here (and is re-keyed)
    CANCEL = "cancel"  # canceled, not rescheduled: its holder is cancelled or removed
    AWAIT_SUCCESSOR = "await_successor"  # the old half of a pair: the holder stays until the new half is applied
    REVIVE = "revive"  # known as canceled, reported active again by a newer report


@dataclass(frozen=True)
class AppointmentPlan:
    step: AppointmentStep
    # For MOVE: the event URI of the known appointment whose holder moves (the predecessor).
    moves_from: str = ""
    # For AWAIT_SUCCESSOR: the invitee named as the replacement.
    successor: str = ""


def event_of_invitee(invitee_uri: str) -> str:
    """The scheduled event's URI inside an invitee's (".../scheduled_events/E/invitees/I" -> ".../scheduled_events/E"),
    or "" when the URI is not shaped so."""
    head, marker, tail = invitee_uri.rpartition("/invitees/")
    return head if marker and head and tail and "/" not in tail else ""


def _stale(report: Appointment, known: KnownAppointment | None) -> bool:
    return known is not None and known.updated_at is not None and report.updated_at < known.updated_at


def plan_appointment(report: Appointment, own: KnownAppointment | None,
                     predecessor: KnownAppointment | None) -> AppointmentPlan:
    """What `report` does, given the known appointment of its own event (`own`) and, for a report whose
    `old_invitee` is set, the known appointment of that invitee (`predecessor`, None when never known)."""
    if _stale(report, own):
        return AppointmentPlan(AppointmentStep.NOTHING)
    if not report.event_active:
        if own is None or not own.active:
            # Never held, or already released: nothing to release. A late old half whose holder has already
            # moved to the new event is this case too (the holder is no longer keyed by this event).
            return AppointmentPlan(AppointmentStep.NOTHING)
        if report.rescheduled:
            if own.successor == report.new_invitee:
                return AppointmentPlan(AppointmentStep.NOTHING)
            return AppointmentPlan(AppointmentStep.AWAIT_SUCCESSOR, successor=report.new_invitee)
        return AppointmentPlan(AppointmentStep.CANCEL)
    if own is not None:
        if own.active or own.successor:
            # Held already; or rescheduled away, which no later report brings back.
            return AppointmentPlan(AppointmentStep.NOTHING)
        return AppointmentPlan(AppointmentStep.REVIVE)
    if report.old_invitee and predecessor is not None and predecessor.active:
        return AppointmentPlan(AppointmentStep.MOVE, moves_from=predecessor.event_uri)
    return AppointmentPlan(AppointmentStep.CREATE)


def after_plan(report: Appointment, plan: AppointmentPlan, own: KnownAppointment | None,
               predecessor: KnownAppointment | None) -> dict[str, KnownAppointment]:
    """The known appointments once `plan` is applied, by event URI (only those the plan changes; a moved holder's
    old key is given as inactive with the successor set, so a late old half finds nothing to release)."""
    step = plan.step
    if step == AppointmentStep.NOTHING:
        if own is None and not report.event_active:
            # Canceled before Lockstep heard of it: remembered, so an older report of it (still active) takes no time.
            return {report.event_uri: KnownAppointment(report.event_uri, report.invitee_uri, report.starts_at,
                                                       report.ends_at, False, report.new_invitee, report.updated_at)}
        return {}
    current = KnownAppointment(report.event_uri, report.invitee_uri, report.starts_at, report.ends_at,
                               report.event_active, "", report.updated_at)
    if step == AppointmentStep.REVIVE:
        return {report.event_uri: current}
    if step == AppointmentStep.CREATE:
        replaced = event_of_invitee(report.old_invitee)
        if not replaced or replaced == report.event_uri:
            return {report.event_uri: current}
        # The new half of a pair whose old appointment was never known: remember the old one as rescheduled away
        # (as of this report), so a late report of it, older than this one, takes no time.
        tombstone = KnownAppointment(replaced, report.old_invitee, report.starts_at, report.ends_at, False,
                                     report.invitee_uri, report.updated_at)
        return {replaced: tombstone, report.event_uri: current}
    if step == AppointmentStep.MOVE:
        assert predecessor is not None
        # Stamped with the new half's time: a report of the old appointment from before the reschedule is older.
        left = KnownAppointment(predecessor.event_uri, predecessor.invitee_uri, predecessor.starts_at,
                                predecessor.ends_at, False, report.invitee_uri, report.updated_at)
        return {predecessor.event_uri: left, report.event_uri: current}
    assert own is not None
    if step == AppointmentStep.AWAIT_SUCCESSOR:
        return {own.event_uri: KnownAppointment(own.event_uri, own.invitee_uri, own.starts_at, own.ends_at, True,
                                                plan.successor, report.updated_at)}
    return {own.event_uri: KnownAppointment(own.event_uri, own.invitee_uri, own.starts_at, own.ends_at, False,
                                            own.successor, report.updated_at)}
