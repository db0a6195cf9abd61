"""The web sign-in flow in headless Chromium against a real server (uvicorn) and the fakes of Google and Facebook:
the browser presses the consent page's button and follows every redirect to the web app's landing page, which
receives a one-time code and no token; the web app then exchanges the code."""

from __future__ import annotations

import asyncio
import html
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from models import SignInIdentity, User
from tests.fakes.facebook import FakeFacebook
from tests.fakes.google_sign_in import FakeGoogleSignIn
from tests.support.end_to_end import landing_page
from tests.support.graphql import GraphQLClient
from tests.support.server import free_port, live_server_on
from tests.support.sign_in import EXCHANGE, START, sign_in_env

_LINK = re.compile(r'<a id="(?P<id>[a-z-]+)" href="(?P<href>[^"]+)"')
_LANDED = re.compile(r"<p id=[\"']?landed[\"']?>([^<]*)</p>")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed on this machine")
@pytest.mark.parametrize(("provider", "button", "email"), [("GOOGLE", "allow", "pat@gmail.com"),
                                                            ("FACEBOOK", "continue", "sam@example.com")])
async def test_a_customer_signs_in_on_the_web_in_headless_chromium(db: str, tmp_path: Path, provider: str,
                                                                   button: str, email: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    google = FakeGoogleSignIn(redirect_uris=(f"{base}/auth/google/callback",))
    facebook = FakeFacebook(redirect_uris=(f"{base}/auth/facebook/callback",))
    google.add_account("pat@gmail.com")
    facebook.add_user("Sam", "Lee", "sam@example.com")
    with google.running_in_thread(), facebook.running_in_thread(), landing_page() as landing_url:
        env = {"LOCKSTEP_PUBLIC_URL": base, **sign_in_env(google, facebook, (landing_url,))}
        with live_server_on(port, db, tmp_path, 1, env):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                api = GraphQLClient(http)
                started = await api(START, {"input": {"provider": provider, "returnUrl": landing_url}})
                page = await http.get(started["startSignIn"]["authorizationUrl"])
                links = {match["id"]: html.unescape(match["href"]) for match in _LINK.finditer(page.text)}
                # when Chromium presses the button and follows the redirects (it prints the page it ends on)
                chromium = shutil.which("chromium")
                assert chromium is not None
                shown = await asyncio.to_thread(subprocess.run, [
                    chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                    urljoin(str(page.url), links[button])], capture_output=True, text=True, timeout=60, check=True)
                # then it landed on the web app's page with a one-time code, and nobody is signed in yet
                landed = _LANDED.search(shown.stdout)
                assert landed is not None, shown.stdout
                back = parse_qs(urlsplit(html.unescape(landed.group(1))).query)
                assert sorted(back) == ["code", "signIn"] and back["signIn"] == ["verified"]
                assert await User.all().count() == 0
                # when the web app exchanges the code, then it holds the new customer's tokens
                exchanged = (await api(EXCHANGE, {"code": back["code"][0]}))["exchangeSignInCode"]
    assert exchanged["__typename"] == "AuthPayload"
    assert (exchanged["user"]["email"], exchanged["user"]["role"]) == (email, "CUSTOMER")
    assert [row.provider for row in await SignInIdentity.all()] == [provider.lower()]
