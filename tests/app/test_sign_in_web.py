"""The web sign-in flow, followed redirect by redirect with httpx against the fakes of Google and Facebook: start,
the provider's consent page, Lockstep's callback, the return URL with a one-time code, and the code exchanged for
tokens. Tokens never travel in a URL nor reach the logs."""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from models import SignInIdentity, SignInState, User
from tests.support.sign_in import EXCHANGE, LINK, PASSWORD_SIGN_IN, PUBLIC, RETURN_URL, START, Deployment, deployment

pytestmark = pytest.mark.usefixtures("db")
_LINK = re.compile(r'<a id="(?P<id>[a-z-]+)" href="(?P<href>[^"]+)"')


async def start(at: Deployment, provider: str, purpose: str = "SIGN_IN", bearer: str | None = None,
                return_url: str = RETURN_URL) -> dict[str, str]:
    data = await at.api(START, {"input": {"provider": provider, "returnUrl": return_url, "purpose": purpose}},
                        bearer)
    result: dict[str, str] = data["startSignIn"]
    return result


async def at_provider(at: Deployment, url: str, choice: str) -> httpx.Response:
    """The customer's browser opens the consent page, presses `choice`, and reaches Lockstep's callback."""
    page = await at.browser.get(url)
    links = {match["id"]: html.unescape(match["href"]) for match in _LINK.finditer(page.text)}
    decided = await at.browser.get(urljoin(str(page.url), links[choice]))
    assert decided.status_code == 302, decided.text
    callback = urlsplit(decided.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}" == PUBLIC
    return await at.app.get(f"{callback.path}?{callback.query}")


