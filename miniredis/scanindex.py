"""SCAN's stable slots: the part of :class:`miniredis.keyspace.Database` that keeps a
cursor valid while keys come and go (a base class: its tables are the database's).

Every key owns a slot in ``_slots`` for as long as it exists and never moves while
it lives, except in a compaction (below). A cursor is a slot number: SCAN walks slots
upwards from it, so a key present for the whole scan sits in one slot the whole time
and the walk must pass it. Deleting a key leaves a tombstone (None) whose slot is
reused by the next new key (a new key may or may not be returned: Redis promises
nothing for those either). Nothing is ever sorted.

Tombstones are compacted once they fill three quarters of the table (and there are
more than COMPACT_MIN_FREE of them), so a walk never wades through a mostly empty
table. Compaction keeps the keys' relative order and starts a new epoch; the cursor
carries the epoch in its high bits (position in the low _POSITION_BITS). For each
recent compaction the sorted old slot numbers of the survivors are kept, and an old
cursor p becomes "how many survivors sat below p" -- exactly the new slot of the
first key at or after p -- so an interrupted scan resumes where it stopped, losing
nothing. A cursor from an epoch older than the kept history restarts at 0 (duplicates
are allowed; omissions are not).
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any, Callable, List, Optional, Tuple

# Cursor layout and compaction thresholds.
_POSITION_BITS = 40
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_EPOCH_MASK = (1 << 24) - 1
COMPACT_MIN_FREE = 1024         # tombstones below this many are never compacted
_HISTORY_MAX = 8


class ScanIndex:
    """SCAN's cursor machinery over a database's slot tables (see the module)."""

    __slots__ = ()
    _slots: List[Any]
    _values: List[Any]
    _free: List[int]
    _epoch: int
    _history: Any
    access: Any
    sizes: Any
    index: Any
    state: Any
    expires: Any
    touched: Any
    settle: Any

    def _compact(self) -> None:
        """Squeeze out tombstones, keeping order; remember how old slots map to new."""
        if self.touched:
            self.settle()       # (touched slots are numbered the old way)
        slots = self._slots
        old_positions = array("q", [i for i, key in enumerate(slots) if key is not None])
        live: List[bytes] = [key for key in slots if key is not None]
        sizes = self.sizes
        self.sizes = array("I", [sizes[i] for i in old_positions])
        values = self._values
        self._values = [values[i] for i in old_positions]
        access = self.access
        fresh = self.state.new_access_map()
        fresh.extend(array(access.typecode, [access[i] for i in old_positions]))
        self.access = fresh
        self._slots = live
        self.index = dict(zip(live, range(len(live))))
        self._free = []
        self._epoch += 1
        history = self._history
        history.append((self._epoch, old_positions))
        # Bounded memory: a few translation tables, never much more than the keyspace.
        total = sum(len(table) for _, table in history)
        while len(history) > _HISTORY_MAX or (
                len(history) > 1 and total > 4 * len(live) + 65536):
            total -= len(history.popleft()[1])

    def _resume(self, cursor: int) -> int:
        """The slot at which a scan holding ``cursor`` continues in the current epoch."""
        position = cursor & _POSITION_MASK
        tag = cursor >> _POSITION_BITS
        current = self._epoch & _EPOCH_MASK
        if tag == current:
            return position
        history = self._history
        # The compactions after the cursor's epoch, oldest first, must all be known.
        behind = (current - tag) & _EPOCH_MASK
        if behind > len(history):
            return 0
        for _, old_positions in list(history)[len(history) - behind:]:
            position = bisect_left(old_positions, position)
        return position

    def scan(self, cursor: int, count: int,
             matches: Optional[Callable[[bytes], bool]] = None,
             reclaim: bool = True) -> Tuple[int, List[bytes]]:
        """Walk about ``count`` keys from ``cursor``; return the next cursor (0 when the
        walk is complete) and those walked keys that pass ``matches`` and are live.

        As in Redis, the pattern is applied first and only matching keys are checked
        for expiry (and reclaimed if expired); keys failing the pattern stay untouched.
        Without ``reclaim`` expired keys are returned too, for a caller that looks
        each one up itself (SCAN's TYPE filter).
        """
        slots = self._slots
        position = self._resume(cursor)
        found: List[bytes] = []
        walked = 0
        budget = max(count, 1) * 10  # also bound the tombstones walked per call
        expires = self.expires
        now = self.state.clock.expiry_ms() if expires else 0
        while budget and position < len(slots) and walked < count:
            key = slots[position]
            position += 1
            budget -= 1
            if key is None:
                continue
            walked += 1
            if matches is not None and not matches(key):
                continue
            if expires and reclaim:
                deadline = expires.get(key)
                if deadline is not None and deadline <= now:
                    epoch = self._epoch
                    if not self._expire(key):
                        found.append(key)   # (live to a replica's master)
                        continue
                    if self._epoch != epoch:  # that deletion compacted the table
                        position = self._resume(
                            ((epoch & _EPOCH_MASK) << _POSITION_BITS) | position)
                        slots = self._slots
                    continue
            found.append(key)
        if position >= len(slots):
            return 0, found
        return self._cursor(position), found

    def _cursor(self, position: int) -> int:
        return ((self._epoch & _EPOCH_MASK) << _POSITION_BITS) | position
