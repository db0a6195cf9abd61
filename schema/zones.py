"""Answering date-times in the zone a query asked for (its `timeZone` argument), or as stored (UTC) without one."""

from __future__ import annotations

from datetime import datetime, tzinfo


def in_zone(moment: datetime, zone: tzinfo | None) -> datetime:
    """The same instant on the clock of `zone`; unchanged when no zone was asked for."""
    return moment if zone is None else moment.astimezone(zone)
