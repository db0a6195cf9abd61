"""The per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schema.loaders import Loaders
from services.appointment_connections import AppointmentGateway
from services.auth import ANONYMOUS, AccountSecurity, TokenConfig, Viewer
from services.availability import SlotBudget, SlotLimits
from services.calendar_feeds import FeedAddress
from services.connection_preview import ConnectionReader
from services.connections import AccountProbe
from services.credentials import CredentialVault
from services.farewell import ProviderFarewell
from services.live import LiveFeed
from services.oauth_connections import OAuthGateway
from services.quotas import DEFAULT_QUOTAS, Quotas
from services.sign_in import SignInGateway
from services.slot_cache import SlotCache


@dataclass
class Context:
    """`account_probe` checks calendar accounts (the app passes the CalDAV one; tests a fake); `vault` seals the
    credentials of the accounts connected; `live` delivers live events to subscriptions (None without Redis).
    Over a WebSocket one context serves the whole connection; `connection_params` is its connection_init payload.

    `token_viewer` is who the access token claims to be; `viewer` is that user as the database has them now, read
    again at the start of every operation (see app.graphql.CurrentViewer), and is what every permission uses."""

    token_viewer: Viewer
    tokens: TokenConfig
    account_probe: AccountProbe
    vault: CredentialVault
    # Password hashing, the attempt throttle and the refresh-token grace; `client_address` is the throttle's subject.
    accounts: AccountSecurity
    client_address: str
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None
    live: LiveFeed | None = None
    connection_params: dict[str, Any] | None = None
    viewer: Viewer = ANONYMOUS
    # OAuth providers this server is configured for (by provider value), and where users may be sent back to.
    oauth: Mapping[str, OAuthGateway] = field(default_factory=dict)
    allowed_return_urls: tuple[str, ...] = ()
    # Said to the provider before a connection is disconnected (stop push channels, revoke access); None: nothing.
    farewell: ProviderFarewell | None = None
    # Checks appointment providers' tokens and subscribes to their appointments; None: none can be connected here.
    appointment_accounts: AppointmentGateway | None = None
    # Reads a connection's calendars live for its preview; None: no calendar can be read live here.
    connection_reader: ConnectionReader | None = None
    # What one self-service account may set up, and the list bounds that follow from it.
    quotas: Quotas = DEFAULT_QUOTAS
    # What availability may cost: the limits, the budget of the current operation (renewed for each one), and the
    # process's cache of free starts (shared by every request the app serves).
    slot_limits: SlotLimits = field(default_factory=SlotLimits)
    slot_budget: SlotBudget = field(default_factory=lambda: SlotLimits().new_budget())
    slot_cache: SlotCache = field(default_factory=lambda: SlotCache(0))
    # Customer sign-in providers this server is configured for (by provider name), and where browsers may return.
    sign_in: Mapping[str, SignInGateway] = field(default_factory=dict)
    sign_in_return_urls: tuple[str, ...] = ()
    # Where calendar feeds are served (their addresses, and the host of their bookings' UIDs), and the most booking
    # rows one feed or export is made from.
    feeds: FeedAddress = field(default_factory=lambda: FeedAddress("http://127.0.0.1:8000"))
    max_feed_bookings: int = 1000

    def now(self) -> datetime:
        return datetime.now(UTC)
