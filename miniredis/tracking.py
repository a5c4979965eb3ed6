"""Server-assisted client-side caching: CLIENT TRACKING's tables (Redis's tracking.c).

A tracking client in the default mode has the keys its read-only commands touched
remembered in one server-wide table, key name -> ids of the clients that may hold it
(the database is not part of the entry, as in Redis). The first modification of a key
sends each of those clients one ``invalidate`` message and forgets the entry: a RESP3
push on the client's own connection, or, with REDIRECT, a message to the redirection
client (a push if it speaks RESP3, a ``__redis__:invalidate`` pub/sub message if it is a
RESP2 subscriber). BCAST clients instead subscribe to key prefixes: every modified key
under a prefix is collected and the prefix's clients get one array of keys per event
loop cycle.

Cost when nobody tracks: nothing. The modification hook (``ServerState.key_hooks``) is
installed only while the table or the prefix table holds something, and a tracking
client is ``gated``: its requests take the dispatcher's slow path, where
:meth:`Tracking.before_command` records the keys of the previous command (keys are
remembered after a command ran, as Redis's call() does) and sends the invalidations that
the client's own writes caused (they follow the command's reply, as in Redis).

Three cases are not the tracking client's plain commands. A script (EVAL, FCALL and
their _RO forms) that runs a read-only command makes its caller track the keys the
script declared, as Redis does, whatever key that command read. A key evicted before a
command runs (maxmemory) is announced at once, so before that command's reply. A client
served by the release of its blocking command is the running client while served: its
own notices follow its reply, and those of the client whose write released it follow
that client's reply.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .datatypes.lazyfree import tracking_table_freed
from .errors import c_text as _text      # (the prefix printed with %s)
from .querybuf import RaxShape
from .scripting import script_running

if TYPE_CHECKING:  # pragma: no cover
    from .commands import Command
    from .keyspace import Database
    from .state import ServerState

INVALIDATE_PUSH = b">2\r\n$10\r\ninvalidate\r\n"
INVALIDATE_MESSAGE = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}

# Blocking commands whose served pop of the ready list is not a signalled modification.
_QUIET_SOURCE = frozenset(("blpop", "brpop", "blmove", "brpoplpush"))

# Read-only commands whose own keys are not remembered (the commands they run are).
_NOT_REMEMBERED = frozenset(("eval_ro", "evalsha_ro", "fcall_ro"))


class ClientTracking:
    """One client's tracking mode (its CLIENT_TRACKING_* flags in Redis)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching",
                 "broken", "prefixes", "candidate", "inner", "rax")

    def __init__(self) -> None:
        self.redirect = 0                  # client id, 0: none
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False               # CLIENT CACHING given for the next command
        self.broken = False                # the redirection client went away
        self.prefixes: Dict[bytes, None] = {}
        # The command now running and its calls count when it started: its keys are
        # remembered once it has run (its count went up), at the next request or at
        # the end of the batch.
        self.candidate: Optional[Tuple[Any, List[bytes], int, bool]] = None
        self.inner: Optional[Tuple[Any, List[bytes], int, bool]] = None  # within EXEC
        self.rax: Any = None               # the prefixes' rax shape (tot-mem), BCAST

    def flags(self) -> List[bytes]:
        """TRACKINGINFO's flags after "on", in Redis's order."""
        flags = []
        if self.bcast:
            flags.append(b"bcast")
        if self.optin:
            flags.append(b"optin")
            if self.caching:
                flags.append(b"caching-yes")
        if self.optout:
            flags.append(b"optout")
            if self.caching:
                flags.append(b"caching-no")
        if self.noloop:
            flags.append(b"noloop")
        if self.broken:
            flags.append(b"broken_redirect")
        return flags


class _Prefix:
    """A BCAST prefix: its clients, and the keys modified since the last broadcast
    (key -> the client that modified it last, for NOLOOP)."""

    __slots__ = ("clients", "keys")

    def __init__(self) -> None:
        self.clients: Dict[Any, None] = {}
        self.keys: Dict[bytes, Any] = {}


