"""One full synchronisation: a forked child writes the dataset as RDB, either to
``dbfilename`` (sent afterwards as ``$<len>\r\n<rdb>``) or, diskless, into a pipe this
process forwards to the replica sockets as ``$EOF:<mark>\r\n<rdb><mark>``, paced by
the slowest replica. The server keeps serving meanwhile, as with BGSAVE."""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, List, Optional

from ..persistence import childinfo, child_report, diskio, on_fork, rdbwrite, snapshot
from .links import ReplicaLink

if TYPE_CHECKING:  # pragma: no cover
    from .master import Master

_PIPE_READ = 1 << 16            # bytes read from the diskless child's pipe at a time
_PIPE_BACKLOG = 1 << 14         # pause reading while a replica has this much unsent
                                # (Redis's PROTO_IOBUF_LEN: rdbPipeReadHandler's buffer)



class FullSync:
    """One RDB being produced by a forked child for the replicas in ``links``."""

    def __init__(self, master: "Master", socket_target: bool,
                 functions_only: Optional[bool]) -> None:
        self.master = master
        self.socket_target = socket_target
        self.functions_only = functions_only
        self.links: List[ReplicaLink] = []
        self.child: Optional[diskio.Child] = None
        self.pipe = -1
        self.watcher: Any = None
        self.timer: Any = None
        self.mark = b""
        self.path = ""
        self.started = time.monotonic()

    def start(self) -> None:
        """Fork the child (OSError when fork fails)."""
        state = self.master.state
        repl = state.repl
        aux = ((b"repl-stream-db", b"0"), (b"repl-id", repl.replid.encode()),
               (b"repl-offset", b"%d" % repl.offset))
        functions = snapshot.function_records(state)
        config = state.config
        # rdb-filter-only: "functions" keeps only them, "" leaves an empty RDB.
        dataset: Any = () if self.functions_only is not None else None
        if self.functions_only is False:
            functions = b""

        def records() -> Any:
            return dataset if dataset is not None else snapshot.iter_dataset(
                state, stored=True)

        if self.socket_target:
            # (the pipe's default size, as Redis's: with the 16 KB the master holds
            # per replica, it bounds what a replica that stops reading lets through
            # before the child blocks, and the sync times out as on redis-server)
            read_end, write_end = os.pipe()

            def work() -> None:
                rdbwrite.write_fd(write_end, records(), config, functions, aux,
                                  packed_threshold=state.packed_threshold)
                childinfo.send_final(childinfo.RDB_COW_SIZE)

            try:
                self.child = diskio.Child(work, keep=(write_end,) + state.log.descriptors(),
                                          report=child_report(state, "RDB"),
                                          forked=on_fork(state), title="redis-rdb-to-slaves")
            except OSError:
                os.close(read_end)
                raise
            finally:
                os.close(write_end)
            os.set_blocking(read_end, False)
            self.pipe = read_end
            self.mark = os.urandom(20).hex().encode()
            for link in self.links:
                link.client.out.append(b"$EOF:%s\r\n" % self.mark)
                link.client.flush()
            self.watcher = state.loop.io(read_end, 1)
            self.watcher.start(self._on_pipe)
            state.log("notice", "Background RDB transfer started by pid %d" % self.child.pid)
        else:
            self.path = os.path.join(os.path.abspath(config["dir"]), config["dbfilename"])
            path = self.path

            def work() -> None:
                rdbwrite.write(path, records(), config, functions,
                               packed_threshold=state.packed_threshold)
                state.log("notice", "DB saved on disk")    # (rdbSave's, in the child)
                childinfo.send_final(childinfo.RDB_COW_SIZE)

            self.child = diskio.Child(work, keep=state.log.descriptors(),
                                      report=child_report(state, "RDB"),
                                          forked=on_fork(state), title="redis-rdb-bgsave")
            state.log("notice", "Background saving started by pid %d" % self.child.pid)

    # -- diskless: forwarding the pipe --------------------------------------------------
    def _on_pipe(self) -> None:
        links = [link for link in self.links if not link.client.closed]
        if any(link.client.output_pending > _PIPE_BACKLOG for link in links) \
                and not self._child_gone():
            self._pause()       # the slowest replica sets the pace (rdbPipeReadHandler)
            return
        chunks: List[bytes] = []
        ended = False
        size = 0
        while size < _PIPE_BACKLOG:     # (then the replicas' backlog is looked at)
            try:
                data = os.read(self.pipe, _PIPE_READ)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                ended = True
                break
            chunks.append(data)
            size += len(data)
        if chunks:
            data = b"".join(chunks)
            for link in links:
                link.client.out.append(data)
                link.client.flush()
        if ended:
            self._pipe_done()
            return
        if any(link.client.output_pending > _PIPE_BACKLOG for link in links) \
                and not self._child_gone():
            self._pause()

    def _child_gone(self) -> bool:
        """The child exited (killed, say): what is left in the pipe is read at once,
        whatever the replicas' pace, so that its end is seen and the child reaped."""
        return self.child is None or self.child.exited()

    def _pause(self) -> None:
        """Stop reading the child's pipe for a moment (it blocks on a full pipe)."""
        self.watcher.stop()
        self.timer = self.master.state.loop.timer(0.01)
        self.timer.start(self._resume)

    def _resume(self) -> None:
        self.timer = None
        if self.watcher is not None:
            self.watcher.start(self._on_pipe)

    def _close_pipe(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.close()
            self.watcher = None
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1

    def _pipe_done(self) -> None:
        self.master.state.log("notice", "Diskless rdb transfer, done reading from pipe, %d "
                                        "replicas still up." % sum(
                                            1 for link in self.links if not link.client.closed))
        self._close_pipe()
        child = self.child
        ok = child.wait() if child is not None else False
        log = self.master.state.log
        if ok:
            log("notice", "Background RDB transfer terminated with success")
        elif child is not None and child.signal:
            log("warning", "Background transfer terminated by signal %d" % child.signal)
        else:
            log("warning", "Background transfer error")
        self.child = None
        self.master.sync_finished(self, ok)

    def send_mark(self, link: ReplicaLink) -> None:
        link.client.out.append(self.mark)

    def kill(self) -> None:
        """Stop the child (every replica of this sync is gone, or shutdown)."""
        self._close_pipe()
        if self.child is not None:
            pid = self.child.pid
            self.child.kill()
            self.child = None
            if not self.socket_target:      # (its temp-<pid>.rdb, as rdbRemoveTempFile)
                try:
                    os.unlink(os.path.join(os.path.dirname(self.path), "temp-%d.rdb" % pid))
                except OSError:
                    pass

    # -- disk: the child's end -------------------------------------------------------
    def poll(self) -> None:
        if self.socket_target or self.child is None:
            return
        outcome = self.child.poll()
        if outcome is None:
            return
        child, self.child = self.child, None
        log = self.master.state.log
        if outcome:
            log("notice", "Background saving terminated with success")
        elif child.signal:
            log("warning", "Background saving terminated by signal %d" % child.signal)
        else:
            log("warning", "Background saving error: %s" % child.error)
        self.master.sync_finished(self, bool(outcome))
