"""Public slugs of businesses (domain.slugs): their shape, reserved words, and how a typed link is looked up."""

from __future__ import annotations

from hypothesis import given, strategies as st

from domain.slugs import MAX_LENGTH, MIN_LENGTH, RESERVED, lookup_form, slug_problem

SHAPE = "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit"
INNER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=MIN_LENGTH - 2, max_size=MAX_LENGTH - 2)
EDGE = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789")


def test_slugs_of_letters_digits_and_inner_hyphens_are_accepted() -> None:
    assert slug_problem("fix-it-berlin") is None
    assert slug_problem("a1b") is None
    assert slug_problem("3-d") is None
    assert slug_problem("x" * MAX_LENGTH) is None


def test_lengths_outside_three_to_sixty_three_are_refused() -> None:
    assert slug_problem("ab") == "Use 3 to 63 characters"
    assert slug_problem("") == "Use 3 to 63 characters"
    assert slug_problem("x" * (MAX_LENGTH + 1)) == "Use 3 to 63 characters"


def test_capitals_spaces_edges_and_other_scripts_are_refused_as_typed() -> None:
    for value in ("Fix-It", "fix it", "-fixit", "fixit-", "fix_it", "fix.it", "ﬁx-it", "fıx-it", "café", "fixit\n"):
        assert slug_problem(value) == SHAPE, value


def test_reserved_words_are_refused() -> None:
    assert slug_problem("admin") == "'admin' is reserved; choose another"
    assert slug_problem("graphql") == "'graphql' is reserved; choose another"
    assert slug_problem("sign-in") == "'sign-in' is reserved; choose another"
    assert slug_problem("admins") is None


def test_a_typed_link_is_looked_up_trimmed_and_in_lowercase() -> None:
    assert lookup_form("  Fix-It-Berlin ") == "fix-it-berlin"


@given(EDGE, INNER, EDGE)
def test_every_well_shaped_slug_that_is_not_reserved_is_accepted(first: str, inner: str, last: str) -> None:
    value = first + inner + last
    assert slug_problem(value) == (f"{value!r} is reserved; choose another" if value in RESERVED else None)


@given(st.text(max_size=70))
def test_an_accepted_slug_is_its_own_lookup_form_and_within_bounds(value: str) -> None:
    if slug_problem(value) is None:
        assert lookup_form(value) == value
        assert MIN_LENGTH <= len(value) <= MAX_LENGTH
        assert value not in RESERVED and not value.startswith("-") and not value.endswith("-")