class Tracking:
    """The tracking table, the prefix table and their counters, for one server."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.table: Dict[bytes, Dict[int, None]] = {}
        self.total_items = 0
        self.prefixes: Dict[bytes, _Prefix] = {}
        self.clients = 0                   # INFO tracking_clients
        self.current: Any = None           # the tracking client whose batch is running
        self.pending: List[Optional[bytes]] = []   # its own invalidations (None: flush)
        self._broadcast_scheduled = False
        self._limit_rounds = 0
        # processCommand's evictions run before the command: Redis sends the requester
        # their notices at once (after its reply only from within the call).
        self.before_call = False
        self.quiet_key: Optional[bytes] = None   # see enter_unblocked
        self.releaser: Any = None
        self.releaser_pending: List[Optional[bytes]] = []
        state.on_client_close.append(self._client_closed)
        state.on_client_reset.append(self._client_closed)

    # -- enabling ---------------------------------------------------------------------
    def enable(self, client: Any, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: List[bytes]) -> None:
        """CLIENT TRACKING ON with options already validated (enableTracking)."""
        mode = client.tracking
        if mode is None:
            mode = client.tracking = ClientTracking()
            self.clients += 1
            client._update_gate()
        mode.broken = False
        mode.redirect = redirect
        mode.bcast = mode.optin = mode.optout = mode.noloop = False
        if bcast:
            mode.bcast = True
            if mode.rax is None:
                mode.rax = RaxShape()
            for prefix in prefixes or [b""]:
                mode.rax.add(prefix)
                entry = self.prefixes.get(prefix)
                if entry is None:
                    entry = self.prefixes[prefix] = _Prefix()
                entry.clients[client] = None
                mode.prefixes[prefix] = None
            self._install()
        mode.optin, mode.optout, mode.noloop = optin, optout, noloop

    def disable(self, client: Any) -> None:
        """CLIENT TRACKING OFF, RESET, disconnection (disableTracking)."""
        mode = client.tracking
        if mode is None:
            return
        self._finish(client, mode)
        if self.current is client:
            self._flush_pending(client)
            self.current = None
        for prefix in mode.prefixes:
            entry = self.prefixes.get(prefix)
            if entry is not None:
                entry.clients.pop(client, None)
                if not entry.clients:
                    del self.prefixes[prefix]
        client.tracking = None
        self.clients -= 1
        client._update_gate()
        self._install()

    def _client_closed(self, client: Any) -> None:
        if client.tracking is not None:
            self.disable(client)

    def prefix_conflict(self, client: Any,
                        prefixes: List[bytes]) -> Tuple[Optional[str], bool]:
        """Redis's overlap check of new BCAST prefixes: (error text or None, whether
        tracking is enabled anyway).

        Redis 7.0 has a quirk kept here: when two *given* prefixes overlap and the first
        of them is not the first given, the error is sent and tracking is still enabled
        (with every prefix), followed by +OK.
        """
        from . import errors
        existing = list(client.tracking.prefixes) if client.tracking is not None else []
        existing.sort()
        for i, prefix in enumerate(prefixes):
            for old in existing:
                if _overlap(old, prefix):
                    return errors.TRACKING_PREFIX_OVERLAP_EXISTING.format(
                        _text(prefix), _text(old)), False
            for other in prefixes[i + 1:]:
                if _overlap(prefix, other):
                    return errors.TRACKING_PREFIX_OVERLAP.format(
                        _text(prefix), _text(other)), i > 0
        return None, True

    def _install(self) -> None:
        # The keyspace calls us only while there is something to invalidate.
        state = self.state
        wanted = self.key_modified if (self.table or self.prefixes) else None
        if state.key_hooks.get("tracking") != wanted:
            state.set_key_hook("tracking", wanted)
        if self.prefixes:
            state.on_key_expired = self.server_modified
        elif state.on_key_expired == self.server_modified:
            state.on_key_expired = None

    # -- the dispatcher's side --------------------------------------------------------
    def before_command(self, client: Any, cmd: "Command", args: List[bytes]) -> None:
        """A tracking client's request is about to be checked and run (slow path)."""
        mode = client.tracking
        in_exec = client.in_exec
        if in_exec:
            self._finish_inner(client, mode)
        else:
            self._finish(client, mode)
        self.current = client
        if not in_exec and self.state.config.values["tracking-table-max-keys"]:
            self.limit()                   # processCommand's check, before the call
        if "readonly" in cmd.flags and not mode.bcast and cmd.name not in _NOT_REMEMBERED:
            # Whether CACHING was given is read now; the command cannot change it.
            remember = not ((mode.optin and not mode.caching)
                            or (mode.optout and mode.caching))
        else:
            remember = False
        if in_exec:
            mode.inner = (cmd, args, cmd.calls, remember)
        else:
            mode.candidate = (cmd, args, cmd.calls, remember)

    def after_batch(self, client: Any) -> None:
        """The end of a tracking client's batch of requests (or of EXEC's commands)."""
        mode = client.tracking
        if client.in_exec:
            self._finish_inner(client, mode)
            return
        self._finish(client, mode)
        self.current = None
        if self.state.config.values["tracking-table-max-keys"]:
            self.limit()
        if self.state.loop is None and self.prefixes:
            self.broadcast()               # no event loop to wait for (embedded use)

    def enter_unblocked(self, waiter: Any,
                        key: bytes) -> Tuple[Any, List[Optional[bytes]], Optional[bytes]]:
        """A blocked client is about to be served from the ready ``key``: it is the
        running client until :meth:`leave_unblocked` (the releasing client's state is
        set aside).

        Redis does not signal the list it pops for a served BLPOP, BRPOP, BLMOVE or
        BRPOPLPUSH (the push that made it ready did): no invalidation for it, and for
        BCAST's NOLOOP its last writer stays the pusher. BLMPOP and the sorted-set
        commands do signal it, as the served client's write."""
        saved = (self.current, self.pending, self.quiet_key)
        # The releasing client's reply is not written yet: its notices wait for it.
        self.releaser = self.current
        self.releaser_pending = self.pending
        self.current, self.pending = waiter.client, []
        command = waiter.command
        name = command.name if command is not None else ""
        args = waiter.args
        if name in _QUIET_SOURCE and not (name != "blpop" and name != "brpop" and args
                                          and args[1] == args[2]):
            self.quiet_key = key        # (a list moved onto itself is signalled)
        return saved

    def leave_unblocked(self, client: Any, saved: Tuple[Any, List[Optional[bytes]],
                                                         Optional[bytes]]) -> None:
        """The served client got its reply: now its own invalidations (afterCommand)."""
        if self.pending and client.tracking is not None and not client.closed:
            self._flush_pending(client)
        self.current, self.pending, self.quiet_key = saved
        self.releaser = None

    def _finish(self, client: Any, mode: ClientTracking) -> None:
        """The previous command is over: remember its keys, send what it invalidated
        for this client (after its reply), drop a spent CLIENT CACHING."""
        candidate = mode.candidate
        if candidate is None:
            if self.pending and self.current is client:
                self._flush_pending(client)
            return
        mode.candidate = None
        cmd, args, calls, remember = candidate
        if remember and cmd.calls != calls:   # it ran (a refused or queued one did not)
            self.remember(client, cmd, args)
        if self.pending:
            self._flush_pending(client)
        # resetClient: CACHING applies to one command (or transaction), CLIENT aside.
        if client.multi is None and (cmd.parent is None or cmd.parent.name != "client"):
            mode.caching = False

    def _finish_inner(self, client: Any, mode: ClientTracking) -> None:
        """A command run by EXEC is over: remember its keys (notices wait for EXEC)."""
        inner = mode.inner
        if inner is not None:
            mode.inner = None
            cmd, args, calls, remember = inner
            if remember and cmd.calls != calls:
                self.remember(client, cmd, args)

    def _flush_pending(self, client: Any) -> None:
        pending, self.pending = self.pending, []
        for key in pending:
            if key is None:
                self.send(client, _NULL[client.resp])
            else:
                self.send(client, b"*1\r\n$%d\r\n%s\r\n" % (len(key), key))

    def remember(self, client: Any, cmd: "Command", args: List[bytes]) -> None:
        """Record the keys of a read-only command ``client`` ran (trackingRememberKeys)."""
        if "pubsub" in cmd.flags:
            return
        try:
            positions = cmd.key_indexes(args)
        except Exception:
            return
        if not positions:
            return
        table = self.table
        client_id = client.id
        for pos in positions:
            if pos >= len(args):
                continue
            key = args[pos]
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if client_id not in ids:
                ids[client_id] = None
                self.total_items += 1
        self._install()

    def script_read(self, client: Any) -> None:
        """``client``'s script ran a read-only command: as in Redis, that makes the
        keys the script *declared* (EVAL's or FCALL's keys, not the ones the command
        touched) read by ``client``."""
        mode = client.tracking
        if mode.bcast or (mode.optin and not mode.caching) or (mode.optout and mode.caching):
            return
        caller = mode.inner if client.in_exec else mode.candidate
        if caller is not None:
            self.remember(client, caller[0], caller[1])

    # -- invalidation -----------------------------------------------------------------
    def key_modified(self, db: "Database", key: bytes) -> None:
        """The keyspace's modification hook (installed while anything is tracked)."""
        if key == self.quiet_key:
            return
        if self.prefixes:
            # Who wrote it, for NOLOOP: a script's writes are its own client's in
            # Redis (not the caller's), so nobody's here.
            modifier = None if script_running(self.state) else self.current
            for prefix, entry in self.prefixes.items():
                if key.startswith(prefix):
                    entry.keys[key] = modifier
            if not self._broadcast_scheduled:
                self._schedule_broadcast()
        if key in self.table:
            self._invalidate(key, not self.before_call)

    def server_modified(self, db: "Database", key: bytes) -> None:
        """``key`` just expired or was evicted: for BCAST's NOLOOP no client modified
        it (Redis signals those with no client), whoever's command was running."""
        for prefix, entry in self.prefixes.items():
            if key in entry.keys:
                entry.keys[key] = None

    def _invalidate(self, key: bytes, in_command: bool) -> None:
        """Tell the clients that read ``key`` and forget them (trackingInvalidateKey).

        The running client's own notices wait for its reply when ``in_command``.
        """
        ids = self.table.pop(key)
        self.total_items -= len(ids)
        clients = self.state.clients
        current = self.current
        for client_id in ids:
            target = clients.get(client_id)
            if target is None:
                continue
            mode = target.tracking
            if mode is None or mode.bcast:
                continue
            if target is current:
                if mode.noloop:
                    continue
                if in_command:
                    self.pending.append(key)
                    continue
            elif target is self.releaser:
                # Its command released a blocked client being served now: the
                # notice follows that command's reply.
                self.releaser_pending.append(key)
                continue
            self.send(target, b"*1\r\n$%d\r\n%s\r\n" % (len(key), key))
        if not self.table and not self.prefixes:
            self._install()

    def flushed(self, client: Any, lazy: bool = False) -> None:
        """FLUSHDB/FLUSHALL: every tracking client is told with a null, the table is
        emptied (trackingInvalidateKeysOnFlush); ``lazy``: as an asynchronous flush,
        which frees a big table in Redis's background thread (lazyfreed_objects)."""
        if lazy and self.table:
            self.state.stats.lazyfreed_objects += tracking_table_freed(self.table)
        if self.clients:
            for other in list(self.state.clients.values()):
                if other.tracking is None:
                    continue
                if other is client and other is self.current:
                    self.pending.append(None)
                else:
                    self.send(other, _NULL[other.resp])
        self.table = {}
        self.total_items = 0
        self._install()

    def send(self, client: Any, payload: bytes) -> None:
        """One invalidation message (``payload``: the keys array or a null) for a
        tracking client, on its connection or its redirection's (sendTrackingMessage)."""
        mode = client.tracking
        target = client
        redirect = mode.redirect if mode is not None else 0
        if redirect:
            target = self.state.clients.get(redirect)
            if target is None or target.closed:
                if mode is not None:
                    mode.broken = True
                if client.resp > 2:
                    client.push(b">2\r\n$21\r\ntracking-redir-broken\r\n:%d\r\n" % redirect)
                return
        if target.resp > 2:
            target.push(INVALIDATE_PUSH + payload)
        elif redirect and target.subscribed:
            target.push(INVALIDATE_MESSAGE + payload)

    def _schedule_broadcast(self) -> None:
        loop = self.state.loop
        if loop is None:
            return                         # no event loop: sent at the batch's end
        self._broadcast_scheduled = True
        loop.run_callback(self.broadcast)

    def broadcast(self) -> None:
        """Send each prefix's modified keys to its clients (beforeSleep's job)."""
        self._broadcast_scheduled = False
        for prefix in sorted(self.prefixes):
            entry = self.prefixes[prefix]
            if not entry.keys:
                continue
            keys = sorted(entry.keys.items())
            common = _keys_array(keys, None)
            entry.keys = {}
            for client in list(entry.clients):
                if client.closed or client.tracking is None:
                    continue
                if client.tracking.noloop:
                    own = _keys_array(keys, client)
                    if own is not None:
                        self.send(client, own)
                else:
                    self.send(client, common)

    def limit(self) -> None:
        """Keep the table within tracking-table-max-keys: forget random keys, each
        invalidated, with an effort that grows while the limit is not reached."""
        max_keys = self.state.config.values["tracking-table-max-keys"]
        table = self.table
        if len(table) <= max_keys:
            self._limit_rounds = 0
            return
        effort = 100 * (self._limit_rounds + 1)
        keys = random.sample(list(table), min(effort, len(table) - max_keys))
        for key in keys:
            self._invalidate(key, False)
        if len(self.table) <= max_keys:
            self._limit_rounds = 0
        else:
            self._limit_rounds += 1


def _keys_array(keys: List[Tuple[bytes, Any]], exclude: Any) -> Optional[bytes]:
    """The RESP array of modified keys, without those ``exclude`` modified (NOLOOP);
    None if that leaves nothing."""
    chosen = [key for key, modifier in keys if exclude is None or modifier is not exclude]
    if not chosen:
        return None
    parts = [b"*%d\r\n" % len(chosen)]
    for key in chosen:
        parts.append(b"$%d\r\n%s\r\n" % (len(key), key))
    return b"".join(parts)


def _overlap(first: bytes, second: bytes) -> bool:
    """Either is a prefix of the other."""
    size = min(len(first), len(second))
    return first[:size] == second[:size]
