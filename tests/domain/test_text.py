"""Forbidden characters of typed text: control characters other than tab and newline, and lone surrogates."""

from __future__ import annotations

from hypothesis import given, strategies as st

from domain.text import describe, forbidden_character, printable

FORBIDDEN = [chr(code) for code in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]]
ALLOWED_TEXT = st.text(st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from("\t\n"))


def test_tab_newline_and_every_script_are_text() -> None:
    assert forbidden_character("Line one\n\tLine two – ٣ 日本 🙂 Ünïcödé") is None
    assert forbidden_character("") is None


def test_nul_carriage_return_escape_delete_and_c1_controls_are_forbidden() -> None:
    assert forbidden_character("Hospital\x00") == "\x00"
    assert forbidden_character("a\r\nb") == "\r"
    assert forbidden_character("\x1b[31mred") == "\x1b"
    assert forbidden_character("del\x7f") == "\x7f"
    assert forbidden_character("c1\x85") == "\x85"
    assert forbidden_character("half \ud83d pair") == "\ud83d"
    assert describe("\x00") == "U+0000" and describe("\x85") == "U+0085"


@given(ALLOWED_TEXT)
def test_text_without_controls_is_accepted(text: str) -> None:
    assert forbidden_character(text) is None


@given(ALLOWED_TEXT, st.sampled_from(FORBIDDEN), ALLOWED_TEXT)
def test_one_control_anywhere_is_found(before: str, control: str, after: str) -> None:
    assert forbidden_character(before + control + after) == control


def test_printable_replaces_each_forbidden_character_and_keeps_the_rest() -> None:
    assert printable("Den\x00tist\ttoday\n\x9f") == "Den\ufffdtist\ttoday\n\ufffd"


@given(st.text())
def test_printable_text_has_no_forbidden_character_and_keeps_its_length(text: str) -> None:
    cleaned = printable(text)
    assert forbidden_character(cleaned) is None
    assert len(cleaned) == len(text)
    assert printable(cleaned) == cleaned
