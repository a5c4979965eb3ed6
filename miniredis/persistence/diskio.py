"""The file layer every persistence write goes through, and background children.

``write``, ``fsync`` and ``ftruncate`` are looked up in this module at each call, so a
test can replace them (``monkeypatch.setattr(diskio, "write", faulty)``) to inject
ENOSPC, EIO, short writes or a failing fsync deterministically: the AOF writer and
the RDB writer never call ``os.write``/``os.fsync`` directly.

:class:`Child` runs a snapshot (BGSAVE, an AOF rewrite) in a forked process, as Redis
does: the child sees the dataset frozen at the fork (copy-on-write pages), writes its
file with plain blocking I/O and exits; the parent never stops serving and learns the
outcome from :meth:`Child.poll`, called by the cron (Redis's checkChildrenDone).
"""
from __future__ import annotations

import errno
import gc
import time
import os
import resource
import signal
from typing import Any, Callable, List, Optional, Tuple

from . import childinfo

write = os.write
fsync = os.fsync
ftruncate = os.ftruncate
CAN_FORK = hasattr(os, "fork")   # elsewhere (Windows) snapshots are written inline


def write_all(fd: int, data: bytes) -> Tuple[int, Optional[OSError]]:
    """Write ``data`` as Redis's aofWrite does: retry partial writes until all is
    written or a write fails. Returns (bytes written, the error or None)."""
    view = memoryview(data)
    total = 0
    size = len(view)
    while total < size:
        try:
            written = write(fd, view[total:])
        except InterruptedError:
            continue
        except OSError as exc:
            return total, exc
        if written <= 0:   # a zero-length write: treat as a full disk (never loop)
            return total, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        total += written
    return total, None


def write_pieces(fd: int, pieces: List[bytes]) -> Tuple[int, Optional[OSError]]:
    """:func:`write_all` over several buffers in order (large ones are not joined)."""
    total = 0
    for piece in pieces:
        written, error = write_all(fd, piece)
        total += written
        if error is not None:
            return total, error
    return total, None


def write_pieces_or_raise(fd: int, pieces: List[Any]) -> None:
    """Write all of ``pieces`` in order or raise the OSError that stopped it."""
    _, error = write_pieces(fd, pieces)
    if error is not None:
        raise error


def write_or_raise(fd: int, data: bytes) -> None:
    """Write all of ``data`` or raise the OSError that stopped it."""
    _, error = write_all(fd, data)
    if error is not None:
        raise error


def create_dir_if_missing(path: str) -> None:
    """mkdir unless the directory is there (Redis's dirCreateIfMissing: anything else
    in the way is "Not a directory"). Raises OSError."""
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        if not os.path.isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                     path) from None


