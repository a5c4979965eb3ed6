"""What the in-process benchmarks (dispatch.py, commands_cpu.py) share: requests encoded
as a client sends them, and a connection whose replies go nowhere.

Imports nothing of miniredis, so that ``commands_cpu.py --pythonpath`` can still load
it from another source tree.
"""
from __future__ import annotations

import os
from typing import Any


def encode(*args: bytes) -> bytes:
    """One request as a RESP array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


class NullSocket:
    """Takes every reply at once, like a socket with room to spare. Replies are written
    to the file descriptor (``os.write``), so this must be a real one: /dev/null."""

    def __init__(self) -> None:
        self._fd = os.open(os.devnull, os.O_WRONLY)

    def send(self, data: bytes) -> int:
        return len(data)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def check_open(client: Any) -> None:
    """Stop the benchmark if the client was closed: every later request would be
    skipped and the figures would time nothing."""
    if client.closing or client.closed:
        raise SystemExit("the benchmark's client was closed: the figures are void")
