"""The Lua 5.1 runtime scripts run in, shaped like Redis 7.0's (script_lua.c, eval.c).

One :class:`LuaEngine` per server holds a ``lupa.lua51`` runtime prepared as Redis
prepares its own: the same globals (no ``os``, ``io``, ``print``, ``dofile``...), the
``redis`` library, a ``pcall`` that unwraps Redis error tables, the error handler
Redis installs (``__redis__err__handler``: it turns any error into a table carrying
the script position), and globals that can neither be created nor read when missing.
Redis makes the global table, the libraries and the string metatable read-only.
Plain Lua 5.1 cannot refuse an assignment to a field that exists, so scripts run in
read-only views of them (empty tables that read through and refuse writes), and the
few functions that bypass metamethods (next, pairs, rawget, rawset, getmetatable,
setmetatable, loadstring, load, table.insert, table.foreach) are replaced by Lua
versions that see through views or refuse them, as Redis's patched Lua does. Those
replacements (and those of xpcall, string.dump and the coroutine functions, below)
are Lua functions, where Redis's are C functions: Lua forgets the frame of a Lua
function's caller on a tail call, so scripts are compiled with their tail calls to
library functions made plain calls (:mod:`miniredis.scripting.tailcalls`), and errors
still name the script's line. Everything is also put back as it was after every
script.

The sandbox's Lua code (the prelude) is in :mod:`miniredis.scripting.sandbox`,
which also says how it keeps everything of Python out of scripts' reach.

The ``redis`` functions are thin Lua wrappers (compiled under the chunk name
``=[redis]``) around Python callbacks: arguments are checked and numbers formatted in
Lua exactly as Redis does, and errors are raised from Lua as tables, so the error
handler sees the script's line. It skips the wrappers' own frames when it looks for
that line, which makes them as invisible as Redis's C functions. Python callbacks
that scripts can reach (math.random, cjson, bit, cmsgpack, struct, and behind
redis.call) go through lupa's ``python.as_function``: Lua sees C functions, as in Redis
(``type()`` says ``function``, and a tail call keeps the script's frame for error
positions). redis.call and redis.pcall are Lua functions in front of them, which pass
a call with thousands of arguments (more than lupa's C wrapper can take on the Lua
stack) in a table.

Replies cross the boundary through :meth:`LuaEngine.to_lua` (a handler's typed reply
to a Lua value, for the script's RESP version) and :meth:`LuaEngine.from_lua` (a Lua
value to a typed reply), never by guessing from content.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Callable, List, Optional, Tuple

from lupa import lua51

from . import tailcalls
from .luanumbers import number_text, to_int, to_number
from .replies import REPLIES, ReplyConversions
from .sandbox import PRELUDE

from ..errors import CommandError

INTERNAL_CHUNK = "=[redis]"

class Rand48:
    """Redis's rand48 (redisLrand48): scripts' math.random, identical sequences.
    One per server, shared by EVAL's and FUNCTION's interpreters and kept across
    SCRIPT FLUSH, as rand.c's static state; never reseeded but by math.randomseed."""

    _A = 0x5DEECE66D
    _C = 0xB
    _MASK = (1 << 48) - 1

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E     # (rand.c's static initializer: X2, X1, X0)

    def seed(self, value: int) -> None:
        self.x = (((value & 0xFFFFFFFF) << 16) | 0x330E) & self._MASK

    def next(self) -> int:
        self.x = (self._A * self.x + self._C) & self._MASK
        return self.x >> 17

    def random(self) -> float:
        # (lrand48() % REDIS_LRAND48_MAX) / REDIS_LRAND48_MAX, REDIS_LRAND48_MAX = INT32_MAX
        return (self.next() % 0x7FFFFFFF) / 0x7FFFFFFF


class LuaRaise(Exception):
    """Raised by a Python function called from Lua: the script sees ``payload``.

    lupa hands a Python exception to Lua as a userdata; the error handler and
    Redis's pcall unwrap it (``_unwrap``) into the table or string Redis would raise.
    """

    def __init__(self, payload: Any) -> None:
        super().__init__("script error")
        self.payload = payload


