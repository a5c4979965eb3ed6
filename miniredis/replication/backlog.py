"""The replication backlog: the last ``repl-backlog-size`` bytes of the stream.

A replica that lost its link asks ``PSYNC <replid> <offset+1>``; when the backlog still
holds every byte from there on, the master answers ``+CONTINUE`` and sends only those
bytes (a partial resynchronisation) instead of a whole new RDB.

Offsets are Redis's: the stream's first byte is offset 1, and ``first_offset`` is the
offset of the oldest byte held (``repl_backlog_first_byte_offset``).
"""
from __future__ import annotations

from typing import Any

MIN_SIZE = 16 * 1024            # CONFIG_REPL_BACKLOG_MIN_SIZE


class Backlog:
    """A bounded byte window over the replication stream (Redis's repl_backlog)."""

    def __init__(self, size: int, master_offset: int) -> None:
        self.size = max(MIN_SIZE, size)
        self.data = bytearray()
        # Offset of data[0]; with nothing held yet, the next byte's offset.
        self.first_offset = master_offset + 1

    @property
    def histlen(self) -> int:
        return len(self.data)

    def append(self, chunk: Any, retain: int = 0) -> None:
        """Add ``chunk`` (bytes-like) at the end, dropping the oldest bytes past size,
        or past ``retain`` when more: Redis 7.0 shares one buffer between the backlog
        and the replicas' output, so the backlog keeps what a lagging replica (or one
        waiting for its RDB) has yet to receive, and can serve a PSYNC from there."""
        data = self.data
        data += chunk
        excess = len(data) - max(self.size, retain)
        if excess > 0:
            # bytearray deletes a prefix cheaply (it moves its start, not the bytes).
            del data[:excess]
            self.first_offset += excess

    def trim(self, retain: int) -> None:
        """Drop the oldest bytes past size that no replica needs any more (``retain``:
        the most any replica has yet to receive), as Redis's cron trims the shared
        buffer once the replicas holding it have read or left."""
        excess = len(self.data) - max(self.size, retain)
        if excess > 0:
            del self.data[:excess]
            self.first_offset += excess

    def resize(self, size: int) -> None:
        """CONFIG SET repl-backlog-size: keep the newest ``size`` bytes."""
        self.size = max(MIN_SIZE, size)
        excess = len(self.data) - self.size
        if excess > 0:
            del self.data[:excess]
            self.first_offset += excess

    def covers(self, offset: int) -> bool:
        """Can a replica continue from ``offset`` (the next byte it needs)?"""
        return self.first_offset <= offset <= self.first_offset + len(self.data)

    def since(self, offset: int) -> bytes:
        """The bytes from ``offset`` to the end (``covers(offset)`` must hold)."""
        return bytes(self.data[offset - self.first_offset:])
