"""PostgreSQL connections handed back to the pool without a reset query.

asyncpg's pool sends a reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) each time a connection goes back to it,
and Tortoise takes a connection from the pool for every statement outside a transaction: so each such statement
cost two round trips. Lockstep leaves nothing of a session behind that the reset would clear: no advisory locks,
cursors or LISTEN (live events go through Redis), and settings only with SET LOCAL inside a transaction. An open
transaction is still rolled back on release (asyncpg does that whatever the reset query is).

Wired in by `models.database.tortoise_config` for PostgreSQL URLs.
"""

from __future__ import annotations

from asyncpg.connection import Connection


class ResetFreeConnection(Connection):  # type: ignore[misc]
    def get_reset_query(self) -> str:
        return ""
