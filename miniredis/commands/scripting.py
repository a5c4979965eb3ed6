"""Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis 7.0's eval.c).

A script runs atomically inside the EVAL that started it: its ``redis.call``s go
through the command table (same handlers, same statistics as Redis counts them) with
the caller's client, whose database, protocol and blocking mode are swapped for the
script's and restored afterwards (SELECT inside a script lasts until its end, blocking
commands answer at once, clients waiting on keys the script writes are served after
it, as after EXEC).

Past ``busy-reply-threshold`` the script's count hook runs the event loop for a moment
now and then, as Redis's processEventsWhileBlocked does: other clients get ``-BUSY``
for everything but the commands flagged ``allow_busy`` (SCRIPT KILL, SHUTDOWN...), and
SCRIPT KILL makes the hook raise the kill error inside the script.
"""
from __future__ import annotations

import hashlib
import time
from math import floor as _floor
from time import perf_counter as _perf_counter
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .. import errors
from ..args import parse_int
from ..dirty import write_done
from ..monitor import feed as monitor_feed, shown as monitor_shown
from ..errors import CommandError
from ..datatypes.lazyfree import lazily_freed_entries
from ..histogram import record_overflow
from ..scripting.lua import LuaEngine, Rand48
from ..scripting.replies import ScriptError
from ..scripting.ldb import Debugger
from ..protocol import OK, RESP2, RESP3, Raw
from . import Command, command, container
from .connection import REDIS_VERSION, help_reply
from ..persistence import begin_unit, end_unit
from ..security.acl import acl_check_script_call
from ..replication.replica import link_down_refuses_stale, read_only as replica_read_only
from ..errors import c_text as _text

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState

HOOK_INSTRUCTIONS = 100000      # Redis's LUA_MASKCOUNT period
_DEEP_REPLY = 100               # nesting past which a script's reply is encoded here

# Shebang flags (scripts_flags_def); only no-writes changes anything here.
_SHEBANG_FLAGS = {b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster",
                  b"allow-cross-slot-keys"}


class _Script:
    """A compiled script of the cache, with its shebang flags."""

    __slots__ = ("sha", "function", "compat", "no_writes", "allow_oom", "allow_stale")

    def __init__(self, sha: bytes, function: Any, compat: bool, no_writes: bool,
                 allow_oom: bool = False, allow_stale: bool = False) -> None:
        self.sha = sha
        self.function = function
        self.compat = compat          # no shebang: Redis's EVAL compatibility mode
        self.no_writes = no_writes
        self.allow_oom = allow_oom
        self.allow_stale = allow_stale  # runs on a replica whose master link is down


class _Run:
    """The script being run: who runs it and what it has done (scriptRunCtx)."""

    __slots__ = ("client", "script", "read_only", "wrote", "killed", "busy", "started",
                 "watcher_was_active", "busy_error", "argv")

    def __init__(self, client: "Client", script: _Script, read_only: bool) -> None:
        self.client = client
        self.script = script
        self.read_only = read_only
        self.wrote = False            # a write command ran: SCRIPT KILL refuses
        self.killed = False
        self.busy = False             # past busy-reply-threshold
        self.started = time.monotonic()
        self.watcher_was_active = False
        self.busy_error = errors.BUSY_SCRIPT    # what other clients get meanwhile
        self.argv: List[bytes] = []             # the calling command (FUNCTION STATS)


