"""The Lua debugger of SCRIPT DEBUG (LDB), as Redis 7.0's eval.c has it.

``SCRIPT DEBUG YES`` or ``SYNC`` marks the client; its next EVAL (or EVAL_RO) runs as
a debugging session: the script stops before its first line and the client drives
it with debugger commands (step, continue, list, print, break, eval, redis, ...),
sent as ordinary RESP arrays and answered with arrays of status lines. The session
talks to the client's socket directly, with blocking reads and writes, from inside
the script's line hook, as Redis does: in SYNC mode the whole server waits for the
debugging client; in YES mode the session runs in a forked child, whose dataset
changes are thrown away while the parent, which closed its side of the connection
at once, goes on serving everyone else. Either way the session ends with an
``<endsession>`` line, the EVAL's reply, and the connection closed.

The Lua half (the line hook, reading the stopped frame's locals, ``eval``) is part
of the sandbox's prelude (:mod:`miniredis.scripting.sandbox`): the hook is installed
with the prelude's own reference to the debug library, which scripts never get.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import struct
import time
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from .. import errors
from ..errors import CommandError
from ..persistence import diskio, on_fork
from ..protocol import RESP2, RESP3

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState

BREAKPOINTS_MAX = 64            # LDB_BREAKPOINTS_MAX
MAX_LEN_DEFAULT = 256           # LDB_MAX_LEN_DEFAULT
HOOK_COUNT = 100000             # the count part of the hook: infinite loop detection
_READ_SIZE = 1024
_BUFFER_MAX = 1 << 20

_HELP = [
    b"Redis Lua debugger help:",
    b"[h]elp               Show this help.",
    b"[s]tep               Run current line and stop again.",
    b"[n]ext               Alias for step.",
    b"[c]ontinue           Run till next breakpoint.",
    b"[l]ist               List source code around current line.",
    b"[l]ist [line]        List source code around [line].",
    b"                     line = 0 means: current position.",
    b"[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    b"                     to show before/after [line].",
    b"[w]hole              List all source code. Alias for 'list 1 1000000'.",
    b"[p]rint              Show all the local variables.",
    b"[p]rint <var>        Show the value of the specified variable.",
    b"                     Can also show global vars KEYS and ARGV.",
    b"[b]reak              Show all breakpoints.",
    b"[b]reak <line>       Add a breakpoint to the specified line.",
    b"[b]reak -<line>      Remove breakpoint from the specified line.",
    b"[b]reak 0            Remove all breakpoints.",
    b"[t]race              Show a backtrace.",
    b"[e]val <code>        Execute some Lua code (in a different callframe).",
    b"[r]edis <cmd>        Execute a Redis command.",
    b"[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    b"                     Specifying zero as <len> means unlimited.",
    b"[a]bort              Stop the execution of the script. In sync",
    b"                     mode dataset changes will be retained.",
    b"",
    b"Debugger functions you can call from Lua scripts:",
    b"redis.debug()        Produce logs in the debugger console.",
    b"redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    b"                     next line of code.",
]

_ATOI = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]*)")
_STRING2L = re.compile(rb"(?:0|-?[1-9][0-9]*)\Z")


def _cstr(value: bytes) -> bytes:
    """``value`` as C string functions see it: up to its first NUL."""
    end = value.find(b"\0")
    return value if end < 0 else value[:end]


def _int32(value: int) -> int:
    """A C long converted to int (two's complement truncation)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _atoi(value: bytes) -> int:
    """C's atoi (glibc: strtol, saturating, then cast to int)."""
    match = _ATOI.match(value)
    if not match.group(2):
        return 0
    number = int(match.group(2))
    if match.group(1) == b"-":
        number = -number
    number = max(min(number, 2 ** 63 - 1), -2 ** 63)
    return _int32(number)


def _string2l(value: bytes) -> Optional[int]:
    """Redis's string2l: a strict decimal long, or None."""
    if not _STRING2L.match(value):
        return None
    number = int(value)
    return number if -2 ** 63 <= number < 2 ** 63 else None


def _repr(data: bytes) -> bytes:
    """sdscatrepr: quoted, escapes for quotes, backslashes and unprintable bytes."""
    out = [b'"']
    for byte in data:
        char = bytes((byte,))
        if char in b'\\"':
            out.append(b"\\" + char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0x20 <= byte <= 0x7E:
            out.append(char)
        else:
            out.append(b"\\x%02x" % byte)
    out.append(b'"')
    return b"".join(out)


_ESCAPES = {b"\n": b"\\n", b"\r": b"\\r", b"\t": b"\\t", b"\a": b"\\a", b"\b": b"\\b"}


def protocol_to_human(reply: bytes, pos: int = 0) -> Tuple[bytes, int]:
    """ldbRedisProtocolToHuman: a reply's RESP encoding as the debugger logs it, and
    the offset past it. Types Redis does not render (big numbers, verbatim strings)
    give nothing and consume nothing, as in Redis."""
    kind = reply[pos:pos + 1]
    end = reply.find(b"\r", pos + 1)
    if kind == b":":
        return reply[pos + 1:end], end + 2
    if kind == b"$":
        length = int(reply[pos + 1:end])
        if length == -1:
            return b"NULL", end + 2
        return _repr(reply[end + 2:end + 2 + length]), end + 4 + length
    if kind in (b"+", b"-"):
        return _repr(reply[pos:end]), end + 2
    if kind in (b"*", b"~", b"%"):
        count = int(reply[pos + 1:end])
        pos = end + 2
        if kind == b"*" and count == -1:
            return b"NULL", pos
        parts = []
        for _ in range(count):
            text, pos = protocol_to_human(reply, pos)
            if kind == b"%":
                value, pos = protocol_to_human(reply, pos)
                text += b" => " + value
            parts.append(text)
        inner = b",".join(parts)
        if kind == b"*":
            return b"[" + inner + b"]", pos
        if kind == b"~":
            return b"~(" + inner + b")", pos
        return b"{" + inner + b"}", pos
    if kind == b"_":
        return b"(null)", end + 2
    if kind == b"#":
        return (b"#true" if reply[pos + 1:pos + 2] == b"t" else b"#false"), end + 2
    if kind == b",":
        return b"(double) " + reply[pos + 1:end], end + 2
    return b"", pos


class Debugger:
    """The debugger's state, one per server as Redis's global ``ldb``: the session's
    connection, its logs, breakpoints, the script's source and where it stopped."""

    def __init__(self, scripting: Any) -> None:
        self.scripting = scripting
        self.state: "ServerState" = scripting.state
        self.active = False
        self.forked = False
        self.fd = -1
        self.client: Optional["Client"] = None
        self.logs: List[bytes] = []
        self.children: List[diskio.Child] = []
        self._reaper: Any = None
        # Breakpoints as Redis keeps them: 64 C ints, removed with its memmove of
        # (count - index) bytes, so a removal shifts the later ones as Redis does.
        self.bp = bytearray(4 * BREAKPOINTS_MAX)
        self.bpcount = 0
        self.step = False
        self.luabp = False
        self.src: List[bytes] = []
        self.currentline = 0
        self.cbuf = b""
        self.maxlen = MAX_LEN_DEFAULT
        self.maxlen_hint_sent = False
        self.started = 0.0

    # -- SCRIPT DEBUG ------------------------------------------------------------
    def enable(self, client: "Client", sync: bool) -> None:
        """ldbEnable: the client's next EVAL is debugged; the debugger starts afresh."""
        client.lua_debug = "sync" if sync else "yes"
        self.logs = []
        self.step = True
        self.bpcount = 0
        self.luabp = False
        self.cbuf = b""
        self.maxlen = MAX_LEN_DEFAULT
        self.maxlen_hint_sent = False

    @staticmethod
    def disable(client: "Client") -> None:
        client.lua_debug = None

    # -- logs --------------------------------------------------------------------
    def log(self, entry: bytes) -> None:
        self.logs.append(entry)

    def _log_with_maxlen(self, entry: bytes) -> None:
        """ldbLogWithMaxLen: trimmed to maxlen, with a hint the first time."""
        trimmed = False
        if self.maxlen and len(entry) > self.maxlen:
            entry = entry[:self.maxlen] + b" ..."
            trimmed = True
        self.log(entry)
        if trimmed and not self.maxlen_hint_sent:
            self.maxlen_hint_sent = True
            self.log(b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable "
                     b"trimming.")

    def send_logs(self) -> None:
        """The logs as an array of status lines (line breaks made spaces), written to
        the client's socket at once; a failed write is noticed by the next read."""
        parts = [b"*%d\r\n" % len(self.logs)]
        for entry in self.logs:
            parts.append(b"+" + entry.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n")
        self.logs = []
        self._write(b"".join(parts))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self.fd, view)
            except InterruptedError:
                continue
            except OSError:
                return
            if sent <= 0:
                return
            view = view[sent:]

    # What the script's redis.* calls log while stepping (ldbIsEnabled).
    def log_command(self, argv: List[bytes]) -> None:
        """``<redis> cmd args``: at most ten arguments, then how many more (as Redis
        counts them, one short)."""
        if not (self.active and self.step):
            return
        parts = [b"<redis>"]
        for j, arg in enumerate(argv):
            if j == 10:
                parts.append(b" ... (%d more)" % (len(argv) - j - 1))
                break
            parts.append(b" " + arg)
        self.log(b"".join(parts))

    def log_reply(self, reply: Any, resp: int) -> None:
        if self.active and self.step:
            raw = (RESP3 if resp == 3 else RESP2).encode(reply)
            self._log_with_maxlen(b"<reply> " + protocol_to_human(raw)[0])

    def log_error(self, text: bytes) -> None:
        if self.active and self.step:
            self.log(b"<error> " + text)

    def log_refusal(self, message: str) -> None:
        """A call the script is refused: Redis's own text (its 'ERR ' code left out),
        or a shared error object with its code and line end."""
        text = message.encode("utf-8", "surrogateescape")
        self.log_error(text[4:] if text.startswith(b"ERR ") else b"-" + text + b"\r\n")

    def log_debug(self, text: bytes) -> None:
        """redis.debug(): the values, after the line the script was last seen at."""
        if self.active:
            self.log(b"<debug> line %d: %s" % (self.currentline, text))

    # -- the session ----------------------------------------------------------------
    def run_eval(self, client: "Client", source: bytes, evaluate: Callable[[], Any]) -> Any:
        """evalGenericCommandWithDebugging: the EVAL inside a session, in a forked
        child (YES) or here (SYNC); the reply, or None in the parent of a fork."""
        if client.lua_debug != "sync":
            return self._fork(client, source, evaluate)
        self._start(client, source, forked=False)
        try:
            try:
                return evaluate()
            except CommandError as exc:
                return exc
        finally:
            self._end(client)

    def _fork(self, client: "Client", source: bytes, evaluate: Callable[[], Any]) -> Any:
        def session() -> None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            state = self.state
            state.propagator = None        # the child's changes go nowhere
            self._start(client, source, forked=True)
            try:
                reply = evaluate()
            except CommandError as exc:
                reply = exc
            self._end(client)
            client.encoder.encode_into(reply, client.out)
            self._write(b"".join(client.out))
        self._reap()                        # (where no loop runs the reaper)
        try:
            child = diskio.Child(session, keep=(client.fd,), forked=on_fork(client.state))
        except OSError as exc:
            self.disable(client)
            raise CommandError(errors.LDB_FORK.format(diskio.strerror(exc)))
        self.state.log("warning", "Redis forked for debugging eval")
        self.children.append(child)
        self._start_reaper()
        self.disable(client)
        client.close()                      # the child has the connection now
        return None

    def _start(self, client: "Client", source: bytes, forked: bool) -> None:
        """ldbStartSession: blocking I/O on the client's socket, the source split."""
        self.forked = forked
        self.client = client
        self.fd = client.fd
        if not forked:
            self.state.log("warning", "Redis synchronous debugging eval session started")
        os.set_blocking(self.fd, True)
        _send_timeout(client, 5.0)
        self.active = True
        self.scripting.engine.ldb = self
        source = source.rstrip(b"\r\n")
        self.src = source.split(b"\n") if source else []

    def _end(self, client: "Client") -> None:
        """ldbEndSession: the last logs and <endsession>; the connection closes after
        the EVAL's reply (the child's exit, or close-after-reply here)."""
        self.log(b"<endsession>")
        self.send_logs()
        if self.forked:
            return
        self.state.log("warning", "Redis synchronous debugging eval session ended")
        try:
            os.set_blocking(self.fd, False)
        except OSError:
            pass
        _send_timeout(client, 0.0)
        client.closing = True
        self.src = []
        self.active = False
        self.scripting.engine.ldb = None

    def sethook(self, engine: Any) -> None:
        """Install the line hook for the script about to run (instead of the count
        hook of SCRIPT KILL: a debugged script is never killed)."""
        self.started = time.monotonic()
        engine.ldb_api[b"sethook"](self._hook, HOOK_COUNT)

    # -- forked sessions ------------------------------------------------------------
    def _start_reaper(self) -> None:
        loop = self.state.loop
        if loop is None or self._reaper is not None:
            return
        self._reaper = loop.timer(0.1, 0.1)
        self._reaper.start(self._reap)

    def _reap(self) -> None:
        for child in list(self.children):
            if child.poll() is not None:
                self.children.remove(child)
        if not self.children and self._reaper is not None:
            self._reaper.stop()
            self._reaper = None

    def kill_forked_sessions(self) -> None:
        """ldbKillForkedSessions (at shutdown)."""
        for child in self.children:
            self.state.log("warning", "Killing debugging session %d" % child.pid)
            child.kill()
        self.children = []

    # -- the hook and the debugger's commands ------------------------------------------
    def _hook(self, _count_event: bool, line: int, short_src: bytes) -> None:
        """luaLdbLineHook: stop on a step, a breakpoint, redis.breakpoint(), or a
        script running past busy-reply-threshold since its last stop."""
        self.currentline = line
        stop = self._is_breakpoint(line) or self.luabp
        if b"user_script" not in short_src:
            return
        timeout = False
        if not self.step and not stop:
            # Redis looks at the clock on its count events only. Lua counts the
            # instructions of this Lua hook too, where no event can fire, and with a
            # loop's fixed rhythm they may never land in the script: the clock is
            # read on line events as well (a loop jumping back has one each turn).
            limit = self.state.config["busy-reply-threshold"] or 5000
            if (time.monotonic() - self.started) * 1000 < limit:
                return
            timeout = True
            self.step = True
        if not (self.step or stop):
            return
        reason = b"step over"
        if stop:
            reason = b"redis.breakpoint() called" if self.luabp else b"break point"
        elif timeout:
            reason = b"timeout reached, infinite loop?"
        self.step = False
        self.luabp = False
        self.log(b"* Stopped at %d, stop reason = %s" % (line, reason))
        self._log_source_line(line)
        self.send_logs()
        if not self._repl() and timeout:
            # The client left a script that runs forever: stop it.
            self.scripting.engine.raise_table(errors.LDB_TIMEOUT_CLOSED)
        self.started = time.monotonic()

    def _repl(self) -> bool:
        """ldbRepl: run the client's commands until one resumes the script; False
        when the client went away (the script then runs on without stopping)."""
        engine = self.scripting.engine
        while True:
            argv = self._read_command()
            if argv is None:                # script runs on without user input
                self.step = False
                self.bpcount = 0
                return False
            name = _cstr(argv[0]).lower()
            argc = len(argv)
            if name in (b"h", b"help"):
                self.logs.extend(_HELP)
            elif name in (b"s", b"step", b"n", b"next"):
                self.step = True
                return True
            elif name in (b"c", b"continue"):
                return True
            elif name in (b"t", b"trace"):
                self._trace(engine)
            elif name in (b"m", b"maxlen"):
                self._maxlen(argv)
            elif name in (b"b", b"break"):
                self._break(argv)
            elif name in (b"e", b"eval"):
                self._eval(engine, b" ".join(argv[1:]))
            elif name in (b"a", b"abort"):
                engine.raise_table(errors.LDB_ABORT)
            elif argc > 1 and name in (b"r", b"redis"):
                self.step = True            # redis.call logs the command and reply
                engine.ldb_api[b"call"](*argv[1:])
                self.step = False
            elif name in (b"p", b"print"):
                if argc == 2:
                    self._print(engine, _cstr(argv[1]))
                else:
                    self._print_all(engine)
            elif name in (b"l", b"list"):
                around, context = self.currentline, 5
                if argc > 1:
                    number = _atoi(argv[1])
                    if number > 0:
                        around = number
                if argc > 2:
                    context = _atoi(argv[2])
                self._list(around, context)
            elif name in (b"w", b"whole"):
                self._list(1, 1000000)
            else:
                self.log(errors.LDB_UNKNOWN_COMMAND)
            self.send_logs()

    def _read_command(self) -> Optional[List[bytes]]:
        """The next command from the client (None: it closed the connection)."""
        engine = self.scripting.engine
        while True:
            argv, error = _parse_command(self.cbuf)
            if argv is not None:
                self.cbuf = b""              # the rest of the read is dropped
                return argv
            if error:
                engine.raise_table(errors.LDB_PROTOCOL)
            try:
                data = os.read(self.fd, _READ_SIZE)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                return None
            self.cbuf += data
            if len(self.cbuf) > _BUFFER_MAX:
                self.cbuf = b""
                engine.raise_table(errors.LDB_BUFFER)

    def _source_line(self, line: int) -> bytes:
        if 0 < line <= len(self.src):
            return self.src[line - 1]
        return b"<out of range source code line>"

    def _log_source_line(self, line: int) -> None:
        current = line == self.currentline
        breakpoint = self._is_breakpoint(line)
        prefix = (b"->#" if breakpoint else b"-> ") if current else \
            (b"  #" if breakpoint else b"   ")
        self.log(b"%s%-3d %s" % (prefix, line, self._source_line(line)))

    def _list(self, around: int, context: int) -> None:
        for line in range(1, len(self.src) + 1):
            if around != 0 and abs(around - line) > context:
                continue
            self._log_source_line(line)

    def _breakpoints(self) -> List[int]:
        return [int.from_bytes(self.bp[4 * j:4 * j + 4], "little", signed=True)
                for j in range(self.bpcount)]

    def _is_breakpoint(self, line: int) -> bool:
        return self.bpcount > 0 and line in self._breakpoints()

    def _add_breakpoint(self, line: int) -> bool:
        if line <= 0 or line > len(self.src):
            return False
        if not self._is_breakpoint(line) and self.bpcount != BREAKPOINTS_MAX:
            self.bp[4 * self.bpcount:4 * self.bpcount + 4] = line.to_bytes(4, "little",
                                                                          signed=True)
            self.bpcount += 1
            return True
        return False

    def _del_breakpoint(self, line: int) -> bool:
        for j, value in enumerate(self._breakpoints()):
            if value == line:
                self.bpcount -= 1
                size = self.bpcount - j     # bytes, as Redis's memmove is given
                if size > 0:
                    self.bp[4 * j:4 * j + size] = self.bp[4 * j + 4:4 * j + 4 + size]
                return True
        return False

    def _break(self, argv: List[bytes]) -> None:
        if len(argv) == 1:
            if not self.bpcount:
                self.log(b"No breakpoints set. Use 'b <line>' to add one.")
                return
            self.log(b"%d breakpoints set:" % self.bpcount)
            for line in self._breakpoints():
                self._log_source_line(line)
            return
        for arg in argv[1:]:
            line = _string2l(arg)
            if line is None:
                self.log(b"Invalid argument:'%s'" % _cstr(arg))
            elif line == 0:
                self.bpcount = 0
                self.log(b"All breakpoints removed.")
            elif line > 0:
                if self.bpcount == BREAKPOINTS_MAX:
                    self.log(b"Too many breakpoints set.")
                elif self._add_breakpoint(_int32(line)):
                    self._list(_int32(line), 1)
                else:
                    self.log(b"Wrong line number.")
            elif self._del_breakpoint(_int32(-line)):
                self.log(b"Breakpoint removed.")
            else:
                self.log(b"No breakpoint in the specified line.")

    def _maxlen(self, argv: List[bytes]) -> None:
        if len(argv) == 2:
            value = _atoi(argv[1])
            self.maxlen_hint_sent = True     # the user knows about the command
            if value != 0 and value <= 60:
                value = 60
            self.maxlen = value
        if self.maxlen:
            self.log(b"<value> replies are truncated at %d bytes." % self.maxlen)
        else:
            self.log(b"<value> replies are unlimited.")

    def _print_all(self, engine: Any) -> None:
        found = _values(engine.ldb_api[b"locals"]())
        for name, value in zip(found[::2], found[1::2]):
            self._log_with_maxlen(b"<value> %s = %s" % (name, value))
        if not found:
            self.log(b"No local variables in the current context.")

    def _print(self, engine: Any, name: bytes) -> None:
        value = engine.ldb_api[b"find"](name)
        if value is None:
            self.log(b"No such variable.")
        else:
            self._log_with_maxlen(b"<value> " + value)

    def _trace(self, engine: Any) -> None:
        frames = _values(engine.ldb_api[b"trace"]())
        for i in range(0, len(frames), 3):
            where, name, line = frames[i:i + 3]
            self.log(b"%s %s:" % (where, name))
            self._log_source_line(int(line))
        if not frames:
            self.log(errors.LDB_NO_STACK)

    def _eval(self, engine: Any, code: bytes) -> None:
        result = engine.ldb_api[b"eval"](code)
        ok, value = result if isinstance(result, tuple) else (result, None)
        if ok:
            self._log_with_maxlen(b"<retval> " + value)
        else:
            text = value if isinstance(value, bytes) else b"(null)"
            self.log(b"<error> " + _cstr(text))


def _values(table: Any) -> List[Any]:
    """A Lua array's values (t[1]..t[n])."""
    values = []
    i = 1
    while True:
        value = table[i]
        if value is None:
            return values
        values.append(value)
        i += 1


def _parse_command(buf: bytes) -> Tuple[Optional[List[bytes]], bool]:
    """ldbReplParseCommand, as forgiving as Redis's: (argv, False) for a complete
    command, (None, True) for a protocol error, (None, False) to read more. C string
    searches stop at a NUL byte, as Redis's do."""
    if not buf:
        return None, False
    nul = buf.find(b"\0")
    limit = len(buf) if nul < 0 else nul
    star = buf.find(b"*", 0, limit)
    if star < 0:
        return None, True
    end = buf.find(b"\r\n", star, limit)
    if end < 0:
        return None, False
    argc = _atoi(buf[star + 1:end])
    if argc <= 0 or argc > 1024:
        return None, True
    pos = end + 2
    argv: List[bytes] = []
    while len(argv) < argc:
        if pos >= len(buf) or buf[pos] == 0:
            return None, False
        if buf[pos:pos + 1] != b"$":
            return None, True
        nul = buf.find(b"\0", pos)
        end = buf.find(b"\r\n", pos, len(buf) if nul < 0 else nul)
        if end < 0:
            return None, False
        size = _atoi(buf[pos + 1:end])
        if size <= 0 or size > 1024:
            return None, True
        start = end + 2
        if start + size + 2 > len(buf):
            return None, False
        argv.append(buf[start:start + size])
        pos = start + size
        if buf[pos:pos + 2] != b"\r\n":
            return None, True
        pos += 2
    return argv, False


def _send_timeout(client: "Client", seconds: float) -> None:
    """connSendTimeout: writes to the debugging client give up after ``seconds``."""
    sock = getattr(client, "sock", None)
    if sock is None:
        return
    whole = int(seconds)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                        struct.pack("ll", whole, int((seconds - whole) * 1e6)))
    except (OSError, AttributeError):
        pass


__all__ = ["Debugger", "protocol_to_human"]
