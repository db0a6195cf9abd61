"""The sign-in callback: where Google or Facebook sends the browser after the customer signed in there (or refused).

A state that is unknown, expired or already used gets an error page and changes nothing (there is no trustworthy
place to send the browser). Otherwise the browser goes back to the return URL given at the start with
`signIn=verified&code=...` (the one-time code for exchangeSignInCode, or for linkSignInProvider when a signed-in
user started a link), or `signIn=failed&error=...`: `access_denied` (the customer cancelled), `no_code`,
`not_verified` (the provider did not confirm the sign-in) or `provider_unavailable`. Tokens never travel in a URL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from app.oauth_routes import error_page, with_outcome
from domain.sign_in import IdentityRejected, ProviderUnreachable
from services.credentials import CredentialVault
from services.sign_in import SignInGateway
from services.sign_in_web import SignInStateError, hold_identity, use_sign_in_state

log = logging.getLogger("lockstep.sign_in")
TITLE = "Not signed in"


def _back(return_url: str, outcome: dict[str, str]) -> RedirectResponse:
    return RedirectResponse(with_outcome(return_url, outcome), status_code=302, headers={"Cache-Control": "no-store"})


def sign_in_callbacks(gateways: Mapping[str, SignInGateway], vault: CredentialVault
                      ) -> Callable[[Request], Awaitable[Response]]:
    """The route handler of `GET /auth/{provider}/callback`; a provider this server does not configure is not
    found (and nothing is looked up)."""

    async def callback(request: Request) -> Response:
        gateway = gateways.get(str(request.path_params.get("provider", "")))
        if gateway is None:
            return PlainTextResponse("Not Found", status_code=404)
        now = datetime.now(UTC)
        try:
            pending = await use_sign_in_state(request.query_params.get("state", ""), gateway.provider, vault, now)
        except SignInStateError as error:
            return error_page(error.message, TITLE)
        if request.query_params.get("error"):
            refused = request.query_params["error"]
            return _back(pending.return_url, {"signIn": "failed",
                                              "error": "access_denied" if refused == "access_denied" else "refused"})
        code = request.query_params.get("code")
        if not code:
            return _back(pending.return_url, {"signIn": "failed", "error": "no_code"})
        try:
            identity = await gateway.finish(code, pending.code_verifier, pending.nonce)
        except IdentityRejected as exc:
            log.info("%s did not confirm a sign-in: %s", gateway.label, exc)
            return _back(pending.return_url, {"signIn": "failed", "error": "not_verified"})
        except ProviderUnreachable as exc:
            log.warning("%s could not be asked to confirm a sign-in: %s", gateway.label, exc)
            return _back(pending.return_url, {"signIn": "failed", "error": "provider_unavailable"})
        return _back(pending.return_url, {"signIn": "verified",
                                          "code": await hold_identity(pending, identity, vault, now)})

    return callback
