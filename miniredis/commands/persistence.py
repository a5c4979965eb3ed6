"""Persistence commands and the server's persistence life cycle (Redis's aof.c glue).

The append-only file itself lives in :mod:`miniredis.aof`. This module owns the one
``AOF`` object of a server (``state.aof_files``, kept while AOF is off so its statistics
and a BGREWRITEAOF with AOF off have a home) and publishes it as ``state.aof`` while
``appendonly`` is on: the dispatcher's only per-command cost is checking that
attribute for write commands.

The server calls :func:`start` (load at start-up), :func:`cron` and :func:`shutdown`;
CONFIG SET calls :func:`appendonly_changed`; INFO calls :func:`info_lines`.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, List

from .. import aof as _aof
from ..errors import CommandError
from . import all_commands, command

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState

REWRITE_STARTED = "Background append only file rewriting started"
REWRITE_SCHEDULED = "Background append only file rewriting scheduled"
REWRITE_RUNNING = "ERR Background append only file rewriting already in progress"


def files(state: "ServerState") -> _aof.AOF:
    """The server's AOF object (created on first use)."""
    found = getattr(state, "aof_files", None)
    if found is None:
        found = state.aof_files = _aof.AOF(state)
    return found


def start(state: "ServerState") -> None:
    """At start-up: load the AOF if appendonly is on, then start appending.

    Raises :class:`miniredis.aof.AOFLoadError` when the files cannot be loaded.
    """
    if not state.config["appendonly"]:
        return
    manifest = _aof.load(state)
    # Loading ran commands: that is not traffic (Redis's loading client is not counted).
    state.stats.reset()
    for cmd in all_commands():
        for entry in [cmd] + list(cmd.subcommands.values()):
            entry.calls = entry.failed_calls = entry.rejected_calls = 0
            entry.seconds = 0.0
    state.dirty = 0
    state.next_client_id = 1
    aof = files(state)
    aof.open_after_load(manifest)
    state.aof = aof


def appendonly_changed(state: "ServerState") -> None:
    """CONFIG SET appendonly: turning it on rewrites the base, off stops logging."""
    aof = files(state)
    if state.config["appendonly"]:
        if state.aof is None:
            if aof.rewrite is not None:      # a BGREWRITEAOF with AOF off: superseded
                aof.rewrite.abort("AOF turned on")
            aof.enable()
            state.aof = aof
    elif state.aof is not None:
        state.aof = None
        aof.close()


def cron(state: "ServerState") -> None:
    """Called by the server's cron (``hz`` times a second)."""
    if state.aof is not None:
        state.aof.cron()
        return
    aof = getattr(state, "aof_files", None)
    if aof is not None and aof.rewrite_scheduled and aof.rewrite is None:
        aof.start_rewrite()


def shutdown(state: "ServerState") -> None:
    """Write and fsync what is buffered; stop any rewrite (its temp file is removed)."""
    aof = getattr(state, "aof_files", None)
    if aof is None:
        return
    if state.aof is not None:
        aof.close()
    elif aof.rewrite is not None:
        aof.rewrite.abort("the server is shutting down")


def info_lines(state: "ServerState") -> List[str]:
    """The AOF fields of INFO persistence, as Redis 7.0 lists them."""
    aof = getattr(state, "aof_files", None)
    rewrite = aof.rewrite if aof is not None else None
    lines = [
        "aof_enabled:%d" % (1 if state.config["appendonly"] else 0),
        "aof_rewrite_in_progress:%d" % (rewrite is not None),
        "aof_rewrite_scheduled:%d" % (aof is not None and aof.rewrite_scheduled),
        "aof_last_rewrite_time_sec:%d" % (aof.last_rewrite_seconds if aof else -1),
        "aof_current_rewrite_time_sec:%d" % (
            int(time.monotonic() - rewrite.started) if rewrite is not None else -1),
        "aof_last_bgrewrite_status:%s" % ("ok" if aof is None or aof.last_rewrite_ok
                                          else "err"),
        "aof_rewrites:%d" % (aof.rewrites if aof else 0),
        "aof_rewrites_consecutive_failures:%d" % (aof.rewrite_failures if aof else 0),
        "aof_last_write_status:%s" % ("ok" if aof is None or aof.last_write_ok else "err"),
        "aof_last_cow_size:0", "module_fork_in_progress:0", "module_fork_last_cow_size:0",
    ]
    if state.aof is not None:
        lines += state.aof.info_fields()
    return lines


def begin_unit(state: "ServerState") -> None:
    """EXEC or a script starts: its effects are logged as one MULTI/EXEC block."""
    aof = state.aof
    if aof is not None:
        aof.depth += 1


def end_unit(state: "ServerState") -> None:
    """EXEC or a script ended (see :func:`begin_unit`)."""
    aof = state.aof
    if aof is not None and aof.depth:
        aof.depth -= 1
        if not aof.depth and aof.pending:
            aof.commit()


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server",
         since="1.0.0", summary="Asynchronously rewrite the append-only file")
def bgrewriteaof(client: Any, args: List[bytes]) -> Any:
    state = client.state
    aof = files(state)
    if aof.rewrite is not None:
        raise CommandError(REWRITE_RUNNING)
    if aof.depth or client.no_blocking:
        # Inside EXEC the transaction's effects are not logged yet: after it (Redis
        # schedules the rewrite whenever it cannot start one at once).
        aof.rewrite_scheduled = True
        return _status(REWRITE_SCHEDULED)
    try:
        aof.start_rewrite()
    except OSError as exc:
        aof.last_rewrite_ok = False
        aof.rewrite_failures += 1
        state.log("warning", "Can't rewrite append only file in background: %s" % exc)
        raise CommandError("ERR Can't execute an AOF background rewriting. Please check "
                           "the server logs for more information.") from None
    return _status(REWRITE_STARTED)


def _status(text: str) -> Any:
    from ..protocol import Simple
    return Simple(text)
