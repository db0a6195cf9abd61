"""What a report of an appointment made elsewhere does (domain.appointments): exact examples and properties of
reschedule pairs arriving in any order, twice, or with a half missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from domain.appointments import (
    AppointmentPlan,
    AppointmentStep,
    KnownAppointment,
    after_plan,
    event_of_invitee,
    plan_appointment,
)
from domain.calendly import Appointment

BASE = "https://api.calendly.com/scheduled_events"
T0 = datetime(2030, 3, 1, 9, tzinfo=UTC)
T1 = T0 + timedelta(days=1)  # when the invitee rescheduled


def report(event: str, invitee: str, *, start: datetime, active: bool = True, rescheduled: bool = False,
           old: str = "", new: str = "", updated: datetime = T0) -> Appointment:
    return Appointment(
        event_uri=f"{BASE}/{event}", invitee_uri=f"{BASE}/{event}/invitees/{invitee}",
        event_type_uri="https://api.calendly.com/event_types/ET", event_name="Boiler check", starts_at=start,
        ends_at=start + timedelta(minutes=30), event_active=active, invitee_active=active, rescheduled=rescheduled,
        old_invitee=old, new_invitee=new, invitee_name="Ann", invitee_email="ann@example.com",
        invitee_time_zone="Europe/Berlin", answers=(), hosts=(), cancel_url="", reschedule_url="",
        cancel_reason="", updated_at=updated)


OLD_START = T0 + timedelta(days=7)
NEW_START = T0 + timedelta(days=9)
BOOKED = report("E1", "I1", start=OLD_START)
OLD_HALF = report("E1", "I1", start=OLD_START, active=False, rescheduled=True, new=f"{BASE}/E2/invitees/I2",
                  updated=T1)
NEW_HALF = report("E2", "I2", start=NEW_START, old=f"{BASE}/E1/invitees/I1", updated=T1)
CANCELLED = report("E1", "I1", start=OLD_START, active=False, updated=T1)


class Ledger:
    """Known appointments and the holders taking time, changed by applying reports the way services do."""

    def __init__(self) -> None:
        self.known: dict[str, KnownAppointment] = {}
        self.holders: dict[str, datetime] = {}  # event URI -> start of the time its holder takes
        self.created = 0

    def apply(self, item: Appointment) -> AppointmentPlan:
        own = self.known.get(item.event_uri)
        predecessor = self.known.get(event_of_invitee(item.old_invitee)) if item.old_invitee else None
        plan = plan_appointment(item, own, predecessor)
        if plan.step in (AppointmentStep.CREATE, AppointmentStep.REVIVE):
            self.holders[item.event_uri] = item.starts_at
            self.created += 1
        elif plan.step == AppointmentStep.MOVE:
            del self.holders[plan.moves_from]
            self.holders[item.event_uri] = item.starts_at
        elif plan.step == AppointmentStep.CANCEL:
            del self.holders[item.event_uri]
        self.known.update(after_plan(item, plan, own, predecessor))
        return plan


def test_a_new_appointment_takes_its_time_once() -> None:
    ledger = Ledger()
    assert ledger.apply(BOOKED).step == AppointmentStep.CREATE
    assert ledger.apply(BOOKED).step == AppointmentStep.NOTHING
    assert ledger.holders == {f"{BASE}/E1": OLD_START}


def test_a_cancel_releases_the_time_and_a_late_copy_of_the_booking_does_not_take_it_again() -> None:
    ledger = Ledger()
    ledger.apply(BOOKED)
    assert ledger.apply(CANCELLED).step == AppointmentStep.CANCEL
    assert ledger.apply(BOOKED).step == AppointmentStep.NOTHING  # older than the cancel
    assert ledger.holders == {}


def test_the_old_half_first_keeps_the_time_until_the_new_half_moves_it() -> None:
    ledger = Ledger()
    ledger.apply(BOOKED)
    assert ledger.apply(OLD_HALF) == AppointmentPlan(AppointmentStep.AWAIT_SUCCESSOR, successor=NEW_HALF.invitee_uri)
    assert ledger.holders == {f"{BASE}/E1": OLD_START}
    assert ledger.apply(NEW_HALF) == AppointmentPlan(AppointmentStep.MOVE, moves_from=f"{BASE}/E1")
    assert ledger.holders == {f"{BASE}/E2": NEW_START}


def test_the_new_half_first_moves_the_holder_and_the_old_half_then_changes_nothing() -> None:
    ledger = Ledger()
    ledger.apply(BOOKED)
    assert ledger.apply(NEW_HALF).step == AppointmentStep.MOVE
    assert ledger.apply(OLD_HALF).step == AppointmentStep.NOTHING
    assert (ledger.holders, ledger.created) == ({f"{BASE}/E2": NEW_START}, 1)


def test_a_new_half_whose_old_appointment_was_never_known_is_new_and_the_old_one_arriving_late_takes_nothing() -> None:
    ledger = Ledger()
    assert ledger.apply(NEW_HALF).step == AppointmentStep.CREATE
    assert ledger.apply(BOOKED).step == AppointmentStep.NOTHING
    assert ledger.apply(OLD_HALF).step == AppointmentStep.NOTHING
    assert ledger.holders == {f"{BASE}/E2": NEW_START}


def test_an_invitee_uri_names_its_event() -> None:
    assert event_of_invitee(f"{BASE}/E1/invitees/I1") == f"{BASE}/E1"
    assert event_of_invitee(f"{BASE}/E1") == ""
    assert event_of_invitee("") == ""
    assert event_of_invitee(f"{BASE}/E1/invitees/") == ""


@given(st.lists(st.sampled_from(["booked", "old", "new"]), min_size=1, max_size=8))
def test_a_reschedule_pair_in_any_order_and_number_ends_as_one_holder_at_the_new_time(order: list[str]) -> None:
    # given the booking, the pair's halves, in any order, any of them repeated, any missing
    reports = {"booked": BOOKED, "old": OLD_HALF, "new": NEW_HALF}
    ledger = Ledger()
    # when they are applied as they come
    for name in order:
        ledger.apply(reports[name])
    # then the time is never taken twice, and never released by a reschedule
    assert len(ledger.holders) <= 1
    if "new" in order:
        assert ledger.holders == {f"{BASE}/E2": NEW_START}
        assert ledger.created == 1
    elif order[0] == "booked":
        assert ledger.holders == {f"{BASE}/E1": OLD_START}
    # and applying everything once more changes nothing
    before = dict(ledger.holders)
    assert all(ledger.apply(reports[name]).step == AppointmentStep.NOTHING for name in order)
    assert ledger.holders == before


@given(st.lists(st.sampled_from(["booked", "cancelled"]), min_size=1, max_size=6))
def test_once_a_cancel_is_known_no_older_report_takes_the_time_again(order: list[str]) -> None:
    # given a booking and its cancel, in any order and number
    ledger = Ledger()
    for name in order:
        ledger.apply(BOOKED if name == "booked" else CANCELLED)
    # then the time is taken only if no cancel came at all
    assert ledger.holders == ({} if "cancelled" in order else {f"{BASE}/E1": OLD_START})
