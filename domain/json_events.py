"""Reading the JSON event resources of Google and Microsoft Graph: a payload is JSON text holding one resource, an
object with a string `id`, or a resource parsed already, so a caller asking several questions of one event parses it
once. Each provider's module names its own error (a subclass of UnreadableCalendarData) and its resource."""

from __future__ import annotations

import json
from typing import Any

from domain.busy import UnreadableCalendarData


def json_resource(payload: str | dict[str, Any], unreadable: type[UnreadableCalendarData],
                  resource_name: str) -> dict[str, Any]:
    """The resource of `payload` (a dict is returned as it is); raises `unreadable` when the text is not JSON or not
    an object with a string `id` (the message then names `resource_name`, e.g. "Graph event resource")."""
    if isinstance(payload, dict):
        return payload
    try:
        resource = json.loads(payload)
    except ValueError as exc:
        raise unreadable("not JSON") from exc
    if not isinstance(resource, dict) or not isinstance(resource.get("id"), str):
        raise unreadable(f"not a {resource_name}")
    return resource
