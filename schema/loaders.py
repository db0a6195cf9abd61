"""DataLoaders, built fresh for every request, so nested fields cost one query per type rather than one per row."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models import Service, Staff, StaffPriority

M = TypeVar("M", bound=Model)


def _by_id(model: type[M]) -> Callable[[Sequence[int]], Coroutine[Any, Any, list[M | None]]]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        found = {row.pk: row for row in await model.filter(id__in=list(ids))}
        return [found.get(pk) for pk in ids]

    return load


async def _staff_of_services(service_ids: Sequence[int]) -> list[list[Staff]]:
    rows = await Service.filter(id__in=list(service_ids)).prefetch_related("staff")
    by_service = {row.id: sorted(row.staff, key=lambda member: member.id) for row in rows}
    return [by_service.get(pk, []) for pk in service_ids]


async def _priorities_of_services(service_ids: Sequence[int]) -> list[dict[int, int]]:
    rows = await StaffPriority.filter(service_id__in=list(service_ids)).values_list("service_id", "staff_id",
                                                                                   "priority")
    by_service: dict[int, dict[int, int]] = {pk: {} for pk in service_ids}
    for service_id, staff_id, priority in rows:
        by_service[int(str(service_id))][int(str(staff_id))] = int(str(priority))
    return [by_service[pk] for pk in service_ids]


class Loaders:
    def __init__(self) -> None:
        self.staff: DataLoader[int, Staff | None] = DataLoader(load_fn=_by_id(Staff))
        self.service: DataLoader[int, Service | None] = DataLoader(load_fn=_by_id(Service))
        self.staff_of_service: DataLoader[int, list[Staff]] = DataLoader(load_fn=_staff_of_services)
        # Per service, the priority of each staff member who has one other than 0.
        self.priorities_of_service: DataLoader[int, dict[int, int]] = DataLoader(load_fn=_priorities_of_services)
