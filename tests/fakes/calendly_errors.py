"""Calendly's error answers, as the fake gives them: `{"title", "message"[, "details": [{"parameter", "message"}]]}`
with the titles and messages Calendly's description lists for each status."""

from __future__ import annotations

from typing import Any

from aiohttp import web

INVALID = ("Invalid Argument", "The supplied parameters are invalid.")
UNAUTHENTICATED = ("Unauthenticated", "The access token is invalid")
PERMISSION_DENIED = ("Permission Denied", "You do not have permission to access this resource.")
NOT_FOUND = ("Resource Not Found", "The server could not find the requested resource.")
ALREADY_EXISTS = ("Already Exists", "Hook with this url already exists")
UNKNOWN = ("Internal Server Error",
           "The server encountered an unexpected condition that prevented it from fulfilling the request.")
TOO_MANY = ("Too Many Requests", "You have exceeded the rate limit. Please try again later.")
DEFAULTS = {400: INVALID, 401: UNAUTHENTICATED, 403: PERMISSION_DENIED, 404: NOT_FOUND, 409: ALREADY_EXISTS,
            429: TOO_MANY, 500: UNKNOWN}


class CalendlyError(Exception):
    def __init__(self, status: int, title: str, message: str, details: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {title}: {message}")
        self.status, self.title, self.message, self.details = status, title, message, details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"title": self.title, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def error(status: int, message: str | None = None, headers: dict[str, str] | None = None) -> CalendlyError:
    """The error of `status` with Calendly's title for it, and its usual message unless one is given."""
    title, usual = DEFAULTS.get(status, UNKNOWN)
    return CalendlyError(status, title, message or usual, headers=headers)


def invalid(parameter: str, message: str) -> CalendlyError:
    return CalendlyError(400, *INVALID, details=[{"parameter": parameter, "message": message}])


def denied(message: str = PERMISSION_DENIED[1]) -> CalendlyError:
    return CalendlyError(403, PERMISSION_DENIED[0], message)
