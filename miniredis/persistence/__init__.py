"""Persistence: the append-only file, RDB snapshots and the server's persistence life
cycle (aof.c and rdb.c glue).

SAVE, BGSAVE, LASTSAVE's timestamp and the ``save`` points write Redis's RDB format
(:mod:`miniredis.persistence.rdb`) to ``dir``/``dbfilename``; start-up loads it when AOF
is off. A background save, like an AOF rewrite, runs in a forked child (its view of
the dataset is frozen at the fork, copy-on-write), so clients are never paused.

While the disk refuses writes (a failed AOF write or fsync, or a failed background
save with ``stop-writes-on-bgsave-error``), ``state.write_denied`` holds Redis's
MISCONF text and the dispatcher refuses write commands and PING with it
(:func:`refresh_write_denied`); it clears itself when a retry succeeds.

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
import signal
import time
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from . import aof as _aof
from . import aofload, childinfo, diskio, rdb, rdbwrite, snapshot
from .. import errors, propagate
from ..commands import stats_entries
from ..replication.restart import save_info

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
    if load_rdb or state.config["appendonly"]:
        files(state).load_manifest()      # (Redis reads it whatever appendonly says)
    if not state.config["appendonly"]:
        if load_rdb:
            files(state).delete_history()
        path = _rdb_path(state)
        if load_rdb and os.path.exists(path):
            started = time.monotonic()
            try:
                rdb.load_file(state, path)
            except rdb.RDBError as exc:
                # rdbReportError's lines, then its exit (the command line logs that).
                state.log("warning", str(exc))
                if exc.reason:
                    state.log("warning", "Internal error in RDB reading -> %s" % exc.reason)
                raise _aof.AOFLoadError("Terminating server after rdb file reading "
                                        "failure.") from None
            except OSError as exc:
                raise _aof.AOFLoadError("Fatal error loading the DB: %s. Exiting."
                                        % diskio.strerror(exc)) from None
            state.log("notice", "DB loaded from disk: %.3f seconds"
                      % (time.monotonic() - started))
            state.last_save = int(os.path.getmtime(path))
        return
    aof = files(state)
    aofload.load(state, aof)
    # Loading ran commands: that is not traffic (Redis's loading client is not counted),
    # but their changes stay counted in the dirty counter, as Redis leaves them.
    state.stats.reset(connections=False)
    for entry in stats_entries():
        entry.reset_stats()
    state.next_client_id = 1
    try:
        aof.open_on_start()
    except OSError as exc:
        # Redis exits too: AOF on with files it cannot create or append to.
        where = exc.filename or aof.dir
        raise _aof.AOFLoadError("Can't open or create the append-only file %s: %s"
                                % (where, diskio.strerror(exc))) from None
    aof.delete_history()
    state.aof = aof
    propagate.refresh(state)


def appendonly_changed(state: "ServerState") -> Optional[str]:
    """CONFIG SET appendonly: turning it on rewrites the base, off stops logging.

    Returns None, or (turning on failed: nothing changed, the cause is logged) the
    reason CONFIG SET must report, as Redis's updateAppendonly.
    """
    aof = files(state)
    if state.config["appendonly"]:
        if state.aof is None:
            if not aof.enable():             # (logged)
                return "Unable to turn on AOF. Check server logs."
            state.aof = aof
    elif state.aof is not None:
        state.aof = None
        aof.close()
    propagate.refresh(state)
    refresh_write_denied(state)
    return None


def cron(state: "ServerState") -> None:
    """Called by the server's cron (``hz`` times a second)."""
    saves = getattr(state, "snapshots", None)
    aof = getattr(state, "aof_files", None)
    stats = getattr(state, "fork_stats", None)
    if stats is not None and stats.fd >= 0:
        stats.receive()          # a saving child's progress (receiveChildInfo)
    if saves is not None and saves.child is not None:
        saves.poll(state)
    if state.aof is not None:
        state.aof.cron()
    elif aof is not None and aof.rewrite is not None:
        aof.rewrite.poll()
    rewriting = aof is not None and aof.rewrite is not None
    if saves is not None and saves.scheduled and saves.child is None and not rewriting:
        saves.start_background(state)
    elif _save_point_reached(state) and not rewriting:
        snapshots(state).start_background(state)
    if state.aof is None and aof is not None:
        aof.maybe_start_rewrite()            # BGREWRITEAOF scheduled with AOF off