class Scripting:
    """The script cache and the Lua engine of one server."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.scripts: Dict[bytes, _Script] = {}
        # The same scripts by their text, as EVAL finds them: a dict probe hashes the
        # text once, where the SHA1 digest costs ~3,000 instructions a call.
        self._by_body: Dict[bytes, _Script] = {}
        self._engine: Optional[LuaEngine] = None
        self.running: Optional[_Run] = None
        self.ldb = Debugger(self)        # SCRIPT DEBUG's Lua debugger

    @property
    def engine(self) -> LuaEngine:
        if self._engine is None:
            self._engine = self._hooked(LuaEngine(self._call, self._log, REDIS_VERSION))
        return self._engine

    def _hooked(self, engine: LuaEngine) -> LuaEngine:
        """``engine`` with the hooks its redis.* API calls back into (ACL checks,
        redis.set_repl): scripts' and functions' runtimes alike."""
        engine.acl_check = self._acl_check_cmd
        engine.set_repl = self._set_repl
        rand = getattr(self.state, "lua_rand", None)
        if rand is None:
            rand = self.state.lua_rand = Rand48()
        engine.rand = rand
        return engine

    def _set_repl(self, flags: int) -> None:
        """redis.set_repl: the running script's later writes go to these targets."""
        self.state.propagation.targets = flags

    def _acl_check_cmd(self, argv: List[bytes]) -> Optional[bool]:
        """redis.acl_check_cmd: may the running script's caller run ``argv``?"""
        cmd = self.state.names.command_of(argv)
        if cmd is None:
            return None
        run = self.running
        if run is None or not run.client.user.restricted:
            return True
        return not run.client.user.check(cmd, argv)[0]

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script and start a fresh interpreter."""
        self.scripts.clear()
        self._by_body.clear()
        self._engine = None

    # -- loading -------------------------------------------------------------------
    def load(self, body: bytes) -> _Script:
        """The cached script for ``body``, compiling it (with its shebang) if new."""
        script = self._by_body.get(body)
        if script is not None:
            return script
        sha = hashlib.sha1(body).hexdigest().encode()
        script = self.scripts.get(sha)
        if script is not None:
            self._by_body[body] = script
            return script
        compat, no_writes, skip = _parse_shebang(body)
        function, error = self.engine.compile(body[skip:])
        if function is None:
            raise CommandError(errors.SCRIPT_COMPILE.format(_text(error)))
        allow_oom = not compat and b"allow-oom" in _shebang_flags(body)
        allow_stale = not compat and b"allow-stale" in _shebang_flags(body)
        script = self.scripts[sha] = _Script(sha, function, compat, no_writes, allow_oom,
                                             allow_stale)
        self._by_body[body] = script
        return script

    # -- running -------------------------------------------------------------------
    def execute(self, client: "Client", request: List[bytes], script: _Script,
                keys: List[bytes], argv: List[bytes], read_only: bool) -> Any:
        """Run ``script`` for ``client``, which called it with ``request`` (EVAL,
        FCALL...); its reply (errors raised)."""
        engine = self.engine
        state = self.state
        run = self.new_run(client, script, read_only)
        saved_db, saved_resp = client.db, client.resp
        saved_no_blocking = client.no_blocking
        blocking = state.blocking
        client.no_blocking = True
        blocking.suspended += 1
        begin_unit(state)           # the AOF logs the script's writes as one unit
        state.propagation.reset_targets()   # the AOF and replicas, until redis.set_repl
        self.running = run
        judged_at = state.clock.hold_expiry()   # no key expires while the script runs
        client.callers.append((client.batch, request))  # (Client.requests_before)
        debugging = engine.ldb is not None
        if debugging:
            self.ldb.sethook(engine)
        elif not engine.ticking:
            # The count hook stays on between runs (a tick outside a run answers no):
            # setting and clearing it took 2.6 us of each script's 12.
            engine.sethook(self._tick, HOOK_INSTRUCTIONS)
            engine.ticking = True
        try:
            ok, value = self.invoke(engine, script, keys, argv)
        finally:
            self.running = None
            client.callers.pop()
            state.clock.restore_expiry(judged_at)
            if debugging:
                engine.ldb_api[b"sethook"](None, 0)
                engine.ticking = False
            elif run.killed:    # (a killed script's hook fires on every line: reset)
                engine.sethook(None, 0)
                engine.ticking = False
            if run.busy:
                self._leave_busy(run)
            state.propagation.reset_targets()
            end_unit(state)
            blocking.suspended -= 1
            client.no_blocking = saved_no_blocking
            client.db = saved_db
            if client.resp != saved_resp:   # (the gate: kept current by what changes it)
                client.set_protocol(saved_resp)
        if ok:
            reply = engine.from_lua(value, engine.resp)
            if isinstance(reply, CommandError):
                raise reply
            if engine.reply_errors:
                _count_reply_errors(client, state.names.lookup(request[0]),
                                    engine.reply_errors)
            if engine.reply_depth > _DEEP_REPLY:
                # encoded here, without recursion (the reply encoder recurses)
                return Raw((RESP3 if client.resp == 3 else RESP2).encode_deep(reply))
            return reply
        raise self._error_reply(engine, script, value)

    def new_run(self, client: "Client", script: Any, read_only: bool) -> _Run:
        return _Run(client, script, read_only)

    def invoke(self, engine: LuaEngine, script: Any, keys: List[bytes],
               argv: List[bytes]) -> Tuple[bool, Any]:
        """Run the script's Lua code: (ok, value or error table)."""
        return engine.run(script.function, keys, argv)

    @staticmethod
    def _error_reply(engine: LuaEngine, script: _Script, value: Any) -> CommandError:
        """The reply for an error the script raised (an error table from the handler)."""
        if engine.lua_type(value) != "table":
            text = value if isinstance(value, bytes) else str(value).encode()
            return CommandError("ERR Error running script %s, %s"
                                % (script.sha.decode(), text[:100].decode("utf-8", "replace")))
        rawget = engine._rawget
        message = rawget(value, b"err")
        if isinstance(message, (int, float)):
            message = str(message).encode()
        if not isinstance(message, bytes):
            message = b"ERR unknown error"
        text = message.decode("utf-8", "surrogateescape")
        source = rawget(value, b"source")
        line = rawget(value, b"line")
        if source is not None and line is not None:
            if isinstance(line, float) and line == int(line):
                line = int(line)
            if isinstance(source, bytes):
                source = source.decode("utf-8", "surrogateescape")
            text += " script: %s, on %s:%s." % (script.sha.decode(), source, line)
        if rawget(value, b"ignore_error_stats_update") is True:
            return ScriptError(text)
        return CommandError(text)

    def _call(self, argv: List[bytes]) -> Tuple[bool, Any]:
        """redis.call/pcall: run one command for the script (scriptCall). ``argv`` is
        the call's arguments, each bytes (LuaEngine checked them)."""
        run = self.running
        engine = self._engine
        if run is None:  # pragma: no cover - only scripts call this
            return False, engine._error_table("ERR no script is running")
        client = run.client
        state = self.state
        ldb = engine.ldb
        if ldb is not None:
            ldb.log_command(argv)
        names = state.names
        cmd = names.fast.get(argv[0])   # (the dispatcher's shortest path, as there)
        if cmd is None or not cmd.min_args <= len(argv) <= cmd.max_args:
            cmd = names.command_of(argv)
            if cmd is None:
                return self._refuse(client, None, errors.SCRIPT_UNKNOWN_COMMAND)
            if not cmd.arity_ok(len(argv)):
                return self._refuse(client, cmd, errors.SCRIPT_WRONG_ARITY)
        flags = cmd.flags
        if "noscript" in flags and not state.script_disable_deny_script:
            return self._refuse(client, cmd, errors.SCRIPT_NOT_ALLOWED)
        if state.repl.gate and "stale" not in flags and link_down_refuses_stale(state):
            return self._refuse(client, cmd, errors.SCRIPT_STALE_REPLICA)
        if client.user.restricted:
            refusal = acl_check_script_call(client, cmd, argv)
            if refusal is not None:
                return self._refuse(client, cmd, refusal)
        is_write = cmd.is_write
        if run.read_only and (is_write or "may_replicate" in flags):
            return self._refuse(client, cmd, errors.SCRIPT_READONLY)
        if is_write and not run.wrote:
            if replica_read_only(state) and not client.obeyed:
                return self._refuse(client, cmd, errors.READONLY_REPLICA)
            if state.write_denied is not None:
                # Disk errors; a script that already wrote is not failed halfway (Redis).
                return self._refuse(client, cmd, state.write_denied)
            if state.no_replicas:
                return self._refuse(client, cmd, errors.NOREPLICAS)
        if state.pre_command_oom and "denyoom" in flags and not run.wrote \
                and not run.script.allow_oom and state.config.values["maxmemory"]:
            # scriptVerifyOOM: over maxmemory when the script began, and no write yet.
            return self._refuse(client, cmd, errors.OOM)
        if is_write:
            run.wrote = True
        if client.resp != engine.resp:     # (redis.setresp; a RESP3 caller's first call)
            client.set_protocol(engine.resp)
        started = _perf_counter()
        dirty = state.dirty
        try:
            reply = cmd.handler(client, argv)
        except CommandError as exc:
            reply = exc
            cmd.failed_calls += 1
        except Exception:  # a bug must not escape into Lua as a Python exception
            import traceback
            state.log("warning", "Error running %s from a script: %s"
                      % (cmd.fullname, traceback.format_exc()))
            reply = CommandError("ERR internal error while running '%s'" % cmd.fullname)
            cmd.failed_calls += 1
        elapsed = _perf_counter() - started
        cmd.calls += 1
        cmd.seconds += elapsed
        slow, track = state.config.dispatch
        if track:   # as call() does for a script's commands (the dispatcher's increment)
            try:
                cmd.hist[_floor(elapsed * 1e6)] += 1
            except IndexError:
                record_overflow(cmd, elapsed)
        state.stats.total_commands_processed += 1
        if elapsed >= slow:
            slowlog_usec = state.config.values["slowlog-log-slower-than"]
            if 0 <= slowlog_usec <= elapsed * 1_000_000:
                # Redis logs what scripts run too, as its Lua client (no address, name).
                state.add_slowlog(argv, int(elapsed * 1_000_000), None)
        if client.tracking is not None and "readonly" in flags:
            state.tracking.script_read(client)   # the script's declared keys were read
        if state.monitors and monitor_shown(cmd):
            monitor_feed(state, client, argv, lua=True)
        if ldb is not None:
            if isinstance(reply, CommandError):
                ldb.log_error(b"-" + reply.message.encode("utf-8", "surrogateescape"))
            ldb.log_reply(reply, engine.resp)
        cls = reply.__class__
        if cls is not bytes and cls is not int and isinstance(reply, CommandError):
            client.count_error(reply.message)
            return False, engine.to_lua(reply)
        if is_write and write_done(state, cmd, dirty, False):
            if state.propagator is not None:
                state.propagator.feed(client, cmd, argv, reply)   # effects replication
        if cls is bytes or cls is int:  # (to_lua's commonest answers: as they are)
            return True, reply
        return True, engine.call_reply(reply)

    def _refuse(self, client: "Client", cmd: Optional[Command],
                message: str) -> Tuple[bool, Any]:
        # Counted now (error stats, rejected calls); the table says not to count again.
        if cmd is not None:
            cmd.rejected_calls += 1
        client.count_error(message)
        if self.engine.ldb is not None:
            self.engine.ldb.log_refusal(message)
        return False, self.engine._error_table(message)

    def _log(self, level: int, message: bytes) -> None:
        names = ("debug", "verbose", "notice", "warning")
        self.state.log(names[int(level)], message.decode("utf-8", "replace"))

    # -- busy scripts and SCRIPT KILL ------------------------------------------------
    def _tick(self) -> bool:
        """The count hook: True stops the script (SCRIPT KILL)."""
        run = self.running
        if run is None:
            return False
        if run.killed:
            return True
        threshold = self.state.config["busy-reply-threshold"]
        if (time.monotonic() - run.started) * 1000 < threshold:
            return False
        if not run.busy:
            self._enter_busy(run)
        serve = self.state.serve_while_blocked
        if serve is not None:
            serve()                 # serve the other clients: -BUSY, SCRIPT KILL...
        return run.killed

    def _enter_busy(self, run: _Run) -> None:
        state = self.state
        run.busy = True
        state.busy_script = run
        kill = "FUNCTION KILL" if run.busy_error is errors.BUSY_FUNCTION else "SCRIPT KILL"
        self.state.log("warning", "Slow script detected: still in execution after %d "
                       "milliseconds. You can try killing the script using the %s "
                       "command. Script name is: %s."
                       % ((time.monotonic() - run.started) * 1000, kill,
                          run.script.sha.decode("utf-8", "replace")))
        # The caller's further input waits (Redis protects the client), and the cron's
        # active expiry must not change data under the script.
        run.watcher_was_active = run.client.pause_reading()
        state.active_expire = lambda: None
        for other in list(state.clients.values()):
            other._update_gate()

    def _leave_busy(self, run: _Run) -> None:
        state = self.state
        state.busy_script = None
        state.__dict__.pop("active_expire", None)
        if run.watcher_was_active:
            run.client.resume_reading()
        for other in list(state.clients.values()):
            other._update_gate()

    def kill(self, is_eval: bool = True) -> Any:
        """SCRIPT KILL (``is_eval``) or FUNCTION KILL of whichever script runs
        (scriptKill: one refuses to kill what the other started)."""
        run = self.running
        if run is None:
            other = self.state.busy_script
            if other is None or other is run:
                raise CommandError(errors.NOTBUSY)
            run = other
        if run.wrote:
            raise CommandError(errors.UNKILLABLE)
        function = run.busy_error is errors.BUSY_FUNCTION
        if is_eval and function:
            raise CommandError(errors.BUSY_FUNCTION)
        if not is_eval and not function:
            raise CommandError(errors.BUSY_SCRIPT)
        run.killed = True
        return OK


