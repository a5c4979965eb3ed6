"""Memory accounting: the figures INFO memory, MEMORY STATS and maxmemory work from.

``used_memory`` is an estimate of what the server holds, kept incrementally:

    used = startup + datasets + expiry entries + clients + script cache

* ``startup``: a fixed ``STARTUP_BYTES`` (1 MiB) standing for the server's own tables
  (command table, config, empty databases). Redis reports about 0.85 MiB there. The
  Python interpreter's code and modules (some 30 MB of RSS) are not counted, as Redis
  does not count its binary: they show in ``used_memory_rss`` only.
* datasets: each database's running sum of per-key estimates
  (:mod:`miniredis.datatypes.memsize`), brought up to date by ``Database.settle``, which
  re-estimates only the keys written since its last call.
* expiry entries: ``EXPIRE_OVERHEAD`` per key with a TTL (a count, O(1)).
* clients: per connection CLIENT LIST's tot-mem (:func:`miniredis.querybuf.client_memory`:
  its pending replies, the modelled query buffer, fixed costs), summed by the cron
  (``refresh_clients``) rather than on every command, replicas apart;
* the replication buffer (backlog and replicas' unsent stream), of which maxmemory
  leaves out what goes beyond the backlog's size (``replicas_share``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from .datatypes.memsize import EXPIRE_OVERHEAD, KEY_OVERHEAD
from .querybuf import argv_memory, client_memory

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

STARTUP_BYTES = 1024 * 1024     # used_memory_startup (see the module docstring)
SCRIPT_BYTES = 1024             # a cached script's compiled function and body
_REPL_BLOCK_OVERHEAD = 40 + 24  # sizeof(replBufBlock) + sizeof(listNode)


class Memory:
    """The running memory figures of one server."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.startup = STARTUP_BYTES
        self.peak = STARTUP_BYTES
        self.clients = 0            # refreshed by refresh_clients (cron, INFO)
        self.clients_stale = False  # a client closed since: re-sum before the next use

    def refresh_clients(self) -> int:
        """Re-sum the clients' memory (O(clients): cron and INFO only; after a client
        closed, at the next look): the normal, pub/sub and master clients, Redis's
        mem_clients_normal. A replica's unsent stream is the replication buffer's
        (:meth:`replication`), as Redis's replicas share it."""
        total = 0
        is_replica = self.state.replicas.is_replica
        for client in self.state.clients.values():
            if not is_replica(client):
                # (an incomplete request's arguments already read count, and a
                # blocked command's: Redis has made them objects)
                total += client_memory(client, argv_memory(client) if client._pending
                                       or client.blocked is not None or client._held
                                       else (0, 0))
        self.clients = total
        self.clients_stale = False
        return total

    def replication(self) -> int:
        """The replication buffer Redis's backlog and replicas share (its
        repl_buffer_mem): as long as the longest of them needs."""
        replicas = getattr(self.state, "replicas", None)
        return replicas.buffer_memory()[0] if replicas is not None else 0

    def replicas_share(self) -> int:
        """The replication buffer beyond the backlog's own size (with Redis's
        allowance for its blocks): what lagging replicas hold, which maxmemory leaves
        out of ``used`` (freeMemoryGetNotCountedMemory)."""
        shared = self.replication()
        size = self.state.config.values["repl-backlog-size"]
        if shared > size:
            counted = size + (size // 16384 + 1) * _REPL_BLOCK_OVERHEAD
            if shared > counted:
                return shared - counted
        return 0

    def not_counted(self) -> int:
        """INFO's mem_not_counted_for_evict: the replicas' share and the AOF buffer
        (which ``used`` does not count in the first place)."""
        aof = self.state.aof
        aof_buffer = len(getattr(aof, "buf", b"") or b"") if aof is not None else 0
        return self.replicas_share() + aof_buffer

    def scripts(self) -> int:
        scripting = getattr(self.state, "scripting", None)
        return len(scripting.scripts) * SCRIPT_BYTES if scripting is not None else 0

    def used(self) -> int:
        """used_memory now: settles every database's pending writes (cheap: only the
        keys written since the last call are re-estimated) and tracks the peak."""
        if self.clients_stale:
            self.refresh_clients()
        total = self.startup + self.clients + self.scripts() + self.replication()
        for db in self.state.dbs:
            if db.touched:
                db.settle()
            total += db.used
            if db.expires:
                total += len(db.expires) * EXPIRE_OVERHEAD
        if total > self.peak:
            self.peak = total
        return total

    def overhead(self) -> Dict[str, Any]:
        """MEMORY STATS / INFO figures: overhead parts, per-db tables, dataset."""
        used = self.used()
        dbs: List[Tuple[int, int, int]] = []
        keys = 0
        tables = 0
        for db in self.state.dbs:
            count = len(db.data)
            if not count:
                continue
            keys += count
            main = count * KEY_OVERHEAD
            expires = len(db.expires) * EXPIRE_OVERHEAD
            tables += main + expires
            dbs.append((db.id, main, expires))
        aof = self.state.aof
        aof_buffer = len(getattr(aof, "buf", b"") or b"") if aof is not None else 0
        # The AOF buffer is shown but, as Redis does for eviction, not counted.
        total = self.startup + self.clients + self.scripts() + tables + self.replication()
        return {"used": used, "dbs": dbs, "keys": keys, "overhead": total,
                "aof": aof_buffer, "dataset": max(used - total, 0)}
