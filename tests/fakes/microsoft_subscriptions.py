"""Change-notification subscriptions of the fake Microsoft Graph (reference section A5).

Terms:
- *validation*: before a subscription exists, Graph POSTs `?validationToken=<opaque text>` (Content-Type
  `text/plain; charset=utf-8`) to its notificationUrl and, when set, its lifecycleNotificationUrl; each must answer
  200 `text/plain` with the decoded token within 10 s, else the subscription is not created.
- *notification*: a `changeNotificationCollection` POSTed to notificationUrl after a change in the subscribed
  calendar; the receiver should answer 2xx within 3 s; 5xx and timeouts are retried a few times.
- *lifecycle notification*: the same collection shape with `lifecycleEvent` (reauthorizationRequired,
  subscriptionRemoved, missed), POSTed to lifecycleNotificationUrl.
- *delivery*: one POST as sent and what the receiver answered (status 0: no answer in time).
Every POST leaves through one queue, in order, from a background task, so a change by hand never waits on a receiver.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from yarl import URL

from tests.fakes.microsoft_times import utc_timestamp
from tests.fakes.outbox import Outbox

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
_RETRIED = {500, 502, 503, 504, 0}


@dataclass
class Subscription:
    subscription_id: str
    account: str
    user_id: str
    calendar_id: str
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    immutable_ids: bool
    application_id: str
    tenant_id: str

    @property
    def live(self) -> bool:
        return self.expiration > datetime.now(UTC)

    def resource_body(self) -> dict[str, Any]:
        return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
                "id": self.subscription_id, "resource": self.resource, "applicationId": self.application_id,
                "changeType": ",".join(self.change_types), "clientState": self.client_state,
                "notificationUrl": self.notification_url, "notificationQueryOptions": None,
                "lifecycleNotificationUrl": self.lifecycle_url, "expirationDateTime": utc_timestamp(self.expiration),
                "creatorId": self.user_id, "includeResourceData": False, "latestSupportedTlsVersion": "v1_2",
                "encryptionCertificate": None, "encryptionCertificateId": None, "notificationUrlAppId": None}


@dataclass(frozen=True)
class Delivery:
    kind: str  # "validation", "notification" or "lifecycle"
    url: str  # as posted, query included
    content_type: str
    body: Any  # the JSON sent (None for a validation request)
    token: str | None  # the validation token sent, decoded
    status: int
    answer_type: str
    answer: str
    seconds: float  # from sending to the answer
    subscription_id: str | None = None


@dataclass
class Subscriptions(Outbox[tuple[str, Subscription, dict[str, Any]]]):
    require_https: bool = False
    max_expiry_minutes: int = 10070
    validation_timeout: float = 10.0
    notification_timeout: float = 3.0
    retry_delay: float = 0.05
    live: dict[str, Subscription] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)

    def covering(self, account: str, calendar_id: str, change_type: str) -> list[Subscription]:
        return [subscription for subscription in self.live.values()
                if subscription.account == account and subscription.calendar_id == calendar_id
                and subscription.live and change_type in subscription.change_types]

    def expire(self, subscription_id: str) -> None:
        """Let a subscription run out: it stays listed but notifies no more."""
        self.live[subscription_id].expiration = datetime.now(UTC) - timedelta(seconds=1)

    # -- the validation handshake ---------------------------------------------------------------------------------

    async def validated(self, url: str, subscription_id: str) -> bool:
        assert self._session is not None
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = URL(url).update_query(validationToken=token)
        started = time.perf_counter()
        status, answer_type, answer = 0, "", ""
        try:
            async with self._session.post(target, data=b"", headers={"Content-Type": "text/plain; charset=utf-8"},
                                          timeout=aiohttp.ClientTimeout(total=self.validation_timeout)) as reply:
                status, answer_type, answer = reply.status, reply.headers.get("Content-Type", ""), await reply.text()
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.deliveries.append(Delivery("validation", str(target), "text/plain; charset=utf-8", None, token, status,
                                        answer_type, answer, time.perf_counter() - started, subscription_id))
        return status == 200 and answer_type.split(";")[0].strip() == "text/plain" and answer == token

    # -- notifications --------------------------------------------------------------------------------------------

    def notify(self, subscription: Subscription, change_type: str, item_id: str, etag: str) -> None:
        """Queue a change notification (call on the server's loop)."""
        resource = f"Users/{subscription.user_id}/Events/{item_id}"
        item = {"id": str(uuid.uuid4()), "subscriptionId": subscription.subscription_id,
                "subscriptionExpirationDateTime": utc_timestamp(subscription.expiration),
                "changeType": change_type, "resource": resource, "clientState": subscription.client_state,
                "tenantId": subscription.tenant_id,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource,
                                 "@odata.etag": etag, "id": item_id}}
        self._put(("notification", subscription, {"value": [item]}))

    def send_lifecycle(self, subscription_id: str, lifecycle_event: str) -> None:
        """Queue a lifecycle notification (call on the server's loop); subscriptionRemoved also removes it."""
        if lifecycle_event not in LIFECYCLE_EVENTS:
            raise ValueError(f"unknown lifecycle event {lifecycle_event!r}")
        subscription = self.live[subscription_id]
        if subscription.lifecycle_url is None:
            raise ValueError("the subscription has no lifecycleNotificationUrl")
        item = {"subscriptionId": subscription_id,
                "subscriptionExpirationDateTime": utc_timestamp(subscription.expiration),
                "tenantId": subscription.tenant_id, "clientState": subscription.client_state,
                "lifecycleEvent": lifecycle_event}
        if lifecycle_event == "subscriptionRemoved":
            del self.live[subscription_id]
        self._put(("lifecycle", subscription, {"value": [item]}))

    async def _send(self, item: tuple[str, Subscription, dict[str, Any]]) -> None:
        kind, subscription, body = item
        if kind == "lifecycle" or subscription.live:
            await self._deliver(kind, subscription, body)

    async def _deliver(self, kind: str, subscription: Subscription, body: dict[str, Any]) -> None:
        assert self._session is not None
        url = subscription.lifecycle_url if kind == "lifecycle" else subscription.notification_url
        assert url is not None
        data = json.dumps(body).encode()
        for attempt in range(3):
            started = time.perf_counter()
            status, answer_type, answer = 0, "", ""
            try:
                async with self._session.post(url, data=data, headers={"Content-Type": "application/json"},
                                              timeout=aiohttp.ClientTimeout(total=self.notification_timeout)) as reply:
                    status, answer_type = reply.status, reply.headers.get("Content-Type", "")
                    answer = await reply.text()
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.deliveries.append(Delivery(kind, url, "application/json", body, None, status, answer_type, answer,
                                            time.perf_counter() - started, subscription.subscription_id))
            if status not in _RETRIED:
                return
            await asyncio.sleep(self.retry_delay * 2 ** attempt)
