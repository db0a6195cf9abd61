"""Tokens, a client and a webhook receiver for tests against the fake Calendly (tests/fakes/calendly.py).

`FakeCalendlyTokens` is an AccessTokens source as an OAuth connection's would be (tests/support/tokens.py), granted
by the fake; a personal access token is providers.calendly.PersonalAccessToken of `fake.personal_token()`.
`Receiver` is a subscriber's endpoint on 127.0.0.1 that keeps every POST as received (raw bytes and headers) and
answers each with the next of `answers` (200 once they run out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from providers.calendly import CalendlyClient
from providers.oauth import OAuthClient
from providers.tokens import AccessTokens
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import User
from tests.support.live import new_channel
from tests.support.tokens import RefreshingTokens

REDIRECT_URI = "http://127.0.0.1/auth/calendly/callback"


class FakeCalendlyTokens(RefreshingTokens):
    def __init__(self, calendly: FakeCalendly, user: User | None = None,
                 scopes: tuple[str, ...] | None = None) -> None:
        client = OAuthClient(authorize_url=calendly.authorize_url, token_url=calendly.token_url,
                             revoke_url=calendly.revoke_url, client_id=calendly.client_id,
                             client_secret=calendly.client_secret, redirect_uri=REDIRECT_URI, scopes=())
        issued = calendly.oauth.issue_tokens((user or calendly.user).uuid, scopes)
        super().__init__(client, str(issued["access_token"]), str(issued["refresh_token"]))


@asynccontextmanager
async def calendly_client(calendly: FakeCalendly, tokens: AccessTokens, seconds: float = 5.0
                          ) -> AsyncIterator[CalendlyClient]:
    """A client of the fake whose calls time out after `seconds`."""
    async with CalendlyClient(tokens, api_url=calendly.api_url, timeout=seconds) as client:
        yield client


@dataclass(frozen=True)
class Received:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)  # statuses to answer, in turn; a 3xx redirects
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        self.received.append(Received(request.path, await request.read(), dict(request.headers)))
        status = self.answers.pop(0) if self.answers else 200
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": f"{self.url}/elsewhere"})
        return web.Response(status=status)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/elsewhere", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def calendly_env(calendly: FakeCalendly, public_url: str, redis_url: str, secret_key: str, *,
                 oauth_return_url: str = "") -> dict[str, str]:
    """Settings shared by an API, a scheduler and a worker against the fake: its API's address, and with
    `oauth_return_url` Lockstep's OAuth app there (its addresses, and the app's webhook signing key)."""
    env = {"LOCKSTEP_PUBLIC_URL": public_url, "LOCKSTEP_REDIS_URL": redis_url, "LOCKSTEP_LIVE_CHANNEL": new_channel(),
           "LOCKSTEP_SECRET_KEYS": secret_key, "LOCKSTEP_CALENDLY_API_URL": calendly.api_url}
    if oauth_return_url:
        env.update({"LOCKSTEP_OAUTH_RETURN_URLS": oauth_return_url,
                    "LOCKSTEP_CALENDLY_CLIENT_ID": calendly.client_id,
                    "LOCKSTEP_CALENDLY_CLIENT_SECRET": calendly.client_secret,
                    "LOCKSTEP_CALENDLY_AUTHORIZE_URL": calendly.authorize_url,
                    "LOCKSTEP_CALENDLY_TOKEN_URL": calendly.token_url,
                    "LOCKSTEP_CALENDLY_REVOKE_URL": calendly.revoke_url,
                    "LOCKSTEP_CALENDLY_WEBHOOK_SIGNING_KEY": calendly.oauth.app_signing_key})
    return env