def _scripting(state: "ServerState") -> Scripting:
    scripting = getattr(state, "scripting", None)
    if scripting is None:
        scripting = state.scripting = Scripting(state)
    return scripting


def _parse_shebang(body: bytes) -> Tuple[bool, bool, int]:
    """(compat mode, no-writes, length of the shebang line) for a script body."""
    if not body.startswith(b"#!"):
        return True, False, 0
    from ..wire import c_strchr, split_inline
    end = c_strchr(body, b"\n")
    if end < 0:
        raise CommandError(errors.SCRIPT_SHEBANG_INVALID)
    parts = split_inline(body[:end])
    if not parts:
        raise CommandError(errors.SCRIPT_SHEBANG_NO_ENGINE)
    if parts[0] != b"#!lua":
        raise CommandError(errors.SCRIPT_SHEBANG_ENGINE.format(_text(parts[0])))
    no_writes = False
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(errors.SCRIPT_SHEBANG_OPTION.format(_text(part)))
        for flag in part[6:].split(b",") if part[6:] else ():
            if flag not in _SHEBANG_FLAGS:
                raise CommandError(errors.SCRIPT_SHEBANG_FLAG.format(_text(flag)))
            if flag == b"no-writes":
                no_writes = True
    return False, no_writes, end


def _shebang_flags(body: bytes) -> List[bytes]:
    """The flags of a (valid) shebang line."""
    from ..wire import split_inline
    end = body.find(b"\n")
    flags: List[bytes] = []
    for part in split_inline(body[:end])[1:]:
        flags.extend(part[6:].split(b",") if part[6:] else ())
    return flags


