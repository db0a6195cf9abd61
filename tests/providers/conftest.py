"""Real CalDAV servers for the provider tests, started once per run and only when a test asks for one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.caldav_servers import CaldavServer, running_radicale, running_xandikos


@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaldavServer]:
    with running_radicale(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture(scope="session")
def xandikos_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaldavServer]:
    with running_xandikos(tmp_path_factory.mktemp("xandikos")) as server:
        yield server


@pytest.fixture(params=["radicale", "xandikos"])
def caldav_server(request: pytest.FixtureRequest) -> CaldavServer:
    """Each CalDAV server in turn."""
    server: CaldavServer = request.getfixturevalue(f"{request.param}_server")
    return server
