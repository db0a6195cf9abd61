"""GraphQL types of a user's own profile and of a customer deleting their account."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import NotAuthorized, ValidationError
from schema.types import User


@strawberry.input(description="What to change of the viewer's profile; a field left out stays as it is, and an "
                              "empty phone or photo URL clears it.")
class UpdateMyProfileInput:
    name: str | None = None
    phone: str | None = None
    photo_url: str | None = strawberry.field(default=None, description="An https:// address of the photo")


@strawberry.input(description="Deleting the viewer's customer account, confirmed by typing its email address.")
class DeleteMyAccountInput:
    email: str


@strawberry.type
class DeleteMyAccountPayload:
    deleted: bool


ProfileResult = Annotated[User | ValidationError | NotAuthorized, strawberry.union("ProfileResult")]
DeleteMyAccountResult = Annotated[DeleteMyAccountPayload | ValidationError | NotAuthorized,
                                  strawberry.union("DeleteMyAccountResult")]
