"""``cmsgpack`` and ``struct``, the binary packing libraries of Redis's Lua, for lupa
(``struct`` itself lives in :mod:`.luastruct`).

Redis links lua-cmsgpack 0.4 and Roberto Ierusalimschy's lstruct into its Lua 5.1;
lupa's Lua has neither. Both are rebuilt here in Python from the MessagePack format
specification and lstruct's documented options, and were checked byte for byte
against redis-server 7.0: which msgpack type each Lua value gets, how each one is
decoded (uint64 read as a signed integer, no bin or ext types), the offsets
``unpack_one`` and ``unpack_limit`` return, the 16-level nesting limit, the integer
conversions of x86-64 (out-of-range numbers become ``0x8000000000000000`` or 0),
and every error text. Redis's C functions check the Lua stack as they push results:
the same limits (LUAI_MAXCSTACK, 8000 slots) are counted here, so a script gets the
same "stack overflow" errors at the same sizes.

The functions are Python callables that scripts see as C functions (lupa's
``python.as_function``): errors carry the calling script's position (luaL_error) and
the name it called the function by (luaL_argerror), found with a small Lua helper
that reads the call stack. Known differences, all from lupa: a -0.0 argument arrives
as the integer 0 (``struct.pack('d', -0.0)`` packs +0.0); and maps with string keys
of 32 bytes or more are walked in another order (Redis's Lua hashes long strings
differently), which changes packed maps.
"""
from __future__ import annotations

import struct as _struct
from typing import Any, Callable, Dict, List, Tuple

from lupa import lua51

from .lua import LuaRaise, sealed
from .luanumbers import number_text, str2number, to_int64

_MAXCSTACK = 8000                    # Lua 5.1's LUAI_MAXCSTACK
_U64 = (1 << 64) - 1
_SIGN64 = 1 << 63
_INT_MAX = 2 ** 31 - 1
_NESTING = 16                        # LUACMSGPACK_MAX_NESTING
_MAXINTSIZE = 32                     # lstruct's largest integer
_MAXALIGN = 8                        # '!' without a size: x86-64's max alignment

_TOO_MANY_VALUES = b"too many return values at once; use unpack_one or unpack_limit instead."

def _to_uint64(number: float) -> int:
    """(unsigned long long)number as gcc compiles it for x86-64 (cvttsd2si twice)."""
    if number != number or number < 2.0 ** 63:
        return to_int64(number) & _U64
    high = number - 2.0 ** 63
    if high >= 2.0 ** 63:
        return 0                     # 0x8000000000000000 ^ 0x8000000000000000
    return (int(high) ^ _SIGN64) & _U64