def declared_flags(state: "ServerState", cmd: Command,
                   args: List[bytes]) -> Optional[Tuple[bool, bool]]:
    """(no-writes, allow-oom) as an EVAL-like command's script declared them in its
    shebang, or None where the command's own flags apply: no shebang, an EVALSHA of a
    script not in the cache, an unreadable shebang (evalGetCommandFlags)."""
    if len(args) < 2:
        return None
    scripting = _scripting(state)
    if cmd.name.startswith("evalsha"):
        script = scripting.scripts.get(args[1].lower())
        if script is None:
            return None
        compat, no_writes, allow_oom = script.compat, script.no_writes, script.allow_oom
    else:
        sha = hashlib.sha1(args[1]).hexdigest().encode()
        script = scripting.scripts.get(sha)
        if script is not None:
            compat, no_writes, allow_oom = script.compat, script.no_writes, script.allow_oom
        else:
            try:
                compat, no_writes, _ = _parse_shebang(args[1])
            except CommandError:
                return None
            allow_oom = not compat and b"allow-oom" in _shebang_flags(args[1])
    if compat:
        return None
    return no_writes, allow_oom


def declared_writes(state: "ServerState", cmd: Command, args: List[bytes]) -> Optional[bool]:
    """Whether an EVAL, EVALSHA or FCALL may write as its script or function declared
    it (no no-writes flag: Redis's scriptFlagsToCmdFlags adds CMD_WRITE), or None
    where the command's own flags apply (no shebang, unknown script or function)."""
    if cmd.parent is not None or cmd.name not in ("eval", "evalsha", "fcall"):
        return None
    if cmd.name == "fcall":
        from .functions import declared_flags as function_flags
        flags = function_flags(state, args)
    else:
        flags = declared_flags(state, cmd, args)
    return None if flags is None else not flags[0]


