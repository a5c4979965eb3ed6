"""The keyspace: databases of typed values, expiry, typed lookups and key signals.

Values are stored as plain Python objects whose type *is* the Redis type:

=========  =================================================
string     ``bytes`` (``bytearray`` once APPEND/SETRANGE/SETBIT grow it in place)
list       ``datatypes.packedlist.PackedList`` (registered by that module)
hash       ``dict``
set        ``set``
zset       ``miniredis.datatypes.zset.ZSet`` (registered by that module)
stream     ``miniredis.datatypes.stream.Stream`` (registered by that module)
=========  =================================================

Expiry is lazy (checked on every lookup) plus active: a heap ordered by deadline lets
the background cycle find expired keys without scanning the keyspace
(:mod:`miniredis.expiry`).

Per-key layout (issue 17: the per-key overhead is what a large keyspace costs): one
dict, ``index``, maps each key to its SCAN slot; everything else about the key lives in
flat tables indexed by that slot -- ``_slots`` (the key, for SCAN), ``_values`` (the
value), ``access`` (an ``array`` of LRU clocks or packed LFU counters) and ``sizes``
(memory estimates). A lookup is one dict probe plus list/array indexing, and a key
costs one dict entry, one int (its slot) and a few machine words. ``data`` is a small
read-only mapping view (key -> value) for callers off the hot path.

Memory accounting (INFO used_memory, maxmemory) is incremental: every write adds the
key to ``touched`` (one set insertion, the only cost on the write path) -- its slot
where the writer holds it (the commands' own loops: an int that is the very object
the index holds hashes and compares at once, where a request's key, equal to the
stored one but another object, is compared byte by byte, a tenth of a pipelined
MSET's work), else the key itself (a handler would pay a lookup for the slot) -- and
:meth:`Database.settle` later re-estimates just those keys, keeping each key's last
estimate in ``sizes`` (indexed by its SCAN slot, so no per-key Python object) and
their sum in ``used``. Removing a key subtracts its estimate at once.
"""
from __future__ import annotations

import random as _random
from array import array
from collections import deque
from typing import (TYPE_CHECKING, Any, Deque, Dict, Iterator, List, Optional,
                    Tuple)

from . import errors
from .datatypes.lazyfree import lazy_verdict
from .datatypes.names import type_name
from .datatypes.memsize import KEY_OVERHEAD, key_size
from .errors import CommandError
from .notify import notify
from .access import NO_ACCESS, AccessStamps
from .expiry import Expiry
from .scanindex import COMPACT_MIN_FREE, ScanIndex

if TYPE_CHECKING:  # pragma: no cover
    from .server import ServerState

STRING_TYPES = (bytes, bytearray)


# Memory estimates are array("I"); a key estimated at _BIG_SIZE bytes or more keeps
# its estimate in Database._big_sizes instead.
_BIG_SIZE = (1 << 32) - 1


class KeyValues:
    """``db.data``: a read-only mapping key -> value over a database's slot tables,
    for callers off the hot path (persistence, DEBUG, transactions...). Assigning to
    an existing key replaces its value without any signal (an unshared copy)."""

    __slots__ = ("_db",)

    def __init__(self, db: "Database") -> None:
        self._db = db

    def get(self, key: bytes, default: Any = None) -> Any:
        db = self._db
        slot = db.index.get(key)
        return default if slot is None else db._values[slot]

    def __getitem__(self, key: bytes) -> Any:
        db = self._db
        return db._values[db.index[key]]

    def __setitem__(self, key: bytes, value: Any) -> None:
        db = self._db
        db._values[db.index[key]] = value     # KeyError for a missing key

    def __contains__(self, key: object) -> bool:
        return key in self._db.index

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._db.index)

    def __len__(self) -> int:
        return len(self._db.index)

    def __bool__(self) -> bool:
        return bool(self._db.index)

    def keys(self) -> Any:
        return self._db.index.keys()

    def items(self) -> Iterator[Tuple[bytes, Any]]:
        values = self._db._values
        return ((key, values[slot]) for key, slot in self._db.index.items())

    def values(self) -> Iterator[Any]:
        values = self._db._values
        return (values[slot] for slot in self._db.index.values())


