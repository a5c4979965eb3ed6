"""The replication identity of one server: IDs, offsets and role (``state.repl``).

Redis's PSYNC2 keeps two IDs: the current history (``replid``) and, after a promotion,
the master's history it continues (``replid2``, valid up to ``second_replid_offset``), so
replicas of the old master can continue with a partial resynchronisation.
"""
from __future__ import annotations

import os
from typing import Any, Optional, Tuple


def new_replid() -> str:
    """A fresh 40-hex-digit replication ID."""
    return os.urandom(20).hex()


class ReplicationState:
    """IDs, offset and role shared by the master and replica sides.

    ``offset`` is master_repl_offset: the bytes of replication stream this server has
    produced (as a master) or applied (as a replica). ``master_host`` is None while
    the server is a master.

    The feed's lane (miniredis.replication.feed) holds a loop iteration's plain writes
    unencoded: ``lane`` is its list and ``encode_lane`` encodes it, advancing the
    offset. Reading ``offset`` encodes what waits there first, so it is always exact.
    """

    def __init__(self) -> None:
        self.replid = new_replid()
        self.replid2 = "0" * 40
        self._offset = 0
        self.lane: Optional[list] = None
        self.encode_lane: Any = None
        self.second_replid_offset = -1
        self.master_host: Optional[str] = None
        self.master_port = 0
        # The replica side (miniredis.replication.replica): the link to the master
        # while this server is a replica; ``gate`` puts every client on the
        # dispatcher's slow path (READONLY, MASTERDOWN); ``applying`` is True while
        # the master's commands run (a replica's expired keys are live to them only).
        self.link: Any = None
        self.gate = False
        self.applying = False
        self.loading = False        # the master's RDB is loading: -LOADING (gated)
        # ... asynchronously (swapdb, same history: disklessload.py): the old data is
        # served; only no_async_loading commands get -LOADING.
        self.async_loading = False
        # PSYNC after a restart (replication/restart.py): the last RDB load's repl-id,
        # repl-offset and repl-stream-db, and whether that load feeds the backlog the
        # DELs of the expired keys it skips (a master starting up).
        self.loaded_info: Optional[Tuple[str, int, int]] = None
        self.feed_expired_on_load = False
        self.restored: Optional[Tuple[str, int, int]] = None    # for the first link

    @property
    def offset(self) -> int:
        if self.lane:
            self.encode_lane()
        return self._offset

    @offset.setter
    def offset(self, value: int) -> None:
        self._offset = value

    @property
    def is_replica(self) -> bool:
        return self.master_host is not None

    @property
    def role(self) -> str:
        """"master" or "slave", as INFO, ROLE and HELLO spell it."""
        return "slave" if self.master_host is not None else "master"

    def shift_replid(self) -> None:
        """Start a new history that continues the current one (a replica promoted, or
        a replica switching masters): Redis's shiftReplicationId."""
        self.replid2 = self.replid
        self.second_replid_offset = self.offset + 1
        self.replid = new_replid()

    def clear_replid2(self) -> None:
        """Forget the previous history (Redis's clearReplicationId2)."""
        self.replid2 = "0" * 40
        self.second_replid_offset = -1
