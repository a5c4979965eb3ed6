"""Everything a command can see: databases, clients, config, clock, statistics.

Kept apart from the network code (server.py) so that the whole keyspace can be
driven without sockets: tests and the embedding API touch data directly through it.
"""
from __future__ import annotations

import itertools
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set

from .clock import Clock
from .config import Config
from .keyspace import Database
from .lazyfree import PendingFrees
from .log import Logger
from .migratecache import MigrateSockets
from .querybuf import PEAK_RESET_MS, ClientsCron
from .replication.state import ReplicationState

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Client


_KEYS_PER_LOOP = 20     # ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP


def resident_bytes() -> int:
    """The process's resident set size (INFO memory has no allocator to ask)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def lru_clock_now(clock: Clock) -> int:
    """The LRU clock the access tables stamp: seconds from 2**31 up, below
    access.NO_ACCESS (2**32 - 1) for 68 years of uptime. Its low 24 bits, which INFO
    and DEBUG OBJECT show as Redis's lru_clock, are the seconds' own."""
    return (1 << 31) + int(clock.monotonic()) % 0x7FFFFFFF


class Stats:
    """Counters reported by INFO stats; :meth:`reset` is CONFIG RESETSTAT's
    resetServerStats, zeroing what Redis zeroes."""

    def __init__(self) -> None:
        from .instmetrics import InstantMetrics
        self.instant = InstantMetrics()     # instantaneous_* (sampled by the cron)
        self.reset()

    def reset(self, connections: bool = True) -> None:
        """``connections`` False: keep the connection counts (the reset after an
        AOF's load at start-up, which is not Redis's RESETSTAT)."""
        self.total_commands_processed = 0
        if connections:
            self.total_connections_received = 0
            self.rejected_connections = 0
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.expired_keys = 0
        # The active expiry cycle's (expire.c): the smoothed share of sampled keys
        # found expired, cycles stopped by their time limit, microseconds used.
        self.expired_stale_perc = 0.0
        self.expired_time_cap_reached_count = 0
        self.expire_cycle_time_used = 0
        self.evicted_keys = 0
        self.evicted_clients = 0        # maxmemory-clients (security/clientevict.py)
        # Time over maxmemory while evicting (evict.c): closed periods, in
        # microseconds, and the start (perf_counter) of the open one, 0 for none.
        self.total_eviction_exceeded_time = 0
        self.eviction_exceeded_since = 0.0
        self.fork_time_usec = 0         # latest_fork_usec (stat_fork_time)
        self.total_forks = 0
        self.lazyfreed_objects = 0      # INFO memory (miniredis.datatypes.lazyfree)
        # total_net_output_bytes counts every byte written, the replicas' too (INFO
        # shows that sum, as Redis); total_net_repl_output_bytes the replicas' part.
        self.total_net_input_bytes = 0
        self.total_net_output_bytes = 0
        self.total_net_repl_input_bytes = 0     # read from this replica's master
        self.total_net_repl_output_bytes = 0    # written to replicas (stream, RDB)
        self.total_error_replies = 0
        self.unexpected_error_replies = 0
        self.dump_payload_sanitizations = 0     # deep-checked encoded blobs (rdb.c)
        self.reply_buffer_shrinks = 0           # clientsCronResizeOutputBuffer's
        self.reply_buffer_expands = 0
        self.error_counts: Dict[str, int] = {}
        self.instant.reset()


class SlowlogEntry:
    __slots__ = ("id", "time", "duration", "args", "addr", "name")

    def __init__(self, entry_id: int, when: int, duration: int, args: List[bytes],
                 addr: str, name: str) -> None:
        self.id = entry_id
        self.time = when
        self.duration = duration
        self.args = args
        self.addr = addr
        self.name = name


class ServerState:
    """The server's shared state; one per Server, touched only from its hub thread."""

    def __init__(self, config: Optional[Config] = None, clock: Optional[Clock] = None) -> None:
        self.config = config or Config()
        self.clock = clock or Clock()
        # Seconds, refreshed by the cron (see lru_clock_now).
        self.lru_clock = lru_clock_now(self.clock)
        from .memory import Memory
        self.memory = Memory(self)          # used_memory and its parts
        self.clients_cron = ClientsCron()   # query-buffer resizing (clientsCron)
        self.maxmemory_gate = False         # maxmemory set: every client takes _gate
        self.pre_command_oom = False        # OOM seen before the current command
        self.dbs: List[Database] = [Database(i, self) for i in range(self.config["databases"])]
        self.clients: Dict[int, "Client"] = {}
        self.next_client_id = 1
        self.stats = Stats()
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.pid = os.getpid()
        self.run_id = os.urandom(20).hex()
        self.repl = ReplicationState()      # replication IDs, offset and role
        # DEBUG switches (debug.c's globals): noscript commands allowed in scripts,
        # RESTORE's CRC check skipped, list elements this long dumped as plain nodes,
        # the reply buffers' resizing (REPLYBUFFER: the peak's reset period in ms, -1
        # never, and whether the cron resizes at all), and two accepted for tests but
        # without effect here (AOF-FLUSH-SLEEP, PAUSE-CRON).
        self.script_disable_deny_script = 0
        self.reply_peak_reset_ms = PEAK_RESET_MS
        self.reply_resizing = 1
        self.skip_checksum_validation = 0
        self.packed_threshold = 1 << 30
        self.aof_flush_sleep = 0
        self.pause_cron = 0
        self.dirty = 0                      # writes since the last save
        self.loading = False                # replaying an AOF (see Database.deadline_passed)
        # INFO's loading_* figures while a dataset loads (persistence.LoadingInfo).
        self.loading_info: Any = None
        self.owns_process = False           # the command line's server (see crash.py)
        self.retitles = False               # it sets the process title (proctitle.py)
        # Called every so often by a loading RDB or AOF: the command line's start-up
        # load serves clients from it (-LOADING), as Redis's processEventsWhileBlocked.
        self.load_progress: Optional[Callable[[], None]] = None
        # Keys a writable replica gave a TTL itself: key -> database ids (INFO's
        # slave_expires_tracked_keys; see expire_replica_keys).
        self.replica_expires: Dict[bytes, Set[int]] = {}
        self.last_save = int(time.time())
        self.slowlog: List[SlowlogEntry] = []
        self.slowlog_next_id = 0
        self.tcp_port = 0
        self.unixsocket: Optional[str] = None
        self.executable = ""
        self.config_file = self.config.file   # absolute path, "" without one (CONFIG REWRITE)
        from .commands import CommandNames
        self.names = CommandNames(self.config.renamed)  # (rename-command)
        # Hooks later subsystems attach to (transactions, blocking, keyspace events).
        # on_key_modified is what the keyspace calls on every write: None, or the one
        # installed hook, or a function calling each (see set_key_hook).
        self.on_key_modified: Optional[Callable[[Database, bytes], None]] = None
        self.key_hooks: Dict[str, Callable[[Database, bytes], None]] = {}
        self.on_key_expired: Optional[Callable[[Database, bytes], None]] = None
        self.on_client_reset: List[Callable[["Client"], None]] = []
        self.on_client_close: List[Callable[["Client"], None]] = []
        self.shutdown: Any = None           # the server's Shutdown (shutdown.py)
        # Set by the Server: rebind(bind, port) swaps the TCP listeners (CONFIG SET
        # bind/port), raising OSError and keeping the old ones if it cannot.
        self.rebind: Optional[Callable[[str, int], None]] = None
        self.log: Logger = Logger(quiet=True)   # the Server's logger replaces it
        self.migrate_sockets = MigrateSockets()  # MIGRATE's open connections
        self.loop: Any = None               # the hub's libev loop, set by the Server
        # Set by the Server: serve the other clients from inside a long command.
        self.serve_while_blocked: Optional[Callable[[], None]] = None
        # Long lists whose lazy free Redis would count, walked between requests.
        self.lazy_frees = PendingFrees(self)
        from .blocking import Blocking
        self.blocking = Blocking(self)      # clients parked in BLPOP & co.
        self.busy_script: Any = None        # a script past busy-reply-threshold
        self.aof: Any = None                # miniredis.persistence.aof.AOF while appendonly is on
        # The replication stream (miniredis.replication.feed.ReplicationFeed) while a
        # backlog exists, and the one propagation stream feeding it and the AOF:
        # ``propagator`` is None while neither wants effects (miniredis.propagate).
        self.repl_feed: Any = None
        from .propagate import Propagator
        self.propagation = Propagator(self)
        self.propagator: Optional[Propagator] = None
        from .security.acl import ACL
        self.acl = ACL(self)                # users, permissions, the ACL log
        # The MISCONF text write commands get while persistence fails, else None
        # (kept by miniredis.persistence.refresh_write_denied; part of Client.gated).
        self.write_denied: Optional[str] = None
        # min-replicas-to-write asks for replicas this master never has: write
        # commands get NOREPLICAS (kept by refresh_no_replicas; part of Client.gated).
        self.no_replicas = False
        from .replication.master import Master
        self.replicas = Master(self)        # this server's replicas (master side)
        from .replication.failover import Failover
        self.failover = Failover(self)      # FAILOVER's state (replication.failover)
        self.refresh_no_replicas()
        from .tracking import Tracking
        self.tracking = Tracking(self)      # CLIENT TRACKING's tables
        # MONITOR clients and CLIENT PAUSE: while either is active every client takes
        # the dispatcher's slow path (gate_all), which feeds monitors and holds
        # paused commands; idle, they cost the hot path nothing.
        from .pause import Pause
        self.monitors: Dict[int, "Client"] = {}
        self.pause = Pause(self)
        self.gate_all = False
        # client-output-buffer-limit normal is set (security/outputlimits.py)
        self.normal_output_limited = False
        # maxmemory-clients is set: its ClientEviction (security/clientevict.py)
        self.client_eviction: Any = None
        from .latency import LatencyMonitor
        self.latency = LatencyMonitor()     # LATENCY events (latency-monitor-threshold)
        self.on_client_close.append(self._forget_client)
        self.on_client_reset.append(self._stop_monitoring)   # RESET ends MONITOR

    def refresh_no_replicas(self) -> None:
        """Recompute ``no_replicas`` (Redis's checkGoodReplicasStatus failing: a master
        with min-replicas-to-write and min-replicas-max-lag set and fewer good replicas,
        online with an ACK within the lag) and, when it changes, every client's gate."""
        values = self.config.values
        refuse = bool(values["min-replicas-to-write"] and values["min-replicas-max-lag"]) \
            and not self.repl.is_replica \
            and self.replicas.good < values["min-replicas-to-write"]
        if refuse != self.no_replicas:
            self.no_replicas = refuse
            for client in list(self.clients.values()):
                client._update_gate()

    def set_key_hook(self, name: str, hook: Optional[Callable[[Database, bytes], None]]) -> None:
        """Install (or with None remove) a named key-modification hook ("watch",
        "tracking"); writes call ``on_key_modified``, left None while no hook is set."""
        if hook is None:
            self.key_hooks.pop(name, None)
        else:
            self.key_hooks[name] = hook
        hooks = list(self.key_hooks.values())
        if not hooks:
            self.on_key_modified = None
        elif len(hooks) == 1:
            self.on_key_modified = hooks[0]
        else:
            def every_hook(db: Database, key: bytes) -> None:
                for each in hooks:
                    each(db, key)
            self.on_key_modified = every_hook

    def new_access_map(self) -> Any:
        """A database's empty access map: LRU seconds, or LFU counters (evict.py)."""
        from .evict import new_access_map
        return new_access_map(self)

    def memory_cron(self) -> None:
        """Bring used_memory up to date: settle the writes since the last tick (work in
        proportion to them). Clients are re-summed (O(clients)) only while a limit
        needs them; INFO and MEMORY re-sum them anyway."""
        if self.maxmemory_gate:
            self.memory.refresh_clients()
        self.memory.used()

    def refresh_gates(self) -> None:
        """Recompute ``gate_all`` and every client's slow-path flag after it changed."""
        gate_all = bool(self.monitors) or self.pause.type != 0 or self.repl.loading \
            or self.normal_output_limited or self.client_eviction is not None
        if gate_all != self.gate_all:
            self.gate_all = gate_all
            for client in list(self.clients.values()):
                client._update_gate()

    def _stop_monitoring(self, client: "Client") -> None:
        if self.monitors.pop(client.id, None) is not None:
            self.refresh_gates()

    def _forget_client(self, client: "Client") -> None:
        self.pause.forget(client)
        self.memory.clients_stale = True    # (its memory goes at the next look)
        if self.client_eviction is not None:
            self.client_eviction.forget(client)
        if self.monitors.pop(client.id, None) is not None:
            self.refresh_gates()

    def new_client_id(self) -> int:
        client_id = self.next_client_id
        self.next_client_id += 1
        return client_id

    def active_expire(self) -> None:
        """One active-expiry cycle over every database (bounded work per db)."""
        self.lru_clock = lru_clock_now(self.clock)
        if self.pause.type and self.pause.check():
            return      # paused: the data set stays constant (keys expire afterwards)
        if self.repl.master_host is not None:
            # A replica: the master's DELs remove expired keys, but for those given a
            # TTL here (a writable replica).
            self.expire_replica_keys()
            return
        if not getattr(self, "active_expire_enabled", True):
            return      # DEBUG SET-ACTIVE-EXPIRE 0: no cycle at all
        now = self.clock.ms()
        values = self.config.values
        started = time.perf_counter_ns()
        effort = values["active-expire-effort"] - 1
        # activeExpireCycle's slow cycle: (25 + 2 * effort)% of a cron period at most,
        # and the keys it samples per database and loop.
        deadline = started + max(1, (25 + 2 * effort) * 1_000_000 // max(1, values["hz"])
                                 // 100) * 1000
        per_loop = _KEYS_PER_LOOP + _KEYS_PER_LOOP // 4 * effort
        sampled = expired = 0
        for db in self.dbs:
            if not db.expires:
                continue
            done = db.active_expire(now, deadline_ns=deadline)
            if done < 0:                # out of time: the next cycle goes on
                expired -= done
                sampled -= done
                self.stats.expired_time_cap_reached_count += 1
                break
            # Redis samples keys with a TTL at random until few are found expired;
            # the heap hands us the expired ones, then a last sample finds none.
            expired += done
            sampled += done + min(per_loop, len(db.expires))
        self._expire_cycle_stats(started, sampled, expired)

    def _expire_cycle_stats(self, started: int, sampled: int, expired: int) -> None:
        """The end of activeExpireCycle: time used, the "expire-cycle" latency event
        and the smoothed stale percentage (5% weight to this cycle's share)."""
        stats = self.stats
        elapsed_us = (time.perf_counter_ns() - started) // 1000
        stats.expire_cycle_time_used += elapsed_us
        self.latency.add_if_needed(self.config.values["latency-monitor-threshold"],
                                   "expire-cycle", elapsed_us // 1000)
        current = expired / sampled if sampled else 0.0
        stats.expired_stale_perc = current * 0.05 + stats.expired_stale_perc * 0.95

    def expire_replica_keys(self, budget: int = 1000) -> None:
        """Redis's expireSlaveKeys: delete the tracked keys whose TTL has passed,
        forgetting those that lost their TTL or are gone; at most ``budget`` visited,
        stopping after a few that are not due (the rest wait for the next cycle)."""
        tracked = self.replica_expires
        now = self.clock.ms()
        not_due = 0
        for key in list(itertools.islice(tracked, budget)):
            ids = tracked.pop(key)
            keep = set()
            for db_id in ids:
                db = self.dbs[db_id] if db_id < len(self.dbs) else None
                when = db.expires.get(key) if db is not None and db.expires else None
                if when is None:
                    continue
                if when <= now:
                    db.delete_expired(key)
                else:
                    keep.add(db_id)
                    not_due += 1
            if keep:
                tracked[key] = keep     # (at the end: the next cycle starts further on)
            if not_due > 3:
                break

    def uptime(self) -> float:
        return time.monotonic() - self.start_monotonic

    def add_slowlog(self, args: List[bytes], duration_us: int,
                    client: Optional["Client"]) -> None:
        """Record a slow command as Redis does (args capped at 32, each at 128 bytes).
        ``client`` None: a command a script ran (Redis's Lua client, shown as "?:0")."""
        max_len = self.config["slowlog-max-len"]
        from .security.acl import redact_arguments
        if args:    # (CLIENT UNBLOCK logs its target with none)
            args = redact_arguments(args, self.names, self.acl)  # no passwords or ACL rules
        shown: List[bytes] = []
        for i, arg in enumerate(args):
            if i == 31 and len(args) > 32:
                shown.append(b"... (%d more arguments)" % (len(args) - 31))
                break
            if len(arg) > 128:
                arg = arg[:128] + b"... (%d more bytes)" % (len(arg) - 128)
            shown.append(arg)
        entry = SlowlogEntry(self.slowlog_next_id, int(time.time()), duration_us, shown,
                             client.addr if client else "?:0",
                             (client.name or "") if client else "")
        self.slowlog_next_id += 1
        self.slowlog.insert(0, entry)
        del self.slowlog[max_len:]
