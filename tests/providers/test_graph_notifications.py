"""Reading Graph's webhook deliveries: validation requests, change and lifecycle notifications, and anything else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, strategies as st

from providers.entry import Inbound, Notification, NotificationKind
from providers.graph_notifications import MAX_VALIDATION_TOKEN, graph_notifications, validation_answer


def delivery(body: Any = b"", query: dict[str, str] | None = None) -> Inbound:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Inbound({"content-type": "application/json"}, query or {}, raw)


def change(subscription: str = "sub-1", state: str = "secret", change_type: str = "updated") -> dict[str, Any]:
    return {"id": "n1", "subscriptionId": subscription, "subscriptionExpirationDateTime": "2030-01-09T00:00:00Z",
            "clientState": state, "changeType": change_type, "resource": "Users/u1/Events/e1", "tenantId": "t1",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": "Users/u1/Events/e1",
                             "@odata.etag": 'W/"1"', "id": "e1"}}


def test_a_validation_request_is_answered_with_its_token() -> None:
    assert validation_answer(delivery(query={"validationToken": "Validation: Testing client application <x>"})) == (
        "Validation: Testing client application <x>")


def test_a_notification_is_not_a_validation_request() -> None:
    assert validation_answer(delivery({"value": [change()]})) is None


def test_a_token_longer_than_graph_issues_is_not_echoed() -> None:
    assert validation_answer(delivery(query={"validationToken": "x" * (MAX_VALIDATION_TOKEN + 1)})) is None


def test_change_notifications_of_one_post_are_read_once_each() -> None:
    # given one POST with two items of one subscription and one of another
    body = {"value": [change("sub-1"), change("sub-1", change_type="created"), change("sub-2", "other")]}
    # then each subscription's change is one notification, in the order they came
    assert graph_notifications(delivery(body)) == [Notification("sub-1", "secret"), Notification("sub-2", "other")]


def test_lifecycle_events_are_read_by_kind() -> None:
    items = [{"subscriptionId": "sub-1", "clientState": "secret", "lifecycleEvent": event, "tenantId": "t1",
              "subscriptionExpirationDateTime": "2030-01-09T00:00:00Z"}
             for event in ("reauthorizationRequired", "subscriptionRemoved", "missed", "somethingNew")]
    assert graph_notifications(delivery({"value": items})) == [
        Notification("sub-1", "secret", NotificationKind.RENEW),
        Notification("sub-1", "secret", NotificationKind.REMOVED),
        Notification("sub-1", "secret", NotificationKind.MISSED)]


def test_items_without_a_subscription_or_client_state_are_left_out() -> None:
    body = {"value": [{**change(), "clientState": None}, {**change(), "subscriptionId": ""}, "text",
                      {"subscriptionId": "sub-1", "clientState": "s"}]}
    assert graph_notifications(delivery(body)) == []


@given(st.binary(max_size=300))
def test_any_other_body_yields_nothing_and_never_raises(body: bytes) -> None:
    found = graph_notifications(delivery(body))
    assert all(isinstance(each, Notification) for each in found)
    assert found == [] or body.lstrip().startswith(b"{")
