"""Currencies of prices: ISO 4217 codes and their minor units.

Terms:
- *currency code*: the three capital letters ISO 4217 gives a currency ("EUR", "JPY").
- *minor unit*: the number of decimal digits between the currency's main unit and the smallest amount it is counted
  in (ISO 4217's "minor unit" column): 2 for EUR (cents), 0 for JPY, 3 for KWD (fils).
- *amount in minor units*: a price as a whole number of that smallest amount, so 1250 EUR minor units is 12.50 EUR.
  Prices are never floats: a whole number adds and compares exactly.

The table holds the currencies in circulation; ISO 4217's fund codes (BOV, CHE, CLF, ...), precious metals (XAU,
...), the SDR (XDR) and the codes for testing and "no currency" (XTS, XXX) are left out, since nothing is sold for
them.
"""

from __future__ import annotations

_TWO_DIGITS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CNY "
    "COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS "
    "INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR "
    "MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)
_NO_DIGITS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DIGITS = "BHD IQD JOD KWD LYD OMR TND"

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DIGITS.split(), 2),
    **dict.fromkeys(_NO_DIGITS.split(), 0),
    **dict.fromkeys(_THREE_DIGITS.split(), 3),
}


def minor_unit(code: str) -> int | None:
    """The minor unit (decimal digits) of the currency with ISO 4217 code `code`, or None when `code` is not the
    code of a currency in circulation. Codes are exact: "eur" is not "EUR"."""
    return MINOR_UNITS.get(code)


def is_currency(code: str) -> bool:
    """Whether `code` is the ISO 4217 code of a currency in circulation."""
    return code in MINOR_UNITS
