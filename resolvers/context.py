"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schema.loaders import Loaders
from services.auth import TokenConfig, Viewer


@dataclass
class Context:
    viewer: Viewer
    tokens: TokenConfig
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None

    def now(self) -> datetime:
        return datetime.now(UTC)
