"""The AOF rewrite's life cycle, as aof.c's rewriteAppendOnlyFileBackground and
backgroundRewriteDoneHandler.

Start: the buffered effects are written, a new incr file takes every later write (AOF
on: the next ``<prefix>.<n>.incr.aof``, named in the manifest at once; AOF being
turned on: a temporary ``temp-<prefix>.incr`` that no manifest names yet), and a
forked child writes the dataset as it was at the fork to ``temp-rewriteaof-bg-<child
pid>.aof`` in ``dir`` (RDB with ``aof-use-rdb-preamble yes``, the default, else
RESP commands), so clients keep being served.

Done (the cron reaps the child): the temporary file becomes the next base (the old
base becomes history), the temporary incr file the next incr, the incr files the
base covers become history, and the new manifest replaces the old one atomically;
then the history files are deleted unless ``aof-disable-auto-gc``. Until the
manifest is replaced the old one (old base, old incrs, the new incr) describes the
whole dataset, so a crash or a failed rewrite loses nothing; a failed rewrite while
AOF is being turned on drops the temporary incr file and starts again.
"""
from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, Optional

from . import childinfo, diskio
from .manifest import persist, remove
from .snapshot import function_records, iter_dataset, write_base

if TYPE_CHECKING:  # pragma: no cover
    from .aof import AOF
    from ..state import ServerState

OFF, WAIT_REWRITE, ON = "off", "wait_rewrite", "on"     # aof_state


def write_base_file(state: "ServerState", path: str) -> None:
    """Write the rewrite of the dataset to ``path`` and fsync it: RDB (with the
    ``aof-base`` field set) when ``aof-use-rdb-preamble`` is yes, else RESP commands
    (rewriteAppendOnlyFile)."""
    if not state.config["aof-use-rdb-preamble"]:
        write_base(state, path)
        return
    from . import rdbwrite
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        rdbwrite.write_fd(fd, iter_dataset(state, stored=True), state.config,
                          function_records(state), aof_base=True,
                          packed_threshold=state.packed_threshold)
        diskio.fsync(fd)
    finally:
        os.close(fd)


def temp_incr_name(prefix: str) -> str:
    """The incr file written while AOF is being turned on (getTempIncrAofName)."""
    return "temp-%s.incr" % prefix


def _temp_base(home: str, pid: int) -> str:
    return os.path.join(home, "temp-rewriteaof-bg-%d.aof" % pid)


class Rewrite:
    """One running background rewrite: its child and when it started."""

    def __init__(self, aof: "AOF") -> None:
        self.aof = aof
        self.started = time.monotonic()
        self.child: Optional[diskio.Child] = None
        self.pid = os.getpid()

    def fork(self) -> None:
        """Fork the child (raises OSError when fork fails); without an event loop
        (embedded, not serving) the base is written here and now."""
        state = self.aof.state
        home = self.aof.home
        if state.loop is None or not diskio.CAN_FORK:
            try:
                write_base_file(state, _temp_base(home, self.pid))
                ok = True
            except Exception:
                ok = False
            finished(self.aof, self, ok, 0)
            return

        def work() -> None:
            write_base_file(state, _temp_base(home, os.getpid()))
            state.log("notice", "Successfully created the temporary AOF base file "
                      "temp-rewriteaof-bg-%d.aof" % os.getpid())
            childinfo.send_final(childinfo.AOF_COW_SIZE)

        from . import child_report, on_fork as persistence_on_fork
        self.child = diskio.Child(work, keep=state.log.descriptors(),
                                  report=child_report(state, "AOF rewrite"),
                                  forked=persistence_on_fork(state),
                                  title="redis-aof-rewrite")
        self.pid = self.child.pid

    def poll(self) -> None:
        """Called by the cron: handle the child's end once it has exited."""
        child = self.child
        if child is None:
            return
        outcome = child.poll()
        if outcome is not None:
            self.child = None
            finished(self.aof, self, outcome, child.signal)

    def kill(self) -> None:
        """killAppendOnlyChild: stop the child, remove its files; no outcome counts."""
        if self.child is not None:
            self.aof.state.log("notice", "Killing running AOF rewrite child: %d" % self.pid)
            self.child.kill()
            self.child = None
        _remove_temp_files(self.aof.home, self.pid)
        self.aof.rewrite = None


def _remove_temp_files(home: str, pid: int) -> None:
    remove(_temp_base(home, pid))
    remove(os.path.join(home, "temp-rewriteaof-%d.aof" % pid))


