"""Public slugs: the short name by which a customer app finds a business ("fix-it-berlin"), without its ID.

Terms:
- *slug*: 3 to 63 characters of lowercase ASCII letters, digits and hyphens, starting and ending with a letter or a
  digit (the shape of a DNS label, so a slug fits a path segment or a subdomain unchanged).
- *reserved slug*: a word a web front end or this API is likely to use for a page or route of its own ("admin",
  "api", "login", ...); no business may take it, so a link like `/<slug>` never shadows one.
"""

from __future__ import annotations

import re

MIN_LENGTH = 3
MAX_LENGTH = 63
_SHAPE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")

RESERVED = frozenset({
    "about", "account", "accounts", "admin", "administrator", "api", "app", "apps", "assets", "auth", "billing",
    "blog", "book", "booking", "bookings", "business", "businesses", "calendar", "calendars", "callback", "contact",
    "dashboard", "docs", "graphiql", "graphql", "health", "help", "home", "invite", "invites", "legal", "lockstep",
    "login", "logout", "mail", "me", "metrics", "new", "null", "oauth", "owner", "owners", "privacy", "profile",
    "register", "reset", "root", "search", "security", "service", "services", "settings", "sign-in", "sign-out",
    "sign-up", "signin", "signout", "signup", "staff", "static", "status", "support", "system", "terms",
    "undefined", "webhook", "webhooks", "www",
})


def slug_problem(value: str) -> str | None:
    """Why `value` cannot be a slug, in words for the person typing it, or None when it can."""
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        return f"Use {MIN_LENGTH} to {MAX_LENGTH} characters"
    if not value.isascii() or not _SHAPE.fullmatch(value):
        return "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit"
    if value in RESERVED:
        return f"{value!r} is reserved; choose another"
    return None


def lookup_form(value: str) -> str:
    """How a slug typed into a link is looked up: without surrounding spaces, in lowercase (links are often typed
    by hand, and every stored slug is lowercase)."""
    return value.strip().lower()
