"""miniredis as a replication master: its replicas, SYNC/PSYNC, WAIT and the
replication cron (``state.replicas``, Redis's replication.c master side).

A replica is an ordinary client that sent SYNC or PSYNC: it gets a
:class:`~.links.ReplicaLink` (``Master.links``, by client id) and its replies are
suppressed from then on. PSYNC with a replication ID and offset the backlog still
covers is answered ``+CONTINUE`` and the missing bytes; anything else is a full
synchronisation (:class:`~.fullsync.FullSync`, a forked child writing the RDB to disk
or, diskless, to the replica sockets for replicas that said ``REPLCONF capa eof`` while
``repl-diskless-sync`` is on). Writes made meanwhile are kept for each replica and
follow its RDB.

The cron (:meth:`Master.cron`, ``hz`` times a second) pings replicas every
``repl-ping-replica-period`` seconds, starts delayed diskless syncs
(``repl-diskless-sync-delay``, ``repl-diskless-sync-max-replicas``), drops replicas that
stopped acknowledging (``repl-timeout``) or whose output passed
``client-output-buffer-limit replica``, and frees the backlog ``repl-backlog-ttl``
seconds after the last replica left. WAIT's deadlines are the blocking layer's.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..security.outputlimits import past_limits
from .. import propagate
from ..blocking import NOT_SERVED, block
from ..persistence import diskio
from .feed import ReplicationFeed
from .failover import WAIT_FOR_SYNC
from .fullsync import FullSync
from .replica import ON_NEW_HISTORY
from .links import (ONLINE, RDB_TRANSMITTED, WAIT_BGSAVE_END, WAIT_BGSAVE_START,
                    ReplConf, ReplicaLink)
from .state import new_replid

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState


def _on_new_history(state: "ServerState", full: bool) -> None:
    """The replica side changed this server's history: its own replicas must
    resynchronise (disconnectSlaves); after a full resync the backlog describes a
    dataset that is gone (replicationAttachToNewMaster frees it)."""
    state.replicas.disconnect_all()
    if full:
        state.replicas.free_backlog()


ON_NEW_HISTORY.append(_on_new_history)


class Master:
    """The master side of replication for one server (``state.replicas``)."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.links: Dict[int, ReplicaLink] = {}     # by client id
        self.confs: Dict[int, ReplConf] = {}         # REPLCONF seen, by client id
        self.sync: Optional[FullSync] = None
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self.alone_since = time.monotonic()         # no replica since (backlog TTL)
        self.last_ping = time.monotonic()
        self.last_second = 0.0
        self.waits: List[Any] = []                   # (client, waiter, offset, wanted)
        self.ack_scheduled = False
        self.good = 0                                # good replicas (min-replicas-*)
        state.on_client_close.append(self._client_closed)

    # -- the backlog --------------------------------------------------------------------
    def ensure_backlog(self) -> ReplicationFeed:
        """The replication feed, created (with a fresh backlog) if there is none."""
        state = self.state
        if state.repl_feed is None:
            state.repl_feed = ReplicationFeed(state)
            propagate.refresh(state)
        return state.repl_feed

    def free_backlog(self) -> None:
        state = self.state
        if state.repl_feed is not None:
            self.settle()
            state.repl_feed.close_lane()
            state.repl_feed = None
            state.repl.lane = state.repl.encode_lane = None
            propagate.refresh(state)

    # -- REPLCONF -----------------------------------------------------------------------
    def conf(self, client: "Client") -> ReplConf:
        found = self.confs.get(client.id)
        if found is None:
            found = self.confs[client.id] = ReplConf()
        return found

    def ack(self, client: "Client", offset: int) -> None:
        """REPLCONF ACK <offset> from a replica (no reply)."""
        link = self.links.get(client.id)
        if link is None:
            return
        if offset > link.ack_offset:
            link.ack_offset = offset
        link.ack_time = time.time()
        if link.start_on_ack and link.state == ONLINE:
            link.start_stream()
        if self.waits:
            self._check_waits()
        if self.state.failover.status == WAIT_FOR_SYNC:
            self.state.failover.schedule()

    # -- SYNC / PSYNC -------------------------------------------------------------------
    def try_partial(self, client: "Client", replid: str, offset: int) -> bool:
        """PSYNC: continue from ``offset`` if our history and backlog allow it."""
        repl = self.state.repl
        if replid.lower() != repl.replid and (
                replid.lower() != repl.replid2 or offset > repl.second_replid_offset):
            if replid != "?":
                self.state.log("notice", "Partial resynchronization not accepted: "
                                         "Replication ID mismatch (Replica asked for '%s', "
                                         "my replication IDs are '%s' and '%s')"
                               % (replid, repl.replid, repl.replid2))
            else:
                self.state.log("notice", "Full resync requested by replica %s"
                               % client.addr)
            return False
        feed = self.state.repl_feed
        if feed is None or not feed.backlog.covers(offset):
            self.state.log("notice", "Unable to partial resync with replica %s for lack "
                                     "of backlog (Replica request was: %d)."
                           % (client.addr, offset))
            return False
        conf = self.conf(client)
        link = self._add_link(client, conf, pre_psync=False)
        link.state = ONLINE
        data = feed.backlog.since(offset)
        line = b"+CONTINUE %s\r\n" % repl.replid.encode() if conf.capa_psync2 \
            else b"+CONTINUE\r\n"
        client.out.append(line)
        client.uncounted = len(line)        # (Redis writes it to the socket itself)
        if data:
            client.out.append(data)
            link.appended += len(data)
        self.state.log("notice", "Partial resynchronization request from %s accepted. "
                                 "Sending %d bytes of backlog starting from offset %d."
                       % (client.addr, len(data), offset))
        client.flush()      # (now: as replication output, see _add_link)
        self.refresh_good()
        return True

    def full_sync(self, client: "Client", pre_psync: bool) -> None:
        """Make ``client`` a replica waiting for an RDB (syncCommand's full resync)."""
        state = self.state
        self.settle()
        self.sync_full += 1
        conf = self.conf(client)
        link = self._add_link(client, conf, pre_psync)
        if state.repl_feed is None and len(self.links) == 1 and not state.repl.is_replica:
            # A backlog from scratch starts a new history (changeReplicationId).
            state.repl.replid = new_replid()
            state.repl.clear_replid2()
            self.ensure_backlog()
            state.log("notice", "Replication backlog created, my new replication IDs "
                                "are '%s' and '%s'" % (state.repl.replid, state.repl.replid2))
        self.ensure_backlog()
        sync = self.sync
        if sync is not None and not sync.socket_target:
            # A disk save for replicas is running: join it if another replica is
            # recording the writes since its fork (copy what it kept).
            for other in sync.links:
                if other.state == WAIT_BGSAVE_END and other is not link \
                        and (not other.conf.rdb_only or conf.rdb_only) \
                        and conf.functions_only == other.conf.functions_only:
                    if not conf.rdb_only:
                        link.buffered = list(other.buffered)
                        link.buffered_bytes = other.buffered_bytes
                    self._setup_full_resync(link, other.initial_offset)
                    sync.links.append(link)
                    state.log("notice", "Waiting for end of BGSAVE for SYNC")
                    return
            return              # wait for the next one
        if sync is not None:
            return              # a diskless sync is running: the next one
        values = state.config.values
        if values["repl-diskless-sync"] and conf.capa_eof \
                and values["repl-diskless-sync-delay"]:
            state.log("notice", "Delay next BGSAVE for diskless SYNC")
            return              # the cron starts it (more replicas may come)
        self.start_sync()

    def _add_link(self, client: "Client", conf: ReplConf, pre_psync: bool) -> ReplicaLink:
        link = ReplicaLink(client, conf, pre_psync)
        self.links[client.id] = link
        client.reply_mode = "replica"      # never replies: one would drop it (connection.py)
        client._update_gate()
        # What is written to it from now on is replication output (writeToClient's
        # CLIENT_TYPE_SLAVE): the stream, the RDB, GETACKs. Only replicas pay for it.
        client.flush = client.flush_replica
        client._plain_io = False    # (so no shortcut writes around flush_replica)
        return link

    def _setup_full_resync(self, link: ReplicaLink, offset: int) -> None:
        self.settle()           # bytes before ``offset`` are not this replica's
        link.initial_offset = offset
        link.state = WAIT_BGSAVE_END
        feed = self.state.repl_feed
        if feed is not None:
            feed.selected_db = None            # the new stream starts with a SELECT
        if not link.pre_psync:
            line = b"+FULLRESYNC %s %d\r\n" % (self.state.repl.replid.encode(), offset)
            link.client.out.append(line)
            link.client.uncounted = len(line)   # (Redis writes it to the socket itself)
            link.client.flush()

    def start_sync(self) -> bool:
        """Fork a child for every replica waiting for its snapshot to start."""
        state = self.state
        waiting = [link for link in self.links.values() if link.state == WAIT_BGSAVE_START]
        if not waiting:
            return False
        values = state.config.values
        functions_only = waiting[0].conf.functions_only      # one filter per RDB
        waiting = [link for link in waiting if link.conf.functions_only == functions_only]
        eof = all(link.conf.capa_eof for link in waiting)
        socket_target = (bool(values["repl-diskless-sync"]) or functions_only is not None) \
            and eof
        state.log("notice", "Starting BGSAVE for SYNC with target: %s"
                  % ("replicas sockets" if socket_target else "disk"))
        sync = FullSync(self, socket_target, functions_only)
        offset = state.repl.offset
        for link in waiting:
            self._setup_full_resync(link, offset)
            sync.links.append(link)
        try:
            sync.start()
        except OSError as exc:
            state.log("warning", "BGSAVE for replication failed: %s" % diskio.strerror(exc))
            for link in waiting:
                link.client.out.append(b"-ERR BGSAVE failed, replication can't continue\r\n")
                link.client.closing = True
                link.client.flush()
                self.forget(link.client)
            return False
        self.sync = sync
        return True

    def sync_finished(self, sync: FullSync, ok: bool) -> None:
        """The child is done: send the RDB (disk) or its end (diskless), then the
        stream; a failed child drops its replicas."""
        self.settle()
        if self.sync is sync:
            self.sync = None
        links = [link for link in sync.links if not link.client.closed
                 and self.links.get(link.client.id) is link]
        if not ok:
            for link in links:
                link.client.kill()
            self._start_pending()
            return
        payload: Optional[bytes] = None
        if not sync.socket_target:
            try:
                with open(sync.path, "rb") as handle:
                    payload = handle.read()
            except OSError as exc:
                self.state.log("warning", "SYNC failed. Can't open/stat DB after BGSAVE: %s"
                               % diskio.strerror(exc))
                for link in links:
                    link.client.kill()
                self._start_pending()
                return
        for link in links:
            client = link.client
            if payload is not None:
                client.out.append(b"$%d\r\n" % len(payload))
                client.out.append(payload)
            else:
                sync.send_mark(link)
            self._put_online(link, diskless=payload is None)
        self._start_pending()

    def _put_online(self, link: ReplicaLink, diskless: bool) -> None:
        client = link.client
        if link.conf.rdb_only:
            link.state = RDB_TRANSMITTED
            self.state.log("notice", "RDB transfer completed, rdb only replica (%s) should "
                                     "be disconnected asap" % client.addr)
            client.closing = True
            client.flush()
            if not client._unsent and not client.out:
                client.close()
            return
        link.state = ONLINE
        link.ack_time = time.time()
        self.state.log("notice", "Synchronization with replica %s succeeded" % client.addr)
        if diskless:
            link.start_on_ack = True           # the stream waits for its first ACK
            client.flush()
        else:
            link.start_stream()
        self.refresh_good()

    def _start_pending(self) -> None:
        """Replicas that arrived during the last sync get the next one now."""
        if self.sync is None and any(link.state == WAIT_BGSAVE_START
                                     for link in self.links.values()):
            values = self.state.config.values
            if not values["repl-diskless-sync"] or not values["repl-diskless-sync-delay"]:
                self.start_sync()

    # -- the stream ---------------------------------------------------------------------
    def deliver(self, data: bytes) -> None:
        """Stream bytes for every replica (the feed settling one loop iteration's
        bytes): in the output of online ones, kept for those awaiting their RDB."""
        for link in self.links.values():
            state = link.state
            if state == ONLINE and not link.start_on_ack:
                link.client.out.append(data)
                link.appended += len(data)
            elif state != WAIT_BGSAVE_START and state != RDB_TRANSMITTED:
                link.buffered.append(data)
                link.buffered_bytes += len(data)

    def flush_now(self) -> None:
        """Send what the stream gave the replicas (one write each), then check their
        output limits."""
        for link in list(self.links.values()):
            client = link.client
            if client.closed:
                continue
            if client.out:
                client.flush()
            self._check_limit(link)

    def settle(self) -> None:
        """Bytes written this loop iteration reach the backlog and the replicas now:
        before a replica's place in the stream changes (see feed.py)."""
        feed = self.state.repl_feed
        if feed is not None and (feed.pending or feed.lane):
            feed.settle()

    def _check_limit(self, link: ReplicaLink) -> None:
        """client-output-buffer-limit replica: drop a replica that cannot keep up."""
        hard, soft, seconds = self.state.config["client-output-buffer-limit"]["slave"]
        if not hard and not soft:
            return
        # A hard limit below repl-backlog-size would drop a replica right after a
        # partial resync it was allowed: Redis uses the backlog size then.
        if hard:
            hard = max(hard, self.state.config.values["repl-backlog-size"])
        over, link.soft_since = past_limits(link.stream_pending(), (hard, soft, seconds),
                                            link.soft_since)
        if over:
            client = link.client
            self.state.log("warning", "Client id=%d addr=%s closed for overcoming of output "
                                      "buffer limits." % (client.id, client.addr))
            client.close()

    def request_ack(self) -> None:
        """Ask every replica for an ACK at the end of this loop iteration (WAIT)."""
        if self.ack_scheduled:
            return
        self.ack_scheduled = True
        loop = self.state.loop
        if loop is None:
            self._send_getack()
        else:
            loop.run_callback(self._send_getack)

    def _send_getack(self) -> None:
        self.ack_scheduled = False
        feed = self.state.repl_feed
        if feed is not None and self.links and not self.state.repl.is_replica:
            feed.command([b"REPLCONF", b"GETACK", b"*"])

    # -- WAIT ---------------------------------------------------------------------------
    def count_acks(self, offset: int) -> int:
        return sum(1 for link in self.links.values()
                   if link.state == ONLINE and link.ack_offset >= offset)

    def wait(self, client: "Client", wanted: int, seconds: float) -> Any:
        """WAIT numreplicas timeout: the count now, or BLOCKED until enough ACKs."""
        feed = self.state.repl_feed
        if feed is not None:
            feed.encode_lane()          # sets the woff of the writes waiting there
        offset = client.woff
        acked = self.count_acks(offset)
        if acked >= wanted or client.no_blocking:
            return acked
        reply = block(client, [], seconds, lambda c, db, key: NOT_SERVED, acked)
        self.waits.append((client, client.blocked, offset, wanted))
        self.request_ack()
        return reply

    def _check_waits(self) -> None:
        keep = []
        for entry in self.waits:
            client, waiter, offset, wanted = entry
            if client.blocked is not waiter or client.closed:
                continue
            acked = self.count_acks(offset)
            if acked >= wanted:
                self.state.blocking.unblock(client, acked)
            else:
                waiter.timeout_reply = acked
                keep.append(entry)
        self.waits = keep

    # -- clients going away -------------------------------------------------------------
    def forget(self, client: "Client") -> None:
        link = self.links.pop(client.id, None)
        if link is None:
            return
        self.state.log("notice", "Connection with replica %s lost." % link.name)
        sync = self.sync
        if sync is not None and link in sync.links:
            sync.links.remove(link)
            if not sync.links and sync.socket_target:
                self.state.log("warning", "Diskless rdb transfer, last replica dropped, "
                                          "killing fork child.")
                sync.kill()
                self.sync = None
                self._start_pending()
            elif not sync.socket_target and link.state == WAIT_BGSAVE_END \
                    and not self.state.config["save"].strip() \
                    and not any(other.state == WAIT_BGSAVE_END
                                for other in self.links.values()):
                # Nobody waits for this RDB and no save point wants it: stop the child
                # (unlinkClient's killRDBChild), the next sync forks a fresh one.
                sync.kill()
                self.sync = None
                self._start_pending()
        if not self.links:
            self.alone_since = time.monotonic()
        self.refresh_good()

    def _client_closed(self, client: "Client") -> None:
        self.confs.pop(client.id, None)
        if client.id in self.links:
            self.forget(client)

    def kill_sync(self) -> None:
        """FLUSHALL (killRDBChild): the RDB being produced is of a dataset that is
        gone; its replicas are dropped (they will sync again)."""
        sync = self.sync
        if sync is not None and sync.child is not None:
            sync.kill()
            self.sync_finished(sync, False)

    def disconnect_all(self) -> None:
        """Drop every replica (Redis's disconnectSlaves: this server is switching
        masters, its replicas must resynchronise)."""
        for link in list(self.links.values()):
            link.client.kill()

    def is_replica(self, client: "Client") -> bool:
        return client.id in self.links

    # -- good replicas (min-replicas-to-write) -------------------------------------------
    def refresh_good(self) -> None:
        max_lag = self.state.config.values["min-replicas-max-lag"]
        now = time.time()
        self.good = sum(1 for link in self.links.values()
                        if link.state == ONLINE and now - link.ack_time <= max_lag)
        self.state.refresh_no_replicas()

    # -- the cron -----------------------------------------------------------------------
    def cron(self) -> None:
        """Called by the server's cron, ``hz`` times a second."""
        state = self.state
        if state.failover.status == WAIT_FOR_SYNC:
            state.failover.update()
        if self.sync is not None:
            self.sync.poll()
        if self.links:
            self._start_delayed()
        feed = state.repl_feed
        if feed is not None and not feed.pending and not feed.lane:
            feed.backlog.trim(max((link.stream_pending() for link in self.links.values()),
                                  default=0))
        now = time.monotonic()
        if now - self.last_second < 1.0:
            return
        self.last_second = now
        values = state.config.values
        feed = state.repl_feed
        # No PING while a FAILOVER with a TIMEOUT holds writes: it would move the
        # offset the replicas must reach (replicationCron).
        if self.links and feed is not None and not state.repl.is_replica \
                and now - self.last_ping >= values["repl-ping-replica-period"] \
                and not (state.failover.end_ms and state.pause.check()):
            self.last_ping = now
            feed.command([b"PING"])
        timeout = values["repl-timeout"]
        wall = time.time()
        for link in list(self.links.values()):
            client = link.client
            if link.state == WAIT_BGSAVE_START or (
                    link.state == WAIT_BGSAVE_END and self.sync is not None
                    and not self.sync.socket_target):
                client.out.append(b"\n")        # keep the link alive while it waits
                client.flush()
            elif link.state == ONLINE and not link.pre_psync \
                    and wall - link.ack_time > timeout:
                state.log("warning", "Disconnecting timedout replica (streaming sync): %s"
                          % link.name)
                client.close()
                continue
            elif link.state == WAIT_BGSAVE_END and self.sync is not None \
                    and self.sync.socket_target and link.stalled_for(wall) > timeout:
                # A diskless transfer paced by a replica that stopped reading: it
                # would hold the child (and every other replica) for ever.
                state.log("warning", "Disconnecting timedout replica (full sync): %s"
                          % link.name)
                client.close()
                continue
            self._check_limit(link)
        if not self.links and feed is not None and not state.repl.is_replica:
            ttl = values["repl-backlog-ttl"]
            if ttl and now - self.alone_since > ttl:
                state.repl.replid = new_replid()
                state.repl.clear_replid2()
                self.free_backlog()
                state.log("notice", "Replication backlog freed after %d seconds without "
                                    "connected replicas." % ttl)
        if values["min-replicas-to-write"] and values["min-replicas-max-lag"]:
            self.refresh_good()

    def _start_delayed(self) -> None:
        """Diskless syncs wait repl-diskless-sync-delay seconds for more replicas (or
        until repl-diskless-sync-max-replicas of them wait)."""
        if self.sync is not None:
            return
        waiting = [link for link in self.links.values() if link.state == WAIT_BGSAVE_START]
        if not waiting:
            return
        values = self.state.config.values
        delay = values["repl-diskless-sync-delay"]
        most = values["repl-diskless-sync-max-replicas"]
        idle = time.monotonic() - min(link.asked for link in waiting)
        if idle >= delay or (most and len(waiting) >= most):
            self.start_sync()

    def shutdown(self) -> None:
        self.settle()
        if self.sync is not None:
            self.sync.kill()
            self.sync = None

    # -- reporting ----------------------------------------------------------------------
    def info_lines(self) -> List[str]:
        """The replica and backlog part of INFO replication (a master's)."""
        state = self.state
        values = state.config.values
        lines = ["connected_slaves:%d" % len(self.links)]
        if values["min-replicas-to-write"] and values["min-replicas-max-lag"]:
            lines.append("min_slaves_good_slaves:%d" % self.good)
        now = time.time()
        for index, link in enumerate(self.links.values()):
            lines.append("slave%d:ip=%s,port=%d,state=%s,offset=%d,lag=%d"
                         % (index, link.ip, link.conf.listening_port, link.info_state,
                            link.ack_offset, int(now - link.ack_time)))
        return lines

    def buffer_memory(self) -> Tuple[int, int]:
        """INFO memory's (mem_total_replication_buffers, mem_clients_slaves): Redis
        shares one buffer between the backlog and the replicas, as long as the longest
        of them needs; each replica counts the part it has not sent yet."""
        pending = [link.stream_pending() for link in self.links.values()]
        feed = self.state.repl_feed
        backlog = feed.backlog.histlen if feed is not None else 0
        return max([backlog] + pending), sum(pending)

    def backlog_lines(self) -> List[str]:
        feed = self.state.repl_feed
        size = self.state.config.values["repl-backlog-size"]
        if feed is None:
            return ["repl_backlog_active:0", "repl_backlog_size:%d" % size,
                    "repl_backlog_first_byte_offset:0", "repl_backlog_histlen:0"]
        backlog = feed.backlog
        return ["repl_backlog_active:1", "repl_backlog_size:%d" % size,
                "repl_backlog_first_byte_offset:%d" % backlog.first_offset,
                "repl_backlog_histlen:%d" % backlog.histlen]

    def role_entries(self) -> List[List[bytes]]:
        """ROLE's replica list: online replicas as [ip, port, acked offset]."""
        return [[link.ip.encode(), b"%d" % link.conf.listening_port,
                 b"%d" % link.ack_offset]
                for link in self.links.values() if link.state == ONLINE]
