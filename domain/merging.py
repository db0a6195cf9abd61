"""Settling duplicates: taking an imported event over as a booking's, and what merging a group does to each item.

Terms:
- *taking over* (adopting) an imported event: it becomes the booking's event in its calendar; the next push writes
  the booking (and Lockstep's marker) onto it, and its block stops counting as busy. Only a single booking's event in
  the staff member's destination calendar can be taken over, and only an event that does not repeat: writing a
  booking onto a repeating event would replace every occurrence.
- a calendar Lockstep *writes to*: writable, on a connection that is not disconnected and not import-only.
- *refusal*: why something cannot be done; nothing is changed then.

What a merge does with the item kept (domain.duplicates' items) and each item removed:
- keep a block of a booking's group: the block's event is taken over (ADOPT_EVENT); the booking's earlier event in
  that calendar, if any, goes with the same push.
- remove a booking's event in another calendar: the next push deletes it (DELETE_WRITTEN_EVENT). The event in the
  destination calendar is where the booking is written, so it cannot go while another of the booking's events stays.
- remove a block of a booking's group: where Lockstep writes and the event does not repeat, the next push deletes the
  event and the block goes at once (DELETE_IMPORTED_EVENT); elsewhere the block is dropped (DROP_BLOCK): it stays as
  the calendar holds it but is no longer shown while the booking takes exactly its span.
- remove a block of the same event: it is dropped, as a duplicate of the block kept. Lockstep never deletes a personal
  event: which copy the staff member keeps in which calendar is theirs to choose.
- the booking itself can only be kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.duplicates import BlockFacts, DuplicateGroup, DuplicateKind, ItemKind, ItemRef, WrittenEvent


class Refusal(StrEnum):
    BLOCKED_TIME = "blocked_time"  # time blocked by hand (or an appointment), not an event imported from a calendar
    OTHER_STAFF_MEMBER = "other_staff_member"
    BOOKING_NOT_CONFIRMED = "booking_not_confirmed"
    RECURRING_BOOKING = "recurring_booking"
    RECURRING_EVENT = "recurring_event"
    DISCONNECTED = "disconnected"
    IMPORT_ONLY_CONNECTION = "import_only_connection"
    READ_ONLY_CALENDAR = "read_only_calendar"
    NOT_DESTINATION = "not_destination"
    OPEN_CONFLICT = "open_conflict"
    DESTINATION_EVENT = "destination_event"
    BOOKING_ITEM = "booking_item"


@dataclass(frozen=True)
class CalendarFacts:
    calendar_id: int
    writable: bool
    imports_only: bool
    connected: bool
    destination: bool


def write_refusal(calendar: CalendarFacts) -> Refusal | None:
    """Why Lockstep may not write to (or delete from) the calendar; None when it may."""
    if not calendar.connected:
        return Refusal.DISCONNECTED
    if calendar.imports_only:
        return Refusal.IMPORT_ONLY_CONNECTION
    if not calendar.writable:
        return Refusal.READ_ONLY_CALENDAR
    return None


@dataclass(frozen=True)
class Adoption:
    """What taking a block's event over as a booking's depends on. `calendar` is None for a block typed in by hand;
    `recurring` None when not known; `open_conflict` whether the booking's event in that calendar has one."""

    calendar: CalendarFacts | None
    block_staff_id: int
    booking_staff_id: int
    booking_confirmed: bool
    booking_in_series: bool
    recurring: bool | None
    open_conflict: bool


def adoption_refusal(adoption: Adoption) -> Refusal | None:
    """Why the event cannot be taken over (the first reason, in a fixed order); None when it can."""
    if adoption.calendar is None:
        return Refusal.BLOCKED_TIME
    if adoption.block_staff_id != adoption.booking_staff_id:
        return Refusal.OTHER_STAFF_MEMBER
    if not adoption.booking_confirmed:
        return Refusal.BOOKING_NOT_CONFIRMED
    if adoption.booking_in_series:
        return Refusal.RECURRING_BOOKING
    if adoption.recurring is not False:
        return Refusal.RECURRING_EVENT
    refused = write_refusal(adoption.calendar)
    if refused is not None:
        return refused
    if not adoption.calendar.destination:
        return Refusal.NOT_DESTINATION
    return Refusal.OPEN_CONFLICT if adoption.open_conflict else None


