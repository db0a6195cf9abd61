"""The webhook inbox: notifications are answered before they are checked, checked one at a time in the order they
came, a repeat of a pending one adds nothing, and a full inbox drops (and counts) what does not fit."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from app.webhook_inbox import MAX_FIELD_LENGTH, NotificationInbox
from app.webhooks import provider_webhook
from providers.entry import Notification
from providers.registry import GOOGLE
from services import metrics


def dropped() -> float:
    return metrics.REGISTRY.get_sample_value("lockstep_webhook_deliveries_total",
                                             {"provider": "test", "outcome": "dropped"}) or 0.0


class Checks:
    """A check that records what it was asked and waits for `release` before it answers."""

    def __init__(self, outcome: str = "ignored") -> None:
        self.seen: list[tuple[str, str]] = []
        self.release = asyncio.Event()
        self.outcome = outcome

    async def __call__(self, notification: Notification) -> str:
        await self.release.wait()
        self.seen.append((notification.channel_id, notification.token))
        if notification.token == "breaks":
            raise RuntimeError("the database went away")
        return self.outcome


async def test_the_answer_goes_before_the_check() -> None:
    # given a webhook route whose checks are held back
    checks = Checks()
    inbox = NotificationInbox("test", checks)
    app = Starlette(routes=[Route("/webhooks/google", provider_webhook(GOOGLE, inbox), methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test") as http:
        # when a change notification arrives
        answer = await http.post("/webhooks/google", headers={
            "X-Goog-Channel-ID": "chan-1", "X-Goog-Channel-Token": "token", "X-Goog-Resource-State": "exists"})
    # then it is answered while its check has not run yet, and checked once the check may go on
    assert (answer.status_code, answer.content, checks.seen) == (200, b"", [])
    checks.release.set()
    await inbox.drained()
    assert checks.seen == [("chan-1", "token")]


async def test_checked_in_order_once_each_and_a_failing_check_does_not_stop_the_rest() -> None:
    # given an inbox whose checks are held back
    checks = Checks()
    inbox = NotificationInbox("test", checks)
    # when notifications arrive, one of them twice and one whose check fails
    for channel_id, token in (("a", "t"), ("b", "breaks"), ("a", "t"), ("c", "t")):
        assert inbox.offer(Notification(channel_id, token))
    checks.release.set()
    await inbox.drained()
    # then each was checked once, in the order it first came, and the one after the failure was checked too
    assert checks.seen == [("a", "t"), ("b", "breaks"), ("c", "t")]
    assert inbox.pending() == 0


async def test_a_full_inbox_drops_what_does_not_fit_and_counts_it() -> None:
    # given an inbox of two whose checks are held back
    checks = Checks()
    inbox = NotificationInbox("test", checks, capacity=2)
    before = dropped()
    # when four different notifications arrive while one is being checked
    assert inbox.offer(Notification("a", "t"))
    await asyncio.sleep(0)  # the consumer takes "a" and waits in its check
    offered = [inbox.offer(Notification(channel_id, "t")) for channel_id in ("b", "c", "d")]
    # then the inbox took two more and dropped the last, counted as dropped
    assert offered == [True, True, False]
    assert dropped() == before + 1
    checks.release.set()
    await inbox.drained()
    assert checks.seen == [("a", "t"), ("b", "t"), ("c", "t")]


async def test_channel_ids_and_tokens_longer_than_any_provider_issues_are_never_checked() -> None:
    checks = Checks()
    checks.release.set()
    inbox = NotificationInbox("test", checks)
    assert inbox.offer(Notification("x" * (MAX_FIELD_LENGTH + 1), "t"))
    assert inbox.offer(Notification("a", "t" * (MAX_FIELD_LENGTH + 1)))
    await inbox.drained()
    assert (checks.seen, inbox.pending()) == ([], 0)
