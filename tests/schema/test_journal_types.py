"""The journal's GraphQL enums name exactly the values the domain and services give, so converting by value never
fails and every value can be asked for."""

from __future__ import annotations

from enum import Enum

import pytest

from domain.journal import EventKind, EventStatus
from domain.slot_reasons import ReasonKind
from models import Provider
from schema.journal_types import (
    CalendarEventKind,
    CalendarEventSource,
    CalendarEventStatus,
    CalendarSyncState,
    UnbookableReasonKind,
)
from services.journal import SOURCES
from services.journal_sync import SyncStateKind


@pytest.mark.parametrize(("graphql", "values"), [
    (CalendarEventKind, {kind.value for kind in EventKind}),
    (CalendarEventStatus, {status.value for status in EventStatus}),
    (CalendarSyncState, {state.value for state in SyncStateKind}),
    (UnbookableReasonKind, {reason.value for reason in ReasonKind}),
    (CalendarEventSource, set(SOURCES)),
])
def test_each_enum_has_exactly_the_values_given(graphql: type[Enum], values: set[str]) -> None:
    assert {member.value for member in graphql} == values


def test_every_provider_is_a_source() -> None:
    assert {provider.value for provider in Provider} < set(SOURCES)
    assert {member.name for member in CalendarEventSource} == {"LOCKSTEP", "MANUAL"} | {
        provider.name for provider in Provider}
