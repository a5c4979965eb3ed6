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

import math
from typing import Any, List, Tuple

from . import luapack

_U32 = 0xFFFFFFFF


def _bits(value: Any) -> int:
    """LuaBitOp's argument normalisation: round to nearest (even), keep 32 bits."""
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return 0
    return int(round(number)) & _U32


def _signed(value: int) -> int:
    value &= _U32
    return value - (1 << 32) if value & 0x80000000 else value


def _tohex(value: Any, digits: Any = 8) -> bytes:
    n = _bits(value)
    count = int(digits) if digits is not None else 8
    upper = count < 0
    count = min(abs(count), 8)
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

-- cjson.encode, as lua-cjson 2.1 writes JSON (14 significant digits, sparse arrays
-- refused beyond ratio 2 / safe 10, depth 1000).
local cjson = {_NAME='cjson', _VERSION='2.1.0'}
cjson.null = py.null
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
    error('Cannot serialise number: must not be NaN or Inf', 0)
  end
  return format('%.14g', n)
end

local encode_value

local function array_length(t)
  local max, items = 0, 0
  for k in next, t do
    if type(k) == 'number' and k > 0 and floor(k) == k then
      if k > max then max = k end
      items = items + 1
    else
      return -1
    end
  end
  if max > 10 and max > items * 2 then
    error('Cannot serialise table: excessively sparse array', 0)
  end
  return max
end

