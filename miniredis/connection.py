"""One ``Client`` per socket: the read loop and dispatch.

Every complete request in a read is executed in order through the command table
(:meth:`Client.run_requests`, the hot path) and all replies leave in one write. How
bytes become requests (hiredis plus Redis's own rules for inline commands, huge
announcements and unauthenticated clients) is :class:`miniredis.parsing.RequestParser`,
how replies leave (buffer, writes, back-pressure) is
:class:`miniredis.output.ReplyWriter`, and what refuses a request before it runs is
:class:`miniredis.gate.RequestGate`; ``Client`` inherits all three.
"""
from __future__ import annotations

import itertools
import math
import os
import time
import traceback
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import hiredis

from .commands import Command
from .errors import CommandError, ProtocolError, Refused
from .histogram import record_overflow
from .blocking import BLOCKED
from .gate import RequestGate
from .monitor import feed as monitor_feed, shown as monitor_shown
from .protocol import (BULK_HEADS, CRLF, INT_REPLIES, OK, OK_BYTES, PONG, RESP2, RESP3,
                       Bulks, Encoder, Raw, append_bulk_items)
from .security.outputlimits import close_if_over
from .output import ReplyWriter
from .parsing import RequestParser
from .runs import run_alike
from .querybuf import on_held as querybuf_held, on_read as querybuf_read
from .wire import requests_length

PONG_BYTES = b"+PONG\r\n"

if TYPE_CHECKING:  # pragma: no cover
    from .readiness import ReadyQueue
    from .state import ServerState

_perf_counter = time.perf_counter
_floor = math.floor
_time = time.time
_read = os.read
_write = os.write

READ_SIZE = 64 * 1024


def _rotated(count: int, start: int) -> Any:
    """0..count-1 from ``start`` on, then the ones before it."""
    start = min(start, count)
    return itertools.chain(range(start, count), range(start))


