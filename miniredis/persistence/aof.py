"""Append-only persistence: the writer (buffer, write, fsync policies, failures), the
manifest and the rewrite's life cycle. Effects are in :mod:`.effects`, loading in
:mod:`.aofload`, the dataset as commands in :mod:`.snapshot`.

The layout is Redis 7.0's multi-part AOF (the default of real Redis 7): a directory
(``appenddirname``, inside ``dir``) holding one *base* file (a compact rewrite of the
dataset), the *incr* files written since, and ``<appendfilename>.manifest`` naming
them in load order::

    file appendonly.aof.1.base.aof seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

Every file is plain RESP (``aof-use-rdb-preamble`` is not honoured: our base is always
``.base.aof``), so a real redis-server 7 loads the directory as it is, and
``cat base incr | redis-cli --pipe`` replays it into any Redis.

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

Rewrite (BGREWRITEAOF, automatic, or turning AOF on): a new incr file takes every
later write at once, and a forked child writes the dataset as it was at the fork into
a temporary base file, so clients keep being served. The child fsyncs it; the parent
(reaping the child from the cron) renames it, then a new manifest (base N+1, the new
incr) replaces the old one atomically (temp file, fsync, rename, fsync of the
directory). Until then the old manifest (old base, old incr, new incr) describes a
complete dataset, so a crash or a failed rewrite loses nothing.
"""
from __future__ import annotations