def start(aof: "AOF") -> bool:
    """rewriteAppendOnlyFileBackground: open the next incr file and fork the child.
    False (logged, aof_last_bgrewrite_status err) when it cannot start."""
    state = aof.state
    try:
        diskio.create_dir_if_missing(aof.dir)
    except OSError as exc:
        state.log("warning", "Can't open or create append-only dir %s: %s"
                  % (state.config["appenddirname"], diskio.strerror(exc)))
        aof.last_rewrite_ok = False
        return False
    aof.file_db = None
    aof.write()
    if not _open_new_incr(aof):
        aof.last_rewrite_ok = False
        return False
    aof.rewrites += 1
    rewrite = Rewrite(aof)
    aof.rewrite = rewrite
    try:
        rewrite.fork()
    except OSError as exc:
        aof.rewrite = None
        aof.last_rewrite_ok = False
        state.log("warning", "Can't rewrite append only file in background: fork: %s"
                  % diskio.strerror(exc))
        return False
    if rewrite.child is not None:
        state.log("notice", "Background append only file rewriting started by pid %d"
                  % rewrite.pid)
    aof.rewrite_scheduled = False
    return True


def _open_new_incr(aof: "AOF") -> bool:
    """openNewIncrAofForAppend: AOF on, the next incr file (in a new manifest written
    now); being turned on, the temporary one; off, none. All or nothing."""
    if aof.status == OFF:
        return True
    manifest = None
    if aof.status == WAIT_REWRITE:
        name = temp_incr_name(aof.prefix)
    else:
        manifest = aof.manifest.copy()
        name = manifest.new_incr(aof.prefix)
    try:
        fd = os.open(aof.path(name), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    except OSError as exc:
        aof.state.log("warning", "Can't open the append-only file %s: %s"
                      % (name, diskio.strerror(exc)))
        return False
    if manifest is not None:
        try:
            persist(manifest, aof.dir, aof.prefix, aof.state.log)
        except OSError:
            os.close(fd)
            return False
    aof.state.log("notice", "Creating AOF incr file %s on background rewrite" % name)
    aof.switch_fd(fd)
    if manifest is not None:
        aof.manifest = manifest
    return True


def finished(aof: "AOF", rewrite: Rewrite, ok: bool, by_signal: int) -> None:
    """backgroundRewriteDoneHandler: install the new base and manifest, or count the
    failure; then clean up and (AOF being turned on) schedule the next attempt."""
    state = aof.state
    log = state.log
    aof.rewrite = None
    if ok:
        log("notice", "Background AOF rewrite terminated with success")
        if _install(aof, rewrite):
            aof.last_rewrite_ok = True
            aof.rewrite_failures = 0
            log("notice", "Background AOF rewrite finished successfully")
            if aof.status == WAIT_REWRITE:
                aof.status = ON
        else:
            aof.last_rewrite_ok = False
            aof.rewrite_failures += 1
    elif not by_signal:
        aof.last_rewrite_ok = False
        aof.rewrite_failures += 1
        log("warning", "Background AOF rewrite terminated with error")
    else:
        if by_signal != signal.SIGUSR1:
            aof.last_rewrite_ok = False
            aof.rewrite_failures += 1
        log("warning", "Background AOF rewrite terminated by signal %d" % by_signal)
    _remove_temp_files(aof.home, rewrite.pid)
    if aof.status == WAIT_REWRITE:
        aof.buf = []
        name = temp_incr_name(aof.prefix)
        log("notice", "Removing the temp incr aof file %s in the background" % name)
        remove(aof.path(name))
        aof.rewrite_scheduled = True
    aof.last_rewrite_seconds = int(time.monotonic() - rewrite.started)


def _install(aof: "AOF", rewrite: Rewrite) -> bool:
    """The child's file becomes the base, in a new manifest. False: logged, the old
    files and manifest stay in use."""
    log = aof.state.log
    temp = _temp_base(aof.home, rewrite.pid)
    manifest = aof.manifest.copy()
    base = manifest.new_base(aof.prefix, aof.state.config["aof-use-rdb-preamble"])
    base_path = aof.path(base)
    try:
        os.replace(temp, base_path)
    except OSError as exc:
        log("warning", "Error trying to rename the temporary AOF base file %s into %s: %s"
            % (os.path.basename(temp), base_path, diskio.strerror(exc)))
        return False
    log("notice", "Successfully renamed the temporary AOF base file %s into %s"
        % (os.path.basename(temp), base))
    incr_path = None
    if aof.status == WAIT_REWRITE:
        temp_incr = temp_incr_name(aof.prefix)
        incr = manifest.new_incr(aof.prefix)
        incr_path = aof.path(incr)
        try:
            os.replace(aof.path(temp_incr), incr_path)
        except OSError as exc:
            log("warning", "Error trying to rename the temporary AOF incr file %s into "
                           "%s: %s" % (aof.path(temp_incr), incr_path,
                                       diskio.strerror(exc)))
            remove(base_path)
            return False
        log("notice", "Successfully renamed the temporary AOF incr file %s into %s"
            % (temp_incr, incr))
    manifest.incrs_to_history(keep_last=aof.fd >= 0)
    try:
        persist(manifest, aof.dir, aof.prefix, log)
    except OSError:
        remove(base_path)
        if incr_path is not None:
            remove(incr_path)
        return False
    aof.manifest = manifest
    if aof.status != OFF:
        aof.base_size = aof.current_size = diskio.file_size(base_path) + aof.incr_size
    aof.delete_history()
    return True