def fsync_directory(path: str) -> None:
    """fsync a directory, so a file just created or renamed in it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_size(path: str) -> int:
    """The size of ``path``, 0 when it cannot be read (gone, unreadable)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def strerror(exc: BaseException) -> str:
    """The C library's text for an OSError (what Redis's strerror(errno) prints)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc)


def exit_if_orphaned() -> None:
    """In a forked child whose server died (killed -9, say): exit now rather than
    finish a snapshot nobody will read (Redis's child notices when its info pipe to
    the parent breaks). Does nothing in the server itself."""
    if Child.parent_pid and os.getppid() != Child.parent_pid:
        os._exit(1)


class Child:
    """A forked process doing one background job (``work`` raises on failure).

    The child writes the text of its failure, if any, to a pipe and exits with 1;
    the parent reads it in :meth:`poll` once the child has exited.
    """

    # Run first thing in every child with its ``title`` (the command line sets it:
    # oom-score-adj's forked-child class, the process title).
    on_fork: Optional[Callable[[str], None]] = None

    def __init__(self, work: Callable[[], None], keep: Tuple[int, ...] = (),
                 report: Optional[Tuple[str, Any, Callable[[str, str], None], int]] = None,
                 forked: Optional[Callable[[int], None]] = None,
                 title: str = "") -> None:
        """``keep``: descriptors the child keeps open besides its error pipe (the
        pipe a diskless full synchronisation streams the RDB into). ``report``: (what
        the child does -- "RDB", "AOF rewrite" --, the parent's ForkStats, the log, the
        number of keys to write) for a child that reports its progress and
        copy-on-write size (persistence/childinfo.py). ``forked``: called in the
        parent with the fork's duration in microseconds (redisFork's stat_fork_time:
        the pause clients saw, gc.freeze included). ``title``: the child's process
        title's {title} (redis-rdb-bgsave...)."""
        info_read = info_write = -1
        if report is not None and report[1].fd >= 0:
            report = None       # another child reports (Redis forks one such at a time)
        if report is not None:
            info_read, info_write = os.pipe()
            keep = keep + (info_write,)
        read_end, write_end = os.pipe()
        # Objects that exist now are left out of the parent's collections until the
        # child is done: a collection writes to every object it visits, which would
        # copy (copy-on-write) each of their pages while the child holds them.
        started = time.perf_counter()
        gc.freeze()
        Child._frozen += 1
        try:
            pid = os.fork()
        except OSError:
            self._thaw()
            for fd in (read_end, write_end, info_read, info_write):
                if fd >= 0:
                    os.close(fd)
            raise
        if pid == 0:                                  # the child: never returns
            status = 1
            try:
                # Sockets (listeners, clients) must not outlive the parent's close():
                # keep only stdio and the pipe (Redis closes its listeners too).
                top = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
                top = top if 0 < top < 1 << 20 else 1 << 16
                low = 3
                for fd in sorted(set(keep) | {write_end}):
                    os.closerange(low, fd)
                    low = fd + 1
                os.closerange(low, top)
                gc.disable()      # a collection would touch (copy) every object's page
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                Child.parent_pid = os.getppid()
                if report is not None:
                    childinfo.reporter = childinfo.Reporter(info_write, report[0],
                                                            report[2])
                if Child.on_fork is not None:
                    Child.on_fork(title)
                try:
                    work()
                    status = 0
                except BaseException as exc:  # reported to the parent through the pipe
                    text = strerror(exc) if isinstance(exc, OSError) else (
                        "%s: %s" % (type(exc).__name__, exc))
                    try:
                        os.write(write_end, text.encode("utf-8", "replace")[:4000])
                    except OSError:
                        pass
            finally:
                os._exit(status)
        if forked is not None:
            forked(int((time.perf_counter() - started) * 1e6))
        os.close(write_end)
        os.set_blocking(read_end, False)
        self._stats = None
        if report is not None:
            os.close(info_write)
            os.set_blocking(info_read, False)
            self._stats = report[1]
            self._stats.begin(info_read, report[3])
        Child.forks += 1
        self.pid = pid
        self._pipe = read_end
        self.error: Optional[str] = None
        self.signal = 0                 # the signal that ended the child, if one did

    _frozen = 0                  # children alive that asked for gc.freeze()
    parent_pid = 0               # in a forked child: the server that forked it
    forks = 0                    # children forked by this process (INFO total_forks)

    @staticmethod
    def _thaw() -> None:
        Child._frozen -= 1
        if not Child._frozen:
            gc.unfreeze()

    def poll(self) -> Optional[bool]:
        """None while the child runs; then True (success) or False (see ``error``)."""
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 1 << 8            # reaped elsewhere: unknown outcome
        if pid == 0:
            return None
        return self._finished(status)

    def exited(self) -> bool:
        """Whether the child has exited, without reaping it (poll does that)."""
        try:
            return os.waitid(os.P_PID, self.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def wait(self) -> bool:
        """Block until the child is done (no event loop to poll from)."""
        while True:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                status = 1 << 8
            except InterruptedError:
                continue
            return self._finished(status)

    def _finished(self, status: int) -> bool:
        self._thaw()
        message = b""
        try:
            while True:
                chunk = os.read(self._pipe, 4096)
                if not chunk:
                    break
                message += chunk
        except OSError:
            pass
        os.close(self._pipe)
        self._pipe = -1
        succeeded = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        if self._stats is not None:
            self._stats.end(succeeded)      # (its last records count if it succeeded)
            self._stats = None
        if succeeded:
            return True
        if os.WIFSIGNALED(status):
            self.signal = os.WTERMSIG(status)
            self.error = "child terminated by signal %d" % self.signal
        else:
            self.error = message.decode("utf-8", "replace") or "child failed"
        return False

    def kill(self) -> None:
        """Stop the child and reap it (Redis's killRDBChild / killAppendOnlyChild)."""
        if self._pipe < 0:
            return                                    # already reaped
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except (ChildProcessError, OSError):
            pass
        os.close(self._pipe)
        self._pipe = -1
        if self._stats is not None:
            self._stats.end(False)
            self._stats = None
        self._thaw()
