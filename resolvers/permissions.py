"""Permission classes: each field states who may call it; object-level rules then live in services.access.

A denied check answers with the typed `NotAuthorized` error of the field's union and runs nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from strawberry.types import Info

from models import UserRole
from schema.errors import NotAuthorized
from services.auth import Viewer

P = ParamSpec("P")
R = TypeVar("R")


class Permission:
    """Decides from the viewer alone whether a field may run."""

    message = "Not allowed"

    def allows(self, viewer: Viewer) -> bool:
        raise NotImplementedError

    def denial(self, viewer: Viewer) -> str:
        return self.message


class AllowAny(Permission):
    """Public fields: only free, non-private information (slots, a business's services)."""

    def allows(self, viewer: Viewer) -> bool:
        return True


class IsSignedIn(Permission):
    message = "Sign in first"

    def allows(self, viewer: Viewer) -> bool:
        return viewer.signed_in

    def denial(self, viewer: Viewer) -> str:
        return viewer.auth_problem or self.message


class HasRole(IsSignedIn):
    def __init__(self, *roles: UserRole) -> None:
        self.roles = roles

    def allows(self, viewer: Viewer) -> bool:
        return viewer.signed_in and viewer.role in self.roles

    def denial(self, viewer: Viewer) -> str:
        if not viewer.signed_in:
            return super().denial(viewer)
        return "Only " + " or ".join(str(role) for role in self.roles) + " accounts may do this"


IS_BUSINESS_SIDE = HasRole(UserRole.OWNER, UserRole.STAFF)
IS_OWNER = HasRole(UserRole.OWNER)


def permission(check: Permission) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    def decorate(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(resolver)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            info: Any = kwargs.get("info")
            viewer = info.context.viewer
            if not check.allows(viewer):
                return NotAuthorized(message=check.denial(viewer))  # type: ignore[return-value]
            return await resolver(*args, **kwargs)

        return guarded

    return decorate


def viewer_of(info: Info) -> Viewer:
    return info.context.viewer  # type: ignore[no-any-return]
