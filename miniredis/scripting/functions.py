"""Redis 7.0 functions: the library registry behind FUNCTION and FCALL (functions.c).

A library is Lua code starting with a ``#!lua name=<lib>`` line. FUNCTION LOAD runs
it once in the runtime of functions (a :class:`~miniredis.scripting.lua.LuaEngine`
of its own, separate from EVAL's, with the load API only: see the sandbox's
``load_library``); every ``redis.register_function`` it makes lands in
:meth:`Registry.register`. A library is committed only when its code ran, registered
at least one function, and none of its function names is taken by another library;
with REPLACE the old library comes back on any failure.

The registry also knows the FUNCTION DUMP/RESTORE payload (one RDB FUNCTION2 opcode
and the library code per library, the RDB version, a CRC64), which is also how the
libraries are stored in dump.rdb.
"""
from __future__ import annotations

import re
import struct
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import errors
from ..errors import CommandError
from .luanumbers import number_text
from ..errors import c_text as _text

# scripts_flags_def, in Redis's order (FUNCTION LIST lists flags in this order).
FLAG_NAMES = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster",
              b"allow-cross-slot-keys")
LOAD_TIMEOUT_MS = 500
_VALID_NAME = re.compile(rb"[A-Za-z0-9_]+\Z")
OP_FUNCTION2 = 245
_OP_FUNCTION_PRE_GA = 246


class Function:
    """A registered function; it quacks like an EVAL script for the shared runner
    (``sha`` is its name, as error replies and the slow-script log name it)."""

    __slots__ = ("name", "sha", "library", "function", "description", "flags",
                 "compat", "no_writes", "allow_oom", "allow_stale")

    def __init__(self, name: bytes, library: "Library", function: Any,
                 description: Optional[bytes], flags: List[bytes]) -> None:
        self.name = self.sha = name
        self.library = library
        self.function = function
        self.description = description
        self.flags = [f for f in FLAG_NAMES if f in flags]
        self.compat = False
        self.no_writes = b"no-writes" in flags
        self.allow_oom = b"allow-oom" in flags
        self.allow_stale = b"allow-stale" in flags


class Library:
    """A loaded library: its name, its code (as given), its functions by name."""

    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.code = code
        self.functions: Dict[bytes, Function] = {}


def parse_metadata(code: bytes) -> Tuple[bytes, bytes, bytes]:
    """(engine, library name, the code after the shebang line) of a library
    (functionExtractLibMetaData), or Redis's error."""
    if not code.startswith(b"#!"):
        raise CommandError(errors.FUNCTION_NO_METADATA)
    from ..wire import c_strchr, split_inline
    end = c_strchr(code, b"\n")
    if end < 0:
        raise CommandError(errors.FUNCTION_BAD_METADATA)
    parts = split_inline(code[:end])      # None: unbalanced quotes
    if not parts:
        raise CommandError(errors.FUNCTION_BAD_METADATA)
    engine = parts[0][2:]
    name: Optional[bytes] = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise CommandError(errors.FUNCTION_NAME_TWICE)
            name = part[5:]
            continue
        raise CommandError(errors.FUNCTION_BAD_METADATA_VALUE.format(_text(part)))
    if name is None:
        raise CommandError(errors.FUNCTION_NO_LIBRARY_NAME)
    return engine, name, code[end:]




def read_pre_ga(reader: Any) -> bytes:
    """A library in 7.0-rc1/rc2's format (name, engine, optional description, code),
    as the code with its shebang line (rdbFunctionLoad's translation)."""
    from ..persistence.rdb import RDBError
    step = "library name"
    try:
        name = reader.string()
        step = "engine name"
        engine = reader.string()
        step = "library description indicator"
        if reader.number():
            step = "library description"
            reader.string()
        step = "library blob"
        blob = reader.string()
    except RDBError:
        raise CommandError("ERR Failed loading %s" % step) from None
    return b"#!" + engine + b" name=" + name + b"\n" + blob


def _refuse(engine: Any, message: str) -> None:
    engine.raise_table(b"ERR " + message.encode())


def _lua_string(value: Any) -> bytes:
    """lua_tostring of a string or number."""
    if value.__class__ is bytes:
        return value
    return number_text(value)


