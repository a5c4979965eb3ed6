"""Persistence: the append-only file, RDB snapshots and the server's persistence life
cycle (aof.c and rdb.c glue).

SAVE, BGSAVE, LASTSAVE's timestamp and the ``save`` points write Redis's RDB format
(:mod:`miniredis.persistence.rdb`) to ``dir``/``dbfilename``; start-up loads it when AOF
is off. A background save copies the dataset at once (handlers never yield, so the copy
is a point in time) and writes it from a greenlet in slices, as the rewrite does.

The append-only file itself lives in :mod:`miniredis.persistence.aof`. This module owns
the one ``AOF`` object of a server (``state.aof_files``, kept while AOF is off so its
statistics and a BGREWRITEAOF with AOF off have a home) and publishes it as
``state.aof`` while ``appendonly`` is on: the dispatcher's only per-command cost is
checking that attribute for write commands.

The server calls :func:`start` (load at start-up), :func:`cron` and :func:`shutdown`;
CONFIG SET calls :func:`appendonly_changed`; INFO calls :func:`info_lines`; EXEC and
scripts call :func:`begin_unit`/:func:`end_unit`. The commands (SAVE, BGSAVE,
BGREWRITEAOF) are in :mod:`miniredis.commands.persistence`.
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, List, Optional

from . import aof as _aof
from . import rdb
from ..commands import all_commands

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState


def files(state: "ServerState") -> _aof.AOF:
    """The server's AOF object (created on first use)."""
    found = getattr(state, "aof_files", None)
    if found is None:
        found = state.aof_files = _aof.AOF(state)
    return found


def start(state: "ServerState", load_rdb: bool = True) -> None:
    """At start-up: load the AOF if appendonly is on (then start appending), else the
    RDB file if there is one (and ``load_rdb``).

    Raises :class:`miniredis.persistence.aof.AOFLoadError` when the files cannot be loaded.
    """
    if not state.config["appendonly"]:
        path = _rdb_path(state)
        if load_rdb and os.path.exists(path):
            started = time.monotonic()
            try:
                loaded, expired = rdb.load_file(state, path)
            except (rdb.RDBError, OSError) as exc:
                raise _aof.AOFLoadError(str(exc)) from None
            saves = snapshots(state)
            saves.loaded, saves.expired = loaded, expired
            state.log("notice", "DB loaded from disk: %.3f seconds"
                      % (time.monotonic() - started))
            state.last_save = int(os.path.getmtime(path))
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
    saves = getattr(state, "snapshots", None)
    aof = getattr(state, "aof_files", None)
    rewriting = aof is not None and aof.rewrite is not None
    if saves is not None and saves.scheduled and saves.greenlet is None and not rewriting:
        saves.start_background(state)
    elif _save_point_reached(state) and not rewriting:
        snapshots(state).start_background(state)
    if state.aof is not None:
        state.aof.cron()
        return
    if aof is not None and aof.rewrite_scheduled and aof.rewrite is None:
        aof.start_rewrite()


def _save_point_reached(state: "ServerState") -> bool:
    points = state.config["save"].split()
    if not points or not state.dirty:
        return False
    saves = getattr(state, "snapshots", None)
    if saves is not None and (saves.greenlet is not None or (
            not saves.last_ok and time.time() - saves.last_try < 5)):
        return False   # running, or failed less than 5 s ago (CONFIG_BGSAVE_RETRY_DELAY)
    elapsed = time.time() - state.last_save
    for i in range(0, len(points), 2):
        if state.dirty >= int(points[i + 1]) and elapsed > int(points[i]):
            state.log("notice", "%s changes in %s seconds. Saving..."
                      % (points[i + 1], points[i]))
            return True
    return False


def shutdown(state: "ServerState", save: Optional[bool] = None) -> None:
    """Write and fsync the AOF; stop any rewrite (its temp file is removed); save the
    RDB when asked (SHUTDOWN SAVE) or, unless NOSAVE, when save points are configured
    and something changed (an unchanged dataset is already on disk as it is)."""
    saves = getattr(state, "snapshots", None)
    if saves is not None and saves.greenlet is not None:
        saves.greenlet.kill(block=False)
        saves.greenlet = None
    if save or (save is None and state.config["save"] and state.dirty):
        try:
            snapshots(state).save(state)
        except OSError as exc:
            state.log("warning", "Error trying to save the DB, can't exit: %s" % exc)
    aof = getattr(state, "aof_files", None)
    if aof is None:
        return
    if state.aof is not None:
        aof.close()
    elif aof.rewrite is not None:
        aof.rewrite.abort("the server is shutting down")


