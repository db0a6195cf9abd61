"""Checks shared by several use cases; each raises InvalidInputError naming the input field. FieldChecks runs
the checks of one input's fields together, so that every invalid field is reported at once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from domain.currencies import is_currency
from domain.slugs import slug_problem
from domain.text import describe, forbidden_character
from domain.zones import is_valid_zone, load_zone
from services.errors import FieldProblem, InvalidInputError

Path = Sequence[str | int]
P = ParamSpec("P")
T = TypeVar("T")
EARLIEST_YEAR = 1970
LATEST_YEAR = 2999
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_URL_LENGTH = 2000


def zone_info(value: str, path: Path) -> ZoneInfo:
    return load_zone(zone(value, path))


def answer_zone(value: str | None, path: Path) -> ZoneInfo | None:
    """The zone a query's optional `timeZone` asks its date-times in; None when it asks for none."""
    return None if value is None else zone_info(value, path)


def zone(value: str, path: Path) -> str:
    if not is_valid_zone(value):
        raise InvalidInputError(path, f"{value!r} is not an IANA time zone name (for example Europe/Berlin)")
    return value


def plain_text(value: str, path: Path) -> str:
    """`value`, when it holds no forbidden character (see domain.text)."""
    character = forbidden_character(value)
    if character is not None:
        raise InvalidInputError(path, f"Remove the control character {describe(character)}: text may hold tabs and "
                                      "line breaks, but no other control characters")
    return value


def text(value: str, path: Path, *, max_length: int = 200, required: bool = True) -> str:
    cleaned = plain_text(value, path).strip()
    if required and not cleaned:
        raise InvalidInputError(path, "Must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInputError(path, f"Use at most {max_length} characters")
    return cleaned


def phone(value: str, path: Path) -> str:
    """A phone number as people write it ("" for none): digits and the punctuation numbers are written with."""
    cleaned = text(value, path, max_length=40, required=False)
    if cleaned and not all(character.isdigit() or character in " +-()./" for character in cleaned):
        raise InvalidInputError(path, "Use digits, spaces and + - ( ) . / only")
    return cleaned


def whole_number(value: int, path: Path, *, minimum: int, maximum: int) -> int:
    if not minimum <= value <= maximum:
        raise InvalidInputError(path, f"Must be between {minimum} and {maximum}")
    return value


def colour(value: str, path: Path) -> str:
    if not _COLOUR.match(value):
        raise InvalidInputError(path, "Use a colour like #1a2b3c")
    return value.lower()


def instant(value: datetime, path: Path) -> datetime:
    """Date-times must carry an offset; a naive one would be read in an unknown zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(path, "Give the date-time with its UTC offset, e.g. 2026-05-04T09:00:00+02:00")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        # Far-off years overflow date arithmetic (windows, buffers); no booking needs them.
        raise InvalidInputError(path, f"Use a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def calendar_date(value: date, path: Path) -> date:
    """A local date in the same years as date-times: a date's day is worked out in a zone, and far-off years
    overflow that arithmetic."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise InvalidInputError(path, f"Use a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def https_url(value: str, path: Path, *, max_length: int = MAX_URL_LENGTH) -> str:
    """An https:// address of a picture (a photo, a logo), or "" for none. Plain http would let a network on the
    way swap the picture a customer sees; other schemes (javascript:, data:) are no pictures at all."""
    cleaned = value.strip()
    if not cleaned:
        return ""
    parts = urlsplit(cleaned)
    if (parts.scheme != "https" or not parts.netloc or len(cleaned) > max_length
            or forbidden_character(cleaned) is not None or any(character.isspace() for character in cleaned)):
        raise InvalidInputError(path, f"Give an https:// address of at most {max_length} characters")
    return cleaned


def slug(value: str, path: Path) -> str:
    """A business's public slug as given (see domain.slugs); it is not rewritten, so what is stored is what was
    typed."""
    problem = slug_problem(value)
    if problem is not None:
        raise InvalidInputError(path, problem)
    return value


def currency(value: str, path: Path) -> str:
    """An ISO 4217 currency code in capitals ("EUR")."""
    if not is_currency(value):
        raise InvalidInputError(path, f"{value!r} is not an ISO 4217 currency code (for example EUR or USD)")
    return value



class FieldChecks:
    """The checks of one input's fields. Each runs even when an earlier one refused its field, and `done()` then
    raises one InvalidInputError listing every refusal in the order the checks ran.

    A value whose check refused it is None until `done()` raises, so no value may be used before `done()`. Checks
    that need other fields to be valid first (an end after its start) belong after it."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def check(self, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`check(*args, **kwargs)`, or None when it refuses (its refusal is kept)."""
        try:
            return check(*args, **kwargs)
        except InvalidInputError as error:
            self.problems.extend(error.problems)
            return None  # type: ignore[return-value]

    @contextmanager
    def field(self) -> Iterator[None]:
        """A block of checks (an awaited one, a loop) whose refusal is kept like `check`'s; the block stops there."""
        try:
            yield
        except InvalidInputError as error:
            self.problems.extend(error.problems)

    def done(self) -> None:
        if self.problems:
            raise InvalidInputError.of(self.problems)
