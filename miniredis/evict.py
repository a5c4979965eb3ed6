"""maxmemory: the OOM check before commands, key eviction and LFU counters (evict.c).

Nothing here runs while ``maxmemory`` is 0: the dispatcher consults :func:`refuse_oom`
only on its slow path, which ``state.maxmemory_gate`` opens for every client when a
limit is set (see :func:`apply_config`).

Eviction follows Redis 7.0: before each command, if ``used_memory`` (see
:mod:`miniredis.memory`) is over the limit, keys are deleted until enough is freed,
chosen by ``maxmemory-policy``:

* ``*-lru``, ``*-lfu``, ``volatile-ttl``: every database contributes
  ``maxmemory-samples`` random keys (all keys, or only those with a TTL) to a pool of
  the 16 best candidates seen so far, scored by idle time, inverted LFU frequency or
  nearness of expiry; the best surviving entry is evicted;
* ``*-random``: a random key of the next database in turn;
* ``noeviction`` (or nothing left to evict): commands flagged ``denyoom`` are refused.

Evicting is bounded in time by ``maxmemory-eviction-tenacity``; past that it goes on
from a loop timer and the command is allowed meanwhile, as in Redis.

LFU: under an ``*-lfu`` policy each database's access table (indexed by SCAN slot) is
an :class:`LFUAccess`, whose entries pack the minutes of the last decrement and a
logarithmic counter (Redis's 16+8 bits); any key access goes through its
``__setitem__``. Under other policies it is a plain ``array`` of LRU clock seconds, so
the access path pays nothing.
"""
from __future__ import annotations

import random
import time
from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from . import errors
from .datatypes.memsize import EXPIRE_OVERHEAD
from .access import ACCESS_TYPE, NO_ACCESS
from .notify import notify

if TYPE_CHECKING:  # pragma: no cover
    from .commands import Command
    from .connection import Client
    from .keyspace import Database
    from .state import ServerState

EVPOOL_SIZE = 16
LFU_INIT_VAL = 5
EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2

# Commands that pass a MULTI even when out of memory (processCommand's exceptions).
_MULTI_OOM_EXEMPT = frozenset(("exec", "discard", "quit", "reset"))
_EVAL_COMMANDS = frozenset(("eval", "evalsha", "eval_ro", "evalsha_ro"))


