"""Reading an RDB as it arrives (Redis's rio over a connection), for a replica's
diskless load: the loader (:func:`.rdb.load_reader`) pulls bytes from a
:class:`StreamReader`, which asks its source for the next chunk only when the current
one is used up, so the payload is never held whole in memory.

Every ``interval`` bytes consumed (loading-process-events-interval-bytes) the reader
calls its ``progress`` callback, as rdbLoadProgressCallback calls
processEventsWhileBlocked: the server serves its clients there.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from .rdb import RDBError, _Reader, crc64


class ShortRead(RDBError):
    """The source ended (or failed) before the RDB did: a connection problem, not a
    corrupt payload (Redis's rdbReportReadError rather than rdbReportCorruptRDB).
    ``why`` is the system's word for it (strerror of the failed read)."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why


class StreamReader(_Reader):
    """A :class:`.rdb._Reader` over chunks from ``fetch`` (which returns more bytes,
    never empty ones, or raises :class:`ShortRead`)."""

    def __init__(self, fetch: Callable[[], bytes], name: str, first: bytes = b"",
                 interval: int = 0, progress: Optional[Callable[[int], None]] = None,
                 checksum: bool = True) -> None:
        # (not _Reader.__init__: ``pos`` is computed here)
        self.name = name
        self._fetch = fetch
        self.data = bytes(first)        # the current chunk, consumed up to ``off``
        self.off = 0
        self._base = 0                  # stream offset of data[0]
        self._crc = 0                   # CRC64 of the chunks before ``data``
        self._crcing = checksum
        self._interval = interval if progress is not None else 0
        self._progress = progress
        self._next_event = interval if self._interval else -1
        self._fast_end = 0              # take() stays on its fast path below this
        self._set_fast_end()

    @property
    def pos(self) -> int:               # type: ignore[override]
        return self._base + self.off

    def _set_fast_end(self) -> None:
        end = len(self.data)
        if self._next_event >= 0:
            end = min(end, self._next_event - self._base)
        self._fast_end = end

    def take(self, count: int) -> bytes:
        off = self.off
        end = off + count
        if end <= self._fast_end:
            self.off = end
            return self.data[off:end]
        return self._take_slow(count)

    def _take_slow(self, count: int) -> bytes:
        parts = []
        need = count
        while True:
            data = self.data
            avail = len(data) - self.off
            if avail >= need:
                parts.append(data[self.off:self.off + need])
                self.off += need
                break
            if avail:
                parts.append(data[self.off:])
                need -= avail
            self._next_chunk()
        if self._next_event >= 0 and self.pos >= self._next_event:
            interval = self._interval
            self._next_event = (self.pos // interval + 1) * interval
            self._set_fast_end()
            self._progress(self.pos)    # type: ignore[misc]
        self._set_fast_end()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next_chunk(self) -> None:
        """Retire the (fully consumed) current chunk and fetch the next one."""
        if self._crcing and self.data:
            self._crc = crc64(self._crc, self.data)
        self._base += len(self.data)
        self.data = b""
        self.off = 0
        self._fast_end = 0
        chunk = self._fetch()
        self.data = bytes(chunk)

    def checksum(self) -> int:
        return crc64(self._crc, self.data[:self.off])

    def rest(self) -> bytes:
        """The bytes fetched but not consumed (what follows the RDB)."""
        return self.data[self.off:]


def describe(exc: Any) -> str:
    """Redis's log text for a failed diskless load's first line (rdbReportError):
    a short read resumes operation; a corrupt payload would stop Redis (it exits;
    this server logs it the same way and retries the synchronisation)."""
    if isinstance(exc, ShortRead):
        return ("Unexpected EOF reading RDB file. Failure loading rdb format from "
                "socket, assuming connection error, resuming operation.")
    reason = getattr(exc, "reason", "") or str(exc)
    return "%s. Failure loading rdb format" % reason
