"""Receiving and loading the RDB of a full resynchronisation (readSyncBulkPayload).

The master announces the payload as ``$<length>`` (an RDB file it saved) or, for a
diskless transfer, ``$EOF:<40-byte mark>`` followed by the RDB and the mark again.
Newlines before the announcement are the master's keep-alives. The payload is
collected in memory (Redis writes it to a temp file first; here nothing is left in
``dir``), then the dataset and functions are replaced by it.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Tuple

import gevent

from ..persistence import rdb

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState
    from .replica import MasterLink

MARK_SIZE = 40


def receive(link: "MasterLink", timeout: float) -> Tuple[bytes, bytearray]:
    """Read the announcement and the payload from ``link``'s socket: (the RDB, the
    bytes that followed it: the start of the command stream)."""
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
    if line[1:5] == b"EOF:" and len(line) >= 5 + MARK_SIZE:
        mark = bytes(line[5:5 + MARK_SIZE])
        link.transfer_size = 0
        link._log("notice", "MASTER <-> REPLICA sync: receiving streamed RDB from master "
                            "with EOF into memory")
        return _until_mark(link, mark, timeout)
    try:
        size = int(line[1:])
    except ValueError:
        size = 0
    if size < 0:
        raise LinkError("Bad protocol from MASTER: negative RDB length")
    link.transfer_size = size
    link._log("notice", "MASTER <-> REPLICA sync: receiving %d bytes from master into memory"
              % size)
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
