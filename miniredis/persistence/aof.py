"""Append-only persistence: the writer (buffer, write, fsync policies, failures) and
the AOF's files. The manifest is in :mod:`.manifest`, the rewrite's life cycle in
:mod:`.aofrewrite`, effects in :mod:`.effects`, loading in :mod:`.aofload`, the
dataset as commands in :mod:`.snapshot`.

The layout is Redis 7.0's multi-part AOF: a directory (``appenddirname``, inside
``dir``) holding one *base* file (a rewrite of the dataset), the *incr* files written
since, and ``<appendfilename>.manifest`` naming them in load order::

    file appendonly.aof.1.base.rdb seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

The base is in RDB format with ``aof-use-rdb-preamble yes`` (Redis's default, and
ours), in RESP (``.base.aof``) with ``no``; incr files are RESP. A real redis-server 7
loads the directory as it is. A Redis 6 ``appendonly.aof`` in ``dir`` is moved into
the directory as the base of a new manifest at start-up, as Redis 7 does.

Effects, not requests, are logged (Redis's propagation): :mod:`miniredis.propagate`
collects each write command's deterministic effect (:data:`.effects.EFFECTS`) once for
the AOF and the replicas and hands the AOF each unit (:meth:`AOF.append_unit`); the
effects of one atomic unit (EXEC, a script) are wrapped in MULTI/EXEC when there is
more than one. A SELECT is written whenever the database
of an effect differs from the file's current one.

Durability: effects go to an in-memory buffer; :meth:`AOF.write` empties it into the
file (and, with ``appendfsync always``, fsyncs) and the dispatcher calls it before any
reply leaves the server, so an acknowledged write is in the file (``always``: on disk).
With ``everysec`` the cron hands an fsync to a worker thread once a second.

Failures (Redis's flushAppendOnlyFile): a short write is truncated back to the last
complete record (if ftruncate fails too, exactly the unwritten remainder stays
buffered: no byte is written twice); a failed write or background fsync sets an
error that makes write commands get MISCONF until the cron's retry (once a second)
succeeds; under ``always`` a failed write or fsync ends the process, as Redis exits.
Error lines are logged at most once per 30 seconds, and once on recovery.

Rewrite (BGREWRITEAOF, automatic, or turning AOF on): see :mod:`.aofrewrite`.
"""
from __future__ import annotations

import errno
import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import diskio
from . import manifest as _manifest
from . import aofrewrite
from .aofrewrite import OFF, ON, WAIT_REWRITE, Rewrite, write_base_file
from .manifest import AOFLoadError, Manifest  # noqa: F401 (the package's API)
from .snapshot import encode

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState

_WRITE_ERROR_LOG_SECONDS = 30  # AOF_WRITE_LOG_ERROR_RATE: one error line per 30 s


_JOIN_LIMIT = 1 << 20           # buffers up to this size go out in one write(2)


def _drop_prefix(pieces: List[bytes], count: int) -> List[bytes]:
    """``pieces`` without their first ``count`` bytes."""
    for index, piece in enumerate(pieces):
        if count < len(piece):
            return [piece[count:]] + pieces[index + 1:]
        count -= len(piece)
    return []


_MULTI = encode([b"MULTI"])
_EXEC = encode([b"EXEC"])


