"""Finding a CalDAV account's calendars from a server URL and a username and password (RFC 6764, RFC 5397,
RFC 4791 section 6).

Terms:
- *principal*: the resource that stands for the user on the server (`current-user-principal`).
- *home*: the collection holding the user's calendars (`calendar-home-set` of the principal).
- *own addresses*: the user's calendar addresses (`calendar-user-address-set`), lower case without "mailto:";
  the domain uses them to find the user's own attendee entry (a declined invitation is free time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from urllib.parse import urlsplit, urlunsplit

from providers.base import NotFound, ProviderError, RateLimited, RemoteCalendar, Unavailable
from providers.caldav_http import (
    Answer,
    CaldavCredentials,
    ConnectionCheckFailed,
    ConnectionProblem,
    DavSession,
    Forbidden,
    TransportFailed,
    WrongPassword,
    absolute,
    collection,
    shown,
)
from providers.caldav_xml import (
    ADDRESSES,
    CALENDAR_HOME,
    CALENDAR_PROPS,
    CALENDAR_TIMEZONE,
    COLOUR,
    DISPLAYNAME,
    PRINCIPAL,
    DavResponse,
    Multistatus,
    NotMultistatus,
    is_event_calendar,
    is_writable,
    parse_multistatus,
    propfind,
)


class CaldavServerType(StrEnum):
    ICLOUD = "icloud"
    FASTMAIL = "fastmail"
    NEXTCLOUD = "nextcloud"
    GENERIC = "generic"


DEFAULT_SERVER_URLS: Mapping[CaldavServerType, str] = MappingProxyType({
    CaldavServerType.ICLOUD: "https://caldav.icloud.com/",
    CaldavServerType.FASTMAIL: "https://caldav.fastmail.com/",
})
_NEXTCLOUD_DAV = "/remote.php/dav"


@dataclass(frozen=True)
class CaldavAccount:
    """What discovery found: the principal, the calendar home and the calendars that hold events."""

    principal_url: str
    home_url: str
    own_addresses: tuple[str, ...]
    calendars: tuple[RemoteCalendar, ...]


def server_url_for(server_type: CaldavServerType, given: str | None) -> str:
    """The URL to start discovery from: the one the user gave, else the provider's default. A Nextcloud URL that
    is only a host gets Nextcloud's DAV path. Raises ValueError when there is neither."""
    url = (given or "").strip() or DEFAULT_SERVER_URLS.get(server_type, "")
    if not url:
        raise ValueError(f"a {server_type.value} account needs the server URL")
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the server URL must be an http or https address")
    if server_type is CaldavServerType.NEXTCLOUD and parts.path in ("", "/"):
        parts = parts._replace(path=_NEXTCLOUD_DAV)
    return urlunsplit(parts)


def normal_colour(value: str) -> str:
    """Apple's calendar-color (`#RRGGBB` or `#RRGGBBAA`) as lower-case `#rrggbb`; "" when absent or unreadable."""
    value = value.strip().lower()
    if re.fullmatch(r"#[0-9a-f]{6}([0-9a-f]{2})?", value):
        return value[:7]
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return "#" + "".join(digit * 2 for digit in value[1:])
    return ""


def zone_of(calendar_timezone: str) -> str:
    """The TZID of the VTIMEZONE in a calendar-timezone property; UTC when there is none."""
    found = re.search(r"^TZID[^:\r\n]*:([^\r\n]+)", calendar_timezone, re.MULTILINE)
    return found.group(1).strip() if found else "UTC"


def calendar_from(response: DavResponse, url: str, primary: bool) -> RemoteCalendar:
    name = response.text(DISPLAYNAME) or url.rstrip("/").rpartition("/")[2]
    return RemoteCalendar(calendar_id=url, name=name, colour=normal_colour(response.text(COLOUR)),
                          time_zone=zone_of(response.text(CALENDAR_TIMEZONE)), writable=is_writable(response),
                          primary=primary)


def multistatus_of(answer: Answer) -> Multistatus:
    """The multistatus of a 207 answer; any other answer raises the provider error its status stands for."""
    if answer.status != 207:
        raise answer.error()
    try:
        return parse_multistatus(answer.body)
    except NotMultistatus:
        raise ProviderError(f"{answer.what}: the answer is not a WebDAV multistatus") from None


async def home_calendars(dav: DavSession, home_url: str) -> list[RemoteCalendar]:
    """The event calendars directly inside the home, in href order; the first one is the primary."""
    answer = await dav.request("PROPFIND", home_url, body=propfind(CALENDAR_PROPS), depth="1")
    found = sorted((absolute(answer.url, response.href), response) for response in multistatus_of(answer).responses
                   if response.href and is_event_calendar(response))
    urls = [collection(url) for url, _ in found]
    return [calendar_from(response, url, primary=index == 0)
            for index, (url, (_, response)) in enumerate(zip(urls, found, strict=True))]