class Database(ScanIndex, AccessStamps, Expiry):
    """One numbered database: ``index`` maps keys to slots of the value table,
    ``expires`` holds absolute deadlines (ms)."""

    __slots__ = ("id", "index", "_values", "data", "expires", "_heap", "state", "avg_ttl",
                 "_slots", "_free", "access", "_epoch", "_history", "touched", "sizes",
                 "_big_sizes", "used")

    def __init__(self, index: int, state: "ServerState") -> None:
        self.id = index
        self.index: Dict[bytes, int] = {}
        self._values: List[Any] = []
        self.data = KeyValues(self)
        self.expires: Dict[bytes, int] = {}
        self._heap: List[Tuple[int, bytes]] = []
        self.state = state
        self.avg_ttl = 0
        # SCAN's index (see "SCAN index" below): slot table, key -> slot, free slots,
        # compaction epoch and the translation tables of recent compactions.
        self._slots: List[Optional[bytes]] = []
        self._free: List[int] = []
        self._epoch = 0
        self._history: Deque[Tuple[int, array]] = deque()
        # Last access (state.lru_clock seconds) per slot, for OBJECT IDLETIME; under an
        # LFU policy a miniredis.evict.LFUAccess holding packed LFU counters instead.
        self.access: array = state.new_access_map()
        # Memory accounting (see the module docstring): the keys (or their slots)
        # written since the last settle, each slot's last estimate, and their sum.
        self.touched: set = set()
        self.sizes = array("I")
        self._big_sizes: Dict[bytes, int] = {}
        self.used = 0

    # -- lookups ------------------------------------------------------------------
    def get(self, key: bytes) -> Any:
        """The live value at ``key`` or None, expiring it first if its time has come.

        Records the access (OBJECT IDLETIME), as every Redis key lookup does.
        """
        if self.expires and key in self.expires:
            if self.expires[key] <= self.state.clock.expiry_ms() and self._expire(key):
                return None
        slot = self.index.get(key)
        if slot is None:
            return None
        self.access[slot] = self.state.lru_clock
        return self._values[slot]

    def own_loops_may_write(self) -> bool:
        """Whether a command's own loop of writes (miniredis/runs.py) may store: not
        while writes are propagated or clients wait on keys (the handlers do that),
        nor while overwritten values count as lazily freed (SET's loop replaces values
        without :meth:`set`)."""
        state = self.state
        return state.propagator is None and not state.blocking.queues \
            and not state.config.values["lazyfree-lazy-server-del"]

    def tables_for_writes(self) -> Optional[Tuple[Any, ...]]:
        """What a command's own loop of writes works on (key -> slot, values and access
        stamps by slot, TTLs and the time they are judged at, ``touched`` (add slots to
        it), the write
        hook, the LRU clock, the settings); None when it may not write."""
        if not self.own_loops_may_write():
            return None
        state = self.state
        expires = self.expires
        return (self.index, self._values, self.access, expires,
                state.clock.expiry_ms() if expires else 0, self.touched,
                state.on_key_modified, state.lru_clock, state.config.values)

    def tables_for_ttl_writes(self) -> Optional[Tuple[Any, ...]]:
        """:meth:`tables_for_writes` for an own loop that sets TTLs (SET EX, EXPIRE),
        then the clock reading its deadlines count from; None also while keyspace
        events are on (their handlers publish two per key) and on a replica (the TTLs
        it sets itself are kept apart: Expiry.set_expire)."""
        tables = self.tables_for_writes()
        state = self.state
        if tables is None or tables[8]["notify-keyspace-events"] \
                or state.repl.master_host is not None:
            return None
        return tables + (state.clock.ms(),)

    def peek(self, key: bytes) -> Any:
        """Like :meth:`get` but not counted as an access (OBJECT, TYPE-less checks)."""
        if self.expires and key in self.expires:
            if self.expires[key] <= self.state.clock.expiry_ms() and self._expire(key):
                return None
        slot = self.index.get(key)
        return None if slot is None else self._values[slot]

    def get_read(self, key: bytes) -> Any:
        """Like :meth:`get`, counting a keyspace hit or miss (for read commands).

        Every read command's lookup, so :meth:`get` is inlined (a call costs more
        than the lookup)."""
        expires = self.expires
        if expires and key in expires \
                and expires[key] <= self.state.clock.expiry_ms() and self._expire(key):
            slot = None
        else:
            slot = self.index.get(key)
        state = self.state
        if slot is None:
            state.stats.keyspace_misses += 1
            notify(self, "m", b"keymiss", key)
            return None
        state.stats.keyspace_hits += 1
        self.access[slot] = state.lru_clock
        return self._values[slot]

    def peek_read(self, key: bytes, notify_miss: bool = True) -> Any:
        """:meth:`peek` counting a keyspace hit or miss, and publishing ``keymiss`` unless
        ``notify_miss`` is false: Redis's LOOKUP_NOTOUCH (EXISTS, TYPE, TTL, SCAN's
        TYPE) and, for OBJECT, LOOKUP_NOTOUCH|LOOKUP_NONOTIFY. :meth:`peek` inlined,
        as in :meth:`get_read`."""
        expires = self.expires
        if expires and key in expires \
                and expires[key] <= self.state.clock.expiry_ms() and self._expire(key):
            slot = None
        else:
            slot = self.index.get(key)
        stats = self.state.stats
        if slot is None:
            stats.keyspace_misses += 1
            if notify_miss:
                notify(self, "m", b"keymiss", key)
            return None
        stats.keyspace_hits += 1
        return self._values[slot]

    def read_many(self, keys: List[bytes], touch: bool = True) -> List[Any]:
        """``[get_read(key) for key in keys]``, or peek_read's if not ``touch``, in one
        loop (MGET, EXISTS and TOUCH of thousands of keys): without keyspace events
        the keys without a TTL are looked up here, the hits and misses counted once."""
        if self.state.config.values["notify-keyspace-events"]:
            read = self.get_read if touch else self.peek_read
            return [read(key) for key in keys]
        found: List[Any] = []
        append = found.append
        index_get = self.index.get
        values = self._values
        access, clock = self.access, self.state.lru_clock
        expires = self.expires
        misses = 0
        for key in keys:
            if expires and key in expires:
                value = self.get(key) if touch else self.peek(key)
                if value is None:
                    misses += 1
            else:
                slot = index_get(key)
                if slot is None:
                    misses += 1
                    value = None
                else:
                    if touch:
                        access[slot] = clock
                    value = values[slot]
            append(value)
        stats = self.state.stats
        stats.keyspace_misses += misses
        stats.keyspace_hits += len(keys) - misses
        return found

    def get_typed(self, key: bytes, cls: Any) -> Any:
        """The value at ``key`` if it is of type ``cls`` (a type or tuple), None if
        missing, else a WRONGTYPE error."""
        value = self.get(key)
        if value is not None and not isinstance(value, cls):
            raise CommandError(errors.WRONGTYPE)
        return value

    def get_typed_read(self, key: bytes, cls: Any) -> Any:
        """:meth:`get_typed` for read commands: counts a keyspace hit or miss and
        publishes the ``keymiss`` event, as Redis's lookupKeyRead does."""
        value = self.get_read(key)
        if value is not None and not isinstance(value, cls):
            raise CommandError(errors.WRONGTYPE)
        return value

    def get_string(self, key: bytes) -> Optional[bytes]:
        """The string at ``key`` (bytes or bytearray), None, or WRONGTYPE.

        Counts a keyspace hit or miss. GET's path, so :meth:`get` is inlined.
        """
        expires = self.expires
        if expires and key in expires \
                and expires[key] <= self.state.clock.expiry_ms() and self._expire(key):
            slot = None
        else:
            slot = self.index.get(key)
        state = self.state
        if slot is None:
            state.stats.keyspace_misses += 1
            notify(self, "m", b"keymiss", key)
            return None
        # A hit even when of another type, as Redis's lookupKeyRead counts it.
        state.stats.keyspace_hits += 1
        self.access[slot] = state.lru_clock
        value = self._values[slot]
        if value.__class__ is not bytes and value.__class__ is not bytearray:
            raise CommandError(errors.WRONGTYPE)
        return value

    def tables_for_reads(self) -> Tuple[Any, ...]:
        """What a command's own loop of reads works on (key -> slot, values and access
        stamps by slot, TTLs and the time they are judged at, the LRU clock)."""
        expires = self.expires
        return (self.index, self._values, self.access, expires,
                self.state.clock.expiry_ms() if expires else 0, self.state.lru_clock)

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __contains__(self, key: bytes) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return len(self.index)

    # -- writes -------------------------------------------------------------------
    def set(self, key: bytes, value: Any, keep_ttl: bool = False,
            looked_up: bool = False, loading: bool = False) -> None:
        """Store ``value`` at ``key``, dropping any TTL unless ``keep_ttl``.

        Storing counts as an access (Redis's setKey looks the key up for writing),
        unless the caller has just looked the key up itself (``looked_up``): then, as
        Redis's dbOverwrite, the new value keeps the stamp that lookup left (under an
        LFU policy a second access would count twice; and a key past its TTL is
        already gone). A new key is signalled ready and published as "new", except
        when ``loading`` a snapshot (dbAddRDBLoad)."""
        state = self.state
        slot = self.index.get(key)
        if slot is not None and not looked_up and self.expires and key in self.expires \
                and self.peek(key) is None:
            slot = self.index.get(key)  # (setKey's lookup for writing reclaimed it)
        if slot is not None:
            if state.blocking.queues:   # (dbOverwrite: a stream replaced is signalled)
                self._signal_gone(key, self._values[slot])
            if state.config.values["lazyfree-lazy-server-del"]:
                self._overwritten(slot, value)
            self._values[slot] = value
            if not keep_ttl and self.expires:
                self.expires.pop(key, None)
            if not looked_up:
                self.access[slot] = state.lru_clock
        else:
            slot = self._add_slot(key, value)
            if not loading:
                if state.blocking.queues:   # (dbAdd: the new value's waiters)
                    state.blocking.signal_ready(self, key, type_name(value))
                notify(self, "n", b"new", key)
            self.access[slot] = state.lru_clock
        self.touched.add(slot)
        hook = state.on_key_modified   # signal_modified, inlined: every write comes here
        if hook is not None:
            hook(self, key)

    def set_many(self, args: List[bytes], start: int) -> None:
        """:meth:`set` of each key ``args[start::2]`` to the value after it (MSET),
        with the names bound once. Publishes no keyspace event: only for callers that
        checked that notify-keyspace-events is empty (else the events of successive
        keys must interleave with theirs)."""
        state = self.state
        if self.expires:
            self._expire_due(args[start::2])
        index = self.index
        values = self._values
        access = self.access
        touched = self.touched
        expires = self.expires
        clock = state.lru_clock
        hook = state.on_key_modified
        waited = state.blocking.queues
        lazy = state.config.values["lazyfree-lazy-server-del"]
        if hook is None and not waited and not lazy:
            # The usual case, with the per-key work that needs no slot done per MSET.
            keys = args[start::2]
            touch = touched.add
            for key, value in zip(keys, args[start + 1::2]):
                slot = index.get(key)
                if slot is None:
                    slot = self._add_slot(key, value)
                else:
                    values[slot] = value
                access[slot] = clock
                touch(slot)
            if expires:
                for key in keys:
                    expires.pop(key, None)
            return
        for i in range(start, len(args), 2):
            key = args[i]
            slot = index.get(key)
            if slot is not None:
                if waited:
                    self._signal_gone(key, values[slot])
                if lazy:
                    self._overwritten(slot, args[i + 1])
                values[slot] = args[i + 1]
                if expires:
                    expires.pop(key, None)
            else:
                slot = self._add_slot(key, args[i + 1])
            access[slot] = clock
            touched.add(slot)
            if hook is not None:
                hook(self, key)

    def _expire_due(self, keys: List[bytes]) -> None:
        """Reclaim those of ``keys`` whose deadline has passed, as each one's lookup
        for writing (setKey's) would, in order."""
        for key in keys:
            if key in self.expires:
                self.peek(key)

    def overwrite(self, key: bytes, value: Any) -> None:
        """Replace the value of ``key``, which exists and the caller has just looked
        up, keeping its TTL and access stamp (INCR & co.: Redis's dbOverwrite):
        :meth:`set` without the new-key and TTL work."""
        slot = self.index[key]
        self._values[slot] = value
        state = self.state
        self.touched.add(slot)
        hook = state.on_key_modified
        if hook is not None:
            hook(self, key)

    def _overwritten(self, slot: int, value: Any) -> None:
        """The value at ``slot`` is about to be replaced by ``value`` under
        lazyfree-lazy-server-del (Redis's dbOverwrite frees the old one with
        freeObjAsync)."""
        old = self._values[slot]
        if old is not value:
            self.release(old)

    def release(self, value: Any, lazy: bool = True) -> None:
        """``value`` left the keyspace (deleted, overwritten) or was a command's own
        result set (SUNION's): Python frees it at once, but when ``lazy`` and Redis's
        freeObjAsync would have handed it to its background thread it counts in INFO's
        lazyfreed_objects, as it does in Redis."""
        if lazy:
            state = self.state
            verdict = lazy_verdict(value, state.config, state.packed_threshold)
            if verdict:
                state.stats.lazyfreed_objects += 1
            elif verdict is None:       # a long list: its node count is walked later
                state.lazy_frees.defer(value)

    def _add_slot(self, key: bytes, value: Any) -> int:
        """Give a new key a slot (a free one, else a new one at the end); its slot."""
        free = self._free
        if free:
            slot = free.pop()
            self._slots[slot] = key
            self._values[slot] = value
            # (not ``access[slot] =``: under LFU that is an access, which would count
            # on the freed slot's last counter)
            array.__setitem__(self.access, slot, NO_ACCESS)
        else:
            slot = len(self._slots)
            self._slots.append(key)
            self._values.append(value)
            self.sizes.append(0)
            self.access.append(NO_ACCESS)
        self.index[key] = slot
        return slot

    def replace_value(self, key: bytes, value: Any) -> None:
        """Swap the value object of ``key`` (which exists) for an equal one (an
        unshared or converted copy): not a modification, no signal, no access."""
        self._values[self.index[key]] = value

    def _remove(self, key: bytes, lazy: bool = False) -> None:
        """Forget ``key`` entirely: value, TTL, SCAN slot, access time. ``lazy``: as
        Redis's dbAsyncDelete (see :meth:`release`), else its dbSyncDelete."""
        slot = self.index.pop(key)
        if self.expires:
            self.expires.pop(key, None)
        value = self._values[slot]
        if lazy:
            self.release(value)
        self._slots[slot] = None
        self._values[slot] = None
        sizes = self.sizes
        size = sizes[slot]
        if size == _BIG_SIZE:
            size = self._big_sizes.pop(key)
        self.used -= size
        sizes[slot] = 0
        self._signal_gone(key, value)
        free = self._free
        free.append(slot)
        if len(free) > COMPACT_MIN_FREE and 4 * len(free) > 3 * len(self._slots):
            self._compact()

    def delete(self, key: bytes, lazy: Optional[bool] = None) -> bool:
        """Remove ``key``; True if it existed (and was not already expired). ``lazy``:
        whether Redis would free the value with dbAsyncDelete (UNLINK; DEL per
        lazyfree-lazy-user-del...); None: as its dbDelete, per
        lazyfree-lazy-server-del (a command's destination, RESTORE REPLACE...)."""
        if self.peek(key) is None:
            return False
        return self.delete_stored(key, lazy)

    def delete_many(self, keys: List[bytes], lazy: bool) -> int:
        """DEL and UNLINK: :meth:`delete` of each key, each deleted one published as
        ``del``; without keyspace events in one loop, a key without a TTL removed
        without the lookup that judges expiry. Returns how many were deleted."""
        deleted = 0
        if self.state.config.values["notify-keyspace-events"]:
            for key in keys:
                if self.delete(key, lazy):
                    notify(self, "g", b"del", key)
                    deleted += 1
            return deleted
        index, expires = self.index, self.expires
        for key in keys:
            if expires and key in expires:
                if self.delete(key, lazy):
                    deleted += 1
            elif key in index:
                self._remove(key, lazy)
                self.signal_modified(key)
                deleted += 1
        return deleted

    def delete_stored(self, key: bytes, lazy: Optional[bool] = None) -> bool:
        """Remove ``key`` if it is stored, even logically expired (not counted as
        expired): Redis's dbDelete, as commands call it on their destination (an
        empty SUNIONSTORE, SORT ... STORE, RESTORE ... REPLACE...). True if it was."""
        if key not in self.index:
            return False
        if lazy is None:
            lazy = self.state.config.values["lazyfree-lazy-server-del"]
        self._remove(key, lazy)
        self.signal_modified(key)
        return True

    def remove(self, key: bytes, lazy: bool = False) -> None:
        """Delete ``key``, which exists, whatever its TTL (eviction: ``lazy`` per
        lazyfree-lazy-eviction): no event here."""
        self._remove(key, lazy)
        self.signal_modified(key)

    def sample_keys(self, count: int, volatile: bool = False) -> List[bytes]:
        """Up to ``count`` distinct random keys (only keys with a TTL if ``volatile``):
        random SCAN slots, or random entries of the expiry heap checked against
        ``expires``; a small set is sampled from its keys directly."""
        found: List[bytes] = []
        if volatile:
            expires = self.expires
            if len(expires) <= 64:
                keys = list(expires)
                return keys if len(keys) <= count else _random.sample(keys, count)
            heap = self._heap
            for _ in range(max(count * 8, 64)):
                when, key = heap[_random.randrange(len(heap))]
                if expires.get(key) == when and key not in found:
                    found.append(key)
                    if len(found) == count:
                        break
            # Stale heap entries can outnumber live ones; never report "none" wrongly.
            return found or [_random.choice(list(expires))]
        data = self.index
        if len(data) <= count:
            return list(data)
        slots = self._slots
        for _ in range(max(count * 8, 64)):
            key = slots[_random.randrange(len(slots))]
            if key is not None and key not in found:
                found.append(key)
                if len(found) == count:
                    break
        # Tombstones fill at most 3/4 of the table, so this is all but never needed.
        return found or [_random.choice(list(data))]

    def delete_if_empty(self, key: bytes, value: Any) -> bool:
        """An emptied hash, list, set, zset no longer exists (Redis's rule).

        Publishes the ``del`` keyspace event, so call it after notifying the
        command's own event (Redis's order: ``lpop`` then ``del``). True if deleted.
        """
        if value:
            return False
        self._remove(key)
        notify(self, "g", b"del", key)
        return True

    def _signal_gone(self, key: bytes, value: Any) -> None:
        """``value`` left ``key`` (deleted or replaced): a stream's XREADGROUP waiters
        are looked at again (Redis's dbGenericDelete and dbOverwrite): they get an
        error."""
        blocking = getattr(self.state, "blocking", None)
        if blocking is not None and blocking.queues and type_name(value) == "stream":
            blocking.signal_ready(self, key, "stream")

    def _waited_values(self) -> Iterator[Tuple[bytes, Any]]:
        """(key, value or None) of every key of this database a client waits on, the
        value as stored (a logically expired one too: Redis's dictFind)."""
        blocking = getattr(self.state, "blocking", None)
        if blocking is None or not blocking.queues:
            return
        for db_id, key in list(blocking.queues):
            if db_id == self.id:
                yield key, self.data.get(key)

    def signal_streams_gone(self, replaced_with: Optional["Database"]) -> None:
        """Before this database's contents are emptied (``replaced_with`` None) or
        exchanged with ``replaced_with``'s: each waited key that holds a stream and
        will not, signalled (scanDatabaseForDeletedStreams)."""
        blocking = getattr(self.state, "blocking", None)
        if blocking is None or not blocking.kinds["stream"]:
            return
        for key, value in self._waited_values():
            if type_name(value) == "stream" and (
                    replaced_with is None or
                    type_name(replaced_with.data.get(key)) != "stream"):
                blocking.signal_ready(self, key, "stream")

    def signal_waited_keys(self) -> None:
        """Each waited key holding a value, signalled with its type (after SWAPDB or a
        replication load: Redis's scanDatabaseForReadyKeys)."""
        for key, value in self._waited_values():
            if value is not None:
                self.state.blocking.signal_ready(self, key, type_name(value))

    def signal_modified(self, key: bytes) -> None:
        """A key changed: invalidate WATCHes on it (hooked by transactions) and have
        its memory estimate redone at the next :meth:`settle`."""
        self.touched.add(key)
        hook = self.state.on_key_modified
        if hook is not None:
            hook(self, key)

    def flush(self, lazy: bool = False) -> None:
        """Remove every key (FLUSHDB): WATCHes of its keys are touched (client-side
        caching is told by the FLUSH commands, with one null, not key by key).
        ``lazy``: as Redis's emptyDbAsync, which counts every key of the database in
        lazyfreed_objects (expired ones not yet reclaimed included), whatever its
        value."""
        if lazy:
            self.state.stats.lazyfreed_objects += len(self.index)
        if self.state.key_hooks.get("watch") is not None:
            from .commands.transactions import db_replaced
            db_replaced(self, None)
        self.signal_streams_gone(None)
        self.index = {}
        self._values = []
        self.expires = {}
        self._heap = []
        self._slots = []
        self._free = []
        self.access = self.state.new_access_map()
        self.touched = set()
        self.sizes = array("I")
        self._big_sizes = {}
        self.used = 0
        # Cursors of scans begun before the flush point at nothing that still exists:
        # a new epoch without history makes them start over (every key is new anyway).
        self._epoch += 1
        self._history = deque()

    # -- memory accounting ------------------------------------------------------------
    def resized(self, key: bytes) -> None:
        """Have the memory estimate of ``key`` redone at the next :meth:`settle`, for
        a change Redis does not signal (consumer groups, HLL encodings...)."""
        self.touched.add(key)

    def settle(self) -> int:
        """Re-estimate the keys written since the last call; return ``used``, this
        database's estimated bytes (key names, values, table entries; TTLs apart)."""
        touched = self.touched
        if touched:
            self.touched = set()
            keys = self._slots
            values = self._values
            sizes = self.sizes
            delta = 0
            index = self.index
            for item in touched:
                if item.__class__ is int:
                    slot = item
                    key = keys[slot]
                    if key is None:
                        continue        # removed: _remove already subtracted it
                else:
                    key = item
                    slot = index.get(key)
                    if slot is None:
                        continue        # removed: _remove already subtracted it
                value = values[slot]
                if value.__class__ is bytes and len(key) < 480 and len(value) < 480:
                    # key_size of a small string written out (both objects below
                    # pymalloc's 512 bytes): a bulk load settles a million of these.
                    size = ((48 + len(key)) & -16) + ((48 + len(value)) & -16) \
                        + KEY_OVERHEAD
                else:
                    size = key_size(key, value)
                old = sizes[slot]
                if old == _BIG_SIZE:
                    old = self._big_sizes.pop(key)
                delta += size - old
                if size >= _BIG_SIZE:
                    self._big_sizes[key] = size
                    size = _BIG_SIZE
                sizes[slot] = size
            self.used += delta
        return self.used

    def key_bytes(self, key: bytes) -> int:
        """The last settled estimate of ``key`` (0 if unknown)."""
        slot = self.index.get(key)
        if slot is None:
            return 0
        size = self.sizes[slot]
        return self._big_sizes[key] if size == _BIG_SIZE else size

    def keys(self) -> Iterator[bytes]:
        """Live keys (expired ones are skipped, not yet deleted)."""
        if not self.expires:
            return iter(list(self.index))
        now = self.state.clock.expiry_ms()
        expires = self.expires
        return iter([k for k in self.index if expires.get(k, now + 1) > now])

    def random_key(self) -> Optional[bytes]:
        """A uniformly random live key, or None when empty (RANDOMKEY).

        Picks a random SCAN slot: compaction keeps tombstones at most about half the
        table, so a few draws find a key. Expired keys met on the way are reclaimed,
        as Redis does.
        """
        tries = 0
        key = None
        while self.index:
            tries += 1
            if tries > 100 and self.state.repl.master_host is not None:
                # A replica whose keys all expired logically: the master has not
                # deleted them yet (Redis gives up the same way).
                return key
            slots = self._slots
            key = None
            for _ in range(16):
                key = slots[_random.randrange(len(slots))]
                if key is not None:
                    break
            if key is None:  # a small keyspace among many tombstones
                key = _random.choice(list(self.index))
            if self.peek(key) is not None:
                return key
        return None

    def swap(self, other: "Database") -> None:
        """Exchange contents with ``other`` (SWAPDB)."""
        for name in ("index", "_values", "expires", "_heap", "_slots", "_free", "access",
                     "_epoch", "_history", "touched", "sizes", "_big_sizes", "used"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs)
            setattr(other, name, mine)
