"""A service's assignment settings: its policy, and the priority it gives each of the staff performing it (for the
PRIORITY policy, domain.assignment). Validated before anything is written; written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.assignment import HIGHEST_PRIORITY, LOWEST_PRIORITY, AssignmentPolicy
from models import StaffPriority
from services import validation
from services.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class PriorityOf:
    """One staff member's priority for a service: higher is preferred."""

    staff_id: int
    priority: int


def policy(value: str) -> AssignmentPolicy:
    try:
        return AssignmentPolicy(value)
    except ValueError:
        raise InvalidInputError(["input", "assignmentPolicy"], "Unknown assignment policy") from None


def checked_priorities(priorities: Sequence[PriorityOf], performing: Collection[int]) -> list[PriorityOf]:
    """`priorities` as given, each naming a staff member who performs the service (`performing`, as it will be
    once the change is made) at most once, with a priority in range."""
    seen: set[int] = set()
    for index, entry in enumerate(priorities):
        path: list[str | int] = ["input", "staffPriorities", index]
        if entry.staff_id not in performing:
            raise NotFoundError("Staff performing this service", [*path, "staffId"])
        if entry.staff_id in seen:
            raise InvalidInputError([*path, "staffId"], "Each staff member may be given one priority")
        seen.add(entry.staff_id)
        validation.whole_number(entry.priority, [*path, "priority"], minimum=LOWEST_PRIORITY,
                                maximum=HIGHEST_PRIORITY)
    return list(priorities)


async def replace_priorities(service_id: int, priorities: Sequence[PriorityOf], db: BaseDBAsyncClient) -> None:
    """The service's priorities become `priorities`; staff not named have the lowest again."""
    await StaffPriority.filter(service_id=service_id).using_db(db).delete()
    await StaffPriority.bulk_create([StaffPriority(service_id=service_id, staff_id=entry.staff_id,
                                                   priority=entry.priority)
                                     for entry in priorities if entry.priority != LOWEST_PRIORITY], using_db=db)


async def forget_former_staff(service_id: int, performing: Collection[int], db: BaseDBAsyncClient) -> None:
    """Drop the priorities of staff who no longer perform the service: one who is given it again starts afresh."""
    await StaffPriority.filter(service_id=service_id).exclude(staff_id__in=list(performing)).using_db(db).delete()
