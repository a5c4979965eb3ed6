"""A client the server obeys without question (Redis's mustObeyClient): the master's
stream on a replica, and the client that replays the AOF.

Redis runs their commands without processCommand's checks: no ACL, no read-only
replica refusal, no OOM, MISCONF or NOREPLICAS refusal, no CLIENT PAUSE, no -LOADING,
and they never block (CLIENT_DENY_BLOCKING). Only MULTI applies: its commands are
queued until EXEC. A refusal there would lose acknowledged data (an AOF replayed with
min-replicas-to-write set, or larger than maxmemory) or make a replica diverge.
"""
from __future__ import annotations

from typing import Any, List

from .commands.transactions import queue_command
from .connection import Client


class ObeyedClient(Client):
    """A Client whose slow path is MULTI's queue alone (see the module's text)."""

    obeyed = True           # errors are divergences (crash.py); FUNCTION LOAD untimed

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_authenticated(True, self.state.acl.superuser)
        self.no_blocking = True     # a blocking command never parks the stream

    def _update_gate(self) -> None:
        # Only MULTI needs the slow path: its commands are queued until EXEC.
        self.gated = self.multi is not None

    def _gate(self, cmd: Any, args: List[bytes]) -> bool:
        if self.multi is not None:
            return queue_command(self, cmd, args)
        return False
