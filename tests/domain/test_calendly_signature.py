"""The signature of Calendly's webhook deliveries (domain/calendly_signature.py, also exported by domain/calendly.py):
exact examples, malformed headers, and properties: what is signed verifies within the tolerance, and any one changed
byte of the body or character of the header, or a time outside the tolerance, fails."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, strategies as st

from domain.calendly import sign, signature_valid

KEY = "sIgNiNg-KeY"
PAYLOAD = b'{"event":"invitee.created"}'


def test_the_signature_is_hmac_sha256_of_the_time_a_dot_and_the_body() -> None:
    expected = hmac.new(KEY.encode(), b"1492774577." + PAYLOAD, hashlib.sha256).hexdigest()
    assert sign(KEY, PAYLOAD, 1492774577) == f"t=1492774577,v1={expected}"
    assert signature_valid(f"t=1492774577,v1={expected}", PAYLOAD, [KEY], now=1492774577 + 180)


def test_any_of_several_keys_may_have_signed() -> None:
    header = sign("new-key", PAYLOAD, 1000)
    assert signature_valid(header, PAYLOAD, ["old-key", "new-key"], now=1000)
    assert not signature_valid(header, PAYLOAD, ["old-key"], now=1000)
    assert not signature_valid(header, PAYLOAD, [], now=1000)
    assert not signature_valid(sign("", PAYLOAD, 1000), PAYLOAD, [""], now=1000)


@pytest.mark.parametrize("header", [
    "", "t=1000", "v1=ab", "t=1000,v1=", "t=,v1=ab", "t=1000, v1=ab", "v1=ab,t=1000", "t=1000,v1=AB",
    "t=1000,v1=zz", "t=-5,v1=ab", "t=1e3,v1=ab", "t=١٠٠٠,v1=ab", "t=1000,v1=ab\n", "t=1000,v1=ab,v0=cd",
    "t=" + "9" * 5000 + ",v1=ab"])
def test_a_malformed_header_is_false_never_an_exception(header: str) -> None:
    assert signature_valid(header, PAYLOAD, [KEY], now=1000) is False


def test_a_header_of_another_type_is_false() -> None:
    assert signature_valid(None, PAYLOAD, [KEY], now=1000) is False  # type: ignore[arg-type]
    assert signature_valid(sign(KEY, PAYLOAD, 1000), "text", [KEY], now=1000) is False  # type: ignore[arg-type]


keys = st.text(min_size=1, max_size=40)
bodies = st.binary(max_size=512)
times = st.integers(min_value=0, max_value=4_000_000_000)
skews = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(keys, bodies, times, skews)
def test_what_is_signed_verifies_within_the_tolerance(key: str, raw: bytes, at: int, skew: float) -> None:
    assert signature_valid(sign(key, raw, at), raw, [key], now=at + skew)


@given(keys, bodies.filter(bool), times, st.data())
def test_any_one_byte_changed_in_the_body_fails(key: str, raw: bytes, at: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(raw) - 1))
    flipped = data.draw(st.integers(1, 255))
    changed = raw[:index] + bytes([raw[index] ^ flipped]) + raw[index + 1:]
    assert not signature_valid(sign(key, raw, at), changed, [key], now=at)


@given(keys, bodies, times, st.data())
def test_any_one_character_changed_in_the_signature_fails(key: str, raw: bytes, at: int, data: st.DataObject) -> None:
    header = sign(key, raw, at)
    index = data.draw(st.integers(0, len(header) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda character: character != header[index]))
    assert not signature_valid(header[:index] + replacement + header[index + 1:], raw, [key], now=at)


@given(keys, bodies, times, st.floats(min_value=180.001, max_value=10**9, allow_nan=False), st.booleans())
def test_outside_the_tolerance_fails(key: str, raw: bytes, at: int, skew: float, late: bool) -> None:
    assert not signature_valid(sign(key, raw, at), raw, [key], now=at + skew if late else at - skew)