def new_table_function(runtime: Any) -> Callable[[], Any]:
    """A function making empty Lua tables that belong to the main Lua thread.

    lupa ties every Lua object it hands to Python to the Lua thread it was running on
    (a coroutine, inside a library function a coroutine called), and releases the
    object on that thread's stack when Python drops it: once the coroutine is dead
    and collected, that is a use after free (the segfaults of the sandbox tests). A
    Lua function made here runs on the main thread, so its tables are the main
    thread's. (It costs a call into Lua: LuaEngine._table uses it only while a
    coroutine runs.)"""
    return runtime.execute(b"return function() return {} end")


def sealed(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` as scripts call it: its errors reach Lua with nothing of Python
    attached but the exception itself.

    lupa keeps the last exception a Python function raised, traceback included, and
    a traceback keeps its frames' locals: arguments and tables of a coroutine's Lua
    thread, which must not outlive it (see new_table_function). The exception is
    raised again from here, where no local holds a Lua object."""
    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except LuaRaise as exc:
            payload = exc.payload
        except Exception as exc:  # a bug: its text, as Lua would show a C error
            payload = str(exc).encode("utf-8", "replace")
        args = ()
        raise LuaRaise(payload)
    call.__name__ = getattr(function, "__name__", "call")
    call.__qualname__ = call.__name__
    return call


def _unwrap(error: Any) -> Any:
    """The Lua value for an error a Python function raised (see error_value)."""
    if isinstance(error, LuaRaise):
        return error.payload
    if isinstance(error, BaseException):
        return str(error).encode("utf-8", "replace")
    if lua51.lua_type(error) is None and error.__class__ not in _LUA_SCALARS:
        return b"a Python object"   # never reached: no Python object enters Lua
    return error


_LUA_SCALARS = (bytes, int, float, bool)
# Runs between two full checks of the sandbox's tables (LuaEngine.put_back).
_FULL_CHECK_EVERY = 32
# Keys and arguments a script's run passes on the Lua stack (more: as tables first).
_ARGS_IN_CALL = 64


def _refuse_get(obj: Any, name: Any) -> Any:
    """lupa's attribute getter for Python objects in Lua: every index refused."""
    raise LuaRaise(b"attempt to index a userdata value")


def _refuse_set(obj: Any, name: Any, value: Any) -> None:
    """lupa's attribute setter for Python objects in Lua: every index refused."""
    raise LuaRaise(b"attempt to index a userdata value")


class LuaEngine(ReplyConversions):
    """One Lua interpreter with Redis's sandbox and libraries, for one server."""

    def __init__(self, call: Callable[[List[bytes]], Tuple[bool, Any]],
                 log: Callable[[int, bytes], None], version: str,
                 register: Optional[Callable[..., None]] = None) -> None:
        # ``register``: redis.register_function, given only for the runtime of
        # functions (see miniredis.scripting.functions).
        self.rand = Rand48()
        self._runs = 0                 # runs since the sandbox's last full check
        self.ticking = False           # the caller's count hook is on (Scripting)
        self.resp = 2                  # the running script's redis.setresp()
        # No Python object is ever handed to Lua (see the module doc); should one
        # slip through, the attribute handlers refuse every index on it, so that
        # nothing of Python (its classes, modules, builtins) can be reached from it.
        self.runtime = lua51.LuaRuntime(encoding=None, register_eval=False,
                                        register_builtins=False,
                                        unpack_returned_tuples=True,
                                        attribute_handlers=(_refuse_get, _refuse_set))
        rt = self.runtime
        # Tables made from Python belong to the main Lua thread, whichever thread runs
        # the library function making them (see new_table_function).
        self._main_table = new_table_function(rt)
        self._rt_table = rt.table
        major, minor, patch = (int(p) for p in (version.split(".") + ["0", "0"])[:3])
        self._command = call
        self._log = log
        self._where: Any = None
        self.reply_depth = 0             # nesting of the last from_lua reply
        self.reply_errors: List[CommandError] = []  # its error replies, in order
        # argv -> may the script's caller run it (None: no such command); ACL's hook.
        self.acl_check: Optional[Callable[[List[bytes]], Optional[bool]]] = None
        # The Lua debugger's session while one runs (miniredis.scripting.ldb.Debugger).
        self.ldb: Any = None
        # redis.set_repl(flags): where the script's next writes propagate (1 the AOF,
        # 2 the replicas); Scripting's hook.
        self.set_repl: Optional[Callable[[int], None]] = None
        callbacks = rt.table_from({
            b"call": sealed(self._redis_call),
            b"pcall": sealed(self._redis_pcall),
            b"call_many": sealed(self._redis_call_many),
            b"pcall_many": sealed(self._redis_pcall_many),
            b"keep_frames": sealed(tailcalls.keep_frames),
            b"sha1hex": sealed(self._sha1hex),
            b"log": sealed(self._redis_log),
            b"setresp": sealed(self._setresp),
            b"set_repl": sealed(self._set_repl),
            b"acl_check_cmd": sealed(self._acl_check_cmd),
            b"random": sealed(self._random),
            b"randomseed": sealed(self._randomseed),
            b"unwrap": sealed(_unwrap),
            b"protected_table_error": sealed(self._protected_table_error),
            b"ldb_log": sealed(self._ldb_log),
            b"ldb_breakpoint": sealed(self._ldb_breakpoint),
            b"version": version.encode(),
            b"version_num": (major << 16) | (minor << 8) | patch,
        })
        if register is not None:
            callbacks[b"register_function"] = sealed(register)
        rt.globals()[b"__py"] = callbacks
        from . import lualibs, luapack
        threads = self._threads = rt.table()   # the coroutines running, innermost last
        self.calls = luapack.calls(rt, threads, self._table)   # Lua's argument checks
        callbacks[b"threads"] = threads
        lualibs.install(self)
        # The replies' conversions (replies.py), then the sandbox: compiled under the
        # internal chunk name the error handler and the SCRIPT KILL hook recognise.
        replies = rt.globals()[b"loadstring"](REPLIES.encode(), INTERNAL_CHUNK.encode())()
        self._reply_tokens = replies[b"reply_tokens"]
        self._array_of = replies[b"array_of"]
        self._array_more = replies[b"array_more"]
        self._array_mark = replies[b"array_mark"]
        self._as_array = replies[b"as_array"]
        self._as_status = replies[b"as_status"]
        self._as_nested = replies[b"as_nested"]
        callbacks[b"call_reply"] = replies[b"call_reply"]
        self._build_reply = replies[b"build_reply"]
        chunk = rt.globals()[b"loadstring"](PRELUDE.encode(), INTERNAL_CHUNK.encode())
        if chunk is None or isinstance(chunk, tuple):  # pragma: no cover - a prelude bug
            raise RuntimeError("Lua prelude does not compile: %r" % (chunk,))
        api = chunk()
        self._compile = api[b"compile"]
        self._run = api[b"run"]
        self._run_args = api[b"run_args"]
        self._call_function_args = api[b"call_function_args"]
        self.load_library = api[b"load_library"]
        self._call_function = api[b"call_function"]
        self.restore = api[b"restore"]
        self.sethook = api[b"sethook"]
        self._rawget = api[b"rawget"]
        self._array_part = api[b"array_part"]
        self._type = api[b"type"]
        self._where = api[b"where"]
        # Lua's debug library, which scripts never get: for diagnostics and the
        # sandbox tests (tests/test_lua_sandbox.py walks the runtime with it).
        self.debug = api[b"debug"]
        # The debugger's Lua half (see the prelude), its functions fetched now: a
        # lookup from Python while a coroutine runs does not give them back.
        self.ldb_api = dict(api[b"ldb"].items())

    def _table(self) -> Any:
        """A new Lua table (of the main Lua thread, see new_table_function)."""
        if len(self._threads):            # a coroutine is running: slower, but safe
            return self._main_table()
        return self._rt_table()

    # -- the Python side of the redis library ------------------------------------------
    def raise_table(self, message: bytes) -> None:
        """Raise Redis's error table {err=message} in the calling script."""
        if self.ldb is not None:      # luaPushError's log while stepping
            self.ldb.log_error(message[4:] if message.startswith(b"ERR ") else message)
        raise LuaRaise(self._table_of({b"err": message}))

    def raise_here(self, message: str) -> None:
        """Raise ``message`` as luaL_error does: prefixed with the caller's position."""
        raise LuaRaise(self._where() + message.encode())

    def _command_args(self, args: Tuple[Any, ...]) -> List[bytes]:
        for arg in args:
            if arg.__class__ is not bytes:
                break
        else:       # the commonest call: strings only, taken as they are
            if args:
                return list(args)
        if not args:
            self.raise_table(b"ERR Please specify at least one argument for this redis lib call")
        argv = []
        for arg in args:
            cls = arg.__class__
            if cls is bytes:
                argv.append(arg)
            elif cls is int or cls is float:
                argv.append(number_text(arg, 17))
            else:
                self.raise_table(b"ERR Lua redis lib command arguments must be strings or "
                                 b"integers")
        return argv

    def _redis_call(self, *args: Any) -> Any:
        ok, reply = self._command(self._command_args(args))
        if not ok:
            raise LuaRaise(reply)
        return reply

    def _redis_call_many(self, count: int, table: Any) -> Any:
        """redis.call with thousands of arguments, passed as a table (see the prelude)."""
        return self._redis_call(*self._unpacked(count, table))

    def _redis_pcall_many(self, count: int, table: Any) -> Any:
        return self._redis_pcall(*self._unpacked(count, table))

    def _unpacked(self, count: int, table: Any) -> List[Any]:
        # t[1..count], nils included (they fail the argument check, as in Redis).
        values: List[Any] = []
        for part in _array_items(self._array_part, table):
            values.append(part)
        return values + [None] * (count - len(values))

    def _redis_pcall(self, *args: Any) -> Any:
        try:
            argv = self._command_args(args)
        except LuaRaise as exc:
            return exc.payload
        return self._command(argv)[1]

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self.raise_table(b"ERR wrong number of arguments")
        value = args[0]
        if value.__class__ in (int, float):
            value = number_text(value)
        elif value.__class__ is not bytes:
            value = b""
        return hashlib.sha1(value).hexdigest().encode()

    def _redis_log(self, *args: Any) -> None:
        if len(args) < 2:
            self.raise_table(b"ERR redis.log() requires two arguments or more.")
        level = to_number(args[0])
        if level is None:
            self.raise_table(b"ERR First argument must be a number (log level).")
        level = to_int(level)
        if not 0 <= level <= 3:
            self.raise_table(b"ERR Invalid debug level.")
        parts = [number_text(a) if a.__class__ in (int, float) else a
                 for a in args[1:] if a.__class__ in (bytes, int, float)]
        self._log(level, b" ".join(parts))

    def _setresp(self, *args: Any) -> None:
        if len(args) != 1:
            self.raise_table(b"ERR redis.setresp() requires one argument.")
        version = to_int(to_number(args[0]) or 0)   # (int)lua_tonumber()
        if version not in (2, 3):
            self.raise_table(b"ERR RESP version must be 2 or 3.")
        self.resp = version

    def _set_repl(self, *args: Any) -> None:
        if len(args) != 1:
            self.raise_table(b"ERR redis.set_repl() requires two arguments.")
        flags = to_int(to_number(args[0]) or 0)     # (int)lua_tonumber()
        if flags & ~3:
            self.raise_table(b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                             b"REPL_ALL or REPL_NONE.")
        if self.set_repl is not None:
            self.set_repl(flags)

    def _ldb_log(self, kind: bytes, text: bytes) -> None:
        # redis.debug() and the error tables the prelude makes, during a session.
        if self.ldb is not None:
            if kind == b"debug":
                self.ldb.log_debug(text)
            else:
                self.ldb.log_error(text)

    def _ldb_breakpoint(self) -> None:
        if self.ldb is not None:
            self.ldb.luabp = True

    def _acl_check_cmd(self, *args: Any) -> bool:
        # The script's caller's rights, through the hook Scripting installs.
        argv = self._command_args(args)
        allowed = self.acl_check(argv) if self.acl_check is not None else True
        if allowed is None:
            self.raise_table(b"ERR Invalid command passed to redis.acl_check_cmd()")
        return allowed

    def _protected_table_error(self, *args: Any) -> None:
        # luaProtectedTableError, the __index of getmetatable(_G) in Redis 7.0.
        if len(args) != 2:
            self.raise_here("Wrong number of arguments to luaProtectedTableError")
        name = args[1]
        if name.__class__ in (int, float):
            name = number_text(name)
        elif name.__class__ is not bytes:
            self.raise_here("Second argument to luaProtectedTableError must be a string or "
                            "number")
        raise LuaRaise(self._where() + b"Script attempted to access nonexistent global "
                       b"variable '" + name + b"'")

    def check_int(self, args: Tuple[Any, ...], index: int) -> int:
        """luaL_checkint: the argument as a C int, or Lua's 'bad argument' error (named
        as the caller named the function, '?' from pcall, as Lua does)."""
        number = self.calls.check_number(args, index)
        # (int)(lua_Integer)number on x86-64: a 64-bit conversion (INT64_MIN for NaN,
        # infinities and what is out of range), then its low 32 bits
        if number != number or not -2.0 ** 63 <= number < 2.0 ** 63:
            return 0
        value = int(number) & 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value

    def _random(self, *args: Any) -> Any:
        r = self.rand.random()
        if not args:
            return r
        if len(args) == 1:
            upper = self.check_int(args, 0)
            if upper < 1:
                raise self.calls.argerror(1, b"interval is empty")
            return float(math.floor(r * upper) + 1)
        if len(args) == 2:
            lower = self.check_int(args, 0)
            upper = self.check_int(args, 1)
            if lower > upper:
                raise self.calls.argerror(2, b"interval is empty")
            span = (upper - lower + 1 + 2 ** 31) % 2 ** 32 - 2 ** 31   # (C int arithmetic)
            return float(math.floor(r * span) + lower)
        self.raise_here("wrong number of arguments")

    def _randomseed(self, *args: Any) -> None:
        self.rand.seed(self.check_int(args, 0))

    # -- compiling and running -----------------------------------------------------
    def compile(self, body: bytes) -> Tuple[Any, Optional[bytes]]:
        """The compiled chunk, or (None, Lua's error message)."""
        result = self._compile(body)
        if isinstance(result, tuple):
            return None, result[1]
        return result, None

    def run(self, function: Any, keys: List[bytes], argv: List[bytes]) -> Tuple[bool, Any]:
        """Run a compiled script: (True, its value) or (False, Redis's error table)."""
        return self._run_script(self._run_args, self._run, function, keys, argv)

    def run_function(self, function: Any, keys: List[bytes],
                     argv: List[bytes]) -> Tuple[bool, Any]:
        """Run a registered function (FCALL): KEYS and ARGV are its arguments."""
        return self._run_script(self._call_function_args, self._call_function, function,
                                keys, argv)

    def _run_script(self, in_one: Any, tables_first: Any, function: Any,
                    keys: List[bytes], argv: List[bytes]) -> Tuple[bool, Any]:
        self.resp = 2
        if len(keys) + len(argv) <= _ARGS_IN_CALL:
            # One call into Lua (its tables, the run, the check) instead of four.
            try:
                changed, ok, value = in_one(function, self._full_check_due(), len(keys),
                                            *keys, *argv)
            except BaseException:
                self.put_back()
                raise
            if changed:
                self._log_hole()
            return bool(ok), value
        rt = self.runtime
        try:
            result = tables_first(function, rt.table_from(keys), rt.table_from(argv))
        finally:
            self.put_back()
        if not isinstance(result, tuple):  # xpcall's status alone: nothing returned
            return bool(result), None
        return bool(result[0]), (result[1] if len(result) > 1 else None)

    def put_back(self, full: bool = False) -> None:
        """After a run, the sandbox's check (the prelude's ``restore``): what scripts
        cannot reach is put back, and a change logged (a hole in the sandbox). The
        comparison of every global and library entry (16 us, more than a short script
        itself: EVAL "return 1" 27 -> 12 us without it) runs every
        ``_FULL_CHECK_EVERY`` runs: no script can reach those tables (they stand
        behind read-only views, and pairs, next, rawget and table.foreach hand back
        what they show, never the table), so the full comparison is the backstop for
        a hole not known yet, bounding how many scripts could see its effect."""
        if self.restore(full or self._full_check_due()):
            self._log_hole()

    def _full_check_due(self) -> bool:
        self._runs += 1
        if self._runs >= _FULL_CHECK_EVERY:
            self._runs = 0
            return True
        return False

    def _log_hole(self) -> None:
        self._log(3, b"Lua sandbox: a script changed tables it cannot reach; "
                     b"they were put back")

    def lua_type(self, value: Any) -> str:
        if value is None:
            return "nil"
        return self._type(value).decode()


def _array_items(array_part: Any, table: Any) -> Any:
    """t[1], t[2]... up to the first nil, read as Redis reads them (lua_rawget), a
    few thousand per call into Lua."""
    i = 1
    while True:
        part = array_part(table, i)
        if part.__class__ is not tuple:       # the count alone: no element
            return
        yield from part[1:]
        if part[0] < 4000:
            return
        i += part[0]