def outcome(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL
    return {name: values[0] for name, values in parse_qs(location.query).items()}


async def test_signing_in_with_google_on_the_web(db: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with deployment() as at:
        at.google.add_account("pat@gmail.com", given_name="Pat", family_name="Doe")
        # when the web app starts signing in with Google
        started = await start(at, "GOOGLE")
        query = parse_qs(urlsplit(started["authorizationUrl"]).query)
        # then the consent URL asks OpenID Connect with PKCE S256, a state and a nonce, back to Lockstep's callback
        assert (query["response_type"], query["scope"], query["code_challenge_method"], query["redirect_uri"]) == (
            ["code"], ["openid email profile"], ["S256"], [f"{PUBLIC}/auth/google/callback"])
        assert len(query["state"][0]) >= 43 and len(query["nonce"][0]) >= 32 and query["code_challenge"][0]
        # when the customer continues at Google and the browser comes back
        back = outcome(await at_provider(at, started["authorizationUrl"], "allow"))
        # then the return URL holds a one-time code and no token, and nobody is signed in yet
        assert set(back) == {"signIn", "code"} and back["signIn"] == "verified"
        assert await User.all().count() == 0
        # when the web app exchanges the code
        exchanged = (await at.api(EXCHANGE, {"code": back["code"]}))["exchangeSignInCode"]
        replayed = (await at.api(EXCHANGE, {"code": back["code"]}))["exchangeSignInCode"]
        google_log = list(at.google.log)
    # then it has the usual tokens of a new customer, named as Google's userinfo says
    assert exchanged["__typename"] == "AuthPayload"
    assert exchanged["user"] == {"id": exchanged["user"]["id"], "email": "pat@gmail.com", "name": "Pat Doe",
                                 "role": "CUSTOMER"}
    assert [(row.provider, row.first_name, row.last_name) for row in await SignInIdentity.all()] == [
        ("google", "Pat", "Doe")]
    # and the code was good once only
    assert replayed == {"__typename": "AuthenticationFailed",
                        "message": "This sign-in code is not valid; sign in again"}
    # and Lockstep traded the code with the PKCE verifier, and read userinfo with the access token
    token_call = next(request for request in google_log if request.path == "/token")
    assert set(token_call.body) == {"grant_type", "code", "redirect_uri", "client_id", "client_secret",
                                    "code_verifier"}
    assert any(request.path == "/v1/userinfo" and request.status == 200 for request in google_log)
    # and no token of Google's or Lockstep's is in any URL or log line
    secrets = [token_call.response["id_token"], token_call.response["access_token"], exchanged["accessToken"],
               exchanged["refreshToken"], at.google.client_secret]
    urls = [f"{request.path}?{request.query}" for request in google_log]
    assert [secret for secret in secrets if any(secret in text for text in [*urls, caplog.text])] == []


def issued_claims(at: Deployment) -> dict[str, Any]:
    """The claims of the ID token Google's token endpoint answered the (one) code exchange with, as issued."""
    (token_call,) = [request for request in at.google.log if request.path == "/token"]
    payload = token_call.response["id_token"].split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


@pytest.mark.parametrize(("claims", "issued"), [
    ({"nonce": "the-nonce-of-another-sign-in"}, "the-nonce-of-another-sign-in"),  # replayed from another sign-in
    ({"nonce": None}, None),  # no nonce at all
    ({"azp": "android-client.apps.googleusercontent.com"}, "sent"),  # asked for by another of the project's clients
])
async def test_an_id_token_that_does_not_answer_this_sign_in_sends_the_browser_back_failed_and_creates_nothing(
        db: str, claims: dict[str, Any], issued: str | None) -> None:
    async with deployment() as at:
        # given Google's token endpoint answering this sign-in's code with an ID token of the wrong nonce, or none,
        # or asked for by a client other than the web one
        at.google.add_account("pat@gmail.com")
        at.google.token_claims.update(claims)
        started = await start(at, "GOOGLE")
        sent = parse_qs(urlsplit(started["authorizationUrl"]).query)["nonce"][0]
        # when the customer continues at Google and the browser comes back
        back = outcome(await at_provider(at, started["authorizationUrl"], "allow"))
        # (the token Google answered with says what the test asked)
        token = issued_claims(at)
    assert token.get("nonce") == (sent if issued == "sent" else issued)
    # then the browser is sent back with the failure, and no account, identity or code exists
    assert back == {"signIn": "failed", "error": "not_verified"}
    assert (await User.all().count(), await SignInIdentity.all().count()) == (0, 0)
    assert await SignInState.filter(code_hash__not_isnull=True).count() == 0


async def test_the_web_flows_id_token_may_leave_azp_out_since_the_web_client_asked_for_it(db: str) -> None:
    async with deployment() as at:
        # given a token endpoint whose ID token has no azp (Google documents it as needed only when the asking
        # client is not the audience; here the web client is both)
        at.google.add_account("pat@gmail.com")
        at.google.token_claims["azp"] = None
        back = outcome(await at_provider(at, (await start(at, "GOOGLE"))["authorizationUrl"], "allow"))
        assert "azp" not in issued_claims(at)
        exchanged = (await at.api(EXCHANGE, {"code": back["code"]}))["exchangeSignInCode"]
    # then the sign-in goes through
    assert (back["signIn"], exchanged["__typename"], exchanged["user"]["email"]) == (
        "verified", "AuthPayload", "pat@gmail.com")


async def test_signing_in_with_facebook_on_the_web(db: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with deployment() as at:
        at.facebook.add_user("Sam", "Lee", "sam@example.com")
        started = await start(at, "FACEBOOK")
        query = parse_qs(urlsplit(started["authorizationUrl"]).query)
        assert urlsplit(started["authorizationUrl"]).path == "/v25.0/dialog/oauth"
        assert (query["client_id"], query["scope"], query["code_challenge_method"], query["auth_type"]) == (
            [at.facebook.app_id], ["email public_profile"], ["S256"], ["rerequest"])
        back = outcome(await at_provider(at, started["authorizationUrl"], "continue"))
        exchanged = (await at.api(EXCHANGE, {"code": back["code"]}))["exchangeSignInCode"]
        tokens = list(at.facebook.tokens)
    assert exchanged["__typename"] == "AuthPayload" and exchanged["user"]["email"] == "sam@example.com"
    assert [secret for secret in [*tokens, exchanged["accessToken"], exchanged["refreshToken"]]
            if secret in caplog.text] == []


async def test_a_new_facebook_user_who_declines_the_email_permission_on_the_web_gets_no_account(db: str) -> None:
    async with deployment() as at:
        at.facebook.add_user("Sam", "Lee", "sam@example.com")
        started = await start(at, "FACEBOOK")
        back = outcome(await at_provider(at, started["authorizationUrl"], "without-email"))
        exchanged = (await at.api(EXCHANGE, {"code": back["code"]}))["exchangeSignInCode"]
    assert exchanged["__typename"] == "SignInEmailRequired"
    assert (await User.all().count(), await SignInIdentity.all().count()) == (0, 0)


@pytest.mark.parametrize(("provider", "cancel"), [("GOOGLE", "cancel"), ("FACEBOOK", "cancel")])
async def test_cancelling_at_the_provider_returns_a_failure_and_changes_nothing(
        db: str, provider: str, cancel: str) -> None:
    async with deployment() as at:
        at.google.add_account("pat@gmail.com")
        at.facebook.add_user("Sam", "Lee", "sam@example.com")
        back = outcome(await at_provider(at, (await start(at, provider))["authorizationUrl"], cancel))
    assert back == {"signIn": "failed", "error": "access_denied"}
    assert (await User.all().count(), await SignInIdentity.all().count()) == (0, 0)


async def test_a_state_is_single_use_and_expires(db: str) -> None:
    async with deployment() as at:
        at.google.add_account("pat@gmail.com")
        # given a callback that was already used once
        page = await at.browser.get((await start(at, "GOOGLE"))["authorizationUrl"])
        allow = html.unescape(dict((m["id"], m["href"]) for m in _LINK.finditer(page.text))["allow"])
        callback = urlsplit((await at.browser.get(urljoin(str(page.url), allow))).headers["location"])
        assert (await at.app.get(f"{callback.path}?{callback.query}")).status_code == 302
        codes = await SignInState.filter(code_hash__not_isnull=True).count()
        # when it arrives again, then it is an error page and nothing new is held
        replay = await at.app.get(f"{callback.path}?{callback.query}")
        assert (replay.status_code, "This sign-in link was already used" in replay.text) == (400, True)
        assert await SignInState.filter(code_hash__not_isnull=True).count() == codes
        # given a sign-in started more than 10 minutes ago
        late = parse_qs(urlsplit((await start(at, "GOOGLE"))["authorizationUrl"]).query)["state"][0]
        await SignInState.filter(used_at=None).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        expired = await at.app.get("/auth/google/callback", params={"state": late, "code": "4/anything"})
        unknown = await at.app.get("/auth/google/callback", params={"state": "made-up", "code": "4/anything"})
        not_ours = await at.app.get("/auth/calendly/callback", params={"state": late})
        token_calls = sum(1 for request in at.google.log if request.path == "/token")
    assert (expired.status_code, "This sign-in link has expired" in expired.text) == (400, True)
    assert (unknown.status_code, "This sign-in link is not valid" in unknown.text) == (400, True)
    assert not_ours.status_code == 404
    assert token_calls == 1
    assert await User.all().count() == 0


async def test_a_return_url_not_on_the_allow_list_is_refused(db: str) -> None:
    async with deployment() as at:
        refused = await start(at, "GOOGLE", return_url="https://evil.example/steal")
    assert refused == {"__typename": "ValidationError", "message": "This return URL is not on the allowed list",
                       "path": ["input", "returnUrl"]}
    assert await SignInState.all().count() == 0


async def test_linking_on_the_web_is_for_the_signed_in_user_who_started_it(db: str) -> None:
    async with deployment() as at:
        # given a customer signed in with a password, and another one
        for email in ("kim@example.com", "eve@example.com"):
            assert (await at.api("""mutation($i: SignUpInput!) { signUp(input: $i) { __typename } }""",
                                 {"i": {"email": email, "password": "correct horse battery", "name": "Kim Lee",
                                        "role": "CUSTOMER"}}))["signUp"]["__typename"] == "AuthPayload"
        kim, eve = [(await at.api(PASSWORD_SIGN_IN, {"email": email, "password": "correct horse battery"})
                     )["signIn"]["accessToken"] for email in ("kim@example.com", "eve@example.com")]
        at.facebook.add_user("Kim", "Lee", "kim@example.com")
        # when nobody is signed in, a link cannot start
        assert (await start(at, "FACEBOOK", "LINK"))["__typename"] == "NotAuthorized"
        # when Kim starts linking Facebook on the web and the browser comes back
        back = outcome(await at_provider(at, (await start(at, "FACEBOOK", "LINK", kim))["authorizationUrl"],
                                         "continue"))
        # then the code is no sign-in, and no use to anyone else
        as_sign_in = (await at.api(EXCHANGE, {"code": back["code"]}))["exchangeSignInCode"]
        by_eve = await at.api(LINK, {"input": {"provider": "FACEBOOK", "code": back["code"]}}, eve)
        assert as_sign_in["__typename"] == by_eve["linkSignInProvider"]["__typename"] == "AuthenticationFailed"
        assert await SignInIdentity.all().count() == 0
        # and Kim's own app links it
        linked = await at.api(LINK, {"input": {"provider": "FACEBOOK", "code": back["code"]}}, kim)
    assert [identity["provider"] for identity in linked["linkSignInProvider"]["identities"]] == ["FACEBOOK"]
    owner = await User.get(email="kim@example.com")
    assert [row.user_id for row in await SignInIdentity.all()] == [owner.id]
