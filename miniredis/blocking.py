"""Clients parked in blocking commands, served as Redis serves them (blocked.c).

A blocking command that finds nothing to pop calls :func:`block`, which queues the
client on every key it waits for (one FIFO queue per (db, key)) and returns
``BLOCKED``: the dispatcher then sends no reply and holds the client's later pipelined
requests. A key is signalled ready, with the type of its value, where Redis
signals it (signalKeyAsReady): the database adds it, overwrites or deletes a stream
there, XADD, XGROUP DESTROY, SWAPDB and FLUSH's scans; that only records the key
when somebody waits on it and some client waits on a value of that type. After every
top-level command (EXEC and scripts count as one) the dispatcher calls
:meth:`Blocking.serve_ready`, which visits the ready keys in the order they became
ready and offers each key to its waiters, oldest first: those waiting for the value's
type, and XREADGROUP's where a stream went. A waiter's ``serve`` callback pops what it
needs from that key (the command's own semantics) or declines. Serving can make more
keys ready (BLMOVE pushes onward), and those are served in the same pass, as in Redis.

Idle waiters cost nothing: timeouts wait in one heap ordered by deadline, watched by a
single libev timer set for the earliest one (Redis keeps them in a radix tree the same
way); nothing polls. When it fires, every waiter whose time has come is answered.
Deadlines are read from the server's injectable clock, so a frozen clock holds them
and ``clock.advance()`` fires them.
"""
from __future__ import annotations

import heapq
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Tuple

from . import errors
from .args import LLONG_MAX, parse_timeout
from .errors import CommandError
from .datatypes.names import type_name
from .histogram import record as record_latency

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Client
    from .keyspace import Database
    from .state import ServerState


class _Blocked:
    """The reply of a handler that parked its client (nothing is sent yet)."""

    def __repr__(self) -> str:
        return "BLOCKED"


BLOCKED = _Blocked()

# serve(client, db, key) -> a reply, or NOT_SERVED to stay blocked. (Also the "not
# given" default of block's unblockable_reply.)
NOT_SERVED = object()
ServeFunction = Callable[["Client", "Database", bytes], Any]


class Waiter:
    """One blocked client: what it waits for and what to answer on timeout."""

    __slots__ = ("client", "db_id", "keys", "serve", "timeout_reply", "deadline",
                 "command", "args", "duration", "kind")

    def __init__(self, client: "Client", keys: List[bytes], serve: ServeFunction,
                 timeout_reply: Any, deadline: Optional[float], command: Any,
                 kind: Optional[str] = None) -> None:
        self.client = client
        self.kind = kind              # the type of value it waits for (None: no key)
        self.db_id = client.db.id
        self.keys = keys
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.deadline = deadline      # clock.monotonic() seconds, None: wait forever
        self.command = command        # the Command, for statistics
        self.args: Optional[List[bytes]] = None  # the request (set by the dispatcher)
        self.duration = 0.0           # seconds its first run took (set by the dispatcher)


