"""POST /webhooks/calendly?channel=... through the real ASGI app (app/appointment_webhooks.py): a channel no
connection has, or one of a disconnected connection, is Gone (Calendly then deletes the subscription); a forged or
stale signature is refused; a verified delivery is kept once and its job queued, a copy of it adds nothing, and one
Lockstep does not apply is answered and dropped. With Redis unreachable the delivery is still kept and answered, and
the scheduler hands it out later. Deliveries signed with the OAuth app's key count for a connection without its
own. Every refusal leaves the database as it was."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis import Redis

from app.main import create_app
from app.settings import Settings
from jobs.scheduler import sync_queue
from models import AppointmentDelivery, WatchChannel
from services.appointment_connections import NEVER_EXPIRES
from services.appointment_inbox import HAND_OUT_AGAIN, due_deliveries
from services.connections import disconnect_calendar
from services.credentials import CredentialVault, new_key
from tests.support.appointments import API, USER_URI, given_calendly_staff, invitee_uri, stored
from tests.support.calendly_deliveries import delivery_body, envelope_body, signed
from tests.support.server import free_port
from tests.support.sync import ConnectedStaff

KEY = new_key()
OWN_KEY = "the-connections-own-signing-key"
APP_KEY = "the-oauth-apps-signing-key"
CHANNEL = "0123456789abcdef0123456789abcdef"
URL = f"/webhooks/calendly?channel={CHANNEL}"
TEN = datetime(2030, 1, 8, 9, tzinfo=UTC)
BODY = delivery_body(start=TEN)


# What a personal access token's connection keeps (its own signing key), and what an OAuth connection's does (none).
PERSONAL: dict[str, object] = {"personal_access_token": "a-personal-token", "signing_keys": [OWN_KEY],
                               "user_uri": USER_URI, "organization_uri": f"{API}/organizations/O1"}
OAUTH: dict[str, object] = {"access_token": "an-access-token", "refresh_token": "a-refresh-token",
                            "user_uri": USER_URI}


def settings(redis_url: str | None, *, app_key: str = APP_KEY) -> Settings:
    return dataclasses.replace(Settings.from_env(), secret_keys=(KEY,), redis_url=redis_url,
                               calendly_webhook_signing_key=app_key)


async def given_subscribed(credentials: dict[str, object]) -> ConnectedStaff:
    """Given a staff member's Calendly connection holding `credentials` (sealed), whose webhook subscription
    delivers to the channel CHANNEL."""
    given = await given_calendly_staff(credentials=CredentialVault([KEY]).seal(credentials))
    await WatchChannel.create(external_calendar_id=given.calendar.id, channel_id=CHANNEL,
                              resource_id=f"{API}/webhook_subscriptions/W1", token_hash="",
                              expires_at=NEVER_EXPIRES)
    return given




@dataclasses.dataclass
class Hook:
    http: httpx.AsyncClient
    given: ConnectedStaff
    redis_url: str

    async def post(self, body: bytes, headers: dict[str, str], url: str = URL) -> int:
        return (await self.http.post(url, content=body, headers=headers)).status_code

    def queued(self) -> list[tuple[str | None, tuple[object, ...]]]:
        return [(job.func_name, tuple(job.args)) for job in sync_queue(Redis.from_url(self.redis_url)).jobs]


@asynccontextmanager
async def hook_of(app_settings: Settings, credentials: dict[str, object], redis_url: str
                  ) -> AsyncIterator[Hook]:
    given = await given_subscribed(credentials)
    transport = httpx.ASGITransport(app=create_app(app_settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://lockstep.test") as http:
        yield Hook(http, given, redis_url)


@pytest.fixture
async def hook(db: str, redis_url: str) -> AsyncIterator[Hook]:
    """The app with Redis, and a personal access token's connection subscribed on CHANNEL with its own key."""
    async with hook_of(settings(redis_url), PERSONAL, redis_url) as made:
        yield made


async def test_a_good_delivery_is_kept_once_its_job_queued_and_answered(hook: Hook) -> None:
    # when Calendly delivers an invitee.created signed with the connection's key
    status = await hook.post(BODY, signed(OWN_KEY, BODY))
    # then it is answered 200, kept as received for the account calendar, and its job queued
    assert status == 200
    (kept,) = await AppointmentDelivery.all()
    key = hashlib.sha256(f"invitee.created {invitee_uri('E1', 'I1')}".encode()).hexdigest()
    assert (kept.external_calendar_id, kept.key, kept.body, kept.applied_at, kept.attempts) == (
        hook.given.calendar.id, key, BODY.decode(), None, 0)
    assert hook.queued() == [("jobs.tasks.deliver", (kept.id,))]


async def test_the_same_delivery_again_is_answered_and_adds_nothing(hook: Hook) -> None:
    # given a delivery kept
    assert await hook.post(BODY, signed(OWN_KEY, BODY)) == 200
    before = await stored()
    queued = hook.queued()
    # when Calendly sends it again (a retry, signed anew)
    status = await hook.post(BODY, signed(OWN_KEY, BODY))
    # then it is answered as delivered, and there is no second copy and no second job
    assert status == 200
    assert await stored() == before
    assert await AppointmentDelivery.all().count() == 1
    assert hook.queued() == queued


