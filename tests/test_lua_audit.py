"""The Lua libraries scripts see, called with random arguments, against redis-server.

miniredis runs scripts in a real Lua 5.1 (lupa), but much of what Redis adds to it is
written again here: cjson, cmsgpack, struct, bit, the redis.* API, math.random, and
Redis's own pcall. Each case calls one of those functions (or one of Lua's own, for
company) through pcall with up to three arguments drawn from numbers (zeros, NaN,
infinities, huge ones), strings (numeric ones, JSON, msgpack bytes, struct formats,
NULs), tables and functions, and returns everything pcall returned, written out the
same way on both servers (tables with sorted keys). Both must write the same text.

Masked, as lupa's build and not Redis's rules decide them: a table's or function's
address, the sign of NaN (lupa's libm), and trailing nils (a function written in
Python returns one nil where Redis's C function returns nothing). Left out: -0 (lupa
hands it over as 0) and error() with a level (pcall is a Lua function here, one frame
more).

A second test returns random values from scripts -- nested tables holding err, ok,
double, map, set, big_number and verbatim_string fields, numbers, booleans, holes,
NULs and newlines -- under redis.setresp 2 or 3, read in RESP2 and RESP3: the replies
and the error statistics they leave must be the same.

The servers are this module's own pair: cases change the cjson settings and the random
seed of their Lua state. Cases are drawn from a seed (MINIREDIS_AUDIT_SEED, else
random, printed on failure); MINIREDIS_HYPOTHESIS_EXAMPLES scales their number
(default 400, in batches of scripts).
"""
from __future__ import annotations

import os
import random
import re
from typing import Dict, Iterator, List

import pytest

from tests.audit import own_pair
from tests.harness import RawConnection, parse_raw

# Redis's additions first (they count three times), then Lua's own.
ADDED = """cjson.encode cjson.decode cjson.encode_keep_buffer cjson.encode_max_depth
cjson.decode_max_depth cjson.encode_invalid_numbers cjson.decode_invalid_numbers
cjson.encode_number_precision cjson.encode_sparse_array cmsgpack.pack cmsgpack.unpack
cmsgpack.unpack_one cmsgpack.unpack_limit bit.tobit bit.tohex bit.bnot bit.band bit.bor
bit.bxor bit.lshift bit.rshift bit.arshift bit.rol bit.ror bit.bswap struct.pack
struct.unpack struct.size redis.sha1hex redis.error_reply redis.status_reply
redis.setresp redis.set_repl redis.log redis.breakpoint redis.debug redis.acl_check_cmd
redis.replicate_commands math.random math.randomseed pcall""".split()
OWN = """string.format string.rep string.sub string.byte string.char string.find
string.match string.gsub string.len string.lower string.upper string.reverse
table.concat table.insert table.remove table.sort table.getn unpack select tonumber
tostring type rawget rawset rawequal next ipairs math.floor math.fmod math.max math.min
math.abs math.sqrt math.pow math.log math.frexp math.ldexp math.modf setmetatable
getmetatable assert loadstring string.gmatch coroutine.create coroutine.wrap xpcall
error""".split()
FUNCTIONS = ADDED * 3 + OWN
ARGUMENTS = [
    "nil", "true", "false", "0", "1", "-1", "1.5", "2^53", "-2^63", "1/0", "-1/0", "0/0",
    "3", "32", "100", "1e308", "0.1", "2^31", "2^32 + 5",
    '""', '"a"', '"abc"', '"1"', '"0x10"', '" 12 "', '"%d"', '"%s%s"', '"\\0"', '"a\\0b"',
    '"{\\"a\\":1}"', '"[1,2"', '"[1,2,3]"', '"null"', '"1e999"', '"\\"x\\""', '"[0x10, nan]"',
    '"-inf"', '"\\145\\1\\2"', '"\\130\\161a\\1"', '"\\222\\0\\1"', '"\\193"', '"\\204\\200"',
    '"\\147\\1\\2\\3"', '"\\255"', '"\\217\\3abc"',
    "{}", "{1,2,3}", "{a=1}", "{1,nil,3}", "{{}}", "{[1]=1,[3]=3}", "{a=1,b=2,c=3,d={1}}",
    "{[1]=1,[2]=2,[10]=10}", "{1.5,'x',true}", "{err='e'}", "{ok='o'}", "{err={}}",
    '"i4"', '"<i2"', '">d"', '"bBhHlL"', '"s"', '"c0"', '"c2"', '"f"', '"x"', '"i"', '"!4i"',
    '"I17"', '"i3"', '">!2hxi"', "cjson.null", '"get"', '"set"', '"k"', '"%5.2f"', '"%q"',
    '"%c"', '"%x"', '"(a)"', '"[a-"', '"%"', "function() return 1 end",
    "function() error('e') end", "function() error({err='t'}) end"]
PRELUDE = r"""
local function ser(v, d)
  d = d or 0
  if d > 5 then return '...' end
  local t = type(v)
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(x, y) return type(x) .. tostring(x) < type(y) .. tostring(y) end)
    local out = {}
    for _, k in ipairs(keys) do out[#out + 1] = ser(k, d + 1) .. '=' .. ser(v[k], d + 1) end
    return '{' .. table.concat(out, ',') .. '}'
  elseif t == 'string' then return string.format('%q', v)
  elseif t == 'number' then return string.format('%.17g', v)
  elseif t == 'function' or t == 'userdata' or t == 'thread' then return t
  else return tostring(v) end
end
local function pack(...) return {n = select('#', ...), ...} end
local results = {}
"""
CASE = """
do
  local r = pack(pcall(%s))
  local s = {}
  for i = 1, r.n do s[i] = ser(r[i]) end
  results[#results + 1] = table.concat(s, ' | ')
end
"""
BATCH = 25      # cases per script (a failure names its case)