def flushed_all(state: "ServerState") -> None:
    """FLUSHALL (Redis's flushAllDataAndResetRDB): a running background save would
    install the old dataset, so it is killed; with save points, the now empty
    dataset is saved at once."""
    saves = getattr(state, "snapshots", None)
    if saves is not None and saves.child is not None:
        saves.kill(state)
    state.replicas.kill_sync()              # (a full synchronisation's child too)
    if state.config["save"].strip():
        try:
            snapshots(state).save(state)
        except OSError:
            pass                                  # logged; FLUSHALL still succeeds


def _save_point_reached(state: "ServerState") -> bool:
    points = state.config["save"].split()
    if not points or not state.dirty:
        return False
    saves = getattr(state, "snapshots", None)
    if saves is not None and (saves.child is not None or (
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
    if saves is not None and saves.child is not None:
        state.log("warning", "There is a child saving an .rdb. Killing it!")
        saves.kill(state)
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
        aof.rewrite.kill()


def reset_stats(state: "ServerState") -> None:
    """CONFIG RESETSTAT's part here (resetServerStats): rdb_saves, aof_rewrites, the
    consecutive rewrite failures and aof_delayed_fsync restart from 0."""
    saves = getattr(state, "snapshots", None)
    if saves is not None:
        saves.saves = 0
    aof = getattr(state, "aof_files", None)
    if aof is not None:
        aof.rewrites = aof.rewrite_failures = aof.delayed_fsync = 0


def info_lines(state: "ServerState") -> List[str]:
    """INFO persistence, as Redis 7.0 lists it (RDB and AOF fields)."""
    saves = getattr(state, "snapshots", None) or Snapshots()
    aof = getattr(state, "aof_files", None)
    rewrite = aof.rewrite if aof is not None else None
    # An RDB child: a BGSAVE's, or a full synchronisation's (Redis's CHILD_TYPE_RDB).
    sync = state.replicas.sync
    saving = saves.started if saves.child is not None else (
        sync.started if sync is not None and sync.child is not None else None)
    lines = [
        "loading:%d" % state.repl.loading, "async_loading:%d" % state.repl.async_loading,
    ] + fork_stats(state).info_lines() + [
        "rdb_changes_since_last_save:%d" % state.dirty,
        "rdb_bgsave_in_progress:%d" % (saving is not None),
        "rdb_last_save_time:%d" % state.last_save,
        "rdb_last_bgsave_status:%s" % ("ok" if saves.last_ok else "err"),
        "rdb_last_bgsave_time_sec:%d" % saves.last_seconds,
        "rdb_current_bgsave_time_sec:%d" % (
            int(time.monotonic() - saving) if saving is not None else -1),
        "rdb_saves:%d" % saves.saves,
        "rdb_last_cow_size:%d" % fork_stats(state).rdb_cow,
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
        "aof_last_write_status:%s" % ("ok" if aof is None or aof.healthy else "err"),
        "aof_last_cow_size:%d" % fork_stats(state).aof_cow,
        "module_fork_in_progress:0", "module_fork_last_cow_size:0",
    ]
    if state.aof is not None:
        lines += state.aof.info_fields()
    progress = getattr(state, "loading_info", None)
    if progress is not None and (state.repl.loading or state.repl.async_loading):
        lines += progress.lines()
    return lines


class LoadingInfo:
    """What INFO persistence adds while a dataset loads (startLoading's figures, set
    as ``state.loading_info``): the start, the size when known (0 for a replica's
    ``$EOF:`` payload), the bytes loaded so far and the RDB's used-mem field."""

    __slots__ = ("started", "total", "loaded", "used_mem")

    def __init__(self, total: int) -> None:
        self.started = int(time.time())
        self.total = total
        self.loaded = 0
        self.used_mem = 0

    def lines(self) -> List[str]:
        """Redis's loading_* fields, percentage and ETA computed as it does."""
        perc = 0.0
        remaining = 1
        if self.total:
            perc = self.loaded / self.total * 100
            remaining = self.total - self.loaded
        elif self.used_mem:
            perc = min(self.loaded / self.used_mem * 100, 99.99)
            remaining = max(self.used_mem - self.loaded, 1)
        elapsed = int(time.time()) - self.started
        eta = 1 if elapsed == 0 else elapsed * remaining // (self.loaded + 1)
        return ["loading_start_time:%d" % self.started, "loading_total_bytes:%d" % self.total,
                "loading_rdb_used_mem:%d" % self.used_mem,
                "loading_loaded_bytes:%d" % self.loaded, "loading_loaded_perc:%.2f" % perc,
                "loading_eta_seconds:%d" % eta]


def begin_unit(state: "ServerState") -> None:
    """EXEC or a script starts: its effects are propagated as one MULTI/EXEC block."""
    state.propagation.depth += 1


def end_unit(state: "ServerState") -> None:
    """EXEC or a script ended (see :func:`begin_unit`)."""
    state.propagation.end_unit()


# -- RDB snapshots ------------------------------------------------------------------------
def _rdb_path(state: "ServerState") -> str:
    return os.path.join(os.path.abspath(state.config["dir"]), state.config["dbfilename"])


class Snapshots:
    """SAVE/BGSAVE state of one server (INFO's rdb_* fields).

    BGSAVE forks (Redis's rdbSaveBackground): the child writes the dataset as it was
    at the fork and exits; the cron reaps it (:meth:`poll`). The server never pauses
    for a background save, whatever the dataset's size.
    """

    def __init__(self) -> None:
        self.child: Optional[diskio.Child] = None   # the running background save
        self.scheduled = False             # BGSAVE SCHEDULE while a rewrite runs
        self.started = 0.0
        self.dirty_at_start = 0            # state.dirty when the child forked
        self.last_ok = True                # rdb_last_bgsave_status
        self.last_try = 0.0
        self.last_seconds = -1
        self.saves = 0
        self.loaded = 0                    # keys the last RDB load loaded
        self.expired = 0                   # ... and skipped as already expired

    def save(self, state: "ServerState") -> None:
        """SAVE: write the snapshot now (clients wait, as with Redis). Raises OSError."""
        self.last_try = time.time()
        dirty = state.dirty
        try:
            rdbwrite.write(_rdb_path(state), snapshot.iter_dataset(state, stored=True),
                           state.config, snapshot.function_records(state), save_info(state),
                           state.packed_threshold)
        except OSError as exc:
            state.log("warning", "Write error saving DB on disk: %s" % diskio.strerror(exc))
            raise
        state.log("notice", "DB saved on disk")
        self._succeeded(state, dirty)

    def start_background(self, state: "ServerState") -> bool:
        """BGSAVE: fork the child. False when fork failed (logged, status err)."""
        self.scheduled = False
        self.started = time.monotonic()
        self.last_try = time.time()
        self.dirty_at_start = state.dirty
        path = _rdb_path(state)
        config = state.config

        functions = snapshot.function_records(state)
        aux = save_info(state)          # (where this server stands in replication)

        def work() -> None:
            rdbwrite.write(path, snapshot.iter_dataset(state, stored=True), config,
                           functions, aux, state.packed_threshold)
            state.log("notice", "DB saved on disk")     # (the child's line, as Redis's)
            childinfo.send_final(childinfo.RDB_COW_SIZE)

        if state.loop is None or not diskio.CAN_FORK:   # no loop to reap a child: inline
            try:
                work()
            except OSError as exc:
                self._failed(state, diskio.strerror(exc))
                return True
            self._succeeded(state, self.dirty_at_start)
            self.last_seconds = int(time.monotonic() - self.started)
            return True
        try:
            self.child = diskio.Child(work, keep=state.log.descriptors(),
                                      report=child_report(state, "RDB"),
                                      forked=on_fork(state), title="redis-rdb-bgsave")
        except OSError as exc:
            state.log("warning", "Can't save in background: fork: %s" % diskio.strerror(exc))
            self._set_status(state, False)
            return False
        state.log("notice", "Background saving started by pid %d" % self.child.pid)
        return True

    def poll(self, state: "ServerState") -> None:
        """Called by the cron: reap a finished child (Redis's backgroundSaveDoneHandler)."""
        child = self.child
        if child is None:
            return
        outcome = child.poll()
        if outcome is None:
            return
        self.child = None
        self.last_seconds = int(time.monotonic() - self.started)
        if outcome:
            state.log("notice", "Background saving terminated with success")
            self._succeeded(state, self.dirty_at_start)
        elif child.signal:
            # backgroundSaveDoneHandlerDisk: the temporary file goes; SIGUSR1 is the
            # way to stop a child without it counting as a failed save.
            state.log("warning", "Background saving terminated by signal %d" % child.signal)
            self._remove_temp(state, child.pid)
            if child.signal != signal.SIGUSR1:
                self._set_status(state, False)
        else:
            self._failed(state, child.error or "")

    def kill(self, state: "ServerState") -> None:
        """Stop a running background save and remove its temporary file."""
        child = self.child
        if child is None:
            return
        self.child = None
        child.kill()
        self._remove_temp(state, child.pid)

    @staticmethod
    def _remove_temp(state: "ServerState", pid: int) -> None:
        path = os.path.join(os.path.dirname(_rdb_path(state)), "temp-%d.rdb" % pid)
        try:
            os.unlink(path)
        except OSError:
            pass

    def _succeeded(self, state: "ServerState", dirty: int) -> None:
        self.saves += 1
        state.dirty = max(0, state.dirty - dirty)   # writes since the fork still count
        state.last_save = int(time.time())
        self._set_status(state, True)

    def _failed(self, state: "ServerState", why: str) -> None:
        if why:
            state.log("warning", "Write error saving DB on disk: %s" % why)
        state.log("warning", "Background saving error")
        self._set_status(state, False)

    def _set_status(self, state: "ServerState", ok: bool) -> None:
        if ok != self.last_ok:
            self.last_ok = ok
            refresh_write_denied(state)


def fork_stats(state: "ServerState") -> childinfo.ForkStats:
    """What saving children reported (INFO persistence's copy-on-write figures)."""
    stats = getattr(state, "fork_stats", None)
    if stats is None:
        stats = state.fork_stats = childinfo.ForkStats()
    return stats


def on_fork(state: "ServerState") -> Callable[[int], None]:
    """diskio.Child's ``forked`` for this server: redisFork's bookkeeping of
    latest_fork_usec, total_forks and the "fork" latency event (in ms)."""
    def forked(usec: int) -> None:
        stats = state.stats
        stats.fork_time_usec = usec
        stats.total_forks += 1
        state.latency.add_if_needed(state.config.values["latency-monitor-threshold"],
                                    "fork", usec // 1000)
    return forked


def child_report(state: "ServerState", name: str) -> Tuple[str, Any, Any, int]:
    """diskio.Child's ``report`` for a child writing the dataset (``name``: "RDB",
    "AOF rewrite"): it reports its progress over every key of every database."""
    return name, fork_stats(state), state.log, sum(len(db) for db in state.dbs)


def snapshots(state: "ServerState") -> Snapshots:
    found = getattr(state, "snapshots", None)
    if found is None:
        found = state.snapshots = Snapshots()
    return found


# -- refusing writes while persistence fails ----------------------------------------------
def write_denial(state: "ServerState") -> Optional[str]:
    """Redis's writeCommandsDeniedByDiskError: "rdb", "aof" or None."""
    values = state.config.values
    saves = getattr(state, "snapshots", None)
    if values["stop-writes-on-bgsave-error"] and values["save"].strip() \
            and saves is not None and not saves.last_ok:
        return "rdb"
    aof = state.aof
    if aof is not None and not aof.healthy:
        return "aof"
    return None


def refresh_write_denied(state: "ServerState") -> None:
    """Recompute ``state.write_denied`` (the MISCONF text write commands and PING get,
    or None) and, when it changes, every client's dispatch gate."""
    kind = write_denial(state)
    if kind == "rdb":
        message: Optional[str] = errors.MISCONF_RDB
    elif kind == "aof":
        message = errors.MISCONF_AOF.format(state.aof.error_text)
    else:
        message = None
    if message != state.write_denied:
        state.write_denied = message
        for client in list(state.clients.values()):
            client._update_gate()
