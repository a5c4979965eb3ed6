"""Shutting down as Redis 7.0 does (server.c's prepareForShutdown / finishShutdown):
SHUTDOWN, SIGTERM and SIGINT first let lagging replicas catch up, so that no write
acknowledged to a client is lost when a replica takes over.

Unless NOW is given (or shutdown-timeout is 0), a master whose replicas have not
acknowledged the whole stream pauses writes, asks them for an ACK and waits up to
shutdown-timeout seconds; the cron finishes the shutdown as soon as they are in sync
or the time is up (INFO shows shutdown_in_milliseconds meanwhile). Finishing logs the
replicas still lagging, kills a saving child, fsyncs the AOF and saves the RDB when
save points (or SAVE) ask for it. If that save fails (and FORCE was not given), the
server does not exit: the shutdown is cancelled, writes resume and the clients that
sent SHUTDOWN get an error, as in Redis, rather than losing the data set.

SHUTDOWN ABORT cancels a shutdown in progress (or a signal's, not yet started). A
second SIGINT while one is pending exits at once. The server provides ``stop``, which
ends serving once the shutdown succeeded; the data is already persisted then.
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from . import errors
from .blocking import BLOCKED, NOT_SERVED, block
from .errors import CommandError

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Client
    from .state import ServerState

# (save: True SAVE / False NOSAVE / None neither, now, force)
Flags = Tuple[Optional[bool], bool, bool]
_NO_FLAGS: Flags = (None, False, False)


class Shutdown:
    """The server's shutdown: requested by SHUTDOWN or a signal, then waited for in
    the cron while replicas catch up."""

    def __init__(self, state: "ServerState", stop: Callable[[], None]) -> None:
        self.state = state
        self._stop = stop                   # ends serving (the data is persisted)
        self.deadline = 0.0                 # time.time() at which waiting ends; 0: none
        self.flags: Flags = _NO_FLAGS
        self.signal: Optional[str] = None   # a signal's shutdown, waiting for the cron
        self.asap = False                   # a signal asked (shutdown_asap): until done
        self.waiting: List["Client"] = []   # SHUTDOWN callers, answered on failure

    @property
    def initiated(self) -> bool:
        """Waiting for replicas (Redis's isShutdownInitiated)."""
        return self.deadline != 0.0

    def info_lines(self) -> List[str]:
        """INFO server's conditional shutdown_in_milliseconds."""
        if not self.initiated:
            return []
        return ["shutdown_in_milliseconds:%d" % max(0, (self.deadline - time.time()) * 1000)]

    # -- requests -------------------------------------------------------------------
    def command(self, client: "Client", flags: Flags) -> Any:
        """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: the caller waits (no reply: the
        connection closes when the server exits, or an error if it cannot)."""
        save, now, _ = flags
        if not now and client.no_blocking:
            raise CommandError(errors.SHUTDOWN_DENY_BLOCKING)
        busy = self.state.busy_script
        if save is not False and busy is not None:
            raise CommandError(busy.busy_error)   # a script runs: only NOSAVE goes
        if not self._prepare(flags):
            raise CommandError(errors.SHUTDOWN_FAILED)
        reply = block(client, [], 0, lambda c, db, key: NOT_SERVED, None)
        if reply is BLOCKED and self.initiated:
            self.waiting.append(client)
        return reply

    def abort(self) -> bool:
        """SHUTDOWN ABORT; False when no shutdown is in progress or requested."""
        if self.initiated:
            self._cancel()
        elif self.signal is not None:
            self.signal = None
            self.asap = False
        else:
            return False
        self.state.log("notice", "Shutdown manually aborted.")
        return True

    def on_signal(self, signame: str) -> None:
        """SIGTERM or SIGINT (from the hub, not the handler): a second SIGINT exits
        now; otherwise the cron starts the shutdown, with shutdown-on-sig* flags."""
        log = self.state.log
        if self.asap and signame == "SIGINT":
            log("warning", "You insist... exiting now.")
            try:                # (a save in progress: its temporary file goes)
                os.unlink(os.path.join(self.state.config["dir"], "temp-%d.rdb" % os.getpid()))
            except OSError:
                pass
            os._exit(1)         # (not a clean shutdown: Redis exits 1 too)
        if self.state.repl.loading:
            log("warning", "Received shutdown signal during loading, scheduling shutdown.")
        else:
            log("warning", "Received %s scheduling shutdown..." % signame)
        self.signal = signame   # (the cron starts it, as Redis's serverCron does)
        self.asap = True
        if self.state.repl.loading and self.state.load_progress is not None:
            self.cron()         # (no cron runs during the start-up load)

    def cron(self) -> None:
        """serverCron's part: start a signal's shutdown; finish a waiting one when
        the replicas are in sync or the time is up."""
        if self.signal is not None and not self.initiated:
            words = self.state.config["shutdown-on-" + self.signal.lower()].split()
            self.signal = None
            self._prepare((True if "save" in words else False if "nosave" in words
                           else None, "now" in words, "force" in words))
        elif self.initiated and (time.time() >= self.deadline or self._replicas_in_sync()):
            self._finish()

    # -- the sequence ---------------------------------------------------------------
    def _prepare(self, flags: Flags) -> bool:
        """prepareForShutdown: False if the shutdown failed (and was cancelled)."""
        if self.initiated:
            return True         # (already waiting: this caller waits with the others)
        state = self.state
        if state.repl.loading or state.loading:
            flags = (False, flags[1], flags[2])   # never save half-loaded data
        self.flags = flags
        state.log("warning", "User requested shutdown...")
        timeout = state.config["shutdown-timeout"]
        if not flags[1] and timeout and not self._replicas_in_sync():
            self.deadline = time.time() + timeout
            if not state.pause.check():
                state.replicas.request_ack()
            state.pause.pause_shutdown(True)
            state.log("notice", "Waiting for replicas before shutting down.")
            return True
        return self._finish()

    def _replicas_in_sync(self) -> bool:
        self.state.replicas.settle()        # (this loop iteration's writes count)
        offset = self.state.repl.offset
        return all(link.ack_offset == offset
                   for link in self.state.replicas.links.values())

    def _finish(self) -> bool:
        state = self.state
        log = state.log
        state.replicas.settle()
        offset = state.repl.offset
        links = list(state.replicas.links.values())
        lagging = 0
        for link in links:
            if link.ack_offset != offset:
                lagging += 1
                lag = int(time.time() - link.ack_time) if link.state == "online" else 0
                log("warning", "Lagging replica %s:%d reported offset %d behind master, "
                               "lag=%d, state=%s." % (link.ip, link.conf.listening_port,
                                                      offset - link.ack_offset, lag,
                                                      link.info_state))
        if links:
            log("notice", "%d of %d replicas are in sync when shutting down."
                % (len(links) - lagging, len(links)))
        if not self._persist():
            log("warning", "Errors trying to shut down the server. Check the logs for more "
                           "information.")
            self._cancel()
            return False
        state.replicas.flush_now()      # best effort: what they have not read yet
        self._stop()
        return True

    def _persist(self) -> bool:
        """finishShutdown's files: no saving child left, the AOF fsynced, the final
        RDB written when asked. False when that save failed (without FORCE)."""
        from . import persistence
        from .persistence.aofrewrite import WAIT_REWRITE
        state = self.state
        log = state.log
        save, _, force = self.flags
        scripting = getattr(state, "scripting", None)
        if scripting is not None:
            scripting.ldb.kill_forked_sessions()    # SCRIPT DEBUG YES sessions
        saves = persistence.snapshots(state)
        if saves.child is not None:
            log("warning", "There is a child saving an .rdb. Killing it!")
            saves.kill(state)
        files = getattr(state, "aof_files", None)
        if files is not None and files.rewrite is not None:
            if files.status == WAIT_REWRITE:    # the first rewrite holds the only copy
                if not force:
                    log("warning", "Writing initial AOF, can't exit.")
                    return False
                log("warning", "Writing initial AOF. Exit anyway.")
            log("warning", "There is a child rewriting the AOF. Killing it!")
            files.rewrite.kill()
        aof = state.aof
        if aof is not None:
            log("notice", "Calling fsync() on the AOF file.")
            aof.write()
            if aof.fd >= 0:
                try:
                    os.fsync(aof.fd)
                except OSError as exc:
                    log("warning", "Fail to fsync the AOF file: %s." % exc.strerror)
        if (state.config["save"] and save is not False) or save:
            log("notice", "Saving the final RDB snapshot before exiting.")
            try:
                saves.save(state)
            except OSError:
                if not force:
                    log("warning", "Error trying to save the DB, can't exit.")
                    return False
                log("warning", "Error trying to save the DB. Exit anyway.")
        return True

    def _cancel(self) -> None:
        """cancelShutdown: the callers get an error, writes resume."""
        self.deadline = 0.0
        self.flags = _NO_FLAGS
        self.signal = None
        self.asap = False
        waiting, self.waiting = self.waiting, []
        for client in waiting:
            if client.blocked is not None and not client.closed:
                self.state.blocking.unblock(client, CommandError(errors.SHUTDOWN_FAILED))
        self.state.pause.pause_shutdown(False)


def parse_flags(args: List[bytes]) -> Tuple[Flags, bool]:
    """SHUTDOWN's options: (flags, ABORT); Redis's syntax errors for bad mixes."""
    save: Optional[bool] = None
    now = force = abort = False
    saw_save = saw_nosave = False
    for word in (arg.lower() for arg in args[1:]):
        if word == b"nosave":
            saw_nosave = True
        elif word == b"save":
            saw_save = True
        elif word == b"now":
            now = True
        elif word == b"force":
            force = True
        elif word == b"abort":
            abort = True
        else:
            raise CommandError(errors.SYNTAX)
    if (abort and (saw_save or saw_nosave or now or force)) or (saw_save and saw_nosave):
        raise CommandError(errors.SYNTAX)
    if saw_save:
        save = True
    elif saw_nosave:
        save = False
    return (save, now, force), abort

