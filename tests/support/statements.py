"""Counting the SQL statements a piece of code sends, from the ORM clients' own query log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

_LOG = logging.getLogger("tortoise.db_client")  # every client logs each statement it sends, at DEBUG


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith(("Created connection", "Closed connection")):
            return  # a pool opened or closed, not a statement
        args = record.args
        self.statements.append(str(args[0]) if isinstance(args, tuple) and args else record.getMessage())


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """The statements sent while the block runs (the list fills as they are sent)."""
    counter = _Counter()
    level, propagate = _LOG.level, _LOG.propagate
    _LOG.setLevel(logging.DEBUG)
    _LOG.propagate = False  # counted, not printed
    _LOG.addHandler(counter)
    try:
        yield counter.statements
    finally:
        _LOG.removeHandler(counter)
        _LOG.setLevel(level)
        _LOG.propagate = propagate
