"""A replica as the master sees it: what it said with REPLCONF (:class:`ReplConf`) and
its link (:class:`ReplicaLink`: state, acknowledged offset, the stream kept for it
while its RDB is produced and sent). States are Redis's replstate values."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client

WAIT_BGSAVE_START = "wait_bgsave_start"
WAIT_BGSAVE_END = "wait_bgsave_end"
SEND_BULK = "send_bulk"
ONLINE = "online"
RDB_TRANSMITTED = "rdb_transmitted"


class ReplConf:
    """What a connection said with REPLCONF before (or after) it became a replica."""

    __slots__ = ("listening_port", "ip", "capa_eof", "capa_psync2", "rdb_only",
                 "functions_only")

    def __init__(self) -> None:
        self.listening_port = 0
        self.ip: Optional[str] = None
        self.capa_eof = False
        self.capa_psync2 = False
        self.rdb_only = False
        self.functions_only: Optional[bool] = None   # rdb-filter-only (None: no filter)


class ReplicaLink:
    """One replica: its state, acknowledged offset and the stream kept for it."""

    def __init__(self, client: "Client", conf: ReplConf, pre_psync: bool) -> None:
        self.client = client
        self.conf = conf
        self.pre_psync = pre_psync          # SYNC: no +FULLRESYNC, no ACKs expected
        self.state = WAIT_BGSAVE_START
        self.initial_offset = 0
        self.ack_offset = 0
        self.ack_time = time.time()
        self.asked = time.monotonic()       # when it asked for the sync
        self.buffered: List[bytes] = []     # stream kept until its RDB is through
        self.buffered_bytes = 0
        self.start_on_ack = False           # diskless: the stream starts on its first ACK
        self.appended = 0                   # stream bytes put in its output since the RDB
        self.soft_since = 0.0
        self._unsent_seen = 0               # (stalled_for: output left at the last look)
        self._unsent_since = time.time()

    @property
    def ip(self) -> str:
        if self.conf.ip:
            return self.conf.ip
        return self.client.addr.rsplit(":", 1)[0]

    @property
    def name(self) -> str:
        """ip:listening-port, as Redis names a replica in its log."""
        return "%s:%d" % (self.ip, self.conf.listening_port)

    def stalled_for(self, now: float) -> float:
        """Seconds this replica has taken none of the output waiting for it (0 when
        nothing waits): a diskless transfer's repl_last_partial_write."""
        unsent = self.client.output_pending
        if not unsent or unsent != self._unsent_seen:
            self._unsent_seen = unsent
            self._unsent_since = now
            return 0.0
        return now - self._unsent_since

    @property
    def info_state(self) -> str:
        if self.state in (WAIT_BGSAVE_START, WAIT_BGSAVE_END):
            return "wait_bgsave"
        return self.state

    def start_stream(self) -> None:
        """The RDB is through: what was kept follows it, then the live stream."""
        self.start_on_ack = False
        client = self.client
        if self.buffered:
            client.out += self.buffered
            self.appended += self.buffered_bytes
        self.buffered = []
        self.buffered_bytes = 0
        client.flush()

    def stream_pending(self) -> int:
        """Bytes of stream waiting for this replica (what its output limit measures):
        the kept stream plus the unsent part of what followed the RDB."""
        return self.buffered_bytes + min(self.client.output_pending, self.appended)
