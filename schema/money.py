"""Prices: an amount in a currency's minor units (domain.currencies)."""

from __future__ import annotations

import strawberry

from domain.currencies import minor_unit


@strawberry.type(description="A price: `amountMinor` whole units of the currency's smallest amount (cents for EUR), so "
                             "1250 EUR is 12.50 EUR.")
class Money:
    amount_minor: int
    currency: str = strawberry.field(description="ISO 4217 code, e.g. EUR")
    minor_unit_digits: int = strawberry.field(description="Decimal digits of the currency (ISO 4217 minor unit): 2 "
                                                          "for EUR, 0 for JPY, 3 for KWD")

    @classmethod
    def of(cls, amount_minor: int | None, currency: str) -> Money | None:
        digits = minor_unit(currency)
        if amount_minor is None or digits is None:
            return None
        return cls(amount_minor=amount_minor, currency=currency, minor_unit_digits=digits)


@strawberry.input(description="A price in the currency's minor units: {amountMinor: 1250, currency: \"EUR\"} is 12.50 "
                              "EUR. At least 0, at most 1,000,000,000.")
class MoneyInput:
    amount_minor: int
    currency: str = strawberry.field(description="ISO 4217 code in capitals, e.g. EUR")
