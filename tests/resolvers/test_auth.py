"""Accounts and tokens through the GraphQL API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import RefreshToken, User
from tests.support.graphql import SIGN_UP, GraphQLClient, given_shop, sign_up

SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { __typename
  ... on AuthPayload { accessToken refreshToken user { email role } }
  ... on AuthenticationFailed { message } } }"""
REFRESH = """mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { __typename
  ... on AuthPayload { accessToken refreshToken } ... on AuthenticationFailed { message } } }"""
VIEWER = "{ viewer { email role name } }"


async def test_sign_up_then_sign_in_gives_a_token_that_names_the_viewer(api: GraphQLClient) -> None:
    # given
    await sign_up(api, "Pat@Example.com")
    # when
    data = await api(SIGN_IN, {"input": {"email": "pat@example.com", "password": "correct horse battery"}})
    # then
    assert data["signIn"]["user"] == {"email": "pat@example.com", "role": "CUSTOMER"}
    viewer = await api(VIEWER, token=data["signIn"]["accessToken"])
    assert viewer == {"viewer": {"email": "pat@example.com", "role": "CUSTOMER", "name": "Pat Doe"}}


async def test_password_is_stored_hashed(api: GraphQLClient) -> None:
    await sign_up(api, "pat@example.com")
    user = await User.get(email="pat@example.com")
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in user.password_hash


async def test_wrong_password_is_refused_and_issues_no_token(api: GraphQLClient) -> None:
    await sign_up(api, "pat@example.com")
    tokens_before = await RefreshToken.all().count()
    data = await api(SIGN_IN, {"input": {"email": "pat@example.com", "password": "wrong password!!"}})
    assert data["signIn"] == {"__typename": "AuthenticationFailed", "message": "Email or password is wrong"}
    assert await RefreshToken.all().count() == tokens_before


async def test_duplicate_email_and_short_password_are_validation_errors_that_create_nothing(api: GraphQLClient) -> None:
    await sign_up(api, "pat@example.com")
    duplicate = await api(SIGN_UP, {"input": {"email": "PAT@example.com", "password": "another password",
                                              "name": "Other"}})
    short = await api(SIGN_UP, {"input": {"email": "new@example.com", "password": "short", "name": "New"}})
    assert duplicate["signUp"] == {"__typename": "ValidationError",
                                   "message": "An account with this email already exists", "path": ["input", "email"]}
    assert short["signUp"] == {"__typename": "ValidationError", "message": "Use at least 10 characters",
                               "path": ["input", "password"]}
    assert await User.all().count() == 1


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(api: GraphQLClient) -> None:
    # given a signed-up user who refreshed once
    first = await sign_up(api, "pat@example.com")
    rotated = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    assert rotated["refreshToken"]["__typename"] == "AuthPayload"
    second = rotated["refreshToken"]["refreshToken"]
    assert second != first["refreshToken"]
    # when the old refresh token is presented again (stolen) after the retry grace has passed
    await RefreshToken.filter(replaced_at__not_isnull=True).update(
        replaced_at=datetime.now(UTC) - timedelta(minutes=1))
    replay = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    # then it is refused and the newer token of the same family is revoked too
    assert replay["refreshToken"] == {"__typename": "AuthenticationFailed",
                                      "message": "Refresh token was already used; sign in again"}
    after = await api(REFRESH, {"input": {"refreshToken": second}})
    assert after["refreshToken"]["__typename"] == "AuthenticationFailed"


async def test_a_garbage_access_token_is_treated_as_signed_out(api: GraphQLClient) -> None:
    assert await api(VIEWER, token="not-a-jwt") == {"viewer": None}


async def test_staff_accept_invite_and_see_their_business(api: GraphQLClient) -> None:
    # given a shop whose staff member was invited
    shop = await given_shop(api)
    # when the staff member accepts the invitation
    data = await api("""mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) {
        __typename ... on AuthPayload { accessToken user { role email } } } }""",
                     {"input": {"code": shop.staff_invite, "password": "staff password 1"}})
    # then they are a staff user who sees exactly their business
    payload = data["acceptStaffInvite"]
    assert payload["user"] == {"role": "STAFF", "email": "sam@example.com"}
    mine = await api("{ myBusinesses { ... on BusinessList { businesses { id name } } } }",
                     token=payload["accessToken"])
    assert mine == {"myBusinesses": {"businesses": [{"id": shop.business_id, "name": "Fix-It"}]}}
    # and the code cannot be used twice
    again = await api("""mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) {
        __typename ... on ValidationError { path } } }""",
                      {"input": {"code": shop.staff_invite, "password": "staff password 2"}})
    assert again["acceptStaffInvite"] == {"__typename": "ValidationError", "path": ["input", "code"]}


async def test_a_quick_retry_of_a_refresh_is_refused_without_signing_the_user_out(api: GraphQLClient) -> None:
    # given a refresh whose answer the client lost, and a retry of it seconds later
    first = await sign_up(api, "pat@example.com")
    winner = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    retry = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    # then the retry is refused, and the tokens the first refresh issued still work
    assert retry["refreshToken"] == {"__typename": "AuthenticationFailed",
                                     "message": "Refresh token was just used; use the tokens it returned"}
    after = await api(REFRESH, {"input": {"refreshToken": winner["refreshToken"]["refreshToken"]}})
    assert after["refreshToken"]["__typename"] == "AuthPayload"


async def test_a_refresh_token_is_useless_after_sign_out(api: GraphQLClient) -> None:
    first = await sign_up(api, "pat@example.com")
    await api("""mutation($input: RefreshTokenInput!) { signOut(input: $input) { __typename } }""",
              {"input": {"refreshToken": first["refreshToken"]}})
    refused = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    assert refused["refreshToken"] == {"__typename": "AuthenticationFailed",
                                       "message": "Refresh token is invalid or expired"}


async def test_the_reuse_grace_is_ten_seconds_by_default(api: GraphQLClient) -> None:
    # given a refresh token exchanged by its client
    first = await sign_up(api, "pat@example.com")
    winner = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    # when the same client presents it again 9 seconds after the exchange
    await RefreshToken.filter(replaced_at__not_isnull=True).update(
        replaced_at=datetime.now(UTC) - timedelta(seconds=9))
    within = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    # then it is a retry: refused, and nothing is revoked
    assert within["refreshToken"]["message"] == "Refresh token was just used; use the tokens it returned"
    assert await RefreshToken.filter(revoked_at__not_isnull=True).count() == 0
    # and 11 seconds after the exchange it is a replay: the family, the winner's new token too, is revoked
    await RefreshToken.filter(replaced_at__not_isnull=True).update(
        replaced_at=datetime.now(UTC) - timedelta(seconds=11))
    replay = await api(REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    assert replay["refreshToken"]["message"] == "Refresh token was already used; sign in again"
    after = await api(REFRESH, {"input": {"refreshToken": winner["refreshToken"]["refreshToken"]}})
    assert after["refreshToken"]["__typename"] == "AuthenticationFailed"