import errno
import os
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import diskio
from .manifest import AOFLoadError, Manifest, write_atomically
from .snapshot import encode, write_base

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
        self.dir = os.path.join(os.path.abspath(config["dir"]), config["appenddirname"])
        self.prefix = config["appendfilename"]
        self.manifest_path = os.path.join(self.dir, self.prefix + ".manifest")
        self.manifest = Manifest()
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
        self.rewrite: Optional["_Rewrite"] = None
        self.rewrite_scheduled = False
        self.rewrites = 0
        self.rewrite_failures = 0           # consecutive
        self.limit_minutes = 0              # _rewrite_limited's current delay
        self.limit_until = 0.0
        self.last_rewrite_ok = True
        self.last_rewrite_seconds = -1
        # Does the manifest on disk describe the dataset? Not while the first rewrite
        # after turning AOF on at runtime is running (Redis's AOF_WAIT_REWRITE).
        self.complete = True
        self.on = False                     # appendonly yes: effects are being logged
        self.orphan: Optional[str] = None   # that rewrite's incr, not in a manifest yet

    # -- effects --------------------------------------------------------------------
    def append_unit(self, ops: List[Tuple[int, Any]]) -> None:
        """Append the effects of one unit (from :class:`miniredis.propagate.Propagator`):
        (database id, encoded command) pairs, wrapped in MULTI/EXEC if more than one."""
        if self.state.config.values["aof-timestamp-enabled"]:
            self._stamp()
        if len(ops) == 1:
            self._emit(*ops[0])
            return
        first = ops[0][0]
        if first != self.file_db:   # as Redis: the SELECT comes before the MULTI
            self.buf.append(encode([b"SELECT", first]))
            self.file_db = first
        self.buf.append(_MULTI)
        for db_id, data in ops:
            self._emit(db_id, data)
        self.buf.append(_EXEC)

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
                self._start_from_cron()
        elif self.on and self._rewrite_due() and not self._rewrite_limited():
            self.state.log("notice", "Starting automatic rewriting of AOF on %d%% growth"
                           % self._growth())
            self._start_from_cron()

    def _start_from_cron(self) -> None:
        try:
            self.start_rewrite()
        except OSError as exc:   # the directory, the new incr file, or fork: retry later
            self.state.log("warning", "Can't rewrite append only file in background: %s"
                           % diskio.strerror(exc))
            self.last_rewrite_ok = False
            self.rewrite_failures += 1
            if self.on and not self.complete:
                self.rewrite_scheduled = True

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
    def _name(self, seq: int, kind: str) -> str:
        return "%s.%d.%s.aof" % (self.prefix, seq, kind)

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def read_manifest(self) -> Optional[Manifest]:
        """The manifest on disk, or None when there is none."""
        try:
            with open(self.manifest_path, "rb") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AOFLoadError("Can't open the AOF manifest %s for reading: %s"
                               % (self.manifest_path, exc.strerror)) from None
        return Manifest.parse(text, self.manifest_path)

    def save_manifest(self, manifest: Manifest) -> None:
        write_atomically(self.manifest_path, manifest.render())
        self.manifest = manifest

    def _open_incr(self, name: str) -> None:
        """Make ``name`` the file effects are appended to (the previous one is closed)."""
        try:
            fd = os.open(self._path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            self.state.log("warning", "Can't open the append-only file %s: %s"
                           % (name, diskio.strerror(exc)))
            raise
        old = self.fd
        self.write()
        if old >= 0:
            _fsync_quietly(old)
            os.close(old)
        self.fd = fd
        self.incr_size = os.fstat(fd).st_size   # a short write is truncated back to it
        self.file_db = None   # a new file starts with no SELECTed database
        self.unsynced = False

    def open_after_load(self, manifest: Optional[Manifest]) -> None:
        """Start appending at server start (after loading ``manifest``, None: no AOF
        existed, so an empty base and a first incr file are created, as Redis 7 does)."""
        self.on = True
        os.makedirs(self.dir, exist_ok=True)
        if manifest is None or not manifest.incrs:
            base_seq = manifest.base[1] if manifest and manifest.base else 1
            if manifest is None or manifest.base is None:
                write_atomically(self._path(self._name(base_seq, "base")), b"")
                base = (self._name(base_seq, "base"), base_seq)
            else:
                base = manifest.base
            incr = (self._name(1, "incr"), 1)
            self._open_incr(incr[0])
            self.save_manifest(Manifest(base, [incr]))
        else:
            self.manifest = manifest
            self._open_incr(manifest.incrs[-1][0])
        self.current_size = self._files_size(self.manifest)
        if self.manifest.base is not None:
            self.base_size = _size(self._path(self.manifest.base[0]))

    def _files_size(self, manifest: Manifest) -> int:
        names = ([manifest.base[0]] if manifest.base else []) + [n for n, _ in manifest.incrs]
        return sum(_size(self._path(name)) for name in names)

    def close(self) -> None:
        """Stop appending: write and fsync what is buffered (shutdown, appendonly no)."""
        if self.rewrite is not None:
            self.rewrite.abort("the AOF was turned off or the server is shutting down")
        self.on = False
        self.write()
        if self.fd >= 0:
            _fsync_quietly(self.fd)
            os.close(self.fd)
            self.fd = -1

    # -- rewrite ---------------------------------------------------------------------
    def enable(self) -> None:
        """CONFIG SET appendonly yes: log from now on; the first rewrite makes the base
        (until it is done the manifest on disk is not touched, as in Redis). Raises
        OSError when the directory or the first incr file cannot be created."""
        self.on = True
        self.complete = False
        # Earlier errors belong to files no longer written (Redis's startAppendOnly).
        if not self.fsync_ok:
            self.state.log("warning", "AOF reopen, just ignore the AOF fsync error in bio job")
            self.fsync_ok = True
        if not self.last_write_ok:
            self.state.log("warning", "AOF reopen, just ignore the last error.")
            self.last_write_ok = True
            self.buf = []
        self.start_rewrite()

    def disable_after_failed_enable(self) -> None:
        """``enable`` raised: back to AOF off, no file left open."""
        self.on = False
        self.complete = True
        if self.orphan:
            _remove(self._path(self.orphan))
            self.orphan = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def start_rewrite(self) -> None:
        """Begin a background rewrite (BGREWRITEAOF, growth, or turning AOF on).

        With AOF off (BGREWRITEAOF only) the result is a base file and a manifest
        naming it alone, as Redis 7 writes.
        """
        self.rewrite_scheduled = False
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError as exc:
            self.state.log("warning", "Can't open or create append-only dir %s: %s"
                           % (self.state.config["appenddirname"], diskio.strerror(exc)))
            raise
        # The files on disk describe the dataset only while AOF is on and complete;
        # otherwise only their numbers matter, and they are replaced at the end.
        trusted = self.on and self.complete
        old = self.manifest if trusted else (_quiet_manifest(self) or Manifest())
        base_seq = (old.base[1] if old.base else 0) + 1
        incr: Optional[Tuple[str, int]] = None
        if self.on:
            incr_seq = max([seq for _, seq in old.incrs] + [0]) + 1
            incr = (self._name(incr_seq, "incr"), incr_seq)
            self._open_incr(incr[0])
            if self.orphan and self.orphan != incr[0]:
                _remove(self._path(self.orphan))   # an earlier attempt's lost incr
                self.orphan = None
            if trusted:
                # A crash during the rewrite loads old base + old incrs + the new incr.
                try:
                    self.save_manifest(Manifest(old.base, old.incrs + [incr]))
                except OSError:
                    # The new incr is in no manifest: keep appending to the old one.
                    if old.incrs:
                        self._open_incr(old.incrs[-1][0])
                    _remove(self._path(incr[0]))
                    raise
            else:
                self.orphan = incr[0]
        self.rewrite = _Rewrite(self, base_seq, incr, old)
        try:
            self.rewrite.start()
        except OSError:                       # fork failed: nothing runs
            self.rewrite = None
            raise

    def rewrite_finished(self, rewrite: "_Rewrite", error: Optional[str]) -> None:
        self.rewrite = None
        self.last_rewrite_seconds = int(time.monotonic() - rewrite.started)
        if error is not None:
            self.rewrite_failures += 1
            self.last_rewrite_ok = False
            self.state.log("warning", "Background AOF rewrite failed: %s" % error)
            if self.on and not self.complete:
                self.rewrite_scheduled = True   # turning AOF on must finish: retry
            return
        if self.on:
            self.complete = True
            self.orphan = None
        self.rewrites += 1
        self.rewrite_failures = 0
        self.last_rewrite_ok = True
        self.base_size = rewrite.size
        self.current_size = rewrite.size + sum(len(chunk) for chunk in self.buf)
        if rewrite.incr is not None:
            self.current_size += _size(self._path(rewrite.incr[0]))
        self.state.log("notice", "Background AOF rewrite finished successfully")

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


def _quiet_manifest(aof: AOF) -> Optional[Manifest]:
    try:
        return aof.read_manifest()
    except AOFLoadError:
        return None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _fsync_quietly(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass


class _Rewrite:
    """One background rewrite: a forked child writes the dataset as it was at the
    fork into a temporary base file (the parent keeps serving and logs later writes
    into the new incr file); when the child is done, the parent installs the base
    and a new manifest (a rename and a small file: no stall)."""

    def __init__(self, aof: AOF, base_seq: int, incr: Optional[Tuple[str, int]],
                 old: Manifest) -> None:
        self.aof = aof
        self.base_seq = base_seq
        self.incr = incr
        self.old = old                       # the files the new base replaces
        self.started = time.monotonic()
        self.size = 0
        self.temp = os.path.join(aof.dir, "temp-rewriteaof-bg-%d.aof" % os.getpid())
        self.child: Optional[diskio.Child] = None
        self.aborted = False

    def start(self) -> None:
        """Fork the child (raises OSError when fork fails); without an event loop
        (embedded, not serving) the base is written here and now."""
        state = self.aof.state
        if state.loop is None or not diskio.CAN_FORK:
            try:
                write_base(state, self.temp)
            except Exception as exc:
                self._failed(exc if not isinstance(exc, OSError)
                             else diskio.strerror(exc))
                return
            self._install()
            return
        temp = self.temp
        self.child = diskio.Child(lambda: write_base(state, temp))

    def poll(self) -> None:
        """Called by the cron: finish the rewrite once the child has exited."""
        child = self.child
        if child is None:
            return
        outcome = child.poll()
        if outcome is None:
            return
        self.child = None
        if outcome:
            self._install()
        else:
            self._failed(child.error)

    def abort(self, why: str) -> None:
        self.aborted = True
        if self.child is not None:
            self.child.kill()
            self.child = None
        _remove(self.temp)
        self.aof.rewrite_finished(self, why)

    def _failed(self, why: Any) -> None:
        _remove(self.temp)
        if not self.aborted:
            self.aof.rewrite_finished(self, str(why))

    def _install(self) -> None:
        aof = self.aof
        try:
            self.size = _size(self.temp)
            base_name = aof._name(self.base_seq, "base")
            os.replace(self.temp, aof._path(base_name))
            old = self.old
            incrs = [self.incr] if self.incr is not None else []
            aof.save_manifest(Manifest((base_name, self.base_seq), incrs))
            keep = [base_name] + [name for name, _ in incrs]
            for name in ([old.base[0]] if old.base else []) + [n for n, _ in old.incrs]:
                if name not in keep:
                    _remove(aof._path(name))
        except OSError as exc:  # disk full, permissions...: the old files stay in use
            self._failed(diskio.strerror(exc))
            return
        if not self.aborted:
            aof.rewrite_finished(self, None)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
