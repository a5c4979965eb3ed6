"""What a saving child tells its parent while it runs (Redis's childinfo.c).

A child forked to write an RDB (BGSAVE, a full synchronisation) or to rewrite the AOF
reports through a pipe, in fixed-size records: about once a second the keys it has
written and its copy-on-write size, and after a successful save its final
copy-on-write size. The copy-on-write size is the child's ``Private_Dirty`` memory
(``/proc/self/smaps_rollup``, or ``smaps`` summed): pages the parent changed since the
fork, and -- for a Python child, whose reference counts write to every object it
reads -- the pages the child's own walk of the dataset copied. Reading it costs time,
so the child reads it again only after a hundred times as long as the last reading
took (CHILD_COW_DUTY_CYCLE). The parent keeps the figures INFO persistence shows
(``current_cow_size``, ``current_fork_perc``, ``rdb_last_cow_size``...) in
:class:`ForkStats`.
"""
from __future__ import annotations

import os
import struct
import time
from typing import Callable, List, Optional

CURRENT_INFO, AOF_COW_SIZE, RDB_COW_SIZE = 0, 1, 2
_DUTY_CYCLE = 100               # CHILD_COW_DUTY_CYCLE
_RECORD = struct.Struct("=iQQq")    # kind, keys written, cow bytes, cow read at (us)


def _monotonic_us() -> int:
    return time.monotonic_ns() // 1000


def private_dirty() -> int:
    """This process's Private_Dirty bytes (zmalloc_get_private_dirty), 0 if unknown."""
    for path in ("/proc/self/smaps_rollup", "/proc/self/smaps"):
        try:
            with open(path, "rb") as smaps:
                total = 0
                for line in smaps:
                    if line.startswith(b"Private_Dirty:"):
                        total += int(line.split()[1]) * 1024
                return total
        except (OSError, ValueError, IndexError):
            continue
    return 0


class Reporter:
    """The child's end: counts the keys written and sends the records."""

    def __init__(self, fd: int, name: str, log: Callable[[str, str], None]) -> None:
        self.fd = fd
        self.name = name            # "RDB", "AOF rewrite": the log line's subject
        self.log = log
        self.keys = 0
        self.sent_at = 0.0          # (monotonic seconds; 0: nothing sent yet)
        self.cow = 0
        self.peak = 0
        self.total = 0
        self.readings = 0
        self.cow_at = 0             # when ``cow`` was read (monotonic us)
        self.cost = 0               # how long that reading took (us)

    def key_written(self) -> None:
        """After each key: about once a second (looked at every 1024 keys), send the
        count so far, as rdbSaveRio and rewriteAppendOnlyFileRio do."""
        count = self.keys
        self.keys = count + 1
        if not count & 1023:
            now = time.monotonic()
            if now - self.sent_at >= 1.0:
                self.send(CURRENT_INFO, self.keys)
                self.sent_at = now

    def send(self, kind: int, keys: int = 0) -> None:
        """sendChildInfoGeneric: read the copy-on-write size unless a current-info
        record comes too soon after the last reading; exit if the parent is gone."""
        now = _monotonic_us()
        if kind != CURRENT_INFO or not self.cow_at or \
                now - self.cow_at > self.cost * _DUTY_CYCLE:
            cow = private_dirty()
            self.cow_at = _monotonic_us()
            self.cost = self.cow_at - now
            self.cow = cow
            self.peak = max(self.peak, cow)
            self.total += cow
            self.readings += 1
            final = kind != CURRENT_INFO
            if cow or final:
                self.log("notice" if final else "verbose",
                         "Fork CoW for %s: current %d MB, peak %d MB, average %d MB"
                         % (self.name, cow >> 20, self.peak >> 20,
                            (self.total // self.readings) >> 20))
        try:
            os.write(self.fd, _RECORD.pack(kind, keys, self.cow, self.cow_at))
        except OSError as exc:
            self.log("warning", "Child failed reporting info to parent, exiting. %s"
                     % os.strerror(exc.errno or 0))
            os._exit(1)


# In a forked child that reports (set by diskio.Child), else None.
reporter: Optional[Reporter] = None


def key_written_hook() -> Optional[Callable[[], None]]:
    """What a walk over the dataset calls after each key: the child's reporter, or
    None (a save in the server itself, a child that does not report)."""
    return reporter.key_written if reporter is not None else None


def send_final(kind: int) -> None:
    """After a successful save in a reporting child: its final copy-on-write size."""
    if reporter is not None:
        reporter.send(kind)


class ForkStats:
    """The parent's figures (INFO persistence), from the running child's records."""

    def __init__(self) -> None:
        self.fd = -1                # the running child's pipe (read end)
        self._partial = b""
        self.peak = 0
        self.cow = 0
        self.cow_at = 0
        self.keys = 0
        self.keys_total = 0
        self.rdb_cow = 0
        self.aof_cow = 0

    def begin(self, fd: int, keys_total: int) -> None:
        """A reporting child was forked (redisFork): current figures start over."""
        self.fd = fd
        self.peak = self.cow = self.cow_at = self.keys = 0
        self.keys_total = keys_total

    def receive(self) -> None:
        """Apply every complete record waiting in the pipe (receiveChildInfo)."""
        if self.fd < 0:
            return
        chunks: List[bytes] = [self._partial]
        while True:
            try:
                data = os.read(self.fd, 4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        data = b"".join(chunks)
        size = _RECORD.size
        usable = len(data) - len(data) % size
        self._partial = data[usable:]
        for offset in range(0, usable, size):
            kind, keys, cow, cow_at = _RECORD.unpack_from(data, offset)
            if cow > self.peak:
                self.peak = cow
            if kind == CURRENT_INFO:
                self.cow = cow
                self.cow_at = cow_at
                self.keys = keys
            elif kind == AOF_COW_SIZE:
                self.aof_cow = self.peak
            elif kind == RDB_COW_SIZE:
                self.rdb_cow = self.peak

    def end(self, succeeded: bool) -> None:
        """The child is done (checkChildrenDone): its last records count only if it
        succeeded; then the current figures go back to zero (resetChildState)."""
        if succeeded:
            self.receive()
        self.close()
        self.peak = self.cow = self.cow_at = self.keys = self.keys_total = 0

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = -1
        self._partial = b""

    def info_lines(self) -> List[str]:
        """The current_* lines of INFO persistence."""
        age = (_monotonic_us() - self.cow_at) // 1000000 if self.cow_at else 0
        percent = self.keys * 100.0 / self.keys_total if self.keys_total else 0.0
        return ["current_cow_peak:%d" % self.peak, "current_cow_size:%d" % self.cow,
                "current_cow_size_age:%d" % age, "current_fork_perc:%.2f" % percent,
                "current_save_keys_processed:%d" % self.keys,
                "current_save_keys_total:%d" % self.keys_total]
