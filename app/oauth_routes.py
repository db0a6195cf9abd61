"""The OAuth callback: where the provider sends the user's browser after they granted (or refused) access.

A state that is unknown, expired or already used gets an error page and changes nothing (there is no trustworthy
place to send the browser). Otherwise the browser goes back to the return URL given when the connection was
started, with `calendarConnection=confirm&confirmationCode=...`, or `calendarConnection=failed&error=...`.
Nothing is connected here: whoever's browser this is, the app of the user who started must confirm the code
(`confirmCalendarConnection`, see services.oauth_confirmation).
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from providers.registry import REGISTRY
from services.credentials import CredentialVault
from services.oauth_confirmation import hold_granted_account
from services.oauth_connections import OAuthGateway, OAuthGrantError, OAuthStateError, use_authorisation_state


def with_outcome(return_url: str, outcome: dict[str, str]) -> str:
    parts = urlsplit(return_url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *outcome.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_page(message: str, title: str = "Calendar not connected") -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>")
    return HTMLResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


def oauth_callback(provider: str, gateways: Mapping[str, OAuthGateway], vault: CredentialVault
                   ) -> Callable[[Request], Awaitable[Response]]:
    """The route handler of `provider`'s callback."""
    async def callback(request: Request) -> Response:
        gateway = gateways.get(provider)
        if gateway is None:
            return error_page("This server is not set up to connect these calendars.")
        now = datetime.now(UTC)
        try:
            pending = await use_authorisation_state(request.query_params.get("state", ""), provider, vault, now)
        except OAuthStateError as error:
            return error_page(error.message)
        refused = request.query_params.get("error")
        if refused or not request.query_params.get("code"):
            # The user (or their organisation) said no at the provider, or the provider sent no code.
            outcome = {"error": "no_code"} if not refused else REGISTRY[provider].oauth_refusal(
                refused, request.query_params.get("error_description", ""))
            return RedirectResponse(with_outcome(pending.return_url, {"calendarConnection": "failed", **outcome}),
                                    status_code=302)
        try:
            account = await gateway.grant(request.query_params["code"], pending.code_verifier, now)
        except OAuthGrantError as refused_grant:
            return RedirectResponse(with_outcome(pending.return_url, {
                "calendarConnection": "failed", **refused_grant.outcome}), status_code=302)
        code = await hold_granted_account(pending, account, vault, now)
        return RedirectResponse(with_outcome(pending.return_url, {
            "calendarConnection": "confirm", "confirmationCode": code}), status_code=302)

    return callback


def oauth_callbacks(gateways: Mapping[str, OAuthGateway], vault: CredentialVault
                    ) -> Callable[[Request], Awaitable[Response]]:
    """The route handler of `GET /oauth/{provider}/callback`: the callback of the provider the path names. A name
    the registry does not know, or a provider without OAuth or not available on this server, is not found (and
    nothing is looked up)."""
    callbacks = {name: oauth_callback(name, gateways, vault) for name in _oauth_providers()}

    async def callback(request: Request) -> Response:
        handler = callbacks.get(str(request.path_params.get("provider", "")))
        if handler is None:
            return PlainTextResponse("Not Found", status_code=404)
        return await handler(request)

    return callback


def _oauth_providers() -> list[str]:
    return [name for name, entry in REGISTRY.items() if entry.available and entry.oauth is not None]