# -- the writer -------------------------------------------------------------------------
class AOF:
    """The append-only file of one server (``state.aof`` while appendonly is on)."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        config = state.config
        self.home = os.path.abspath(config["dir"])
        self.dir = os.path.join(self.home, config["appenddirname"])
        self.prefix = config["appendfilename"]
        self.manifest = Manifest()          # server.aof_manifest: the files in use
        self.status = OFF                   # aof_state: off, wait_rewrite or on
        self.fd = -1
        self.buf: List[bytes] = []          # committed effects not yet written
        self.waiting: Dict[Any, None] = {}  # clients whose replies wait for write()
        self.group_scheduled = False
        self.releasing = False              # sending the held replies now
        self.file_db: Optional[int] = None  # the database the file has SELECTed
        self.stamped_second = 0             # of the last "#TS:" annotation (_stamp)
        self.current_size = 0               # bytes in base + incr files
        self.base_size = 0                  # current_size after the last rewrite
        self.unsynced = False               # written since the last fsync
        self.fsync_running = False
        self.last_fsync = time.monotonic()
        self.last_write_ok = True
        self.last_write_error = ""          # strerror of the last failed write
        self.fsync_ok = True                # the last background fsync worked
        self.fsync_error = ""
        self.error_logged_at = -1e9         # write errors are logged once per 30 s
        self.retried_at = 0.0               # last retry of a failed write (cron)
        self.incr_size = 0                  # bytes in the incr file being appended to
        self.delayed_fsync = 0
        self.rewrite: Optional[Rewrite] = None
        self.rewrite_scheduled = False
        self.rewrites = 0
        self.rewrite_failures = 0           # consecutive
        self.limit_minutes = 0              # _rewrite_limited's current delay
        self.limit_until = 0.0
        self.last_rewrite_ok = True
        self.last_rewrite_seconds = -1

    # -- effects --------------------------------------------------------------------
    def append_unit(self, ops: List[Tuple[int, Any]],
                    wrap: Optional[Tuple[int, int]] = None) -> None:
        """Append the effects of one unit (from :class:`miniredis.propagate.Propagator`):
        (database id, encoded command) pairs, wrapped in MULTI/EXEC if more than one
        (or if ``wrap`` gives the databases MULTI and EXEC are fed in: a script's unit
        some of whose effects went to the replicas only). While AOF is being turned
        on, only a running rewrite's incr file takes them (feedAppendOnlyFile): the
        rewrite that starts later covers the rest."""
        if self.status != ON and self.rewrite is None:
            return
        if self.state.config.values["aof-timestamp-enabled"]:
            self._stamp()
        if wrap is None:
            if len(ops) == 1:
                self._emit(*ops[0])
                return
            wrap = (ops[0][0], ops[-1][0])
        self._emit(wrap[0], _MULTI)     # as Redis: the SELECT comes before the MULTI
        for db_id, data in ops:
            self._emit(db_id, data)
        self._emit(wrap[1], _EXEC)

    def _stamp(self) -> None:
        """aof-timestamp-enabled: a "#TS:<unix seconds>" line before the first unit
        of every second (Redis's genAofTimestampAnnotationIfNeeded; redis-check-aof
        --truncate-to-timestamp cuts the file at one)."""
        second = self.state.clock.ms() // 1000
        if second > self.stamped_second:
            self.stamped_second = second
            self.buf.append(b"#TS:%d\r\n" % second)

    def _emit(self, db_id: int, data: Any) -> None:
        if db_id != self.file_db:
            self.buf.append(encode([b"SELECT", db_id]))
            self.file_db = db_id
        if data.__class__ is list:
            self.buf += data
        else:
            self.buf.append(data)

    # -- the file -------------------------------------------------------------------
    def defer(self, client: "Client") -> bool:
        """Hold ``client``'s replies until the buffered effects are written: all the
        clients served in one loop iteration share one write (and, with ``always``,
        one fsync), as Redis's beforeSleep does. False: written now, send at once."""
        loop = self.state.loop
        if loop is None or self.releasing:
            if loop is None:
                self.write()
            return False   # (releasing after a failed write: replies go regardless)
        self.waiting[client] = None
        if not self.group_scheduled:
            self.group_scheduled = True
            loop.run_callback(self._group_write)
        return True

    def _group_write(self) -> None:
        self.group_scheduled = False
        self.write()
        waiting, self.waiting = self.waiting, {}
        self.releasing = True
        try:
            for client in waiting:
                if client.closed:
                    continue
                client.flush()
                if client.closing and not client._unsent:
                    client.close()
        finally:
            self.releasing = False

    def write(self) -> None:
        """Write the buffered effects (and fsync them under ``always``): Redis's
        flushAppendOnlyFile. A short or failed write never leaves a partial record
        in the file: the written part is truncated away (or, if even that fails,
        only the unwritten remainder stays buffered), the error is recorded (write
        commands get MISCONF) and the cron retries; ``always`` exits instead."""
        if not self.buf or self.fd < 0:
            return
        buf = self.buf
        if len(buf) > 1 and sum(map(len, buf)) <= _JOIN_LIMIT:
            buf = [b"".join(buf)]
        written, error = diskio.write_pieces(self.fd, buf)
        if error is not None:
            self._write_failed(buf, written, error)
            return
        self.buf = []
        self.current_size += written
        self.incr_size += written
        if not self.last_write_ok:
            self.state.log("warning", "AOF write error looks solved, Redis can write again.")
            self.last_write_ok = True
            self._status_changed()
        if self.state.config.values["appendfsync"] == "always":
            try:
                diskio.fsync(self.fd)
            except OSError as exc:
                self.state.log("warning", "Can't persist AOF for fsync error when the AOF "
                                          "fsync policy is 'always': %s. Exiting..."
                               % diskio.strerror(exc))
                os._exit(1)
            self.last_fsync = time.monotonic()
        else:
            self.unsynced = True

    def _write_failed(self, data: List[bytes], written: int, error: OSError) -> None:
        now = time.monotonic()
        can_log = now - self.error_logged_at > _WRITE_ERROR_LOG_SECONDS
        if can_log:
            self.error_logged_at = now
        log = self.state.log
        if not written:
            if can_log:
                log("warning", "Error writing to the AOF file: %s" % diskio.strerror(error))
            self.last_write_error = diskio.strerror(error)
        else:
            if can_log:
                log("warning", "Short write while writing to the AOF file: (nwritten=%d, "
                               "expected=%d)" % (written, sum(map(len, data))))
            try:
                diskio.ftruncate(self.fd, self.incr_size)
                written = 0          # the partial record is gone: rewrite all of it
            except OSError as exc:
                if can_log:
                    log("warning", "Could not remove short write from the append-only "
                                   "file.  Redis may refuse to load the AOF the next time "
                                   "it starts.  ftruncate: %s" % diskio.strerror(exc))
            self.last_write_error = os.strerror(errno.ENOSPC)
        if self.state.config.values["appendfsync"] == "always":
            # An acknowledged write must be on disk, and replies (reads included)
            # already wait in output buffers: Redis cannot go on, nor can we.
            log("warning", "Can't recover from AOF write error when the AOF fsync policy "
                           "is 'always'. Exiting...")
            os._exit(1)
        if written:
            # The written part stays: keep exactly the remainder (never write twice).
            self.current_size += written
            self.incr_size += written
            data = _drop_prefix(data, written)
        self.buf = data
        if self.last_write_ok:
            self.last_write_ok = False
            self._status_changed()

    def _status_changed(self) -> None:
        """The AOF's health changed: refresh the refusal of write commands."""
        from . import refresh_write_denied
        refresh_write_denied(self.state)

    @property
    def healthy(self) -> bool:
        """No write or background fsync error pending (INFO aof_last_write_status)."""
        return self.last_write_ok and self.fsync_ok

    @property
    def error_text(self) -> str:
        """strerror of the last write or fsync error (for MISCONF)."""
        return self.last_write_error if not self.last_write_ok else self.fsync_error

    def cron(self) -> None:
        """Called by the server's cron: write (after a failed write: once a second),
        fsync once a second, finish a rewrite child, auto-rewrite."""
        now = time.monotonic()
        if self.last_write_ok or now - self.retried_at >= 1.0:
            self.retried_at = now
            self.write()
        policy = self.state.config.values["appendfsync"]
        if policy == "everysec" and (self.unsynced or not self.fsync_ok) \
                and now - self.last_fsync >= 1.0:
            if self.fsync_running:
                self.delayed_fsync += 1
            else:
                self._fsync_in_background()
        if self.rewrite is not None:
            self.rewrite.poll()
        self.maybe_start_rewrite()

    def maybe_start_rewrite(self) -> None:
        """From the cron: a scheduled or (AOF on) automatic rewrite, when no child
        runs and repeated failures do not hold it back (Redis's serverCron)."""
        if self.rewrite is not None or self.state.propagation.depth or _saving(self.state):
            return
        if self.rewrite_scheduled:
            if not self._rewrite_limited():
                self.start_rewrite()
        elif self.status == ON and self._rewrite_due() and not self._rewrite_limited():
            self.state.log("notice", "Starting automatic rewriting of AOF on %d%% growth"
                           % self._growth())
            self.start_rewrite()

    def _rewrite_limited(self) -> bool:
        """Redis's aofRewriteLimited: after 3 consecutive failures, wait 1, 2, 4...
        up to 60 minutes between automatic attempts (BGREWRITEAOF is not held)."""
        if self.rewrite_failures < 3:
            self.limit_minutes = 0
            self.limit_until = 0.0
            return False
        now = time.monotonic()
        if self.limit_until:
            if now < self.limit_until:
                return True
            self.limit_until = 0.0
            return False
        self.limit_minutes = min(60, self.limit_minutes * 2 or 1)
        self.limit_until = now + self.limit_minutes * 60
        self.state.log("warning", "Background AOF rewrite has repeatedly failed and "
                                  "triggered the limit, will retry in %d minutes"
                       % self.limit_minutes)
        return True

    def _growth(self) -> int:
        base = self.base_size or 1
        return (self.current_size - self.base_size) * 100 // base

    def _rewrite_due(self) -> bool:
        config = self.state.config.values
        percentage = config["auto-aof-rewrite-percentage"]
        return bool(percentage) and self.current_size > config["auto-aof-rewrite-min-size"] \
            and self._growth() >= percentage

    def _fsync_in_background(self) -> None:
        """Redis's bio fsync: a worker thread fsyncs; its outcome is recorded here
        (a failure refuses writes with MISCONF until an fsync succeeds again)."""
        import gevent
        fd = self.fd
        self.unsynced = False
        self.fsync_running = True
        self.last_fsync = time.monotonic()

        def fsync() -> Optional[str]:
            try:
                diskio.fsync(fd)
            except OSError as exc:
                if exc.errno not in (errno.EBADF, errno.EINVAL):  # fd closed meanwhile
                    return diskio.strerror(exc)
            return None

        def done(result: Any) -> None:
            self.fsync_running = False
            self._fsync_done(result.value if result.successful() else None)

        try:
            result = gevent.get_hub().threadpool.spawn(fsync)
            result.rawlink(done)
        except Exception:  # no hub (embedded without a loop): do it here
            self.fsync_running = False
            self._fsync_done(fsync())

    def _fsync_done(self, error: Optional[str]) -> None:
        ok = error is None
        if not ok:
            if self.fsync_ok:
                self.state.log("warning", "Fail to fsync the AOF file: %s" % error)
            self.fsync_error = error
        if ok != self.fsync_ok:
            self.fsync_ok = ok
            self._status_changed()

    # -- files and manifest ---------------------------------------------------------
    def path(self, name: str) -> str:
        """Where the AOF file ``name`` is (in the AOF directory)."""
        return os.path.join(self.dir, name)

    def load_manifest(self) -> None:
        """Read the manifest from disk (aofLoadManifestFromDisk): start-up, DEBUG
        LOADAOF. Raises AOFLoadError for one Redis refuses (the lines Redis logs
        before the error are logged here; the error is the exception's text)."""
        try:
            self.manifest = _manifest.load(self.dir, self.prefix)
        except _manifest.ManifestError as exc:
            for line in exc.lines[:-1]:
                self.state.log("warning", line)
            raise

    def persist_manifest(self) -> None:
        """Write the manifest if it changed (raises OSError, logged)."""
        _manifest.persist(self.manifest, self.dir, self.prefix, self.state.log)

    def switch_fd(self, fd: int) -> None:
        """Make ``fd`` (a new, empty incr file) the file effects are appended to; the
        previous one is fsynced and closed."""
        old = self.fd
        if old >= 0:
            _fsync_quietly(old)
            os.close(old)
        self.fd = fd
        self.incr_size = 0
        self.file_db = None   # a new file starts with no SELECTed database
        self.unsynced = False

    def upgrade_from_single_file(self) -> None:
        """Redis 6's ``dir/<appendfilename>`` becomes the base of a manifest and moves
        into the AOF directory (aofUpgradePrepare); a crash at any point leaves a
        state the next start upgrades again. Raises AOFLoadError."""
        try:
            diskio.create_dir_if_missing(self.dir)
        except OSError as exc:
            raise AOFLoadError("Can't open or create append-only dir %s: %s"
                               % (self.state.config["appenddirname"],
                                  diskio.strerror(exc))) from None
        self.manifest.base = _manifest.AofInfo(self.prefix, 1, _manifest.BASE)
        self.manifest.base_seq = 1
        self.manifest.dirty = True
        try:
            self.persist_manifest()
        except OSError as exc:
            raise AOFLoadError(diskio.strerror(exc)) from None
        try:
            os.rename(os.path.join(self.home, self.prefix), self.path(self.prefix))
        except OSError as exc:
            raise AOFLoadError("Error trying to move the old AOF file %s into dir %s: %s"
                               % (self.prefix, self.state.config["appenddirname"],
                                  diskio.strerror(exc))) from None
        self.state.log("notice", "Successfully migrated an old-style AOF file (%s) into "
                                 "the AOF directory (%s)."
                       % (self.prefix, self.state.config["appenddirname"]))

    def open_on_start(self) -> None:
        """Start appending at server start, after loading (aofOpenIfNeededOnServerStart):
        with no AOF yet, a base of the (empty) dataset is written first; then the last
        incr file is opened, or a first one created. Raises OSError (logged)."""
        self.status = ON
        log = self.state.log
        try:
            diskio.create_dir_if_missing(self.dir)
        except OSError as exc:
            log("warning", "Can't open or create append-only dir %s: %s"
                % (self.state.config["appenddirname"], diskio.strerror(exc)))
            raise
        manifest = self.manifest
        if manifest.empty:
            name = manifest.new_base(self.prefix, self.state.config["aof-use-rdb-preamble"])
            temp = os.path.join(self.home, "temp-rewriteaof-%d.aof" % os.getpid())
            try:
                write_base_file(self.state, temp)
                os.replace(temp, self.path(name))
            except OSError as exc:
                _manifest.remove(temp)
                log("warning", "Write error writing append only file on disk: %s"
                    % diskio.strerror(exc))
                raise
            log("notice", "Creating AOF base file %s on server start" % name)
        existed = bool(manifest.incrs)
        name = manifest.last_incr(self.prefix)
        try:
            fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            log("warning", "Can't open the append-only file %s: %s"
                % (name, diskio.strerror(exc)))
            raise
        self.fd = fd
        self.persist_manifest()
        self.incr_size = os.fstat(fd).st_size   # a short write is truncated back to it
        self.file_db = None
        log("notice", "%s AOF incr file %s on server start"
            % ("Opening" if existed else "Creating", name))
        self.current_size = sum(diskio.file_size(self.path(n)) for n in manifest.load_order())
        if manifest.base is not None:
            self.base_size = diskio.file_size(self.path(manifest.base.name))

    def delete_history(self) -> None:
        """Delete the history files, unless aof-disable-auto-gc (aofDelHistoryFiles)."""
        manifest = self.manifest
        if self.state.config["aof-disable-auto-gc"] or not manifest.history:
            return
        for info in manifest.history:
            self.state.log("notice", "Removing the history file %s in the background"
                           % info.name)
            _manifest.remove(self.path(info.name))
        manifest.history = []
        manifest.dirty = True
        try:
            self.persist_manifest()
        except OSError:
            pass                        # (logged; the next persist writes it)

    def close(self) -> None:
        """Stop appending (stopAppendOnly: appendonly no, shutdown, a replica's full
        sync): write and fsync what is buffered; a running rewrite is killed."""
        self.write()
        if self.fd >= 0:
            _fsync_quietly(self.fd)
            os.close(self.fd)
            self.fd = -1
        self.status = OFF
        self.rewrite_scheduled = False
        self.incr_size = 0
        if self.rewrite is not None:
            self.rewrite.kill()
        self.buf = []

    # -- rewrite ---------------------------------------------------------------------
    def enable(self) -> bool:
        """CONFIG SET appendonly yes (startAppendOnly): log from the next rewrite on;
        until it is done the manifest on disk is not touched. False (logged): the
        rewrite cannot start, AOF stays off."""
        log = self.state.log
        self.status = WAIT_REWRITE
        if _saving(self.state):
            self.rewrite_scheduled = True
            log("warning", "AOF was enabled but there is already another background "
                           "operation. An AOF background was scheduled to start when "
                           "possible.")
        elif self.state.propagation.depth:
            self.rewrite_scheduled = True
            log("warning", "AOF was enabled during a transaction. An AOF background was "
                           "scheduled to start when possible.")
        else:
            if self.rewrite is not None:
                log("warning", "AOF was enabled but there is already an AOF rewriting in "
                               "background. Stopping background AOF and starting a "
                               "rewrite now.")
                self.rewrite.kill()
            if not self.start_rewrite():
                self.status = OFF
                log("warning", "Redis needs to enable the AOF but can't trigger a "
                               "background AOF rewrite operation. Check the above logs "
                               "for more info about the error.")
                return False
        self.last_fsync = time.monotonic()
        # Earlier errors belong to files no longer written (Redis's startAppendOnly).
        if not self.fsync_ok:
            log("warning", "AOF reopen, just ignore the AOF fsync error in bio job")
            self.fsync_ok = True
        if not self.last_write_ok:
            log("warning", "AOF reopen, just ignore the last error.")
            self.last_write_ok = True
            self.buf = []
        return True

    def start_rewrite(self) -> bool:
        """Begin a background rewrite (BGREWRITEAOF, growth, turning AOF on; see
        :mod:`.aofrewrite`). False when it could not start (logged)."""
        return aofrewrite.start(self)

    def info_fields(self) -> List[str]:
        """The AOF part of INFO persistence (while AOF is on)."""
        return [
            "aof_current_size:%d" % self.current_size,
            "aof_base_size:%d" % self.base_size,
            "aof_pending_rewrite:%d" % int(self.rewrite_scheduled),
            "aof_buffer_length:%d" % sum(len(chunk) for chunk in self.buf),
            "aof_pending_bio_fsync:%d" % int(self.fsync_running),
            "aof_delayed_fsync:%d" % self.delayed_fsync,
        ]


def _saving(state: "ServerState") -> bool:
    """A BGSAVE child is running (one child at a time, as Redis)."""
    saves = getattr(state, "snapshots", None)
    return saves is not None and saves.child is not None


def _fsync_quietly(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass
