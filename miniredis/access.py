"""Per-key access stamps: what Redis keeps in each object's 24-bit ``lru`` field.

A database keeps one flat table, ``access`` (an ``array`` indexed by the key's SCAN
slot; see :mod:`miniredis.keyspace`), of LRU clocks (state.lru_clock seconds) or,
under an LFU policy, packed LFU counters (:class:`miniredis.evict.LFUAccess`).
:class:`AccessStamps` is the part of :class:`miniredis.keyspace.Database` that reads
and writes those entries for OBJECT IDLETIME/FREQ, RESTORE IDLETIME/FREQ, an RDB's
IDLE/FREQ records and a maxmemory-policy switch (kept apart so each file holds one
concern); the hot paths write the table directly.
"""
from __future__ import annotations

from array import array
from typing import Optional

# Access tables are array("I"): unsigned, because storing into an array of a signed
# type goes through PyArg_Parse (a third of a GET's own-loop store; a tenth of MSET's
# per-request work). LRU clocks are seconds offset by 2**31 (state.lru_clock_now), so
# RESTORE IDLETIME can put a stamp before the clock's zero; LFU entries take 24 bits.
# This entry marks a slot no access has touched yet (LFU: the counter starts at
# LFU_INIT_VAL on the first one; see miniredis.evict.LFUAccess).
ACCESS_TYPE = "I"
NO_ACCESS = (1 << 32) - 1
# Redis's LRU_CLOCK_MAX: its lru field holds 24 bits of wall-clock seconds.
LRU_CLOCK_MAX = (1 << 24) - 1


def idle_of_field(field: int, clock: int) -> int:
    """estimateObjectIdleTime in seconds: the idle time Redis reads from a 24-bit
    lru ``field`` when its LRU clock is ``clock`` (wrap-around included)."""
    return clock - field if clock >= field else clock + LRU_CLOCK_MAX - field


def field_of_idle(idle: int, clock: int) -> int:
    """The lru field whose :func:`idle_of_field` is ``idle`` (its inverse)."""
    field = clock - idle if idle <= clock else clock + LRU_CLOCK_MAX - idle
    return field & LRU_CLOCK_MAX


class AccessStamps:
    """Access-table reads and writes for a Database (a mixin over its ``index``,
    ``access`` and ``state``)."""

    __slots__ = ()

    def access_of(self, key: bytes) -> Optional[int]:
        """The access-table entry of ``key`` (LRU clock or packed LFU counter), None
        if the key is missing or was never accessed."""
        slot = self.index.get(key)
        if slot is None:
            return None
        stamp = self.access[slot]
        return None if stamp == NO_ACCESS else stamp

    def set_access(self, key: bytes, stamp: int) -> None:
        """Store ``stamp`` as the raw access entry of ``key`` (which exists), bypassing
        LFU's increment (RESTORE IDLETIME/FREQ, OBJECT tests)."""
        array.__setitem__(self.access, self.index[key], min(max(stamp, 0), NO_ACCESS - 1))

    def set_usage(self, key: bytes, idle: int, freq: int) -> None:
        """objectSetLRUOrLFU, for RESTORE's IDLETIME/FREQ and an RDB's IDLE/FREQ
        records (-1: not given): FREQ under an LFU policy, IDLETIME under the others.

        Redis stores LRU_CLOCK() - idle (idle*1000/1000 in 64-bit arithmetic, which
        wraps) in its 24-bit field, plus LRU_CLOCK_MAX once if that went negative, so
        idle times past the clock read back as that field gives."""
        state = self.state
        if "lfu" in state.config.values["maxmemory-policy"]:
            if freq >= 0:
                from .evict import lfu_minutes
                self.set_access(key, (lfu_minutes(state) << 8) | freq)
        elif idle >= 0:
            clock = (state.clock.ms() // 1000) & LRU_CLOCK_MAX
            scaled = (idle * 1000) & 0xFFFFFFFFFFFFFFFF
            if scaled >= 1 << 63:
                scaled -= 1 << 64
            scaled = -(-scaled // 1000) if scaled < 0 else scaled // 1000
            field = clock - scaled
            if field < 0:
                field += LRU_CLOCK_MAX
            self.set_access(key, state.lru_clock - idle_of_field(field & LRU_CLOCK_MAX, clock))

    def usage(self, key: bytes, lfu: bool) -> int:
        """What an RDB records of ``key``'s use (rdbSaveKeyValuePair): its idle
        seconds, or (``lfu``) its decayed LFU counter, as OBJECT IDLETIME/FREQ read."""
        stamp = self.access_of(key)
        if stamp is None:
            return 0
        if lfu:
            from .evict import lfu_counter
            return lfu_counter(self.state, stamp)
        return max(self.state.lru_clock - stamp, 0)

    def reset_access(self) -> None:
        """Rebuild the access table for the current policy (LRU <-> LFU switch).

        Redis leaves each key's 24-bit lru field as it is and reads it the other way:
        an LFU entry (minutes << 8 | counter) as an LRU clock of wall seconds, an LRU
        clock as an LFU entry. Each entry is converted to what Redis would then read
        (OBJECT IDLETIME, OBJECT FREQ, eviction), so a switch back restores it too."""
        state = self.state
        fresh = state.new_access_map()
        now = state.lru_clock
        wall = state.clock.ms() // 1000
        clock = wall & LRU_CLOCK_MAX
        if getattr(fresh, "initial", None) is not None:     # LRU -> LFU
            # (the inverse of the LFU -> LRU way: a round trip restores the entry)
            entries = [stamp if stamp == NO_ACCESS
                       else field_of_idle(max(now - stamp, 0), clock)
                       for stamp in self.access]
        else:                                               # LFU -> LRU
            entries = [field if field == NO_ACCESS else now - idle_of_field(field, clock)
                       for field in self.access]
        fresh.extend(array(ACCESS_TYPE, entries))
        self.access = fresh