def _int32(value: int) -> int:
    """The low 32 bits as a signed int (a 64-bit value printed with "%d")."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _signed64(value: int) -> int:
    value &= _U64
    return value - (1 << 64) if value & _SIGN64 else value


def _lua_number(value: int) -> Any:
    """An integer as a Lua number (a double): exact below 2^53, rounded above."""
    return value if -2 ** 53 <= value <= 2 ** 53 else float(value)


class _Calls:
    """Argument checks and errors as Lua's auxiliary library words them.

    ``info`` is a Lua function returning luaL_where(L, 1) of the running library
    function and the name its caller used for it (lua_getinfo "n").
    """

    def __init__(self, runtime: Any, info: Any, new_table: Any) -> None:
        self.runtime = runtime
        self.info = info
        self.new_table = new_table      # main-thread tables (lua.new_table_function)

    def error(self, message: bytes) -> LuaRaise:
        """luaL_error: the caller's position, then the message."""
        where = self.info()[0]
        return LuaRaise(where + message)

    def argerror(self, narg: int, extra: bytes) -> LuaRaise:
        """luaL_argerror: 'bad argument #n to 'name' (extra)'."""
        where, name, namewhat = self.info()
        if namewhat == b"method":
            narg -= 1
            if narg == 0:
                return LuaRaise(where + b"calling '%s' on bad self (%s)"
                                % (name or b"?", extra))
        return LuaRaise(where + b"bad argument #%d to '%s' (%s)"
                        % (narg, name or b"?", extra))

    def typeerror(self, args: Tuple[Any, ...], index: int, expected: bytes) -> LuaRaise:
        got = b"no value" if index >= len(args) else self.typename(args[index])
        return self.argerror(index + 1, b"%s expected, got %s" % (expected, got))

    def typename(self, value: Any) -> bytes:
        if value is None:
            return b"nil"
        cls = value.__class__
        if cls is bytes:
            return b"string"
        if cls is bool:
            return b"boolean"
        if cls is int or cls is float:
            return b"number"
        kind = lua51.lua_type(value)
        if kind:
            # lupa hands a coroutine that has not run yet over as a function
            if cls.__name__ == "_LuaCoroutineFunction":
                return b"thread"
            return kind.encode()
        # A Python object: lupa hands our C functions (as_function) back as the
        # callables they wrap; anything else (cjson.null) is userdata to Lua.
        return b"function" if callable(value) else b"userdata"

    def check_string(self, args: Tuple[Any, ...], index: int) -> bytes:
        """luaL_checklstring: a string, or a number turned into one."""
        value = args[index] if index < len(args) else None
        cls = value.__class__
        if cls is bytes:
            return value
        if cls is int or cls is float:
            return number_text(value)
        raise self.typeerror(args, index, b"string")

    def check_number(self, args: Tuple[Any, ...], index: int) -> float:
        """luaL_checknumber: a number, or a string in Lua's number syntax."""
        value = args[index] if index < len(args) else None
        cls = value.__class__
        if cls is int or cls is float:
            return float(value)
        if cls is bytes:
            number = str2number(value)
            if number is not None:
                return number
        raise self.typeerror(args, index, b"number")

    def opt_integer(self, args: Tuple[Any, ...], index: int, default: int) -> int:
        """luaL_optinteger: a lua_Integer (64 bits, truncated), or ``default``."""
        if index >= len(args) or args[index] is None:
            return default
        return to_int64(self.check_number(args, index))

    def check_stack(self, used: int, extra: int, message: bytes) -> None:
        """luaL_checkstack with ``used`` slots taken by the function."""
        if used + extra > _MAXCSTACK:
            raise self.error(b"stack overflow (%s)" % message)


# -- cmsgpack --------------------------------------------------------------------------

class _Missing(Exception):
    """The input ends inside an object (MP_CUR_ERROR_EOF)."""


class _BadFormat(Exception):
    """A type byte lua-cmsgpack does not decode (MP_CUR_ERROR_BADFMT)."""


def _pack_int(n: int, out: bytearray) -> None:
    """The smallest msgpack integer that holds ``n`` (an int64)."""
    if n >= 0:
        if n <= 0x7F:
            out.append(n)
        elif n <= 0xFF:
            out += b"\xcc" + n.to_bytes(1, "big")
        elif n <= 0xFFFF:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + n.to_bytes(8, "big")
    elif n >= -32:
        out.append(n & 0xFF)
    elif n >= -128:
        out += b"\xd0" + n.to_bytes(1, "big", signed=True)
    elif n >= -32768:
        out += b"\xd1" + n.to_bytes(2, "big", signed=True)
    elif n >= -2 ** 31:
        out += b"\xd2" + n.to_bytes(4, "big", signed=True)
    else:
        out += b"\xd3" + n.to_bytes(8, "big", signed=True)


def _pack_number(number: Any, out: bytearray) -> None:
    """Integral numbers in int64 range as integers, others as float32 when exact."""
    if number.__class__ is int or (number == number and number.is_integer()
                                   and -2.0 ** 63 <= number < 2.0 ** 63):
        _pack_int(int(number), out)
        return
    try:
        single = _struct.pack(">f", number)
    except OverflowError:            # beyond float's range: (float)d is inf, not d
        single = None
    if single is not None and _struct.unpack(">f", single)[0] == number:
        out += b"\xca" + single
    else:
        out += b"\xcb" + _struct.pack(">d", number)


