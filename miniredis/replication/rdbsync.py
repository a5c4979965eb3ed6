"""Receiving and loading the RDB of a full resynchronisation (readSyncBulkPayload).

The master announces the payload as ``$<length>`` (an RDB file it saved) or, for a
diskless transfer, ``$EOF:<40-byte mark>`` followed by the RDB and the mark again.
Newlines before the announcement are the master's keep-alives. With
repl-diskless-load disabled (or on-empty-db while the replica holds keys) the payload
is collected in memory (Redis writes it to a temp file first; here nothing is left in
``dir``), then the dataset and functions are replaced by it; otherwise it is parsed
from the socket as it arrives (:mod:`.disklessload`).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Optional, Tuple

import gevent

from ..persistence import rdb

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState
    from .replica import MasterLink

MARK_SIZE = 40


def announcement(link: "MasterLink", timeout: float,
                 diskless: Callable[[], bool]) -> Tuple[Optional[bytes], int]:
    """Read the ``$`` line that announces the payload: (the ``$EOF:`` form's mark, or
    None and the announced size). ``diskless`` says where the payload goes, for the
    log line only."""
    from .replica import LinkError
    while True:
        line = link._readline(timeout)
        if line:
            break
        link.transfer_lastio = time.time()      # a newline: the master is alive
    if line.startswith(b"-"):
        raise LinkError("MASTER aborted replication with an error: %s"
                        % line[1:].decode("utf-8", "replace"))
    if not line.startswith(b"$"):
        raise LinkError("Bad protocol from MASTER, the first byte is not '$' (we received "
                        "'%s'), are you sure the host and port are right?"
                        % line.decode("utf-8", "replace"))
    where = "to parser" if diskless() else "to disk"
    if line[1:5] == b"EOF:" and len(line) >= 5 + MARK_SIZE:
        link.transfer_size = 0
        link._log("notice", "MASTER <-> REPLICA sync: receiving streamed RDB from master "
                            "with EOF %s" % where)
        return bytes(line[5:5 + MARK_SIZE]), 0
    try:
        size = int(line[1:])
    except ValueError:
        size = 0
    if size < 0:
        raise LinkError("Bad protocol from MASTER: negative RDB length")
    link.transfer_size = size
    link._log("notice", "MASTER <-> REPLICA sync: receiving %d bytes from master %s"
              % (size, where))
    return None, size


def receive(link: "MasterLink", mark: Optional[bytes], size: int,
            timeout: float) -> Tuple[bytes, bytearray]:
    """Read the whole payload from ``link``'s socket: (the RDB, the bytes that
    followed it: the start of the command stream)."""
    if mark is not None:
        return _until_mark(link, mark, timeout)
    buf = link._buf
    while len(buf) < size:
        link.transfer_read = len(buf)
        link._fill(timeout)
        buf = link._buf
    link.transfer_read = size
    return bytes(buf[:size]), bytearray(buf[size:])


def _until_mark(link: "MasterLink", mark: bytes, timeout: float) -> Tuple[bytes, bytearray]:
    searched = 0
    while True:
        buf = link._buf
        found = buf.find(mark, max(0, searched - MARK_SIZE))
        if found >= 0:
            link.transfer_read = found + MARK_SIZE
            return bytes(buf[:found]), bytearray(buf[found + MARK_SIZE:])
        searched = len(buf)
        link.transfer_read = searched
        link._fill(timeout)


def load(state: "ServerState", payload: bytes, log: Callable[[str, str], None]) -> None:
    """Replace every database and function with the master's RDB. A payload that does
    not load leaves the replica empty (as Redis does) and raises LinkError."""
    from .replica import LinkError
    log("notice", "MASTER <-> REPLICA sync: Flushing old data")
    flush_everything(state)
    log("notice", "MASTER <-> REPLICA sync: Loading DB in memory")
    started = time.monotonic()
    from ..persistence import LoadingInfo
    state.loading_info = LoadingInfo(len(payload))
    state.repl.loading = True
    try:
        # Every 1024 keys the hub serves clients: -LOADING, as processEventsWhileBlocked.
        loaded, _, end = rdb.load_bytes(state, payload, "the master's RDB",
                                        progress=lambda: gevent.sleep(0))
    except rdb.RDBError as exc:
        flush_everything(state)
        raise LinkError("Failed trying to load the MASTER synchronization DB from disk: "
                        "%s" % exc) from None
    except Exception as exc:  # a corrupt payload may fail anywhere in the decoders
        flush_everything(state)
        raise LinkError("Failed trying to load the MASTER synchronization DB from disk: "
                        "%r" % exc) from None
    finally:
        state.repl.loading = False
        state.loading_info = None
    if end != len(payload):
        flush_everything(state)
        raise LinkError("Failed trying to load the MASTER synchronization DB from disk: "
                        "%d bytes after the end of the RDB" % (len(payload) - end))
    log("notice", "MASTER <-> REPLICA sync: Loaded %d keys in %.3f seconds"
        % (loaded, time.monotonic() - started))


def flush_everything(state: "ServerState") -> None:
    """Every key of every database and every function library (emptyData): WATCHers,
    tracking clients and blocked clients see it as FLUSHALL. Asynchronous (counted
    in lazyfreed_objects) with replica-lazy-flush, as Redis's readSyncBulkPayload."""
    from ..commands.functions import functions
    from ..datatypes.lazyfree import lazily_freed_entries
    lazy = state.config.values["replica-lazy-flush"]
    for db in state.dbs:
        db.flush(lazy)
    state.replica_expires.clear()
    registry = functions(state).registry
    if lazy:
        state.stats.lazyfreed_objects += lazily_freed_entries(len(registry.functions))
    registry.flush()
    state.tracking.flushed(None, lazy)


def pause_aof(link: "MasterLink", diskless: bool) -> None:
    """Stop appending while the master's RDB replaces the data (stopAppendOnly)."""
    from .. import persistence
    saves = getattr(link.state, "snapshots", None)
    if saves is not None and saves.child is not None:
        if not diskless:
            link._log("notice", "Replica is about to load the RDB file received from "
                                "the master, but there is a pending RDB child running. "
                                "Killing process %d and removing its temp file to avoid "
                                "any race" % saves.child.pid)
        saves.kill(link.state)          # its snapshot would be of the old data
    if link.state.aof is not None:
        aof = link.state.aof
        link.state.aof = None
        aof.close()
        link._aof_paused = True
        persistence.refresh_write_denied(link.state)
        from .. import propagate
        propagate.refresh(link.state)       # the AOF no longer wants effects


def resume_aof(link: "MasterLink") -> None:
    """appendonly is still on: start a fresh AOF from the new data
    (restartAOFAfterSYNC)."""
    if not link._aof_paused:
        return
    link._aof_paused = False
    from .. import persistence
    if link.state.config["appendonly"] and link.state.aof is None:
        error = persistence.appendonly_changed(link.state)
        if error:
            link._log("warning", "Failed restarting the AOF after the sync: %s" % error)
