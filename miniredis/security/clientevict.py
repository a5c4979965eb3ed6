"""maxmemory-clients: client eviction, as Redis 7.0's evictClients.

While ``maxmemory-clients`` is not 0 a :class:`ClientEviction` keeps what each client
was last seen to use (CLIENT LIST's tot-mem, :func:`miniredis.querybuf.client_memory`)
and the sum over the normal and pub/sub clients, as Redis's
``stat_clients_type_memory``. A client's figure is brought up to date where Redis
updates it (updateClientMemUsageAndBucket): before each of its commands (the one
after its previous command), after each read, after its replies are written, when a
pub/sub message or a tracking invalidation is queued for it, when CLIENT NO-EVICT
changes and in the clients cron. When the sum reaches the limit (bytes, or a
percentage of ``maxmemory``, never under 128 KB), clients are closed, biggest first,
until it is under: like Redis they sit in buckets by the log2 of their size (32 KB and
under, 64 KB... 8 GB and over) and the highest bucket goes first, its clients in the
order they entered it. The evictable ones are the normal and pub/sub clients without
CLIENT NO-EVICT (so never a replica, this server's master or the AOF's client); the
others count in the sum but are never closed ("Over client maxmemory after evicting
all evictable clients"). An evicted client's pending replies are dropped and none of
its pipelined requests runs (Redis frees it at once). Each eviction adds one to INFO's
``evicted_clients``.

With ``maxmemory-clients 0`` (the default) nothing here exists: ``state.client_eviction``
is None, which a read tests once; while it is set every client takes the dispatcher's
slow path (``gate_all``), where :meth:`ClientEviction.before_command` runs.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from ..querybuf import argv_memory, client_memory

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState

_MIN_LOG = 15                   # CLIENT_MEM_USAGE_BUCKET_MIN_LOG: up to 32 KB
_MAX_LOG = 33                   # CLIENT_MEM_USAGE_BUCKET_MAX_LOG: 4 GB and over
BUCKETS = _MAX_LOG - _MIN_LOG + 1
MIN_LIMIT = 128 * 1024          # a smaller limit is raised to this (getClientEvictionLimit)
_EVICTED = -2                   # ev_bucket of a client already evicted


def eviction_limit(values: Dict[str, Any]) -> int:
    """getClientEvictionLimit: maxmemory-clients in bytes (a negative setting is a
    percentage of maxmemory, nothing while maxmemory is 0), at least 128 KB; 0: none."""
    setting = values["maxmemory-clients"]
    if setting < 0:
        maxmemory = values["maxmemory"]
        if not maxmemory:
            return 0
        limit = int(maxmemory * -setting / 100)
    elif setting > 0:
        limit = setting
    else:
        return 0
    return max(limit, MIN_LIMIT)


def _bucket(mem: int) -> int:
    """The bucket of a client using ``mem`` bytes: log2, from 32 KB to 4 GB."""
    return min(max(mem.bit_length(), _MIN_LOG), _MAX_LOG) - _MIN_LOG


def _output_bytes(client: Any) -> int:
    """The client's unsent replies (``output_pending``) without summing its whole reply
    list at every update: the chunks already counted in the same list are remembered
    (a list only grows until it is replaced by a new one)."""
    out = client.out
    seen = client.ev_out
    if seen is not None and seen[0] is out and seen[1] <= len(out):
        count, total = seen[1], seen[2]
        for chunk in out[count:]:
            total += len(chunk)
    else:
        total = sum(map(len, out))
    client.ev_out = (out, len(out), total)
    return total + len(client._unsent)


class ClientEviction:
    """Every client's last counted memory, the buckets of the evictable ones and the
    sum Redis compares with the limit (see the module)."""

    __slots__ = ("state", "limit", "total", "buckets")

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.limit = eviction_limit(state.config.values)
        self.total = 0                  # normal + pub/sub clients, as last counted
        # Per bucket, the clients in the order they entered it (id -> client).
        self.buckets: List[Dict[int, Any]] = [{} for _ in range(BUCKETS)]

    def _counted(self, client: Any) -> bool:
        """Normal and pub/sub clients (getClientType) with a connection: not a replica,
        not our master's link, not the AOF's client nor an embedding's private one."""
        return client.kind == "normal" and not client.obeyed \
            and self.state.clients.get(client.id) is client \
            and not self.state.replicas.is_replica(client)

    def update(self, client: Any, argv: Tuple[int, int] = (0, 0),
               cron: bool = False) -> None:
        """updateClientMemUsageAndBucket: count ``client``'s memory now (``argv``: the
        arguments of a request it has not completed, :func:`argv_memory`). A client
        that may not be evicted (NO-EVICT, a replica...) only leaves its bucket: as in
        Redis, only the clients cron (``cron``) counts it again."""
        if client.closed or client.ev_bucket == _EVICTED:
            return
        counted = self._counted(client)
        evictable = counted and not client.no_evict
        if evictable or cron:
            mem = client_memory(client, argv, _output_bytes(client)) if counted else 0
            self.total += mem - client.ev_mem
            client.ev_mem = mem
        bucket = _bucket(client.ev_mem) if evictable else -1
        old = client.ev_bucket
        if bucket != old:
            if old >= 0:
                del self.buckets[old][client.id]
            if bucket >= 0:
                self.buckets[bucket][client.id] = client
            client.ev_bucket = bucket

    def forget(self, client: Any) -> None:
        """A client closes (or is evicted): its memory no longer counts."""
        self.total -= client.ev_mem
        client.ev_mem = 0
        if client.ev_bucket >= 0:
            self.buckets[client.ev_bucket].pop(client.id, None)
        client.ev_bucket = -1
        client.ev_out = None

    def evict(self) -> None:
        """evictClients: close the biggest evictable clients until the sum is under the
        limit."""
        limit = self.limit
        if not limit or self.total < limit:
            return
        for bucket in reversed(self.buckets):
            while bucket:
                client = bucket.pop(next(iter(bucket)))     # (out of it whatever happens)
                client.ev_bucket = -1
                self._evict(client)
                if self.total < limit:
                    return
        self.state.log("warning", "Over client maxmemory after evicting all evictable "
                                  "clients")

    def _evict(self, client: Any) -> None:
        """Close one client (at once, or once its own request returns if it is the
        one running), logged as Redis logs it."""
        from ..commands.connection import client_line
        self.state.log("notice", "Evicting client: %s" % client_line(client, time.time()))
        self.forget(client)
        client.ev_bucket = _EVICTED
        self.state.stats.evicted_clients += 1
        # As Redis's freeClient: nothing more is written or run for it.
        client.out = []
        if client._unsent:
            client._unsent = bytearray()
        client.closing = True
        if not client.in_callback:
            client.close()

    def before_command(self, client: Any) -> bool:
        """processCommand's evictClients, with the client's own figure brought up to
        date (what its previous command left); True if the client itself was evicted."""
        self.update(client)
        if self.total >= self.limit and self.limit:
            self.evict()
        return client.ev_bucket == _EVICTED

    def after_io(self, client: Any) -> None:
        """After a read (an incomplete request's arguments count) or a write: update the
        client, then evict as Redis's beforeSleep does."""
        if not client.closed:
            self.update(client, argv_memory(client) if client._pending else (0, 0))
        if self.total >= self.limit and self.limit:
            self.evict()

    def cron(self, client: Any) -> None:
        """The clients cron's look at one client (clientsCron updates every client's
        figure about once a second)."""
        self.update(client, argv_memory(client) if client._pending else (0, 0), True)

    def info(self) -> str:
        """DEBUG CLIENT-EVICTION: each bucket's bounds, memory and clients."""
        lines = []
        for index, bucket in enumerate(self.buckets):
            low = "%10d" % (1 << (index - 1 + _MIN_LOG)) if index else "         0"
            if index == BUCKETS - 1:
                bounds = "bucket %s+            : " % low
            else:
                bounds = "bucket %s - %10d: " % (low, (1 << (index + _MIN_LOG)) - 1)
            lines.append("%stot-mem: %10d, clients: %d\n"
                         % (bounds, sum(c.ev_mem for c in bucket.values()), len(bucket)))
        return "".join(lines)


