"""The C libraries Redis links into its Lua (bit, cjson), rebuilt for lupa's Lua 5.1.

lupa's Lua has none of them (cmsgpack and struct are in ``luapack``; all four become
globals here). ``bit`` (LuaBitOp) is computed in Python behind Lua
wrappers that check arguments as ``luaL_checknumber`` does. ``cjson.encode`` is
written in Lua, so tables are walked in Lua's own ``next`` order, which is what fixes
the key order of Redis's output (same Lua 5.1 hashing); ``cjson.decode`` is a Python
parser with lua-cjson's error texts. Both chunks are compiled under the internal chunk
name, so errors point at the script line that called the library, as from C.
"""
from __future__ import annotations

import struct as _struct
from typing import Any, Dict, List, Tuple

from . import luapack
from .luanumbers import strtod, to_int64
from .lua import sealed

_U32 = 0xFFFFFFFF
_DOUBLE = _struct.Struct("<d")


def _bits(value: Any) -> int:
    """LuaBitOp's barg: the low 32 bits of the double ``value + 2^52 + 2^51`` (round to
    nearest even; NaN and the infinities give 0), exactly as the C library does."""
    return int.from_bytes(_DOUBLE.pack(float(value) + 6755399441055744.0)[:4], "little")


def _signed(value: int) -> int:
    value &= _U32
    return value - (1 << 32) if value & 0x80000000 else value


def _tohex(value: Any, digits: Any = 8) -> bytes:
    n = _bits(value)
    count = _signed(_bits(digits)) if digits is not None else 8
    upper = count < 0
    count = min(abs(count), 8)      # (-INT_MIN overflows; Redis's build shows 8 digits)
    if count == 0:
        return b""
    if count < 8:
        n &= (1 << (4 * count)) - 1
    text = ("%0*X" if upper else "%0*x") % (count, n)
    return text.encode()


def _fold(op: Any) -> Any:
    def run(*args: Any) -> int:
        result = _bits(args[0])
        for arg in args[1:]:
            result = op(result, _bits(arg))
        return _signed(result)
    return run


_BIT_FUNCTIONS = {
    b"tobit": lambda x: _signed(_bits(x)),
    b"tohex": _tohex,
    b"bnot": lambda x: _signed(~_bits(x)),
    b"band": _fold(lambda a, b: a & b),
    b"bor": _fold(lambda a, b: a | b),
    b"bxor": _fold(lambda a, b: a ^ b),
    b"lshift": lambda x, n: _signed(_bits(x) << (_bits(n) & 31)),
    b"rshift": lambda x, n: _signed(_bits(x) >> (_bits(n) & 31)),
    b"arshift": lambda x, n: _signed(_signed(_bits(x)) >> (_bits(n) & 31)),
    b"rol": lambda x, n: _signed((_bits(x) << (_bits(n) & 31))
                                 | (_bits(x) >> ((32 - (_bits(n) & 31)) & 31))),
    b"ror": lambda x, n: _signed((_bits(x) >> (_bits(n) & 31))
                                 | (_bits(x) << ((32 - (_bits(n) & 31)) & 31))),
    b"bswap": lambda x: _signed(int.from_bytes(_bits(x).to_bytes(4, "little"), "big")),
}
# name -> how many arguments must be numbers (-1: at least one, all numbers)
_BIT_ARITY = {b"tobit": 1, b"tohex": 1, b"bnot": 1, b"band": -1, b"bor": -1, b"bxor": -1,
              b"lshift": 2, b"rshift": 2, b"arshift": 2, b"rol": 2, b"ror": 2, b"bswap": 1}