def random_calls(rng: random.Random, count: int) -> List[str]:
    calls = []
    for _ in range(count):
        function = rng.choice(FUNCTIONS)
        most = 1 if function == "error" else 3     # (no level: see the module doc)
        args = [rng.choice(ARGUMENTS) for _ in range(rng.randrange(most + 1))]
        if function == "table.insert" and len(args) == 3 and args[1] == "2^31":
            # (position INT_MIN: both servers' tinsert moves 2^31 elements in a C loop
            # no hook interrupts, for minutes)
            args[1] = "3"
        calls.append(", ".join([function] + args))
    return calls


def _masked(text: bytes) -> bytes:
    text = re.sub(rb"0x[0-9a-f]+", b"ADDR", text).replace(b"-nan", b"nan")
    while text.endswith(b" | nil"):
        text = text[:-len(b" | nil")]
    return text


def _results(port: int, calls: List[str]) -> List[bytes]:
    conn = RawConnection(port)
    out: List[bytes] = []
    try:
        for start in range(0, len(calls), BATCH):
            body = PRELUDE + "".join(CASE % call for call in calls[start:start + BATCH]) + \
                "return results"
            reply = conn.call("EVAL", body, "0")
            assert reply.startswith(b"*"), (reply[:300], calls[start:start + BATCH])
            out += [_masked(item[1]) for item in parse_raw(reply)[1]]
    finally:
        conn.close()
    return out


@pytest.fixture(scope="module")
def pair() -> Iterator[Dict[str, int]]:
    with own_pair("lua-audit-") as ports:
        yield ports


def test_lua_libraries_with_random_arguments(pair):
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400"))
    calls = random_calls(random.Random(seed), count)
    want, got = _results(pair["redis"], calls), _results(pair["miniredis"], calls)
    assert len(want) == len(got) == len(calls)
    for call, expected, actual in zip(calls, want, got):
        assert actual == expected, (
            "MINIREDIS_AUDIT_SEED=%d: pcall(%s)\n  redis:     %r\n  miniredis: %r"
            % (seed, call, expected[:1000], actual[:1000]))


# -- what a script returns ---------------------------------------------------------------
LEAVES = ["nil", "true", "false", "0", "1", "-1", "1.5", "-2.5", "2^53", "2^63", "-2^63",
          "1e20", "1/0", "-1/0", "0/0", "'a'", "''", "'x\\0y'", "'a\\r\\nb'", "{}",
          "cjson.null", "'\\255'"]


def _return_value(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.45:
        return rng.choice(LEAVES)
    kind = rng.choice(["array", "array", "err", "ok", "double", "map", "set", "big",
                       "verbatim", "several", "nested"])
    if kind == "array":
        return "{%s}" % ", ".join(_return_value(rng, depth + 1)
                                  for _ in range(rng.randrange(4)))
    if kind == "err":
        return "{err=%s}" % rng.choice(["'e'", "'-X y'", "'ERR z'", "''", "1", "{}",
                                        "'a\\nb'", "'\\nX y\\r\\n'", "'x\\0y'"])
    if kind == "ok":
        return "{ok=%s}" % rng.choice(["'o'", "''", "1", "{}", "'a\\r\\nb'", "'o\\0k'"])
    if kind == "double":
        return "{double=%s}" % rng.choice(["1.5", "0", "1/0", "-1/0", "0/0", "'x'", "'2.5'",
                                           "{}", "1e300", "3"])
    if kind == "map":
        return "{map={%s}}" % ", ".join(
            "[%s]=%s" % (rng.choice(["'a'", "'b'", "1", "2", "true", "1.5"]),
                         _return_value(rng, depth + 1)) for _ in range(rng.randrange(3)))
    if kind == "set":
        return "{set={%s}}" % ", ".join(
            "[%s]=%s" % (rng.choice(["'a'", "'b'", "1", "2.5"]),
                         rng.choice(["true", "false", "1", "'x'"]))
            for _ in range(rng.randrange(3)))
    if kind == "big":
        return "{big_number=%s}" % rng.choice(["'123'", "'1\\r\\n2'", "1", "{}", "''"])
    if kind == "verbatim":
        return "{verbatim_string={format=%s, string=%s}}" % (
            rng.choice(["'txt'", "'mkd'", "'x'", "1", "nil", "'toolong'", "''"]),
            rng.choice(["'s'", "''", "1", "nil", "'\\255'"]))
    if kind == "several":
        return "{err='e', ok='o', double=1}"
    return "{%s, {err='inner'}}" % _return_value(rng, depth + 1)


def _replies(port: int, bodies: List[str]) -> List[bytes]:
    out = []
    for protocol in ("2", "3"):
        conn = RawConnection(port)
        try:
            conn.call("HELLO", protocol)
            conn.call("CONFIG", "RESETSTAT")
            out += [conn.call("EVAL", body, "0") for body in bodies]
            out.append(conn.call("INFO", "errorstats"))
        finally:
            conn.close()
    return out


def test_script_return_values_as_replies(pair):
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400"))
    rng = random.Random(seed)
    bodies = [rng.choice(["", "redis.setresp(3) ", "redis.setresp(2) "]) + "return " +
              _return_value(rng) for _ in range(count)]
    want, got = _replies(pair["redis"], bodies), _replies(pair["miniredis"], bodies)
    shown = bodies + ["INFO errorstats"]
    for i, (expected, actual) in enumerate(zip(want, got)):
        assert actual == expected, (
            "MINIREDIS_AUDIT_SEED=%d: RESP%d, EVAL %r\n  redis:     %r\n  miniredis: %r"
            % (seed, 2 + i // len(shown), shown[i % len(shown)], expected[:1000],
               actual[:1000]))
