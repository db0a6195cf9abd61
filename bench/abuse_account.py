"""The worst self-service account the API allows, built through the API itself.

One owner; as many businesses as it will create; in each as many staff as it will take, each working as many ranges
per day as allowed, covering the whole day, every day; as many services as it will take, each with every staff
member, the shortest duration and slot step and the longest horizon it accepts. Every limit is found by asking: the
builder tries the widest value first and steps down on a refusal, so it builds the worst account of whatever
version of the API it runs against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.support.graphql import GraphQLClient, sign_up

ANSWER = "__typename ... on UserError { message }"
CREATE_BUSINESS = f"""mutation($input: CreateBusinessInput!) {{ createBusiness(input: $input) {{ {ANSWER}
  ... on Business {{ id }} }} }}"""
CREATE_STAFF = f"""mutation($input: CreateStaffInput!) {{ createStaff(input: $input) {{ {ANSWER}
  ... on CreateStaffPayload {{ staff {{ id }} }} }} }}"""
SET_HOURS = f"""mutation($input: SetWorkingHoursInput!) {{ setWorkingHours(input: $input) {{ {ANSWER} }} }}"""
CREATE_SERVICE = f"""mutation($input: CreateServiceInput!) {{ createService(input: $input) {{ {ANSWER}
  ... on Service {{ id }} }} }}"""
WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# Past these the builder stops asking, whatever the API would still accept.
MOST_ASKED = 1000
RANGES_TRIED = (64, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1)
STEPS_TRIED = (1, 2, 5, 10, 15, 30, 60)
HORIZONS_TRIED = (3650, 730, 365, 180, 90, 60)


@dataclass
class WorstAccount:
    owner_token: str
    business_ids: list[str] = field(default_factory=list)
    staff_per_business: int = 0
    ranges_per_day: int = 0
    services_per_business: int = 0
    slot_step_minutes: int = 0
    horizon_days: int = 0
    service_id: str = ""  # a service of the first business, performed by all of its staff
    refusals: dict[str, str] = field(default_factory=dict)  # what each "no more" looked like (typename: message)


def day_ranges(count: int) -> list[dict[str, str]]:
    """`count` touching ranges that cover the whole day."""
    bounds = [round(1440 * index / count) for index in range(count + 1)]
    return [{"start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{end // 60:02d}:{end % 60:02d}"}
            for start, end in itertools.pairwise(bounds)]


def _refusal(answer: dict[str, Any]) -> str:
    return f"{answer['__typename']}: {answer.get('message', '')}"


async def _create_until_refused(api: GraphQLClient, token: str, query: str, field_name: str,
                                inputs: Any) -> tuple[list[dict[str, Any]], str]:
    created = []
    for number in range(MOST_ASKED):
        answer = (await api(query, {"input": inputs(number)}, token))[field_name]
        if answer["__typename"] in {"Business", "CreateStaffPayload", "Service"}:
            created.append(answer)
            continue
        return created, _refusal(answer)
    return created, f"stopped asking after {MOST_ASKED}"


async def _hours(api: GraphQLClient, token: str, staff_id: str, tried: tuple[int, ...]) -> int:
    """The most touching ranges per day the API takes, set every day of the week; 0 when it takes none."""
    for count in tried:
        week = [{"weekday": day, "ranges": day_ranges(count)} for day in WEEK]
        answer = (await api(SET_HOURS, {"input": {"staffId": staff_id, "days": week}}, token))["setWorkingHours"]
        if answer["__typename"] == "StaffMember":
            return count
    return 0


async def _first_service(api: GraphQLClient, token: str, business_id: str, staff_ids: list[str],
                         account: WorstAccount) -> str:
    """The shortest step (and duration) and then the longest horizon accepted: the service the slot query asks."""
    for step in STEPS_TRIED:
        for horizon in HORIZONS_TRIED:
            answer = (await api(CREATE_SERVICE, {"input": {
                "businessId": business_id, "name": "Worst", "durationMinutes": step, "slotStepMinutes": step,
                "bookingHorizonDays": horizon, "staffIds": staff_ids}}, token))["createService"]
            if answer["__typename"] == "Service":
                account.slot_step_minutes, account.horizon_days = step, horizon
                return str(answer["id"])
            account.refusals.setdefault("service settings", _refusal(answer))
    raise RuntimeError(f"no service was accepted: {account.refusals}")


async def _fill_business(api: GraphQLClient, token: str, number: int, business_id: str,
                         account: WorstAccount) -> tuple[int, str, str, str, int]:
    """Staff with full days, then services; returns staff count and refusal, first service, services refusal and
    count."""
    staff, staff_refusal = await _create_until_refused(
        api, token, CREATE_STAFF, "createStaff",
        lambda n: {"businessId": business_id, "name": f"Tech {number}-{n}", "email": f"tech-{number}-{n}@example.com",
                   "timeZone": "UTC"})
    staff_ids = [member["staff"]["id"] for member in staff]
    for member in staff_ids:
        tried = RANGES_TRIED if not account.ranges_per_day else (account.ranges_per_day,)
        account.ranges_per_day = await _hours(api, token, member, tried)
    first = await _first_service(api, token, business_id, staff_ids, account)
    others, service_refusal = await _create_until_refused(
        api, token, CREATE_SERVICE, "createService",
        lambda n: {"businessId": business_id, "name": f"Service {n}", "durationMinutes": 60, "staffIds": staff_ids})
    return len(staff_ids), staff_refusal, first, service_refusal, 1 + len(others)


async def build_worst_account(api: GraphQLClient, progress: Any = print) -> WorstAccount:
    owner = await sign_up(api, "worst-owner@example.com", "OWNER", "Worst Owner")
    token = owner["accessToken"]
    account = WorstAccount(owner_token=token)
    businesses, account.refusals["businesses"] = await _create_until_refused(
        api, token, CREATE_BUSINESS, "createBusiness", lambda n: {"name": f"Shop {n}", "timeZone": "UTC"})
    account.business_ids = [business["id"] for business in businesses]
    progress(f"  {len(businesses)} businesses ({account.refusals['businesses']})")
    for number, business_id in enumerate(account.business_ids):
        staff, staff_refusal, first, service_refusal, services = await _fill_business(
            api, token, number, business_id, account)
        if number == 0:
            account.service_id = first
            account.staff_per_business, account.services_per_business = staff, services
            account.refusals["staff"], account.refusals["services"] = staff_refusal, service_refusal
            progress(f"  per business: {staff} staff ({staff_refusal}), {account.ranges_per_day} ranges a day "
                     f"covering 24 h, {services} services ({service_refusal}); the slot query's service: "
                     f"{account.slot_step_minutes}-minute step and duration, {account.horizon_days}-day horizon")
        else:
            progress(f"  business {number + 1} of {len(account.business_ids)} filled")
    return account
