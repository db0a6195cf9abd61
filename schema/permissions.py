"""Field-level permissions of object types. (Root fields declare theirs in resolvers/permissions.py.)"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from models import Business, Staff


class IsBusinessMember(BasePermission):
    """The viewer owns or works for the business of the object (which carries `business_pk`)."""

    message = "Only the business's owner and staff may see this"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return await is_business_member(info, source.business_pk)


async def is_business_member(info: Info, business_id: int) -> bool:
    """Whether the viewer owns or works for the business: members see what the public does not (archived services,
    inactive staff, working hours)."""
    user_id = info.context.viewer.user_id
    if user_id is None:
        return False
    if await Business.exists(id=business_id, owner_id=user_id):
        return True
    return await Staff.exists(business_id=business_id, user_id=user_id)
