"""Crash reports, as Redis writes them before it dies (debug.c's bugReportStart /
sigsegvHandler / _serverPanic / _serverAssert / bugReportEnd): a banner, what went
wrong ("crashed by signal: N", "Guru Meditation: ...", "=== ASSERTION FAILED ==="),
the stack (Python's, of every thread), INFO and the client list, then the process dies
the way Redis's does (killed by the signal, or abort()), so a supervisor, a core dump
setting or a test harness sees the same death.

Only a server that owns its process (the command line) installs the handlers or
accepts DEBUG SEGFAULT/PANIC/ASSERT: an embedded server must not kill its host.
Faults inside the interpreter or a C library (a real SIGSEGV) cannot run Python code
safely: :mod:`faulthandler` writes the stacks to the log for those.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

_THIS_FILE = os.path.abspath(__file__)
_START = "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n"
_END = ("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n"
        "       Please report the crash by opening an issue on github:\n\n"
        "           https://github.com/ (miniredis)\n\n")


def install(state: "ServerState") -> None:
    """At start-up of a server that owns its process, with crash-log-enabled: a report
    when a SIGABRT (or a SIGSEGV, SIGBUS, SIGFPE, SIGILL sent by another process)
    arrives; faulthandler's stacks for faults of the interpreter itself."""
    state.owns_process = True
    if not state.config["crash-log-enabled"]:
        return
    stream = state.log.stream()
    try:
        faulthandler.enable(file=stream, all_threads=True)
    except (ValueError, OSError, AttributeError):      # (no usable file descriptor)
        pass
    import gevent
    gevent.signal_handler(signal.SIGABRT, _on_signal, state, signal.SIGABRT)


def _on_signal(state: "ServerState", signum: int) -> None:
    report(state, ["Redis %s crashed by signal: %d" % (_version(), signum)])
    die(signum)


def report(state: "ServerState", lines: List[str], stack: bool = True) -> None:
    """Write a bug report to the log: ``lines`` (what happened), then with
    crash-log-enabled the stacks, INFO and CLIENT LIST."""
    log = state.log
    log.raw("warning", _START)
    for line in lines:
        log("warning", line)
    if stack and state.config["crash-log-enabled"]:
        log.raw("warning", "\n------ STACK TRACE ------\n" + _stacks())
        try:
            from .commands.info import info_text
            log.raw("warning", "\n------ INFO OUTPUT ------\n"
                    + info_text(state, ["all"]).replace("\r\n", "\n"))
            from .commands.connection import client_line
            now = time.time()
            log.raw("warning", "\n------ CLIENT LIST OUTPUT ------\n" + "".join(
                client_line(client, now) + "\n" for client in list(state.clients.values())))
        except Exception as exc:       # the report must not stop the death
            log("warning", "(the rest of the report failed: %r)" % exc)
    log.raw("warning", _END)


def die(signum: Optional[int] = None) -> None:
    """End the process as Redis's bugReportEnd: killed by ``signum`` (its default
    action, so a core is dumped where that is set up), or abort() after a panic or a
    failed assertion (``_exit(1)`` with use-exit-on-panic)."""
    sys.stdout.flush()
    faulthandler.disable()
    if signum is None:
        signum = signal.SIGABRT
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)           # (only if the signal could not end it)


def on_debug(state: "ServerState", what: bytes) -> None:
    """DEBUG SEGFAULT, PANIC or ASSERT: Redis's report for each, then the death."""
    if what == b"segfault":
        # (Redis writes to a read-only page: SEGV_ACCERR.)
        report(state, ["Redis %s crashed by signal: %d, si_code: 2"
                       % (_version(), signal.SIGSEGV)])
        die(signal.SIGSEGV)
    if what == b"panic":
        report(state, ["------------------------------------------------",
                       "!!! Software Failure. Press left mouse button to continue",
                       "Guru Meditation: DEBUG PANIC called at Unix time %d #debug.c:506"
                       % time.time()])
    else:
        report(state, ["=== ASSERTION FAILED ===", "==> debug.c:526 '1 == 2' is not true"])
    if state.config["use-exit-on-panic"]:
        sys.stdout.flush()
        os._exit(1)
    die()


def unexpected_error(client: Any, message: str) -> None:
    """An error reply to a client that must obey (our master's stream, the AOF being
    loaded): the data set diverges, so Redis logs it (afterErrorReply) and, per
    propagation-error-behavior, panics (a read-only replica with panic or
    panic-on-replicas; the AOF with panic)."""
    state = client.state
    master = client.kind == "master"
    state.stats.unexpected_error_replies += 1
    command = "<unknown>" if message.startswith("ERR unknown command") \
        or client.last_command == "NULL" else client.last_command
    source, target = ("replica", "master") if master else ("server", "AOF-loading-client")
    state.log("warning", "== CRITICAL == This %s is sending an error to its %s: '%s' after "
                         "processing the command '%s'" % (source, target, message[:4096],
                                                          command))
    behavior = state.config["propagation-error-behavior"]
    if master:
        panics = state.config["replica-read-only"] and behavior in (
            "panic", "panic-on-replicas")
    else:
        panics = behavior == "panic"
    if panics and state.owns_process:
        report(state, ["------------------------------------------------",
                       "!!! Software Failure. Press left mouse button to continue",
                       "Guru Meditation: This %s panicked sending an error to its %s after "
                       "processing the command '%s' #networking.c:551"
                       % (source, target, command)])
        die()


def _stacks() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        out.append("Thread %s (%s), most recent call last:\n" % (ident, names.get(ident)))
        out.extend(entry for entry in traceback.format_stack(frame)
                   if _THIS_FILE not in entry)     # (not the report's own frames)
    return "".join(out)


def _version() -> str:
    from . import __version__
    return "7.0.15 (miniredis %s)" % __version__
