"""The master as a client of its replica (Redis's ``server.master``, flag M).

Commands from the replication stream run through the normal dispatcher with this
client, which Redis trusts without question (mustObeyClient): no ACL, no read-only
refusal, no OOM or MISCONF check, no CLIENT PAUSE, never blocking, and no replies
(the replica only ever writes REPLCONF ACK to its master, from the link).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from ..obeyedclient import ObeyedClient

if TYPE_CHECKING:  # pragma: no cover
    from .replica import MasterLink


class MasterClient(ObeyedClient):
    """The client the master's commands run as; closing it (CLIENT KILL TYPE master)
    drops the link, which then reconnects and asks for a partial resync."""

    kind = "master"

    def __init__(self, link: "MasterLink", sock: Any, addr: str, laddr: str) -> None:
        super().__init__(link.state, sock, addr, laddr)
        self.link: Optional["MasterLink"] = link

    def _update_gate(self) -> None:
        # CLIENT PAUSE holds the master's stream too (processCommand pauses every
        # client but replicas): the slow path while a pause (gate_all) is on.
        self.gated = self.multi is not None or self.state.gate_all

    def _gate(self, cmd: Any, args: List[bytes]) -> bool:
        pause = self.state.pause
        if pause.type and not self.in_exec and pause.holds(self, cmd, args):
            pause.postpone(self, [args])    # the link keeps the rest (_waiting)
            return True
        return super()._gate(cmd, args)

    def _run_held(self) -> None:
        # The pause ended: the link applies what waited, counting and proxying it.
        self._held = []
        link = self.link
        if link is not None and not self.closed:
            link.resume_paused()

    def flush(self) -> None:
        self.out = []               # the master gets no replies

    def push(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        """CLIENT KILL (or the link ending): close the socket, so the link's reader
        notices and reconnects."""
        if self.closed:
            return
        super().close()
        link = self.link
        if link is not None and link.client is self:
            link._close_socket()
