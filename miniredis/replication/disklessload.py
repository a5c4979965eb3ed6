"""A replica loading its master's RDB straight from the socket (repl-diskless-load).

Redis 7.0's readSyncBulkPayload, diskless branch: with ``on-empty-db`` (when every
database is empty) or ``swapdb`` the RDB is parsed as it arrives
(:class:`miniredis.persistence.rdbstream.StreamReader`), never held whole.

- ``on-empty-db``: the old data is flushed first (it is empty anyway), clients get
  -LOADING meanwhile, a failed load leaves the replica empty.
- ``swapdb``: the RDB loads into databases and a function registry set aside; on
  success they replace the live ones (the old ones are dropped "in background"), on
  failure they are dropped and the old data stays. When the master's replication ID
  is the replica's own (the same history, resynchronised), the load is *async*: the
  old data keeps being served meanwhile (INFO async_loading:1), only the commands
  flagged no_async_loading (and CONFIG SET of DENY_LOADING parameters) get -LOADING.

Every loading-process-events-interval-bytes consumed the hub serves the clients
and a newline goes to the master (at most once a second), as
rdbLoadProgressCallback does; key-load-delay pauses after each key.
"""
from __future__ import annotations

import socket as _stdsocket
import time
from typing import TYPE_CHECKING, Any, List, Optional

import gevent

from ..persistence import rdb
from ..persistence.rdbstream import ShortRead, StreamReader, describe

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState
    from .replica import MasterLink

_READ = 64 * 1024               # bytes asked of the socket at a time (PROTO_IOBUF_LEN 16k)
_MARK_SIZE = 40


def use_diskless_load(state: "ServerState") -> bool:
    """Redis's useDisklessLoad: swapdb always; on-empty-db when no database holds a
    key (expired ones not yet reclaimed count, as dbTotalServerKeyCount)."""
    mode = state.config.values["repl-diskless-load"]
    return mode == "swapdb" or (mode == "on-empty-db"
                                and not any(db.index for db in state.dbs))


class _Source:
    """The socket's bytes after the ``$`` line: what the reader asks for, chunk by
    chunk, up to ``limit`` bytes (the ``$<len>`` form) or without limit (``$EOF:``);
    counts them in total_net_repl_input_bytes."""

    def __init__(self, link: "MasterLink", limit: Optional[int], timeout: float) -> None:
        self.link = link
        self.limit = limit
        self.got = 0
        self.timeout = timeout
        self.newline_sent = 0

    def fetch(self) -> bytes:
        link = self.link
        size = _READ
        if self.limit is not None:
            size = min(size, self.limit - self.got)
            if size <= 0:       # (rioConnRead's EOVERFLOW)
                raise ShortRead("read past the announced RDB size",
                                "Value too large for defined data type")
        sock = link.sock
        if sock is None:
            raise ShortRead("link closed", "connection lost")
        sock.settimeout(self.timeout)
        try:
            data = sock.recv(size)
        except _stdsocket.timeout:
            raise ShortRead("timeout", "Connection timed out") from None
        except OSError as exc:
            raise ShortRead("read error", exc.strerror or str(exc)) from None
        if not data:
            raise ShortRead("connection lost", "connection lost")
        self.got += len(data)       # (INFO's master_sync_read_bytes stays 0, as Redis's)
        link.state.stats.total_net_repl_input_bytes += len(data)
        return data

    def progress(self, pos: int) -> None:
        """Every loading-process-events-interval-bytes: a newline keeps the master's
        view of us alive (replicationSendNewlineToMaster, once a second), then the hub
        serves the clients (processEventsWhileBlocked)."""
        now = int(time.time())
        sock = self.link.sock
        if now != self.newline_sent and sock is not None:
            self.newline_sent = now
            try:
                sock.settimeout(self.timeout)
                sock.sendall(b"\n")
            except OSError:
                pass
        progress = self.link.state.loading_info
        if progress is not None:
            progress.loaded = pos           # (loadingAbsProgress)
        gevent.sleep(0)
        gevent.sleep(0)