def _named_arguments(engine: Any, table: Any) -> Tuple[bytes, Optional[bytes], Any,
                                                       List[bytes]]:
    """(name, description, callback, flags) of register_function's table form."""
    if engine.lua_type(table) != "table":
        _refuse(engine, "calling redis.register_function with a single argument is only "
                        "applicable to Lua table (representing named arguments).")
    name = description = callback = None
    flags: List[bytes] = []
    for key, value in table.items():
        if engine.lua_type(key) not in ("string", "number"):
            _refuse(engine, "named argument key given to redis.register_function is not "
                            "a string")
        key = _lua_string(key).lower()
        kind = engine.lua_type(value)
        if key == b"function_name":
            if kind not in ("string", "number"):
                _refuse(engine, "function_name argument given to redis.register_function "
                                "must be a string")
            name = _lua_string(value)
        elif key == b"description":
            if kind not in ("string", "number"):
                _refuse(engine, "description argument given to redis.register_function "
                                "must be a string")
            description = _lua_string(value)
        elif key == b"callback":
            if kind != "function":
                _refuse(engine, "callback argument given to redis.register_function must "
                                "be a function")
            callback = value
        elif key == b"flags":
            if kind != "table":
                _refuse(engine, "flags argument to redis.register_function must be a table "
                                "representing function flags")
            flags = _flags(engine, value)
        else:
            _refuse(engine, "unknown argument given to redis.register_function")
    if name is None:
        _refuse(engine, "redis.register_function must get a function name argument")
    if callback is None:
        _refuse(engine, "redis.register_function must get a callback argument")
    return name, description, callback, flags


def _flags(engine: Any, table: Any) -> List[bytes]:
    """The flags of a flags table, t[1], t[2]... up to the first nil."""
    flags: List[bytes] = []
    index = 1
    while True:
        value = table[index]
        if value is None:
            return flags
        if engine.lua_type(value) not in ("string", "number") \
                or _lua_string(value).lower() not in FLAG_NAMES:
            _refuse(engine, "unknown flag given")
        flags.append(_lua_string(value).lower())
        index += 1