def script_denies_oom(state: "ServerState", cmd: Command, args: List[bytes]) -> bool:
    """EVAL & co. count as denyoom when the script has a shebang without allow-oom or
    no-writes (evalGetCommandFlags); a script without one keeps EVAL's own flags."""
    flags = declared_flags(state, cmd, args)
    if flags is None:
        return "denyoom" in cmd.flags
    no_writes, allow_oom = flags
    return not (allow_oom or no_writes)




def script_keys(args: List[bytes]) -> List[int]:
    """Key positions of EVAL-like commands and FCALL: numkeys at 2, keys from 3."""
    try:
        numkeys = int(args[2])
    except (ValueError, IndexError):
        return []
    if numkeys < 0 or numkeys > len(args) - 3:
        return []
    return list(range(3, 3 + numkeys))


def _eval(client: "Client", args: List[bytes], by_sha: bool, read_only: bool) -> Any:
    if by_sha and len(args[1]) != 40:
        raise CommandError(errors.NOSCRIPT)   # checked before numkeys, as in Redis
    if getattr(client, "lua_debug", None) is not None:
        if by_sha:
            raise CommandError(errors.LDB_EVALSHA)
        return _scripting(client.state).ldb.run_eval(
            client, args[1], lambda: _run_eval(client, args, by_sha, read_only))
    return _run_eval(client, args, by_sha, read_only)


