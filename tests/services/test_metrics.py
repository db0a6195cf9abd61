"""The shared job outcome tally: bounded fields, and a Redis that does not answer never fails a finished job."""

from __future__ import annotations

from redis import Redis

from services import metrics
from services.metrics import JOB_OUTCOMES_KEY, job_outcome_counts, record_job_outcome, record_job_outcomes
from services.throttle import count_throttled
from tests.support.server import free_port


def test_outcomes_are_added_up_under_bounded_names(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    for job, outcome in (("push", "done"), ("push", "done"), ("pull", "retry"), ("push", "a new status"),
                         ("import everything", "done")):
        record_job_outcome(redis, job, outcome)
    assert job_outcome_counts(redis) == {("push", "done"): 2, ("pull", "retry"): 1, ("push", "other"): 1,
                                         ("other", "done"): 1}


def test_a_batch_job_counts_each_of_its_outcomes(redis_url: str) -> None:
    # given a pull batch that pulled two calendars and handed one back
    redis = Redis.from_url(redis_url)
    # when its outcomes are counted
    record_job_outcomes(redis, "pull", ["done", "handed_back", "done"])
    # then each calendar counts as one pull
    assert job_outcome_counts(redis) == {("pull", "done"): 2, ("pull", "handed_back"): 1}


def test_a_redis_that_does_not_answer_loses_the_count_but_raises_nothing(redis_url: str) -> None:
    away = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    record_job_outcome(away, "push", "done")
    assert Redis.from_url(redis_url).exists(JOB_OUTCOMES_KEY) == 0


def test_refused_sign_in_provider_mutations_are_counted_by_their_own_names() -> None:
    def counted(operation: str) -> float:
        return metrics.REGISTRY.get_sample_value("lockstep_signin_throttled_total", {"operation": operation}) or 0.0

    names = ["signInWithProviderToken", "linkSignInProvider", "unlinkSignInProvider", "setPassword", "other"]
    before = {name: counted(name) for name in names}
    for action in ("sign_in_with_provider_token", "link_sign_in_provider", "unlink_sign_in_provider",
                   "set_password", "something_new"):
        count_throttled(action)
    assert {name: counted(name) - before[name] for name in names} == dict.fromkeys(names, 1.0)
