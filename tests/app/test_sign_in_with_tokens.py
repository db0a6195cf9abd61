"""A phone signs in with the token its Google or Facebook SDK gave it (signInWithProviderToken), checked against the
fakes of Google's and Facebook's servers: what is accepted, what is refused, and that a refusal changes nothing."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest

from models import SignInIdentity, User, UserRole
from tests.support.sign_in import Deployment, deployment

pytestmark = pytest.mark.usefixtures("db")


async def _accounts() -> list[tuple[str, str, str, bool]]:
    return [(user.email, user.name, str(user.role), user.email_verified_at is not None)
            for user in await User.all().order_by("id")]


async def _identities() -> list[tuple[str, str, str, str, str, str | None]]:
    return [(row.provider, row.subject, row.email, row.first_name, row.last_name, row.photo_url)
            for row in await SignInIdentity.all().order_by("id")]


async def test_a_google_id_token_from_an_android_phone_creates_a_customer_and_signs_in_again(db: str) -> None:
    async with deployment() as at:
        # given a Google account, and the ID token the Android SDK got for the server's web client
        pat = at.google.add_account("pat@gmail.com", given_name="Pat", family_name="Doe")
        token = at.google.id_token(pat, azp="android-client.apps.googleusercontent.com")
        # when the phone signs in with it
        first = await at.with_token("GOOGLE", token)
        # then a customer account exists for the identity, with Google's verified gmail address
        assert first["__typename"] == "AuthPayload"
        assert first["user"]["email"] == "pat@gmail.com" and first["user"]["role"] == "CUSTOMER"
        assert await _accounts() == [("pat@gmail.com", "Pat Doe", "customer", True)]
        assert await _identities() == [("google", pat.sub, "pat@gmail.com", "Pat", "Doe",
                                        "https://lh3.googleusercontent.com/a/photo")]
        # when the same person signs in again from an iPhone, after changing their name at Google
        pat.given_name = "Patricia"
        again = await at.with_token("GOOGLE", at.google.id_token(pat, azp="ios-client.apps.googleusercontent.com"))
        # then it is the same account, and the identity keeps what Google said last
        assert again["user"]["id"] == first["user"]["id"]
        assert await User.all().count() == 1
        assert (await SignInIdentity.get()).first_name == "Patricia"


async def test_google_s_issuer_without_its_scheme_is_accepted(db: str) -> None:
    async with deployment() as at:
        pat = at.google.add_account("pat@gmail.com")
        answer = await at.with_token("GOOGLE", at.google.id_token(pat, iss="accounts.google.com"))
        assert answer["__typename"] == "AuthPayload"


@pytest.mark.parametrize(("claims", "why"), [
    ({"aud": "android-client.apps.googleusercontent.com"}, "aud"),  # for a phone's client, not the web one
    ({"aud": "someone-elses-app.apps.googleusercontent.com"}, "aud"),
    ({"azp": "someone-elses-app.apps.googleusercontent.com"}, "asked for by a client"),
    ({"without": ("azp",)}, "does not say which client asked for it (azp)"),  # a phone's token must name its app
    ({"iss": "https://accounts.google.com.evil.example"}, "iss"),
    ({"iss": "https://evil.example"}, "iss"),
    ({"expires_in": -3600}, "expired"),
])
async def test_a_google_id_token_not_meant_for_lockstep_is_refused_and_changes_nothing(
        db: str, claims: dict[str, Any], why: str) -> None:
    async with deployment() as at:
        pat = at.google.add_account("pat@gmail.com")
        answer = await at.with_token("GOOGLE", at.google.id_token(pat, **claims))
    assert answer["__typename"] == "AuthenticationFailed"
    assert answer["message"].startswith("Google did not confirm this sign-in: ")
    assert why in answer["message"]
    assert (await _accounts(), await _identities()) == ([], [])


async def test_a_token_signed_by_someone_else_is_refused(db: str) -> None:
    async with deployment() as at:
        pat = at.google.add_account("pat@gmail.com")
        forged_key = at.google._new_key()
        forged = at.google.id_token(pat, key=forged_key)
        answer = await at.with_token("GOOGLE", forged)
        not_a_jwt = await at.with_token("GOOGLE", "not-a-token")
    assert (answer["__typename"], not_a_jwt["__typename"]) == ("AuthenticationFailed", "AuthenticationFailed")
    assert answer["message"] == ("Google did not confirm this sign-in: The Google ID token is signed with a key "
                                 "Google does not publish")
    assert (await _accounts(), await _identities()) == ([], [])


def _key_set_reads(at: Deployment) -> int:
    return sum(1 for request in at.google.log if request.path == "/oauth2/v3/certs")


async def test_after_google_rotates_its_keys_an_unknown_kid_reads_the_key_set_again(db: str) -> None:
    async with deployment() as at:
        pat = at.google.add_account("pat@gmail.com")
        old_key = at.google.signing_key
        # given Lockstep knows Google's key set (it read it for a first sign-in)
        assert (await at.with_token("GOOGLE", at.google.id_token(pat)))["__typename"] == "AuthPayload"
        assert _key_set_reads(at) == 1
        # when Google rotates its keys and the phone brings a token signed with the new one
        at.google.rotate_keys()
        fresh = await at.with_token("GOOGLE", at.google.id_token(pat))
        # then the key set is read again and the token accepted
        assert fresh["__typename"] == "AuthPayload"
        assert _key_set_reads(at) == 2
        # and a token signed with the key Google no longer publishes is refused
        stale = await at.with_token("GOOGLE", at.google.id_token(pat, key=old_key))
        assert stale["__typename"] == "AuthenticationFailed"


async def test_forged_key_ids_do_not_make_lockstep_read_google_s_keys_over_and_over(db: str) -> None:
    async with deployment(min_refetch_seconds=60.0) as at:
        pat = at.google.add_account("pat@gmail.com")
        assert (await at.with_token("GOOGLE", at.google.id_token(pat)))["__typename"] == "AuthPayload"
        for _ in range(3):
            forged = at.google.id_token(pat, key=at.google._new_key())
            assert (await at.with_token("GOOGLE", forged))["__typename"] == "AuthenticationFailed"
        assert _key_set_reads(at) == 1


async def test_a_facebook_access_token_is_checked_with_debug_token_and_read_with_appsecret_proof(db: str) -> None:
    async with deployment() as at:
        # given a Facebook user and the token the phone's Facebook SDK got
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        token = at.facebook.token_for(sam)
        # when the phone signs in with it
        answer = await at.with_token("FACEBOOK", token)
        # then a customer exists, whose address is not verified (Facebook vouches for no address)
        assert answer["__typename"] == "AuthPayload"
        assert await _accounts() == [("sam@example.com", "Sam Lee", "customer", False)]
        assert await _identities() == [("facebook", sam.id, "sam@example.com", "Sam", "Lee",
                                        f"https://platform-lookaside.fbsbx.com/{sam.id}")]
        # and Lockstep asked debug_token with its app token, then /me with the exact appsecret_proof
        debug, me = [request for request in at.facebook.log if request.path.endswith(("/debug_token", "/me"))]
        assert debug.path == "/v25.0/debug_token" and dict(debug.query) == {"input_token": token}
        assert debug.headers["Authorization"] == f"OAuth {at.facebook.app_id}|{at.facebook.app_secret()}"
        proof = hmac.new(at.facebook.app_secret().encode(), token.encode(), hashlib.sha256).hexdigest()
        assert dict(me.query) == {"fields": "id,first_name,last_name,name,email,picture", "appsecret_proof": proof}
        assert me.headers["Authorization"] == f"OAuth {token}"


async def test_the_fake_refuses_a_graph_call_without_appsecret_proof(db: str) -> None:
    async with deployment() as at:
        token = at.facebook.token_for(at.facebook.add_user("Sam", "Lee", "sam@example.com"))
        async with httpx.AsyncClient() as http:
            missing = await http.get(f"{at.facebook.url}/v25.0/me", params={"fields": "id"},
                                     headers={"Authorization": f"OAuth {token}"})
            wrong = await http.get(f"{at.facebook.url}/v25.0/me", params={"fields": "id", "appsecret_proof": "00"},
                                   headers={"Authorization": f"OAuth {token}"})
    assert (missing.status_code, missing.json()["error"]["message"]) == (
        400, "API calls from the server require an appsecret_proof argument")
    assert (wrong.status_code, wrong.json()["error"]["message"]) == (
        400, "Invalid appsecret_proof provided in the API argument")


@pytest.mark.parametrize("which", ["unknown", "another_app", "expired", "revoked"])
async def test_a_facebook_token_debug_token_does_not_vouch_for_is_refused_and_changes_nothing(
        db: str, which: str) -> None:
    async with deployment() as at:
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        token = {"unknown": lambda: "EAAnot-a-token",
                 "another_app": lambda: at.facebook.token_for(sam, app_id=at.facebook.other_app_id),
                 "expired": lambda: at.facebook.token_for(sam, expires_in=-60),
                 "revoked": lambda: at.facebook.token_for(sam)}[which]()
        if which == "revoked":
            at.facebook.tokens[token].valid = False
        answer = await at.with_token("FACEBOOK", token)
        asked_me = any(request.path.endswith("/me") for request in at.facebook.log)
    assert answer["__typename"] == "AuthenticationFailed"
    assert answer["message"] == {
        "unknown": "Facebook did not confirm this sign-in: Facebook says the access token is not valid",
        "another_app": "Facebook did not confirm this sign-in: The Facebook access token was issued to another app",
        "expired": "Facebook did not confirm this sign-in: Facebook says the access token is not valid",
        "revoked": "Facebook did not confirm this sign-in: Facebook says the access token is not valid",
    }[which]
    assert not asked_me
    assert (await _accounts(), await _identities()) == ([], [])


@pytest.mark.parametrize(("email", "scopes", "why"), [
    (None, ("email", "public_profile"), "it shared no email address"),  # registered with a phone number
    ("sam@example.com", ("public_profile",), "you chose not to share your email address"),  # declined
])
async def test_a_new_facebook_user_without_an_email_gets_no_account(
        db: str, email: str | None, scopes: tuple[str, ...], why: str) -> None:
    async with deployment() as at:
        sam = at.facebook.add_user("Sam", "Lee", email)
        answer = await at.with_token("FACEBOOK", at.facebook.token_for(sam, scopes=scopes))
    assert answer == {"__typename": "SignInEmailRequired", "message": (
        f"Facebook signed you in, but {why}. A new account needs one: sign in with Facebook again and allow your "
        "email address, or sign up with an email and a password.")}
    assert (await _accounts(), await _identities()) == ([], [])


async def test_a_known_facebook_identity_signs_in_even_when_the_email_permission_is_declined_now(db: str) -> None:
    async with deployment() as at:
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        first = await at.with_token("FACEBOOK", at.facebook.token_for(sam))
        later = await at.with_token("FACEBOOK", at.facebook.token_for(sam, scopes=("public_profile",)))
    assert later["__typename"] == "AuthPayload" and later["user"]["id"] == first["user"]["id"]
    assert [user.role for user in await User.all()] == [UserRole.CUSTOMER]


async def test_a_provider_this_server_does_not_configure_is_refused(db: str) -> None:
    async with deployment(configured=False) as at:
        pat = at.google.add_account("pat@gmail.com")
        answer = await at.with_token("GOOGLE", at.google.id_token(pat))
    assert answer == {"__typename": "SignInProviderUnavailable",
                      "message": "Signing in with Google is not set up on this server"}
    assert await User.all().count() == 0


async def test_failed_token_sign_ins_are_throttled_like_password_sign_ins(db: str) -> None:
    async with deployment(free_failures=3) as at:
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        # given four forged tokens from one address (three free failures, then the fourth makes it wait)
        for _ in range(4):
            assert (await at.with_token("FACEBOOK", "EAAforged"))["__typename"] == "AuthenticationFailed"
        checks = sum(1 for request in at.facebook.log if request.path.endswith("/debug_token"))
        # when a fifth attempt comes at once, even with a genuine token
        answer = await at.with_token("FACEBOOK", at.facebook.token_for(sam))
        checked_again = sum(1 for request in at.facebook.log if request.path.endswith("/debug_token")) - checks
    # then it is refused before anything is asked of Facebook, and nothing is created
    assert answer == {"__typename": "TooManyAttempts", "message": "Too many attempts; try again in 1 seconds"}
    assert checked_again == 0
    assert await User.all().count() == 0
