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
  (``refresh_clients``) rather than on every command.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from .datatypes.memsize import EXPIRE_OVERHEAD, KEY_OVERHEAD
from .querybuf import client_memory

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

STARTUP_BYTES = 1024 * 1024     # used_memory_startup (see the module docstring)
SCRIPT_BYTES = 1024             # a cached script's compiled function and body


class Memory:
    """The running memory figures of one server."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.startup = STARTUP_BYTES
        self.peak = STARTUP_BYTES
        self.clients = 0            # refreshed by refresh_clients (cron, INFO)

    def refresh_clients(self) -> int:
        """Re-sum the clients' memory (O(clients): cron and INFO only)."""
        total = 0
        for client in self.state.clients.values():
            total += client_memory(client)
        self.clients = total
        return total

    def scripts(self) -> int:
        scripting = getattr(self.state, "scripting", None)
        return len(scripting.scripts) * SCRIPT_BYTES if scripting is not None else 0

    def used(self) -> int:
        """used_memory now: settles every database's pending writes (cheap: only the
        keys written since the last call are re-estimated) and tracks the peak."""
        total = self.startup + self.clients + self.scripts()
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
        total = self.startup + self.clients + self.scripts() + tables
        return {"used": used, "dbs": dbs, "keys": keys, "overhead": total,
                "aof": aof_buffer, "dataset": max(used - total, 0)}