_LIBS = r"""
local py = ...
local type, tostring, select, error, pairs, next, format, concat, floor, huge =
      type, tostring, select, error, pairs, next, string.format, table.concat,
      math.floor, math.huge
local rawpcall = pcall

-- Python callables become C functions (lupa's as_function), as Redis's are.
local as_function = python.as_function
for name, f in pairs(py.bit) do py.bit[name] = as_function(f) end
_G.bit = py.bit
_G.cmsgpack = py.cmsgpack
_G.struct = py.struct

-- cjson.null: lua-cjson's NULL light userdata. Lua cannot make one, so it is a
-- userdata of its own that prints as Redis's does; nothing of Python is in it.
local null = newproxy(true)
local null_meta = getmetatable(null)
null_meta.__tostring = function() return 'userdata: (nil)' end
null_meta.__metatable = false

-- The encoder's configuration (set by cjson.encode_* from Python).
local cfg = py.cfg

-- cjson.encode, as lua-cjson 2.1 writes JSON: sparse arrays, nesting depth, number
-- precision and NaN/Inf handling as configured. The Lua stack lua-cjson would use
-- (one slot per array level, two per object level; 8000 at most) is counted too.
local cjson = {_NAME='cjson', _VERSION='2.1.0'}
cjson.null = null
local escapes = {['"']='\\"', ['\\']='\\\\', ['/']='\\/', ['\b']='\\b', ['\f']='\\f',
                 ['\n']='\\n', ['\r']='\\r', ['\t']='\\t'}
for i = 0, 31 do
  local c = string.char(i)
  if not escapes[c] then escapes[c] = format('\\u%04x', i) end
end
escapes['\127'] = '\\u007f'

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\/]', escapes) .. '"'
end

local function encode_number(n)
  if n ~= n or n == huge or n == -huge then
    local invalid = cfg.invalid_numbers
    if invalid == 0 then
      error('Cannot serialise number: must not be NaN or Inf', 0)
    elseif invalid == 2 then
      return 'null'
    elseif n ~= n then
      return 'nan'
    end
  end
  return format(cfg.number_format, n)
end

local encode_value

local function array_length(t)
  local max, items = 0, 0
  for k in next, t do
    if type(k) == 'number' and k >= 1 and floor(k) == k then
      if k > max then max = k end
      items = items + 1
    else
      return -1
    end
  end
  local ratio = cfg.sparse_ratio
  if ratio > 0 and max > items * ratio and max > cfg.sparse_safe then
    if not cfg.sparse_convert then
      error('Cannot serialise table: excessively sparse array', 0)
    end
    return -1
  end
  return max
end

encode_value = function(v, depth, used, out)
  local t = type(v)
  if t == 'string' then
    out[#out + 1] = encode_string(v)
  elseif t == 'number' then
    out[#out + 1] = encode_number(v)
  elseif t == 'boolean' then
    out[#out + 1] = v and 'true' or 'false'
  elseif t == 'nil' or v == null then
    out[#out + 1] = 'null'
  elseif t == 'table' then
    depth = depth + 1
    if depth > cfg.encode_max_depth or used + 3 > 8000 then
      error(format('Cannot serialise, excessive nesting (%d)', depth), 0)
    end
    local len = array_length(v)
    if len > 0 then
      out[#out + 1] = '['
      for i = 1, len do
        if i > 1 then out[#out + 1] = ',' end
        encode_value(v[i], depth, used + 1, out)
      end
      out[#out + 1] = ']'
    else
      out[#out + 1] = '{'
      local first = true
      for k, item in next, v do
        if not first then out[#out + 1] = ',' end
        first = false
        local kt = type(k)
        if kt == 'string' then
          out[#out + 1] = encode_string(k)
        elseif kt == 'number' then
          out[#out + 1] = '"' .. encode_number(k) .. '"'
        else
          error('Cannot serialise ' .. kt .. ': table key must be a number or string', 0)
        end
        out[#out + 1] = ':'
        encode_value(item, depth, used + 2, out)
      end
      out[#out + 1] = '}'
    end
  else
    error('Cannot serialise ' .. t .. ': type not supported', 0)
  end
end

cjson.encode = as_function(py.encode)
cjson.decode = as_function(py.decode)

-- The encoder proper, run by the Python cjson.encode: (true, json) or (false, error).
local function encode(v)
  local out = {}
  local ok, err = rawpcall(encode_value, v, 0, 1, out)
  if not ok then return false, err end
  return true, concat(out)
end

-- The configuration functions (C functions in Redis, Python ones here).
for _, name in ipairs({'encode_sparse_array', 'encode_max_depth', 'decode_max_depth',
                       'encode_number_precision', 'encode_keep_buffer',
                       'encode_invalid_numbers', 'decode_invalid_numbers'}) do
  cjson[name] = as_function(py.config[name])
end
function cjson.new() return cjson end
_G.cjson = cjson
return encode, null
"""


class _JSONError(Exception):
    pass


_TOKEN_NAMES = {"{": "T_OBJ_BEGIN", "}": "T_OBJ_END", "[": "T_ARR_BEGIN", "]": "T_ARR_END",
                ":": "T_COLON", ",": "T_COMMA"}
