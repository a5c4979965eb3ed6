"""What may answer a request instead of its command: Redis's processCommand checks.

:class:`RequestGate` is the part of :class:`miniredis.connection.Client` that refuses
requests before they run -- unknown commands and bad arity (rejectCommand), and
:meth:`RequestGate._gate`, the slow path dispatch consults once per command while
anything is switched on (``Client.gated``): protected commands, ACL rules, NOAUTH,
output and memory limits, a failing disk, replicas, loading, busy scripts, pauses,
MULTI queueing. Kept apart from the read loop so each file holds one concern.
"""
from __future__ import annotations

from typing import List, Optional

from . import errors
from .commands import Command
from .commands.pubsub import refused_while_subscribed
from .commands.transactions import exec_abort, flag_queue_error, queue_command
from .errors import CommandError
from .evict import refuse_oom
from .cmdflags import carries, denies, disk_denied, writes
from .monitor import feed as monitor_feed
from .pause import may_replicate
from .replication.replica import link_down_refuses_stale, read_only as replica_read_only
from .security.outputlimits import close_if_over, deferred_reply
from .protocol import error_line
from .security.protected import PROTECTED_COMMANDS, command_refusal


class RequestGate:
    """Refusals before a command runs, for a Client (a mixin over its state, user,
    reply buffer and MULTI queue)."""

    __slots__ = ()

    def _reject(self, args: List[bytes], exc: CommandError) -> None:
        """An unknown command or bad arity: refused before it runs."""
        names = self.state.names
        # (CLIENT LIST's cmd=: Redis's lastcmd is what lookupCommand found, NULL for an
        # unknown command or subcommand; run_requests leaves it so when it ends here)
        looked = names.command_of(args)
        self.last_command = looked.fullname if looked is not None else "NULL"
        cmd = names.lookup(args[0])
        if cmd is not None and cmd.subcommands and len(args) >= 2:
            # As Redis's lookupCommand: a bad arity counts on the subcommand itself, an
            # unknown subcommand is an unknown command and counts nowhere.
            cmd = cmd.subcommands.get(args[1].lower())
        if cmd is not None:
            cmd.rejected_calls += 1
        if self.reply_mode != "on" and self._suppress_reply(exc, cmd):
            self.state.stats.total_commands_processed -= 1  # (as in _refuse)
            if self.multi is not None:
                flag_queue_error(self)
            return
        self._refuse(cmd, exc.message)

    def _rejected(self, cmd: Command, message: str) -> None:
        """A refusal of Redis's processCommand (rejectCommand): counted as one of the
        command's rejected calls, then answered as :meth:`_refuse` does."""
        cmd.rejected_calls += 1
        self._refuse(cmd, message)

    def _refuse(self, cmd: Optional[Command], message: str) -> None:
        """Answer a request refused before it ran (rejectCommand in Redis).

        Inside MULTI the refusal dooms the transaction; a refused EXEC ends it at once
        with Redis's ``EXECABORT ... because of:`` text.
        """
        # (run_requests counts every request of its batch; Redis counts the calls made,
        # and a refused command made none)
        self.state.stats.total_commands_processed -= 1
        if cmd is not None and cmd.name == "exec" and cmd.parent is None:
            message = exec_abort(self, message)
        elif self.multi is not None:
            flag_queue_error(self)
        if self.reply_mode == "replica":
            self.count_error(message)
            self._replica_replied(cmd, CommandError(message))
            return
        self.reply_error(message)

    def count_error(self, message: str) -> None:
        stats = self.state.stats
        stats.total_error_replies += 1
        # (afterErrorReply: the code ends at a space among the reply's first 32 bytes,
        # its "-" included, read as sent (protocol.error_line); a script's error
        # without one counts as ERR)
        head = error_line(message.rstrip("\r\n")[:31])[:31]
        space = head.find(b" ")
        code = head[:space].decode("utf-8", "surrogateescape") if space >= 0 else "ERR"
        stats.error_counts[code] = stats.error_counts.get(code, 0) + 1
        if self.obeyed:     # our master's stream or the AOF: a divergence (crash.py)
            from .crash import unexpected_error
            unexpected_error(self, message)

    def _gate(self, cmd: Command, args: List[bytes]) -> bool:
        """Slow-path checks before running ``cmd``; True if the request was handled."""
        if self.tracking is not None:   # keys read by the previous command, own notices
            self.state.tracking.before_command(self, cmd, args)
        if cmd.fullname in PROTECTED_COMMANDS:  # refused before NOAUTH and MULTI
            refusal = command_refusal(self, cmd.fullname)
            if refusal is not None:
                self._rejected(cmd, refusal)
                return True
        if self.in_exec:
            # EXEC runs its queue checking only the ACL rules again (execCommand): the
            # other refusals were decided when EXEC itself was gated.
            if self.user.restricted and self._acl_refused(cmd, args):
                return True
            if self.state.monitors:
                self._monitor_script(cmd, args)
            return False
        if self.state.normal_output_limited:
            if self.out and close_if_over(self):
                return True     # past client-output-buffer-limit: nothing more runs
            deferred_reply(self, cmd, args)
        if not self.authenticated and not self.state.acl.open \
                and "no_auth" not in cmd.flags:
            self._rejected(cmd, errors.NOAUTH)
            return True
        if self.user.restricted and not (self.multi is not None
                                         and "no_multi" in cmd.flags) \
                and self._acl_refused(cmd, args):
            return True
        eviction = self.state.client_eviction
        if eviction is not None and eviction.before_command(self):
            return True     # maxmemory-clients evicted this client: nothing more runs
        if self.state.maxmemory_gate and refuse_oom(self, cmd, args):
            return True
        denied = self.state.write_denied
        if denied is not None and disk_denied(self, cmd):
            # Persistence fails (processCommand's writeCommandsDeniedByDiskError).
            self._rejected(cmd, denied)
            return True
        if self.state.no_replicas and writes(self, cmd):
            # processCommand's checkGoodReplicasStatus: no replica to write to.
            self._rejected(cmd, errors.NOREPLICAS)
            return True
        if self.state.repl.gate and replica_read_only(self.state) and writes(self, cmd):
            # A read-only replica (its master's MasterClient has a gate of its own).
            self._rejected(cmd, errors.READONLY_REPLICA)
            return True
        if self.subscribed and self.resp == 2:
            refusal = refused_while_subscribed(self, cmd)
            if refusal is not None:
                self._rejected(cmd, refusal)
                return True
        if self.state.repl.gate and link_down_refuses_stale(self.state) \
                and denies(self, cmd, "stale"):
            # replica-serve-stale-data no, and the link to the master is down
            self._rejected(cmd, errors.MASTERDOWN)
            return True
        if (self.state.repl.loading or self.state.loading) and not self.obeyed \
                and denies(self, cmd, "loading"):
            # A replica loading its master's RDB, or (served from a slow script's
            # hook) an AOF loading.
            self._rejected(cmd, errors.LOADING)
            return True
        if self.state.repl.async_loading and carries(self, cmd, "no_async_loading"):
            # A replica loading its master's RDB beside the old data (swapdb).
            self._rejected(cmd, errors.LOADING)
            return True
        if self.state.busy_script is not None and "allow_busy" not in cmd.flags:
            # A script runs past busy-reply-threshold (we are served from its hook).
            self._rejected(cmd, self.state.busy_script.busy_error)
            return True
        if self.reply_mode == "replica" and (may_replicate(cmd) or "readonly" in cmd.flags):
            self._rejected(cmd, errors.REPLICA_KEYSPACE)      # (then dropped: a reply)
            return True
        state = self.state
        if state.gate_all:
            if self.id in state.monitors and not self.in_exec and (
                    may_replicate(cmd) or "readonly" in cmd.flags):
                self._rejected(cmd, errors.REPLICA_KEYSPACE)   # a monitor is a replica
                return True
            if state.pause.type and not self.in_exec and state.pause.holds(self, cmd, args):
                state.pause.postpone(self, [args])
                return True
            if state.monitors and self.multi is None:
                self._monitor_script(cmd, args)
        if self.multi is not None:
            return queue_command(self, cmd, args)
        return False

    def _monitor_script(self, cmd: Command, args: List[bytes]) -> None:
        """EVAL & co. (skip_monitor) show themselves to monitors before they run, so
        that their script's commands follow them (evalCommand, fcallCommand)."""
        if "skip_monitor" in cmd.flags and cmd.group == "scripting":
            monitor_feed(self.state, self, args)

    def _acl_refused(self, cmd: Command, args: List[bytes]) -> bool:
        """Refuse the request if the user's ACL rules deny it (one call into security
        checks the command, its keys and channels)."""
        reason, pos = self.user.check(cmd, args)
        if not reason:
            return False
        refusal = self.state.acl.denied(self, cmd, args, reason, pos)
        if not self.in_exec:
            cmd.rejected_calls += 1
        self._refuse(cmd, refusal)
        return True

    def reply_error(self, message: str) -> None:
        """Send an error reply for a request refused before it ran."""
        self.count_error(message)
        self.encoder.encode_into(CommandError(message), self.out)
