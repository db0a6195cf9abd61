"""The staff member's own hands in Outlook, for tests of the fake Microsoft (tests/fakes/microsoft.py): accounts and
calendars to set up, and events added, changed, deleted or moved the way Outlook would, each notifying the
subscriptions that cover its calendar. Events are answered as GET /me/events/{id} would (REST ids, UTC times).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.fakes.microsoft_delta import DeltaTokens
from tests.fakes.microsoft_errors import GraphError
from tests.fakes.microsoft_oauth import IdentityPlatform
from tests.fakes.microsoft_render import View, event_resource, occurrence_resource
from tests.fakes.microsoft_store import Calendar, Mailbox, StoredEvent, new_id, occurrence_id
from tests.fakes.microsoft_subscriptions import Subscriptions
from tests.fakes.microsoft_times import graph_date_time


class HandEdits:
    _lock: threading.RLock
    oauth: IdentityPlatform
    mailboxes: dict[str, Mailbox]
    subscriptions: Subscriptions
    delta: DeltaTokens

    def _changed(self, mailbox: Mailbox, calendar_id: str, change_type: str, event: StoredEvent,
                 original: datetime | None = None) -> None:
        raise NotImplementedError

    def _on_loop(self, action: Callable[..., None], *arguments: Any) -> None:
        raise NotImplementedError

    def add_account(self, account: str, display_name: str = "") -> Mailbox:
        """A mailbox with its default calendar "Calendar"."""
        with self._lock:
            mailbox = Mailbox(account, display_name or account.split("@")[0])
            owner = {"name": mailbox.display_name, "address": account}
            default = Calendar(new_id(), "Calendar", True, "auto", True, owner)
            mailbox.calendars[default.calendar_id] = default
            self.mailboxes[account] = mailbox
            self.oauth.accounts.add(account)
            return mailbox

    def mailbox(self, account: str | None = None) -> Mailbox:
        return self.mailboxes[account or self.oauth.default_account]

    def add_calendar(self, name: str, can_edit: bool = True, color: str = "auto", account: str | None = None) -> str:
        with self._lock:
            mailbox = self.mailbox(account)
            calendar = Calendar(new_id(), name, can_edit, color, False, {"name": mailbox.display_name,
                                                                         "address": mailbox.account})
            mailbox.calendars[calendar.calendar_id] = calendar
            return calendar.calendar_id

    def default_calendar_id(self, account: str | None = None) -> str:
        return self.mailbox(account).default_calendar.calendar_id

    def insert_by_hand(self, calendar_id: str, event: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        """The staff member adds an event in Outlook; answers it as GET would (REST id, UTC)."""
        with self._lock:
            mailbox = self.mailbox(account)
            stored = mailbox.create(mailbox.calendar(calendar_id), event)
            self._changed(mailbox, calendar_id, "created", stored)
            return event_resource(mailbox, stored, View())

    def _owner_of(self, event_id: str) -> tuple[Mailbox, StoredEvent, datetime | None]:
        for mailbox in self.mailboxes.values():
            try:
                event, original = mailbox.find(event_id)
            except GraphError:
                continue
            return mailbox, event, original
        raise KeyError(event_id)

    def update_by_hand(self, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            mailbox, event, original = self._owner_of(event_id)
            mailbox.patch(event, original, changes, None)
            self._changed(mailbox, event.calendar_id, "updated", event, original)
            if original is not None:
                return occurrence_resource(mailbox, event, original, View())
            return event_resource(mailbox, event, View())

    def delete_by_hand(self, event_id: str) -> None:
        with self._lock:
            mailbox, event, original = self._owner_of(event_id)
            mailbox.delete(event, original)
            self._changed(mailbox, event.calendar_id, "deleted", event, original)

    def move_by_hand(self, event_id: str, calendar_id: str) -> str:
        """Drag an event to another calendar of its mailbox; answers its new REST id."""
        with self._lock:
            mailbox, event, _ = self._owner_of(event_id)
            before = event.calendar_id
            self._changed(mailbox, before, "deleted", event)
            mailbox.move(event, mailbox.calendar(calendar_id))
            self._changed(mailbox, calendar_id, "created", event)
            return event.rest_id

    def immutable_id(self, event_id: str) -> str:
        with self._lock:
            return self._owner_of(event_id)[1].immutable_id

    def occurrence_id(self, series_id: str, occurrence_start_utc: datetime) -> str:
        """The id of the occurrence of a series that the rule puts at `occurrence_start_utc`."""
        return occurrence_id(series_id, occurrence_start_utc.astimezone(UTC))

    def cancel_occurrence_by_hand(self, series_id: str, occurrence_start_utc: datetime) -> None:
        self.delete_by_hand(self.occurrence_id(series_id, occurrence_start_utc))

    def move_occurrence_by_hand(self, series_id: str, occurrence_start_utc: datetime, new_start: datetime,
                                new_end: datetime) -> dict[str, Any]:
        """Move one occurrence (it becomes an exception); new times are aware datetimes."""
        def written(moment: datetime) -> dict[str, str]:
            return {"dateTime": graph_date_time(moment.astimezone(UTC)), "timeZone": "UTC"}
        return self.update_by_hand(self.occurrence_id(series_id, occurrence_start_utc),
                                   {"start": written(new_start), "end": written(new_end)})

    def expire_delta_tokens(self, with_location: bool = False) -> None:
        with self._lock:
            self.delta.expire(with_location)

    def send_lifecycle(self, subscription_id: str, lifecycle_event: str) -> None:
        """Post a lifecycle notification (reauthorizationRequired, subscriptionRemoved or missed)."""
        self._on_loop(self.subscriptions.send_lifecycle, subscription_id, lifecycle_event)