def _run_eval(client: "Client", args: List[bytes], by_sha: bool, read_only: bool) -> Any:
    numkeys = parse_int(args[2])
    if numkeys > len(args) - 3:
        raise CommandError(errors.NUMKEYS_TOO_BIG)
    if numkeys < 0:
        raise CommandError(errors.NUMKEYS_NEGATIVE)
    scripting = _scripting(client.state)
    if by_sha:
        sha = args[1].lower()
        script = scripting.scripts.get(sha)
        if script is None:
            raise CommandError(errors.NOSCRIPT)
    else:
        script = scripting.load(args[1])
    prepare_run(client, script, read_only)
    keys = args[3:3 + numkeys]
    argv = args[3 + numkeys:]
    return scripting.execute(client, args, script, keys, argv,
                             read_only or (not script.compat and script.no_writes))


def _count_reply_errors(client: "Client", cmd: Command, found: List[CommandError]) -> None:
    """Errors inside a script's reply, counted as Redis's luaReplyToRedisReply and
    call() do: one that a command the script ran gave was counted then, and counts
    again only as a failed call of the script's command (EVAL, FCALL...); another
    counts as an error reply, and the script's command fails once for them all."""
    made = False
    for error in found:
        if error.__class__ is ScriptError:
            cmd.failed_calls += 1
        else:
            client.count_error(error.message)
            made = True
    if made:
        cmd.failed_calls += 1


def prepare_run(client: "Client", script: Any, read_only: bool) -> None:
    """scriptPrepareForRun's refusals for a script or function with flags (EVAL with
    a shebang, FCALL): MISCONF, NOREPLICAS, a writing script from a *_RO command, OOM;
    on a replica, MASTERDOWN and READONLY (processCommand's, by the script's flags).

    A script that may write makes its command a write command, which processCommand
    refuses first on a disk error or missing replicas, *_RO commands included."""
    state = client.state
    may_write = not script.compat and not script.no_writes
    if may_write and replica_read_only(state) and not client.obeyed:
        raise CommandError(errors.READONLY_REPLICA)     # processCommand: a write command
    if state.repl.gate and not script.allow_stale and link_down_refuses_stale(state):
        # processCommand's MASTERDOWN: Redis 7.0 refuses EVAL without a shebang too,
        # and a script or function unless it declares allow-stale.
        raise CommandError(errors.MASTERDOWN)
    if may_write and state.write_denied is not None:
        raise CommandError(state.write_denied)
    if may_write and state.no_replicas:
        raise CommandError(errors.NOREPLICAS)
    if read_only and may_write:
        raise CommandError(errors.SCRIPT_WRITE_FLAG_RO)
    if state.pre_command_oom and state.config.values["maxmemory"] and not script.compat \
            and not (script.allow_oom or script.no_writes):
        raise CommandError(errors.SCRIPT_OOM_NO_ALLOW)      # scriptPrepareForRun


