"""A user's own profile, and a customer deleting their account, through the real ASGI app: personal data erased,
bookings kept as anonymous records, the account signed out everywhere; bad input and other roles change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import AccountToken, Booking, MailOutbox, Notification, RefreshToken, User
from services.profile import DELETED_NAME, FORMER_CUSTOMER
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

UPDATE = """mutation($input: UpdateMyProfileInput!) { updateMyProfile(input: $input) { __typename
  ... on User { name phone photoUrl email } ... on ValidationError { message path } } }"""
DELETE = """mutation($email: String!) { deleteMyAccount(input: {email: $email}) { __typename
  ... on DeleteMyAccountPayload { deleted } ... on ValidationError { message path }
  ... on NotAuthorized { message } } }"""
VIEWER = "query { viewer { email } }"
SIGN_IN = """mutation($email: String!) { signIn(input: {email: $email, password: "correct horse battery"}) {
  __typename } }"""
IN_THREE_DAYS = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)


async def rows() -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await User.all().order_by("id").values_list("email", "name", "phone", "photo_url",
                                                                             "deleted_at")]


async def test_a_user_changes_their_name_phone_and_photo(api: GraphQLClient) -> None:
    cleo = await sign_up(api, "cleo@example.com", name="Cleo Customer")
    data = await api(UPDATE, {"input": {"name": "Cleo C.", "phone": "+49 30 1234567",
                                        "photoUrl": "https://cdn.example.com/cleo.jpg"}}, cleo["accessToken"])
    assert data["updateMyProfile"] == {"__typename": "User", "name": "Cleo C.", "phone": "+49 30 1234567",
                                       "photoUrl": "https://cdn.example.com/cleo.jpg", "email": "cleo@example.com"}
    # and a field left out stays, an empty one clears
    data = await api(UPDATE, {"input": {"photoUrl": ""}}, cleo["accessToken"])
    assert (data["updateMyProfile"]["name"], data["updateMyProfile"]["photoUrl"]) == ("Cleo C.", None)


async def test_a_bad_photo_address_or_phone_changes_nothing(api: GraphQLClient) -> None:
    cleo = await sign_up(api, "cleo@example.com", name="Cleo Customer")
    before = await rows()
    for change, path in (({"name": "Cleo", "photoUrl": "javascript:alert(1)"}, "photoUrl"),
                         ({"name": "Cleo", "phone": "call me maybe"}, "phone"), ({"name": "  "}, "name")):
        data = await api(UPDATE, {"input": change}, cleo["accessToken"])
        assert (data["updateMyProfile"]["__typename"], data["updateMyProfile"]["path"]) == (
            "ValidationError", ["input", path])
    assert await rows() == before


async def test_a_customer_deletes_their_account_and_their_bookings_stay_anonymous(api: GraphQLClient) -> None:
    # given a customer with a booking, a notification and a refresh token, and another customer
    shop = await given_shop(api)
    cleo = await sign_up(api, "cleo@example.com", name="Cleo Customer")
    dan = await sign_up(api, "dan@example.com", name="Dan Customer")
    booked = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": IN_THREE_DAYS.isoformat(),
                                                  "customerNotes": "Gate code 1234"}}, cleo["accessToken"])
    assert booked["createBooking"]["__typename"] == "BookingPayload", booked
    user = await User.get(email="cleo@example.com")
    await Notification.create(user=user, kind="booking_moved", message="Your booking moved")
    owed = await MailOutbox.filter(user_id=user.id).values_list("kind", flat=True)
    # the link to verify her address, her confirmation, and the reminder owed
    assert sorted(owed) == ["account_verify", "booking_confirmed", "booking_reminder"]
    # when she deletes her account, confirming with her address
    data = await api(DELETE, {"email": "Cleo@Example.com"}, cleo["accessToken"])
    # then it is gone: no personal data, no tokens, no notifications; her booking stays, anonymous
    assert data["deleteMyAccount"] == {"__typename": "DeleteMyAccountPayload", "deleted": True}
    erased = await User.get(id=user.id)
    assert (erased.email, erased.name, erased.password_hash, erased.phone) == (
        f"deleted-{user.id}@deleted.invalid", DELETED_NAME, "", "")
    assert erased.deleted_at is not None
    assert await RefreshToken.filter(user_id=user.id).count() == 0
    assert await AccountToken.filter(user_id=user.id).count() == 0
    assert await Notification.filter(user_id=user.id).count() == 0
    assert await MailOutbox.filter(user_id=user.id).count() == 0  # no mail goes out to her any more
    booking = await Booking.get()
    assert (booking.customer_id, booking.customer_name, booking.customer_email, booking.customer_notes,
            booking.status) == (None, FORMER_CUSTOMER, "", "", "confirmed")
    # and her access token no longer signs her in, nor does her password
    assert (await api(VIEWER, {}, cleo["accessToken"]))["viewer"] is None
    assert (await api(SIGN_IN, {"email": "cleo@example.com"}))["signIn"]["__typename"] == "AuthenticationFailed"
    # while the other customer is untouched
    assert (await api(VIEWER, {}, dan["accessToken"]))["viewer"] == {"email": "dan@example.com"}


async def test_a_wrong_confirmation_or_a_business_account_deletes_nothing(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    cleo = await sign_up(api, "cleo@example.com", name="Cleo Customer")
    before = await rows()
    wrong = await api(DELETE, {"email": "someone@example.com"}, cleo["accessToken"])
    owner = await api(DELETE, {"email": "owner@example.com"}, shop.owner_token)
    anonymous = await api(DELETE, {"email": "cleo@example.com"})
    assert (wrong["deleteMyAccount"]["__typename"], wrong["deleteMyAccount"]["path"]) == (
        "ValidationError", ["input", "email"])
    assert owner["deleteMyAccount"]["__typename"] == "NotAuthorized"
    assert anonymous["deleteMyAccount"]["__typename"] == "NotAuthorized"
    assert await rows() == before
