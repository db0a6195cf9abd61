"""FieldChecks: every check of an input runs, and one InvalidInputError then lists every refusal in order."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from services import validation
from services.errors import FieldProblem, InvalidInputError


def test_checks_that_pass_give_their_values_and_done_raises_nothing() -> None:
    checks = validation.FieldChecks()
    name = checks.check(validation.text, "  Fix-It ", ["input", "name"])
    checks.done()
    assert (name, checks.problems) == ("Fix-It", [])


def test_every_refusal_is_kept_in_order_and_done_raises_them_together() -> None:
    # given three checks of which the first and the last refuse, and a block that refuses part way
    checks = validation.FieldChecks()
    name = checks.check(validation.text, "", ["input", "name"])
    colour = checks.check(validation.colour, "#AABBCC", ["input", "colour"])
    zone = checks.check(validation.zone, "Nowhere", ["input", "timeZone"])
    reached = []
    with checks.field():
        validation.whole_number(0, ["input", "days"], minimum=1, maximum=7)
        reached.append("after")
    # when the input is done
    with pytest.raises(InvalidInputError) as refused:
        checks.done()
    # then one error lists the three refusals in the order checked; the first is its path and message
    assert refused.value.problems == [
        FieldProblem(("input", "name"), "Must not be empty"), FieldProblem(("input", "timeZone"),
        "'Nowhere' is not an IANA time zone name (for example Europe/Berlin)"),
        FieldProblem(("input", "days"), "Must be between 1 and 7")]
    assert (refused.value.path, refused.value.message) == (["input", "name"], "Must not be empty")
    assert (name, colour, zone, reached) == (None, "#aabbcc", None, [])


def test_an_error_of_several_problems_keeps_them_all_when_checked_again() -> None:
    inner = InvalidInputError.of([FieldProblem(("a",), "one"), FieldProblem(("b",), "two")])

    def nested_input() -> None:
        raise inner

    checks = validation.FieldChecks()
    checks.check(nested_input)
    assert checks.problems == [FieldProblem(("a",), "one"), FieldProblem(("b",), "two")]


@given(st.lists(st.integers(-5, 15), max_size=12))
def test_done_refuses_exactly_the_values_out_of_range_in_their_order(values: list[int]) -> None:
    checks = validation.FieldChecks()
    for index, value in enumerate(values):
        checks.check(validation.whole_number, value, ["days", index], minimum=0, maximum=10)
    out = [FieldProblem(("days", index), "Must be between 0 and 10") for index, value in enumerate(values)
           if not 0 <= value <= 10]
    if not out:
        checks.done()
        return
    with pytest.raises(InvalidInputError) as refused:
        checks.done()
    assert refused.value.problems == out
