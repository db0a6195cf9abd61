"""The viewer's own profile, and a customer deleting their account (services.profile)."""

from __future__ import annotations

from datetime import UTC, datetime

from strawberry.types import Info

from resolvers.errors import typed_errors
from resolvers.permissions import IsSignedIn, permission, viewer_of
from schema.profile import (
    DeleteMyAccountInput,
    DeleteMyAccountPayload,
    DeleteMyAccountResult,
    ProfileResult,
    UpdateMyProfileInput,
)
from schema.types import User
from services import profile


@permission(IsSignedIn())
@typed_errors
async def update_my_profile(input: UpdateMyProfileInput, info: Info) -> ProfileResult:
    """Change the viewer's name, phone or photo."""
    change = profile.ProfileChange(name=input.name, phone=input.phone, photo_url=input.photo_url)
    return User.from_model(await profile.update_my_profile(viewer_of(info), change))


@permission(IsSignedIn())
@typed_errors
async def delete_my_account(input: DeleteMyAccountInput, info: Info) -> DeleteMyAccountResult:
    """Erase the viewer's customer account: personal data goes, bookings stay as anonymous records, no more mail."""
    await profile.delete_my_account(viewer_of(info), input.email, datetime.now(UTC))
    return DeleteMyAccountPayload(deleted=True)
