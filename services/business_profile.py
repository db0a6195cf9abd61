"""A business's own details, changed by its owner, and finding a business by its public slug.

Terms:
- *business details*: name, time zone, address, phone, public slug and logo: what customers are shown of the
  business (docs and the README's "Managing a business" say where each appears).
- *zone change*: the business's zone says how customer notifications write a booking's time. Changing it moves no
  booking: every booking keeps its instants, and the next notice shows them in the new zone. Working hours are the
  staff members' own, in their own zones (services.staff_management), and do not follow the business's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from domain.slugs import lookup_form, slug_problem
from models import Business
from services import validation
from services.access import require_owner
from services.auth import Viewer
from services.errors import NotFoundError, SlugTakenError


@dataclass(frozen=True)
class BusinessChange:
    """What to change; None leaves a field as it is, "" clears the address, phone, slug or logo."""

    name: str | None = None
    time_zone: str | None = None
    address: str | None = None
    phone: str | None = None
    slug: str | None = None
    logo_url: str | None = None


def _validated(change: BusinessChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.name is not None:
        values["name"] = validation.text(change.name, ["input", "name"])
    if change.time_zone is not None:
        values["time_zone"] = validation.zone(change.time_zone, ["input", "timeZone"])
    if change.address is not None:
        values["address"] = validation.text(change.address, ["input", "address"], max_length=500, required=False)
    if change.phone is not None:
        values["phone"] = validation.phone(change.phone, ["input", "phone"])
    if change.slug is not None:
        values["slug"] = validation.slug(change.slug, ["input", "slug"]) if change.slug else None
    if change.logo_url is not None:
        values["logo_url"] = validation.https_url(change.logo_url, ["input", "logoUrl"])
    return values


async def update_business(viewer: Viewer, business_id: int, change: BusinessChange) -> Business:
    """Change the business's details (owner only). A slug another business has is SlugTakenError, and nothing
    changes; bad input is refused before anything is written."""
    # Ownership first: a business that does not exist and one that is not yours get the same answer.
    await require_owner(viewer, business_id)
    values = _validated(change)
    slug = values.get("slug")
    if slug is not None and await Business.filter(slug=slug).exclude(id=business_id).exists():
        raise SlugTakenError(slug, ["input", "slug"])
    if values:
        try:
            await Business.filter(id=business_id).update(**values)
        except IntegrityError as exc:  # taken by another owner's request between the check and the write
            raise SlugTakenError(str(slug), ["input", "slug"]) from exc
    return await Business.get(id=business_id)


async def business_by_slug(slug: str) -> Business:
    """The business whose public slug is `slug` (as typed into a link: case and surrounding spaces do not matter).
    Anything that is no business's slug, well-formed or not, is NotFoundError."""
    wanted = lookup_form(slug)
    found = None if slug_problem(wanted) is not None else await Business.get_or_none(slug=wanted)
    if found is None:
        raise NotFoundError("Business", ["slug"])
    return found
