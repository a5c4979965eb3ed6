"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c).

While a client is in MULTI the dispatcher hands every command to
:func:`queue_command` instead of running it (except the few Redis runs at once: EXEC,
DISCARD, MULTI, WATCH, QUIT, RESET). A command refused while queueing (unknown, wrong
arity, not allowed in a transaction) marks the transaction so EXEC answers EXECABORT.

EXEC runs the queued requests through the dispatcher's own loop with the replies
collected into one array: each command is timed, counted and encoded exactly as if it
had been sent alone. Blocking commands answer at once inside EXEC, and clients blocked
on keys it writes are served only after the whole transaction (``blocking.suspended``).

WATCH is optimistic locking: :class:`Watches` maps (db, key) to the clients watching
it, and the keyspace's modification signal marks those clients dirty, so EXEC returns
a null reply. The signal hook is installed only while some key is watched, so
unwatched traffic pays nothing for it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, TYPE_CHECKING, Tuple

from .. import errors
from ..errors import CommandError
from ..protocol import NULL_ARRAY, OK, Raw
from . import Command, command
from ..persistence import begin_unit, end_unit

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..keyspace import Database
    from ..state import ServerState

# Commands that run at once even inside MULTI (multi.c's list in processCommand).
_RUN_IN_MULTI = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))

WatchKey = Tuple[int, bytes]


class Watches:
    """Which clients WATCH which keys, for one server.

    A client's own record (``client.watched``) maps each (db id, key) to whether the
    key was already logically expired when watched: deleting such a key later is no
    change (Redis 7's rule), while any other modification makes the client dirty.
    """

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.by_key: Dict[WatchKey, Set["Client"]] = {}
        state.on_client_close.append(self.unwatch_all)
        state.on_client_reset.append(_reset_client)

    def watch(self, client: "Client", db: "Database", key: bytes) -> None:
        entry = (db.id, key)
        if entry in client.watched:
            return
        client.watched[entry] = key in db.data and _expired(db, key, self.state.clock.ms())
        self.by_key.setdefault(entry, set()).add(client)
        if "watch" not in self.state.key_hooks:
            self.state.set_key_hook("watch", self.key_modified)

    def unwatch_all(self, client: "Client") -> None:
        by_key = self.by_key
        for entry in client.watched:
            clients = by_key.get(entry)
            if clients is not None:
                clients.discard(client)
                if not clients:
                    del by_key[entry]
        client.watched = {}
        client.watch_dirty = False
        if not by_key:
            self.state.set_key_hook("watch", None)

    def key_modified(self, db: "Database", key: bytes) -> None:
        """The keyspace's modification signal (installed while anything is watched)."""
        clients = self.by_key.get((db.id, key))
        if not clients:
            return
        entry = (db.id, key)
        for client in list(clients):    # (a client made dirty leaves the set)
            if client.watched.get(entry) and key not in db.data:
                # Watched while already expired, and now deleted: logically unchanged.
                client.watched[entry] = False
                continue
            # As Redis's touchWatchedKey: once dirty, nothing else it watches can
            # matter, so it watches nothing more (CLIENT LIST's tot-mem, flag d).
            self.unwatch_all(client)
            client.watch_dirty = True

    def db_replaced(self, db: "Database", replacement: Optional["Database"]) -> None:
        """``db`` is about to be emptied (FLUSHDB, FLUSHALL) or to take the contents of
        ``replacement`` (SWAPDB): touch its watched keys as Redis's
        touchAllWatchedKeysInDb does. A key already expired when watched that ends up
        absent, or expired again, is no logical change; nor is an absent key replaced
        by an expired one (it now counts as watched-expired)."""
        db_id = db.id
        now = self.state.clock.expiry_ms()
        for (watched_id, key), clients in list(self.by_key.items()):
            if watched_id != db_id:
                continue
            exists = key in db.data
            replaced = replacement is not None and key in replacement.data
            if not exists and not replaced:
                continue
            expired_after = replaced and _expired(replacement, key, now)  # type: ignore[arg-type]
            entry = (db_id, key)
            for client in list(clients):
                if client.watched.get(entry):
                    if not replaced:
                        client.watched[entry] = False   # deleted: no longer "expired"
                        continue
                    if expired_after:
                        continue
                elif not exists and expired_after:
                    client.watched[entry] = True
                    continue
                client.watch_dirty = True

    def expired_since_watch(self, client: "Client") -> bool:
        """Has a key that was alive when watched expired since (even if not deleted)?"""
        now = self.state.clock.ms()
        dbs = self.state.dbs
        for (db_id, key), was_expired in client.watched.items():
            if was_expired:
                continue
            db = dbs[db_id]
            if _expired(db, key, now) and key in db.data:
                return True
        return False


def _expired(db: "Database", key: bytes, now: int) -> bool:
    """Is the key logically expired (not yet deleted)? Redis's keyIsExpired."""
    when = db.expires.get(key) if db.expires else None
    return when is not None and when <= now


def db_replaced(db: "Database", replacement: Optional["Database"]) -> None:
    """Tell the WATCHes that ``db`` is emptied or swapped (see Watches.db_replaced)."""
    watches = db.state.__dict__.get("watches")
    if watches is not None and watches.by_key:
        watches.db_replaced(db, replacement)


def _watches(state: "ServerState") -> Watches:
    watches = getattr(state, "watches", None)
    if watches is None:
        watches = state.watches = Watches(state)
    return watches


