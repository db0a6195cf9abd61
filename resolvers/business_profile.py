"""A business's own details, and finding a business by its public slug (services.business_profile)."""

from __future__ import annotations

from strawberry.types import Info

from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_OWNER, AllowAny, permission, viewer_of
from schema.management import BusinessBySlugResult, UpdateBusinessInput, UpdateBusinessResult
from schema.types import Business
from services import business_profile
from services.business_profile import BusinessChange


@permission(IS_OWNER)
@typed_errors
async def update_business(input: UpdateBusinessInput, info: Info) -> UpdateBusinessResult:
    """Change the business's name, zone, address, phone, public slug or logo (its owner only)."""
    change = BusinessChange(name=input.name, time_zone=input.time_zone, address=input.address, phone=input.phone,
                            slug=input.slug, logo_url=input.logo_url)
    business_id = pk(input.id, "Business", ["input", "id"])
    return Business.from_model(await business_profile.update_business(viewer_of(info), business_id, change))


@permission(AllowAny())
@typed_errors
async def business_by_slug(slug: str, info: Info) -> BusinessBySlugResult:
    """Public: the business with this slug, as `business(id)` shows it (name, zone, contact, logo, the services it
    offers and the staff who take bookings), for a customer app that knows its link but not its ID."""
    return Business.from_model(await business_profile.business_by_slug(slug))
