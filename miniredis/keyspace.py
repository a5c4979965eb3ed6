"""The keyspace: databases of typed values, expiry, typed lookups and key signals.

Values are stored as plain Python objects whose type *is* the Redis type:

=========  =================================================
string     ``bytes`` (``bytearray`` once APPEND/SETRANGE/SETBIT grow it in place)
list       ``collections.deque``
hash       ``dict``
set        ``set``
zset       ``miniredis.datatypes.zset.ZSet`` (registered by that module)
stream     ``miniredis.datatypes.stream.Stream`` (registered by that module)
=========  =================================================

Expiry is lazy (checked on every lookup) plus active: a heap ordered by deadline lets
the background cycle find expired keys without scanning the keyspace.
"""
from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from . import errors
from .errors import CommandError

if TYPE_CHECKING:  # pragma: no cover
    from .server import ServerState

# Python type of a stored value -> Redis type name (TYPE, SCAN TYPE, OBJECT ENCODING).
TYPE_NAMES: Dict[type, str] = {
    bytes: "string",
    bytearray: "string",
    deque: "list",
    dict: "hash",
    set: "set",
}

STRING_TYPES = (bytes, bytearray)


def register_type(cls: type, name: str) -> None:
    """Declare a value class (ZSet, Stream...) and its Redis type name."""
    TYPE_NAMES[cls] = name


def type_name(value: Any) -> str:
    """Redis's name for the type of a stored value (``"none"`` for None)."""
    if value is None:
        return "none"
    return TYPE_NAMES[type(value)]


class Database:
    """One numbered database: ``data`` holds values, ``expires`` absolute deadlines (ms)."""

    __slots__ = ("id", "data", "expires", "_heap", "state", "avg_ttl")

    def __init__(self, index: int, state: "ServerState") -> None:
        self.id = index
        self.data: Dict[bytes, Any] = {}
        self.expires: Dict[bytes, int] = {}
        self._heap: List[Tuple[int, bytes]] = []
        self.state = state
        self.avg_ttl = 0

    # -- lookups ------------------------------------------------------------------
    def get(self, key: bytes) -> Any:
        """The live value at ``key`` or None, expiring it first if its time has come."""
        if self.expires and key in self.expires:
            if self.expires[key] <= self.state.clock.ms():
                self._expire(key)
                return None
        return self.data.get(key)

    def get_read(self, key: bytes) -> Any:
        """Like :meth:`get`, counting a keyspace hit or miss (for read commands)."""
        value = self.get(key)
        stats = self.state.stats
        if value is None:
            stats.keyspace_misses += 1
        else:
            stats.keyspace_hits += 1
        return value

    def get_typed(self, key: bytes, cls: Any) -> Any:
        """The value at ``key`` if it is of type ``cls`` (a type or tuple), None if
        missing, else a WRONGTYPE error."""
        value = self.get(key)
        if value is not None and not isinstance(value, cls):
            raise CommandError(errors.WRONGTYPE)
        return value

    def get_string(self, key: bytes) -> Optional[bytes]:
        """The string at ``key`` (bytes or bytearray), None, or WRONGTYPE."""
        value = self.get(key)
        if value is None:
            self.state.stats.keyspace_misses += 1
            return None
        if value.__class__ is not bytes and value.__class__ is not bytearray:
            raise CommandError(errors.WRONGTYPE)
        self.state.stats.keyspace_hits += 1
        return value

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return len(self.data)

    # -- writes -------------------------------------------------------------------
    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        """Store ``value`` at ``key``, dropping any TTL unless ``keep_ttl``."""
        self.data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        self.signal_modified(key)

    def delete(self, key: bytes) -> bool:
        """Remove ``key``; True if it existed (and was not already expired)."""
        if self.get(key) is None:
            return False
        del self.data[key]
        if self.expires:
            self.expires.pop(key, None)
        self.signal_modified(key)
        return True

    def delete_if_empty(self, key: bytes, value: Any) -> None:
        """An emptied hash, list, set, zset no longer exists (Redis's rule)."""
        if not value:
            del self.data[key]
            if self.expires:
                self.expires.pop(key, None)

    def signal_modified(self, key: bytes) -> None:
        """A key changed: invalidate WATCHes on it (hooked by transactions)."""
        hook = self.state.on_key_modified
        if hook is not None:
            hook(self, key)

    def flush(self) -> None:
        """Remove every key (FLUSHDB)."""
        hook = self.state.on_key_modified
        if hook is not None:
            for key in list(self.data):
                hook(self, key)
        self.data = {}
        self.expires = {}
        self._heap = []

    # -- expiry -------------------------------------------------------------------
    def set_expire(self, key: bytes, when_ms: int) -> None:
        """Make ``key`` (which must exist) expire at absolute time ``when_ms``."""
        self.expires[key] = when_ms
        heapq.heappush(self._heap, (when_ms, key))
        if len(self._heap) > 2 * len(self.expires) + 1024:
            self._rebuild_heap()

    def get_expire(self, key: bytes) -> Optional[int]:
        """The absolute expiry time (ms) of ``key``, or None if it has none."""
        return self.expires.get(key) if self.expires else None

    def persist(self, key: bytes) -> bool:
        """Drop the TTL of ``key``; True if it had one."""
        return self.expires.pop(key, None) is not None

    def _expire(self, key: bytes) -> None:
        del self.data[key]
        del self.expires[key]
        self.state.stats.expired_keys += 1
        self.signal_modified(key)
        hook = self.state.on_key_expired
        if hook is not None:
            hook(self, key)

    def _rebuild_heap(self) -> None:
        # Stale heap entries (TTL changed or key gone) pile up; start over from truth.
        self._heap = [(when, key) for key, when in self.expires.items()]
        heapq.heapify(self._heap)

    def active_expire(self, now_ms: int, budget: int = 2000) -> int:
        """Delete up to ``budget`` keys whose deadline has passed; return how many."""
        heap = self._heap
        expires = self.expires
        done = 0
        while heap and heap[0][0] <= now_ms and done < budget:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                self._expire(key)
                done += 1
        return done

    def keys(self) -> Iterator[bytes]:
        """Live keys (expired ones are skipped, not yet deleted)."""
        if not self.expires:
            return iter(list(self.data))
        now = self.state.clock.ms()
        expires = self.expires
        return iter([k for k in self.data if expires.get(k, now + 1) > now])

    def random_key(self) -> Optional[bytes]:
        """A random live key, or None when empty."""
        import random
        data = self.data
        for _ in range(100):
            if not data:
                return None
            # dict has no O(1) random pick; sample through an iterator from a random
            # start among the first few entries to stay cheap on big keyspaces.
            key = _random_dict_key(data, random)
            if self.get(key) is not None:
                return key
        keys = list(self.keys())
        return random.choice(keys) if keys else None

    def swap(self, other: "Database") -> None:
        """Exchange contents with ``other`` (SWAPDB)."""
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self._heap, other._heap = other._heap, self._heap


def _random_dict_key(data: Dict[bytes, Any], random: Any) -> bytes:
    n = len(data)
    if n <= 64:
        return random.choice(list(data))
    # Pick a random position; iterating to it is O(position), bounded by sampling.
    target = random.randrange(min(n, 4096))
    for i, key in enumerate(data):
        if i == target:
            return key
    return next(iter(data))
