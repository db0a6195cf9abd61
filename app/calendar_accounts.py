"""The account check the API uses when someone connects a calendar: CalDAV discovery, with provider errors turned
into the service errors the GraphQL layer reports (ConnectionCheckFailed, or a ValidationError on the server URL).
Services may not talk to providers, so this is handed to them as their `AccountProbe`."""

from __future__ import annotations

from providers.caldav import CaldavCredentials, CaldavServerType, ConnectionCheckFailed, discover, server_url_for
from providers.registry import CALDAV
from services.connections import ConnectionCheckError, ProbedAccount, ProbedCalendar
from services.errors import InvalidInputError


def _sentence(message: str) -> str:
    """Provider messages are written to follow a colon in a log line; shown alone they start with a capital."""
    return message[:1].upper() + message[1:]


class CaldavAccountProbe:
    """Discovers a CalDAV account's calendars; every HTTP request it makes gives up after `timeout` seconds. The
    account it finds is of the registry's CalDAV entry."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"CaldavAccountProbe(timeout={self.timeout})"

    async def __call__(self, server_type: str, server_url: str | None, username: str, password: str
                       ) -> ProbedAccount:
        try:
            url = server_url_for(CaldavServerType(server_type), server_url)
        except ValueError as exc:
            raise InvalidInputError(["input", "serverUrl"], _sentence(str(exc))) from None
        try:
            account = await discover(CaldavCredentials(url, username, password), timeout=self.timeout)
        except ConnectionCheckFailed as exc:
            # `from None`: nothing of the request (credentials included) rides along on the chained exception.
            raise ConnectionCheckError(exc.problem.value, _sentence(str(exc))) from None
        return ProbedAccount(
            provider=CALDAV.name, server_url=url, principal_url=account.principal_url, home_url=account.home_url,
            own_addresses=account.own_addresses,
            calendars=tuple(ProbedCalendar(calendar_id=found.calendar_id, name=found.name, colour=found.colour,
                                           time_zone=found.time_zone, writable=found.writable, primary=found.primary)
                            for found in account.calendars))
