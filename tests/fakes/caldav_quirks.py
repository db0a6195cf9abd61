"""A small CalDAV server on loopback that behaves like the real servers Radicale and Xandikos cannot imitate.

Each switch of `Quirks` copies one behaviour recorded for real servers (in the `caldav` package's compatibility
hints, in RFCs and in server docs; docs/caldav-client.md names the source of each). The server keeps one
account whose username is an e-mail address, so its principal and home paths carry an '@':

- principal `/principals/tech@example.com/`, home `/calendars/tech@example.com/`, one calendar `work/` in it;
- every change bumps the sync token (`http://fake.example/sync/<n>`) and the ctag, and is logged so that a
  sync-collection REPORT can list what changed since a token.

It is deliberately loose where real servers are loose: the calendar-query REPORT ignores its time range and
component filter and returns every object (SOGo's inaccurate time ranges, Infomaniak's and Yahoo's ignored
comp-filter), and answers are sent as `text/xml`. `requests` records (method, raw path, Depth) of every request.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.sax.saxutils import escape

from aiohttp import web

from tests.support.caldav_servers import serving_locally

USER = "tech@example.com"
PRINCIPAL = f"/principals/{USER}/"
HOME = f"/calendars/{USER}/"
CALENDAR = f"{HOME}work/"
_TOKEN = "http://fake.example/sync/"


@dataclass
class Quirks:
    """What the server does differently from RFC 4791 / RFC 6578 as most servers read them."""

    at_only_encoded: bool = False  # a literal '@' in a request path is 404; only '%40' resolves (Nextcloud, Stalwart)
    no_principal: bool = False  # no DAV:current-user-principal anywhere (mail.ru, DavMail, some sabre setups)
    well_known: str = "absent"  # "absent": 404; "elsewhere": redirects to a DAV place that names no principal
    # "ok" | "unsupported" (501) | "unreadable-token" (500) | "teapot-after-delete" (418) | "drops-deletes"
    sync: str = "ok"
    collection_in_sync: bool = False  # the sync answer lists the collection itself as a member (iCloud)
    put_etag: str = "strong"  # "strong" | "weak" (GMX) | "percent-encoded" (Bedework 5) | "none"
    ignores_if_none_match: bool = False  # If-None-Match: * overwrites an existing object (SOGo, Zimbra)
    renames_on_put: bool = False  # stores a PUT under a name of its own and says where in Location (201)
    forbids_missing: bool = False  # a request for a missing object is 403, a multiget says 404 inside (Robur)


@dataclass
class QuirkyCaldav:
    quirks: Quirks = field(default_factory=Quirks)
    objects: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (strong etag, iCalendar text)
    changes: list[tuple[int, str]] = field(default_factory=list)  # (version, name) of every write and delete
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, raw path, Depth)
    version: int = 1
    _names: int = 0

    def store(self, name: str, text: str) -> str:
        """The staff member (or a PUT) writes `name`; returns its new strong etag."""
        self.version += 1
        etag = f'"v{self.version}"'
        self.objects[name] = (etag, text)
        self.changes.append((self.version, name))
        return etag

    def remove(self, name: str) -> None:
        self.version += 1
        del self.objects[name]
        self.changes.append((self.version, name))

    @property
    def sync_token(self) -> str:
        return f"{_TOKEN}{self.version}"

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.requests.append((request.method, request.raw_path, request.headers.get("Depth", "")))
        if self.quirks.at_only_encoded and "@" in request.raw_path:
            return web.Response(status=404, text="Not Found")
        path = unquote(request.raw_path.partition("?")[0])
        body = (await request.read()).decode()
        if "allprop" in body:
            return web.Response(status=400, text="allprop is not served here")  # iCloud, Bedework
        if request.method == "PROPFIND":
            return self._propfind(path, request.headers.get("Depth", "0"), body)
        if request.method == "REPORT" and path == CALENDAR:
            return self._report(body)
        if request.method == "PUT" and path.startswith(CALENDAR):
            return self._put(path[len(CALENDAR):], request, body)
        if request.method == "DELETE" and path.startswith(CALENDAR):
            if self.quirks.forbids_missing and path[len(CALENDAR):] not in self.objects:
                return web.Response(status=403, text="Forbidden")
            return self._delete(path[len(CALENDAR):], request)
        return web.Response(status=405)

    # -- PROPFIND ---------------------------------------------------------------------------------------------

    def _propfind(self, path: str, depth: str, body: str) -> web.StreamResponse:
        if path == "/.well-known/caldav":
            if self.quirks.well_known == "elsewhere":  # Infomaniak, GMX: a redirect to a place that is no account
                raise web.HTTPMovedPermanently("/dav/")
            return web.Response(status=404, text="Not Found")
        if path == PRINCIPAL:
            if depth != "0":  # iCloud and GMX answer 400 to a Depth 1 PROPFIND of the principal
                return web.Response(status=400, text="Depth must be 0 for non-collection resources")
            return _multistatus(_response(PRINCIPAL, _ok(
                f"<C:calendar-home-set><D:href>{_spelt(HOME)}</D:href></C:calendar-home-set>"
                f"<C:calendar-user-address-set><D:href>mailto:{USER}</D:href></C:calendar-user-address-set>")))
        if path == HOME:
            home = _response(HOME, _ok("<D:resourcetype><D:collection/></D:resourcetype>"))
            work = _response(CALENDAR, _ok(
                "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Work</D:displayname>"
                '<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>'
                "<I:calendar-color>#CB30E0FF</I:calendar-color>"))  # iCloud: #RRGGBBAA
            return _multistatus(home + (work if depth == "1" else ""))
        if path == CALENDAR:
            return _multistatus(_response(CALENDAR, _ok(
                f"<D:sync-token>{self.sync_token}</D:sync-token><CS:getctag>ctag-{self.version}</CS:getctag>")))
        if path.startswith(CALENDAR):
            found = self.objects.get(path[len(CALENDAR):])
            if found is None:
                return web.Response(status=404, text="Not Found")
            return _multistatus(_response(path, _ok(f"<D:getetag>{escape(found[0])}</D:getetag>")))
        if "current-user-principal" in body:  # the root, or where the well-known redirect leads
            if self.quirks.no_principal or path != "/":
                return _multistatus(_response(path, _missing("<D:current-user-principal/>")))
            return _multistatus(_response(path, _ok(
                f"<D:current-user-principal><D:href>{_spelt(PRINCIPAL)}</D:href></D:current-user-principal>")))
        return web.Response(status=404, text="Not Found")

    # -- REPORT -----------------------------------------------------------------------------------------------

    def _report(self, body: str) -> web.StreamResponse:
        if "calendar-multiget" in body:
            names = [unquote(href)[len(CALENDAR):] for href in re.findall(r"<D:href>([^<]*)</D:href>", body)]
            return _multistatus("".join(self._object(name) for name in names))
        if "sync-collection" in body:
            return self._sync(re.search(r"<D:sync-token>([^<]*)</D:sync-token>", body))
        return _multistatus("".join(self._object(name) for name in sorted(self.objects)))  # every object, always

    def _object(self, name: str) -> str:
        found = self.objects.get(name)
        if found is None:
            return _gone(CALENDAR + name)
        etag, text = found
        return _response(CALENDAR + name, _ok(
            f"<D:getetag>{escape(etag)}</D:getetag><C:calendar-data>{escape(text)}</C:calendar-data>"))

    def _sync(self, token: re.Match[str] | None) -> web.StreamResponse:
        if self.quirks.sync == "unsupported":
            return web.Response(status=501, text="REPORT sync-collection is not implemented")
        if self.quirks.sync == "unreadable-token":  # Xandikos 0.2 and CCS for a token of a shape they don't issue
            return web.Response(status=500, text="Internal Server Error")
        since = int(token.group(1).removeprefix(_TOKEN)) if token and token.group(1).startswith(_TOKEN) else 0
        changed = sorted({name for version, name in self.changes if version > since})
        deleted = [name for name in changed if name not in self.objects]
        if deleted and self.quirks.sync == "teapot-after-delete":  # Infomaniak; older sabre/dav (Nextcloud, Baikal)
            return web.Response(status=418, text="I'm a teapot")
        if self.quirks.sync == "drops-deletes":  # Bedework 5: after a delete the report lists no changes
            changed = [name for name in changed if name in self.objects]
        members = "".join(
            _gone(CALENDAR + name) if name not in self.objects
            else _response(CALENDAR + name, _ok(f"<D:getetag>{escape(self.objects[name][0])}</D:getetag>"))
            for name in changed)
        if self.quirks.collection_in_sync:  # iCloud lists the collection itself as a member
            members = _response(CALENDAR, _ok(f"<D:getetag>\"c{self.version}\"</D:getetag>")) + members
        return _multistatus(members + f"<D:sync-token>{self.sync_token}</D:sync-token>")

    # -- PUT and DELETE ---------------------------------------------------------------------------------------

    def _put(self, name: str, request: web.BaseRequest, body: str) -> web.StreamResponse:
        exists = name in self.objects
        if request.headers.get("If-None-Match") == "*" and exists and not self.quirks.ignores_if_none_match:
            return web.Response(status=412)
        if_match = request.headers.get("If-Match")
        if if_match is not None and (not exists or self.objects[name][0] != if_match):
            return web.Response(status=412)
        headers: dict[str, str] = {}
        if self.quirks.renames_on_put and not exists:
            self._names += 1
            name = f"server-named-{self._names}.ics"
            headers["Location"] = _spelt(CALENDAR + name)
        etag = self.store(name, body)
        shapes = {"strong": etag, "weak": f"W/{etag}", "percent-encoded": etag.replace('"', "%22")}
        if self.quirks.put_etag in shapes:
            headers["ETag"] = shapes[self.quirks.put_etag]
        return web.Response(status=204 if exists else 201, headers=headers)

    def _delete(self, name: str, request: web.BaseRequest) -> web.StreamResponse:
        if name not in self.objects:
            return web.Response(status=404)
        if_match = request.headers.get("If-Match")
        if if_match is not None and self.objects[name][0] != if_match:
            return web.Response(status=412)
        self.remove(name)
        return web.Response(status=204)


def _spelt(path: str) -> str:
    return path.replace("@", "%40")


def _ok(props: str) -> str:
    return f"<D:propstat><D:prop>{props}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"


def _missing(props: str) -> str:
    return f"<D:propstat><D:prop>{props}</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>"


def _response(href: str, propstats: str) -> str:
    return f"<D:response><D:href>{_spelt(href)}</D:href>{propstats}</D:response>"


def _gone(href: str) -> str:
    return f"<D:response><D:href>{_spelt(href)}</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"


def _multistatus(responses: str) -> web.Response:
    return web.Response(status=207, content_type="text/xml", charset="utf-8", text=(
        '<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" '
        f'xmlns:I="http://apple.com/ns/ical/">{responses}</D:multistatus>'))


@asynccontextmanager
async def quirky_caldav(quirks: Quirks | None = None) -> AsyncIterator[tuple[QuirkyCaldav, str]]:
    """Serve a QuirkyCaldav on a free loopback port; yields it and its base URL."""
    server = QuirkyCaldav(quirks or Quirks())
    async with serving_locally(server.handle) as url:
        yield server, url
