"""The replication stream a master produces (Redis's replicationFeedSlaves).

``state.repl_feed`` is a :class:`ReplicationFeed` while a backlog exists (from the first
replica's SYNC until ``repl-backlog-ttl`` seconds without any); the propagator hands it
every unit of effects (:meth:`ReplicationFeed.append_unit`). Each byte fed goes to the
backlog, advances ``master_repl_offset`` (``state.repl.offset``) and reaches every
replica: appended to its output at once when it is online, kept aside while its RDB is
being produced or sent (it follows the RDB), not at all before its snapshot started.

Batching: :meth:`ReplicationFeed.write` only advances the offset (so ``client.woff`` and
WAIT stay exact) and keeps the bytes in ``pending``; at the end of the event-loop
iteration (:meth:`ReplicationFeed.settle`, a loop callback) they are joined once,
appended to the backlog once and to each replica's output once, and each replica's
socket gets one write. Under a steady load, iterations come every few microseconds with
a request or two each, and a write per iteration to every replica would cost the master
as much as the requests themselves: so when the last settle was less than
``COALESCE`` seconds ago, the next one waits for a timer instead, at most ``COALESCE``
later (the replicas lag by at most a millisecond more; idle writes go at once).

The lane: while a settle is scheduled and no AOF wants the same effects, a command
propagated as it came (most writes) is only appended to ``lane`` as (client, db, argv),
by the propagator, and encoded with the others when the lane is encoded: at the settle,
before any other effect or bytes (so the order holds), or when anything reads
``state.repl.offset``, which stays exact that way. Encoding a loop iteration's writes
together costs the master much less than one at a time between its socket reads.

Everything that reads the backlog (``feed.backlog`` is a property) or changes a
replica's place in the stream (a sync starting, PSYNC) settles first, so the bytes
each replica and the backlog see are exactly the unbatched ones.

A SELECT is emitted whenever the database of an effect differs from the stream's
(``selected_db``, Redis's slaveseldb; None after a full synchronisation starts, so every
new replica's stream begins with one). A unit of several effects is wrapped in
MULTI/EXEC, the SELECT for its first effect coming before the MULTI, as Redis does.

:func:`feed_raw` is the entry point for bytes already encoded (a replica proxying its
master's stream to its own replicas).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ..persistence.snapshot import encode, encode_plain
from .backlog import MIN_SIZE, Backlog

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState

_MULTI = encode([b"MULTI"])
_EXEC = encode([b"EXEC"])
SETTLE_LIMIT = 1 << 20      # pending bytes past this are settled at once
COALESCE = 0.001            # seconds: settles closer than this wait for a timer
_SELECTS = [encode([b"SELECT", b"%d" % i]) for i in range(16)]


def _select(db_id: int) -> bytes:
    return _SELECTS[db_id] if db_id < 16 else encode([b"SELECT", b"%d" % db_id])


class ReplicationFeed:
    """The backlog and the fan-out of the stream to the replicas (see module doc)."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self._backlog = Backlog(state.config["repl-backlog-size"], state.repl.offset)
        self.selected_db: Optional[int] = None     # slaveseldb
        self.pending: List[bytes] = []             # written, not yet settled
        self.settled = state.repl.offset           # the offset after the settled bytes
        self.settle_scheduled = False
        self.last_settle = 0.0                     # loop time of the last settle
        self._timer: Any = None                    # the COALESCE timer (a loop watcher)
        self.lane: List[Tuple[Any, int, List[bytes]]] = []   # see the module doc
        state.repl.lane = self.lane
        state.repl.encode_lane = self.encode_lane
        state.propagation.lane = None          # opened by write(), closed by settle()

    @property
    def backlog(self) -> Backlog:
        """The backlog, holding every byte written so far (settles first)."""
        if self.pending or self.lane:
            self.settle()
        return self._backlog

    # -- effects ----------------------------------------------------------------------
    def append_unit(self, ops: List[Tuple[int, Any]],
                    wrap: Optional[Tuple[int, int]] = None) -> None:
        """One unit of effects from the propagator (see the module doc); ``wrap``: the
        databases MULTI and EXEC go in, when the unit is wrapped whatever ``ops``
        holds (a script's unit some of whose effects went to the AOF only)."""
        if self.lane:
            self.encode_lane()
        if self.state.repl.master_host is not None:
            return      # a replica proxies its master's stream instead (feed_raw)
        if len(ops) == 1 and wrap is None:
            db_id, data = ops[0]
            if db_id == self.selected_db and data.__class__ is bytes:
                self.write(data)                 # the common case: one effect, same db
                return
        if wrap is None and len(ops) > 1:
            wrap = (ops[0][0], ops[-1][0])
        body = [(wrap[0], _MULTI)] + ops + [(wrap[1], _EXEC)] if wrap is not None else ops
        parts: List[Any] = []
        for db_id, data in body:
            if db_id != self.selected_db:
                parts.append(_select(db_id))
                self.selected_db = db_id
            if data.__class__ is list:
                parts += data
            else:
                parts.append(data)
        self.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def append_one(self, db_id: int, data: Any) -> None:
        """A unit of one effect (the propagator's shortest path)."""
        if self.lane:
            self.encode_lane()
        if db_id == self.selected_db and data.__class__ is bytes \
                and self.state.repl.master_host is None:
            self.write(data)
        else:
            self.append_unit([(db_id, data)])

    def command(self, argv: List[bytes]) -> None:
        """A command of the master's own (PING, REPLCONF GETACK): no SELECT needed."""
        self.write(encode(argv))

    # -- bytes --------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Append encoded stream bytes: the offset now, backlog and replicas at the end
        of this loop iteration (:meth:`settle`)."""
        if self.lane:
            self.encode_lane()
        self.pending.append(data)
        repl = self.state.repl
        repl.offset += len(data)
        if not self.settle_scheduled:
            state = self.state
            loop = state.loop
            if loop is None:
                self.settle()
                return
            self.settle_scheduled = True
            if state.aof is None and repl.master_host is None:
                state.propagation.lane = self.lane      # open until the settle
            if loop.now() - self.last_settle < COALESCE:
                timer = self._timer
                if timer is None:
                    timer = self._timer = loop.timer(COALESCE)
                timer.start(self.settle)
            else:
                loop.run_callback(self.settle)
        if repl.offset - self.settled > SETTLE_LIMIT:
            self.settle()            # a long batch (a big script): bound what waits

    def settle(self) -> None:
        """Put the pending bytes in the backlog and every replica's output (joined
        once), and send them (one write per replica)."""
        self.close_lane()
        self.settle_scheduled = False
        timer = self._timer
        if timer is not None and timer.active:
            timer.stop()                 # settled early (a read of the backlog...)
        pending = self.pending
        if not pending:
            return
        self.pending = []
        loop = self.state.loop
        if loop is not None:
            self.last_settle = loop.now()
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        state = self.state
        self.settled = state.repl.offset
        backlog = self._backlog
        size = state.config.values["repl-backlog-size"]
        if size != backlog.size and (size > MIN_SIZE or backlog.size != MIN_SIZE):
            backlog.resize(size)
        replicas = state.replicas
        links = replicas.links
        backlog.append(data, max(link.stream_pending() for link in links.values())
                       + len(data) if links else 0)
        if links:
            replicas.deliver(data)
            replicas.flush_now()

    # -- the lane -----------------------------------------------------------------------
    def encode_lane(self) -> None:
        """Encode the lane's writes into ``pending`` in order (with the SELECTs they
        need), advancing the offset and each writer's ``woff`` (what WAIT waits for)."""
        lane = self.lane
        if not lane:
            return
        items = lane[:]
        lane.clear()
        repl = self.state.repl
        offset = repl._offset
        pending = self.pending
        append = pending.append
        selected = self.selected_db
        for client, db_id, args in items:
            if db_id != selected:
                data = _select(db_id)
                append(data)
                offset += len(data)
                selected = db_id
            data = encode_plain(args)
            if data.__class__ is list:       # a large argument, kept in pieces
                data = b"".join(data)
            append(data)
            offset += len(data)
            client.woff = offset
        self.selected_db = selected
        repl._offset = offset

    def close_lane(self) -> None:
        """No more writes in the lane until the next settle is scheduled (a settle,
        an AOF turned on or off, the server becoming a replica): encode what it holds."""
        self.state.propagation.lane = None
        if self.lane:
            self.encode_lane()


def feed_raw(state: "ServerState", data: bytes) -> None:
    """Append already-encoded replication stream bytes (a replica proxying its master's
    stream to chained replicas): to the backlog (advancing ``state.repl.offset``) and
    every online replica. Does nothing while no backlog exists (as Redis's
    feedReplicationBuffer): create it first with ``state.replicas.ensure_backlog()``."""
    feed = state.repl_feed
    if feed is not None and data:
        feed.close_lane()
        feed.selected_db = None     # the bytes may SELECT: our next effect re-selects
        feed.write(data)
