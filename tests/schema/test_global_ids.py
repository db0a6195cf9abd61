"""Global IDs decode strictly: one spelling per object, and nothing else names it."""

from __future__ import annotations

import base64

from hypothesis import given, strategies as st

from schema.ids import MAX_PRIMARY_KEY, GlobalId, decode_id, encode_id


def spelled(text: str) -> str:
    """`text` base64-encoded the way our IDs are, for IDs we would never hand out."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_an_id_of_ours_decodes_to_its_type_and_key() -> None:
    assert decode_id(encode_id("Booking", 10)) == GlobalId("Booking", 10)
    assert decode_id(encode_id("BusyBlock", MAX_PRIMARY_KEY)) == GlobalId("BusyBlock", MAX_PRIMARY_KEY)


def test_keys_python_would_read_but_we_never_write_are_not_ids() -> None:
    for key in ("1_0", " 1", "1 ", "+1", "-1", "0", "01", "١", "1\n", "0x1", "1.0", ""):
        assert decode_id(spelled(f"Booking:{key}")) is None, key


def test_text_outside_the_base64_alphabet_is_not_an_id() -> None:
    good = encode_id("Booking", 1)
    assert decode_id(good + "!") is None
    assert decode_id(" " + good) is None
    assert decode_id("Qm9va2luZzox\u0661") is None
    assert decode_id(spelled("Bo\u00f6king:1")) is None
    assert decode_id(spelled(":1")) is None
    assert decode_id(spelled("Booking")) is None


def test_a_key_no_row_can_have_is_well_formed_but_names_nothing() -> None:
    assert decode_id(encode_id("Booking", MAX_PRIMARY_KEY + 1)) == GlobalId("Booking", None)
    assert decode_id(encode_id("Booking", 2**63)) == GlobalId("Booking", None)
    assert decode_id(spelled("Booking:" + "9" * 5000)) == GlobalId("Booking", None)


@given(st.from_regex(r"[A-Z][A-Za-z]{0,20}", fullmatch=True), st.integers(min_value=1, max_value=MAX_PRIMARY_KEY))
def test_every_id_we_write_decodes_back(type_name: str, pk: int) -> None:
    assert decode_id(encode_id(type_name, pk)) == GlobalId(type_name, pk)


@given(st.text(max_size=12))
def test_a_key_decodes_only_in_its_one_canonical_spelling(key: str) -> None:
    decoded = decode_id(spelled(f"Booking:{key}"))
    if decoded is not None and decoded.pk is not None:
        assert key == str(decoded.pk)


def test_an_id_has_one_spelling_without_padding_or_stray_bits() -> None:
    good = encode_id("Booking", 10)
    assert good == "Qm9va2luZzoxMA"
    assert decode_id(good) == GlobalId("Booking", 10)
    for variant in ("Qm9va2luZzoxMB", "Qm9va2luZzoxMC", "Qm9va2luZzoxMD", "Qm9va2luZzoxMA=", "Qm9va2luZzoxMA=="):
        assert decode_id(variant) is None, variant
