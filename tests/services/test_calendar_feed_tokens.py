"""Feed addresses in the services: a feed answers only while its maker keeps the right to it, a customer's feed is
made once and linked again and again (its token sealed, and resealed when the keys rotate), two mails at once make
one feed, and a deleted customer's feeds go with their account."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from models import Business, CalendarFeed, FeedKind, Staff, User, UserRole
from services.auth import Viewer
from services.calendar_feeds import (
    create_feed,
    customer_feed_token,
    feed_of_token,
    reseal_feed_tokens,
    token_digest,
)
from services.credentials import CredentialsUnreadable, CredentialVault, new_key
from services.errors import NotAuthorizedError
from services.profile import delete_my_account

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


@dataclass
class People:
    owner: User
    staff_user: User
    customer: User
    business: Business
    staff: Staff


async def user(email: str, role: UserRole) -> User:
    return await User.create(email=email, name=email.split("@")[0].title(), password_hash="x", role=role)


async def given_people() -> People:
    owner = await user("olga@example.com", UserRole.OWNER)
    staff_user = await user("sam@example.com", UserRole.STAFF)
    customer = await user("cleo@example.com", UserRole.CUSTOMER)
    business = await Business.create(name="Fix-It", time_zone="Europe/Berlin", owner=owner)
    staff = await Staff.create(business=business, user=staff_user, name="Sam", email="sam@example.com",
                               time_zone="Europe/Berlin")
    return People(owner, staff_user, customer, business, staff)


def viewer(person: User) -> Viewer:
    return Viewer(person.id, person.role)


async def test_a_feed_answers_while_its_maker_keeps_the_right_to_it(db: str) -> None:
    # given Sam's own feed and the owner's business feed
    people = await given_people()
    vault = CredentialVault([new_key()])
    sams, sam_token = await create_feed(viewer(people.staff_user), people.staff.id, None, vault, NOW)
    business, business_token = await create_feed(viewer(people.owner), None, people.business.id, vault, NOW)
    assert [feed.id for feed in (await feed_of_token(sam_token), await feed_of_token(business_token))
            if feed is not None] == [sams.id, business.id]
    # when Sam is no longer that staff member, and the business passes to another owner
    await Staff.filter(id=people.staff.id).update(user_id=None)
    other = await user("otto@example.com", UserRole.OWNER)
    await Business.filter(id=people.business.id).update(owner_id=other.id)
    # then neither address answers any more, though neither was revoked
    assert (await feed_of_token(sam_token), await feed_of_token(business_token)) == (None, None)
    assert await CalendarFeed.filter(revoked_at=None).count() == 2


async def test_a_deleted_maker_s_feed_does_not_answer(db: str) -> None:
    people = await given_people()
    _feed, token = await create_feed(viewer(people.owner), people.staff.id, None, CredentialVault([new_key()]), NOW)
    await User.filter(id=people.owner.id).update(deleted_at=NOW)
    assert await feed_of_token(token) is None


async def test_tokens_are_looked_up_by_digest_and_shape(db: str) -> None:
    people = await given_people()
    feed, token = await create_feed(viewer(people.staff_user), people.staff.id, None, CredentialVault([new_key()]),
                                    NOW)
    assert feed.token_digest == token_digest(token) and token not in (feed.token_digest, feed.sealed_token)
    for other in ("", token[:-1], token + "A", token.upper() if token.upper() != token else token.lower(),
                  token_digest(token)):
        assert await feed_of_token(other) is None


async def test_a_customer_feed_is_made_once_and_linked_again(db: str) -> None:
    # given a customer without a feed
    people = await given_people()
    vault = CredentialVault([new_key()])
    # when two booking mails are made for them at once, and another later
    tokens = await asyncio.gather(*(customer_feed_token(people.customer.id, vault) for _ in range(4)))
    later = await customer_feed_token(people.customer.id, vault)
    # then they all link to one feed of theirs, whose token is kept sealed beside its digest
    assert len(set(tokens)) == 1 and later == tokens[0]
    (feed,) = await CalendarFeed.all()
    assert (feed.kind, feed.subject_id, feed.created_by_id) == (FeedKind.CUSTOMER, people.customer.id,
                                                                people.customer.id)
    assert vault.unseal(feed.sealed_token) == {"token": later} and feed.token_digest == token_digest(str(later))
    found = await feed_of_token(str(later))
    assert found is not None and found.id == feed.id


async def test_no_customer_feed_for_other_accounts_or_unreadable_seals(db: str) -> None:
    people = await given_people()
    vault = CredentialVault([new_key()])
    assert await customer_feed_token(people.owner.id, vault) is None
    assert await customer_feed_token(people.staff_user.id, vault) is None
    assert await customer_feed_token(999, vault) is None
    assert await CalendarFeed.all().count() == 0
    # a customer feed sealed under a key no longer configured: no link, and the feed stays as it was
    await customer_feed_token(people.customer.id, vault)
    before = [(row.id, row.sealed_token, row.revoked_at) for row in await CalendarFeed.all()]
    assert await customer_feed_token(people.customer.id, CredentialVault([new_key()])) is None
    assert [(row.id, row.sealed_token, row.revoked_at) for row in await CalendarFeed.all()] == before


async def test_a_customer_who_makes_a_new_feed_is_linked_to_the_new_one(db: str) -> None:
    people = await given_people()
    vault = CredentialVault([new_key()])
    first = await customer_feed_token(people.customer.id, vault)
    _feed, made = await create_feed(viewer(people.customer), None, None, vault, NOW)
    assert await customer_feed_token(people.customer.id, vault) == made != first
    assert await feed_of_token(str(first)) is None


async def test_rotating_the_keys_reseals_customer_feed_tokens(db: str) -> None:
    people = await given_people()
    old, new = new_key(), new_key()
    token = await customer_feed_token(people.customer.id, CredentialVault([old]))
    await create_feed(viewer(people.staff_user), people.staff.id, None, CredentialVault([old]), NOW)
    vault = CredentialVault([new, old])
    assert await reseal_feed_tokens(vault) == 1
    assert await reseal_feed_tokens(vault) == 1
    sealed = (await CalendarFeed.get(kind=FeedKind.CUSTOMER)).sealed_token
    assert CredentialVault([new]).unseal(sealed) == {"token": token}
    with pytest.raises(CredentialsUnreadable):
        CredentialVault([old]).unseal(sealed)
    assert await customer_feed_token(people.customer.id, CredentialVault([new])) == token


async def test_a_deleted_customer_s_feeds_go_with_the_account(db: str) -> None:
    people = await given_people()
    token = await customer_feed_token(people.customer.id, CredentialVault([new_key()]))
    await create_feed(viewer(people.staff_user), people.staff.id, None, CredentialVault([new_key()]), NOW)
    await delete_my_account(viewer(people.customer), "cleo@example.com", NOW)
    assert [row.kind for row in await CalendarFeed.all()] == [FeedKind.STAFF]
    assert await feed_of_token(str(token)) is None


async def test_a_refused_feed_writes_nothing(db: str) -> None:
    people = await given_people()
    with pytest.raises(NotAuthorizedError):
        await create_feed(viewer(people.customer), people.staff.id, None, CredentialVault([new_key()]), NOW)
    assert await CalendarFeed.all().count() == 0