def _reset_client(client: "Client") -> None:
    # RESET: leave any transaction and forget every watched key.
    _end_multi(client)
    _forget_watches(client)


def _forget_watches(client: "Client") -> None:
    """UNWATCH, and the end of a transaction: no keys watched, not dirty."""
    if client.watched:
        _watches(client.state).unwatch_all(client)
    client.watch_dirty = False


def _end_multi(client: "Client") -> None:
    client.multi = None
    client.multi_error = False
    client.multi_mem = 0
    client._update_gate()


# -- dispatcher hooks -----------------------------------------------------------------
def queue_command(client: "Client", cmd: Command, args: List[bytes]) -> bool:
    """Called for every command while ``client`` is in MULTI; True if it was queued
    (the reply ``+QUEUED`` is appended), False if it must run now."""
    if cmd.name in _RUN_IN_MULTI and cmd.parent is None:
        return False
    if "no_multi" in cmd.flags:
        client._rejected(cmd, errors.NOT_ALLOWED_IN_MULTI)
        return True
    if not (client.multi_error or client.watch_dirty):
        # (as Redis's queueMultiCommand: a doomed transaction queues nothing more)
        client.multi.append(args)
        client.multi_mem += sum(map(len, args)) + 8 * len(args)   # CLIENT LIST multi-mem
    client.out.append(b"+QUEUED\r\n")
    # (counted when EXEC runs it: run_requests counted the request, Redis no call)
    client.state.stats.total_commands_processed -= 1
    return True


def exec_abort(client: "Client", message: str) -> str:
    """EXEC itself was refused (arity, auth): the transaction ends; the reply's text."""
    _end_multi(client)
    _forget_watches(client)
    if message.startswith("ERR "):
        message = message[4:]
    return errors.EXECABORT_BECAUSE + message


def flag_queue_error(client: "Client") -> None:
    """A command was refused while queueing: EXEC will answer EXECABORT."""
    client.multi_error = True


# -- commands -------------------------------------------------------------------------
@command("multi", 1, "noscript loading stale fast allow_busy", group="transactions",
         since="1.2.0", summary="Start a transaction block")
def multi(client: "Client", args: List[bytes]) -> Any:
    if client.multi is not None:
        raise CommandError(errors.MULTI_NESTED)
    _watches(client.state)  # registers the RESET and disconnect hooks
    client.multi = []
    client.multi_error = False
    client.multi_mem = 0
    client._update_gate()
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy", group="transactions",
         since="2.0.0", summary="Discard all commands issued after MULTI")
def discard(client: "Client", args: List[bytes]) -> Any:
    if client.multi is None:
        raise CommandError(errors.DISCARD_WITHOUT_MULTI)
    _end_multi(client)
    _forget_watches(client)
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog", group="transactions",
         since="1.2.0", summary="Execute all commands issued after MULTI")
def exec_(client: "Client", args: List[bytes]) -> Any:
    if client.multi is None:
        raise CommandError(errors.EXEC_WITHOUT_MULTI)
    queued = client.multi
    aborted = client.multi_error
    _end_multi(client)
    dirty = client.watch_dirty
    if client.watched:
        watches = _watches(client.state)
        dirty = dirty or watches.expired_since_watch(client)
        # Unwatch before running: the transaction's own writes touch nothing.
        watches.unwatch_all(client)
    client.watch_dirty = False
    if aborted:
        raise CommandError(errors.EXECABORT)
    if dirty:
        return NULL_ARRAY
    return _run_queued(client, queued, args)


def _run_queued(client: "Client", queued: List[List[bytes]], request: List[bytes]) -> Raw:
    """Run the queued requests as one atomic step (``request``: the EXEC); their
    encoded replies as one array."""
    blocking = client.state.blocking
    saved_out, saved_mode = client.out, client.reply_mode
    saved_no_blocking = client.no_blocking   # (the master's and the AOF's client: always)
    client.out = replies = []
    client.reply_mode = "on"
    client.no_blocking = True
    client.in_exec = True           # ACL denials now say the rules changed since queueing
    blocking.suspended += 1
    begin_unit(client.state)        # the AOF logs the effects as one MULTI/EXEC
    judged_at = client.state.clock.hold_expiry()    # no key expires during EXEC
    client.callers.append((client.batch, request))  # (Client.requests_before)
    try:
        ran = client.run_requests(queued)
    finally:
        client.callers.pop()
        client.state.clock.restore_expiry(judged_at)
        client.in_exec = False
        end_unit(client.state)
        blocking.suspended -= 1
        client.no_blocking = saved_no_blocking
        client.out = saved_out
        client.reply_mode = saved_mode
        client._update_gate()
    return Raw(b"*%d\r\n%s" % (ran, b"".join(replies)))


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1),
         group="transactions", since="2.2.0",
         summary="Watch the given keys to determine execution of the MULTI/EXEC block")
def watch(client: "Client", args: List[bytes]) -> Any:
    if client.multi is not None:
        raise CommandError(errors.WATCH_IN_MULTI)
    if client.watch_dirty:
        return OK       # (as Redis: no point watching more, EXEC will fail)
    watches = _watches(client.state)
    db = client.db
    for key in args[1:]:
        watches.watch(client, db, key)
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", group="transactions",
         since="2.2.0", summary="Forget about all watched keys")
def unwatch(client: "Client", args: List[bytes]) -> Any:
    _forget_watches(client)
    return OK
