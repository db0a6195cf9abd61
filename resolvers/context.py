"""The per-request context every resolver receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schema.loaders import Loaders
from services.auth import TokenConfig, Viewer
from services.availability import SlotBudget, SlotLimits
from services.connections import AccountProbe
from services.credentials import CredentialVault
from services.farewell import ProviderFarewell
from services.live import LiveFeed
from services.oauth_connections import OAuthGateway
from services.slot_cache import SlotCache


@dataclass
class Context:
    """`account_probe` checks calendar accounts (the app passes the CalDAV one; tests a fake); `vault` seals the
    credentials of the accounts connected; `live` delivers live events to subscriptions (None without Redis).
    Over a WebSocket one context serves the whole connection; `connection_params` is its connection_init payload."""

    viewer: Viewer
    tokens: TokenConfig
    account_probe: AccountProbe
    vault: CredentialVault
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None
    live: LiveFeed | None = None
    connection_params: dict[str, Any] | None = None
    # OAuth providers this server is configured for (by provider value), and where users may be sent back to.
    oauth: Mapping[str, OAuthGateway] = field(default_factory=dict)
    allowed_return_urls: tuple[str, ...] = ()
    # Said to the provider before a connection is disconnected (stop push channels, revoke access); None: nothing.
    farewell: ProviderFarewell | None = None
    # What availability may cost: the limits, the budget of the current operation (renewed for each one), and the
    # process's cache of free starts (shared by every request the app serves).
    slot_limits: SlotLimits = field(default_factory=SlotLimits)
    slot_budget: SlotBudget = field(default_factory=lambda: SlotLimits().new_budget())
    slot_cache: SlotCache = field(default_factory=lambda: SlotCache(0))

    def now(self) -> datetime:
        return datetime.now(UTC)
