"""Connecting a calendar by OAuth at the service level: the state's rules (bound, single use, ten minutes, kept
server-side), the return URL allow-list, and storing the granted account. The provider side is an injected gateway."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from redis import Redis

from jobs.scheduler import GRANT_SWEEP_EVERY, Scheduler
from models import CalendarConnection, ConnectionHealth, ExternalCalendar, OAuthState, Provider, User, UserRole
from services.auth import Viewer
from services.connections import ProbedCalendar
from services.credentials import CredentialVault, new_key
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from services.oauth_confirmation import CONFIRMATION_LIFETIME, confirm_calendar_connection, hold_granted_account
from services.oauth_connections import (
    STATE_LIFETIME,
    GrantedAccount,
    OAuthStateError,
    PendingConnection,
    complete_oauth_connection,
    start_calendar_connection,
    use_authorisation_state,
)
from tests.services.test_connections import given_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
VAULT = CredentialVault([new_key()])
ALLOWED = ["lockstep://calendars", "https://app.example.com/settings"]
PRIMARY = ProbedCalendar("sam@example.com", "Sam", "#9fe1e7", "Europe/Berlin", writable=True, primary=True)
HOLIDAYS = ProbedCalendar("holidays", "Holidays", "", "Europe/Berlin", writable=False, primary=False)


class Gateway:
    """The provider side of the flow, as the app wires it, reduced to what the service relies on."""

    provider = "google"

    def authorization_url(self, state: str, code_verifier: str) -> str:
        return f"https://accounts.example/auth?state={state}&verifier={code_verifier}"

    async def grant(self, code: str, code_verifier: str, now: datetime) -> GrantedAccount:
        raise AssertionError("not used at this level")


def state_and_verifier(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query)
    return query["state"][0], query["verifier"][0]


def granted(access: str = "access-1") -> GrantedAccount:
    return GrantedAccount("sam@example.com", {"access_token": access, "refresh_token": "refresh-1"},
                          NOW + timedelta(hours=1), (PRIMARY, HOLIDAYS))


async def test_starting_keeps_only_the_states_hash_and_a_sealed_verifier_for_ten_minutes(db: str) -> None:
    given = await given_staff()
    start = await start_calendar_connection(given.staff_viewer, given.staff.id, "lockstep://calendars/done",
                                            Gateway(), ALLOWED, VAULT, NOW)
    state, verifier = state_and_verifier(start.url)
    row = await OAuthState.get()
    assert start.expires_at == NOW + STATE_LIFETIME == row.expires_at
    assert (row.state_hash, row.staff_id, row.provider, row.return_url) == (
        hashlib.sha256(state.encode()).hexdigest(), given.staff.id, Provider.GOOGLE, "lockstep://calendars/done")
    assert verifier not in row.code_verifier and VAULT.unseal(row.code_verifier) == {"verifier": verifier}
    assert len(state) >= 40 and len(verifier) >= 80


async def test_a_return_url_off_the_list_is_refused_and_nothing_is_stored(db: str) -> None:
    given = await given_staff()
    with pytest.raises(InvalidInputError) as raised:
        await start_calendar_connection(given.owner, given.staff.id, "https://evil.example/settings", Gateway(),
                                        ALLOWED, VAULT, NOW)
    assert raised.value.path == ["input", "returnUrl"]
    assert await OAuthState.all().count() == 0


async def test_nobody_but_the_staff_member_and_the_owner_may_start(db: str) -> None:
    given = await given_staff()
    with pytest.raises(NotAuthorizedError):
        await start_calendar_connection(Viewer(None, None), given.staff.id, "lockstep://calendars", Gateway(),
                                        ALLOWED, VAULT, NOW)
    assert await OAuthState.all().count() == 0


async def test_a_state_is_good_once_before_it_expires_and_only_for_its_provider(db: str) -> None:
    given = await given_staff()
    start = await start_calendar_connection(given.owner, given.staff.id, "lockstep://calendars", Gateway(),
                                            ALLOWED, VAULT, NOW)
    state, verifier = state_and_verifier(start.url)
    for wrong, provider in (("a-state-nobody-issued", "google"), (state, "microsoft"), ("", "google")):
        with pytest.raises(OAuthStateError) as raised:
            await use_authorisation_state(wrong, provider, VAULT, NOW)
        assert raised.value.reason == "unknown"
    pending = await use_authorisation_state(state, "google", VAULT, NOW + STATE_LIFETIME - timedelta(seconds=1))
    assert pending == PendingConnection(given.owner.user_id or 0, given.staff.id, "google", verifier,
                                        "lockstep://calendars", (await OAuthState.get()).id)
    with pytest.raises(OAuthStateError) as replayed:
        await use_authorisation_state(state, "google", VAULT, NOW)
    assert replayed.value.reason == "used"


async def test_an_expired_state_is_refused_and_stays_unused(db: str) -> None:
    given = await given_staff()
    start = await start_calendar_connection(given.owner, given.staff.id, "lockstep://calendars", Gateway(),
                                            ALLOWED, VAULT, NOW)
    state, _ = state_and_verifier(start.url)
    with pytest.raises(OAuthStateError) as raised:
        await use_authorisation_state(state, "google", VAULT, NOW + STATE_LIFETIME)
    assert raised.value.reason == "expired"
    assert (await OAuthState.get()).used_at is None


async def test_a_granted_account_becomes_a_connection_whose_primary_calendar_imports_and_takes_bookings(
        db: str) -> None:
    given = await given_staff()
    pending = PendingConnection(given.owner.user_id or 0, given.staff.id, "google", "verifier", "lockstep://x", 0)
    connection = await complete_oauth_connection(pending, granted(), VAULT, NOW)
    assert (connection.provider, connection.account_label, connection.health, connection.token_expires_at) == (
        Provider.GOOGLE, "sam@example.com", ConnectionHealth.ACTIVE, NOW + timedelta(hours=1))
    assert VAULT.unseal(connection.credentials) == {"access_token": "access-1", "refresh_token": "refresh-1"}
    calendars = await ExternalCalendar.filter(connection_id=connection.id).order_by("id").values_list(
        "provider_calendar_id", "import_busy", "is_destination", "next_pull_at")
    assert calendars == [("sam@example.com", True, True, NOW), ("holidays", False, False, NOW)]
    # when the same account is connected again (after re-authorisation), the connection is revived, not doubled
    await CalendarConnection.filter(id=connection.id).update(health=ConnectionHealth.REAUTHORIZATION_REQUIRED)
    again = await complete_oauth_connection(pending, granted("access-2"), VAULT, NOW)
    assert (again.id, again.health) == (connection.id, ConnectionHealth.ACTIVE)
    assert VAULT.unseal(again.credentials)["access_token"] == "access-2"
    assert await ExternalCalendar.filter(connection_id=connection.id).count() == 2


async def test_a_held_grant_is_sealed_and_only_its_starter_turns_it_into_a_connection(db: str) -> None:
    # given a state used at the callback, and the account the provider granted held for confirmation
    given = await given_staff()
    start = await start_calendar_connection(given.owner, given.staff.id, "lockstep://calendars", Gateway(),
                                            ALLOWED, VAULT, NOW)
    pending = await use_authorisation_state(state_and_verifier(start.url)[0], "google", VAULT, NOW)
    code = await hold_granted_account(pending, granted(), VAULT, NOW)
    # then the tokens are stored sealed, and not under the code itself
    row = await OAuthState.get()
    assert row.granted_account is not None and "access-1" not in row.granted_account
    assert row.confirmation_hash != code and row.confirm_by == NOW + CONFIRMATION_LIFETIME
    # when someone else confirms, then it is unknown to them and nothing is connected
    stranger = await User.create(email="eve@example.com", name="Eve", password_hash="-", role=UserRole.OWNER)
    with pytest.raises(NotFoundError):
        await confirm_calendar_connection(Viewer(stranger.id, UserRole.OWNER), code, VAULT, NOW)
    assert await CalendarConnection.all().count() == 0
    # when the starter confirms just before it expires, then the account is connected and the held tokens erased
    connection = await confirm_calendar_connection(given.owner, code, VAULT,
                                                   NOW + CONFIRMATION_LIFETIME - timedelta(seconds=1))
    assert (connection.staff_id, connection.account_label) == (given.staff.id, "sam@example.com")
    assert VAULT.unseal(connection.credentials)["refresh_token"] == "refresh-1"
    assert (await OAuthState.get()).granted_account is None


async def test_a_grant_nobody_confirms_is_erased_by_the_scheduler_once_its_time_is_up(db: str, redis_url: str) -> None:
    # given an account granted and held for confirmation
    given = await given_staff()
    start = await start_calendar_connection(given.owner, given.staff.id, "lockstep://calendars", Gateway(),
                                            ALLOWED, VAULT, NOW)
    pending = await use_authorisation_state(state_and_verifier(start.url)[0], "google", VAULT, NOW)
    await hold_granted_account(pending, granted(), VAULT, NOW)
    scheduler = Scheduler(Redis.from_url(redis_url), "test")
    # when the scheduler ticks within its time, the held tokens stay; once it is up, they are erased
    await scheduler.tick(NOW + CONFIRMATION_LIFETIME - timedelta(seconds=1))
    assert (await OAuthState.get()).granted_account is not None
    await scheduler.tick(NOW + CONFIRMATION_LIFETIME + GRANT_SWEEP_EVERY)
    assert (await OAuthState.get()).granted_account is None
    assert await CalendarConnection.all().count() == 0
