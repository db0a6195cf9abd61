"""Mail preferences: which kinds of mail the viewer gets (docs/mail.md)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from schema.errors import NotAuthorized, ValidationError


@strawberry.enum(description="What a mail tells of. Customers get the booking kinds; staff members and the owner "
                             "the kinds that need a person to act.")
class MailKind(Enum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_RESCHEDULED = "booking_rescheduled"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_REMINDER = "booking_reminder"
    CONFLICT = strawberry.enum_value("conflict", description="A booking and a calendar disagree; someone must choose")
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    SYNC_RECOVERED = strawberry.enum_value("sync_recovered", description="Calendar sync works again (to the staff "
                                                                         "member, with the bookings made meanwhile)")


@strawberry.type(description="Whether the viewer gets one kind of mail.")
class MailPreference:
    kind: MailKind
    enabled: bool


@strawberry.type
class MailPreferences:
    preferences: list[MailPreference]


@strawberry.input
class MailPreferenceInput:
    kind: MailKind
    enabled: bool


@strawberry.input(description="The kinds to turn on or off; kinds not named stay as they are.")
class SetMailPreferencesInput:
    preferences: list[MailPreferenceInput]


MailPreferencesResult = Annotated[MailPreferences | ValidationError | NotAuthorized,
                                  strawberry.union("MailPreferencesResult")]


def preferences_of(choices: list[tuple[str, bool]]) -> MailPreferences:
    return MailPreferences(preferences=[MailPreference(kind=MailKind(kind), enabled=enabled)
                                        for kind, enabled in choices])
