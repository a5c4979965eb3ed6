"""CLIENT PAUSE: commands held (not refused) until the pause ends, as Redis 7.0.

A pause has a type (WRITE or ALL) and an end time; a later CLIENT PAUSE keeps the more
restrictive type and the later end (pauseClients). While a pause is on, every client
is on the dispatcher's slow path (``ServerState.gate_all``); there :meth:`Pause.holds`
decides, as processCommand does, whether a command waits: under ALL every command,
under WRITE the write commands, EXEC of a transaction holding one, and the commands
that may replicate (PUBLISH, SPUBLISH, PFCOUNT, EVAL, EVALSHA, FCALL). A held request
and everything the client pipelined after it wait in the client's held queue; when
the pause ends (its timer, or CLIENT UNPAUSE) the postponed clients run again in the
order they were paused, from loop callbacks (Redis reprocesses them in beforeSleep),
and may be held again if a pause still applies to them. Active and lazy expiry keep
every key while paused (the data set stays constant).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from .wire import requests_length

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

OFF, WRITE, ALL = 0, 1, 2
# Commands Redis flags CMD_MAY_REPLICATE: held by a WRITE pause though not writes.
_MAY_REPLICATE = frozenset(("publish", "spublish", "pfcount", "eval", "evalsha", "fcall"))
_SCRIPTS = frozenset(("eval", "evalsha", "fcall"))      # their scripts may declare flags


def may_replicate(cmd: Any) -> bool:
    """Whether a WRITE pause holds ``cmd`` (write or may-replicate)."""
    return cmd.is_write or (cmd.parent is None and cmd.name in _MAY_REPLICATE)


class Pause:
    """The server's client pause: its type, its deadline and the clients it holds."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.type = OFF                       # the effective pause (the most restrictive)
        self.end_ms = 0                       # clock.ms() at which CLIENT PAUSE ends
        self.client_type = OFF                # CLIENT PAUSE's own part
        self.failover = False                 # FAILOVER's WRITE pause (no deadline)
        self.shutdown = False                 # a shutdown waiting for replicas: the same
        self.postponed: Dict[int, Any] = {}   # client id -> client, in pause order
        self._timer: Any = None

    def pause(self, end_ms: int, kind: int) -> None:
        """CLIENT PAUSE: the more restrictive type and the later end win."""
        if self.client_type == OFF:
            self.client_type, self.end_ms = kind, end_ms
        else:
            self.client_type = max(self.client_type, kind)
            self.end_ms = max(self.end_ms, end_ms)
        self._update()
        self._arm()

    def pause_failover(self, on: bool) -> None:
        """FAILOVER holds writes (a WRITE pause of its own, as Redis's
        PAUSE_DURING_FAILOVER) until it succeeds or is aborted; CLIENT UNPAUSE does
        not end it."""
        self.failover = on
        self._update()

    def pause_shutdown(self, on: bool) -> None:
        """A shutdown waiting for its replicas holds writes until it ends or is
        aborted (Redis's PAUSE_DURING_SHUTDOWN); CLIENT UNPAUSE does not end it."""
        self.shutdown = on
        self._update()

    def unpause(self) -> None:
        """CLIENT UNPAUSE, or its deadline passed: end CLIENT PAUSE's part."""
        if self.client_type == OFF:
            return
        self.client_type = OFF
        self.end_ms = 0
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._update()

    def _update(self) -> None:
        """Recompute the effective type; when it gets less restrictive, postponed
        clients run again (held anew if a pause still applies to them)."""
        old = self.type
        self.type = max(self.client_type, WRITE if self.failover or self.shutdown else OFF)
        if self.type != old:
            self.state.refresh_gates()
        if self.type >= old or not self.postponed:
            return
        postponed, self.postponed = self.postponed, {}
        loop = self.state.loop
        for client in postponed.values():
            if client.closed:
                continue
            if loop is not None:
                loop.run_callback(client._run_held)
            else:
                client._run_held()

    def check(self) -> bool:
        """Whether a pause is on now (ending it first if its deadline has passed)."""
        if self.client_type != OFF and self.end_ms < self.state.clock.ms():
            self.unpause()
        return self.type != OFF

    def holds(self, client: Any, cmd: Any, args: List[bytes]) -> bool:
        """Whether ``client``'s ``cmd`` must wait for the pause to end."""
        if not self.check():
            return False
        if self.type == ALL:
            return True
        if self._may_replicate(cmd, args):
            return True
        if cmd.name == "exec" and cmd.parent is None and client.multi:
            for queued in client.multi:
                target = client.state.names.lookup(queued[0])
                if target is not None and target.subcommands and len(queued) > 1:
                    target = target.subcommands.get(queued[1].lower(), target)
                if target is not None and self._may_replicate(target, queued):
                    return True
        return False

    def _may_replicate(self, cmd: Any, args: List[bytes]) -> bool:
        """may_replicate, with the flags a script or function declared: one marked
        no-writes is neither a write nor may-replicate (getCommandFlags in Redis)."""
        if cmd.parent is None and cmd.name in _SCRIPTS:
            from .commands.scripting import declared_writes
            writes = declared_writes(self.state, cmd, args)
            if writes is not None:
                return writes
        return may_replicate(cmd)

    def postpone(self, client: Any, requests: List[List[bytes]]) -> None:
        """Hold ``requests`` (the paused one first) until the pause ends."""
        client._held[:0] = requests
        client._held_bytes += requests_length(requests[1:])  # (the first is running)
        self.postponed[client.id] = client

    def forget(self, client: Any) -> None:
        self.postponed.pop(client.id, None)

    def _arm(self) -> None:
        """One timer for the deadline (Redis notices it in its cron, within 1/hz s)."""
        loop = self.state.loop
        if loop is None:
            return
        if self._timer is not None:
            self._timer.stop()
        delay = max(self.end_ms - self.state.clock.ms(), 0) / 1000.0 + 0.001
        loop.update_now()
        self._timer = loop.timer(delay)
        self._timer.start(self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.check()
        if self.client_type != OFF:  # not due yet (clock frozen or moved back): look again
            self._arm()
