"""miniredis as a replica: the link to a master (the replica half of Redis's
replication.c).

One :class:`MasterLink` exists while the server is a replica (``state.repl.link``). It
owns a greenlet that connects to the master, runs the handshake (PING, AUTH, REPLCONF
listening-port / ip-address / capa, PSYNC), receives the RDB of a full resynchronisation
(``$<len>`` or the diskless ``$EOF:<mark>`` form, :mod:`.rdbsync`; parsed as it
arrives with repl-diskless-load, :mod:`.disklessload`) or continues after
``+CONTINUE``, and then applies the command stream through a :class:`MasterClient`
(flag M in CLIENT LIST, no replies, not subject to read-only, ACL or OOM). Every applied
byte is counted in ``state.repl.offset``; REPLCONF ACK goes to the master every second
and in answer to REPLCONF GETACK. A dropped link keeps the master's replication ID and
offset (Redis's cached master), so the next connection asks for a partial resync.

Nothing here blocks the hub: the greenlet waits on gevent sockets; loading an RDB
serves the clients every so often (-LOADING, or the old data during an async load).
"""
from __future__ import annotations

import socket as _stdsocket
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import gevent
import gevent.socket
import hiredis

from .. import errors
from . import disklessload, rdbsync
from .disklessload import use_diskless_load
from .failover import IN_PROGRESS
from .streamapply import LinkError, StreamApplier

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState
    from .masterclient import MasterClient

# Link states as ROLE names them (Redis's repl_state; every handshake step is
# "handshake").
CONNECT = "connect"
CONNECTING = "connecting"
HANDSHAKE = "handshake"
TRANSFER = "sync"
CONNECTED = "connected"

READ_SIZE = 64 * 1024
SYNCIO_TIMEOUT = 5.0            # Redis's repl_syncio_timeout: one handshake reply


class _Cached:
    """What survives a dropped link for PSYNC (Redis's cached master): the master's
    replication ID, the offset applied so far, and the master client's database."""

    __slots__ = ("replid", "reploff", "db")

    def __init__(self, replid: str, reploff: int, db: int) -> None:
        self.replid = replid
        self.reploff = reploff
        self.db = db


