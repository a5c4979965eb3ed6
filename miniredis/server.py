"""The network side: listeners, accepting clients, background work, lifecycle.

Like Redis's event loop, nothing here runs a greenlet per connection: the listening
sockets and every client socket are libev watchers whose callbacks run in the hub
(see :mod:`miniredis.connection`), so a request costs no context switch.

A ``Server`` runs its gevent hub either in the calling thread (``serve_forever``) or in
a background thread (``start``/``stop``, or as a context manager), so a test or an
application can embed a server in-process. All data lives in ``self.state``
(:class:`miniredis.state.ServerState`) and is only touched from the hub's thread.
"""
from __future__ import annotations

import errno
import os
import socket as _stdsocket
import sys
import threading
from typing import Any, Callable, List, Optional

import gevent
import gevent.event

from . import commands
from . import crash, evict, oomscore, persistence, proctitle, watchdog
from .persistence import diskio
from .clock import Clock
from .config import Config
from .connection import Client
from .embed import DataAccess
from .errors import MAX_CLIENTS
from .log import configured_logger
from .readiness import ReadyQueue, serve_while_blocked
from .replication import replica, restart
from .security import clientevict, outputlimits
from .security.protected import refuse_connection
from .shutdown import Shutdown
from .state import ServerState

__all__ = ["Server", "ListenError"]


class _LoadInterrupted(Exception):
    """A shutdown arrived while the data was loading at start-up."""


class ListenError(OSError):
    """The server could not open a listening socket at start-up; the message is
    Redis's log line for it (its test harness looks for "Failed listening on port")."""


