"""Currencies of prices (domain.currencies): ISO 4217 codes and their minor units."""

from __future__ import annotations

from hypothesis import given, strategies as st

from domain.currencies import MINOR_UNITS, is_currency, minor_unit


def test_minor_units_of_currencies_with_two_none_and_three_decimals() -> None:
    assert (minor_unit("EUR"), minor_unit("USD"), minor_unit("GBP"), minor_unit("CHF")) == (2, 2, 2, 2)
    assert (minor_unit("JPY"), minor_unit("KRW"), minor_unit("ISK"), minor_unit("XOF")) == (0, 0, 0, 0)
    assert (minor_unit("KWD"), minor_unit("BHD"), minor_unit("TND")) == (3, 3, 3)


def test_codes_are_exact_and_non_currencies_are_refused() -> None:
    assert not is_currency("eur")
    assert not is_currency("EURO")
    assert not is_currency("ABC")
    # fund codes, precious metals, the SDR, the testing and "no currency" codes, and withdrawn currencies
    for code in ("BOV", "CLF", "XAU", "XDR", "XTS", "XXX", "DEM", "HRK", "VEF"):
        assert minor_unit(code) is None, code


def test_the_table_holds_three_letter_capital_codes_once_each_with_known_digits() -> None:
    assert all(len(code) == 3 and code.isascii() and code.isupper() for code in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) == {0, 2, 3}
    assert len(MINOR_UNITS) == 157


@given(st.text(max_size=5))
def test_a_code_is_a_currency_exactly_when_it_has_a_minor_unit(code: str) -> None:
    assert is_currency(code) == (minor_unit(code) is not None)
