"""Global object identification: every type with a global ID is a Node, which `node(id)` and `nodes(ids)` fetch
again by that ID alone (what Relay and Apollo's normalized caches expect)."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global ID; `node(id)` fetches it again by that ID.")
class Node:
    id: strawberry.ID