async def _properties(dav: DavSession, url: str, names: tuple[str, ...], *, follow: bool = False) -> DavResponse:
    answer = await dav.request("PROPFIND", url, body=propfind(names), depth="0", follow=follow)
    return _first(answer)


def _first(answer: Answer) -> DavResponse:
    responses = multistatus_of(answer).responses
    if not responses or responses[0].status == 404:  # some servers answer 207 with a 404 inside
        raise NotFound(f"{answer.what}: not found")
    # hrefs in what follows resolve against where the request ended up (after redirects)
    return DavResponse(answer.url, responses[0].status, responses[0].props)


async def _well_known_principal(dav: DavSession, server_url: str) -> str | None:
    """The principal that /.well-known/caldav leads to (RFC 6764 section 5), or None when it leads nowhere."""
    parts = urlsplit(server_url)
    well_known = urlunsplit((parts.scheme, parts.netloc, "/.well-known/caldav", "", ""))
    answer = await dav.request("PROPFIND", well_known, body=propfind((PRINCIPAL,)), depth="0", follow=True)
    if answer.status == 401 and urlsplit(answer.url)[:2] != parts[:2]:
        return None  # redirected to another origin, where the credentials are (rightly) not sent
    try:
        found = _first(answer)
    except WrongPassword:
        raise  # the same would happen at the given URL
    except ProviderError:
        return None  # many self-hosted servers have no well-known redirect: ask the given URL itself
    return absolute(found.href, found.hrefs(PRINCIPAL)[0]) if found.hrefs(PRINCIPAL) else None


async def _principal(dav: DavSession, server_url: str) -> tuple[str, bool]:
    """The principal URL, and whether the server named it. A URL that is only a host is tried through
    /.well-known/caldav first, which leads to the server's DAV root wherever it lives; a URL with a path is taken as
    the place the user meant. A server without current-user-principal (RFC 5397) names none: the URL itself is
    then taken as the principal, which works when the user gave the principal's URL."""
    if urlsplit(server_url).path in ("", "/"):
        named = await _well_known_principal(dav, server_url)
        if named is not None:
            return named, True
    found = await _properties(dav, server_url, (PRINCIPAL,), follow=True)
    if not found.hrefs(PRINCIPAL):
        return absolute(found.href, ""), False
    return absolute(found.href, found.hrefs(PRINCIPAL)[0]), True


def _own_addresses(principal: DavResponse) -> tuple[str, ...]:
    addresses = (href.strip() for href in principal.hrefs(ADDRESSES))
    return tuple(dict.fromkeys(href[len("mailto:"):].lower() for href in addresses
                               if href.lower().startswith("mailto:")))


def _problem(error: ProviderError) -> ConnectionCheckFailed:
    if isinstance(error, TransportFailed):
        return ConnectionCheckFailed(error.problem, str(error))
    if isinstance(error, WrongPassword):
        return ConnectionCheckFailed(ConnectionProblem.WRONG_PASSWORD, "the server refused the username or password")
    if isinstance(error, Unavailable | RateLimited):
        return ConnectionCheckFailed(ConnectionProblem.UNREACHABLE, f"the server could not answer now: {error}")
    if isinstance(error, NotFound):
        return ConnectionCheckFailed(ConnectionProblem.WRONG_URL, f"no CalDAV account was found there: {error}")
    if isinstance(error, Forbidden):  # the password was accepted, but this is not the account's place
        return ConnectionCheckFailed(ConnectionProblem.WRONG_URL, f"the account may not read there: {error}")
    return ConnectionCheckFailed(ConnectionProblem.NOT_CALDAV, f"this does not look like a CalDAV server: {error}")


# `timeout` is the limit of each HTTP request (as in CaldavProvider), part of the agreed interface.
async def discover(credentials: CaldavCredentials, *, timeout: float = 15.0) -> CaldavAccount:  # noqa: ASYNC109
    """Check the credentials and find the account's calendars; raises ConnectionCheckFailed saying why not.
    `timeout` is the time limit of each request, in seconds."""
    try:
        dav = DavSession(credentials, timeout)
    except ProviderError as error:
        raise _problem(error) from None
    try:
        # user info in the URL would clash with the Authorization header: only the credentials carry the password
        principal_url, named = await _principal(dav, absolute(credentials.server_url, ""))
        principal = await _properties(dav, principal_url, (CALENDAR_HOME, ADDRESSES))
        homes = principal.hrefs(CALENDAR_HOME)
        if not homes and not named:
            raise NotFound(f"PROPFIND {shown(principal_url)}: the server names no principal for this account")
        if not homes:
            raise ProviderError(f"PROPFIND {shown(principal_url)}: the principal has no calendar home")
        home_url = collection(absolute(principal.href, homes[0]))
        calendars = await home_calendars(dav, home_url)
    except ProviderError as error:
        raise _problem(error) from None
    finally:
        await dav.aclose()
    return CaldavAccount(principal_url, home_url, _own_addresses(principal), tuple(calendars))
