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

    def append(self, chunk: Any) -> None:
        """Add ``chunk`` (bytes-like) at the end, dropping the oldest bytes past size."""
        data = self.data
        data += chunk
        excess = len(data) - self.size
        if excess > 0:
            # bytearray deletes a prefix cheaply (it moves its start, not the bytes).
            del data[:excess]
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
