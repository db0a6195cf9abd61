"""A demo business so a newcomer can query slots at once. Running it twice changes nothing."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models import Business, Service, Staff, User, UserRole, WorkingHoursRange
from schema.ids import encode_id
from services.passwords import PasswordHashing

DEMO_OWNER = "owner@demo.lockstep.test"
DEMO_PASSWORD = "demo-password-123"


async def seed_demo() -> str:
    if not await User.exists(email=DEMO_OWNER):
        password_hash = await PasswordHashing(workers=1).hash(DEMO_PASSWORD)
        async with in_transaction():
            owner = await User.create(email=DEMO_OWNER, name="Demo Owner", role=UserRole.OWNER,
                                      password_hash=password_hash)
            business = await Business.create(name="Demo Plumbing", time_zone="Europe/Berlin", owner=owner)
            staff = [
                await Staff.create(business=business, name="Ana", email="ana@demo.lockstep.test",
                                   time_zone="Europe/Berlin"),
                await Staff.create(business=business, name="Ben", email="ben@demo.lockstep.test",
                                   time_zone="Europe/London"),
            ]
            for member in staff:
                await WorkingHoursRange.bulk_create([
                    WorkingHoursRange(staff=member, weekday=day, start_minute=start, end_minute=end)
                    for day in range(5) for start, end in ((9 * 60, 12 * 60), (13 * 60, 17 * 60))
                ])
            for name, minutes, after in (("Boiler check", 60, 15), ("Leak repair", 90, 30)):
                service = await Service.create(business=business, name=name, duration_minutes=minutes,
                                               buffer_after_minutes=after, slot_step_minutes=30)
                await service.staff.add(*staff)
    business = await Business.get(owner__email=DEMO_OWNER)
    services = await Service.filter(business=business).order_by("id")
    lines = [f"Demo business {encode_id('Business', business.id)} ({business.name}); owner {DEMO_OWNER} / "
             f"{DEMO_PASSWORD}"]
    lines += [f"  service {encode_id('Service', s.id)}: {s.name}" for s in services]
    return "\n".join(lines)
