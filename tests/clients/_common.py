"""What the redis-py and valkey-py modules share: both protocols as a fixture, reply
shapes that differ between them, and waiting for a condition another thread makes."""
from __future__ import annotations

import time
from typing import Any, Callable, List, Tuple

import pytest


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request) -> int:
    return request.param


def pairs(reply: Any) -> List[Tuple[Any, ...]]:
    """(member, score) pairs: the clients give tuples on RESP2, lists on RESP3."""
    return [tuple(pair) for pair in reply]


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)