class Client(RequestParser, ReplyWriter, RequestGate):
    """A connected client and all its per-connection state."""

    # Every attribute __init__ sets is a slot: a slot is read and written at a fixed
    # offset, while past 30 attributes CPython keeps them in a real dict that every
    # access looks up (the client has 68). About 6 percent of the instructions of a
    # lone request's read (PING 26,406 -> 24,813; GET 30,718 -> 29,229). The bases keep
    # a __dict__, so an attribute not listed here (a subclass's) still works.
    __slots__ = (
        "_deferred", "_flush_scheduled", "_held", "_held_bytes", "_loop",
        "_over_soft_limit_since",
        "_pending", "_pending_inline", "_read_len", "_read_start", "_read_watcher",
        "_ready", "_scan_left", "_scan_pos", "_unsent", "_write_watcher", "addr",
        "_found", "authenticated", "batch", "blocked", "callers", "closed", "closing",
        "created", "db", "encoder", "ev_bucket", "ev_mem", "ev_out", "fd", "gated", "id",
        "in_callback", "in_exec",
        "laddr", "last_command", "last_interaction", "lib_name", "lib_ver", "multi",
        "multi_error", "multi_mem", "name", "no_blocking", "no_evict", "out",
        "psubscriptions", "qb_alloc", "qb_big", "qb_fast", "qb_peak", "rb_defer",
        "rb_peak", "rb_reset", "rb_size", "reader", "reply_mode", "resp", "sock",
        "ssubscriptions", "state", "sub_high", "subscribed", "subscriptions",
        "tracking", "unix", "user", "watch_dirty", "watched", "woff",
    )

    kind = "normal"     # CLIENT LIST/KILL TYPE: "master" for a replica's master client
    # mustObeyClient: the AOF's loading client and a replica's master client (set on
    # those instances) run what they are sent without the usual refusals.
    obeyed = False

    def __init__(self, state: "ServerState", sock: Any, addr: str, laddr: str,
                 unix: bool = False) -> None:
        self.state = state
        self.sock = sock
        self.id = state.new_client_id()
        self.addr = addr
        self.laddr = laddr
        self.unix = unix
        try:
            self.fd = sock.fileno()
        except OSError:
            self.fd = -1
        self.name: Optional[str] = None
        self.lib_name = ""
        self.lib_ver = ""
        self.db = state.dbs[0]
        self.resp = 2
        self.encoder: Encoder = RESP2
        acl = state.acl
        self.user = acl.default          # the ACL user this connection runs as
        self.authenticated = acl.open    # as Redis: only a nopass, enabled default user
        self.in_exec = False             # running EXEC's queued commands (ACL context)
        # The requests run_requests is running, and (batch, request) for each EXEC or
        # script that runs commands of its own: where a command stands, for the
        # counts a batch adds when it ends (requests_before).
        self.batch: Any = ()
        self.callers: List[Tuple[Any, List[bytes]]] = []
        # batch id -> (batch, where the last search found its request): requests run
        # in order, so each search goes on from there (a read of 10,000 INFOs, or a
        # held pipeline of millions, is not searched from its start each time).
        self._found: Dict[int, Tuple[Any, int]] = {}
        now = time.time()
        self.created = now
        self.last_interaction = now
        self.last_command = "NULL"
        self.reply_mode = "on"          # CLIENT REPLY ON|OFF|SKIP
        # The replication offset after this client's last write (what WAIT waits
        # for); set by the propagator and the replication feed's lane.
        self.woff = 0
        self.no_evict = False
        # maxmemory-clients (security/clientevict.py): the memory last counted, the
        # bucket (-1: none), the reply chunks already summed.
        self.ev_mem = 0
        self.ev_bucket = -1
        self.ev_out: Any = None
        self.closing = False            # close once pending replies are written
        self.closed = False
        self.multi: Optional[List[List[bytes]]] = None  # queued requests in MULTI
        self.multi_error = False        # a command was refused while queueing
        self.multi_mem = 0              # the queued arguments' bytes, 8 more each
        self.watched: Dict[Tuple[int, bytes], bool] = {}  # WATCHed (db, key) entries
        self.watch_dirty = False        # a watched key changed: EXEC will fail
        self.subscriptions: Dict[bytes, None] = {}   # channels (in subscription order)
        self.psubscriptions: Dict[bytes, None] = {}  # patterns
        self.ssubscriptions: Dict[bytes, None] = {}  # shard channels
        self.subscribed = False         # any of the three: RESP2 limits the commands
        self.sub_high: Any = None       # (channels, shard channels): the most ever held
        self._flush_scheduled = False   # pushed messages wait for a loop callback
        self._over_soft_limit_since = 0.0
        self.out: List[bytes] = []
        self._unsent = bytearray()      # reply bytes the socket has not accepted yet
        self._loop: Any = None
        self._ready: Any = None         # the server's ReadyQueue once started
        self._read_watcher: Any = None
        self._write_watcher: Any = None
        self.in_callback = False        # running this client's requests right now
        self.blocked: Any = None        # the blocking.Waiter while parked in BLPOP & co.
        self.no_blocking = False        # inside EXEC or a script: never park
        self._held: List[List[bytes]] = []  # requests waiting for the client to unblock
        # Their size in Redis's query buffer, which parses nothing while the client is
        # blocked or paused (CLIENT LIST qbuf; client-query-buffer-limit applies)
        self._held_bytes = 0
        self.reader = hiredis.Reader()
        self._pending = bytearray()     # bytes of a request not complete yet
        self._pending_inline = False
        self._scan_pos = 0              # header scan progress within _pending
        self._scan_left = -1            # arguments still to scan; -1: count unread
        self._read_start = 0            # where the newest read begins in the parsed buffer
        # Unparsed input of a client that must authenticate: (buffer, offset).
        self._deferred: Optional[Tuple[bytes, int]] = None
        self.tracking: Any = None       # tracking.ClientTracking while CLIENT TRACKING is on
        self._read_len = 0
        # Redis's query buffer as modelled by miniredis.querybuf (CLIENT LIST, memory).
        self.qb_alloc = 0               # its sdsalloc
        self.qb_peak = 0                # its largest length since the clients cron
        self.qb_big = -1                # length of a big argument being read into it
        self.qb_fast = 0                # reads up to this long change none of these
        self.rb_size = 16384            # Redis's reply buffer: size (rbs), peak (rbp)
        self.rb_peak = 16384
        self.rb_reset = int(now)        # (seconds, compared with ms: as Redis does)
        # (reply list, bytes before it) when a deferred-length reply began: Redis's
        # reply buffer takes nothing after it (security/outputlimits.py)
        self.rb_defer: Any = None
        self.gated = False              # a slow-path check applies (auth, MULTI...)
        self._update_gate()

    # on_readable's shortcut (_serve_read) and the batch's write (send_batched) parse,
    # run and write as process() and flush() do: only for a class that keeps both as
    # they are here, and a client whose flush is replaced on it (a replica's: the
    # master's _add_link) is marked False too.
    _plain_io = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._plain_io = cls.process is Client.process and cls.flush is Client.flush

    # -- state --------------------------------------------------------------------
    @property
    def db_index(self) -> int:
        return self.db.id

    def set_protocol(self, version: int) -> None:
        self.resp = version
        self.encoder = RESP3 if version == 3 else RESP2
        self._update_gate()

    def _update_gate(self) -> None:
        # A user with every right (the default user, unless restricted) stays off the
        # slow path; the ACL registry calls this for every client when rules change.
        self.gated = self.user.restricted \
            or (not self.authenticated and not self.state.acl.open) \
            or self.multi is not None \
            or self.reply_mode != "on" or (self.subscribed and self.resp == 2) \
            or self.state.busy_script is not None or self.state.maxmemory_gate \
            or self.state.write_denied is not None or self.state.no_replicas \
            or self.tracking is not None \
            or self.state.gate_all or self.state.repl.gate

    def pause_reading(self) -> bool:
        """Stop reading this client's requests while the hub serves others from
        inside its command (a slow script's hook: Redis's protectClient). True if it
        was reading, for :meth:`resume_reading`."""
        watcher = self._read_watcher
        if watcher is None or not watcher.active:
            return False
        watcher.stop()
        return True

    def resume_reading(self) -> None:
        """Read again after :meth:`pause_reading` returned True."""
        if self._read_watcher is not None and not self.closed:
            self._read_watcher.start(self.on_readable)

    def set_authenticated(self, value: bool, user: Any = None) -> None:
        """Mark the connection (un)authenticated, optionally as ``user``."""
        if user is not None:
            self.user = user
        self.authenticated = value
        self._update_gate()

    # -- the event loop side ----------------------------------------------------------
    # A client is not a greenlet: like Redis's ae loop, libev calls us when the socket
    # is readable (or, with replies left unsent, writable), in the hub itself. Handlers
    # never block, so this saves a greenlet switch and a failed recv per request.
    def start(self, loop: Any, ready: "ReadyQueue") -> None:
        """Begin serving this client from ``loop`` (the hub's libev loop); ``ready``
        orders the clients one poll finds readable (see :mod:`miniredis.readiness`)."""
        self._loop = loop
        self._ready = ready
        self._read_watcher = loop.io(self.fd, 1)
        self._read_watcher.start(self.on_readable)

    def on_readable(self, in_turn: bool = False) -> None:
        """Read and serve what the socket holds: the read watcher's callback, and the
        ReadyQueue's call (``in_turn``) when this client's turn in the batch comes."""
        if not in_turn:
            # libev calls the watchers of one poll last-in-first-out: unless this is
            # the only one, wait for the batch and be served in the kernel's order.
            ready = self._ready
            pending = self._loop.pendingcnt
            if pending or ready.waiting:
                # (ReadyQueue.join, written out: a call per client of every batch)
                ready.waiting.append(self)
                if not pending:
                    ready.run()
                elif not ready.scheduled:
                    ready.schedule()
                return
        elif self.closed:
            return
        try:
            # (os.read: the socket object's recv parses its arguments the slow way;
            # the watcher is stopped when the client closes, so the fd is ours)
            data = _read(self.fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        try:
            size = len(data)
            if size > self.qb_fast or self._pending or not self.authenticated \
                    or self.blocked is not None or self._held or data[0] != 42 \
                    or not self._plain_io:
                if size > self.qb_fast or self._pending:
                    querybuf_read(self, data)   # Redis's query buffer, as modelled
                self.process(data)
            else:
                self._serve_read(data, size)
            if self._pending and self.qb_big < 0:
                querybuf_held(self)
            # maxmemory-clients (every client is gated while it is set): count this
            # client now, unless its replies wait for the batch's write (then after it).
            if self.gated and self.state.client_eviction is not None and not self.out:
                self.state.client_eviction.after_io(self)
        except Exception:  # never let a bug escape into the hub
            self.state.log("warning", "Closing client after internal error: %s"
                           % traceback.format_exc())
            self.close()

    def _serve_read(self, data: bytes, size: int) -> None:
        """:meth:`process` for the common read: it starts with a multibulk request, at
        a request boundary, from a client that runs requests as they come. The
        general steps, with the layers and checks that cannot apply left out."""
        state = self.state
        state.stats.total_net_input_bytes += size
        self.last_interaction = _time()
        self._read_len = size           # CLIENT LIST qbuf while this read runs
        self._read_start = 0
        requests: List[List[bytes]] = []
        error = None
        try:
            pos = self._split_multibulk(data, 0, requests)
            if pos >= 0:
                self._split_from(data, pos, requests)
        except ProtocolError as exc:
            error = str(exc)
        self.in_callback = True
        self.run_requests(requests)
        self.in_callback = False
        if error is not None and not self.closing:
            self._protocol_error(error)
        out = self.out
        if out:
            if self.gated and state.normal_output_limited and close_if_over(self):
                return
            if self._unsent or state.aof is not None or self.closed:
                self.flush()
            elif self._ready.serving is self and not self.closing:
                # One of a batch: sent with the others (ReadyQueue.write_later, inlined).
                ready = self._ready
                ready.writes.append(self)
                if not ready.writing:
                    ready.writing = True
                    ready.loop.run_callback(ready.send_writes)
            else:
                # ReplyWriter._write_out, written out for the lone read (goal 6's
                # path: the call costs 2% of its instructions).
                data = out[0] if len(out) == 1 else b"".join(out)
                self.out = []
                size = len(data)
                if size > self.rb_peak:     # the reply buffer's peak (querybuf.py)
                    self.rb_peak = min(size, self.rb_size)
                state.stats.total_net_output_bytes += size
                try:
                    sent = _write(self.fd, data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError:
                    self.close()
                    return
                if sent < size:
                    self._wait_writable(data, sent)
        if self.closing and not self._unsent and not self.out:
            self.close()

    def process(self, data: bytes) -> None:
        """Parse ``data``, run every complete request, send all replies at once."""
        size = len(data)
        self.state.stats.total_net_input_bytes += size
        self.last_interaction = _time()
        self._read_len = size           # CLIENT LIST qbuf while this read runs
        self._process_parsed(data)

    def _process_parsed(self, data: bytes) -> None:
        """:meth:`process` for every other read: held-back bytes, a client that must
        authenticate (parsed up to each AUTH or HELLO), a blocked client."""
        start = 0
        while True:
            try:
                requests, error = self._parse(data, start)
            except ProtocolError as exc:  # query buffer overflow: close silently
                self.state.log("warning", "Closing client: %s" % exc)
                self.close()
                return
            if self.blocked is not None or self._held:
                self._held.extend(requests)     # run once the client is released
                self._held_bytes += requests_length(requests)
                requests = ()
                if self._held_bytes + len(self._pending) > \
                        self.state.config.values["client-query-buffer-limit"]:
                    # (Redis keeps it all unparsed in the query buffer, and closes
                    # a client whose buffer passes the limit, blocked or not)
                    self.state.log("warning", "Closing client that reached max query "
                                   "buffer length: %s" % self.addr)
                    self.close()
                    return
            self.in_callback = True
            self.run_requests(requests)
            self.in_callback = False
            # A client that must authenticate is parsed up to each AUTH or HELLO (its
            # limits may lift after one): the rest of its input waits here.
            deferred = self._deferred
            if deferred is None:
                break
            self._deferred = None
            if error is not None or self.closing:
                break
            data, start = deferred
        if error is not None and not self.closing:
            self._protocol_error(error)
        if self.out:
            ready = self._ready
            if ready is not None and ready.serving is self and not self.closing:
                ready.write_later(self)     # one of a batch: sent with the others
                return
            self.flush()
        if self.closing and not self._unsent and not self.out:
            self.close()

    def _protocol_error(self, error: str) -> None:
        """Answer malformed input with Redis's error; the connection then closes."""
        # As Redis's addReplyErrorFormat: no line breaks inside, the byte as it came
        # (expected '$', got '<any byte>').
        self.out.append(b"-%s\r\n" % error.replace("\r", " ").replace(
            "\n", " ").encode("latin-1", "replace"))
        self.state.stats.total_error_replies += 1
        self.closing = True

    def resume(self, reply: Any) -> None:
        """Released from a blocking command: send ``reply``, then run what was held.

        Held requests run from a loop callback, after the command that released this
        client has finished (Redis does it in beforeSleep), never re-entrantly.
        """
        if self.closed:
            return
        if self.reply_mode == "on" or not self._suppress_reply(reply):
            if reply.__class__ is CommandError:
                self.count_error(reply.message)
            self.encoder.encode_into(reply, self.out)
        if self.out and not self.in_callback:
            self.flush()
        if self._held and self._loop is not None:
            self._loop.run_callback(self._run_held)

    def _run_held(self) -> None:
        if self.closed or self.blocked is not None or not self._held:
            return
        held, self._held = self._held, []
        self._held_bytes = 0    # (what blocks again is held again, and counted)
        self.in_callback = True
        try:
            self.run_requests(held)
        finally:
            self.in_callback = False
        if self.out:
            self.flush()
        if self.closing and not self._unsent and not self.out:
            self.close()

    def kill(self) -> None:
        """Disconnect this client (CLIENT KILL, timeout, shutdown).

        A client killing itself gets its reply first, as in Redis; any other is
        closed at once.
        """
        self.closing = True
        if not self.in_callback:
            self.close()

    def close(self) -> None:
        """Release the connection and everything attached to it (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.closing = True
        for watcher in (self._read_watcher, self._write_watcher):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        self._read_watcher = self._write_watcher = None
        for hook in self.state.on_client_close:
            hook(self)
        self.state.clients.pop(self.id, None)
        try:
            self.sock.close()
        except OSError:
            pass

    # -- dispatch ---------------------------------------------------------------------
    def execute(self, args: List[bytes]) -> None:
        """Run one request and append its reply to ``self.out``."""
        self.run_requests((args,))

    def run_requests(self, requests: Any) -> int:
        """Run ``requests`` in order, appending each reply to ``self.out``.

        This is the server's hot path and the one place commands are dispatched (a
        single request goes through :meth:`execute`, which calls this). Names used
        per command are bound once per batch, the commonest replies are encoded
        inline, and one clock reading per command serves both as the end of its
        timing and the start of the next one. Stops early when the client is
        closing; returns how many requests ran.
        """
        state = self.state
        ready = state.blocking.ready
        # (the slowlog threshold in seconds; latency histograms kept: Config.dispatch)
        slow, track = state.config.dispatch
        if state.monitors:
            # Every command takes the after_slow branch: MONITOR feed (as it does
            # with a latency monitor threshold: LATENCY events).
            slow = -1.0
        names = state.names     # (rename-command)
        table = names.fast
        perf = _perf_counter
        out = self.out
        append = out.append
        done = 0
        count = len(requests)
        cmd = None
        outer = self.batch
        self.batch = requests
        started = perf()
        while done < count:
            if self.closing:
                break
            args = requests[done]
            done += 1
            try:
                cmd = table[args[0]]
            except KeyError:    # another spelling of a name, or no such command
                cmd = None
            if cmd is None or not cmd.min_args <= len(args) <= cmd.max_args:
                try:
                    cmd = names.resolve(args)
                except CommandError as exc:
                    cmd = None
                    self._reject(args, exc)
                    started = perf()
                    continue
            if self.gated:
                if self._gate(cmd, args):
                    started = perf()
                    if self._held and self.state.pause.postponed.get(self.id) is self \
                            and not self.in_exec:
                        # CLIENT PAUSE holds this request: it and the rest of the
                        # pipeline wait for the pause to end.
                        rest = requests[done:]
                        self._held[1:1] = rest
                        self._held_bytes += requests_length(rest)
                        done -= 1
                        break
                    continue
            elif done < count and cmd.alike and slow >= 0.0 and \
                    requests[done][0] == args[0]:
                # A run of this command starts here: run_alike serves all of it,
                # this request included (it always runs at least this one).
                done = run_alike(self, cmd, requests, done - 1, slow, track)
                if done < count:
                    started = perf()
                continue
            dirty = state.dirty     # (a write propagates only if it grows: dirty.py)
            try:
                reply = cmd.handler(self, args)
            except CommandError as exc:
                if exc.__class__ is Refused:    # (refused before the call: errors.py)
                    self._rejected(cmd, exc.message)
                    started = perf()
                    continue
                reply = exc
                cmd.failed_calls += 1
                if self.obeyed:     # (named in the divergence's log line: crash.py)
                    self.last_command = cmd.fullname
            except Exception:  # a bug must never kill the connection or the server
                state.log("warning", "Error running %s: %s"
                          % (cmd.fullname, traceback.format_exc()))
                reply = CommandError("ERR internal error while running '%s'"
                                     % cmd.fullname)
                cmd.failed_calls += 1
            # The reply is encoded inside the command's time, as Redis builds it in
            # the call: a big reply's cost is its command's, not the next one's.
            cls = reply.__class__
            if reply is not BLOCKED:
                if out is not self.out:  # a handler swapped the buffer (EXEC)
                    out = self.out
                    append = out.append
                if self.reply_mode != "on" and self._suppress_reply(reply, cmd) \
                        and not (cls is Raw and "pubsub" in cmd.flags):
                    pass    # (subscription notices are pushes: never silenced)
                elif reply is OK:
                    append(OK_BYTES)
                elif reply is PONG:
                    append(PONG_BYTES)
                elif cls is bytes:
                    try:
                        out.extend((BULK_HEADS[len(reply)], reply, CRLF))
                    except IndexError:
                        append(b"$%d\r\n%s\r\n" % (len(reply), reply))
                elif cls is int:
                    # (protocol._int, written out: formatting costs twice the lookup)
                    append(INT_REPLIES[reply + 2] if -2 <= reply <= 10000 else b":%d\r\n" % reply)
                elif reply is None:
                    append(self.encoder.null)
                elif cls is Bulks:
                    # (Encoder.encode_into's way, two calls shorter: ranges' replies)
                    append(b"*%d\r\n" % len(reply))
                    append_bulk_items(reply, out)
                else:
                    if cls is CommandError:
                        self.count_error(reply.message)
                    self.encoder.encode_into(reply, out)
            finished = perf()
            elapsed = finished - started
            started = finished
            cmd.calls += 1
            cmd.seconds += elapsed
            if cmd.changes_config:
                # As Redis: the thresholds are read after the call (CONFIG SET
                # slowlog-log-slower-than 0 logs itself), and hold for the rest.
                slow, track = state.config.dispatch
                if state.monitors:
                    slow = -1.0
            if elapsed >= slow:
                self.after_slow(cmd, args, elapsed, reply)
            if cmd.is_write:
                if cmd.adds_one and cls is not CommandError:
                    state.dirty += 1
                propagator = state.propagator
                if propagator is not None and (state.dirty > dirty or cmd.forced and
                                               cls is not CommandError):
                    # AOF, replicas (before waiters)
                    lane = propagator.lane   # (Propagator.feed's shortest path)
                    if lane is not None and not propagator.depth and \
                            (cmd.effect is None or len(args) == cmd.plain_arity):
                        lane.append((self, self.db.id, args))
                    else:
                        propagator.feed(self, cmd, args, reply)
            if ready and not state.blocking.suspended:
                state.blocking.serve_ready()
            if reply is BLOCKED:
                self.blocked.args = args    # its effect is logged when served (AOF)
                self.blocked.command = cmd  # failed_calls if served with an error
                self.blocked.duration = elapsed  # SLOWLOG and latency sample when served
                # No reply now; the rest of the pipeline waits for the release.
                rest = requests[done:]
                self._held[:0] = rest
                self._held_bytes += requests_length(rest)
                break
            if track:   # (a blocked command counts when it is served, as in Redis)
                try:
                    cmd.hist[_floor(elapsed * 1e6)] += 1   # (floor: cheaper than int)
                except IndexError:      # its first call, or 256 us and more
                    record_overflow(cmd, elapsed)
        if cmd is not None:
            # CLIENT LIST's cmd= field; set once per batch (CLIENT LIST/INFO set their
            # own name for the calling client).
            self.last_command = cmd.fullname
        if self.tracking is not None:
            state.tracking.after_batch(self)
        state.stats.total_commands_processed += done
        self.batch = outer
        return done

    def requests_before(self, request: List[bytes]) -> int:
        """How many requests ran before ``request`` in the batches now running
        (EXEC's and the one it came in): run_requests counts a batch's requests when
        it ends, Redis after each call, so INFO and CONFIG RESETSTAT add this to see
        Redis's total_commands_processed. Off the hot path: a search per level."""
        found = self._found
        if len(found) > 16:
            found.clear()
        position = 0
        for batch, running in self.callers + [(self.batch, request)]:
            last = found.get(id(batch))
            start = last[1] if last is not None and last[0] is batch else 0
            for index in _rotated(len(batch), start):
                if batch[index] is running:
                    found[id(batch)] = (batch, index)
                    position += index
                    break
        return position

    def after_slow(self, cmd: Command, args: List[bytes], elapsed: float,
                   reply: Any) -> None:
        """After a command past the batch's threshold: SLOWLOG, and (the threshold is
        below zero while monitors exist) the MONITOR feed. Off the hot path.

        As in Redis, EXEC (skip_slowlog) is not logged, only the commands it ran, and a
        command that blocked is logged when it is served (Blocking.serve_ready), with
        the arguments it was sent with."""
        state = self.state
        usec = state.config.values["slowlog-log-slower-than"]
        if usec >= 0 and elapsed >= usec / 1_000_000 and reply is not BLOCKED \
                and "skip_slowlog" not in cmd.flags:
            state.add_slowlog(args, int(elapsed * 1_000_000), self)
        if state.monitors and monitor_shown(cmd):
            monitor_feed(state, self, args)
        threshold = state.config.values["latency-monitor-threshold"]
        if threshold:
            state.latency.add_if_needed(
                threshold, "fast-command" if "fast" in cmd.flags else "command",
                int(elapsed * 1_000_000) // 1000)

    def _suppress_reply(self, reply: Any = None, cmd: Optional[Command] = None) -> bool:
        # A replica's link ("replica"): no reply ever goes; one produced (anything but
        # the empty Raw of REPLCONF ACK & co) drops it.
        if self.reply_mode == "replica":
            if reply.__class__ is not Raw or reply:
                self._replica_replied(cmd, reply)
            return True
        # CLIENT REPLY SKIP sets "skip_next": its own reply goes, then the next one.
        if self.reply_mode == "skip_next":
            self.reply_mode = "skip"
            return True
        if self.reply_mode == "skip":
            self.reply_mode = "on"
            self._update_gate()
            return True
        return self.reply_mode == "off"

    def _replica_replied(self, cmd: Optional[Command], reply: Any) -> None:
        """A replica's command produced a reply: Redis logs it and disconnects the
        replica (_addReplyToBufferOrList, logInvalidUseAndFreeClientAsync); an error
        is also logged as one sent to a replica (afterErrorReply)."""
        if self.closing:
            return
        import time as _time
        from .commands.connection import client_line
        name = cmd.fullname if cmd is not None else "<unknown>"
        log = self.state.log
        log("warning", "Replica generated a reply to command '%s', disconnecting it: %s"
            % (name, client_line(self, _time.time())))
        if reply.__class__ is CommandError:
            self.state.stats.unexpected_error_replies += 1
            text = reply.message        # (Redis logs the text it was given: no "ERR ")
            text = text[4:] if text.startswith("ERR ") else text
            log("warning", "== CRITICAL == This master is sending an error to its replica: "
                           "'%s' after processing the command '%s'" % (text[:4096], name))
        self.kill()