def _pack_length(size: int, small: int, codes: bytes, out: bytearray) -> None:
    """A fix* header below 16 (arrays, maps), else a 16- or 32-bit length."""
    if size < 16:
        out.append(small | size)
    elif size <= 0xFFFF:
        out += codes[0:1] + size.to_bytes(2, "big")
    else:
        out += codes[1:2] + size.to_bytes(4, "big")


def _is_array(keys: List[Any]) -> bool:
    """lua-cmsgpack's test: every key a positive C-int number, and max == count."""
    top = 0
    for key in keys:
        cls = key.__class__
        if cls is not int and cls is not float:
            return False
        if not key > 0 or key != key or key > _INT_MAX or int(key) != key:
            return False
        if key > top:
            top = int(key)
    return top == len(keys)


def _pack_value(value: Any, level: int, out: bytearray) -> None:
    cls = value.__class__
    if cls is bytes:
        size = len(value)
        if size < 32:
            out.append(0xA0 | size)
        elif size <= 0xFF:
            out += b"\xd9" + size.to_bytes(1, "big")
        elif size <= 0xFFFF:
            out += b"\xda" + size.to_bytes(2, "big")
        else:
            out += b"\xdb" + size.to_bytes(4, "big")
        out += value
    elif cls is bool:
        out.append(0xC3 if value else 0xC2)
    elif cls is int or cls is float:
        _pack_number(value, out)
    elif value is not None and level < _NESTING and lua51.lua_type(value) == "table":
        pairs = list(value.items())
        keys = [key for key, _ in pairs]
        if _is_array(keys):
            _pack_length(len(pairs), 0x90, b"\xdc\xdd", out)
            by_index = dict(pairs)
            for i in range(1, len(pairs) + 1):
                _pack_value(by_index[i], level + 1, out)
        else:
            _pack_length(len(pairs), 0x80, b"\xde\xdf", out)
            for key, item in pairs:
                _pack_value(key, level + 1, out)
                _pack_value(item, level + 1, out)
    else:
        # nil, functions, coroutines, userdata (cjson.null), and tables 16 levels deep
        out.append(0xC0)


class _Open:
    """A table being filled: ``count`` more elements (maps: pairs) to read."""

    __slots__ = ("table", "is_map", "count", "top", "index", "key", "has_key")

    def __init__(self, table: Any, is_map: bool, count: int, top: int) -> None:
        self.table = table
        self.is_map = is_map
        self.count = count
        self.top = top               # stack slots in use below the table
        self.index = 1
        self.key: Any = None
        self.has_key = False

    def child_top(self) -> int:
        # The table takes a slot; an array's index, or a map's pending key, another.
        return self.top + (1 if self.is_map and not self.has_key else 2)


