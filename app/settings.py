"""Every setting is an environment variable; this module reads them once into a frozen dataclass.

The README lists each variable. Defaults are for a developer machine: a SQLite file and a bundled Redis.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app import mail_settings
from domain.client_address import trusted_networks
from providers.entry import ProviderApp
from providers.registry import REGISTRY
from providers.sign_in_facebook import (
    API_VERSION as FACEBOOK_API_VERSION,
    DIALOG_URL as FACEBOOK_DIALOG_URL,
    GRAPH_URL as FACEBOOK_GRAPH_URL,
)
from providers.sign_in_google import DISCOVERY_URL as GOOGLE_DISCOVERY_URL


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


def _log_level(value: str) -> str:
    if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SystemExit("LOCKSTEP_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return value.upper()


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SystemExit(f"{name} must be true or false, got {raw!r}")


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


METRICS_ACCESS = ("off", "open", "token")


def _metrics_access() -> tuple[str, str]:
    """Who may read /metrics (LOCKSTEP_METRICS) and, for `token`, the bearer token it takes (LOCKSTEP_METRICS_TOKEN)."""
    access = (os.environ.get("LOCKSTEP_METRICS") or "off").strip().lower()
    if access not in METRICS_ACCESS:
        raise SystemExit(f"LOCKSTEP_METRICS must be one of {', '.join(METRICS_ACCESS)}, got {access!r}")
    token = os.environ.get("LOCKSTEP_METRICS_TOKEN", "")
    if access == "token" and len(token) < 32:
        raise SystemExit("LOCKSTEP_METRICS=token needs LOCKSTEP_METRICS_TOKEN of at least 32 characters")
    return access, token


def _proxies(name: str) -> tuple[str, ...]:
    entries = _list(name)
    try:
        trusted_networks(entries)
    except ValueError as exc:
        raise SystemExit(f"{name}: {exc}") from exc
    return entries


def _jwt_secret(data_dir: Path) -> str:
    """The signing secret for access tokens.

    Production sets LOCKSTEP_JWT_SECRET. On a developer machine a random secret is created once and kept in the
    data folder, so tokens survive a restart without anyone having to invent a secret.
    """
    configured = os.environ.get("LOCKSTEP_JWT_SECRET")
    if configured:
        if len(configured) < 32:
            raise SystemExit("LOCKSTEP_JWT_SECRET must be at least 32 characters")
        return configured
    path = data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(48)
    # Created readable by the owner only from the first byte.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as secret_file:
        secret_file.write(generated)
    return generated


def _secret_keys(data_dir: Path) -> tuple[str, ...]:
    """Fernet keys for provider credentials, first one encrypting (LOCKSTEP_SECRET_KEYS, comma separated).

    As with the JWT secret, a developer machine gets one generated key kept in the data folder.
    """
    configured = os.environ.get("LOCKSTEP_SECRET_KEYS", "")
    keys = tuple(part.strip() for part in configured.split(",") if part.strip())
    if keys:
        return keys
    path = data_dir / "secret-keys"
    if path.exists():
        return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(generated + "\n")
    return (generated,)


def _provider_apps() -> dict[str, ProviderApp]:
    """Lockstep's registration at each OAuth provider of the registry, by provider value. A provider is configured by
    LOCKSTEP_<NAME>_CLIENT_ID and LOCKSTEP_<NAME>_CLIENT_SECRET (its connections are off unless both are set); its
    addresses are the provider's own unless LOCKSTEP_<NAME>_AUTHORIZE_URL, _TOKEN_URL, _REVOKE_URL or _API_URL
    point them elsewhere (a fake in tests). LOCKSTEP_<NAME>_TENANT fills the `{tenant}` of the addresses
    (Microsoft: `common` unless set, which admits work, school and personal accounts; a tenant id or domain admits
    that organisation's only). <NAME> is the provider's value in capitals: GOOGLE, MICROSOFT."""
    apps: dict[str, ProviderApp] = {}
    for name, entry in REGISTRY.items():
        if entry.oauth is None or not entry.available:
            continue
        prefix = f"LOCKSTEP_{name.upper()}_"
        client_id, secret = os.environ.get(prefix + "CLIENT_ID", ""), os.environ.get(prefix + "CLIENT_SECRET", "")
        if not (client_id and secret):
            continue
        tenant = os.environ.get(prefix + "TENANT") or entry.oauth.default_tenant

        def address(setting: str, own: str) -> str:
            return (os.environ.get(prefix + setting) or own).replace("{tenant}", tenant)  # noqa: B023 (used at once)

        apps[name] = ProviderApp(client_id, secret,
                                 authorize_url=address("AUTHORIZE_URL", entry.oauth.authorize_url),
                                 token_url=address("TOKEN_URL", entry.oauth.token_url),
                                 revoke_url=address("REVOKE_URL", entry.oauth.revoke_url),
                                 api_url=address("API_URL", entry.oauth.api_url).rstrip("/"))
    return apps


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    host: str
    port: int
    jwt_secret: str = field(repr=False)
    secret_keys: tuple[str, ...] = field(repr=False)
    access_token_seconds: int
    refresh_token_days: int
    graphiql: bool
    introspection: bool
    max_query_depth: int
    max_query_tokens: int
    max_query_aliases: int
    sqlite_busy_timeout_ms: int
    hot_poll_seconds: int = 60
    scheduler_interval_ms: int = 250
    workers: int = 1
    caldav_timeout_seconds: int = 15
    allowed_origins: tuple[str, ...] = ()
    live_channel: str = "lockstep:live"
    live_queue_size: int = 100
    ws_keepalive_seconds: int = 15
    ws_max_subscriptions: int = 20
    max_businesses_per_owner: int = 5
    max_staff_per_business: int = 50
    max_services_per_business: int = 50
    max_ranges_per_day: int = 8
    # Largest HTTP request body, and largest WebSocket message, in bytes.
    max_body_bytes: int = 1_000_000
    max_ws_message_bytes: int = 1_000_000
    # Where browsers and providers reach this server (OAuth callbacks, webhooks), and where users may return to.
    public_url: str = "http://127.0.0.1:8000"
    # The web app's page that takes `?token=` from account mail (verify an address, reset a password, a new address).
    account_link_url: str = "http://127.0.0.1:8000/account"
    oauth_return_urls: tuple[str, ...] = ()
    # Lockstep's registration at each OAuth provider this deployment configures, by provider value.
    provider_apps: Mapping[str, ProviderApp] = field(default_factory=dict)
    # Each provider's API address where LOCKSTEP_<NAME>_API_URL sets one (a fake in tests), with or without OAuth.
    api_urls: Mapping[str, str] = field(default_factory=dict)
    # The signing key of Lockstep's Calendly OAuth app (Calendly signs its subscriptions' deliveries with it).
    calendly_webhook_signing_key: str = field(default="", repr=False)
    log_level: str = "INFO"
    metrics_access: str = "off"  # one of METRICS_ACCESS
    metrics_token: str = field(default="", repr=False)
    # Sign-in protection (docs/security.md).
    password_hash_workers: int = 2
    trusted_proxies: tuple[str, ...] = ()
    refresh_reuse_grace_seconds: int = 10
    throttle_free_failures: int = 3
    throttle_lock_after: int = 10
    throttle_lock_seconds: int = 900
    account_lock_after: int = 10
    account_lock_seconds: int = 60
    account_max_lock_seconds: int = 900
    # Bounded work of availability (docs/availability.md).
    max_slot_query_cost: int = 201_600
    max_slots_per_response: int = 10_000
    min_slot_step_minutes: int = 5
    slot_cache_starts: int = 500_000
    document_cache_size: int = 256
    # Bounded work of calendar feeds and exports (docs/feeds.md): the booking rows one answer is made from.
    max_feed_bookings: int = 1000
    # Customer sign-in with Google and Facebook (README: "Signing in with Google or Facebook"); a provider is off
    # unless its id and secret are set.
    sign_in_return_urls: tuple[str, ...] = ()
    sign_in_google_client_ids: tuple[str, ...] = ()  # the web client first, then the Android and iOS ones
    sign_in_google_client_secret: str = field(default="", repr=False)
    sign_in_google_discovery_url: str = GOOGLE_DISCOVERY_URL
    sign_in_facebook_app_id: str = ""
    sign_in_facebook_app_secret: str = field(default="", repr=False)
    sign_in_facebook_dialog_url: str = FACEBOOK_DIALOG_URL
    sign_in_facebook_graph_url: str = FACEBOOK_GRAPH_URL
    sign_in_facebook_api_version: str = FACEBOOK_API_VERSION
    # Mail (docs/mail.md): where it is sent (empty: `serve` runs the mail catcher), how, and from whom.
    smtp_url: str = field(default="", repr=False)
    smtp_starttls: bool = False
    smtp_ca_file: str = ""  # authorities trusted for the mail server's certificate besides the system's
    mail_from: str = "bookings@localhost"
    mail_from_name: str = "Lockstep"  # the display name of mail not sent for one business (account mail)

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("LOCKSTEP_DATA_DIR", "var")).resolve()
        metrics_access, metrics_token = _metrics_access()
        public_url = (os.environ.get("LOCKSTEP_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
        return cls(
            data_dir=data_dir,
            database_url=os.environ.get("LOCKSTEP_DATABASE_URL") or f"sqlite://{data_dir / 'lockstep.sqlite3'}",
            redis_url=os.environ.get("LOCKSTEP_REDIS_URL") or None,
            host=os.environ.get("LOCKSTEP_HOST", "127.0.0.1"),
            port=_int("LOCKSTEP_PORT", 8000),
            jwt_secret=_jwt_secret(data_dir),
            secret_keys=_secret_keys(data_dir),
            access_token_seconds=_int("LOCKSTEP_ACCESS_TOKEN_SECONDS", 900),
            refresh_token_days=_int("LOCKSTEP_REFRESH_TOKEN_DAYS", 30),
            graphiql=_bool("LOCKSTEP_GRAPHIQL", True),
            introspection=_bool("LOCKSTEP_INTROSPECTION", True),
            max_query_depth=_int("LOCKSTEP_MAX_QUERY_DEPTH", 12),
            max_query_tokens=_int("LOCKSTEP_MAX_QUERY_TOKENS", 3000),
            max_query_aliases=_int("LOCKSTEP_MAX_QUERY_ALIASES", 20),
            sqlite_busy_timeout_ms=_int("LOCKSTEP_SQLITE_BUSY_TIMEOUT_MS", 10000),
            hot_poll_seconds=_int("LOCKSTEP_HOT_POLL_SECONDS", 60),
            scheduler_interval_ms=_int("LOCKSTEP_SCHEDULER_INTERVAL_MS", 250),
            workers=_int("LOCKSTEP_WORKERS", 1),
            caldav_timeout_seconds=_int("LOCKSTEP_CALDAV_TIMEOUT_SECONDS", 15),
            allowed_origins=_list("LOCKSTEP_ALLOWED_ORIGINS"),
            live_channel=os.environ.get("LOCKSTEP_LIVE_CHANNEL") or "lockstep:live",
            live_queue_size=_int("LOCKSTEP_LIVE_QUEUE_SIZE", 100),
            ws_keepalive_seconds=_int("LOCKSTEP_WS_KEEPALIVE_SECONDS", 15),
            ws_max_subscriptions=_int("LOCKSTEP_WS_MAX_SUBSCRIPTIONS", 20),
            max_businesses_per_owner=_int("LOCKSTEP_MAX_BUSINESSES_PER_OWNER", 5),
            max_staff_per_business=_int("LOCKSTEP_MAX_STAFF_PER_BUSINESS", 50),
            max_services_per_business=_int("LOCKSTEP_MAX_SERVICES_PER_BUSINESS", 50),
            max_ranges_per_day=_int("LOCKSTEP_MAX_RANGES_PER_DAY", 8),
            max_body_bytes=_int("LOCKSTEP_MAX_BODY_BYTES", 1_000_000),
            max_ws_message_bytes=_int("LOCKSTEP_MAX_WS_MESSAGE_BYTES", 1_000_000),
            public_url=public_url,
            account_link_url=os.environ.get("LOCKSTEP_ACCOUNT_LINK_URL") or f"{public_url}/account",
            oauth_return_urls=_list("LOCKSTEP_OAUTH_RETURN_URLS"),
            provider_apps=_provider_apps(),
            api_urls={name: os.environ[f"LOCKSTEP_{name.upper()}_API_URL"].rstrip("/") for name in REGISTRY
                      if os.environ.get(f"LOCKSTEP_{name.upper()}_API_URL")},
            calendly_webhook_signing_key=os.environ.get("LOCKSTEP_CALENDLY_WEBHOOK_SIGNING_KEY", ""),
            log_level=_log_level(os.environ.get("LOCKSTEP_LOG_LEVEL") or "INFO"),
            metrics_access=metrics_access,
            metrics_token=metrics_token,
            password_hash_workers=_int("LOCKSTEP_PASSWORD_HASH_WORKERS", 2),
            trusted_proxies=_proxies("LOCKSTEP_TRUSTED_PROXIES"),
            refresh_reuse_grace_seconds=_int("LOCKSTEP_REFRESH_REUSE_GRACE_SECONDS", 10),
            throttle_free_failures=_int("LOCKSTEP_THROTTLE_FREE_FAILURES", 3),
            throttle_lock_after=_int("LOCKSTEP_THROTTLE_LOCK_AFTER", 10),
            throttle_lock_seconds=_int("LOCKSTEP_THROTTLE_LOCK_SECONDS", 900),
            account_lock_after=_int("LOCKSTEP_ACCOUNT_LOCK_AFTER", 10),
            account_lock_seconds=_int("LOCKSTEP_ACCOUNT_LOCK_SECONDS", 60),
            account_max_lock_seconds=_int("LOCKSTEP_ACCOUNT_MAX_LOCK_SECONDS", 900),
            max_slot_query_cost=_int("LOCKSTEP_MAX_SLOT_QUERY_COST", 201_600),
            max_slots_per_response=_int("LOCKSTEP_MAX_SLOTS_PER_RESPONSE", 10_000),
            min_slot_step_minutes=_int("LOCKSTEP_MIN_SLOT_STEP_MINUTES", 5),
            slot_cache_starts=_int("LOCKSTEP_SLOT_CACHE_STARTS", 500_000),
            document_cache_size=_int("LOCKSTEP_DOCUMENT_CACHE_SIZE", 256),
            max_feed_bookings=_int("LOCKSTEP_MAX_FEED_BOOKINGS", 1000),
            sign_in_return_urls=_list("LOCKSTEP_SIGNIN_RETURN_URLS"),
            sign_in_google_client_ids=_list("LOCKSTEP_SIGNIN_GOOGLE_CLIENT_IDS"),
            sign_in_google_client_secret=os.environ.get("LOCKSTEP_SIGNIN_GOOGLE_CLIENT_SECRET", ""),
            sign_in_google_discovery_url=os.environ.get("LOCKSTEP_SIGNIN_GOOGLE_DISCOVERY_URL") or GOOGLE_DISCOVERY_URL,
            sign_in_facebook_app_id=os.environ.get("LOCKSTEP_SIGNIN_FACEBOOK_APP_ID", ""),
            sign_in_facebook_app_secret=os.environ.get("LOCKSTEP_SIGNIN_FACEBOOK_APP_SECRET", ""),
            sign_in_facebook_dialog_url=os.environ.get("LOCKSTEP_SIGNIN_FACEBOOK_DIALOG_URL") or FACEBOOK_DIALOG_URL,
            sign_in_facebook_graph_url=os.environ.get("LOCKSTEP_SIGNIN_FACEBOOK_GRAPH_URL") or FACEBOOK_GRAPH_URL,
            sign_in_facebook_api_version=(os.environ.get("LOCKSTEP_SIGNIN_FACEBOOK_API_VERSION")
                                          or FACEBOOK_API_VERSION),
            smtp_url=mail_settings.smtp_url(),
            smtp_starttls=_bool("LOCKSTEP_SMTP_STARTTLS", False),
            smtp_ca_file=mail_settings.smtp_ca_file(),
            mail_from=mail_settings.mail_from(),
            mail_from_name=mail_settings.mail_from_name(),
        )