_EVAL_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


@command("eval", -3, _EVAL_FLAGS, group="scripting", since="2.6.0",
         summary="Execute a Lua script server side", key_finder=script_keys)
def eval_(client: "Client", args: List[bytes]) -> Any:
    return _eval(client, args, by_sha=False, read_only=False)


@command("evalsha", -3, _EVAL_FLAGS, group="scripting", since="2.6.0",
         summary="Execute a Lua script server side", key_finder=script_keys)
def evalsha(client: "Client", args: List[bytes]) -> Any:
    return _eval(client, args, by_sha=True, read_only=False)


@command("eval_ro", -3, "readonly " + _EVAL_FLAGS, group="scripting", since="7.0.0",
         summary="Execute a read-only Lua script server side", key_finder=script_keys)
def eval_ro(client: "Client", args: List[bytes]) -> Any:
    return _eval(client, args, by_sha=False, read_only=True)


@command("evalsha_ro", -3, "readonly " + _EVAL_FLAGS, group="scripting", since="7.0.0",
         summary="Execute a read-only Lua script server side", key_finder=script_keys)
def evalsha_ro(client: "Client", args: List[bytes]) -> Any:
    return _eval(client, args, by_sha=True, read_only=True)


# -- SCRIPT ------------------------------------------------------------------------------
container("script", -2, group="scripting", since="2.6.0",
          summary="A container for Lua scripts management commands")


@command("script|debug", 3, "noscript", group="scripting", since="3.2.0",
         summary="Set the debug mode for executed scripts.")
def script_debug(client: "Client", args: List[bytes]) -> Any:
    if client.out or client._unsent or client.in_exec:
        # clientHasPendingReplies: a reply before it in the same read, or EXEC's
        raise CommandError(errors.LDB_PIPELINE)
    mode = args[2].lower()
    ldb = _scripting(client.state).ldb
    if mode == b"no":
        ldb.disable(client)
    elif mode in (b"yes", b"sync"):
        ldb.enable(client, sync=mode == b"sync")
    else:
        raise CommandError(errors.LDB_MODE)
    return OK


@command("script|exists", -3, "noscript", group="scripting", since="2.6.0",
         summary="Check existence of scripts in the script cache.")
def script_exists(client: "Client", args: List[bytes]) -> Any:
    scripts = _scripting(client.state).scripts
    return [1 if sha.lower() in scripts else 0 for sha in args[2:]]


@command("script|flush", -2, "noscript", group="scripting", since="2.6.0",
         summary="Remove all the scripts from the script cache.")
def script_flush(client: "Client", args: List[bytes]) -> Any:
    if len(args) > 3 or (len(args) == 3 and args[2].lower() not in (b"sync", b"async")):
        raise CommandError(errors.SCRIPT_FLUSH_OPTION)
    scripting = _scripting(client.state)
    if flush_is_async(client, args):
        client.state.stats.lazyfreed_objects += lazily_freed_entries(len(scripting.scripts))
    scripting.flush()
    return OK


def flush_is_async(client, args: List[bytes]) -> bool:
    """SCRIPT FLUSH's and FUNCTION FLUSH's mode (checked valid): ASYNC, SYNC, or
    without either lazyfree-lazy-user-flush."""
    if len(args) == 3:
        return args[2].lower() == b"async"
    return client.state.config.values["lazyfree-lazy-user-flush"]


@command("script|help", 2, "loading stale", group="scripting", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def script_help(client: "Client", args: List[bytes]) -> Any:
    return help_reply(args, [
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ])


@command("script|kill", 2, "noscript allow_busy", group="scripting", since="2.6.0",
         summary="Kill the script currently in execution.")
def script_kill(client: "Client", args: List[bytes]) -> Any:
    return _scripting(client.state).kill()


@command("script|load", 3, "noscript stale", group="scripting", since="2.6.0",
         summary="Load the specified Lua script into the script cache.")
def script_load(client: "Client", args: List[bytes]) -> Any:
    return _scripting(client.state).load(args[2]).sha