_WS = b" \t\r\n"


class _Decoder:
    """lua-cjson's decoder: tokens, Lua tables, its exact error texts."""

    def __init__(self, new_table: Any, null: Any, data: bytes,
                 invalid_numbers: bool = True) -> None:
        self.new_table = new_table
        self.null = null
        self.data = data
        self.pos = 0
        self.invalid_numbers = invalid_numbers  # (decode_invalid_numbers)

    def token(self) -> Tuple[str, Any, int]:
        data, pos = self.data, self.pos
        while pos < len(data) and data[pos] in _WS:
            pos += 1
        start = pos
        if pos >= len(data) or data[pos] == 0:     # (a NUL ends the text, as in C)
            self.pos = pos
            return "T_END", None, start
        c = chr(data[pos])
        if c in _TOKEN_NAMES:
            self.pos = pos + 1
            return _TOKEN_NAMES[c], None, start
        if c == '"':
            return self._string(start)
        if c == "-" or c.isdigit():
            if not self.invalid_numbers and self._invalid_number(start):
                self.pos = start
                return "T_ERROR", "invalid number", start
            return self._number(start)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):
            if data.startswith(word, pos):
                self.pos = pos + len(word)
                return kind, value, start
        if self.invalid_numbers and c in "+iInN" and self._invalid_number(start):
            return self._number(start)
        self.pos = pos
        return "T_ERROR", "invalid token", start

    def _invalid_number(self, start: int) -> bool:
        """json_is_invalid_number: what strtod reads but strict JSON refuses (a plus
        sign, hex, leading zeros, inf, nan)."""
        data = self.data
        if data[start:start + 1] == b"+":
            return True
        if data[start:start + 1] == b"-":
            start += 1
        first = data[start:start + 1]
        if first == b"0":
            second = data[start + 1:start + 2]
            return second in (b"x", b"X") or second.isdigit()
        if first <= b"9":
            return False
        return data[start:start + 3].lower() in (b"inf", b"nan")

    def _number(self, start: int) -> Tuple[str, Any, int]:
        read = strtod(self.data, start)    # (a NUL stops it: no number holds one)
        if read is None:
            self.pos = start
            return "T_ERROR", "invalid number", start
        self.pos = read[1]
        return "T_NUMBER", read[0], start

    def _string(self, start: int) -> Tuple[str, Any, int]:
        data = self.data
        pos = start + 1
        out = bytearray()
        while True:
            if pos >= len(data):
                self.pos = start
                return "T_ERROR", "unexpected end of string", start
            c = data[pos]
            if c == 34:
                self.pos = pos + 1
                return "T_STRING", bytes(out), start
            if c == 92:
                if pos + 1 >= len(data):
                    self.pos = start
                    return "T_ERROR", "unexpected end of string", start
                e = chr(data[pos + 1])
                simple = {'"': b'"', "\\": b"\\", "/": b"/", "b": b"\b", "f": b"\f",
                          "n": b"\n", "r": b"\r", "t": b"\t"}
                if e in simple:
                    out += simple[e]
                    pos += 2
                    continue
                if e == "u":
                    code = self._unicode(pos)
                    if code is None:
                        self.pos = start
                        return "T_ERROR", "invalid unicode escape code", start
                    char, pos = code
                    out += char
                    continue
                self.pos = start
                return "T_ERROR", "invalid escape code", start
            out.append(c)
            pos += 1

    def _unicode(self, pos: int) -> Any:
        data = self.data

        def hex4(at: int) -> Any:
            chunk = data[at:at + 4]
            if len(chunk) != 4 or any(chr(b) not in "0123456789abcdefABCDEF" for b in chunk):
                return None
            return int(chunk, 16)

        code = hex4(pos + 2)
        if code is None:
            return None
        pos += 6
        if 0xD800 <= code <= 0xDBFF:
            if data[pos:pos + 2] != b"\\u":
                return None
            low = hex4(pos + 2)
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                return None
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            pos += 6
        elif 0xDC00 <= code <= 0xDFFF:
            return None
        return chr(code).encode("utf-8", "surrogatepass"), pos

    def fail(self, expected: str, token: Tuple[str, Any, int]) -> None:
        kind, value, index = token
        found = value if kind == "T_ERROR" else kind
        raise _JSONError("Expected %s but found %s at character %d"
                         % (expected, found, index + 1))

    def document(self, max_depth: int) -> Any:
        """The whole text as a Lua value. Iterative: nesting is bounded only by
        decode_max_depth and the Lua stack lua-cjson would use (8000 slots: one per
        array level, two per object level), never by Python's recursion limit."""
        value = self._value(self.token(), max_depth)
        token = self.token()
        if token[0] != "T_END":
            self.fail("the end", token)
        return value

    def _value(self, token: Tuple[str, Any, int], max_depth: int) -> Any:
        # frames: [is_object, table, next array index or pending key]
        stack: List[List[Any]] = []
        used = 1                                # the Lua stack: cjson.decode's argument
        while True:
            kind = token[0]
            if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
                value = token[1]
            elif kind == "T_NULL":
                value = self.null
            elif kind == "T_OBJ_BEGIN" or kind == "T_ARR_BEGIN":
                is_object = kind == "T_OBJ_BEGIN"
                slots = 3 if is_object else 2
                if len(stack) + 1 > max_depth or used + slots > _MAXCSTACK:
                    raise _JSONError("Found too many nested data structures (%d) at "
                                     "character %d" % (len(stack) + 1, token[2] + 1))
                table = self.new_table()
                token = self.token()
                if token[0] == ("T_OBJ_END" if is_object else "T_ARR_END"):
                    value = table
                else:
                    frame = [is_object, table, 1]
                    if is_object:
                        frame[2] = self._key(token)
                        token = self.token()
                    stack.append(frame)
                    used += slots - 1
                    continue
            else:
                self.fail("value", token)
            # A value is complete: store it in its container, closing finished ones.
            while True:
                if not stack:
                    return value
                frame = stack[-1]
                is_object, table = frame[0], frame[1]
                table[frame[2]] = value
                token = self.token()
                if token[0] == ("T_OBJ_END" if is_object else "T_ARR_END"):
                    stack.pop()
                    used -= 2 if is_object else 1
                    value = table
                    continue
                if token[0] != "T_COMMA":
                    self.fail("comma or object end" if is_object else "comma or array end",
                              token)
                token = self.token()
                if is_object:
                    frame[2] = self._key(token)
                    token = self.token()
                else:
                    frame[2] += 1
                break

    def _key(self, token: Tuple[str, Any, int]) -> bytes:
        """An object's key and its colon; the token after them is read next."""
        if token[0] != "T_STRING":
            self.fail("object key string", token)
        colon = self.token()
        if colon[0] != "T_COLON":
            self.fail("colon", colon)
        return token[1]


