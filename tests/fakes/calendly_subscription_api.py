"""The fake Calendly's webhook subscription handlers: create, list, get and delete (docs/calendly.md, "Webhooks").

- Creating answers 201 with the subscription; 400 (with `details` naming the parameter) for a bad body; 403 "Please
  upgrade to a paid Calendly account." while `webhooks_refused` (a plan without webhooks); 409 "Hook with this url
  already exists" when the organization has one with that URL for the same user (or, organization-scoped, for the
  organization).
- The signing key: a personal access token's subscription keeps the `signing_key` given, or a generated one; an
  OAuth app's subscriptions all use the app's one key (a `signing_key` given is ignored). Either is write-only in
  the API; tests read it with `signing_key()`.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tests.fakes.calendly_api import USER
from tests.fakes.calendly_errors import denied, error, invalid
from tests.fakes.calendly_oauth import CalendlyOAuth, Grant
from tests.fakes.calendly_paging import page, sort_of
from tests.fakes.calendly_store import WEBHOOK_EVENTS, Store, Subscription, User, new_uuid
from tests.support.calendly_contract import PLAN_REFUSAL

GRANT = web.RequestKey("calendly_grant", Grant)


def _is_web_address(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 2048:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class SubscriptionApi:
    _lock: threading.RLock
    store: Store
    oauth: CalendlyOAuth
    url: str
    webhooks_refused: bool

    def signing_key(self, subscription_uri: str) -> str:
        """The key the subscription's deliveries are signed with."""
        return self.store.subscriptions[subscription_uri.rsplit("/", 1)[-1]].signing_key

    def _subscription(self, request: web.Request) -> Subscription:
        found = self.store.subscriptions.get(request.match_info["webhook_uuid"])
        if found is None or found.organization != request[USER].organization:
            raise error(404)
        return found

    def _validated(self, body: Any, caller: User) -> tuple[str, list[str], str, str | None]:
        """(url, events, scope, user uuid) of a creation's body, or 400/403."""
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object")
        if not _is_web_address(body.get("url")):
            raise invalid("url", "must be a valid URL")
        events = body.get("events")
        if not isinstance(events, list) or not events or len(set(map(str, events))) != len(events) \
                or any(event not in WEBHOOK_EVENTS for event in events):
            raise invalid("events", f"must be a list of distinct events among {', '.join(WEBHOOK_EVENTS)}")
        scope = body.get("scope")
        if scope not in ("user", "organization"):
            raise invalid("scope", "must be user or organization")
        if "routing_form_submission.created" in events and scope != "organization":
            raise invalid("events", "routing_form_submission.created needs the organization scope")
        if "organization" not in body:
            raise invalid("organization", "is required")
        if self.store.find("organizations", body["organization"]) != caller.organization:
            raise denied("You do not have permission")
        user: str | None = None
        if scope == "user":
            user = self.store.find("users", body.get("user"))
            if user is None:
                raise invalid("user", "is required for the user scope")
            if user != caller.uuid:
                raise denied("You do not have permission")
        key = body.get("signing_key")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 256):
            raise invalid("signing_key", "must be text")
        return str(body["url"]), [str(event) for event in events], str(scope), user

    async def _subscription_create(self, request: web.Request) -> web.Response:
        caller: User = request[USER]
        grant: Grant = request[GRANT]
        try:
            body = await request.json()
        except ValueError:
            raise invalid("body", "must be a JSON object") from None
        url, events, scope, user = self._validated(body, caller)
        if self.webhooks_refused:
            raise denied(PLAN_REFUSAL)
        owner = user if scope == "user" else None
        if any(existing.organization == caller.organization and existing.callback_url == url
               and existing.scope == scope and existing.user == owner
               for existing in self.store.subscriptions.values()):
            raise error(409)
        key = self.oauth.app_signing_key if grant.kind == "oauth" else body.get("signing_key") \
            or secrets.token_urlsafe(32)
        subscription = Subscription(new_uuid(), url, events, scope, caller.organization, user, caller.uuid, key)
        self.store.subscriptions[subscription.uuid] = subscription
        return web.json_response({"resource": self.store.subscription_resource(subscription)}, status=201)

    async def _subscriptions_list(self, request: web.Request) -> web.Response:
        caller: User = request[USER]
        query = request.query
        if "organization" not in query:
            raise invalid("organization", "is required")
        if self.store.find("organizations", query["organization"]) != caller.organization:
            raise denied("You do not have permission")
        scope = query.get("scope")
        if scope not in ("user", "organization"):
            raise invalid("scope", "must be user or organization")
        user: str | None = None
        if scope == "user":
            user = self.store.find("users", query.get("user"))
            if user is None:
                raise invalid("user", "is required for the user scope")
        descending = sort_of(request, "created_at")
        found = sorted((subscription for subscription in self.store.subscriptions.values()
                        if subscription.organization == caller.organization and subscription.scope == scope
                        and (user is None or subscription.user == user)),
                       key=lambda subscription: subscription.created_at, reverse=descending)
        return page(request, self.url, found, self.store.subscription_resource)

    async def _subscription_get(self, request: web.Request) -> web.Response:
        return web.json_response({"resource": self.store.subscription_resource(self._subscription(request))})

    async def _subscription_delete(self, request: web.Request) -> web.Response:
        subscription = self._subscription(request)
        del self.store.subscriptions[subscription.uuid]
        return web.Response(status=204)