class Registry:
    """The libraries and functions of one server (functionsLibCtx)."""

    def __init__(self, engine: Callable[[], Any]) -> None:
        self._engine = engine            # the runtime of functions, made on demand
        self.libraries: Dict[bytes, Library] = {}
        self.functions: Dict[bytes, Function] = {}   # by lower-case name
        self._loading: Optional[Library] = None

    def stats(self) -> Tuple[int, int]:
        """(libraries, functions), functions counted per library as Redis does."""
        return len(self.libraries), sum(len(library.functions)
                                        for library in self.libraries.values())

    # -- redis.register_function ----------------------------------------------------
    def register(self, *args: Any) -> None:
        """redis.register_function(name, callback) or ({function_name=, callback=,
        flags=, description=}): checks and texts of function_lua.c, errors raised
        in Lua as Redis's error tables."""
        engine = self._engine()
        library = self._loading
        if library is None:
            engine.raise_table(b"ERR redis.register_function can only be called on "
                               b"FUNCTION LOAD command")
        if not 1 <= len(args) <= 2:
            _refuse(engine, "wrong number of arguments to redis.register_function")
        if len(args) == 1:
            name, description, callback, flags = _named_arguments(engine, args[0])
        else:
            name, callback = args
            if engine.lua_type(name) not in ("string", "number"):
                _refuse(engine, "first argument to redis.register_function must be a string")
            if engine.lua_type(callback) != "function":
                _refuse(engine, "second argument to redis.register_function must be a "
                                "function")
            name, description, flags = _lua_string(name), None, []
        if not _VALID_NAME.match(name):
            _refuse(engine, errors.FUNCTION_BAD_NAME[4:])
        if name in library.functions:      # case-sensitive here, not in FCALL (Redis)
            _refuse(engine, "Function already exists in the library")
        library.functions[name] = Function(name, library, callback, description, flags)

    # -- FUNCTION LOAD ----------------------------------------------------------------
    def create(self, code: bytes, replace: bool, timeout_ms: int = LOAD_TIMEOUT_MS) -> bytes:
        """Load a library (functionsCreateWithLibraryCtx); its name, or Redis's error."""
        engine_name, name, body = parse_metadata(code)
        if not _VALID_NAME.match(name):
            raise CommandError(errors.FUNCTION_BAD_NAME)
        if engine_name.upper() != b"LUA":
            raise CommandError(errors.FUNCTION_NO_ENGINE.format(_text(engine_name)))
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise CommandError(errors.FUNCTION_LIBRARY_EXISTS.format(_text(name)))
        if old is not None:
            self._unlink(old)
        try:
            library = self._run_library(name, code, body, timeout_ms)
            for function in library.functions.values():
                if function.name.lower() in self.functions:
                    raise CommandError(errors.FUNCTION_EXISTS.format(_text(function.name)))
        except BaseException:
            if old is not None:
                self._link(old)
            raise
        self._link(library)
        return name

    def _run_library(self, name: bytes, code: bytes, body: bytes,
                     timeout_ms: int) -> Library:
        engine = self._engine()
        library = Library(name, code)
        self._loading = library
        started = time.monotonic()

        def tick() -> bool:
            return timeout_ms > 0 and (time.monotonic() - started) * 1000 > timeout_ms

        engine.sethook(tick, 100000, b"ERR FUNCTION LOAD timeout")
        try:
            result = engine.load_library(body)
        finally:
            engine.sethook(None, 0)
            engine.ticking = False
            engine.put_back(full=True)   # (a library's code ran: the full check)
            self._loading = None
        ok, error = (result if isinstance(result, tuple) else (result, None))
        if ok is None:
            raise CommandError(errors.FUNCTION_COMPILE.format(_text(error)))
        if not ok:
            raise CommandError(errors.FUNCTION_REGISTER.format(_text(error)))
        if not library.functions:
            raise CommandError(errors.FUNCTION_NONE_REGISTERED)
        return library

    def _link(self, library: Library) -> None:
        self.libraries[library.name] = library
        for function in library.functions.values():
            self.functions[function.name.lower()] = function

    def _unlink(self, library: Library) -> None:
        del self.libraries[library.name]
        for function in library.functions.values():
            if self.functions.get(function.name.lower()) is function:
                del self.functions[function.name.lower()]

    def delete(self, name: bytes) -> None:
        library = self.libraries.get(name)
        if library is None:
            raise CommandError(errors.FUNCTION_LIBRARY_NOT_FOUND)
        self._unlink(library)

    def flush(self) -> None:
        self.libraries.clear()
        self.functions.clear()

    # -- FUNCTION DUMP / RESTORE, and dump.rdb ---------------------------------------
    def rdb_records(self, compress: bool = True) -> bytes:
        """The libraries as dump.rdb stores them: FUNCTION2 opcode and code each."""
        from ..persistence.dump import raw_string
        return b"".join(bytes((OP_FUNCTION2,)) + raw_string(library.code, compress)
                        for library in self.libraries.values())

    def dump(self) -> bytes:
        """FUNCTION DUMP's payload."""
        from ..persistence import rdb
        from ..persistence.dump import PAYLOAD_VERSION
        body = self.rdb_records() + struct.pack("<H", PAYLOAD_VERSION)
        return body + struct.pack("<Q", rdb.crc64(0, body))

    def restore(self, payload: bytes, policy: bytes) -> None:
        """FUNCTION RESTORE: all the payload's libraries, or none (Redis's texts)."""
        from ..persistence import dump
        if not dump.verify(payload):
            raise CommandError(errors.FUNCTION_RESTORE_PAYLOAD)
        from ..persistence.rdb import RDBError, _Reader
        reader = _Reader(payload, "payload")   # reads may run into the trailer, as in Redis
        codes: List[bytes] = []
        while reader.pos < len(payload) - 10:
            try:
                kind = reader.byte()
            except RDBError:
                raise CommandError(errors.FUNCTION_RESTORE_TYPE) from None
            if kind == _OP_FUNCTION_PRE_GA:
                codes.append(read_pre_ga(reader))
                continue
            if kind != OP_FUNCTION2:
                raise CommandError(errors.FUNCTION_RESTORE_NOT_FUNCTION)
            try:
                codes.append(reader.string())
            except RDBError:
                raise CommandError(errors.FUNCTION_RESTORE_LIBRARY) from None
        self.restore_codes(codes, policy)

    def restore_codes(self, codes: List[bytes], policy: bytes) -> None:
        """Load ``codes`` as new libraries under a RESTORE policy (FLUSH, APPEND,
        REPLACE), all or nothing (rdbFunctionLoad, then libraryJoin)."""
        fresh: Dict[bytes, Library] = {}
        names: Dict[bytes, bytes] = {}
        for code in codes:
            engine_name, name, body = parse_metadata(code)
            if not _VALID_NAME.match(name):
                raise CommandError(errors.FUNCTION_BAD_NAME)
            if engine_name.upper() != b"LUA":
                raise CommandError(errors.FUNCTION_NO_ENGINE.format(_text(engine_name)))
            if name in fresh:
                raise CommandError(errors.FUNCTION_LIBRARY_EXISTS.format(_text(name)))
            library = self._run_library(name, code, body, 0)
            for function in library.functions.values():
                key = function.name.lower()
                if key in names:
                    raise CommandError(errors.FUNCTION_EXISTS.format(_text(function.name)))
                names[key] = name
            fresh[name] = library
        saved_libraries, saved_functions = dict(self.libraries), dict(self.functions)
        try:
            if policy == b"FLUSH":
                self.flush()
            for library in fresh.values():
                old = self.libraries.get(library.name)
                if old is not None:
                    if policy != b"REPLACE":
                        raise CommandError(errors.FUNCTION_LIBRARY_EXISTS_JOIN.format(
                            _text(library.name)))
                    self._unlink(old)
            for library in fresh.values():
                for function in library.functions.values():
                    if function.name.lower() in self.functions:
                        raise CommandError(errors.FUNCTION_EXISTS.format(
                            _text(function.name)))
                self._link(library)
        except CommandError:
            self.libraries, self.functions = saved_libraries, saved_functions
            raise
