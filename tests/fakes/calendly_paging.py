"""Listings of the fake Calendly: `count` (1-100, default 20) rows a page, an opaque `page_token`, and the pagination
object with all five keys, its links the listing again with the other page's token."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.calendly_errors import invalid

Item = TypeVar("Item")
DEFAULT_COUNT = 20
MAX_COUNT = 100


def count_of(request: web.Request) -> int:
    value = request.query.get("count", str(DEFAULT_COUNT))
    if not re.fullmatch(r"\d{1,4}(\.0+)?", value) or not 1 <= float(value) <= MAX_COUNT:
        raise invalid("count", f"must be a number between 1 and {MAX_COUNT}")
    return int(float(value))


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(request: web.Request) -> int:
    token = request.query.get("page_token")
    if token is None:
        return 0
    try:
        found = re.fullmatch(r"offset:(\d{1,9})", base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except ValueError:
        found = None
    if found is None:
        raise invalid("page_token", "is invalid")
    return int(found.group(1))


def moment_of(request: web.Request, name: str) -> datetime | None:
    """A time parameter (any ISO 8601 instant with an offset); None when absent, 400 when it does not read."""
    value = request.query.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise invalid(name, "must be a valid ISO 8601 time")
    return moment


def sort_of(request: web.Request, field: str, default: str = "asc") -> bool:
    """Whether `sort` asks for descending order of `field` (`field:asc`, `field:desc`, or the field alone)."""
    value = request.query.get("sort", f"{field}:{default}")
    if value not in (field, f"{field}:asc", f"{field}:desc"):
        raise invalid("sort", f"must be {field}:asc or {field}:desc")
    return value == f"{field}:desc"


def page(request: web.Request, base: str, items: Sequence[Item], render: Callable[[Item], dict[str, Any]]
         ) -> web.Response:
    """One page of `items` as the API answers a listing (`base` the fake's URL, for the links)."""
    count, offset = count_of(request), _offset(request)
    kept = [(name, value) for name, value in request.query.items() if name not in ("page_token", "count")]

    def link(at: int) -> tuple[str, str]:
        token = _token(at)
        return f"{base}{request.path}?{urlencode([*kept, ('count', str(count)), ('page_token', token)])}", token

    chosen = items[offset:offset + count]
    following = link(offset + count) if offset + count < len(items) else (None, None)
    preceding = link(max(0, offset - count)) if offset > 0 else (None, None)
    return web.json_response({"collection": [render(item) for item in chosen], "pagination": {
        "count": len(chosen), "next_page": following[0], "previous_page": preceding[0],
        "next_page_token": following[1], "previous_page_token": preceding[1]}})