class MasterLink(StreamApplier):
    """The replica's side of one master: connection, synchronisation, stream apply."""

    def __init__(self, state: "ServerState", host: str, port: int,
                 cached: Optional[_Cached]) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.cached = cached
        self.status = CONNECT
        self.sock: Any = None
        self.client: Optional["MasterClient"] = None
        self.master_replid = ""
        self.reploff = 0            # bytes of stream applied (the master client's reploff)
        self.read_reploff = 0       # ... and read, a partial command included
        self.down_since = 0.0       # the link was lost at (0: never up, or up now)
        self.last_io = 0.0          # last byte from the master (stream phase)
        self.transfer_size = -1     # the RDB being received (INFO master_sync_*)
        self.transfer_read = 0
        self.transfer_lastio = 0.0
        self.acks = True            # False with a pre-PSYNC master (SYNC): no ACKs
        self.full_syncs = 0         # datasets loaded from this master (tests, logs)
        self.partial_syncs = 0      # +CONTINUE accepted
        self.stopped = False
        self._buf = bytearray()     # handshake and RDB input not consumed yet
        self._reader: Any = None
        self._raw = bytearray()     # stream bytes read, not yet applied and proxied
        self._in_multi = 0          # bytes applied inside a MULTI not yet EXECuted
        # Stream commands held by CLIENT PAUSE, and what came after them.
        self._waiting: Optional[List[Tuple[List[bytes], int]]] = None
        self._last_ack = 0.0
        self._greenlet: Optional[gevent.Greenlet] = None
        self._aof_paused = False    # appendonly was switched off for the load

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start connecting (once the server's hub runs: state.loop is set)."""
        if self._greenlet is None and not self.stopped and self.state.loop is not None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> Optional[_Cached]:
        """End the link for good (REPLICAOF, shutdown); returns what a later PSYNC may
        use: the live master's position, else the cached one."""
        self.stopped = True
        cached = self._cache_master() or self.cached
        self._close_socket()
        greenlet = self._greenlet
        self._greenlet = None
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=False)
        self._resume_aof()
        return cached

    def _run(self) -> None:
        """Connect, synchronise and apply until stopped; retry after failures (once
        a second, as replicationCron; at once after losing a working link)."""
        while not self.stopped:
            was_up = False
            try:
                self._session()
            except gevent.GreenletExit:
                raise
            except LinkError as exc:
                if str(exc):            # (empty: already logged)
                    self._log("warning", str(exc))
            except _stdsocket.timeout:
                self._log("warning", "Timeout on the link with MASTER %s:%d"
                          % (self.host, self.port))
            except OSError as exc:
                if not self.stopped:
                    self._log("warning", "Error condition on socket for SYNC: %s"
                              % (exc.strerror or exc))
            except Exception:  # a bug must never take the server down
                self._log("warning", "Replication link error: %s" % traceback.format_exc())
            finally:
                if not self.stopped:
                    was_up = self._lost()
            if self.stopped:
                return
            if was_up:
                self._log("notice", "Reconnecting to MASTER %s:%d"
                          % (self.host, self.port))
            else:
                gevent.sleep(1.0)

    def _lost(self) -> bool:
        """The connection ended: keep the master's position (cached master) and mark
        the link down. True if the link had been up."""
        was_up = self.status == CONNECTED
        cached = self._cache_master()
        if cached is not None:
            self.cached = cached
        self._close_socket()
        self._resume_aof()
        if was_up:
            self.down_since = time.time()
        self.status = CONNECT
        self.transfer_size = -1
        return was_up

    def _cache_master(self) -> Optional[_Cached]:
        """Drop the master client, returning its position (None without one)."""
        client = self.client
        if client is None:
            return None
        self.client = None
        cached = _Cached(self.master_replid, self.reploff, client.db.id)
        client.link = None
        client.close()
        return cached

    def _close_socket(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
        self._buf = bytearray()
        self._raw = bytearray()
        self._reader = None

    def _log(self, level: str, message: str) -> None:
        self.state.log(level, message)

    # -- one connection ---------------------------------------------------------------
    def _session(self) -> None:
        state = self.state
        values = state.config.values
        self.status = CONNECTING
        self._log("notice", "Connecting to MASTER %s:%d" % (self.host, self.port))
        source = values["bind-source-addr"]     # (connConnect's source address)
        self.sock = gevent.socket.create_connection((self.host, self.port),
                                                    timeout=values["repl-timeout"],
                                                    source_address=(source, 0)
                                                    if source else None)
        self.sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        self._log("notice", "MASTER <-> REPLICA sync started")
        self.status = HANDSHAKE
        self._handshake()
        outcome = self._psync()
        if self.state.failover.status == IN_PROGRESS:
            self.state.failover.psync_answered(True)      # the target took over
        if outcome == "continue":
            self._stream()
            return
        self._full_sync()
        self._stream()

    def _send(self, *args: Any) -> None:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))

    def _fill(self, timeout: float) -> None:
        """Read more input into the handshake buffer (LinkError at end of stream)."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(READ_SIZE)
        if not data:
            raise LinkError("Connection with MASTER %s:%d lost" % (self.host, self.port))
        self._buf += data
        self.state.stats.total_net_repl_input_bytes += len(data)
        self.transfer_lastio = time.time()

    def _readline(self, timeout: float = SYNCIO_TIMEOUT) -> bytes:
        """One reply line without its line end (a bare "\\n" gives b"")."""
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[:end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._buf) > 64 * 1024:
                raise LinkError("Bad protocol from MASTER: reply line too long")
            self._fill(timeout)

    def _handshake(self) -> None:
        """PING, then AUTH and REPLCONF pipelined; their replies in order
        (syncWithMaster)."""
        values = self.state.config.values
        self._send(b"PING")
        reply = self._readline()
        if not reply.startswith(b"+") and not reply.startswith(b"-NOAUTH") \
                and not reply.startswith(b"-NOPERM") \
                and not reply.startswith(b"-ERR operation not permitted"):
            raise LinkError("Error reply to PING from master: '%s'" % _text(reply))
        self._log("notice", "Master replied to PING, replication can continue...")
        password = values["masterauth"]
        if password:
            user = values["masteruser"]
            auth = [b"AUTH"] + ([user.encode()] if user else []) + [
                password if isinstance(password, bytes) else
                password.encode("utf-8", "surrogateescape")]
            self._send(*auth)
        port = values["replica-announce-port"] or self.state.tcp_port
        self._send(b"REPLCONF", b"listening-port", port)
        announce_ip = values["replica-announce-ip"]
        if announce_ip:
            self._send(b"REPLCONF", b"ip-address", announce_ip)
        self._send(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")
        if password:
            reply = self._readline()
            if reply.startswith(b"-"):
                raise LinkError("Unable to AUTH to MASTER: %s" % _text(reply))
        reply = self._readline()
        if reply.startswith(b"-"):
            self._log("notice", "(Non critical) Master does not understand REPLCONF "
                                "listening-port: %s" % _text(reply))
        if announce_ip:
            reply = self._readline()
            if reply.startswith(b"-"):
                self._log("notice", "(Non critical) Master does not understand REPLCONF "
                                    "ip-address: %s" % _text(reply))
        reply = self._readline()
        if reply.startswith(b"-"):
            self._log("notice", "(Non critical) Master does not understand REPLCONF "
                                "capa: %s" % _text(reply))

    def _psync(self) -> str:
        """PSYNC with the cached master's ID and offset (or ``? -1``): "continue" or
        "full" (the master's ID and offset then recorded); LinkError to retry later
        (slaveTryPartialResynchronization)."""
        cached = self.cached
        if cached is not None:
            replid, offset = cached.replid, cached.reploff + 1
            self._log("notice", "Trying a partial resynchronization (request %s:%d)."
                      % (replid, offset))
        else:
            replid, offset = "?", -1
            self._log("notice", "Partial resynchronization not possible (no cached "
                                "master)")
        failing_over = self.state.failover.status == IN_PROGRESS
        try:
            if failing_over:
                # This server hands its role to the target: it promotes itself on
                # seeing our ID (FAILOVER, replication.failover).
                self._send(b"PSYNC", replid, offset, b"FAILOVER")
            else:
                self._send(b"PSYNC", replid, offset)
        except OSError:
            self.state.failover.abort("Write error to failover target")
            raise
        deadline = time.time() + self.state.config.values["repl-timeout"]
        while True:
            reply = self._readline()
            if reply:
                break
            if time.time() > deadline:      # newlines only: the master keeps us waiting
                raise LinkError("Timeout connecting to the MASTER...")
        self.acks = True
        if reply.startswith(b"+FULLRESYNC"):
            parts = reply.split(b" ")
            if len(parts) >= 3 and len(parts[1]) == 40:
                self.master_replid = parts[1].decode("latin-1")
                try:
                    self.reploff = int(parts[2])
                except ValueError:
                    self.reploff = -1
                self._log("notice", "Full resync from master: %s:%d"
                          % (self.master_replid, self.reploff))
            else:
                self._log("warning", "Master replied with wrong +FULLRESYNC syntax.")
                self.master_replid = ""
                self.reploff = -1
            return "full"
        if reply.startswith(b"+CONTINUE"):
            self._continue(reply[10:].strip())
            return "continue"
        if reply.startswith(b"-NOMASTERLINK") or reply.startswith(b"-LOADING"):
            message = "Master is currently unable to PSYNC but should be in the " \
                      "future: %s" % _text(reply)
            if failing_over:
                self._log("warning", message)
                self._failover_refused(failing_over)
            raise LinkError(message)
        if reply.startswith(b"-ERR"):
            self._log("notice", "Master does not support PSYNC or is in error state "
                                "(reply: %s)" % _text(reply))
        else:
            self._log("warning", "Unexpected reply to PSYNC from master: %s" % _text(reply))
        self._failover_refused(failing_over)
        # Retry with SYNC: an old master; no offsets, so no ACKs and no partial resync.
        self._log("notice", "Retrying with SYNC...")
        self.sock.sendall(b"SYNC\r\n")
        self.acks = False
        self.master_replid = ""
        self.reploff = -1
        return "full"

    def _failover_refused(self, failing_over: bool) -> None:
        """The failover target refused our PSYNC ... FAILOVER: abort the failover
        (this server is a master again) and end this link quietly."""
        if failing_over:
            self.state.failover.psync_answered(False)
            raise gevent.GreenletExit()

    def _continue(self, new_id: bytes) -> None:
        """+CONTINUE [new id]: resume the cached master (replicationResurrectCachedMaster),
        taking the master's new ID if it changed (the old one becomes our replid2)."""
        self._log("notice", "Successful partial resynchronization with master.")
        cached = self.cached
        assert cached is not None
        repl = self.state.repl
        replid = cached.replid
        if len(new_id) == 40 and new_id.decode("latin-1") != replid:
            replid = new_id.decode("latin-1")
            self._log("warning", "Master replication ID changed to %s" % replid)
            repl.replid2 = cached.replid
            repl.second_replid_offset = repl.offset + 1
            repl.replid = replid
            _new_history(self.state, False)
        self.master_replid = replid
        self.reploff = cached.reploff
        self.cached = None
        self._attach(cached.db if cached.db >= 0 else 0)
        self.partial_syncs += 1
        self._log("notice", "MASTER <-> REPLICA sync: Master accepted a Partial "
                            "Resynchronization.")

    def _full_sync(self) -> None:
        """Receive the RDB, replace the dataset with it, become the master's replica
        at its offset (readSyncBulkPayload): read whole then loaded, or parsed as it
        arrives (repl-diskless-load, :mod:`.disklessload`)."""
        self.status = TRANSFER
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = time.time()
        state = self.state
        timeout = state.config.values["repl-timeout"]
        mark, size = rdbsync.announcement(self, timeout, lambda: use_diskless_load(state))
        diskless = use_diskless_load(state)
        if not diskless:
            payload, self._buf = rdbsync.receive(self, mark, size, timeout)
        self._pause_aof(diskless)
        if diskless:
            disklessload.load(self, mark, size, timeout)   # LinkError: retried
        else:
            self.attach_to_new_master()
            rdbsync.load(state, payload, self._log)      # LinkError: flushed, retried
        repl = state.repl
        self.cached = None
        repl.replid = self.master_replid or repl.replid
        if self.reploff >= 0:
            repl.offset = self.reploff
        else:
            self.reploff = repl.offset
        repl.clear_replid2()
        self._attach(0)
        self.full_syncs += 1
        self._log("notice", "MASTER <-> REPLICA sync: Finished with success")
        self._resume_aof()

    def attach_to_new_master(self) -> None:
        """A new dataset from the master is about to replace ours (Redis's
        replicationAttachToNewMaster): the cached master is useless now, and our own
        replicas must resynchronise (their backlog is dropped)."""
        if self.cached is not None:
            self._log("notice", "Discarding previously cached master state.")
            self.cached = None
        _new_history(self.state, True)

    def _pause_aof(self, diskless: bool) -> None:
        rdbsync.pause_aof(self, diskless)

    def _resume_aof(self) -> None:
        rdbsync.resume_aof(self)

    def _attach(self, db_index: int) -> None:
        """The link is up: the master client applies the stream from here."""
        from .masterclient import MasterClient
        sock = self.sock
        try:
            peer = sock.getpeername()
            local = sock.getsockname()
            addr, laddr = "%s:%d" % peer[:2], "%s:%d" % local[:2]
        except OSError:
            addr = laddr = "?:0"
        client = MasterClient(self, sock, addr, laddr)
        state = self.state
        if state.repl_feed is None:
            # A synchronised replica keeps a backlog from here (Redis creates it when
            # the sync completes), so that once promoted (REPLICAOF NO ONE, FAILOVER)
            # its old master and siblings can continue with a partial resync.
            state.replicas.ensure_backlog()
        if 0 <= db_index < len(state.dbs):
            client.db = state.dbs[db_index]
        state.clients[client.id] = client
        self.client = client
        self.read_reploff = self.reploff
        self.status = CONNECTED
        self.down_since = 0.0
        self.last_io = time.time()
        self._reader = hiredis.Reader()
        self._raw = bytearray()
        self._in_multi = 0
        self._waiting = None
        if self.acks:
            self._send_ack()        # at once: a diskless master waits for it

    # -- the stream -------------------------------------------------------------------
    def _stream(self) -> None:
        """Apply the master's commands as they come; ACK every second; drop the link
        after repl-timeout seconds of silence."""
        if self._buf:
            data, self._buf = bytes(self._buf), bytearray()
            self._apply(data)
        sock = self.sock
        sock.settimeout(1.0)
        while True:
            try:
                data = sock.recv(READ_SIZE)
            except _stdsocket.timeout:
                data = None
            if self.client is None or self.client.closed:
                raise LinkError("Connection with master lost.")
            now = time.time()
            if data is not None:
                if not data:
                    raise LinkError("Connection with master lost.")
                self.last_io = now
                self.client.last_interaction = now
                self._apply(data)
            if self.acks and now - self._last_ack >= 1.0:
                self._send_ack()
            if now - self.last_io > self.state.config.values["repl-timeout"]:
                raise LinkError("MASTER timeout: no data nor PING received...")

    def _send_ack(self) -> None:
        """REPLCONF ACK <offset applied> (replicationSendAck)."""
        self._last_ack = time.time()
        offset = b"%d" % self.reploff
        try:
            self.sock.sendall(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n"
                              % (len(offset), offset))
        except _stdsocket.timeout:
            pass

    # -- what INFO, ROLE and CLIENT LIST show ---------------------------------------------
    def info_lines(self) -> List[str]:
        """INFO replication's replica fields, after role:slave."""
        now = time.time()
        values = self.state.config.values
        if self.client is not None:
            applied, read = self.reploff, self.read_reploff
        elif self.cached is not None:
            applied = read = self.cached.reploff
        else:
            applied = read = 1
        lines = [
            "master_host:%s" % self.host, "master_port:%d" % self.port,
            "master_link_status:%s" % ("up" if self.status == CONNECTED else "down"),
            "master_last_io_seconds_ago:%d" % (
                int(now - self.client.last_interaction) if self.client is not None else -1),
            "master_sync_in_progress:%d" % (self.status == TRANSFER),
            "slave_read_repl_offset:%d" % read, "slave_repl_offset:%d" % applied,
        ]
        if self.status == TRANSFER:
            size = self.transfer_size
            perc = self.transfer_read / size * 100 if size > 0 else 0.0
            lines += ["master_sync_total_bytes:%d" % size,
                      "master_sync_read_bytes:%d" % self.transfer_read,
                      "master_sync_left_bytes:%d" % (size - self.transfer_read),
                      "master_sync_perc:%.2f" % perc,
                      "master_sync_last_io_seconds_ago:%d" % int(now - self.transfer_lastio)]
        if self.status != CONNECTED:
            lines.append("master_link_down_since_seconds:%d" % (
                int(now - self.down_since) if self.down_since else -1))
        lines += ["slave_priority:%d" % values["replica-priority"],
                  "slave_read_only:%d" % (1 if values["replica-read-only"] else 0),
                  "replica_announced:%d" % (1 if values["replica-announced"] else 0)]
        return lines

    def role_reply(self) -> List[Any]:
        """ROLE: slave, host, port, link state, offset applied (-1 without a master)."""
        return [b"slave", self.host.encode(), self.port, self.status.encode(),
                self.reploff if self.client is not None else -1]


# Called as hook(state, full) when this server's replication history changes under
# its own sub-replicas: full=True after a full resync loaded a new dataset (Redis's
# replicationAttachToNewMaster: disconnect sub-replicas, drop the backlog), False when
# +CONTINUE brought a new replication ID or REPLICAOF NO ONE shifted it
# (disconnectSlaves: they reconnect and continue with PSYNC). For the master side.
ON_NEW_HISTORY: List[Callable[["ServerState", bool], None]] = []


def _new_history(state: "ServerState", full: bool) -> None:
    for hook in ON_NEW_HISTORY:
        hook(state, full)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


# -- what the commands and the server call ------------------------------------------------
def set_master(state: "ServerState", host: str, port: int) -> None:
    """Become (or stay, with another master) a replica of ``host``:``port``
    (replicationSetMaster). Blocked clients are released with an error; a master
    keeps its own ID and offset as the cached master, so a promoted sibling can
    continue it with a partial resync."""
    repl = state.repl
    was_master = repl.master_host is None
    cached: Optional[_Cached] = None
    if repl.link is not None:
        cached = repl.link.stop()
        repl.link = None
    _release_blocked(state)
    if was_master:
        cached = _Cached(repl.replid, repl.offset, -1)
    if state.repl_feed is not None:
        state.repl_feed.close_lane()    # the master's writes are not our own effects
    repl.master_host = host
    repl.master_port = port
    state.config.values["replicaof"] = "%s %d" % (host, port)
    link = MasterLink(state, host, port, cached)
    repl.link = link
    _refresh_gates(state)
    link.start()


def unset_master(state: "ServerState") -> None:
    """REPLICAOF NO ONE: stop replicating, keep the data, start a new history that
    continues the master's (replicationUnsetMaster)."""
    repl = state.repl
    if repl.master_host is None:
        return
    link = repl.link
    repl.link = None
    if link is not None:
        link.stop()
    repl.master_host = None
    repl.master_port = 0
    state.config.values["replicaof"] = ""
    repl.shift_replid()
    _new_history(state, False)
    _refresh_gates(state)


def start(state: "ServerState") -> None:
    """At server start (in the hub): connect to the master the configuration names
    (``replicaof`` in the file or on the command line)."""
    repl = state.repl
    link = repl.link
    if link is not None:
        if link.stopped:    # the server was stopped, and now starts again
            repl.link = MasterLink(state, link.host, link.port, link.cached)
        repl.link.start()
        return
    value = state.config.values["replicaof"]
    if not value:
        return
    host, _, port = value.rpartition(" ")
    repl.master_host = host
    repl.master_port = int(port)
    # Restarted from an RDB that recorded our place in the master's history (see
    # restart.py): that is the cached master the first PSYNC continues from.
    restored, repl.restored = repl.restored, None
    cached = _Cached(*restored) if restored is not None else None
    repl.link = MasterLink(state, host, int(port), cached)
    _refresh_gates(state)
    repl.link.start()


def shutdown(state: "ServerState") -> None:
    """Server shutdown: close the link (the role and configuration stay)."""
    link = state.repl.link
    if link is not None:
        link.cached = link.stop()


def link_down_refuses_stale(state: "ServerState") -> bool:
    """A replica whose link is down with replica-serve-stale-data no: commands
    without the stale flag get MASTERDOWN."""
    link = state.repl.link
    return link is not None and link.status != CONNECTED \
        and not state.config.values["replica-serve-stale-data"]


def read_only(state: "ServerState") -> bool:
    """A replica with replica-read-only: write commands get READONLY."""
    return state.repl.master_host is not None and state.config.values["replica-read-only"]


def _refresh_gates(state: "ServerState") -> None:
    gate = state.repl.master_host is not None
    if gate != state.repl.gate:
        state.repl.gate = gate
        for client in list(state.clients.values()):
            client._update_gate()


def _release_blocked(state: "ServerState") -> None:
    """Clients blocked in BLPOP & co. get UNBLOCKED and are disconnected
    (disconnectAllBlockedClients); CLIENT PAUSE's held clients stay."""
    from ..errors import CommandError
    for client in list(state.clients.values()):
        if client.blocked is None:
            continue
        client._held = []
        state.blocking.unblock(client, CommandError(errors.UNBLOCKED_ROLE_CHANGE))
        client.closing = True
        if not client._unsent and not client.out and not client.in_callback:
            client.close()
