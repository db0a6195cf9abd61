"""Providers used as async context managers: `async with provider:` gives the provider itself and closes it
(`aclose()`, which releases its HTTP session) on the way out, whatever happened inside."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class ClosedOnExit:
    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.aclose()
