"""The viewer's mail preferences: reading them, and turning kinds of mail on or off."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import typed_errors
from resolvers.permissions import IsSignedIn, permission, viewer_of
from schema.mail import MailPreferencesResult, SetMailPreferencesInput, preferences_of
from services import mail
from services.quotas import at_most

_MAX_CHOICES = 20  # more than there are kinds: a kind named twice is allowed, a flood is not


@permission(IsSignedIn())
@typed_errors
async def mail_preferences(info: Info) -> MailPreferencesResult:
    """Every kind of mail and whether the viewer gets it."""
    return preferences_of(await mail.mail_preferences(viewer_of(info)))


@permission(IsSignedIn())
@typed_errors
async def set_mail_preferences(input: SetMailPreferencesInput, info: Info) -> MailPreferencesResult:
    at_most(input.preferences, _MAX_CHOICES, ["input", "preferences"], "preferences at once")
    choices = [(choice.kind.value, choice.enabled) for choice in input.preferences]
    return preferences_of(await mail.set_mail_preferences(viewer_of(info), choices))
