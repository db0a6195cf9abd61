"""Seeding bench/sync_scale.py's database: N staff members, each with one connection and one calendar, in bulk.

Per staff member: working hours Monday to Friday 08:00-18:00 (so every one is "bookable soon"), 10 confirmed
bookings already written to the calendar (synced mappings), and 3 personal events imported as busy blocks. Half the
connections are Google: OAuth tokens that come due for a refresh spread over the next hour, and a live push channel
that expires in 3 to 7 days (the calendar due for a new one a day before). Half are CalDAV (set aside by the push
channel claim, as it would have done). Every calendar is in step with its provider (its cursor is current) and its
next pull falls at random within the next DUE_SPREAD, so 1% of calendars come due each second.

Rows are written with explicit IDs in multi-row batches (execute_many), then PostgreSQL's sequences are moved past
them so the ORM's later inserts do not collide.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from tortoise import connections

from jobs.pull import import_window
from models import CalendarConnection, ExternalCalendar
from providers.base import RemoteCalendar
from services.credentials import CredentialVault, new_key
from tests.fakes.memory import MemoryProvider
from tests.support.sync import personal_event

# The key the seeded credentials are sealed with: the bench's job runtime is configured with it, so the pulls run
# the real job body, which unseals a connection's credentials (CalDAV's own addresses) before opening its client.
SEED_KEY = new_key()

FAR_OFF = datetime(2999, 1, 1, tzinfo=UTC)  # as services.watch_channels sets aside a calendar not watched
RENEW_AHEAD = timedelta(days=1)
# Access tokens last an hour and are refreshed 10 minutes ahead: spread over the hour after that, as in a steady state.
REFRESH_LEAD = timedelta(minutes=10)
DUE_SPREAD = timedelta(seconds=100)  # every calendar is due once in this span: 1% of them each second
BOOKINGS = 10
EVENTS = 3
ZONE = "Europe/Berlin"
_BATCH = 2000


def calendar_id(staff: int) -> str:
    return f"cal-{staff}"


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, start=1))


async def insert(table: str, columns: Sequence[str], rows: Iterator[tuple[object, ...]], postgres: bool) -> int:
    """Insert `rows` in batches; returns how many."""
    db = connections.get("default")
    names = ", ".join(f'"{column}"' for column in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    sql = _numbered(sql) if postgres else sql
    count, batch = 0, []
    for row in rows:
        batch.append(list(row))
        if len(batch) == _BATCH:
            await db.execute_many(sql, batch)
            count, batch = count + len(batch), []
    if batch:
        await db.execute_many(sql, batch)
        count += len(batch)
    if postgres and "id" in columns:
        await db.execute_script(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")
    return count


def _event_start(start: datetime, day: int) -> datetime:
    return start.replace(hour=14, minute=0, second=0, microsecond=0) + timedelta(days=day)


async def seed(size: int, now: datetime, postgres: bool) -> MemoryProvider:
    """Seed `size` staff members (module docstring); returns the provider holding their calendars' events."""
    rng = random.Random(size)
    provider = MemoryProvider([RemoteCalendar(calendar_id(staff), "Work", "", ZONE, True, True)
                               for staff in range(1, size + 1)])
    cursors = {}
    for staff in range(1, size + 1):
        for event in range(EVENTS):
            provider.write_by_hand(calendar_id(staff), f"ev-{staff}-{event}.ics",
                                   personal_event(f"ev-{staff}-{event}", _event_start(now, event + 1)))
        cursors[staff] = f"seq:{provider.calendars[calendar_id(staff)].log[-1][0]}"
    window = import_window(now)
    google = {staff for staff in range(1, size + 1) if staff % 2 == 0}
    expiry = {staff: now + timedelta(days=rng.uniform(3, 7)) for staff in sorted(google)}

    await insert("user_account", ["id", "email", "name", "password_hash", "role", "created_at"],
                 iter([(1, "owner@example.com", "Olga Owner", "-", "owner", now)]), postgres)
    await insert("business", ["id", "name", "time_zone", "created_at", "owner_id"],
                 iter([(1, "Fix-It", ZONE, now, 1)]), postgres)
    await insert("service", ["id", "name", "duration_minutes", "buffer_before_minutes", "buffer_after_minutes",
                             "slot_step_minutes", "minimum_notice_minutes", "booking_horizon_days", "colour",
                             "created_at", "business_id"],
                 iter([(1, "Boiler check", 60, 0, 0, 30, 0, 400, "#3366cc", now, 1)]), postgres)
    staff_ids = range(1, size + 1)
    await insert("staff", ["id", "name", "email", "time_zone", "booking_lock", "created_at", "business_id"],
                 ((s, f"Tech {s}", f"tech{s}@example.com", ZONE, 0, now, 1) for s in staff_ids), postgres)
    await insert("service_staff", ["service_id", "staff_id"], ((1, s) for s in staff_ids), postgres)
    await insert("workinghoursrange", ["id", "weekday", "start_minute", "end_minute", "staff_id"],
                 (((s - 1) * 5 + day + 1, day, 480, 1080, s) for s in staff_ids for day in range(5)), postgres)
    # Columns newer than some code the bench runs against (the refresh lock, unreadable events) only where they exist.
    lock_owner = ["refresh_lock_owner"] if "refresh_lock_owner" in CalendarConnection._meta.fields_map else []
    unreadable = ["unreadable_event_ids"] if "unreadable_event_ids" in ExternalCalendar._meta.fields_map else []
    sealed = CredentialVault([SEED_KEY]).seal({"own_addresses": []})
    await insert("calendarconnection", [
        "id", "provider", "account_label", "credentials", "direction", "frequency", "conflict_policy",
        "tentative_blocks", "all_day_blocks", "health", "last_successful_sync_at", "last_error", "created_at",
        "staff_id", "consecutive_failures", "last_attempt_at", "server_type", "refresh_failures",
        "token_expires_at", *lock_owner],
        ((s, "google" if s in google else "caldav", f"tech{s}@example.com", sealed, "two_way", "real_time",
          "ask", False, True, "active", now, "", now, s, 0, now, "" if s in google else "generic", "[]",
          now + REFRESH_LEAD + timedelta(seconds=rng.uniform(0, 3600)) if s in google else None,
          *([""] if lock_owner else []))
         for s in staff_ids), postgres)
    # The schema before calendars kept a push channel due time (bench runs against older code too) has no column.
    due_time = ["watch_due_at"] if "watch_due_at" in ExternalCalendar._meta.fields_map else []
    await insert("externalcalendar", [
        "id", "provider_calendar_id", "name", "colour", "time_zone", "import_busy", "is_destination", "sync_cursor",
        "connection_id", "last_pulled_at", "next_pull_at", "primary", "window_start", "window_end", "writable",
        "empty_listings", "sync_lock_owner", *due_time, *unreadable],
        ((s, calendar_id(s), "Work", "", ZONE, True, True, cursors[s], s, now,
          now + timedelta(seconds=rng.uniform(0, DUE_SPREAD.total_seconds())), True, window.start, window.end,
          True, 0, "", *([expiry[s] - RENEW_AHEAD if s in google else FAR_OFF] if due_time else []),
          *(["[]"] if unreadable else []))
         for s in staff_ids), postgres)
    await insert("watchchannel", ["id", "channel_id", "resource_id", "token_hash", "expires_at", "created_at",
                                  "external_calendar_id"],
                 ((s, f"ch-{s}", f"res-{s}", "0" * 64, expiry[s], now, s) for s in sorted(google)), postgres)
    day = now.replace(hour=9, minute=0, second=0, microsecond=0)
    await insert("booking", [
        "id", "customer_name", "customer_email", "customer_phone", "walk_in", "starts_at", "ends_at",
        "buffered_start", "buffered_end", "status", "customer_notes", "merchant_notes", "version", "created_at",
        "updated_at", "business_id", "created_by_id", "service_id", "staff_id"],
        (((s - 1) * BOOKINGS + b + 1, "Cleo Customer", "", "", False, day + timedelta(days=b + 1),
          day + timedelta(days=b + 1, hours=1), day + timedelta(days=b + 1), day + timedelta(days=b + 1, hours=1),
          "confirmed", "", "", 1, now, now, 1, 1, 1, s) for s in staff_ids for b in range(BOOKINGS)), postgres)
    await insert("eventmapping", [
        "id", "booking_id", "external_calendar_id", "external_event_id", "etag", "version_written", "state",
        "last_error", "updated_at", "attempts", "written", "queued", "failed_by_outage"],
        (((s - 1) * BOOKINGS + b + 1, (s - 1) * BOOKINGS + b + 1, s, f"lockstep-{(s - 1) * BOOKINGS + b + 1}.ics",
          "etag-0", 1, "synced", "", now, 0, "{}", 1, False) for s in staff_ids for b in range(BOOKINGS)), postgres)
    await insert("busyblock", [
        "id", "source", "external_event_id", "occurrence_key", "title", "starts_at", "ends_at", "all_day",
        "created_at", "updated_at", "external_calendar_id", "staff_id"],
        (((s - 1) * EVENTS + e + 1, "external", f"ev-{s}-{e}.ics", "", "Dentist", _event_start(now, e + 1),
          _event_start(now, e + 1) + timedelta(hours=1), False, now, now, s, s)
         for s in staff_ids for e in range(EVENTS)), postgres)
    if postgres:
        # As autovacuum would soon after such an import; SQLite gathers no statistics unless told, nor does the app.
        await connections.get("default").execute_script("ANALYZE")
    return provider