# -- LFU ------------------------------------------------------------------------------
def lfu_minutes(state: "ServerState") -> int:
    """LFUGetTimeInMinutes: wall-clock minutes, 16 bits."""
    return (state.clock.ms() // 60000) & 0xFFFF


def lfu_counter(state: "ServerState", packed: int) -> int:
    """LFUDecrAndReturn: the counter after the decay of the periods elapsed since."""
    counter = packed & 255
    decay = state.config.values["lfu-decay-time"]
    if not decay:
        return counter
    last = packed >> 8
    now = lfu_minutes(state)
    elapsed = now - last if now >= last else 65535 - last + now
    periods = elapsed // decay
    if periods:
        counter = 0 if periods > counter else counter - periods
    return counter


def _lfu_log_incr(counter: int, factor: int) -> int:
    if counter == 255:
        return 255
    base = counter - LFU_INIT_VAL
    if base < 0:
        base = 0
    if random.random() < 1.0 / (base * factor + 1):
        counter += 1
    return counter


class LFUAccess(array):
    """A database's access table under an LFU policy: slot -> (minutes << 8 | counter).

    Every access assigns to the table (``access[slot] = lru_clock``); here that
    assignment decays and increments the key's counter instead, as Redis's updateLFU.
    A slot never accessed (NO_ACCESS, a new key) starts at LFU_INIT_VAL.
    """

    __slots__ = ("state",)

    def __new__(cls, state: "ServerState") -> "LFUAccess":
        table = super().__new__(cls, ACCESS_TYPE)
        table.state = state
        return table

    def initial(self) -> int:
        """The packed entry of a key seen for the first time."""
        return (lfu_minutes(self.state) << 8) | LFU_INIT_VAL

    def __setitem__(self, slot: int, _clock: int) -> None:  # type: ignore[override]
        state = self.state
        old = array.__getitem__(self, slot)
        if old == NO_ACCESS:
            array.__setitem__(self, slot, (lfu_minutes(state) << 8) | LFU_INIT_VAL)
            return
        counter = _lfu_log_incr(lfu_counter(state, old),
                                state.config.values["lfu-log-factor"])
        array.__setitem__(self, slot, (lfu_minutes(state) << 8) | counter)


def stamps_count(access: Any) -> bool:
    """Whether storing into ``access`` (a database's access table) counts an access
    (an LFU policy's counters). Else it holds LRU clocks, and storing a key's stamp
    again within one run (the same clock) changes nothing: the commands' own loops,
    which look a key repeating the previous request's up once, store it once then."""
    return access.__class__ is not array


def new_access_map(state: "ServerState") -> Any:
    """An empty access table of the kind the current policy needs."""
    if "lfu" in state.config.values["maxmemory-policy"]:
        return LFUAccess(state)
    return array(ACCESS_TYPE)


# -- configuration ----------------------------------------------------------------------
def apply_config(state: "ServerState", startup: bool = False,
                 maxmemory_changed: bool = True) -> None:
    """maxmemory or maxmemory-policy changed (or the server starts): open or close
    every client's slow path, convert the access maps between LRU and LFU, and evict
    at once if the new limit is already exceeded (updateMaxmemory)."""
    config = state.config.values
    lfu = "lfu" in config["maxmemory-policy"]
    for db in state.dbs:
        if (db.access.__class__ is LFUAccess) != lfu:
            db.reset_access()
    pool_owner = getattr(state, "evictor", None)
    if pool_owner is not None and pool_owner.policy != config["maxmemory-policy"]:
        pool_owner.pool.clear()     # scores of another policy mean nothing now
        pool_owner.policy = config["maxmemory-policy"]
    gate = bool(config["maxmemory"])
    if gate != state.maxmemory_gate:
        state.maxmemory_gate = gate
        for client in list(state.clients.values()):
            client._update_gate()
    if gate and not startup:
        used = state.memory.used() - state.memory.replicas_share()
        if maxmemory_changed and used > config["maxmemory"]:
            state.log("warning", "WARNING: the new maxmemory value set via CONFIG SET "
                      "(%d) is smaller than the current memory usage (%d). This will "
                      "result in key eviction and/or the inability to accept new write "
                      "commands depending on the maxmemory-policy."
                      % (config["maxmemory"], used))
        # As Redis's startEvictionTimeProc: evicted from the event loop, right after
        # this command (inside EXEC, after the transaction), not from CONFIG SET itself.
        evictor(state).start_soon()


# -- the check before each command -----------------------------------------------------
def refuse_oom(client: "Client", cmd: "Command", args: List[bytes]) -> bool:
    """processCommand's maxmemory step: evict if needed, then refuse (True, reply
    sent) a command that may grow memory while still over the limit."""
    state = client.state
    if state.blocking.suspended or state.busy_script is not None:
        return False        # inside EXEC or a busy script: Redis checks nothing here
    tracking = state.tracking
    if tracking.clients:
        # Evicted before the call: a notice for the requester itself precedes its reply.
        tracking.before_call = True
        try:
            out_of_memory = evictor(state).perform() == EVICT_FAIL
        finally:
            tracking.before_call = False
    else:
        out_of_memory = evictor(state).perform() == EVICT_FAIL
    state.pre_command_oom = out_of_memory
    if not out_of_memory:
        return False
    reject = _denyoom(state, cmd, args) or (
        client.multi is not None and not (cmd.parent is None
                                          and cmd.name in _MULTI_OOM_EXEMPT))
    if cmd.name == "exec" and cmd.parent is None and client.multi is not None:
        reject = any(_denyoom(state, *_resolve(state, queued)) for queued in client.multi)
    if not reject:
        return False
    cmd.rejected_calls += 1
    client._refuse(cmd, errors.OOM)
    return True


def _resolve(state: "ServerState", args: List[bytes]
             ) -> Tuple[Optional["Command"], List[bytes]]:
    try:
        return state.names.resolve(args), args
    except Exception:
        return None, args


def _denyoom(state: "ServerState", cmd: Optional["Command"], args: List[bytes]) -> bool:
    """Does ``cmd`` count as denyoom (getCommandFlags, with a script's own flags)?"""
    if cmd is None:
        return False
    if cmd.parent is None and cmd.name in _EVAL_COMMANDS:
        from .commands.scripting import script_denies_oom
        return script_denies_oom(state, cmd, args)
    if cmd.parent is None and cmd.name in ("fcall", "fcall_ro"):
        from .commands.functions import fcall_denies_oom
        return fcall_denies_oom(state, cmd, args)
    return "denyoom" in cmd.flags


# -- eviction -------------------------------------------------------------------------------
def evictor(state: "ServerState") -> "Evictor":
    found = getattr(state, "evictor", None)
    if found is None:
        found = state.evictor = Evictor(state)
    return found


def _time_limit(tenacity: int) -> float:
    """evictionTimeLimitUs, in seconds."""
    if tenacity <= 10:
        return 50e-6 * tenacity
    if tenacity < 100:
        return 500e-6 * 1.15 ** (tenacity - 10)
    return float("inf")


class Evictor:
    """performEvictions and its pool of candidates, for one server."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.pool: List[Tuple[int, int, bytes]] = []     # (score, db id, key), ascending
        self.next_db = 0
        self.policy = state.config.values["maxmemory-policy"]   # what the scores mean
        self._timer: Any = None

    def perform(self) -> int:
        """Evict until under maxmemory: EVICT_OK, EVICT_RUNNING (time ran out: a loop
        timer carries on, as Redis's evictionTimeProc) or EVICT_FAIL (over the limit
        and nothing may be evicted)."""
        result = self._run()
        if result == EVICT_OK and self._timer is not None:
            return EVICT_RUNNING
        return result

    def _run(self) -> int:
        state = self.state
        config = state.config.values
        if state.busy_script is not None:
            return EVICT_OK     # (isSafeToPerformEvictions: no metrics either)
        if state.repl.master_host is not None and config["replica-ignore-maxmemory"]:
            return EVICT_OK     # a replica: its master evicts (and sends the DELs)
        return _exceeded(state.stats, self._evict_over_limit(config))

    def _evict_over_limit(self, config: Any) -> int:
        """performEvictions past its safety checks, up to its update_metrics."""
        state = self.state
        limit = config["maxmemory"]
        if not limit:
            return EVICT_OK
        used = state.memory.used() - state.memory.replicas_share()
        if used <= limit:
            return EVICT_OK
        policy = config["maxmemory-policy"]
        if policy == "noeviction":
            return EVICT_FAIL
        to_free = used - limit
        freed = 0
        evicted = 0
        time_limit = _time_limit(config["maxmemory-eviction-tenacity"])
        started = time.perf_counter()
        while freed < to_free:
            found = self._pick(policy)
            if found is None:
                return EVICT_FAIL
            db, key = found
            freed += self._evict(db, key)
            evicted += 1
            if evicted % 16 == 0 and time.perf_counter() - started > time_limit:
                if self._start_timer():
                    return EVICT_RUNNING
        return EVICT_OK

    # -- choosing ---------------------------------------------------------------------
    def _pick(self, policy: str) -> Optional[Tuple["Database", bytes]]:
        dbs = self.state.dbs
        allkeys = policy.startswith("allkeys")
        if policy.endswith("random"):
            for _ in range(len(dbs)):
                self.next_db = (self.next_db + 1) % len(dbs)
                db = dbs[self.next_db]
                keys = _sample(db, allkeys, 1)
                if keys:
                    return db, keys[0]
            return None
        pool = self.pool
        score = _scorer(self.state, policy)
        while True:
            total = 0
            for db in dbs:
                source = db.data if allkeys else db.expires
                if source:
                    total += len(source)
                    for key in _sample(db, allkeys,
                                       self.state.config.values["maxmemory-samples"]):
                        _pool_insert(pool, score(db, key), db.id, key)
            if not total:
                return None
            while pool:
                _, db_id, key = pool.pop()
                db = dbs[db_id]
                if key in (db.data if allkeys else db.expires):
                    return db, key
                # a ghost (deleted since it was pooled): try the next best

    def _evict(self, db: "Database", key: bytes) -> int:
        """Delete ``key`` as an eviction; the bytes this frees (estimated)."""
        state = self.state
        size = db.key_bytes(key)
        if db.expires and key in db.expires:
            size += EXPIRE_OVERHEAD
        db.remove(key, state.config.values["lazyfree-lazy-eviction"])
        if state.tracking.prefixes:
            state.tracking.server_modified(db, key)   # no client did it (NOLOOP)
        state.stats.evicted_keys += 1
        notify(db, "e", b"evicted", key)
        if state.propagator is not None:
            state.propagator.propagate(db.id, [b"DEL", key])
        return size

    # -- carrying on later ----------------------------------------------------------------
    def start_soon(self) -> None:
        """Evict from a loop callback, once the running command (or batch) is done:
        the invalidations and replies its evictions queue are then written before any
        other client is read, as Redis's beforeSleep writes them after its eviction
        timer. Without a loop (a bare state), at once."""
        loop = self.state.loop
        if loop is None:
            self.perform()
        else:
            loop.run_callback(self.perform)

    def _start_timer(self) -> bool:
        """Go on evicting from the event loop; False if there is no loop (embedded
        state without a server: the caller just keeps going)."""
        if self._timer is not None:
            return True
        loop = self.state.loop
        if loop is None:
            return False
        self._timer = loop.timer(0.001, 0.001)
        self._timer.start(self._on_timer)
        return True

    def _on_timer(self) -> None:
        if self._run() != EVICT_RUNNING:
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.stop()
                timer.close()


def _exceeded(stats: Any, result: int) -> int:
    """performEvictions' update_metrics: a period over maxmemory starts with the first
    result that is not EVICT_OK and ends (added to the total) with the next OK."""
    if result != EVICT_OK:
        if not stats.eviction_exceeded_since:
            stats.eviction_exceeded_since = time.perf_counter()
    elif stats.eviction_exceeded_since:
        stats.total_eviction_exceeded_time += int(
            (time.perf_counter() - stats.eviction_exceeded_since) * 1e6)
        stats.eviction_exceeded_since = 0.0
    return result


def exceeded_time_lines(stats: Any) -> List[str]:
    """INFO stats' total_eviction_exceeded_time and current_eviction_exceeded_time
    (milliseconds; the total includes the open period)."""
    current = int((time.perf_counter() - stats.eviction_exceeded_since) * 1e6) \
        if stats.eviction_exceeded_since else 0
    return ["total_eviction_exceeded_time:%d"
            % ((stats.total_eviction_exceeded_time + current) // 1000),
            "current_eviction_exceeded_time:%d" % (current // 1000)]


def _scorer(state: "ServerState", policy: str) -> Any:
    """The pool score of a key under ``policy``: higher is a better eviction."""
    if policy.endswith("lru"):
        clock = state.lru_clock

        def idle(db: "Database", key: bytes) -> int:
            stamp = db.access_of(key)
            return clock - (clock if stamp is None else stamp)
        return idle
    if policy.endswith("lfu"):
        def inverse_frequency(db: "Database", key: bytes) -> int:
            packed = db.access_of(key)
            return 255 - (lfu_counter(state, packed) if packed is not None else 0)
        return inverse_frequency

    def nearness(db: "Database", key: bytes) -> int:
        return -db.expires.get(key, 0)
    return nearness


def _pool_insert(pool: List[Tuple[int, int, bytes]], score: int, db_id: int,
                 key: bytes) -> None:
    """evictionPoolPopulate's insertion: keep the EVPOOL_SIZE best, ascending."""
    k = bisect_left(pool, (score,))
    if k == 0 and len(pool) >= EVPOOL_SIZE:
        return              # worse than everything in a full pool
    if len(pool) < EVPOOL_SIZE:
        pool.insert(k, (score, db_id, key))
    else:
        del pool[0]         # drop the worst to make room
        pool.insert(k - 1, (score, db_id, key))


def _sample(db: "Database", allkeys: bool, count: int) -> List[bytes]:
    """Up to ``count`` random keys of ``db`` (all keys, or those with a TTL)."""
    return db.sample_keys(count, volatile=not allkeys)
