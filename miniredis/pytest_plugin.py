"""pytest fixtures for testing code that talks to Redis, served by miniredis.

Installing miniredis registers this module as a pytest plugin (the ``pytest11`` entry
point ``miniredis``), so these fixtures are available in every test suite:

``miniredis_server``
    A :class:`miniredis.Server` on a free port, started once per test session and
    served from a background thread. Its data and clock can be driven directly
    (``set``, ``get``, ``dump``, ``freeze_time``, ``advance_time``...).
``miniredis_url``
    That server's ``redis://127.0.0.1:<port>/0`` URL, for code configured by URL.
``redis_client``
    A ``redis.Redis`` connected to it. Every database is flushed before each test
    that uses it, and the clock runs again after the test if the test froze it.

Nothing heavy is imported until a fixture is used, so the plugin costs nothing in
test suites that do not use it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from .server import Server


@pytest.fixture(scope="session")
def miniredis_server() -> Iterator["Server"]:
    """A miniredis on a free port for the whole session (stopped at the end)."""
    from .server import Server
    server = Server(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def miniredis_url(miniredis_server: "Server") -> str:
    """The session server's URL (``redis://127.0.0.1:<port>/0``)."""
    return miniredis_server.url


@pytest.fixture
def redis_client(miniredis_server: "Server") -> Iterator[Any]:
    """A ``redis.Redis`` on the session server, starting from empty databases."""
    import redis
    miniredis_server.flushall()
    client = redis.Redis.from_url(miniredis_server.url)
    try:
        yield client
    finally:
        client.close()
        # A test that froze time must not leave later tests with a stopped clock.
        if miniredis_server.state.clock.frozen:
            miniredis_server.unfreeze_time()