class Server(DataAccess):
    """A miniredis server.

    >>> with Server(port=0) as srv:      # a free port, served from a background thread
    ...     url = srv.url

    Keyword options are configuration parameters with ``_`` for ``-``
    (``requirepass="x"``, ``databases=4``...). The data and the clock can be read and
    changed without a client: see :class:`miniredis.embed.DataAccess`.
    """

    def __init__(self, host: Optional[str] = None, port: Optional[int] = None,
                 unixsocket: Optional[str] = None, config: Optional[Config] = None,
                 clock: Optional[Clock] = None, quiet: bool = True,
                 defer_loading: bool = False, **options: Any) -> None:
        commands.load_all()
        # Embedded (tests, applications): no automatic snapshots in the working
        # directory, and no dump.rdb picked up from it, unless a dir or dbfilename is
        # given: a fixture's server starts empty wherever pytest runs. The command line
        # (which passes its own config) keeps Redis's save points and loading.
        load_rdb = config is not None or "dir" in options or "dbfilename" in options
        if config is None:
            config = Config()
            config.set("save", "", startup=True)
            # Tests and applications embedding a server use DEBUG from loopback.
            config.set("enable-debug-command", "local", startup=True)
        if host is not None:
            config.set("bind", host, startup=True)
        if port is not None:
            config.set("port", str(port), startup=True)
        # Server(port=0): any free port (the embedding API). A configuration's port 0
        # means no TCP, as redis-server's.
        self._any_port = port == 0
        if unixsocket is not None:
            config.set("unixsocket", unixsocket, startup=True)
        for name, value in options.items():
            text = ("yes" if value else "no") if isinstance(value, bool) else str(value)
            config.set(name.replace("_", "-"), text, startup=True)
        self.config = config
        self.state = ServerState(config, clock)
        self.logger = configured_logger(config, quiet=quiet)
        self.state.log = self.logger
        self.state.acl.load_at_startup()     # ACLStartupError: refuse to start
        repl = self.state.repl
        self.logger.is_replica = lambda: repl.master_host is not None
        # The command line loads in serve_forever, after listening and the banner, as
        # redis-server (whose test suite waits for the banner's PID, then for the
        # load's outcome); an embedding caller learns of damaged files here.
        self._load_rdb = load_rdb
        self._loading_deferred = defer_loading
        if not defer_loading:
            self._load()
        self.state.shutdown = Shutdown(self.state, self._exit_after_shutdown)
        self.state.rebind = self._rebind      # CONFIG SET bind/port
        # (socket, io watcher, key): key is (bind address, port), or None for the
        # unix socket.
        self._listeners: List[Any] = []
        self._loop: Any = None
        self._ready_queue: Optional[ReadyQueue] = None   # ready sockets, in the kernel's order
        self._hub_thread: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()
        self._start_error: Optional[BaseException] = None
        self._stopped: Optional[gevent.event.Event] = None
        self._stop_watcher: Any = None
        self._cron: Optional[gevent.Greenlet] = None
        self._shutdown_save: Optional[bool] = None   # stop()'s save: as save points say
        self._persisted = False     # a SHUTDOWN (or signal) saved what it had to
        self.state.clock.on_advance(self._on_clock_advance)

    def _load(self) -> None:
        restart.before_load(self.state)       # a master's backlog, for expired keys' DELs
        persistence.start(self.state, self._load_rdb)   # AOFLoadError: refuse to start
        restart.after_load(self.state)        # the RDB's place in replication history
        evict.apply_config(self.state, startup=True)   # maxmemory: gates, LFU maps
        outputlimits.apply(self.state)      # client-output-buffer-limit normal
        clientevict.apply(self.state)       # maxmemory-clients

    # -- addresses ----------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.config["bind"].split()[0]

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with ``port=0``)."""
        return self.state.tcp_port

    @property
    def unixsocket(self) -> Optional[str]:
        return self.state.unixsocket

    @property
    def url(self) -> str:
        """``redis://host:port/0`` (or ``unix://path`` when only a socket is served)."""
        if self.port == 0 and self.unixsocket:
            return "unix://" + self.unixsocket
        host = self.host
        if ":" in host:
            host = "[%s]" % host
        return "redis://%s:%d/0" % (host, self.port)

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> "Server":
        """Serve from a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._thread_main, name="miniredis",
                                        daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise self._start_error
        return self

    def stop(self) -> None:
        """Close every client and listener; joins the background thread if any."""
        if self._thread is not None:
            if self._stop_watcher is not None:
                self._stop_watcher.send()
            self._thread.join()
            self._thread = None
        elif self._stopped is not None:
            self._shutdown()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in this thread until SHUTDOWN, SIGTERM/SIGINT or ``stop()``."""
        try:
            self._listen(announce=True)
        except _LoadInterrupted:        # a shutdown while loading: nothing to save
            self._shutdown()
            return
        try:
            self._stopped.wait()
        finally:
            self._shutdown()

    def _thread_main(self) -> None:
        try:
            self._listen()
            hub = gevent.get_hub()
            self._stop_watcher = hub.loop.async_()
            self._stop_watcher.start(self._stopped.set)
        except BaseException as exc:  # reported to the caller of start()
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._stopped.wait()
        finally:
            self._shutdown()
            self._stop_watcher.close()
            self._stop_watcher = None
            gevent.get_hub().destroy(destroy_loop=True)

    def _listen(self, announce: bool = False) -> None:
        """Open the listeners, load the data if that was deferred, then serve them.
        ``announce``: log the start-up lines (the banner once listening, as Redis's
        initServer; "Ready to accept connections" once loaded)."""
        state = self.state
        config = self.config
        self._stopped = gevent.event.Event()
        self._loop = gevent.get_hub().loop
        if announce:                # (the command line: signals from now on)
            self._install_signal_handlers(loading=self._loading_deferred)
        self._ready_queue = ReadyQueue(self._loop)
        self._hub_thread = threading.get_ident()
        state.loop = self._loop
        state.serve_while_blocked = self._serve_while_blocked
        port = config["port"]
        sockets = []
        try:
            if port != 0 or (self._any_port and not config["unixsocket"]):
                try:
                    for address in config["bind"].split():
                        listener = self._open_tcp(address, state.tcp_port or port)
                        if listener is not None:
                            state.tcp_port = listener.getsockname()[1]
                            sockets.append((listener, (address, state.tcp_port)))
                except OSError as exc:
                    raise ListenError("Failed listening on port %d (TCP), aborting."
                                      % port) from exc
            path = config["unixsocket"]
            if path:
                try:
                    if os.path.exists(path):
                        os.unlink(path)
                    listener = _stdsocket.socket(_stdsocket.AF_UNIX,
                                                 _stdsocket.SOCK_STREAM)
                    sockets.append((listener, None))
                    listener.bind(path)
                    if config["unixsocketperm"]:
                        os.chmod(path, config["unixsocketperm"])
                    listener.listen(config["tcp-backlog"])
                except OSError as exc:
                    raise ListenError("Failed opening Unix socket: %s"
                                      % (exc.strerror or exc)) from exc
                state.unixsocket = path
            if not sockets:
                raise ListenError("Configured to not listen anywhere, exiting.")
            if announce:
                for line in self._banner():
                    self.logger("notice", line)
                state.retitles = True       # (the command line's server: proctitle.py)
                proctitle.on_listeners_changed(state)     # as redis-server's main
        except BaseException:
            for listener, _ in sockets:
                listener.close()
            raise
        for listener, key in sockets:
            self._watch(listener, key)
        if self._loading_deferred:
            self._loading_deferred = False
            try:
                self._load_while_serving()
            except BaseException:
                self._close_listeners()
                raise
            if announce:
                self._install_signal_handlers()
        self._cron = gevent.spawn(self._cron_loop)
        replica.start(state)        # replicaof in the configuration: connect to it
        if announce:
            self.logger("notice", self._listening_line())
            self.logger("notice", "Ready to accept connections")

    def _load_while_serving(self) -> None:
        """The start-up load of the command line, as Redis's: clients connect and get
        -LOADING (INFO and the other commands flagged "loading" run), the hub being
        served every so often from the loaders (state.load_progress); a shutdown
        meanwhile ends the load (_LoadInterrupted)."""
        state = self.state
        state.repl.loading = True       # (-LOADING, INFO loading:1; every client gated)
        state.refresh_gates()
        state.load_progress = self._serve_while_loading
        state.loading_info = persistence.LoadingInfo(self._startup_load_size())
        try:
            self._load()
        finally:
            state.load_progress = None
            state.loading_info = None
            state.repl.loading = False
            state.refresh_gates()

    def _startup_load_size(self) -> int:
        """INFO's loading_total_bytes: the RDB's size (0 for an AOF, or no file)."""
        if self.config["appendonly"]:
            return 0
        try:
            return os.path.getsize(os.path.join(self.config["dir"], self.config["dbfilename"]))
        except OSError:
            return 0

    def _serve_while_loading(self) -> None:
        self._serve_while_blocked()     # clients (their watchers run here), signals
        if self._stopped.is_set():
            raise _LoadInterrupted()

    def _serve_while_blocked(self) -> None:
        # Redis's processEventsWhileBlocked (see readiness.serve_while_blocked).
        serve_while_blocked(self._loop, self._ready_queue, self.state.stats)

    def _close_listeners(self) -> None:
        for listener, watcher, _ in self._listeners:
            watcher.stop()
            watcher.close()
            listener.close()
        self._listeners = []

    def _open_tcp(self, address: str, port: int) -> Optional[Any]:
        """A listening TCP socket on ``address`` (Redis's spelling: ``*`` and ``::*``
        for any, a leading ``-`` for optional); None if the address is optional and
        absent, or of a protocol this host lacks. OSError otherwise."""
        optional = address.startswith("-")
        host = address[1:] if optional else address
        host = host.split("\0", 1)[0]     # (a C string is what Redis resolves)
        family = _stdsocket.AF_INET6 if ":" in host else _stdsocket.AF_INET
        host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
        listener = None
        try:
            listener = _stdsocket.socket(family, _stdsocket.SOCK_STREAM)
            listener.setsockopt(_stdsocket.SOL_SOCKET, _stdsocket.SO_REUSEADDR, 1)
            if family == _stdsocket.AF_INET6:
                listener.setsockopt(_stdsocket.IPPROTO_IPV6, _stdsocket.IPV6_V6ONLY, 1)
            try:
                listener.bind((host, port))
            except (UnicodeError, ValueError, TypeError):   # no resolver takes it
                raise _stdsocket.gaierror(_stdsocket.EAI_NONAME,
                                          "Name or service not known") from None
            listener.listen(self.config["tcp-backlog"])
        except OSError as exc:
            if listener is not None:
                listener.close()
            self.logger("warning", "Warning: Could not create server TCP listening "
                        "socket %s:%d: bind: %s" % (address, port, exc.strerror or exc))
            if (exc.errno == errno.EADDRNOTAVAIL and optional) or exc.errno in (
                    errno.ENOPROTOOPT, errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT,
                    errno.EPFNOSUPPORT, errno.EAFNOSUPPORT):
                return None
            raise
        return listener

    def _watch(self, listener: Any, key: Any) -> None:
        listener.setblocking(False)
        watcher = self._loop.io(listener.fileno(), 1)
        watcher.start(_Acceptor(self, listener, key is None).on_readable)
        self._listeners.append((listener, watcher, key))

    def _rebind(self, bind: str, port: int) -> None:
        """Listen on ``bind`` at ``port`` (0: no TCP) instead of the current TCP
        listeners (CONFIG SET bind/port, in the hub). Listeners that stay the same are
        kept; new ones open before the old ones close. If one cannot open, the old
        ones are left as they were (reopened if they had to make room) and OSError
        is raised."""
        if self._loop is None:      # not serving yet (or any more): start() reads config
            return
        wanted = [(address, port) for address in bind.split()] if port else []
        tcp = [entry for entry in self._listeners if entry[2] is not None]
        keep = [entry for entry in tcp if entry[2] in wanted]
        drop = [entry for entry in tcp if entry[2] not in wanted]
        kept_keys = [entry[2] for entry in keep]
        opened: List[Any] = []

        def open_new() -> None:
            for key in wanted:
                if key not in kept_keys:
                    listener = self._open_tcp(*key)
                    if listener is not None:
                        opened.append((listener, key))

        def close(entries: List[Any]) -> None:
            for listener, watcher, _ in entries:
                watcher.stop()
                watcher.close()
                listener.close()
                self._listeners.remove((listener, watcher, _))

        try:
            open_new()
        except OSError as exc:
            for listener, _ in opened:
                listener.close()
            opened.clear()
            if exc.errno != errno.EADDRINUSE or not any(key[1] == port for _, _, key in drop):
                raise
            # An old listener may hold the address (127.0.0.1:P against *:P): close
            # the old ones first, as Redis does, and put them back if that fails too.
            old_keys = [entry[2] for entry in drop]
            close(drop)
            drop = []
            try:
                open_new()
            except OSError:
                for listener, _ in opened:
                    listener.close()
                for key in old_keys:
                    try:
                        listener = self._open_tcp(*key)
                    except OSError:
                        continue
                    if listener is not None:
                        self._watch(listener, key)
                raise
        close(drop)
        for listener, key in opened:
            self._watch(listener, key)
        live = [entry for entry in self._listeners if entry[2] is not None]
        self.state.tcp_port = port     # still the port, as in Redis, with no address
        self.logger("notice", "Listening on %s" % (", ".join(
            "%s:%d" % entry[2] for entry in live) or "no TCP port"))

    def _banner(self) -> List[str]:
        """What the log says once the server listens, before loading, in Redis's words
        where tools look for them (its test suite waits for " PID: <pid>"): the banner
        with always-show-logo yes or on a terminal, else "Running mode=..."."""
        if self.state.config["always-show-logo"] or (
                not self.state.config["logfile"] and sys.stdout.isatty()):
            from . import __version__
            return ["miniredis %s (Redis 7.0 compatible), running in standalone mode"
                    % __version__, "    Port: %d" % self.state.tcp_port,
                    "    PID: %d" % os.getpid()]
        return ["Running mode=standalone, port=%d." % self.state.tcp_port]

    def _listening_line(self) -> str:
        where = []
        if self.state.tcp_port:
            where.append("%s:%d" % (self.host, self.state.tcp_port))
        if self.state.unixsocket:
            where.append("unix:%s" % self.state.unixsocket)
        return "miniredis listening on %s (pid %d)" % (", ".join(where) or "no TCP port",
                                                       os.getpid())

    def _install_signal_handlers(self, loading: bool = False) -> None:
        """SIGTERM/SIGINT start a shutdown (shutdown.py): plain Python handlers, which
        run at once even while a long blocking save holds the event loop (a second
        SIGINT then exits at once, as Redis's handler does); they only record the
        request, the cron acts on it."""
        import signal
        on_signal = self.state.shutdown.on_signal
        for signum, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
            signal.signal(signum, lambda _signum, _frame, name=name: on_signal(name))
        if not loading:
            crash.install(self.state)     # (serve_forever: this server owns the process)
            state = self.state
            oomscore.apply(state)         # (oom-score-adj, now that it owns the process)
            diskio.Child.on_fork = lambda title: _forked_child(state, title)
            watchdog.apply(state)         # (watchdog-period given at start-up)

    def _shutdown(self) -> None:
        watchdog.disarm(self.state)
        self._close_listeners()
        if self._cron is not None:
            self._cron.kill(block=False)
            self._cron = None
        replica.shutdown(self.state)
        self.state.replicas.shutdown()       # a full sync's child
        for client in list(self.state.clients.values()):
            client.close()
        self.state.migrate_sockets.close_all()
        # The AOF's last writes fsynced; an RDB save if save points ask for it (after
        # SHUTDOWN or a signal, shutdown.py has done it).
        persistence.shutdown(self.state, False if self._persisted else self._shutdown_save)
        path = self.state.unixsocket
        if path and os.path.exists(path):
            try:
                os.unlink(path)
            except OSError:
                pass
        self._loop = None
        self._hub_thread = None
        self.state.loop = None
        self.state.serve_while_blocked = None
        self.logger("notice", "miniredis is now ready to exit, bye bye...")

    def _exit_after_shutdown(self) -> None:
        """The shutdown sequence succeeded (see shutdown.py): stop serving."""
        self._persisted = True
        if self._stopped is not None:
            self._stopped.set()

    # -- connections --------------------------------------------------------------
    def _accept(self, listener: Any, unix: bool) -> None:
        """Accept every pending connection (in the hub)."""
        for _ in range(1000):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: log, keep the listener alive
                self.logger("warning", "Accepting client connection: %s" % exc)
                return
            host = ""
            try:
                sock.setblocking(False)
                if unix:
                    path = self.state.unixsocket or ""
                    addr = laddr = "%s:0" % path
                else:
                    host = address[0]
                    sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
                    addr = _format_addr(address)
                    laddr = _format_addr(sock.getsockname())
            except OSError:
                sock.close()
                continue
            self._serve_client(sock, addr, laddr, unix, host)

    def _serve_client(self, sock: Any, addr: str, laddr: str, unix: bool,
                      host: str = "") -> None:
        state = self.state
        # As Redis: the client limit first, then protected mode (clientAcceptHandler).
        refusal: Optional[bytes] = None
        if len(state.clients) >= self.config["maxclients"]:
            refusal = b"-%s\r\n" % MAX_CLIENTS.encode()
        else:
            refusal = refuse_connection(state, host, unix)
        if refusal is not None:
            state.stats.rejected_connections += 1
            try:
                sock.send(refusal)
            except OSError:
                pass
            sock.close()
            return
        client = Client(state, sock, addr, laddr, unix=unix)
        state.clients[client.id] = client
        state.stats.total_connections_received += 1
        client.start(self._loop, self._ready_queue)

    # -- background work ----------------------------------------------------------
    def _cron_loop(self) -> None:
        """Active expiry and idle-client timeouts, ``hz`` times a second."""
        state = self.state
        while True:
            hz = max(1, min(500, self.config["hz"]))
            gevent.sleep(1.0 / hz)
            if state.pause_cron:        # DEBUG PAUSE-CRON 1: serverCron skips its work
                continue
            try:
                state.stats.instant.cron(state.stats)   # instantaneous_*, every 100 ms
                state.active_expire()
                if state.blocking.ready:      # expired streams answer XREADGROUP waiters
                    state.blocking.serve_ready()
                self._close_idle_clients()
                state.clients_cron.run(state.clients.values(), hz,
                                       state.reply_peak_reset_ms, state.reply_resizing,
                                       state.client_eviction, state.stats)
                state.memory_cron()           # used_memory follows idle-time writes
                if state.tracking.clients:    # tracking-table-max-keys, as serverCron
                    state.tracking.limit()
                persistence.cron(state)       # AOF: write, fsync everysec, rewrites
                state.replicas.cron()         # replicas: pings, syncs, timeouts, backlog
                state.shutdown.cron()         # a signal's shutdown; waiting for replicas
                watchdog.cron(state)          # watchdog-period: push the SIGALRM back
                state.migrate_sockets.close_idle()   # MIGRATE's unused connections
            except Exception as exc:  # pragma: no cover - never let the cron die
                self.logger("warning", "cron error: %r" % exc)

    def _close_idle_clients(self) -> None:
        timeout = self.config["timeout"]
        if not timeout:
            return
        import time
        limit = time.time() - timeout
        for client in list(self.state.clients.values()):
            if client.last_interaction < limit and not getattr(client, "blocked", False) \
                    and client.kind != "master" \
                    and not self.state.replicas.is_replica(client):   # repl-timeout
                client.kill()

    def _on_clock_advance(self) -> None:
        # advance() is typically called from a test's thread: expire in the hub's.
        self.call(self._after_time_jump)

    def _after_time_jump(self) -> None:
        self.state.active_expire()
        if self.state.blocking.ready:
            self.state.blocking.serve_ready()
        self.state.blocking.expire_due()

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` in the server's thread and return its result.

        The data is only ever touched from the thread running the hub; a test or an
        application in another thread inspects or changes it through this.
        """
        loop = self._loop
        if loop is None or self._hub_thread in (None, threading.get_ident()):
            return function(*args)
        done = threading.Event()
        outcome: List[Any] = [None, None]

        def run() -> None:
            try:
                outcome[0] = function(*args)
            except BaseException as exc:  # handed to the calling thread
                outcome[1] = exc
            finally:
                done.set()

        loop.run_callback_threadsafe(run)
        done.wait()
        if outcome[1] is not None:
            raise outcome[1]
        return outcome[0]


class _Acceptor:
    """A listening socket as a ReadyQueue source: it takes its turn among the clients
    one poll found ready, as in Redis's event loop (see miniredis.readiness)."""

    __slots__ = ("server", "listener", "unix")

    def __init__(self, server: Server, listener: Any, unix: bool) -> None:
        self.server = server
        self.listener = listener
        self.unix = unix

    def on_readable(self, in_turn: bool = False) -> None:
        server = self.server
        if not in_turn:
            ready = server._ready_queue
            if server._loop.pendingcnt or ready.waiting:
                ready.join(self)
                return
        if self.listener.fileno() >= 0:   # not closed meanwhile (CONFIG SET port)
            server._accept(self.listener, self.unix)


def _format_addr(address: Any) -> str:
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return "%s:%d" % (host, port)
    return str(address)


def _forked_child(state: "ServerState", title: str) -> None:
    """First thing in a forked child of the command line's server: oom-score-adj's
    child class, and the process title of what it does (redis-rdb-bgsave...)."""
    oomscore.apply(state, oomscore.CHILD)
    if title:
        proctitle.retitle(state, title)
