"""`node(id)` and `nodes(ids)`: any object with a global ID, fetched again by that ID alone (Relay's object
identification), under the same rule as the type's own query (resolvers.node_registry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import strawberry
from strawberry.types import Info

from resolvers import node_loaders  # noqa: F401  (importing it registers the loaders of this API's types)
from resolvers.errors import BadUserInput
from resolvers.node_registry import load_node
from schema.node import Node
from services.errors import InvalidInputError
from services.quotas import MAX_NODES_PER_REQUEST, at_most


async def _node(info: Info, value: str, path: Sequence[str | int]) -> Node | None:
    try:
        return await load_node(info, value, path)
    except InvalidInputError as error:
        raise BadUserInput.of_error(error) from None


async def node(id: strawberry.ID, info: Info) -> Node | None:
    """The object with this ID, or null when there is none or the viewer may not see it (the same answer). An
    `id` that is not one of this API's IDs is null with an error."""
    return await _node(info, id, ["id"])


async def nodes(ids: list[strawberry.ID], info: Info) -> list[Node | None]:
    """The objects with these IDs, in the same order, each as `node` answers it (null, with an error for an `id`
    that is not an ID). At most MAX_NODES_PER_REQUEST IDs."""
    try:
        at_most(ids, MAX_NODES_PER_REQUEST, ["ids"], "IDs at once")
    except InvalidInputError as error:
        raise BadUserInput.of_error(error) from None
    # Each item is completed on its own, so a malformed ID is null at its place with an error at its path.
    return cast(Any, [_node(info, value, ["ids", index]) for index, value in enumerate(ids)])
