"""Redis's software watchdog (watchdog-period, a debugging aid: debug.c).

A SIGALRM is scheduled watchdog-period milliseconds ahead and pushed back by every
cron tick. When the server does not get back to its cron in time (a long command,
DEBUG SLEEP, a replica loading its master's RDB: Redis's serverCron does not run
during a load either), the handler logs "--- WATCHDOG TIMER EXPIRED ---" and the
main thread's stack, and the server goes on; the interrupted system calls are
retried (EINTR). A period shorter than two cron ticks is raised to that, as Redis
does. Only a server that owns its process (the command line) arms it: an embedded
one leaves its host's SIGALRM alone.
"""
from __future__ import annotations

import signal
import threading
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState


def apply(state: "ServerState") -> None:
    """watchdog-period was set (or the server took its process): arm or disarm
    (applyWatchdogPeriod)."""
    if not _usable(state):
        return
    values = state.config.values
    period = values["watchdog-period"]
    if not period:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        return
    signal.signal(signal.SIGALRM, lambda _signum, frame: _expired(state, frame))
    minimum = (1000 // values["hz"]) * 2
    if period < minimum:
        values["watchdog-period"] = period = minimum
    _schedule(period)


def cron(state: "ServerState") -> None:
    """A cron tick: push the signal back (serverCron's watchdogScheduleSignal), except
    while a replica loads its master's RDB (Redis is inside the load then)."""
    period = state.config.values["watchdog-period"]
    if period and not state.repl.loading and not state.repl.async_loading \
            and _usable(state):
        _schedule(period)


def disarm(state: "ServerState") -> None:
    """Shutdown: no alarm may outlive the server."""
    if state.config.values["watchdog-period"] and _usable(state):
        signal.setitimer(signal.ITIMER_REAL, 0)


def _usable(state: "ServerState") -> bool:
    return state.owns_process and threading.current_thread() is threading.main_thread()


def _schedule(period_ms: int) -> None:
    signal.setitimer(signal.ITIMER_REAL, period_ms / 1000.0)


def _expired(state: "ServerState", frame: Any) -> None:
    """watchdogSignalHandler: the stack where the server was stuck."""
    log = state.log
    log("warning", "\n--- WATCHDOG TIMER EXPIRED ---")
    for entry in traceback.format_stack(frame):
        for line in entry.rstrip("\n").splitlines():
            log("warning", line)
    log("warning", "--------\n")