encode_value = function(v, depth, out)
  local t = type(v)
  if t == 'string' then
    out[#out + 1] = encode_string(v)
  elseif t == 'number' then
    out[#out + 1] = encode_number(v)
  elseif t == 'boolean' then
    out[#out + 1] = v and 'true' or 'false'
  elseif t == 'nil' or v == cjson.null then
    out[#out + 1] = 'null'
  elseif t == 'table' then
    depth = depth + 1
    if depth > 1000 then
      error(format('Cannot serialise, excessive nesting (%d)', depth), 0)
    end
    local len = array_length(v)
    if len > 0 then
      out[#out + 1] = '['
      for i = 1, len do
        if i > 1 then out[#out + 1] = ',' end
        encode_value(v[i], depth, out)
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
        encode_value(item, depth, out)
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
  local ok, err = rawpcall(encode_value, v, 0, out)
  if not ok then return false, err end
  return true, concat(out)
end

-- Configuration functions: accepted, with lua-cjson's defaults reported.
function cjson.encode_sparse_array() return false, 2, 10 end
function cjson.encode_max_depth() return 1000 end
function cjson.decode_max_depth() return 1000 end
function cjson.encode_number_precision() return 14 end
function cjson.encode_keep_buffer() return true end
function cjson.encode_invalid_numbers() return false end
function cjson.decode_invalid_numbers() return true end
function cjson.new() return cjson end
_G.cjson = cjson
return encode
"""


class _Null:
    """cjson.null: a userdata distinct from every other value."""

    def __repr__(self) -> str:
        return "cjson.null"


class _JSONError(Exception):
    pass


_TOKEN_NAMES = {"{": "T_OBJ_BEGIN", "}": "T_OBJ_END", "[": "T_ARR_BEGIN", "]": "T_ARR_END",
                ":": "T_COLON", ",": "T_COMMA"}
_WS = b" \t\r\n"


class _Decoder:
    """lua-cjson's decoder: tokens, Lua tables, its exact error texts."""

    def __init__(self, runtime: Any, null: Any, data: bytes) -> None:
        self.rt = runtime
        self.null = null
        self.data = data
        self.pos = 0

    def token(self) -> Tuple[str, Any, int]:
        data, pos = self.data, self.pos
        while pos < len(data) and data[pos] in _WS:
            pos += 1
        start = pos
        if pos >= len(data):
            self.pos = pos
            return "T_END", None, start
        c = chr(data[pos])
        if c in _TOKEN_NAMES:
            self.pos = pos + 1
            return _TOKEN_NAMES[c], None, start
        if c == '"':
            return self._string(start)
        if c == "-" or c.isdigit():
            return self._number(start)
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):
            if data.startswith(word, pos):
                self.pos = pos + len(word)
                return kind, value, start
        self.pos = pos
        return "T_ERROR", "invalid token", start

    def _number(self, start: int) -> Tuple[str, Any, int]:
        data = self.data
        end = start
        while end < len(data) and chr(data[end]) in "0123456789+-.eExX":
            end += 1
        text = data[start:end].decode()
        try:
            value = float(text)
        except ValueError:
            self.pos = start
            return "T_ERROR", "invalid number", start
        self.pos = end
        return "T_NUMBER", value, start

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

    def value(self, token: Tuple[str, Any, int], depth: int) -> Any:
        kind, value, _ = token
        if kind in ("T_STRING", "T_NUMBER", "T_BOOLEAN"):
            return value
        if kind == "T_NULL":
            return self.null
        if kind == "T_OBJ_BEGIN":
            return self._object(depth + 1, token)
        if kind == "T_ARR_BEGIN":
            return self._array(depth + 1, token)
        self.fail("value", token)

    def _depth(self, depth: int, token: Tuple[str, Any, int]) -> None:
        if depth > 1000:
            raise _JSONError("Found too many nested data structures (%d) at character %d"
                             % (depth, token[2] + 1))

    def _object(self, depth: int, opening: Tuple[str, Any, int]) -> Any:
        self._depth(depth, opening)
        table = self.rt.table()
        token = self.token()
        if token[0] == "T_OBJ_END":
            return table
        while True:
            if token[0] != "T_STRING":
                self.fail("object key string", token)
            key = token[1]
            token = self.token()
            if token[0] != "T_COLON":
                self.fail("colon", token)
            table[key] = self.value(self.token(), depth)
            token = self.token()
            if token[0] == "T_OBJ_END":
                return table
            if token[0] != "T_COMMA":
                self.fail("comma or object end", token)
            token = self.token()

    def _array(self, depth: int, opening: Tuple[str, Any, int]) -> Any:
        self._depth(depth, opening)
        table = self.rt.table()
        token = self.token()
        if token[0] == "T_ARR_END":
            return table
        i = 1
        while True:
            table[i] = self.value(token, depth)
            i += 1
            token = self.token()
            if token[0] == "T_ARR_END":
                return table
            if token[0] != "T_COMMA":
                self.fail("comma or array end", token)
            token = self.token()


def install(engine: Any) -> None:
    """Define ``bit``, ``cjson``, ``cmsgpack`` and ``struct`` in the engine's runtime
    (before the sandbox)."""
    runtime = engine.runtime
    null = _Null()
    encoder: List[Any] = []

    def bit_function(name: bytes, function: Any) -> Any:
        count = _BIT_ARITY[name]
        label = name.decode()

        def run(*args: Any) -> Any:
            wanted = max(len(args), 1) if count < 0 else count
            if name == b"tohex" and len(args) > 1:
                wanted = 2   # the optional digit count
            numbers = [engine.check_int_or_number(args, i, label) for i in range(wanted)]
            return function(*numbers)
        return run

    def encode(*args: Any) -> bytes:
        if len(args) != 1:
            engine.raise_here("bad argument #1 to 'encode' (expected 1 argument)")
        result = encoder[0](args[0])
        if not result[0]:
            engine.raise_here(result[1].decode("utf-8", "surrogateescape"))
        return result[1]

    def decode(*args: Any) -> Any:
        if len(args) != 1:
            engine.raise_here("bad argument #1 to 'decode' (expected 1 argument)")
        text = args[0]
        if text.__class__ in (int, float):
            text = b"%.14g" % text
        elif text.__class__ is not bytes:
            engine.raise_here("bad argument #1 to 'decode' (string expected, got %s)"
                              % engine.lua_type(text))
        decoder = _Decoder(runtime, null, text)
        try:
            value = decoder.value(decoder.token(), 0)
            token = decoder.token()
            if token[0] != "T_END":
                decoder.fail("the end", token)
        except _JSONError as exc:
            engine.raise_here(str(exc))
        return value

    cmsgpack, struct = luapack.tables(runtime)
    py = runtime.table_from({
        b"cmsgpack": cmsgpack,
        b"struct": struct,
        b"bit": runtime.table_from({name: bit_function(name, function)
                                    for name, function in _BIT_FUNCTIONS.items()}),
        b"null": null,
        b"encode": encode,
        b"decode": decode,
    })
    chunk = runtime.globals()[b"loadstring"](_LIBS.encode(), b"=[redis]")
    if isinstance(chunk, tuple):  # pragma: no cover - a bug in the library source
        raise RuntimeError("Lua libraries do not compile: %r" % (chunk,))
    encoder.append(chunk(py))


__all__: List[str] = ["install"]