class Blocking:
    """Per-server registry of waiters and ready keys."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.queues: Dict[Tuple[int, bytes], Deque[Waiter]] = {}
        # Keys that received data while someone waits on them, in order (a dict is an
        # ordered set here). Mutated in place: the dispatcher holds a reference.
        self.ready: Dict[Tuple[int, bytes], None] = {}
        self.count = 0                # blocked clients (INFO clients: blocked_clients)
        # Blocked clients by the type of value they wait for (blocked_clients_by_type):
        # a key whose new value no client waits for is not signalled at all.
        self.kinds: Dict[Optional[str], int] = {"list": 0, "zset": 0, "stream": 0, None: 0}
        self.suspended = 0            # >0 inside EXEC or a script: serve afterwards
        self._loop: Any = None
        # (deadline, sequence, waiter) for waiters with a timeout; entries of waiters
        # released otherwise stay until they surface (or a rebuild drops them).
        self._deadlines: List[Tuple[float, int, Waiter]] = []
        self._sequence = 0
        self._timer: Any = None           # the one libev timer, for the earliest deadline
        self._timer_due: Optional[float] = None
        state.on_client_close.append(self._client_closed)

    # -- parking ------------------------------------------------------------------
    def block(self, client: "Client", keys: List[bytes], timeout: float,
              serve: ServeFunction, timeout_reply: Any,
              unblockable_reply: Any = NOT_SERVED, kind: Optional[str] = None) -> Any:
        """Park ``client`` on ``keys`` for ``timeout`` seconds (0: forever), waiting
        for a value of type ``kind`` ("list", "zset", "stream"; None: no key).

        Returns ``BLOCKED``; where Redis would not block (inside MULTI/EXEC or a
        script) returns ``unblockable_reply`` (default: ``timeout_reply``) at once.
        """
        if client.no_blocking:
            return timeout_reply if unblockable_reply is NOT_SERVED else unblockable_reply
        deadline = None
        millis = int(timeout * 1000)
        if millis > 0:
            deadline = self.state.clock.monotonic() + millis / 1000.0
        waiter = Waiter(client, list(dict.fromkeys(keys)), serve, timeout_reply, deadline,
                        None, kind)
        db_id = waiter.db_id
        for key in waiter.keys:
            queue = self.queues.get((db_id, key))
            if queue is None:
                queue = self.queues[(db_id, key)] = deque()
            queue.append(waiter)
        client.blocked = waiter
        self.count += 1
        self.kinds[kind] += 1
        if deadline is not None:
            self._add_deadline(waiter)
        return BLOCKED

    def _add_deadline(self, waiter: Waiter) -> None:
        heap = self._deadlines
        self._sequence += 1
        heapq.heappush(heap, (waiter.deadline, self._sequence, waiter))
        if len(heap) > 2 * self.count + 1024:
            # Mostly released waiters: keep only the live ones.
            heap[:] = [entry for entry in heap if entry[2].client.blocked is entry[2]]
            heapq.heapify(heap)
        if self._timer_due is None or waiter.deadline < self._timer_due:
            self._schedule()

    def _schedule(self) -> None:
        """Set the timer for the earliest live deadline (or stop it: none left)."""
        heap = self._deadlines
        while heap and heap[0][2].client.blocked is not heap[0][2]:
            heapq.heappop(heap)
        if self._timer is not None:
            self._timer.stop()
        self._timer_due = None
        loop = self.state.loop
        if not heap or loop is None:
            return
        clock = self.state.clock
        due = heap[0][0]
        # A frozen clock only moves by clock.advance(), which calls expire_due; the
        # timer just looks again now and then. libev times from the loop's cached
        # "now", which lags after a long batch: refresh it first.
        delay = 1.0 if clock.frozen else max(due - clock.monotonic(), 0.0)
        loop.update_now()
        if self._timer is not None:
            self._timer.close()
        self._timer = loop.timer(delay)
        self._timer_due = due
        self._timer.start(self._on_timer)

    def _on_timer(self) -> None:
        self._timer_due = None
        self.expire_due()

    def expire_due(self) -> None:
        """Time out every waiter whose deadline has passed (the timer, ``clock.advance``)."""
        now = self.state.clock.monotonic()
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            waiter = heapq.heappop(heap)[2]
            if waiter.client.blocked is waiter:
                self.unblock(waiter.client, waiter.timeout_reply)
        self._schedule()

    # -- waking -------------------------------------------------------------------
    def signal_ready(self, db: "Database", key: bytes, kind: str) -> None:
        """``key`` in ``db`` now holds (or held) a value of type ``kind``."""
        if self.kinds.get(kind) and (db.id, key) in self.queues:
            self.ready[(db.id, key)] = None

    def serve_ready(self) -> None:
        """Serve waiters on every ready key, oldest first, until nothing is ready
        (later, inside EXEC or a script: their keys stay ready until it ends)."""
        if self.suspended:
            return
        ready = self.ready
        dbs = self.state.dbs
        tracking = self.state.tracking
        while ready:
            db_key = next(iter(ready))
            del ready[db_key]
            db = dbs[db_key[0]]
            key = db_key[1]
            # One lookup per ready key, as Redis's handleClientsBlockedOnKeys (an
            # access, and an expired key reclaimed), even when its waiters have been
            # served from another key since; their serve functions peek at it,
            # except where their command itself looks it up again. Only the waiters
            # for the value's type are offered it; stream waiters are also told of a
            # stream gone (XREADGROUP answers an error).
            value = db.get(key)
            queue = self.queues.get(db_key)
            if not queue:
                continue
            kind = None if value is None else type_name(value)
            for waiter in list(queue):
                if waiter.client.blocked is not waiter or \
                        waiter.kind != kind and waiter.kind != "stream":
                    continue
                if tracking.clients:
                    # The served client runs its command now: its own invalidations
                    # follow its reply, NOLOOP counts its writes as its own.
                    saved = tracking.enter_unblocked(waiter, key)
                    try:
                        self._serve(waiter, db, key)
                    finally:
                        tracking.leave_unblocked(waiter.client, saved)
                else:
                    self._serve(waiter, db, key)

    def _serve(self, waiter: Waiter, db: "Database", key: bytes) -> None:
        """Try to serve one waiter on a ready key; released with its reply if served."""
        started = perf_counter()
        try:
            reply = waiter.serve(waiter.client, db, key)
        except CommandError as exc:
            reply = exc
        if reply.__class__ is CommandError and waiter.command is not None:
            waiter.command.failed_calls += 1   # as updateStatsOnUnblock
        if reply is NOT_SERVED:
            # Even with the key gone, later waiters get their turn: XREADGROUP
            # answers a deleted stream with an error (Redis 7.0).
            return
        # updateStatsOnUnblock: the call and its serving make one sample.
        self._record_latency(waiter, perf_counter() - started)
        if self.state.propagator is not None:
            self.state.propagator.served(waiter, reply)   # BLPOP propagated as LPOP...
        self._slowlog_served(waiter, perf_counter() - started)
        self.unblock(waiter.client, reply)

    def _slowlog_served(self, waiter: Waiter, serving: float) -> None:
        """Redis's updateStatsOnUnblock: a served blocked command enters the SLOWLOG
        now, as it was sent (BLPOP, not the LPOP it became), timed as its first run
        plus the serving. Timeouts and CLIENT UNBLOCK are not logged (Redis 7.0)."""
        usec = self.state.config.values["slowlog-log-slower-than"]
        total = int((waiter.duration + serving) * 1_000_000)
        if waiter.args is not None and 0 <= usec <= total:
            self.state.add_slowlog(waiter.args, total, waiter.client)

    def unblock(self, client: "Client", reply: Any) -> None:
        """Release ``client`` with ``reply``; its held requests run right after."""
        waiter = client.blocked
        if waiter is None:
            return
        self._forget(waiter)
        client.resume(reply)

    def _forget(self, waiter: Waiter) -> None:
        client = waiter.client
        client.blocked = None
        self.count -= 1
        self.kinds[waiter.kind] -= 1
        for key in waiter.keys:
            db_key = (waiter.db_id, key)
            queue = self.queues.get(db_key)
            if queue is None:
                continue
            try:
                queue.remove(waiter)
            except ValueError:
                pass
            if not queue:
                del self.queues[db_key]

    def _client_closed(self, client: "Client") -> None:
        if client.blocked is not None:
            self._forget(client.blocked)

    def unblock_by_request(self, client: "Client", as_error: bool) -> bool:
        """CLIENT UNBLOCK: end the wait with the timeout reply or an error."""
        waiter = client.blocked
        if waiter is None:
            return False
        reply = CommandError(errors.UNBLOCKED) if as_error else waiter.timeout_reply
        # As updateStatsOnUnblock(target, 0, 0, 1) in Redis, either way: a latency
        # sample and a failed call (a timeout of its own records neither).
        self._record_latency(waiter, 0.0)
        self.unblock(client, reply)
        # Redis 7.0 counts this as a failed call of the command, whichever the reply,
        # and logs it in the SLOWLOG after resetting the client: an entry with no
        # arguments, timed as the command's first run.
        if waiter.command is not None:
            waiter.command.failed_calls += 1
        usec = self.state.config.values["slowlog-log-slower-than"]
        if 0 <= usec <= int(waiter.duration * 1_000_000):
            self.state.add_slowlog([], int(waiter.duration * 1_000_000), client)
        return True

    def _record_latency(self, waiter: Waiter, serving: float) -> None:
        """The latency histogram sample of a blocking call that ends now (served, or
        unblocked with an error); the dispatcher records none when it blocks."""
        if waiter.command is not None and self.state.config.values["latency-tracking"]:
            record_latency(waiter.command, int((waiter.duration + serving) * 1_000_000))


def signal_ready(db: "Database", key: bytes, kind: str) -> None:
    """``key`` in ``db`` holds (or held) a ``kind`` value: serve its waiters after
    this command."""
    blocking = db.state.blocking
    if blocking.queues:
        blocking.signal_ready(db, key, kind)


def block(client: "Client", keys: List[bytes], timeout: float, serve: ServeFunction,
          timeout_reply: Any, unblockable_reply: Any = NOT_SERVED,
          kind: Optional[str] = None) -> Any:
    """Park ``client``; see :meth:`Blocking.block`."""
    return client.state.blocking.block(client, keys, timeout, serve, timeout_reply,
                                       unblockable_reply, kind)


def parse_block_timeout(value: bytes, now_ms: int = 0) -> float:
    """A blocking command's timeout argument in seconds (0: forever)."""
    seconds = parse_timeout(value)
    if int(seconds * 1000) > LLONG_MAX - now_ms:
        raise CommandError(errors.TIMEOUT_OUT_OF_RANGE)
    return seconds
