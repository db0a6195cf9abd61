"""Which loader fetches the nodes of each type, for `node(id)` and `nodes(ids)`.

A type with a global ID registers its loader with `@node_loader("TypeName")` (the name its IDs carry). A loader takes
the request and a primary key and answers the object as the viewer may see it, applying the same rule as the type's
own query. One the viewer may not see is answered exactly like a missing one: the loader returns None or raises
NotFoundError or NotAuthorizedError, and `node` answers null either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from strawberry.types import Info

from schema.ids import decode_id
from schema.node import Node
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError

Loader = Callable[[Info, int], Awaitable[Node | None]]
_LOADERS: dict[str, Loader] = {}
NOT_A_NODE_ID = "Not the ID of an object: give an `id` this API answered"


def node_loader(type_name: str) -> Callable[[Loader], Loader]:
    """Registers the loader of `type_name`'s nodes (once per type)."""

    def register(loader: Loader) -> Loader:
        if type_name in _LOADERS:
            raise ValueError(f"{type_name} nodes already have a loader")
        _LOADERS[type_name] = loader
        return loader

    return register


def node_types() -> list[str]:
    return sorted(_LOADERS)


async def load_node(info: Info, value: str, path: Sequence[str | int]) -> Node | None:
    """The node `value` names, or None when it is missing or not the viewer's. A string that is not one of our IDs,
    or names a type that has no nodes, is an InvalidInputError at `path`."""
    decoded = decode_id(value)
    if decoded is None or decoded.type_name not in _LOADERS:
        raise InvalidInputError(path, NOT_A_NODE_ID)
    if decoded.pk is None:  # spelled right, but beyond every table's keys: names nothing
        return None
    try:
        return await _LOADERS[decoded.type_name](info, decoded.pk)
    except (NotFoundError, NotAuthorizedError):
        return None
