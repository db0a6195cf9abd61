"""The fake Calendly's delivery log says when each POST began (`Attempt.sent_at`), which the Calendly latency bench
measures from: a first attempt and its retry, each stamped between the booking and the log's entry, in order."""

from __future__ import annotations

import time

import httpx

from tests.fakes.calendly import FakeCalendly
from tests.fakes.test_calendly_fake_webhooks import book, subscribe
from tests.support.calendly import Receiver


async def test_each_attempt_is_stamped_when_its_post_began(calendly: FakeCalendly, rest: httpx.AsyncClient,
                                                           receiver: Receiver) -> None:
    # given a receiver that fails the first POST and takes the second
    await subscribe(rest, calendly, receiver.hook_url)
    receiver.answers = [500, 200]
    # when an appointment is booked and its delivery settles
    before = time.perf_counter()
    book(calendly)
    await calendly.deliveries_settled()
    after = time.perf_counter()
    # then both attempts are logged, each with the moment its POST began, in the order they were sent
    first, retry = calendly.webhooks.attempts
    assert [(attempt.number, attempt.status) for attempt in (first, retry)] == [(1, 500), (2, 200)]
    assert before < first.sent_at < retry.sent_at < after
    assert len(receiver.received) == 2
