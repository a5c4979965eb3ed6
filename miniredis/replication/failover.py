"""FAILOVER: a master hands its role to one of its replicas (Redis 6.2's coordinated
failover, replication.c's failoverCommand / updateFailoverStatus / abortFailover).

The steps, as Redis takes them:

1. FAILOVER pauses writes (a WRITE pause of its own, :meth:`Pause.pause_failover`) and
   the state becomes ``waiting-for-sync``.
2. Each time a replica acknowledges (and in the cron), :meth:`Failover.update` looks for
   the target (or, without ``TO``, any replica) whose acknowledged offset is our
   ``master_repl_offset``; found, the state becomes ``failover-in-progress`` and this
   server becomes a replica of the target (:func:`replica.set_master`).
3. Its link sends ``PSYNC <replid> <offset> FAILOVER``; the target, seeing its own
   master's replication ID, promotes itself and answers ``+CONTINUE`` (the
   replica side of it lives in commands/replication.py). The answer ends the failover
   (writes resume: those held now get READONLY); an error reply or a failed write
   aborts it: this server becomes a master again.

``TIMEOUT`` aborts a ``waiting-for-sync`` failover (writes resume, the server stays
master) unless ``FORCE``, which then fails over to the target anyway. ``FAILOVER
ABORT`` aborts at any point.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .links import ReplicaLink

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState

NO_FAILOVER = "no-failover"
WAIT_FOR_SYNC = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"


class Failover:
    """The server's coordinated failover (``state.failover``): its state, target and
    deadline."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.status = NO_FAILOVER
        self.host: Optional[str] = None       # the target (None: any caught-up replica)
        self.port = 0
        self.end_ms = 0                       # TIMEOUT's deadline (0: none)
        self.force = False
        self._scheduled = False

    @property
    def active(self) -> bool:
        return self.status != NO_FAILOVER

    def find(self, host: str, port: int) -> Optional[ReplicaLink]:
        """The replica announced as ``host``:``port`` (findReplica: its REPLCONF
        ip-address or peer address, case-insensitively, and listening port)."""
        for link in self.state.replicas.links.values():
            if link.ip.lower() == host.lower() and link.conf.listening_port == port:
                return link
        return None

    def begin(self, host: Optional[str], port: int, timeout_ms: int, force: bool) -> None:
        """FAILOVER accepted: pause writes and wait for a replica to catch up."""
        state = self.state
        if host is not None:
            state.log("notice", "FAILOVER requested to %s:%d." % (host, port))
        else:
            state.log("notice", "FAILOVER requested to any replica.")
        self.host, self.port = host, port
        self.end_ms = state.clock.ms() + timeout_ms if timeout_ms else 0
        self.force = force
        self.status = WAIT_FOR_SYNC
        # No GETACK while paused (Redis sends none: it would move our offset); the
        # replicas' once-a-second REPLCONF ACK reports their offsets.
        state.pause.pause_failover(True)
        self.schedule()

    def schedule(self) -> None:
        """Run :meth:`update` at the end of this loop iteration (not from inside the
        ACK's handler: becoming a replica changes the links being walked)."""
        if self.status != WAIT_FOR_SYNC or self._scheduled:
            return
        loop = self.state.loop
        if loop is None:
            self.update()
            return
        self._scheduled = True
        loop.run_callback(self._run_scheduled)

    def _run_scheduled(self) -> None:
        self._scheduled = False
        self.update()

    def update(self) -> None:
        """updateFailoverStatus: time out, or fail over to a caught-up replica."""
        if self.status != WAIT_FOR_SYNC:
            return
        state = self.state
        if self.end_ms and self.end_ms <= state.clock.ms():
            if self.force:
                state.log("notice", "FAILOVER to %s:%d time out exceeded, failing over."
                          % (self.host, self.port))
                self._switch()
            else:
                self.abort("Replica never caught up before timeout")
            return
        offset = state.repl.offset
        if self.host is not None:
            link = self.find(self.host, self.port)
            if link is None or link.ack_offset != offset:
                return
        else:
            for link in state.replicas.links.values():
                if link.ack_offset == offset:
                    self.host, self.port = link.ip, link.conf.listening_port
                    break
            else:
                return
        state.log("notice", "Failover target %s:%d is synced, failing over."
                  % (self.host, self.port))
        self._switch()

    def _switch(self) -> None:
        """Become a replica of the target; its link sends PSYNC ... FAILOVER."""
        from . import replica
        self.status = IN_PROGRESS
        assert self.host is not None
        replica.set_master(self.state, self.host, self.port)

    def psync_answered(self, accepted: bool) -> None:
        """The target answered our PSYNC ... FAILOVER: done (+CONTINUE/+FULLRESYNC) or
        refused (abort: back to master)."""
        if self.status != IN_PROGRESS:
            return
        if accepted:
            self.clear()
        else:
            self.abort("Failover target rejected psync request")

    def abort(self, why: str) -> None:
        """abortFailover: log, become a master again if already switched, resume writes."""
        if self.status == NO_FAILOVER:
            return
        state = self.state
        if self.host is not None:
            state.log("notice", "FAILOVER to %s:%d aborted: %s" % (self.host, self.port, why))
        else:
            state.log("notice", "FAILOVER to any replica aborted: %s" % why)
        if self.status == IN_PROGRESS:
            from . import replica
            replica.unset_master(state)
        self.clear()

    def clear(self) -> None:
        """clearFailoverState: forget the target and deadline, resume writes."""
        self.status = NO_FAILOVER
        self.host = None
        self.port = 0
        self.end_ms = 0
        self.force = False
        self.state.pause.pause_failover(False)
