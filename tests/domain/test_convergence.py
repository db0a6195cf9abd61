"""Random interleavings of edits on both sides converge.

A hypothesis state machine drives the tiny sync engine of tests/support/sync_model.py (plain dicts, built only from
the domain decisions over the in-memory calendar account). It books, reschedules and cancels on Lockstep's side,
plays the staff member editing their calendar app on the other, and runs the queued push and pull jobs out of order,
twice, late, or into injected provider faults. After every step no two confirmed bookings overlap; after a final drain
both sides agree. The grid lies on the day Berlin's clocks spring forward, so every conversion crosses a DST change.

The terms *written*, *held* and *stopped* are explained in tests/support/sync_model.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain import sync
from domain.conflicts import ConflictPolicy
from domain.intervals import Span
from domain.own_events import OwnEvent, read_own_event
from providers import base
from tests.fakes.memory import MemoryProvider
from tests.support.sync_model import (
    CAL,
    WINDOW,
    ZONE,
    Booking,
    Engine,
    imported,
    moved_by_hand,
    personal_event,
    uids,
)

DAY = datetime(2030, 3, 31, tzinfo=UTC)  # 01:00 in Berlin; at 01:00Z the clocks jump from 02:00 to 03:00


def slot(hour: int, hours: int) -> Span:
    return Span(DAY + timedelta(hours=hour), DAY + timedelta(hours=hour + hours))


slots = st.builds(slot, st.integers(0, 9), st.integers(1, 2))  # a small grid: overlaps are common


class Convergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.provider = MemoryProvider([base.RemoteCalendar(CAL, "Work", "#3366ff", ZONE, True, True)])
        self.engine = Engine(self.provider)

    @property
    def events(self) -> dict[str, Any]:
        return self.provider.calendars[CAL].events

    def booking_event_ids(self) -> list[str]:
        return sorted(i for i, stored in self.events.items() if any(map(sync.parse_marker, uids(stored.payload))))

    def confirmed(self) -> list[Booking]:
        return [booking for booking in self.engine.bookings.values() if booking.confirmed]

    @initialize(policy=st.sampled_from(ConflictPolicy), spans=st.lists(slots, max_size=3))
    def start_in_sync(self, policy: ConflictPolicy, spans: list[Span]) -> None:
        """The policy for the whole run, and a calendar that already shows a few bookings for hand edits to hit."""
        self.engine.policy = policy
        for span in spans:
            self.book(span)
        self.engine.drain()

    # Lockstep's side: refused when the time is taken, as the booking service refuses it.
    @rule(span=slots)
    def book(self, span: Span) -> None:
        if self.engine.is_free(span):
            self.engine.bookings[len(self.engine.bookings) + 1] = Booking(len(self.engine.bookings) + 1, 1, True, span)
            self.engine.queue.append(("push", len(self.engine.bookings)))

    @precondition(lambda self: self.confirmed())
    @rule(data=st.data(), span=slots)
    def reschedule(self, data: st.DataObject, span: Span) -> None:
        booking = data.draw(st.sampled_from(self.confirmed()))
        if self.engine.is_free(span, ignore=booking.id):
            self.engine.change(booking, span=span)

    @precondition(lambda self: self.confirmed())
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self.engine.change(data.draw(st.sampled_from(self.confirmed())), cancel=True)

    # The staff member's side. Fewer personal events than make an empty listing "suspicious": that rule keeps stale
    # blocks on purpose, which is not convergence.
    @rule(number=st.integers(0, sync.SUSPICIOUS_EMPTY_AFTER - 2), span=slots,
          style=st.sampled_from(["zoned", "utc", "floating", "duration", "transparent"]))
    def write_personal_event(self, number: int, span: Span, style: str) -> None:
        self.provider.write_by_hand(CAL, f"p{number}.ics", personal_event(f"p{number}@example.com", span, style))
        self.engine.queue.append(("pull", 0))

    @rule(number=st.integers(0, sync.SUSPICIOUS_EMPTY_AFTER - 2))
    def delete_personal_event(self, number: int) -> None:
        if f"p{number}.ics" in self.events:
            self.provider.delete_by_hand(CAL, f"p{number}.ics")
            self.engine.queue.append(("pull", 0))

    @precondition(lambda self: self.booking_event_ids())
    @rule(data=st.data(), style=st.sampled_from(["zoned", "utc", "floating", "duration"]))
    def move_booking_event_by_hand(self, data: st.DataObject, style: str) -> None:
        event_id = data.draw(st.sampled_from(self.booking_event_ids()))
        # Often onto time that is taken (a booking or a busy block): the case where the policies differ.
        taken = [b.span for b in self.engine.bookings.values()] + [block.span for block in self.engine.blocks]
        span = data.draw(st.one_of(slots, st.sampled_from(taken)))
        self.provider.write_by_hand(CAL, event_id, moved_by_hand(self.events[event_id].payload, span, style))
        self.engine.queue.append(("pull", 0))

    @precondition(lambda self: self.booking_event_ids())
    @rule(data=st.data())
    def delete_booking_event_by_hand(self, data: st.DataObject) -> None:
        self.provider.delete_by_hand(CAL, data.draw(st.sampled_from(self.booking_event_ids())))
        self.engine.queue.append(("pull", 0))

    # Jobs: out of order, twice, late (it stays queued and runs again later), or into a fault.
    @precondition(lambda self: self.engine.queue)
    @rule(data=st.data(), times=st.sampled_from([1, 2]), late=st.booleans())
    def run_a_job(self, data: st.DataObject, times: int, late: bool) -> None:
        index = data.draw(st.integers(0, len(self.engine.queue) - 1))
        done = [self.engine.run(self.engine.queue[index]) for _ in range(times)][-1]
        if done and not late:
            self.engine.queue.pop(index)  # jobs are only ever appended, so the index still names this one

    @precondition(lambda self: len(self.provider.faults) < 3)
    @rule(fault=st.sampled_from([base.RateLimited("slow down", retry_after=1.0), base.Unavailable("server error"),
                                 base.PreconditionFailed("changed since")]))
    def fail_the_next_call(self, fault: base.ProviderError) -> None:
        self.provider.faults.append(fault)

    @rule()
    def expire_the_cursor(self) -> None:
        self.provider.forget_history(CAL)

    @invariant()
    def confirmed_bookings_never_overlap(self) -> None:
        assert all(a.end <= b.start for a, b in pairwise(sorted(b.span for b in self.confirmed())))

    @invariant()
    def no_booking_has_two_events(self) -> None:
        ours = [uid for stored in self.events.values() for uid in uids(stored.payload) if sync.parse_marker(uid)]
        assert len(ours) == len(set(ours))

    @invariant()
    def only_calendar_wins_cancels_bookings(self) -> None:
        assert self.engine.cancelled_by_sync == 0 or self.engine.policy == ConflictPolicy.CALENDAR_WINS

    def teardown(self) -> None:
        # Drain: faults cleared, every queued job runs, then one pull and one push per booking.
        self.provider.faults.clear()
        self.engine.drain()
        self.one_more_round()
        self.both_sides_agree()
        before = self.snapshot()
        self.one_more_round()
        assert self.snapshot() == before, "a further round after convergence changed something"

    def one_more_round(self) -> None:
        self.engine.queue += [("pull", 0)] + [("push", booking_id) for booking_id in sorted(self.engine.bookings)]
        self.engine.drain()

    def snapshot(self) -> tuple[object, ...]:
        return ({k: (b.version, b.confirmed, b.span) for k, b in self.engine.bookings.items()},
                {k: v.etag for k, v in self.events.items()}, list(self.engine.blocks))

    def both_sides_agree(self) -> None:
        self.confirmed_bookings_never_overlap()
        for booking in self.engine.bookings.values():
            objects = [s.payload for s in self.events.values() if sync.event_marker(booking.id) in uids(s.payload)]
            if not booking.confirmed:
                assert objects == [], f"cancelled booking {booking.id} still has an event"
            elif booking.id not in self.engine.held | self.engine.stopped:
                assert len(objects) == 1, f"booking {booking.id} has {len(objects)} events"
                assert read_own_event(objects[0], WINDOW, ZONE) == OwnEvent(
                    "booking", booking.id, {booking.span.start: booking.span})
        listing = [imported(event_id, stored.payload) for event_id, stored in self.events.items()]
        assert self.engine.blocks == sync.apply_plan([], sync.plan_import([], listing, [], complete=True))


Convergence.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
test_both_sides_converge = Convergence.TestCase
