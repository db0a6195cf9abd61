"""The whole service pointed at the fake Microsoft identity platform and Graph: the settings the app needs to talk to
the fake (in process, or as the environment of a uvicorn API, a scheduler and a worker), and a phone's browser
going through the fake's sign-in and consent page.

The API's public URL is its own loopback address in the end-to-end tests, so the fake's subscriptions POST their
validation requests and notifications to the real `/webhooks/microsoft` of the server under test.
"""

from __future__ import annotations

import dataclasses
import html
import re
from urllib.parse import urljoin

import httpx

from app.settings import Settings
from providers.entry import ProviderApp
from tests.fakes.microsoft import FakeMicrosoft

_ACCEPT = re.compile(r'id="(accept|cancel)" href="([^"]+)"')


def microsoft_app(microsoft: FakeMicrosoft) -> ProviderApp:
    """Lockstep's registration at the fake, with the fake's addresses."""
    return ProviderApp(microsoft.client_id, microsoft.client_secret, authorize_url=microsoft.authorize_url,
                       token_url=microsoft.token_url, revoke_url="", api_url=microsoft.api_url)


def settings_for(microsoft: FakeMicrosoft, public_url: str, secret_key: str, return_urls: tuple[str, ...]
                 ) -> Settings:
    """The app's settings with Microsoft's addresses at the fake, our public URL, and the app's return URLs."""
    return dataclasses.replace(Settings.from_env(), secret_keys=(secret_key,), public_url=public_url,
                               oauth_return_urls=return_urls, provider_apps={"microsoft": microsoft_app(microsoft)})


def microsoft_env(microsoft: FakeMicrosoft, public_url: str, redis_url: str, channel: str, secret_key: str,
                  return_urls: tuple[str, ...] = ()) -> dict[str, str]:
    """Settings shared by the API, the scheduler and the worker (all of them must agree on the live channel, the
    credential key and where Microsoft is)."""
    return {
        "LOCKSTEP_PUBLIC_URL": public_url, "LOCKSTEP_REDIS_URL": redis_url, "LOCKSTEP_LIVE_CHANNEL": channel,
        "LOCKSTEP_SECRET_KEYS": secret_key, "LOCKSTEP_OAUTH_RETURN_URLS": ",".join(return_urls),
        "LOCKSTEP_MICROSOFT_CLIENT_ID": microsoft.client_id,
        "LOCKSTEP_MICROSOFT_CLIENT_SECRET": microsoft.client_secret,
        "LOCKSTEP_MICROSOFT_AUTHORIZE_URL": microsoft.authorize_url,
        "LOCKSTEP_MICROSOFT_TOKEN_URL": microsoft.token_url, "LOCKSTEP_MICROSOFT_API_URL": microsoft.api_url,
    }


async def answer_consent(browser: httpx.AsyncClient, consent_url: str, decision: str = "accept") -> httpx.Response:
    """The phone's browser opens the consent URL, the account signed in at the fake presses Accept (or Cancel) on
    the permissions page; returns the fake's answer (a redirect to Lockstep's callback, or the page itself when
    there is nothing to decide, say the organisation refused before asking)."""
    page = await browser.get(consent_url)
    if page.status_code != 200:
        return page
    buttons = dict(_ACCEPT.findall(page.text))
    return await browser.get(urljoin(str(page.url), html.unescape(buttons[decision])))
