"""Key expiry: the part of :class:`miniredis.keyspace.Database` that keeps TTLs.

Expiry is lazy (every lookup checks the key's deadline in ``expires`` and calls
:meth:`Expiry._expire`) plus active: a heap of (deadline, key) lets the background
cycle (:meth:`Expiry.active_expire`, ServerState's cron) find expired keys without
scanning the keyspace. Stale heap entries (a TTL changed or a key gone) are skipped
when popped, and the heap is rebuilt from ``expires`` when they pile up. Kept apart
from the keyspace so each file holds one concern; the lookups on the hot paths read
``expires`` themselves.
"""
from __future__ import annotations

import heapq
from time import perf_counter_ns
from typing import Any, Dict, List, Optional, Tuple

from .notify import notify


class Expiry:
    """TTLs of a database's keys (see the module)."""

    __slots__ = ()
    expires: Dict[bytes, int]
    _heap: List[Tuple[int, bytes]]
    state: Any
    id: int

    def set_expire(self, key: bytes, when_ms: int) -> None:
        """Make ``key`` (which must exist) expire at absolute time ``when_ms``."""
        self.expires[key] = when_ms
        heapq.heappush(self._heap, (when_ms, key))
        if len(self._heap) > 2 * len(self.expires) + 1024:
            self._rebuild_heap()
        repl = self.state.repl
        if repl.master_host is not None and not repl.applying:
            # A writable replica's own TTL: nobody else will expire it (Redis's
            # rememberSlaveKeyWithExpire; see ServerState.expire_replica_keys).
            self.state.replica_expires.setdefault(key, set()).add(self.id)

    def get_expire(self, key: bytes) -> Optional[int]:
        """The absolute expiry time (ms) of ``key``, or None if it has none."""
        return self.expires.get(key) if self.expires else None

    def deadline_passed(self, when: int, now: int) -> bool:
        """Whether a TTL of ``when`` set at ``now`` deletes the key at once (Redis's
        checkAlreadyExpired): not while an AOF loads, nor on a replica, which keep the
        key with its past deadline (for the first lookup, or the master's DEL)."""
        return when <= now and not self.state.loading and self.state.repl.master_host is None

    def persist(self, key: bytes) -> bool:
        """Drop the TTL of ``key``; True if it had one."""
        return self.expires.pop(key, None) is not None

    def _expire(self, key: bytes) -> bool:
        """``key``'s deadline has passed: delete it (logged as DEL, notified). True if
        it is to be reported missing, False if it is still live to the caller: on a
        replica the master's DEL removes it, and the master's own commands see it."""
        repl = self.state.repl
        if repl.master_host is not None:
            return not repl.applying
        if self.state.pause.type and self.state.pause.check():
            return True  # CLIENT PAUSE: reported missing, but kept until the pause ends
        self.delete_expired(key)
        return True

    def delete_expired(self, key: bytes) -> None:
        """Delete ``key``, whose deadline has passed: logged as DEL, notified (also a
        writable replica's cron, for the keys it gave a TTL itself)."""
        threshold = self.state.config.values["latency-monitor-threshold"]
        lazy = self.state.config.values["lazyfree-lazy-expire"]
        if threshold:       # deleting a big value is a latency event of its own
            started = perf_counter_ns()
            self._remove(key, lazy)
            self.state.latency.add_if_needed(
                threshold, "expire-del", (perf_counter_ns() - started) // 1_000_000)
        else:
            self._remove(key, lazy)
        if self.state.propagator is not None:
            self.state.propagator.expired(self, key)   # propagated as DEL, as Redis does
        self.state.stats.expired_keys += 1
        notify(self, "x", b"expired", key)
        self.signal_modified(key)
        hook = self.state.on_key_expired
        if hook is not None:
            hook(self, key)

    def _rebuild_heap(self) -> None:
        # Stale heap entries (TTL changed or key gone) pile up; start over from truth.
        self._heap = [(when, key) for key, when in self.expires.items()]
        heapq.heapify(self._heap)

    def active_expire(self, now_ms: int, budget: int = 2000,
                      deadline_ns: int = 0) -> int:
        """Delete up to ``budget`` keys whose deadline has passed; return how many,
        negated when the cycle's time ran out (``deadline_ns``, perf_counter_ns, looked
        at every 16 keys as activeExpireCycle does; 0 for none).

        Does nothing while DEBUG SET-ACTIVE-EXPIRE 0 is in force (expired keys then
        stay counted by DBSIZE until a lookup reclaims them, as in Redis).
        """
        if not getattr(self.state, "active_expire_enabled", True):
            return 0
        heap = self._heap
        expires = self.expires
        done = 0
        while heap and heap[0][0] <= now_ms and done < budget:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                self._expire(key)
                done += 1
                if deadline_ns and not done & 15 and perf_counter_ns() > deadline_ns:
                    return -done
        return done