class StepKind(StrEnum):
    ADOPT_EVENT = "adopt_event"
    DELETE_WRITTEN_EVENT = "delete_written_event"
    DELETE_IMPORTED_EVENT = "delete_imported_event"
    DROP_BLOCK = "drop_block"


@dataclass(frozen=True)
class MergeStep:
    kind: StepKind
    item: ItemRef
    calendar_id: int
    duplicate_of: ItemRef | None = None  # DROP_BLOCK: what it duplicates


class MergeRefused(Exception):
    """`index`: the position in the removed items of the item refused; None for the item kept."""

    def __init__(self, reason: Refusal, index: int | None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.index = index


@dataclass(frozen=True)
class MergeFacts:
    """What the items of one group are: its blocks (with whether their event repeats) and events, their calendars,
    whether its booking is part of a series, and the calendars where its booking's event has an open conflict or
    was unlinked (its pushes are held there, so nothing can be deleted through them)."""

    calendars: Mapping[int, CalendarFacts]
    blocks: Mapping[int, BlockFacts]
    recurring: Mapping[int, bool | None]
    events: Mapping[int, WrittenEvent]
    staff_id: int
    booking_in_series: bool = False
    open_conflicts: frozenset[int] = frozenset()
    unlinked: frozenset[int] = frozenset()


def plan_merge(group: DuplicateGroup, keep: ItemRef, remove: Sequence[ItemRef], facts: MergeFacts
               ) -> list[MergeStep]:
    """The steps that keep `keep` and remove `remove`, all members of `group`; raises MergeRefused for the first
    item that cannot be settled so (then nothing is to be done at all)."""
    if group.kind == DuplicateKind.SAME_EVENT_IN_TWO_CALENDARS:
        return [MergeStep(StepKind.DROP_BLOCK, item, facts.blocks[item.pk].calendar_id, keep) for item in remove]
    steps: list[MergeStep] = []
    adopted_in: int | None = None
    if keep.kind == ItemKind.BUSY_BLOCK:
        block = facts.blocks[keep.pk]
        refused = adoption_refusal(Adoption(
            facts.calendars[block.calendar_id], facts.staff_id, facts.staff_id, True, facts.booking_in_series,
            facts.recurring.get(keep.pk), block.calendar_id in facts.open_conflicts))
        if refused is not None:
            raise MergeRefused(refused, None)
        adopted_in = block.calendar_id
        steps.append(MergeStep(StepKind.ADOPT_EVENT, keep, block.calendar_id))
    for index, item in enumerate(remove):
        step = _removal(group, item, adopted_in, facts, index)
        if step is not None:
            steps.append(step)
    return steps


def _removal(group: DuplicateGroup, item: ItemRef, adopted_in: int | None, facts: MergeFacts, index: int
             ) -> MergeStep | None:
    if item.kind == ItemKind.BOOKING:
        raise MergeRefused(Refusal.BOOKING_ITEM, index)
    if item.kind == ItemKind.BOOKING_EVENT:
        calendar = facts.calendars[facts.events[item.pk].calendar_id]
        if calendar.calendar_id == adopted_in:
            return None  # the event taken over replaces it, in the same push
        if calendar.destination:
            raise MergeRefused(Refusal.DESTINATION_EVENT, index)
        refused = write_refusal(calendar)
        if refused is not None:
            raise MergeRefused(refused, index)
        return MergeStep(StepKind.DELETE_WRITTEN_EVENT, item, calendar.calendar_id)
    block = facts.blocks[item.pk]
    held = facts.open_conflicts | facts.unlinked
    deletable = (write_refusal(facts.calendars[block.calendar_id]) is None
                 and facts.recurring.get(item.pk) is False and block.calendar_id not in held)
    if deletable:
        return MergeStep(StepKind.DELETE_IMPORTED_EVENT, item, block.calendar_id)
    assert group.booking_id is not None
    return MergeStep(StepKind.DROP_BLOCK, item, block.calendar_id, ItemRef(ItemKind.BOOKING, group.booking_id))
