"""Microsoft Graph's error answers, as the fake gives them.

Every Graph error body is `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}` (Graph spells it innerError); `GraphError` carries the status, code and message, and any
headers the answer needs (Retry-After, Location, WWW-Authenticate).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

CONFLICT_MESSAGE = ("The send or update operation could not be performed because the change key passed in the request "
                    "does not match the current change key for the item.")
NOT_FOUND_MESSAGE = "The specified object was not found in the store."
DEFAULT_FAULTS = {  # status -> (code, message) of an injected fault
    400: ("ErrorInvalidRequest", "Your request can't be completed."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    404: ("ErrorItemNotFound", NOT_FOUND_MESSAGE),
    409: ("ErrorConflict", "The request conflicts with the current state of the item."),
    410: ("syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be "
                               "synchronized again."),
    412: ("ErrorIrresolvableConflict", CONFLICT_MESSAGE),
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    500: ("InternalServerError", "An internal server error occurred. The operation failed."),
    502: ("BadGateway", "The server received an invalid response from the upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The server did not respond in time."),
}


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self, client_request_id: str | None = None) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        return {"error": {"code": self.code, "message": self.message, "innerError": {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id,
            "client-request-id": client_request_id or request_id}}}

    def response(self, client_request_id: str | None = None) -> web.Response:
        return web.json_response(self.body(client_request_id), status=self.status, headers=self.headers)


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", NOT_FOUND_MESSAGE)


def fault(status: int, code: str | None = None, retry_after: str | None = None) -> GraphError:
    """An injected failure in Graph's shape, the code defaulting by status."""
    default_code, message = DEFAULT_FAULTS.get(status, ("UnknownError", "An error occurred."))
    known = {known_code: known_message for known_code, known_message in DEFAULT_FAULTS.values()}
    known["TooManyRequests"] = "Please retry again later."
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return GraphError(status, code or default_code, known.get(code or default_code, message), headers)