class _Decoder:
    """One msgpack stream decoded into Lua values, nesting kept on a list (Redis
    goes 4000 levels deep), counting the Lua stack slots Redis's decoder uses."""

    def __init__(self, calls: _Calls, data: bytes, offset: int) -> None:
        self.calls = calls
        self.table = calls.new_table
        self.data = data
        self.pos = offset

    def _take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise _Missing()
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def _length(self, size: int) -> int:
        return int.from_bytes(self._take(size), "big")

    def value(self, top: int) -> Any:
        """The next object; ``top`` slots are in use when it starts."""
        opened: List[_Open] = []
        while True:
            value = self._item(top, opened)
            if value is _OPENED:
                frame = opened[-1]
                if frame.count:
                    top = frame.child_top()
                    continue
                opened.pop()
                value = frame.table
            # Store the value in the innermost open table; close the full ones.
            while opened:
                frame = opened[-1]
                if frame.is_map and not frame.has_key:
                    frame.key, frame.has_key = value, True
                    break
                if frame.is_map:
                    key = frame.key
                    if key is None:
                        raise LuaRaise(b"table index is nil")
                    if key.__class__ is float and key != key:
                        raise LuaRaise(b"table index is NaN")
                    frame.table[key] = value
                    frame.key, frame.has_key = None, False
                else:
                    # nil too: in Lua 5.1 it still makes a key slot, which can
                    # change the table's layout (its length, its pairs order)
                    frame.table[frame.index] = value
                    frame.index += 1
                frame.count -= 1
                if frame.count:
                    break
                opened.pop()
                value = frame.table
            if not opened:
                return value
            top = opened[-1].child_top()

    def _item(self, top: int, opened: List[_Open]) -> Any:
        """A scalar, or _OPENED after pushing a new table on ``opened``."""
        self.calls.check_stack(top, 1, _TOO_MANY_VALUES)
        code = self._take(1)[0]
        if code <= 0x7F:
            return code
        if code >= 0xE0:
            return code - 0x100
        if 0xA0 <= code <= 0xBF:
            return self._take(code & 0x1F)
        if 0x90 <= code <= 0x9F:
            return self._open(False, code & 0x0F, top, opened)
        if 0x80 <= code <= 0x8F:
            return self._open(True, code & 0x0F, top, opened)
        if code == 0xC0:
            return None
        if code == 0xC2:
            return False
        if code == 0xC3:
            return True
        if code == 0xCA:
            return _struct.unpack(">f", self._take(4))[0]
        if code == 0xCB:
            return _struct.unpack(">d", self._take(8))[0]
        if 0xCC <= code <= 0xCE:
            return self._length(1 << (code - 0xCC))
        if code == 0xCF:             # read as a signed 64-bit integer, as Redis does
            return _lua_number(int.from_bytes(self._take(8), "big", signed=True))
        if 0xD0 <= code <= 0xD3:
            return _lua_number(int.from_bytes(self._take(1 << (code - 0xD0)), "big",
                                              signed=True))
        if 0xD9 <= code <= 0xDB:
            return self._take(self._length(1 << (code - 0xD9)))
        if code == 0xDC or code == 0xDD:
            return self._open(False, self._length(2 if code == 0xDC else 4), top, opened)
        if code == 0xDE or code == 0xDF:
            return self._open(True, self._length(2 if code == 0xDE else 4), top, opened)
        raise _BadFormat()

    def _open(self, is_map: bool, count: int, top: int, opened: List[_Open]) -> Any:
        if not is_map:
            # Redis checks for one more slot once the array's table is pushed.
            self.calls.check_stack(top + 1, 1, b"in function mp_decode_to_lua_array")
        opened.append(_Open(self.table(), is_map, count, top))
        return _OPENED


_OPENED = object()


def _unpack(calls: _Calls, args: Tuple[Any, ...], used: int, limit: int,
            offset: int) -> Tuple[Any, ...]:
    """mp_unpack_full: ``used`` stack slots hold the arguments still on the stack."""
    data = calls.check_string(args, 0)
    size = len(data)
    if offset < 0 or limit < 0:
        raise calls.error(b"Invalid request to unpack with offset of %d and limit of %d."
                          % (_int32(offset), _int32(size)))
    if offset > size:
        raise calls.error(b"Start offset %d greater than input length %d."
                          % (_int32(offset), _int32(size)))
    everything = not limit and not offset
    if everything:
        limit = _INT_MAX
    decoder = _Decoder(calls, data, offset)
    values: List[Any] = []
    while decoder.pos < size and len(values) < limit:
        try:
            values.append(decoder.value(used + len(values)))
        except _Missing:
            raise calls.error(b"Missing bytes in input.") from None
        except _BadFormat:
            raise calls.error(b"Bad data format in input.") from None
    if everything:
        return tuple(values)
    calls.check_stack(used + len(values), 1, b"in function mp_unpack_full")
    following = -1 if decoder.pos >= size else decoder.pos
    return (following, *values)


def _cmsgpack_library(calls: _Calls) -> Dict[bytes, Callable[..., Any]]:
    def pack(*args: Any) -> bytes:
        if not args:
            raise calls.argerror(0, b"MessagePack pack needs input.")
        if len(args) * 2 > _MAXCSTACK:   # a packed string per argument on the stack
            raise calls.argerror(0, b"Too many arguments for MessagePack pack.")
        out = bytearray()
        for value in args:
            _pack_value(value, 0, out)
        return bytes(out)

    def unpack(*args: Any) -> Tuple[Any, ...]:
        return _unpack(calls, args, max(len(args), 1), 0, 0)

    def unpack_one(*args: Any) -> Tuple[Any, ...]:
        offset = calls.opt_integer(args, 1, 0)
        return _unpack(calls, args[:1], 1, 1, offset)

    def unpack_limit(*args: Any) -> Tuple[Any, ...]:
        limit = to_int64(calls.check_number(args, 1))
        offset = calls.opt_integer(args, 2, 0)
        return _unpack(calls, args[:1], 1, limit, offset)

    return {b"pack": pack, b"unpack": unpack, b"unpack_one": unpack_one,
            b"unpack_limit": unpack_limit}


