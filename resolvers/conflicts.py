"""Sync conflicts: listing a staff member's, and settling one."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import ConflictStatus as ConflictStatusModel
from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.sync_enums import ConflictStatus
from schema.sync_inputs import ResolveConflictInput
from schema.sync_payloads import SyncConflictList, SyncConflictResult, SyncConflictsResult
from schema.sync_types import SyncConflict
from services import conflicts as conflict_service
from services.conflicts import SettleChoice


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def conflicts(staff_id: strawberry.ID, info: Info, status: ConflictStatus | None = None) -> SyncConflictsResult:
    """A staff member's conflicts, newest first, for the owner and the staff member."""
    rows = await conflict_service.list_conflicts(viewer_of(info), pk(staff_id, "StaffMember", ["staffId"]),
                                                 ConflictStatusModel(status.value) if status else None)
    return SyncConflictList(conflicts=[SyncConflict.from_model(row) for row in rows])


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def resolve_conflict(input: ResolveConflictInput, info: Info) -> SyncConflictResult:
    """Settle an open conflict: keep the booking, or accept the calendar's version."""
    row = await conflict_service.settle_conflict(
        viewer_of(info), pk(input.conflict_id, "SyncConflict", ["input", "conflictId"]),
        SettleChoice(input.choice.value), info.context.now())
    return SyncConflict.from_model(row)