def apply(state: "ServerState") -> None:
    """maxmemory-clients or maxmemory changed (or the server starts):
    applyClientMaxMemoryUsage. Turned on, every client is counted and every client
    takes the slow path; turned off, all of it goes. Nobody is evicted here: that
    waits for the next command or the end of this read, as in Redis."""
    values = state.config.values
    tracker = state.client_eviction
    if values["maxmemory-clients"] == 0:
        if tracker is not None:
            state.client_eviction = None
            for client in list(state.clients.values()):
                client.ev_mem = 0
                client.ev_bucket = -1
                client.ev_out = None
            state.refresh_gates()
        return
    if tracker is not None:
        tracker.limit = eviction_limit(values)
        return
    tracker = state.client_eviction = ClientEviction(state)
    for client in list(state.clients.values()):
        tracker.update(client, cron=True)   # (Redis's cron has counted them all)
    state.refresh_gates()


def no_evict_changed(client: Any) -> None:
    """CLIENT NO-EVICT on/off: the client leaves or joins the buckets."""
    tracker = client.state.client_eviction
    if tracker is not None:
        tracker.update(client)


def debug_info(state: "ServerState") -> str:
    """DEBUG CLIENT-EVICTION's text, or '' while maxmemory-clients is 0."""
    tracker = state.client_eviction
    return "" if tracker is None else tracker.info()
