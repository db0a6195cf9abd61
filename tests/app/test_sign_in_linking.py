"""Linking without takeover: when a provider's identity joins an existing account by itself (only where the provider
owns the address and the account's address is verified), when the account's owner must sign in and link, and the
viewer's ways to sign in (link, unlink while one way stays, a password added later)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from models import RefreshToken, SignInIdentity, User, UserRole
from services.passwords import PasswordHashing
from tests.support.sign_in import LINK, METHODS, PASSWORD_SIGN_IN, SET_PASSWORD, UNLINK, Deployment, deployment

pytestmark = pytest.mark.usefixtures("db")
PASSWORD = "correct horse battery"


async def given_account(email: str, *, verified: bool, password: bool = True) -> User:
    password_hash = await PasswordHashing(workers=1).hash(PASSWORD) if password else ""
    return await User.create(email=email, name="Kim Existing", password_hash=password_hash, role=UserRole.CUSTOMER,
                             email_verified_at=datetime.now(UTC) if verified else None)


async def state() -> tuple[list[tuple[int, str, bool]], list[tuple[int, str, str]], int]:
    """Accounts, identities and refresh tokens: what a refused sign-in must leave as it was."""
    users = [(user.id, user.email, user.email_verified_at is not None) for user in await User.all().order_by("id")]
    identities = [(row.user_id, row.provider, row.subject) for row in await SignInIdentity.all().order_by("id")]
    return users, identities, await RefreshToken.all().count()


async def password_token(at: Deployment, email: str) -> str:
    data = await at.api(PASSWORD_SIGN_IN, {"email": email, "password": PASSWORD})
    assert data["signIn"]["__typename"] == "AuthPayload", data
    return str(data["signIn"]["accessToken"])


@pytest.mark.parametrize("details", [
    {"email": "kim@gmail.com"},
    {"email": "kim@example.com", "hd": "example.com"},
])
async def test_google_joins_a_verified_account_whose_address_it_owns(db: str, details: dict[str, Any]) -> None:
    async with deployment() as at:
        existing = await given_account(details["email"], verified=True)
        kim = at.google.add_account(**details)
        answer = await at.with_token("GOOGLE", at.google.id_token(kim))
    assert answer["__typename"] == "AuthPayload"
    assert answer["user"]["email"] == details["email"]
    assert [(row.user_id, row.provider, row.subject) for row in await SignInIdentity.all()] == [
        (existing.id, "google", kim.sub)]
    assert await User.all().count() == 1


@pytest.mark.parametrize(("provider", "details"), [
    ("GOOGLE", {"email": "kim@example.com"}),  # a Google account carrying another provider's address
    ("GOOGLE", {"email": "kim@gmail.com", "email_verified": False}),
    ("FACEBOOK", {"email": "kim@example.com"}),  # Facebook never
    ("FACEBOOK", {"email": "kim@gmail.com"}),
])
async def test_an_identity_that_does_not_own_the_address_never_joins_an_account(
        db: str, provider: str, details: dict[str, Any]) -> None:
    async with deployment() as at:
        await given_account(details["email"], verified=True)
        before = await state()
        if provider == "GOOGLE":
            token = at.google.id_token(at.google.add_account(**details))
        else:
            token = at.facebook.token_for(at.facebook.add_user("Kim", "Lee", details["email"]))
        answer = await at.with_token(provider, token)
    label = provider.title()
    assert answer == {"__typename": "SignInLinkRequired", "passwordFirst": False, "message": (
        f"An account with this email address already exists. Sign in to it the way you did before, then link {label} "
        "from your account.")}
    assert await state() == before


async def test_an_unverified_password_account_never_merges_even_with_gmail(db: str) -> None:
    async with deployment() as at:
        # given someone signed up with the victim's gmail address and a password, and never verified it
        await given_account("victim@gmail.com", verified=False)
        before = await state()
        # when the real owner of the address signs in with Google
        victim = at.google.add_account("victim@gmail.com")
        answer = await at.with_token("GOOGLE", at.google.id_token(victim))
    # then nothing merges, and they are told to sign in with the password (or reset it) and link
    assert answer == {"__typename": "SignInLinkRequired", "passwordFirst": True, "message": (
        "An account with this email address already exists and its address is not verified. Sign in with your "
        "password, then link Google from your account.")}
    assert await state() == before


async def test_a_signed_in_customer_links_google_with_a_phone_token_then_signs_in_with_it(db: str) -> None:
    async with deployment() as at:
        # given an unverified password account, signed in
        account = await given_account("kim@gmail.com", verified=False)
        bearer = await password_token(at, "kim@gmail.com")
        kim = at.google.add_account("kim@gmail.com", given_name="Kim", family_name="Lee")
        # when the customer links Google with the token their phone's SDK gave
        linked = await at.api(LINK, {"input": {"provider": "GOOGLE", "token": at.google.id_token(kim)}}, bearer)
        # then the account has both ways, and Google (owning the address) verified it
        assert linked["linkSignInProvider"] == {
            "__typename": "SignInMethods", "hasPassword": True, "emailVerified": True,
            "identities": [{"provider": "GOOGLE", "email": "kim@gmail.com", "firstName": "Kim", "lastName": "Lee",
                            "photoUrl": "https://lh3.googleusercontent.com/a/photo"}]}
        # and signing in with Google reaches the same account
        answer = await at.with_token("GOOGLE", at.google.id_token(kim))
        assert answer["__typename"] == "AuthPayload"
    assert answer["user"]["email"] == "kim@gmail.com"
    assert await User.all().count() == 1
    assert (await SignInIdentity.get()).user_id == account.id


async def test_linking_an_identity_of_another_account_is_refused_and_changes_nothing(db: str) -> None:
    async with deployment() as at:
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        assert (await at.with_token("FACEBOOK", at.facebook.token_for(sam)))["__typename"] == "AuthPayload"
        await given_account("kim@example.com", verified=True)
        bearer = await password_token(at, "kim@example.com")
        before = await state()
        answer = await at.api(LINK, {"input": {"provider": "FACEBOOK", "token": at.facebook.token_for(sam)}}, bearer)
        both = await at.api(LINK, {"input": {"provider": "FACEBOOK", "token": "a", "code": "b"}}, bearer)
        anonymous = await at.api(LINK, {"input": {"provider": "FACEBOOK", "token": at.facebook.token_for(sam)}})
    assert answer["linkSignInProvider"] == {"__typename": "SignInIdentityTaken", "message": (
        "This Facebook account signs in to another Lockstep account. Sign in with it and unlink it there first.")}
    assert both["linkSignInProvider"] == {"__typename": "ValidationError", "message": "Give either a token or a code"}
    assert anonymous["linkSignInProvider"] == {"__typename": "NotAuthorized", "message": "Sign in first"}
    assert await state() == before


async def test_the_last_way_to_sign_in_cannot_be_unlinked_until_a_password_is_set(db: str) -> None:
    async with deployment() as at:
        # given a customer who only ever signed in with Facebook
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        bearer = (await at.with_token("FACEBOOK", at.facebook.token_for(sam)))["accessToken"]
        before = await state()
        # when they unlink Facebook, then it is refused and nothing changes
        refused = await at.api(UNLINK, {"provider": "FACEBOOK"}, bearer)
        assert refused["unlinkSignInProvider"] == {"__typename": "LastSignInMethod", "message": (
            "Facebook is the only way to sign in to this account. Set a password or link another provider first.")}
        assert await state() == before
        # when they pick a weak password, then it is refused and nothing changes
        weak = await at.api(SET_PASSWORD, {"password": "password1"}, bearer)
        assert weak["setPassword"]["__typename"] == "ValidationError"
        assert (await User.get()).password_hash == ""
        # when they set a strong one, then it is their second way
        added = await at.api(SET_PASSWORD, {"password": PASSWORD}, bearer)
        assert added["setPassword"]["hasPassword"] is True
        again = await at.api(SET_PASSWORD, {"password": "another strong passphrase"}, bearer)
        assert again["setPassword"] == {"__typename": "ValidationError",
                                        "message": "This account has a password already"}
        # and now Facebook can go, and the password signs in
        gone = await at.api(UNLINK, {"provider": "FACEBOOK"}, bearer)
        assert gone["unlinkSignInProvider"] == {"__typename": "SignInMethods", "hasPassword": True,
                                                "emailVerified": False, "identities": []}
        assert await password_token(at, "sam@example.com")
        missing = await at.api(UNLINK, {"provider": "FACEBOOK"}, bearer)
        assert missing["unlinkSignInProvider"] == {"__typename": "NotFound",
                                                   "message": "Linked Facebook account not found"}


async def test_a_customer_who_revoked_access_at_facebook_signs_in_with_the_password(db: str) -> None:
    async with deployment() as at:
        sam = at.facebook.add_user("Sam", "Lee", "sam@example.com")
        token = at.facebook.token_for(sam)
        bearer = (await at.with_token("FACEBOOK", token))["accessToken"]
        assert (await at.api(SET_PASSWORD, {"password": PASSWORD}, bearer))["setPassword"]["hasPassword"]
        # when the customer removes Lockstep from their Facebook apps (the token dies)
        at.facebook.tokens[token].valid = False
        # then that token signs in no more, the password does, and authorising again does too
        assert (await at.with_token("FACEBOOK", token))["__typename"] == "AuthenticationFailed"
        assert await password_token(at, "sam@example.com")
        again = await at.with_token("FACEBOOK", at.facebook.token_for(sam))
        assert again["__typename"] == "AuthPayload"
        methods = await at.api(METHODS, token=bearer)
    assert [identity["provider"] for identity in methods["signInMethods"]["identities"]] == ["FACEBOOK"]
    assert await User.all().count() == 1