def info_lines(state: "ServerState") -> List[str]:
    """INFO persistence, as Redis 7.0 lists it (RDB and AOF fields)."""
    saves = getattr(state, "snapshots", None) or Snapshots()
    aof = getattr(state, "aof_files", None)
    rewrite = aof.rewrite if aof is not None else None
    lines = [
        "loading:0", "async_loading:0", "current_cow_peak:0", "current_cow_size:0",
        "current_cow_size_age:0", "current_fork_perc:0.00", "current_save_keys_processed:0",
        "current_save_keys_total:0",
        "rdb_changes_since_last_save:%d" % state.dirty,
        "rdb_bgsave_in_progress:%d" % (saves.greenlet is not None),
        "rdb_last_save_time:%d" % state.last_save,
        "rdb_last_bgsave_status:%s" % ("ok" if saves.last_ok else "err"),
        "rdb_last_bgsave_time_sec:%d" % saves.last_seconds,
        "rdb_current_bgsave_time_sec:%d" % (
            int(time.monotonic() - saves.started) if saves.greenlet is not None else -1),
        "rdb_saves:%d" % saves.saves, "rdb_last_cow_size:0",
        "rdb_last_load_keys_expired:%d" % saves.expired,
        "rdb_last_load_keys_loaded:%d" % saves.loaded,
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


# -- RDB snapshots ------------------------------------------------------------------------
def _rdb_path(state: "ServerState") -> str:
    return os.path.join(os.path.abspath(state.config["dir"]), state.config["dbfilename"])


class Snapshots:
    """SAVE/BGSAVE state of one server (INFO's rdb_* fields)."""

    def __init__(self) -> None:
        self.greenlet: Any = None          # the running background save
        self.scheduled = False             # BGSAVE SCHEDULE while a rewrite runs
        self.started = 0.0
        self.last_ok = True
        self.last_try = 0.0
        self.last_seconds = -1
        self.saves = 0
        self.loaded = 0                    # keys loaded from the RDB at start-up
        self.expired = 0                   # ... and skipped as already expired

    def save(self, state: "ServerState") -> None:
        """SAVE: write the snapshot now (clients wait, as with Redis)."""
        self._write(state, _aof.snapshot_dataset(state), None, state.dirty)

    def start_background(self, state: "ServerState") -> None:
        import gevent
        self.scheduled = False
        snapshot = _aof.snapshot_dataset(state)   # the point in time: nothing yields
        self.started = time.monotonic()
        dirty = state.dirty
        if state.loop is None:
            self._run(state, snapshot, None, dirty)
            return
        self.greenlet = gevent.spawn(self._run, state, snapshot, lambda: gevent.sleep(0),
                                     dirty)

    def _run(self, state: "ServerState", snapshot: Any, pause: Any, dirty: int) -> None:
        try:
            self._write(state, snapshot, pause, dirty)
            state.log("notice", "Background saving terminated with success")
        except Exception as exc:  # disk full...: reported by INFO, the old file stays
            state.log("warning", "Background saving error: %s" % exc)
        finally:
            self.greenlet = None
            self.last_seconds = int(time.monotonic() - self.started)

    def _write(self, state: "ServerState", snapshot: Any, pause: Any, dirty: int) -> None:
        self.last_try = time.time()
        try:
            rdb.write(_rdb_path(state), snapshot, state.config, pause)
        except Exception:
            self.last_ok = False
            raise
        self.last_ok = True
        self.saves += 1
        state.dirty = max(0, state.dirty - dirty)   # writes since the copy still count
        state.last_save = int(time.time())


def snapshots(state: "ServerState") -> Snapshots:
    found = getattr(state, "snapshots", None)
    if found is None:
        found = state.snapshots = Snapshots()
    return found
