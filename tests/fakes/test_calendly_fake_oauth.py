"""The fake Calendly's OAuth server over real HTTP: authorize with PKCE S256, the code's single use, the token
endpoint's answer and its client authentication (HTTP Basic for a web client, the form for a native one), refresh
tokens that rotate and are single use, revocation, and access tokens expired on demand."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.fakes.calendly import FakeCalendly
from tests.support.calendly import REDIRECT_URI

VERIFIER = "a-verifier-of-forty-three-characters-or-more-0123456789"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def basic(calendly: FakeCalendly) -> httpx.BasicAuth:
    return httpx.BasicAuth(calendly.client_id, calendly.client_secret)


async def authorized(calendly: FakeCalendly, **query: str) -> dict[str, str]:
    """What the authorize endpoint sends the browser back with (the redirect's query)."""
    params = {"client_id": calendly.client_id, "response_type": "code", "redirect_uri": REDIRECT_URI,
              "state": "s-1", "code_challenge": CHALLENGE, "code_challenge_method": "S256", **query}
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(calendly.authorize_url, params={k: v for k, v in params.items() if v})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return dict(parse_qsl(location.query))


async def token(calendly: FakeCalendly, form: dict[str, str], auth: httpx.BasicAuth | None = None) -> httpx.Response:
    async with httpx.AsyncClient(auth=auth) as client:
        return await client.post(calendly.token_url, data=form)


async def redeemed(calendly: FakeCalendly) -> dict[str, Any]:
    code = (await authorized(calendly))["code"]
    answer = await token(calendly, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                    "code_verifier": VERIFIER}, basic(calendly))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def me(calendly: FakeCalendly, access_token: str) -> int:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {access_token}"}) as client:
        return (await client.get(f"{calendly.api_url}/users/me")).status_code


async def test_the_code_flow_answers_calendlys_token_fields(calendly: FakeCalendly) -> None:
    back = await authorized(calendly)
    assert (back["state"], len(back["code"])) == ("s-1", 64)
    answer = await token(calendly, {"grant_type": "authorization_code", "code": back["code"],
                                    "redirect_uri": REDIRECT_URI, "code_verifier": VERIFIER}, basic(calendly))
    granted = answer.json()
    assert sorted(granted) == ["access_token", "created_at", "expires_in", "organization", "owner", "refresh_token",
                               "scope", "token_type"]
    assert (granted["token_type"], granted["expires_in"], granted["owner"], granted["organization"],
            granted["scope"]) == ("Bearer", 7200, calendly.user_uri, calendly.organization_uri, "default")
    assert isinstance(granted["created_at"], int)
    assert await me(calendly, granted["access_token"]) == 200
    # the code was single use
    again = await token(calendly, {"grant_type": "authorization_code", "code": back["code"],
                                   "redirect_uri": REDIRECT_URI, "code_verifier": VERIFIER}, basic(calendly))
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


async def test_a_verifier_that_does_not_match_the_challenge_is_invalid_grant(calendly: FakeCalendly) -> None:
    code = (await authorized(calendly))["code"]
    answer = await token(calendly, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                    "code_verifier": "another-verifier"}, basic(calendly))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(("query", "error"), [
    ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type")])
async def test_authorize_refuses_on_the_redirect(calendly: FakeCalendly, query: dict[str, str], error: str) -> None:
    with calendly.sending_bad_requests():
        back = await authorized(calendly, **query)
    assert (back.get("error"), back.get("state"), "code" in back) == (error, "s-1", False)


async def test_a_refresh_token_rotates_and_is_single_use(calendly: FakeCalendly) -> None:
    granted = await redeemed(calendly)
    form = {"grant_type": "refresh_token", "refresh_token": granted["refresh_token"]}
    fresh = await token(calendly, form, basic(calendly))
    assert fresh.status_code == 200
    assert fresh.json()["refresh_token"] != granted["refresh_token"]
    assert fresh.json()["access_token"] != granted["access_token"]
    reused = await token(calendly, form, basic(calendly))
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    rotated = await token(calendly, {**form, "refresh_token": fresh.json()["refresh_token"]}, basic(calendly))
    assert rotated.status_code == 200


async def test_client_authentication(calendly: FakeCalendly) -> None:
    refresh = str(calendly.oauth.issue_tokens(calendly.user.uuid)["refresh_token"])
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    wrong = await token(calendly, form, httpx.BasicAuth(calendly.client_id, "wrong"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    in_the_form = await token(calendly, {**form, "client_id": calendly.client_id,
                                         "client_secret": calendly.client_secret})
    assert in_the_form.status_code == 200
    calendly.oauth.basic_auth_only = True
    refresh = in_the_form.json()["refresh_token"]
    refused = await token(calendly, {**form, "refresh_token": refresh, "client_id": calendly.client_id,
                                     "client_secret": calendly.client_secret})
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


async def test_a_native_client_names_itself_in_the_form_with_pkce(calendly: FakeCalendly) -> None:
    code = (await authorized(calendly, client_id=calendly.native_client_id))["code"]
    answer = await token(calendly, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                    "code_verifier": VERIFIER, "client_id": calendly.native_client_id})
    assert answer.status_code == 200


async def test_revoking_the_refresh_token_ends_the_grant(calendly: FakeCalendly) -> None:
    granted = await redeemed(calendly)
    async with httpx.AsyncClient() as client:
        revoked = await client.post(calendly.revoke_url, data={"token": granted["refresh_token"]},
                                    auth=basic(calendly))
    assert (revoked.status_code, revoked.json()) == (200, {})
    refresh = await token(calendly, {"grant_type": "refresh_token", "refresh_token": granted["refresh_token"]},
                          basic(calendly))
    assert (refresh.status_code, await me(calendly, granted["access_token"])) == (400, 401)


async def test_access_tokens_expire_on_demand_and_refresh_works_after(calendly: FakeCalendly) -> None:
    granted = await redeemed(calendly)
    calendly.oauth.expire_access_tokens()
    assert await me(calendly, granted["access_token"]) == 401
    fresh = await token(calendly, {"grant_type": "refresh_token", "refresh_token": granted["refresh_token"]},
                        basic(calendly))
    assert await me(calendly, fresh.json()["access_token"]) == 200
