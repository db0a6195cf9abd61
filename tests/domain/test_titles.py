"""Event titles compared: exact examples of the normalised form and of similarity, and its properties."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from domain.titles import booking_event_title, normalised_title, same_title, similar_titles, title_words


def test_case_whitespace_and_punctuation_do_not_count() -> None:
    assert normalised_title("Boiler check – Cleo Customer") == "boiler check cleo customer"
    assert normalised_title("  boiler-check:  CLEO\tcustomer!! ") == "boiler check cleo customer"
    assert normalised_title("ＢＯＩＬＥＲ") == "boiler"  # full-width letters are the same letters
    assert normalised_title("Straße") == "strasse"
    assert normalised_title("—") == ""


def test_marks_stay_with_their_letters() -> None:
    assert title_words("नमस्ते दुनिया") == frozenset({"नमस्ते", "दुनिया"})
    assert normalised_title("Cafe\u0301") == "café"


def test_a_title_is_similar_when_its_words_are_all_in_the_other() -> None:
    booking = "Boiler check – Cleo Customer"
    assert similar_titles("Boiler check", booking)
    assert similar_titles("Customer, Cleo", booking)
    assert similar_titles(booking, "cleo")
    assert not similar_titles("Boiler service", booking)
    assert not similar_titles("Dentist", booking)


def test_titles_without_words_are_similar_to_nothing() -> None:
    assert not similar_titles("", "")
    assert not similar_titles("–", "Boiler check")
    assert not same_title("", "")
    assert same_title("Boiler check", "BOILER-CHECK")
    assert not same_title("Boiler check", "Boiler check – Cleo")


def test_the_title_lockstep_writes() -> None:
    assert booking_event_title("Boiler check", "Cleo Customer", False) == "Boiler check – Cleo Customer"
    assert booking_event_title("Boiler check", "Cleo Customer", True) == "Boiler check – Walk-in"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing(title: str) -> None:
    assert normalised_title(normalised_title(title)) == normalised_title(title)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30))
def test_similarity_and_sameness_are_symmetric(first: str, second: str) -> None:
    assert similar_titles(first, second) == similar_titles(second, first)
    assert same_title(first, second) == same_title(second, first)
    if same_title(first, second):
        assert similar_titles(first, second)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_a_title_is_similar_to_itself_exactly_when_it_has_words(title: str) -> None:
    assert similar_titles(title, title) == bool(title_words(title))
