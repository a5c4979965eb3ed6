"""Fixtures shared by this helper's client-library tests (imported by each module).

Each module gets its own miniredis, started in-process on a free port, so a library
that leaves keys, scripts or connections behind cannot disturb another module.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from miniredis import Server


@pytest.fixture(scope="module")
def embedded_server() -> Iterator[Server]:
    server = Server(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(embedded_server: Server) -> Iterator[Server]:
    """The module's server, emptied (and its clock running) for each test."""
    embedded_server.flushall()
    yield embedded_server
    if embedded_server.state.clock.frozen:
        embedded_server.unfreeze_time()
