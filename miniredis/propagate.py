"""One propagation stream: what a write command *did*, for the AOF and the replicas.

Redis 7.0 hands the same argv to the AOF and to the replication stream (propagateNow
calls feedAppendOnlyFile and replicationFeedSlaves). Here :class:`Propagator` collects
each effect once (:data:`miniredis.persistence.effects.EFFECTS` turns a command into its
deterministic effect: relative expiries made absolute, SPOP as SREM, a served BLPOP as
LPOP, an expired or evicted key as DEL...) and fans it out to its *targets*: the AOF
(while ``appendonly`` is on) and the replication feed (while a backlog exists).

The dispatcher's only cost is one attribute test: ``state.propagator`` is this object
while at least one target wants effects, else None (:func:`refresh`). The object itself
always exists (``state.propagation``) so that EXEC and scripts can open and close their
units whatever happens meanwhile (CONFIG SET appendonly inside a transaction).

Units: the effects of one atomic step (EXEC, a script, FCALL, or one command with
several effects such as XREADGROUP) are delivered together; a target wraps them in
MULTI/EXEC when there is more than one, as propagatePendingCommands does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from .blocking import BLOCKED
from .persistence.effects import AS_SENT_WITH, EFFECTS
from .persistence.snapshot import encode_effect, encode_pieces, encode_plain
from .replication.feed import SETTLE_LIMIT as _SETTLE_LIMIT

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Client
    from .keyspace import Database
    from .state import ServerState

# One effect: (database id, its RESP encoding: bytes, or a list of pieces when large);
# a third item, when present, restricts its targets (redis.set_repl in a script).
Op = Tuple[Any, ...]
# Targets, as Redis's PROPAGATE_AOF and PROPAGATE_REPL (redis.REPL_AOF, REPL_REPLICA).
TO_AOF, TO_REPLICAS = 1, 2
ALL_TARGETS = TO_AOF | TO_REPLICAS

class Propagator:
    """Collects effects and delivers them, unit by unit, to the AOF and the replicas."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.depth = 0                     # open units (EXEC, scripts)
        self.pending: List[Op] = []        # effects of the open unit
        # The client whose write is being propagated: its ``woff`` (the stream offset
        # after its last write, which WAIT waits for) is set once the unit is fed.
        self.writer: Any = None
        # The replication feed's lane while it is open (ReplicationFeed.write opens
        # it, the settle closes it): plain writes wait there unencoded.
        self.lane: Optional[list] = None
        # Effects a handler worked out as it ran (Redis's alsoPropagate), for its
        # effect function to return: XREADGROUP's, which only the handler knows.
        self.also: List[List[Any]] = []
        # Where effects go now: both, unless a running script said otherwise
        # (redis.set_repl; only ever changed inside a unit).
        self.targets = ALL_TARGETS

    def reset_targets(self) -> None:
        """A script starts or ends: its effects go to the AOF and the replicas."""
        self.targets = ALL_TARGETS

    # -- collecting -----------------------------------------------------------------
    def propagate(self, db_id: int, argv: List[Any]) -> None:
        """Propagate ``argv`` as an effect in database ``db_id``."""
        if self.depth:
            if self.targets != ALL_TARGETS:
                self._restricted(db_id, encode_effect(argv))
            else:
                self.pending.append((db_id, encode_effect(argv)))
        else:
            self._deliver([(db_id, encode_effect(argv))])

    def feed(self, client: "Client", cmd: Any, args: List[bytes], reply: Any) -> None:
        """A write command ran (successfully): propagate its effect."""
        function = cmd.effect
        if function is not None:
            if function is False:
                function = cmd.effect = EFFECTS.get(cmd.fullname)
                cmd.plain_arity = AS_SENT_WITH.get(cmd.fullname, -1)
            if function is not None and len(args) != cmd.plain_arity:
                if reply is BLOCKED:
                    return                       # parked: propagated when served
                effects = function(client, args, reply)
                if len(effects) != 1 or effects[0] is not args:
                    self.writer = client
                    self._propagate_all(client.db.id, effects)
                    return
        # The command as it came (most writes). While the replication feed's lane is
        # open (replicas only, a settle scheduled: see replication/feed.py) it waits
        # there unencoded; this is the shortest path.
        lane = self.lane
        if lane is not None and not self.depth:
            lane.append((client, client.db.id, args))
            return
        data = encode_plain(args)
        if self.depth:
            self.writer = client
            if self.targets != ALL_TARGETS:
                self._restricted(client.db.id, data)
            else:
                self.pending.append((client.db.id, data))
            return
        state = self.state
        if state.aof is not None:
            state.aof.append_unit([(client.db.id, data)])
        feed = state.repl_feed
        if feed is not None:
            repl = state.repl
            if client.db.id == feed.selected_db and data.__class__ is bytes \
                    and feed.settle_scheduled and repl.master_host is None:
                # ReplicationFeed.write inlined: the bytes join this iteration's batch.
                feed.pending.append(data)
                offset = repl.offset = repl.offset + len(data)
                if offset - feed.settled > _SETTLE_LIMIT:
                    feed.settle()
                client.woff = offset
            else:
                feed.append_one(client.db.id, data)
                client.woff = repl.offset

    def _restricted(self, db_id: int, data: Any) -> None:
        # (call()'s propagate_flags: with no target left, nothing is propagated)
        if self.targets:
            self.pending.append((db_id, data, self.targets))

    def _propagate_all(self, db_id: int, effects: List[List[Any]]) -> None:
        if len(effects) == 1 or self.depth:
            for argv in effects:
                self.propagate(db_id, argv)
        elif effects:                        # one command, several effects: one unit
            self._deliver([(db_id, encode_pieces(argv)) for argv in effects])

    def served(self, waiter: Any, reply: Any) -> None:
        """A blocked client was served: propagate its effect (LPOP for BLPOP...)."""
        args = getattr(waiter, "args", None)
        if args is None or isinstance(reply, Exception):
            return
        cmd = self.state.names.lookup(args[0])
        function = EFFECTS.get(cmd.fullname) if cmd is not None else None
        if function is None:
            return
        self._propagate_all(waiter.db_id, function(waiter.client, args, reply))

    def expired(self, db: "Database", key: bytes) -> None:
        """A key expired (lazily or actively): Redis propagates its deletion."""
        self.propagate(db.id, [b"DEL", key])

    def take_also(self) -> List[List[Any]]:
        """The effects a handler recorded in :attr:`also` (emptied)."""
        also, self.also = self.also, []
        return also

    # -- units ----------------------------------------------------------------------
    def begin_unit(self) -> None:
        self.depth += 1

    def end_unit(self) -> None:
        if not self.depth:
            return
        self.depth -= 1
        if not self.depth and self.pending:
            pending, self.pending = self.pending, []
            self._deliver(pending)

    def _deliver(self, ops: List[Op]) -> None:
        state = self.state
        if any(len(op) == 3 for op in ops):
            self._deliver_restricted(ops)
            return
        if state.aof is not None:
            state.aof.append_unit(ops)
        feed = state.repl_feed
        if feed is not None:
            feed.append_unit(ops)
            writer = self.writer
            if writer is not None:
                writer.woff = state.repl.offset
                self.writer = None


    def _deliver_restricted(self, ops: List[Op]) -> None:
        """A unit some of whose effects a script kept from a target: each target gets
        its own, wrapped as the whole unit is (propagatePendingCommands: MULTI and EXEC
        go to both targets, in the first and the last effect's databases, even around
        none of a target's own)."""
        state = self.state
        wrap = (ops[0][0], ops[-1][0]) if len(ops) > 1 else None
        for target, sink in ((TO_AOF, state.aof), (TO_REPLICAS, state.repl_feed)):
            if sink is None:
                continue
            mine = [(op[0], op[1]) for op in ops if len(op) == 2 or op[2] & target]
            if mine or wrap is not None:
                sink.append_unit(mine, wrap)
        writer = self.writer
        if writer is not None and state.repl_feed is not None:
            writer.woff = state.repl.offset
            self.writer = None


def refresh(state: "ServerState") -> None:
    """Publish ``state.propagator`` while the AOF or the replication feed wants effects
    (and close the feed's lane: it is for a feed without an AOF)."""
    if state.repl_feed is not None:
        state.repl_feed.close_lane()
    wanted = state.aof is not None or state.repl_feed is not None
    state.propagator = state.propagation if wanted else None
