"""What Lockstep counts for its operators (Prometheus), and the names and labels it counts under.

Terms:
- *process counters* live in the memory of the process that sees the event (the API: GraphQL requests and errors,
  webhook deliveries, throttled sign-ins) and are scraped from that process's `/metrics`.
- *job outcomes* happen in worker processes, which serve no HTTP. Each worker adds its outcome to one Redis hash
  that every API process reads when scraped, so the count is the deployment's, whichever API process is asked, and
  survives a worker's restart.
- *state* (sync lag, backlogs, queue depth, live subscribers) is not counted at all: it is read when scraped
  (services.metrics_state and the /metrics route).
Every label takes its values from a fixed set, so a client can never create new series by what it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger("lockstep.metrics")

# No `_created` series: they double every counter's series for a timestamp Prometheus does not need.
disable_created_metrics()
# This process's counters. A registry of our own (not prometheus_client's global one) keeps what /metrics shows to
# what this module defines.
REGISTRY = CollectorRegistry()

OTHER = "other"  # the label value for anything outside a label's fixed set

GRAPHQL_DURATION = Histogram(
    "lockstep_graphql_request_duration_seconds",
    "Time to answer one GraphQL query or mutation, by its root field",
    ["operation_type", "operation"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
GRAPHQL_ERRORS = Counter(
    "lockstep_graphql_errors", "GraphQL errors answered, by what went wrong", ["type"], registry=REGISTRY)
WEBHOOK_DELIVERIES = Counter(
    "lockstep_webhook_deliveries", "Provider push notifications received, by what became of them",
    ["provider", "outcome"], registry=REGISTRY)
SIGN_INS_THROTTLED = Counter(
    "lockstep_signin_throttled", "Sign-in and account requests refused for coming too often, by operation",
    ["operation"], registry=REGISTRY)

# GraphQL errors: the document did not parse (or was too long); it did not validate (unknown fields, limits of depth
# and aliases, introspection when off); its variables did not fit their types; a resolver refused it on purpose
# (a service error such as "Sign in first"); or a resolver failed unexpectedly (masked for the client).
ERROR_TYPES = ("syntax", "validation", "variables", "refused", "unexpected")
WEBHOOK_OUTCOMES = ("accepted", "ignored", "failed", "dropped", "handshake", "gone", "forged", "duplicate")
# The throttle's actions (services.throttle) and the GraphQL operations they are counted as; any other counts as
# "other" (add an action here when it is throttled too).
OPERATION_OF_ACTION = {
    "sign_in": "signIn", "sign_up": "signUp", "refresh_token": "refreshToken",
    "accept_staff_invite": "acceptStaffInvite",
    "sign_in_with_provider_token": "signInWithProviderToken", "exchange_sign_in_code": "exchangeSignInCode",
    "link_sign_in_provider": "linkSignInProvider", "unlink_sign_in_provider": "unlinkSignInProvider",
    "set_password": "setPassword", "verify_email": "verifyEmail", "resend_verification": "resendVerification",
    "request_password_reset": "requestPasswordReset", "reset_password": "resetPassword",
    "request_email_change": "requestEmailChange", "email_change_mail": "requestEmailChange",
    "confirm_email_change": "confirmEmailChange", "resend_staff_invite": "resendStaffInvite"}
THROTTLED_OPERATIONS = frozenset(OPERATION_OF_ACTION.values())

JOB_OUTCOMES_KEY = "lockstep:metrics:sync-job-outcomes"
SYNC_JOBS = ("push", "pull", "refresh", "watch", "mail")
# What a sync job reports: done, nothing to do (skipped), calendar busy with another job, retried later, gave up
# on the item (failed), credentials refused (reauthorize), a push that waits for a pull first (needs_pull), or a
# scheduled pull its batch handed back unstarted when the batch's time was up (handed_back), or a refresh the
# provider refused because of this server's own registration (app_rejected: the operator's to fix). A mail job
# (jobs.mail) reports sent, retrying (the mail server could not take it now), failed (refused, or a day of trying)
# or skipped (nothing to send).
JOB_OUTCOMES = ("done", "skipped", "busy", "retry", "failed", "reauthorize", "needs_pull", "handed_back",
                "app_rejected", "sent", "retrying")


def _bounded(value: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    return value if value in allowed else OTHER


def record_graphql_request(operation_type: str, operation: str, seconds: float) -> None:
    """One query or mutation answered. `operation` must already be bounded (a root field of the schema, or one of
    the buckets the caller defines)."""
    GRAPHQL_DURATION.labels(operation_type, operation).observe(seconds)


def record_graphql_error(error_type: str) -> None:
    GRAPHQL_ERRORS.labels(_bounded(error_type, ERROR_TYPES)).inc()


def record_webhook_delivery(provider: str, outcome: str) -> None:
    """`outcome`: accepted (a verified notification made its calendar due for a pull), ignored (not a change, or
    not from a live channel with its secret token), failed (could not be recorded; the backstop pull covers it)."""
    WEBHOOK_DELIVERIES.labels(provider, _bounded(outcome, WEBHOOK_OUTCOMES)).inc()


def record_throttled_sign_in(operation: str) -> None:
    """Count one request refused by sign-in throttling. `operation` is the GraphQL mutation refused ("signIn",
    "signUp", "refreshToken", ...); names outside THROTTLED_OPERATIONS count as "other", so a caller can pass what
    a client sent without creating new series."""
    SIGN_INS_THROTTLED.labels(_bounded(operation, THROTTLED_OPERATIONS)).inc()


def throttled_sign_ins(operation: str) -> float:
    """How many requests of `operation` this process has refused for coming too often (what /metrics reports)."""
    return REGISTRY.get_sample_value("lockstep_signin_throttled_total", {"operation": operation}) or 0.0


def record_job_outcome(redis: Redis, job: str, outcome: str) -> None:
    """Add one finished sync job to the deployment's shared count. A Redis that does not answer loses this one
    count (the job itself has done its work, and its sync log entry says what happened)."""
    record_job_outcomes(redis, job, [outcome])


def record_job_outcomes(redis: Redis, job: str, outcomes: Sequence[str]) -> None:
    """record_job_outcome for each of `outcomes` (a batch job's), in one round trip."""
    fields: dict[str, int] = {}
    for outcome in outcomes:
        field = f"{_bounded(job, SYNC_JOBS)}:{_bounded(outcome, JOB_OUTCOMES)}"
        fields[field] = fields.get(field, 0) + 1
    try:
        pipeline = redis.pipeline(transaction=False)
        for field, count in fields.items():
            pipeline.hincrby(JOB_OUTCOMES_KEY, field, count)
        pipeline.execute()
    except RedisError:
        log.warning("job outcomes %s not counted: Redis unreachable", ", ".join(fields))


def job_outcome_counts(redis: Redis) -> Mapping[tuple[str, str], int]:
    """Every sync job counted so far, by (job, outcome). Raises RedisError when Redis does not answer."""
    counts: dict[tuple[str, str], int] = {}
    for field, value in redis.hgetall(JOB_OUTCOMES_KEY).items():
        job, _, outcome = (field.decode() if isinstance(field, bytes) else str(field)).partition(":")
        counts[(job, outcome)] = int(value)
    return counts
