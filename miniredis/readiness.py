"""Serving the sockets one poll found ready in the order the kernel reported them.

Redis takes the ready file descriptors from one ``epoll_wait`` and serves them in the
order epoll lists them: the order in which they became ready. Two clients that write
"at the same instant" (both before the server wakes) are therefore served in the
order they wrote, and Redis's own tests count on it (a PUNSUBSCRIBE on one connection
followed by a PUBLISH on another, EXEC against a push, WATCH...).

libev reads the same epoll list, but keeps the watchers it makes pending in an array
that it runs from the end: last-in-first-out, so left to itself it serves those
clients in the *opposite* order. The watchers of clients and listeners therefore do
not serve directly when another watcher is still pending in this loop iteration;
they join a :class:`ReadyQueue`, which serves the batch reversed (that is, in epoll's
order) once the last of them has been called. A lone ready socket, the common case,
is served at once without touching the queue.

The clients a batch serves do not write their replies one by one: they are written
together just before the loop polls again (:meth:`ReadyQueue.write_later`), as Redis
writes the replies of one poll in ``beforeSleep``.
"""
from __future__ import annotations

import traceback
from typing import Any, List

__all__ = ["ReadyQueue", "serve_while_blocked"]


class ReadyQueue:
    """The sources (clients, listeners) found ready by one poll, not served yet.

    A source's ``on_readable(in_turn=False)`` is its watcher's callback: it serves at
    once when ``waiting`` is empty and the loop has no other pending watcher
    (``loop.pendingcnt``); otherwise it appends itself to ``waiting`` and, if it was the
    last pending watcher, calls :meth:`run`, else :meth:`schedule` (once). :meth:`run`
    calls ``on_readable(True)`` on each: read or accept what is there (nothing, if the
    source was closed or drained meanwhile). The check is inlined in the callbacks:
    they are the server's hot path.
    """

    __slots__ = ("waiting", "scheduled", "serving", "writes", "writing", "loop")

    def __init__(self, loop: Any) -> None:
        self.waiting: List[Any] = []   # in the order libev called them (reversed)
        self.scheduled = False
        self.serving: Any = None        # the source run() is serving, if any
        self.writes: List[Any] = []     # clients whose replies wait (see write_later)
        self.writing = False            # send_writes is scheduled
        self.loop = loop

    def join(self, source: Any) -> None:
        """``source``'s watcher was called while others of this poll are pending (or
        waiting): queue it; the batch's last watcher serves the batch."""
        self.waiting.append(source)
        if not self.loop.pendingcnt:
            self.run()
        elif not self.scheduled:
            self.schedule()

    def schedule(self) -> None:
        """Serve the batch from the loop's callbacks, before it polls again.

        Normally the last watcher of the batch serves it. But a watcher stopped while
        pending (a client closed by another's command) still counts until libev
        reaches it, as do watchers of lower priority: this covers those cases.
        """
        self.scheduled = True
        self.loop.run_callback(self._run_later)

    def _run_later(self) -> None:
        self.scheduled = False
        self.run()

    def run(self) -> None:
        """Serve every waiting source, in the order the kernel reported them.

        Re-entrant: a busy script serves other clients from a nested loop iteration
        while a batch is being served; that iteration has its own batch.
        """
        outer = self.serving
        try:
            while self.waiting:
                batch = self.waiting
                self.waiting = []
                for source in reversed(batch):
                    self.serving = source
                    source.on_readable(True)
        finally:
            self.serving = outer

    def write_later(self, client: Any) -> None:
        """Send ``client``'s replies just before the loop polls again.

        A client served by a batch (``serving``) leaves its replies here, and the
        replies of all of them are written together from a loop callback, as Redis
        writes the replies of one poll in ``beforeSleep``: the kernel's send path then
        runs back to back instead of between every two requests, which cut the
        server's CPU per request by 16-28% with 50 clients (benchmarks/README.rst,
        "Replies written per batch"). A lone ready client writes at once. The
        callbacks also run in the nested iterations of a busy script, as
        ``beforeSleep`` runs in Redis's ``processEventsWhileBlocked``.
        """
        self.writes.append(client)
        if not self.writing:
            self.writing = True
            self.loop.run_callback(self.send_writes)

    def send_writes(self) -> None:
        """The loop callback :meth:`write_later` schedules: each client's replies."""
        self.writing = False
        writes, self.writes = self.writes, []
        for client in writes:
            try:
                client.send_batched()
            except Exception:  # never let a bug keep the others' replies back
                client.state.log("warning", "Closing client after internal error: %s"
                                 % traceback.format_exc())
                client.close()


def serve_while_blocked(loop: Any, ready: ReadyQueue, stats: Any) -> None:
    """Serve the other clients from inside a long command (a busy script, a load),
    as Redis's ``processEventsWhileBlocked``: up to four passes of the loop, while
    the last one did something.

    One pass is not enough: a client accepted in a pass sends its request in the
    next, and a batch of ready sockets is served from the loop's callbacks, which run
    at the start of the next pass (as do the batch's writes). Without the further
    passes a slow hook (100,000 Lua instructions of a script calling Redis in a loop
    can take a tenth of a second on a loaded machine) answered a new client only
    after the long command. A pass "did something" when it read bytes or accepted a
    connection, or left callbacks for the next.
    """
    for _ in range(4):
        before = stats.total_net_input_bytes + stats.total_connections_received
        loop.run(nowait=True, once=True)
        if (stats.total_net_input_bytes + stats.total_connections_received == before
                and not (ready.scheduled or ready.writing)):
            break
