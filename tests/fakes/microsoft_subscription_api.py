"""The fake Microsoft Graph's /subscriptions handlers: create (after the validation handshake), get, list, renew,
reauthorize and delete (reference section A5).

A subscription's resource is `me/events` (the default calendar only, as Graph notifies in practice) or
`me/calendars/{id}/events` (the per-calendar form Graph accepts though it is undocumented); the `users/{id}` forms
too. Expiry is capped at `max_expiry_minutes` (400 ExtensionError above it) and raised to 45 minutes when sooner.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.microsoft_api import json_object
from tests.fakes.microsoft_errors import GraphError
from tests.fakes.microsoft_query import MAILBOX, PREFS, Preferences
from tests.fakes.microsoft_store import Mailbox
from tests.fakes.microsoft_subscriptions import Subscription, Subscriptions

_RESOURCE = re.compile(r"/?(?:me|users/(?P<user>[^/]+))/(?:events|calendars/(?P<calendar>[^/]+)/events)",
                       re.IGNORECASE)
_CHANGE_TYPES = ("created", "updated", "deleted")
MIN_EXPIRY = timedelta(minutes=45)
MAX_CLIENT_STATE = 128


def _validation_failed() -> GraphError:
    return GraphError(400, "ValidationError", "Subscription validation request failed. Notification endpoint must "
                                              "respond with 200 OK to validation request.")


class SubscriptionApi:
    _lock: threading.RLock
    subscriptions: Subscriptions
    tenant_id: str
    client_id: str

    def _expiry(self, body: dict[str, Any]) -> datetime:
        raw = body.get("expirationDateTime")
        try:
            expiry = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError as exc:
            raise GraphError(400, "InvalidRequest", "expirationDateTime is not a valid date-time.") from exc
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        limit = self.subscriptions.max_expiry_minutes
        if expiry > now + timedelta(minutes=limit):
            raise GraphError(400, "ExtensionError", f"Subscription expiration can only be {limit} minutes in the "
                                                    "future.")
        return max(expiry, now + MIN_EXPIRY)

    def _calendar_of(self, mailbox: Mailbox, resource: Any) -> str:
        match = _RESOURCE.fullmatch(resource) if isinstance(resource, str) else None
        user = match.group("user") if match else None
        if match is None or (user is not None and user.lower() not in (mailbox.user_id, mailbox.account.lower())):
            raise GraphError(400, "ExtensionError", f"The value '{resource}' of parameter 'Resource' is not supported.")
        calendar_id = match.group("calendar")
        return mailbox.calendar(calendar_id).calendar_id if calendar_id else mailbox.default_calendar.calendar_id

    def _url_refusal(self, url: Any, name: str) -> GraphError | None:
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            return GraphError(400, "InvalidRequest", f"{name} is not a valid URL.")
        if self.subscriptions.require_https and not url.lower().startswith("https://"):
            return GraphError(400, "InvalidRequest", f"{name} must use the https scheme.")
        return None

    async def _subscription_create(self, request: web.Request) -> web.Response:
        mailbox: Mailbox = request[MAILBOX]
        prefs: Preferences = request[PREFS]
        body = await json_object(request)
        change_types = tuple(part.strip() for part in str(body.get("changeType", "")).split(",") if part.strip())
        if not change_types or not set(change_types) <= set(_CHANGE_TYPES):
            raise GraphError(400, "InvalidRequest", f"'{body.get('changeType')}' is not a valid changeType.")
        client_state = body.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE):
            raise GraphError(400, "InvalidRequest", f"clientState must be at most {MAX_CLIENT_STATE} characters.")
        for name in ("notificationUrl", "lifecycleNotificationUrl"):
            refusal = self._url_refusal(body.get(name), name) if name in body or name == "notificationUrl" else None
            if refusal is not None:
                raise refusal
        with self._lock:
            calendar_id = self._calendar_of(mailbox, body.get("resource"))
            expiry = self._expiry(body)
        subscription = Subscription(str(uuid.uuid4()), mailbox.account, mailbox.user_id, calendar_id,
                                    body["resource"], change_types, body["notificationUrl"],
                                    body.get("lifecycleNotificationUrl"), expiry, client_state, prefs.view.immutable,
                                    self.client_id, self.tenant_id)
        for url in dict.fromkeys(filter(None, (subscription.notification_url, subscription.lifecycle_url))):
            if not await self.subscriptions.validated(url, subscription.subscription_id):
                raise _validation_failed()
        with self._lock:
            self.subscriptions.live[subscription.subscription_id] = subscription
        return web.json_response(subscription.resource_body(), status=201, headers=prefs.headers())

    def _owned(self, request: web.Request) -> Subscription:
        found = self.subscriptions.live.get(request.match_info["subscription_id"])
        if found is None or found.account != request[MAILBOX].account or not found.live:
            raise GraphError(404, "ResourceNotFound", "The object was not found.")
        return found

    async def _subscription_get(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(self._owned(request).resource_body())

    async def _subscriptions_list(self, request: web.Request) -> web.Response:
        account = request[MAILBOX].account
        with self._lock:
            found = [subscription.resource_body() for subscription in self.subscriptions.live.values()
                     if subscription.account == account and subscription.live]
        return web.json_response({"value": found})

    async def _subscription_patch(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        with self._lock:
            subscription = self._owned(request)
            if "expirationDateTime" in body:
                subscription.expiration = self._expiry(body)
            if "notificationUrl" in body:
                refusal = self._url_refusal(body["notificationUrl"], "notificationUrl")
                if refusal is not None:
                    raise refusal
        if "notificationUrl" in body and body["notificationUrl"] != subscription.notification_url:
            if not await self.subscriptions.validated(body["notificationUrl"], subscription.subscription_id):
                raise _validation_failed()
            subscription.notification_url = body["notificationUrl"]
        return web.json_response(subscription.resource_body())

    async def _subscription_reauthorize(self, request: web.Request) -> web.Response:
        with self._lock:
            self._owned(request)
        return web.Response(status=204)

    async def _subscription_delete(self, request: web.Request) -> web.Response:
        with self._lock:
            del self.subscriptions.live[self._owned(request).subscription_id]
        return web.Response(status=204)