_MAXCSTACK = 8000        # Lua 5.1's LUAI_MAXCSTACK
_INT_MAX = 2 ** 31 - 1


class _CJSONConfig:
    """lua-cjson's configuration (one per Lua state, so it lasts until SCRIPT FLUSH),
    kept here and mirrored into the Lua table the encoder reads."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.values = {"sparse_convert": 0, "sparse_ratio": 2, "sparse_safe": 10,
                       "encode_max_depth": 1000, "decode_max_depth": 1000,
                       "precision": 14, "keep_buffer": 1, "invalid_numbers": 0,
                       "decode_invalid_numbers": 1}
        for name in self.values:
            self.set(name, self.values[name])

    def set(self, name: str, value: int) -> None:
        self.values[name] = value
        if name == "sparse_convert":
            self.table[b"sparse_convert"] = bool(value)
        elif name == "precision":
            self.table[b"number_format"] = b"%%.%dg" % value
        else:
            self.table[name.encode()] = value


def _config_functions(calls: Any, config: _CJSONConfig) -> Dict[bytes, Any]:
    """cjson.encode_sparse_array & co., with lua-cjson's argument handling
    (json_arg_init, json_integer_option, json_enum_option)."""

    def arg_init(args: Tuple[Any, ...], count: int) -> Tuple[Any, ...]:
        if len(args) > count:
            raise calls.argerror(count + 1, b"found too many arguments")
        return args + (None,) * (count - len(args))

    def integer(args: Tuple[Any, ...], index: int, name: str, low: int, high: int) -> int:
        if args[index] is not None:
            value = to_int64(calls.check_number(args, index)) & 0xFFFFFFFF
            if value & 0x80000000:
                value -= 1 << 32                  # stored in a C int
            if not low <= value <= high:
                # lua-cjson names argument 1 whichever argument it checks
                raise calls.argerror(1, b"expected integer between %d and %d" % (low, high))
            config.set(name, value)
        return config.values[name]

    def enum(args: Tuple[Any, ...], index: int, name: str,
             options: Tuple[bytes, ...] = (b"off", b"on")) -> Any:
        value = args[index]
        if value is not None:
            if value is True or value is False:
                config.set(name, int(value))
            else:
                text = calls.check_string(args, index)
                if text not in options:
                    raise calls.argerror(index + 1, b"invalid option '%s'"
                                         % text.split(b"\0", 1)[0])
                config.set(name, options.index(text))
        setting = config.values[name]
        return bool(setting) if setting in (0, 1) else options[setting]

    def sparse(*args: Any) -> Tuple[Any, ...]:
        args = arg_init(args, 3)
        return (enum(args, 0, "sparse_convert"),
                integer(args, 1, "sparse_ratio", 0, _INT_MAX),
                integer(args, 2, "sparse_safe", 0, _INT_MAX))

    def one(kind: str, name: str, *extra: Any) -> Any:
        def run(*args: Any) -> Any:
            args = arg_init(args, 1)
            if kind == "int":
                return integer(args, 0, name, *extra)
            return enum(args, 0, name, *extra)
        return run

    return {
        b"encode_sparse_array": sparse,
        b"encode_max_depth": one("int", "encode_max_depth", 1, _INT_MAX),
        b"decode_max_depth": one("int", "decode_max_depth", 1, _INT_MAX),
        b"encode_number_precision": one("int", "precision", 1, 14),
        b"encode_keep_buffer": one("enum", "keep_buffer"),
        b"encode_invalid_numbers": one("enum", "invalid_numbers", (b"off", b"on", b"null")),
        b"decode_invalid_numbers": one("enum", "decode_invalid_numbers"),
    }


def install(engine: Any) -> None:
    """Define ``bit``, ``cjson``, ``cmsgpack`` and ``struct`` in the engine's runtime
    (before the sandbox)."""
    runtime = engine.runtime
    lib: List[Any] = []                 # the Lua encoder, then cjson.null
    calls = engine.calls
    config = _CJSONConfig(runtime.table())

    def bit_function(name: bytes, function: Any) -> Any:
        count = _BIT_ARITY[name]

        def run(*args: Any) -> Any:
            wanted = max(len(args), 1) if count < 0 else count
            if name == b"tohex" and len(args) > 1:
                wanted = 2   # the optional digit count
            if count < 0:   # (BIT_OP checks its first argument, then from the last)
                for i in [0] + list(range(wanted - 1, 0, -1)):
                    calls.check_number(args, i)
            numbers = [calls.check_number(args, i) for i in range(wanted)]
            return function(*numbers)
        return run

    def encode(*args: Any) -> bytes:
        if len(args) != 1:
            raise calls.argerror(1, b"expected 1 argument")
        result = lib[0](args[0])
        if not result[0]:
            raise calls.error(result[1])
        return result[1]

    def decode(*args: Any) -> Any:
        if len(args) != 1:
            raise calls.argerror(1, b"expected 1 argument")
        text = calls.check_string(args, 0)
        if len(text) >= 2 and (text[0] == 0 or text[1] == 0):
            raise calls.error(b"JSON parser does not support UTF-16 or UTF-32")
        decoder = _Decoder(calls.new_table, lib[1], text,
                           bool(config.values["decode_invalid_numbers"]))
        try:
            return decoder.document(config.values["decode_max_depth"])
        except _JSONError as exc:
            raise calls.error(str(exc).encode()) from None

    cmsgpack, struct = luapack.tables(runtime, calls)
    py = runtime.table_from({
        b"cmsgpack": cmsgpack,
        b"struct": struct,
        b"bit": runtime.table_from({name: sealed(bit_function(name, function))
                                    for name, function in _BIT_FUNCTIONS.items()}),
        b"encode": sealed(encode),
        b"decode": sealed(decode),
        b"cfg": config.table,
        b"config": runtime.table_from({name: sealed(function) for name, function
                                       in _config_functions(calls, config).items()}),
    })
    chunk = runtime.globals()[b"loadstring"](_LIBS.encode(), b"=[redis]")
    if isinstance(chunk, tuple):  # pragma: no cover - a bug in the library source
        raise RuntimeError("Lua libraries do not compile: %r" % (chunk,))
    lib.extend(chunk(py))


__all__: List[str] = ["install"]