async def test_a_verified_delivery_lockstep_does_not_apply_is_answered_and_dropped(hook: Hook) -> None:
    # given what is stored
    before = await stored()
    # when a properly signed invitee_no_show.created arrives
    body = envelope_body("invitee_no_show.created", {"uri": f"{API}/invitee_no_shows/N1",
                                                     "invitee": invitee_uri("E1", "I1")})
    status = await hook.post(body, signed(OWN_KEY, body))
    # then it is answered 200 (so Calendly does not retry it) and nothing is kept or queued
    assert status == 200
    assert await stored() == before
    assert hook.queued() == []


@pytest.mark.parametrize("headers", [
    signed("not-the-key", BODY), signed(OWN_KEY, BODY, seconds_ago=200), signed(OWN_KEY, b"{}"),
    {"Content-Type": "application/json"}, {"Calendly-Webhook-Signature": "t=1,v1=zz"}],
    ids=["wrong_key", "stale", "signs_another_body", "unsigned", "malformed"])
async def test_a_forged_or_stale_delivery_is_refused_and_changes_nothing(hook: Hook, headers: dict[str, str]
                                                                         ) -> None:
    # given what is stored
    before = await stored()
    # when a delivery arrives that the connection's key did not sign just now
    status = await hook.post(BODY, headers)
    # then it is refused, nothing is kept and nothing queued
    assert status == 401
    assert await stored() == before
    assert hook.queued() == []


@pytest.mark.parametrize("url", ["/webhooks/calendly?channel=ffffffffffffffffffffffffffffffff",
                                 "/webhooks/calendly", f"/webhooks/calendly?channel={'a' * 65}"],
                         ids=["unknown", "none", "too_long"])
async def test_a_delivery_for_a_channel_no_connection_has_is_gone_and_changes_nothing(hook: Hook, url: str) -> None:
    before = await stored()
    # when a delivery signed with a real key names a channel that is not the connection's
    status = await hook.post(BODY, signed(OWN_KEY, BODY), url)
    # then it is Gone (Calendly deletes such a subscription), and nothing changed
    assert status == 410
    assert await stored() == before
    assert hook.queued() == []


async def test_a_delivery_for_a_disconnected_connection_is_gone_and_changes_nothing(hook: Hook) -> None:
    # given the connection disconnected (its channel left as it was)
    await disconnect_calendar(hook.given.owner, hook.given.connection.id, False, datetime.now(UTC))
    before = await stored()
    # when Calendly delivers to it, signed with the key it had
    status = await hook.post(BODY, signed(OWN_KEY, BODY))
    # then it is Gone, and nothing was kept or queued
    assert status == 410
    assert await stored() == before
    assert hook.queued() == []


async def test_with_redis_unreachable_the_delivery_is_kept_answered_and_handed_out_later(db: str,
                                                                                        redis_url: str) -> None:
    # given the app's Redis on a port where nothing listens
    down = f"redis://127.0.0.1:{free_port()}/0"
    async with hook_of(settings(down), PERSONAL, redis_url) as hook:
        # when a good delivery arrives
        status = await hook.post(BODY, signed(OWN_KEY, BODY))
        # then it is answered 200 and kept, though no job could be queued
        assert status == 200
        (kept,) = await AppointmentDelivery.all()
        assert kept.applied_at is None
        # and the scheduler hands it out once it has waited HAND_OUT_AGAIN, and only once meanwhile
        assert await due_deliveries(kept.received_at + HAND_OUT_AGAIN - timedelta(seconds=1)) == []
        assert await due_deliveries(kept.received_at + HAND_OUT_AGAIN) == [kept.id]
        assert await due_deliveries(kept.received_at + HAND_OUT_AGAIN) == []


async def test_a_delivery_signed_with_the_oauth_apps_key_counts_for_a_connection_without_its_own(
        db: str, redis_url: str) -> None:
    # given an OAuth connection (no key of its own) in a deployment whose Calendly app signs with APP_KEY
    async with hook_of(settings(redis_url), OAUTH, redis_url) as hook:
        # when a delivery signed with the app's key arrives, and one signed with another key
        forged = await hook.post(BODY, signed(OWN_KEY, BODY))
        assert await AppointmentDelivery.all().count() == 0
        status = await hook.post(BODY, signed(APP_KEY, BODY))
        # then the forged one is refused and the app's is kept and queued
        assert (forged, status) == (401, 200)
        (kept,) = await AppointmentDelivery.all()
        assert hook.queued() == [("jobs.tasks.deliver", (kept.id,))]


async def test_without_any_key_to_check_with_every_delivery_is_refused(db: str, redis_url: str) -> None:
    # given an OAuth connection (no key of its own) in a deployment that configures no app key
    async with hook_of(settings(redis_url, app_key=""), OAUTH, redis_url) as hook:
        before = await stored()
        # when deliveries arrive signed with any key, or with an empty one
        statuses = [await hook.post(BODY, signed(key, BODY)) for key in (APP_KEY, OWN_KEY, "")]
        # then each is refused and nothing changed
        assert statuses == [401, 401, 401]
        assert await stored() == before