# Where a library function was called from, and by which name: luaL_where(L, 1) and
# lua_getinfo(L, "n") of the running C function, seen from this helper (level 1),
# called by the Python function (level 2), called by the script (level 3).
_INFO = r"""
local getinfo = debug.getinfo
-- The coroutines running (the sandbox's coroutine functions keep the list, innermost
-- last, finished ones dropped here): this helper runs on the main thread, so for a
-- library function running in a coroutine it reads that coroutine's stack (level 0,
-- the library function; level 1, its caller).
local threads = ...
local status = coroutine.status
return function()
  local co = threads[#threads]
  while co and status(co) == 'dead' do
    threads[#threads] = nil
    co = threads[#threads]
  end
  local callee, caller, level
  if co then
    callee = getinfo(co, 0, 'n')
    level = 1
    caller = getinfo(co, level, 'Sl')
    while caller and caller.source == '=[redis]' do   -- the sandbox's own wrappers
      level = level + 1
      caller = getinfo(co, level, 'Sl')
    end
  else
    callee = getinfo(2, 'n')
    level = 3
    caller = getinfo(level, 'Sl')
    while caller and caller.source == '=[redis]' do
      level = level + 1
      caller = getinfo(level, 'Sl')
    end
  end
  local where = ''
  if caller and caller.currentline > 0 then
    where = caller.short_src .. ':' .. caller.currentline .. ': '
  end
  return where, callee and callee.name, callee and callee.namewhat
end
"""

# The library tables, filled in the order Redis's C code registers their fields, so
# that pairs() walks them in the same order.
_TABLES = r"""
local py = ...
local as_function = python.as_function   -- C functions, as in Redis
local cmsgpack = {}
cmsgpack.pack = as_function(py.cmsgpack.pack)
cmsgpack.unpack = as_function(py.cmsgpack.unpack)
cmsgpack.unpack_one = as_function(py.cmsgpack.unpack_one)
cmsgpack.unpack_limit = as_function(py.cmsgpack.unpack_limit)
cmsgpack._NAME = 'cmsgpack'
cmsgpack._VERSION = 'lua-cmsgpack 0.4.0'
cmsgpack._COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo'
cmsgpack._DESCRIPTION = 'MessagePack C implementation for Lua'
local struct = {}
struct.pack = as_function(py.struct.pack)
struct.unpack = as_function(py.struct.unpack)
struct.size = as_function(py.struct.size)
return cmsgpack, struct
"""


def calls(runtime: Any, threads: Any, new_table: Any) -> _Calls:
    """Argument checks and errors, worded as Lua's C functions word them, for
    Python library functions of ``runtime``; ``threads`` is the Lua list of the
    coroutines running, ``new_table`` makes the tables they return."""
    info = runtime.globals()[b"loadstring"](_INFO.encode(), b"=[redis]")(threads)
    return _Calls(runtime, info, new_table)


def tables(runtime: Any, checks: _Calls) -> Tuple[Any, Any]:
    """The ``cmsgpack`` and ``struct`` library tables for ``runtime`` (lualibs sets
    them as globals next to cjson and bit)."""
    from . import luastruct   # (it builds on this module's argument checks)
    load = runtime.globals()[b"loadstring"]
    py = runtime.table_from({
        b"cmsgpack": runtime.table_from({name: sealed(function) for name, function
                                         in _cmsgpack_library(checks).items()}),
        b"struct": runtime.table_from({name: sealed(function) for name, function
                                       in luastruct.library(checks).items()}),
    })
    return load(_TABLES.encode(), b"=[redis]")(py)


__all__: List[str] = ["calls", "tables"]
