"""Logging for every process: one JSON object per line on stderr, with the request id of the HTTP request (or
WebSocket) being served, and secrets masked.

Terms:
- *request id*: the `X-Request-ID` a client or proxy sent (when it is a short token), else a new random one. It is
  answered in the response's `X-Request-ID` and carried by every line logged while serving that request.
- *masked*: values that look like credentials (passwords, tokens, OAuth codes and states, keys, bearer tokens)
  are replaced by `[masked]` before a line is written. This is a net under the rule that code never logs secrets
  in the first place (GraphQL errors, for one, are logged without the operation's text or variables).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str | None] = ContextVar("lockstep_request_id", default=None)

_SECRET_NAMES = (r"password|passwd|secret|token|access_token|refresh_token|client_secret|api_key|apikey"
                 r"|authorization|code|state|confirmationCode|code_verifier|credentials")
# name=value (query strings, key=value text) and "name": "value" (JSON, reprs of dicts)
_NAMED_SECRET = re.compile(rf"""(?i)(\b(?:{_SECRET_NAMES})\b["']?\s*[:=]\s*["']?)([^\s"'&,;}}\]]+)""")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_GOOD_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Loggers that would otherwise write secrets: SQL with its parameters (credentials are written sealed, but
# sign-in reads compare hashes of what users typed) is logged by the database clients at DEBUG.
_QUIET = {"tortoise": logging.INFO, "aiosqlite": logging.INFO, "asyncpg": logging.INFO}


# A calendar feed's address holds its token in the path (/feeds/{token}.ics): uvicorn's access lines name it.
_FEED_PATH = re.compile(r"(/feeds/)[^/\s?\"']+(\.ics)")
# "name": "a value with spaces" and name:"value" (a GraphQL literal): the whole quoted value.
_QUOTED_SECRET = re.compile(rf"""(?i)(\b(?:{_SECRET_NAMES})\b["']?\s*[:=]\s*)(["'])(.*?)\2""")


def masked(text: str) -> str:
    """`text` with anything that looks like a credential replaced by [masked]. Percent-encoding is read first, so
    a secret in a query string (a GraphQL document sent by GET) is found as well."""
    text = unquote(text) if "%" in text else text
    text = _FEED_PATH.sub(r"\1[masked]\2", text)
    text = _QUOTED_SECRET.sub(r"\1\2[masked]\2", _BEARER.sub(r"\1 [masked]", text))
    return _NAMED_SECRET.sub(lambda found: found.group(0) if found.group(2).startswith("[masked")
                             else found.group(1) + "[masked]", text)


class WithoutQueryStrings(logging.Filter):
    """uvicorn's access lines name the path without its query string: a GraphQL document sent by GET carries the
    operation (and whatever a client typed inline into it) there."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?[query]", *args[3:])
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the request id when there is one,
    the fields passed as `extra={"fields": {...}}`, and the exception with its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": masked(record.getMessage()),
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: masked(value) if isinstance(value, str) else value for key, value in fields.items()})
        if record.exc_info:
            line["exception"] = masked(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records, as JSON lines, to stderr (uvicorn's and rq's included: they find a handler on
    the root and add none of their own)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(known, WithoutQueryStrings) for known in access.filters):
        access.addFilter(WithoutQueryStrings())


class RequestIds:
    """ASGI middleware: give each HTTP request and WebSocket its request id (see the module's terms)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        current = sent if _GOOD_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", current.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