def load(link: "MasterLink", mark: Optional[bytes], size: int, timeout: float) -> None:
    """Load the RDB from ``link``'s socket (``mark``: the ``$EOF:`` form's, else
    ``size`` bytes). On success the loaded data is live and ``link._buf`` holds what
    followed the RDB; on failure everything is logged as Redis does and a silent
    LinkError (the link retries) is raised."""
    from .replica import LinkError
    state = link.state
    swapdb = state.config.values["repl-diskless-load"] == "swapdb"
    first = bytes(link._buf)
    link._buf = bytearray()
    leftover = b""
    if mark is None and len(first) > size:
        first, leftover = first[:size], first[size:]
    source = _Source(link, size if mark is None else None, timeout)
    source.got = len(first)
    temp_dbs: List[Any] = []
    registry: Any = None
    if swapdb:
        temp_dbs, registry = _temp_dataset(state)
    else:
        _after_busy_script(state)
        link.attach_to_new_master()
        from .rdbsync import flush_everything
        link._log("notice", "MASTER <-> REPLICA sync: Flushing old data")
        flush_everything(state)
    link._log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")
    # Async loading: the same history as ours (the old data is an earlier point of
    # the dataset now arriving), so it may be served meanwhile.
    asynchronous = swapdb and state.repl.replid == link.master_replid
    values = state.config.values
    reader = StreamReader(source.fetch, "the master's RDB", first,
                          values["loading-process-events-interval-bytes"], source.progress,
                          bool(values["rdbchecksum"]))
    repl = state.repl
    _start_loading(state, asynchronous, size if mark is None else 0)
    failure = None
    try:
        try:
            rdb.load_reader(state, reader, "the master's RDB", dbs=temp_dbs or None,
                            registry=registry)
        except rdb.RDBError as exc:
            failure = exc
        except Exception as exc:  # a corrupt payload may fail anywhere in the decoders
            failure = rdb.RDBError(repr(exc), repr(exc))
        if failure is not None and _refused_outright(failure):
            # (rdbLoadRioWithLoadingCtx's own refusals: no rdbReportError line)
            link._log("warning", str(failure).split(" the master's RDB")[0])
            link._log("warning", "Failed trying to load the MASTER synchronization DB "
                                 "from socket: Invalid argument")
        elif failure is not None:
            if isinstance(failure, ShortRead):
                link._log("warning", "Short read or OOM loading DB. Unrecoverable error, "
                                     "aborting now.")
            elif str(failure).startswith("Wrong RDB checksum"):
                link._log("warning", str(failure))
            link._log("warning", "Internal error in RDB reading offset %d, function at "
                                 "rdb.c:0 -> %s" % (reader.pos, describe(failure)))
            link._log("warning", "Failed trying to load the MASTER synchronization DB "
                                 "from socket: %s" % (failure.why if isinstance(
                                     failure, ShortRead) else "Invalid argument"))
        elif mark is not None:
            try:
                ok = reader.take(_MARK_SIZE) == mark
            except rdb.RDBError:
                ok = False
            if not ok:
                link._log("warning", "Replication stream EOF marker is broken")
                failure = rdb.RDBError("broken mark")
    finally:
        repl.loading = False
        repl.async_loading = False
        state.loading_info = None
    if failure is not None:
        if swapdb:
            _discard(state, temp_dbs)
            link._log("notice", "MASTER <-> REPLICA sync: Discarding temporary DB in "
                                "background")
        else:
            from .rdbsync import flush_everything
            flush_everything(state)
        raise LinkError("")
    if swapdb:
        _after_busy_script(state)
        link.attach_to_new_master()
        link._log("notice", "MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
        _swap(state, temp_dbs, registry)
        _discard(state, temp_dbs)
        link._log("notice", "MASTER <-> REPLICA sync: Discarding old DB in background")
    state.dirty += 1
    link._buf = bytearray(leftover if mark is None else reader.rest())


def _refused_outright(failure: Exception) -> bool:
    """A bad signature or an unknown RDB version: Redis logs just that."""
    text = str(failure)
    return text.startswith("Wrong signature") or text.startswith("Can't handle RDB format")


def _after_busy_script(state: "ServerState") -> None:
    """Wait for a script running past busy-reply-threshold to end: it serves the hub
    from its hook, which may resume this greenlet, and must not see its data replaced
    under it."""
    while state.busy_script is not None:
        gevent.sleep(0.01)


def _start_loading(state: "ServerState", asynchronous: bool, total: int) -> None:
    """startLoading: -LOADING for (nearly) everything, or only for the commands an
    async load refuses; the last load's key counts start again; INFO's loading_*
    figures (``total``: the announced size, 0 for the ``$EOF:`` form)."""
    from ..persistence import LoadingInfo, snapshots
    state.loading_info = LoadingInfo(total)
    saves = snapshots(state)
    saves.loaded = saves.expired = 0
    if asynchronous:
        state.repl.async_loading = True
    else:
        state.repl.loading = True


def _temp_dataset(state: "ServerState") -> Any:
    """Empty databases and function registry for the load (disklessLoadInitTempDb)."""
    from ..commands.functions import functions
    from ..keyspace import Database
    from ..scripting.functions import Registry
    runner = functions(state)
    return ([Database(index, state) for index in range(len(state.dbs))],
            Registry(lambda: runner.engine))


def _swap(state: "ServerState", temp_dbs: List[Any], registry: Any) -> None:
    """swapMainDbWithTempDb and functionsLibCtxSwapWithCurrent: the loaded data goes
    live (``temp_dbs`` then hold the old); WATCHes of the old keys are touched, waiters
    on keys that now exist are served, tracking clients are told as by a flush."""
    from ..commands.functions import functions
    from ..commands.transactions import db_replaced
    for db, loaded in zip(state.dbs, temp_dbs):
        db_replaced(db, loaded)
        db.signal_streams_gone(loaded)
        db.swap(loaded)
        db.signal_waited_keys()
    state.tracking.flushed(None, True)
    state.replica_expires.clear()
    functions(state).registry = registry


def _discard(state: "ServerState", dbs: List[Any]) -> None:
    """disklessLoadDiscardTempDb: always asynchronous (lazyfreed_objects counts the
    keys)."""
    state.stats.lazyfreed_objects += sum(len(db.index) for db in dbs)
