"""Scripts' cmsgpack and struct libraries, compared byte for byte with redis-server.

Every case runs on both servers under RESP2 and RESP3 (``differ.check``); binary
inputs go in as ARGV. Hypothesis then writes random nested Lua values as Lua source
(numbers of every size, NaN and infinities, binary strings, booleans, nil, arrays,
maps, holes) and random struct formats, and both servers must pack them alike.
"""
from __future__ import annotations

import os
import random
import struct as pystruct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "150"))


def evals(*sources):
    """EVAL commands for Lua sources without keys."""
    return [["EVAL", source, "0"] for source in sources]


def binary(source, *argv):
    return ["EVAL", source, "0", *argv]


# -- cmsgpack.pack -------------------------------------------------------------------

def test_pack_type_of_every_lua_value(differ):
    differ.check(*evals(
        "return cmsgpack.pack(1, -1, 127, 128, -33, 65536, 2^40, 1.5, 0.1, 'abc', {1,2,3},"
        " {a=1}, true, false)",
        "return cmsgpack.pack(nil)", "return cmsgpack.pack(nil, nil, 1)",
        "return cmsgpack.pack(function() end, coroutine.create(function() end))",
        "return cmsgpack.pack(cjson.null)", "return cmsgpack.pack(cmsgpack.pack)",
        "return cmsgpack.pack({})", "return cmsgpack.pack('')",
        "return cmsgpack.pack(true, false, {true, false})"))


def test_pack_strings_by_length(differ):
    # fixstr below 32, then str8 (lua-cmsgpack 0.4 has it), str16, str32
    differ.check(*evals(*(
        "local s = cmsgpack.pack(string.rep('x', %d)) return {#s, s:sub(1, 6)}" % n
        for n in (0, 1, 31, 32, 33, 255, 256, 65535, 65536, 70000))),
        *evals("return cmsgpack.pack('\\0\\1\\255')"))


def test_pack_integers_take_the_smallest_type(differ):
    differ.check(*evals(
        "return cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536, 2^32-1, 2^32, 2^53+1,"
        " 2^63-1024)",
        "return cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31-1,"
        " -2^63, -2^63-1025)",
        "return cmsgpack.pack(-0.0, 1e15, -1e15, 123456789012)"))


def test_pack_floats_are_float32_when_exact(differ):
    differ.check(*evals(
        "return cmsgpack.pack(0.5, 1.5, -2.25, 0.1, 1/3, 1e300, -1e-300)",
        "return cmsgpack.pack(2^63, -2^63-4096, 2^64, 1e20)",
        "return cmsgpack.pack(1/0, -1/0, 0/0, -(0/0))",
        "return cmsgpack.pack(3.4028234663852886e38, 3.4028235677973366e38,"
        " 1.401298464324817e-45, 2^-149, 2^-150, 1e-45)"))


def test_pack_tables_arrays_and_maps(differ):
    differ.check(*evals(
        "return cmsgpack.pack({1, 2, 3}, {a=1}, {1, 2, x=1})",
        "return cmsgpack.pack({1, 2, nil, 4})", "return cmsgpack.pack({[1]=1, [3]=3})",
        "return cmsgpack.pack({[0]=1, 2}, {[-1]=1}, {[1.5]=1}, {['1']=1})",
        "return cmsgpack.pack({[2^31]=1}, {[2^31-1]=1}, {[2^40]=1})",
        "return cmsgpack.pack({[true]=false, [false]=true})",
        "return cmsgpack.pack({a={b={c={1, 2}}}, [1]='x', [2.5]=true})",
        "local t = {} for i = 1, 15 do t[i] = i end return cmsgpack.pack(t)",
        "local t = {} for i = 1, 16 do t[i] = i end return cmsgpack.pack(t)",
        "local t = {} for i = 1, 70000 do t[i] = i % 3 end local s = cmsgpack.pack(t) "
        "return {#s, s:sub(1, 8)}",
        "local t = {} for i = 1, 15 do t['k' .. i] = i end return cmsgpack.pack(t)",
        "local t = {} for i = 1, 16 do t['k' .. i] = i end return cmsgpack.pack(t)",
        "local t = {} for i = 1, 70000 do t['k' .. i] = 1 end local s = cmsgpack.pack(t) "
        "return {#s, s:sub(1, 8)}",
        "local t = {1, 2, 3} t[2] = nil return cmsgpack.pack(t)",
        "local t = {1, 2, 3} t[3] = nil return cmsgpack.pack(t)"))


def test_pack_nesting_stops_at_16_levels(differ):
    differ.check(*evals(
        "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end "
        "return cmsgpack.pack(t)",
        "local t = {} local c = t for i = 1, 20 do c.a = {} c = c.a end "
        "return cmsgpack.pack(t)",
        "local t = {} local c = t for i = 1, 14 do c[1] = {} c = c[1] end "
        "return cmsgpack.pack(t)",
        "local t = {} local c = t for i = 1, 15 do c[1] = {} c = c[1] end "
        "return cmsgpack.pack(t)",
        "local t = {} t[1] = t return cmsgpack.pack(t)",
        "local t = {} t.self = t return cmsgpack.pack(t)",
        "local k = {} local c = k for i = 1, 20 do c[1] = {} c = c[1] end "
        "return cmsgpack.pack({[k]=1})"))


def test_pack_errors(differ):
    differ.check(*evals(
        "return cmsgpack.pack()", "return (cmsgpack.pack())",
        "local p = cmsgpack.pack return p()", "return cmsgpack.pack(print)",
        "return select(2, pcall(cmsgpack.pack))",
        *("local t = {} for i = 1, %d do t[i] = i end return #cmsgpack.pack(unpack(t))" % n
          for n in (4000, 4001, 7990))))


# -- cmsgpack.unpack, unpack_one, unpack_limit ----------------------------------------

ROUND_TRIP = "return {cmsgpack.unpack(ARGV[1])}"
REPACK = ("local r = {pcall(cmsgpack.unpack, ARGV[1])} "
          "if r[1] then return cmsgpack.pack(unpack(r, 2)) end return r[2]")


def test_unpack_round_trips(differ):
    differ.check(*evals(
        "return {cmsgpack.unpack(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack(cmsgpack.pack('a', {1, {2}}, true))}",
        "return cmsgpack.pack(cmsgpack.unpack(cmsgpack.pack({a=1, b={1, 2}, c='x'})))",
        "return {cmsgpack.unpack('')}", "return {cmsgpack.unpack(5)}",
        "return {cmsgpack.unpack(12.5)}", "return {cmsgpack.unpack('\\194\\195\\192')}",
        "return cmsgpack.unpack('\\129\\1\\192')", "return {cmsgpack.unpack('\\147\\1\\192\\3')}",
        "return {cmsgpack.unpack('\\217\\3abc\\218\\0\\1z\\219\\0\\0\\0\\1y')}",
        "return {tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))}",
        "return {tostring(cmsgpack.unpack('\\207\\128\\0\\0\\0\\0\\0\\0\\0'))}",
        "return {tostring(cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\1'))}",
        "return {cmsgpack.unpack('\\204\\255\\205\\255\\255\\206\\255\\255\\255\\255')}",
        "return {cmsgpack.unpack('\\208\\255\\208\\128\\209\\128\\0"
        "\\210\\128\\0\\0\\0\\224\\255')}",
        "return {tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0')), "
        "tostring(cmsgpack.unpack('\\203\\63\\185\\153\\153\\153\\153\\153\\154'))}",
        "return {tostring(cmsgpack.unpack('\\202\\127\\128\\0\\0')), "
        "tostring(cmsgpack.unpack('\\202\\255\\192\\0\\0'))}",
        "return cmsgpack.unpack('\\220\\0\\2\\1\\2')",
        "return cmsgpack.unpack('\\221\\0\\0\\0\\2\\1\\2')",
        "return cmsgpack.unpack('\\222\\0\\1\\1\\2')",
        "return cmsgpack.unpack('\\223\\0\\0\\0\\1\\1\\2')",
        "return #cmsgpack.unpack('\\220\\255\\255' .. string.rep('\\1', 65535))"))
    values = [b"\x01\x7f\xcc\x80\xcd\x01\x00\xce\x00\x01\x00\x00\xcf\x00\x00\x01\x00\x00"
              b"\x00\x00\x00\xff\xe0\xd0\xdf\xd1\xff\x7f\xd2\x80\x00\x00\x00\xd3\x80\x00"
              b"\x00\x00\x00\x00\x00\x00",
              b"\xca\x3f\xc0\x00\x00\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a\xc0\xc2\xc3",
              b"\xa3abc\xd9\x01z\xda\x00\x02yz\xdb\x00\x00\x00\x00",
              b"\x93\x01\xa1a\x92\xc3\xc2\x82\xa1k\x01\x01\xa1v",
              b"\x81\x91\x01\x02", b"\x81\x81\x01\x02\x03"]
    differ.check(*[binary(source, value) for value in values
                   for source in (ROUND_TRIP, REPACK)])


def test_unpack_holes_lengths_and_order(differ):
    """Decoding assigns nils too, so tables get Redis's layout: same # and pairs."""
    source = ("local t = cmsgpack.unpack(ARGV[1]) local k = {} "
              "for key in pairs(t) do k[#k+1] = tostring(key) end return {#t, k}")
    values = [b"\x93\x01\xc0\x03", b"\x95\xc0\xc0\xc0\xc0\x01", b"\x94\x01\x02\xc0\xc0",
              b"\x9f" + b"\xc0\x01" * 7 + b"\x01", b"\x84\x01\x01\x02\xc0\x03\x03\xa1a\x01",
              b"\x85\x01\xc0\x02\xc0\x03\xc0\x04\xc0\x05\x05", b"\x83\xa1a\x01\xa1b\x02\xa1c\x03",
              b"\x88" + b"".join(bytes([0xA1, 97 + i, i]) for i in range(8)),
              b"\x92\xc0\x01", b"\x93\xc0\xc0\x01"]
    differ.check(*[binary(source, value) for value in values])


def test_unpack_every_type_byte(differ):
    commands = []
    for code in range(256):
        commands.append(binary("return {pcall(cmsgpack.unpack, ARGV[1])}", bytes([code])))
        commands.append(binary(REPACK, bytes([code]) + bytes(range(1, 10))))
    differ.check(*commands)


def test_unpack_errors(differ):
    differ.check(*evals(
        "return {cmsgpack.unpack()}", "return {cmsgpack.unpack({})}",
        "return {cmsgpack.unpack(redis.call)}", "return {cmsgpack.unpack(cjson.null)}",
        "return {cmsgpack.unpack(function() end)}", "return struct.pack('b', struct.pack)",
        "return struct.pack('c', coroutine.create(function() end))",
        "local co = coroutine.create(function() coroutine.yield() end) coroutine.resume(co) "
        "return struct.pack('c', co)",
        "return {cmsgpack.unpack(nil)}", "return cmsgpack:unpack_one()",
        "local t = {f = cmsgpack.unpack} return t.f()",
        "return {cmsgpack.unpack('\\205\\1')}", "return {cmsgpack.unpack('\\193')}",
        "return {cmsgpack.unpack('\\199\\1\\1a')}", "return {cmsgpack.unpack('\\212\\1\\1')}",
        "return {cmsgpack.unpack('\\196\\0')}", "return {cmsgpack.unpack('\\146\\1')}",
        "return {cmsgpack.unpack('\\129\\192\\1')}",
        "return {cmsgpack.unpack('\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1')}",
        "return cmsgpack.unpack('\\223\\255\\255\\255\\255\\1\\2')",
        "return cmsgpack.unpack('\\221\\255\\255\\255\\255\\1\\2')",
        "return cmsgpack.unpack('\\219\\255\\255\\255\\255\\1\\2')",
        "return cmsgpack.unpack('\\219\\0\\0\\0')", "return cmsgpack.unpack('\\218')",
        "return {pcall(cmsgpack.unpack, '\\193')}"))
    differ.check(*[binary(ROUND_TRIP, value) for value in (
        b"\x01\xc1", b"\x92\xc1\xc1", b"\x81\xc0", b"\x81\xc0\xc1", b"\x82\x01\x01\xc0",
        b"\x81\xcb\xff\xf8\x00\x00\x00\x00\x00\x00", b"\x81\xc0\x91\x91")])


def test_unpack_one_and_limit_offsets(differ):
    differ.check(*evals(
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1.7)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), '1')}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 'a')}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), nil)}",
        "return {cmsgpack.unpack_one('')}", "return {cmsgpack.unpack_one()}",
        "return {cmsgpack.unpack_one('\\1\\2\\3', 2^32+1)}",
        "return {cmsgpack.unpack_one('\\1\\2\\3', 2^31)}",
        "return {cmsgpack.unpack_one('\\1\\2\\3', 0/0)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack('abc', {1, 2}, 'z'), 4)}",
        "return {cmsgpack.unpack_one('\\146\\1', 0)}",
        "local s, t, o = cmsgpack.pack({1}, 'x', 3), {}, 0 "
        "while o >= 0 do local v o, v = cmsgpack.unpack_one(s, o) t[#t+1] = o end return t",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1, 3)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), nil)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 'x')}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), '2', '1')}",
        "return {cmsgpack.unpack_limit('\\1\\2\\3', 2^32+1)}",
        "return {cmsgpack.unpack_limit('\\1\\2\\3', 1, 2^31)}"))


def test_unpack_lua_stack_limits(differ):
    """Redis's decoder checks the Lua stack (8000 slots): the same errors, same sizes."""
    count = "return select('#', cmsgpack.unpack(ARGV[1]))"
    kind = "return type(cmsgpack.unpack(ARGV[1]))"
    commands = []
    for n in (7998, 7999, 8000):
        commands += [
            binary(count, b"\x01" * n),
            binary("return select('#', cmsgpack.unpack(ARGV[1], 1, 2))", b"\x01" * (n - 2)),
            binary("return select('#', cmsgpack.unpack_limit(ARGV[1], 100000))",
                   b"\x01" * (n - 1)),
            binary("return select('#', cmsgpack.unpack_limit(ARGV[1], 100000, 1, 5))",
                   b"\x01" * n)]
    for n in (3998, 3999, 4000):
        commands += [binary(kind, b"\x91" * n + b"\x01"), binary(kind, b"\x81\x01" * n + b"\x01"),
                     binary(kind, b"\x91" * n + b"\x90"), binary(kind, b"\x91" * n + b"\x80")]
    commands += [binary(kind, b"\x91" * 3998 + tail) for tail in
                 (b"\x81\x01\x01", b"\x81\x01\x91\x01", b"\x81\x91\x01\x01")]
    commands += [binary(kind, b"\x91" * 4100 + b"\xc1"),
                 binary(kind, b"\x92\xc1" + b"\x91" * 4100 + b"\x01"),
                 binary(ROUND_TRIP, b"\x81\xc0" + b"\x91" * 5000 + b"\x01"),
                 binary(ROUND_TRIP, b"\x81" + b"\x91" * 5000 + b"\x01\x01")]
    differ.check(*commands)


# -- struct --------------------------------------------------------------------------

def test_struct_pack(differ):
    differ.check(*evals(
        "return struct.pack('>i', 1)", "return struct.pack('<i', 1)",
        "return struct.pack('i', 1)",
        "return struct.pack('bBhHlLTiI', -1, 255, -2, 65535, -3, 4, 5, -6, 7)",
        "return struct.pack('>bBhHlLTiI', -1, 255, -2, 65535, -3, 4, 5, -6, 7)",
        "return struct.pack('>i3', -2)", "return struct.pack('>i16', -2)",
        "return struct.pack('<i16', -2)", "return struct.pack('>I16', 2^64-1)",
        "return struct.pack('>i32', 1)", "return struct.pack('>i0', 1)",
        "return struct.pack('>I8', 2^64)", "return struct.pack('>I8', 2^63)",
        "return struct.pack('>I8', 2^70)", "return struct.pack('>i8', -2^63)",
        "return struct.pack('>i8', -2^70)", "return struct.pack('>i8', 0/0)",
        "return struct.pack('>i8', -(0/0))", "return struct.pack('>i8', 1/0)",
        "return struct.pack('>i8', -1/0)", "return struct.pack('>b', 1.9)",
        "return struct.pack('>b', -1.9)", "return struct.pack('>b', 300)",
        "return struct.pack('>b', '12')", "return struct.pack('b', ' 0x10 ')",
        "return struct.pack('b', '12\\0ab')", "return struct.pack('b', 'inf')",
        "return struct.pack('d', '0x1.8p1')", "return struct.pack('>f', 1.5)",
        "return struct.pack('>f', 0.1)", "return struct.pack('>f', 1e300)",
        "return struct.pack('>f', -1e300)", "return struct.pack('>f', 0/0)",
        "return struct.pack('<d', 0.1)", "return struct.pack('>d', -(0/0))",
        "return struct.pack('c', 'abc')", "return struct.pack('c3', 'abc')",
        "return struct.pack('c0', 'abc')", "return struct.pack('s', 'abc')",
        "return struct.pack('s', 'a\\0bc')", "return struct.pack('c', 12)",
        "return struct.pack('c0', 0/0)", "return struct.pack('c0', 1e100)",
        "return struct.pack('c0', 2^63)", "return struct.pack('x')",
        "return struct.pack('xbx', 1)", "return struct.pack('!bi', 1, 2)",
        "return struct.pack('!4bd', 1, 2)", "return struct.pack('!2bd', 1, 2)",
        "return struct.pack('!bhbibd', 1, 2, 3, 4, 5, 6)", "return struct.pack('!16bi', 1, 2)",
        "return struct.pack('!bc3i', 1, 'abc', 2)", "return struct.pack('!bi7', 1, 2)",
        "return struct.pack('!bs', 1, 'x')", "return struct.pack('> <', 1)",
        "return struct.pack('>i\\0garbage', 1)", "return struct.pack('>i', 1, 2, 3)",
        "return struct.pack('')"))


def test_struct_unpack(differ):
    differ.check(*evals(
        "return {struct.unpack('>i', '\\0\\0\\0\\1')}",
        "return {struct.unpack('<i', '\\255\\255\\255\\255')}",
        "return {struct.unpack('<I', '\\255\\255\\255\\255')}",
        "return {struct.unpack('bBhH', '\\255\\255\\254\\255\\255\\255')}",
        "return {tostring(struct.unpack('<i8', '\\255\\255\\255\\255\\255\\255\\255\\127'))}",
        "return {tostring(struct.unpack('<I8', '\\255\\255\\255\\255\\255\\255\\255\\255'))}",
        "return {tostring(struct.unpack('<i16', '\\254' .. string.rep('\\255', 15)))}",
        "return {tostring(struct.unpack('<i16', '\\1' .. string.rep('\\0', 14) .. '\\128'))}",
        "return {tostring(struct.unpack('>i16', '\\1' .. string.rep('\\0', 14) .. '\\128'))}",
        "return {tostring(struct.unpack('>i12', '\\0\\0\\0\\0\\255\\255\\255\\255\\255\\255"
        "\\255\\254'))}",
        "return {tostring(struct.unpack('>i12', '\\255\\255\\255\\255\\0\\0\\0\\0\\0\\0\\0\\1'))}",
        "return {tostring(struct.unpack('>i9', '\\255\\128\\0\\0\\0\\0\\0\\0\\1'))}",
        "return {tostring(struct.unpack('>I9', '\\255\\128\\0\\0\\0\\0\\0\\0\\1'))}",
        "return {struct.unpack('>i0', 'abc')}", "return {struct.unpack('>i3', '\\255\\255\\254')}",
        "return {struct.unpack('>b', '\\1\\2\\3', 3)}",
        "return {struct.unpack('', '\\1\\2\\3', 4)}",
        "return {struct.unpack('', '\\1\\2\\3', 5)}",
        "return {struct.unpack('', '\\1\\2\\3', -5)}",
        "return {struct.unpack('', 'abc', 0/0)}", "return {struct.unpack('', 'abc', 2^70)}",
        "return {struct.unpack(' ', '\\1\\2\\3', 4)}",
        "return {struct.unpack('b', '\\1\\2\\3', 1.9)}",
        "return {struct.unpack('b', '\\1\\2\\3', '2')}",
        "return {struct.unpack('b', '\\1\\2\\3', nil)}", "return {struct.unpack('b', 5)}",
        "return {struct.unpack('>f', '?\\192\\0\\0')}",
        "return {tostring(struct.unpack('>f', '\\255\\192\\0\\0'))}",
        "return {tostring(struct.unpack('>f', '\\127\\128\\0\\0'))}",
        "return {tostring(struct.unpack('<d', '\\154\\153\\153\\153\\153\\153\\185?'))}",
        "return {struct.unpack('c', 'abc')}", "return {struct.unpack('c2', 'abc')}",
        "return {struct.unpack('bc0', '\\2abc')}", "return {struct.unpack('c1c0', '2abc')}",
        "return {struct.unpack('dc0', '\\0\\0\\0\\0\\0\\0\\0\\64abc')}",
        "return {struct.unpack('c3c0', ' 2 abc')}", "return {struct.unpack('c4c0', '0x2 abc')}",
        "return {struct.unpack('c3c0', '1e0abc')}", "return {struct.unpack('c3c0', 'infabc')}",
        "return {struct.unpack('s', 'ab\\0cd\\0')}", "return {struct.unpack('ss', 'ab\\0cd\\0')}",
        "return {struct.unpack('x', 'abc')}",
        "return {struct.unpack('!bi', '\\1\\0\\0\\0\\2\\0\\0\\0')}",
        "return {struct.unpack('>i\\0garbage', '\\0\\0\\0\\1')}",
        "return {struct.unpack('>hi', struct.pack('>hi', -5, 70000))}"))


def test_struct_size(differ):
    differ.check(*evals(
        "return struct.size('>i')", "return struct.size('bhilTfdcxc3I5')",
        "return struct.size('!bhilTfdcxc3I5')", "return struct.size('!bd')",
        "return struct.size('!4bd')", "return struct.size('c')", "return struct.size('z')",
        "return struct.size('bzb')", "return struct.size('')", "return struct.size(5)",
        "return struct.size(12)", "return struct.size('> < ')", "return struct.size('b\\0ii')",
        "return struct.size('s')", "return struct.size('c0')", "return struct.size('b+b')",
        "return struct.size('b=b')", "return struct.size('i33')", "return struct.size('!3')",
        "return struct.size('!0')", "return struct.size()", "return struct.size({})",
        "return struct.size('i99999999999')"))


def test_struct_errors(differ):
    differ.check(*evals(
        "return struct.pack('>i33', 1)", "return struct.pack('>b', 'x')",
        "return struct.pack('>b')", "return struct.pack('>bb', 1)",
        "return struct.pack('c5', 'abc')", "return struct.pack('c0c5', 'abc', 'x')",
        "return struct.pack('s5', 'abc')", "return struct.pack('c', {})",
        "return struct.pack('!3b', 1)", "return struct.pack('!0bi', 1, 2)",
        "return struct.pack('z', 1)", "return struct.pack('=i', 1)",
        "return struct.pack('i99999999999', 1)", "return struct.pack('c99999999999', 1)",
        "return struct.pack('!99999999999', 1)", "return struct.pack()",
        "return struct.pack(12)", "return struct.pack({})",
        "return struct.pack('i2147483647', 1)", "return struct.pack('c2147483648', 1)",
        "return struct.pack('c214748364', 1)", "local p = struct.pack; return p()",
        "return struct:pack()", "return struct:unpack('b')",
        "return {struct.unpack('>i', '\\0\\0\\1')}",
        "return {struct.unpack('>i', '\\0\\0\\0\\1', 2)}",
        "return {struct.unpack('>b', '\\1\\2\\3', 4)}",
        "return {struct.unpack('', '\\1\\2\\3', 0)}",
        "return {struct.unpack(' ', '\\1\\2\\3', -5)}",
        "return {struct.unpack(' ', '\\1\\2\\3', 5)}",
        "return {struct.unpack('b', '\\1\\2\\3', 'x')}", "return {struct.unpack('b')}",
        "return {struct.unpack()}", "return {struct.unpack(5, '12345')}",
        "return {struct.unpack('c4', 'abc')}", "return {struct.unpack('c0', 'abc')}",
        "return {struct.unpack('bc0', '\\5abc')}", "return {struct.unpack('xc0', '\\2abc')}",
        "return {struct.unpack('c1c0', 'xabc')}", "return {struct.unpack('bc0', '\\255abc')}",
        "return {struct.unpack('c1c0', ' 2 abc')}", "return {struct.unpack('sss', 'ab\\0cd\\0')}",
        "return {struct.unpack('s', 'abc')}", "return {struct.unpack('xxxx', 'abc')}",
        "return {struct.unpack('!bi', '\\1\\0\\0\\0\\2\\0\\0')}",
        "return {struct.unpack('!0bi', '\\1\\0\\0\\0\\2\\0\\0')}",
        "return {struct.unpack('!3bi', '\\1\\0\\0\\0\\2\\0\\0')}",
        "return {struct.unpack('z', 'abc')}", "return {struct.unpack('b z', 'abc')}",
        "return {struct.unpack('i99', 'abc')}", "return {struct.unpack('bbbbb', '\\0\\0\\0\\1')}",
        "return {pcall(struct.unpack, 'bbbbb', '\\0\\0\\0\\1')}"))


def test_struct_unpack_lua_stack_limit(differ):
    commands = []
    for n in (7996, 7997, 7998):
        commands += [
            binary("return select('#', struct.unpack(ARGV[1], ARGV[2]))", b"b" * n, b"\0" * n),
            binary("return select('#', struct.unpack(ARGV[1], ARGV[2]))",
                   b"b" * n + b"x", b"\0" * (n + 1)),
            binary("return select('#', struct.unpack(ARGV[1], ARGV[2], 1, 2, 3))",
                   b"b" * (n - 3), b"\0" * n)]
    differ.check(*commands)


def test_random_struct_formats_and_data(differ):
    """Formats drawn from every option (digits too) against random bytes."""
    rnd = random.Random(20240607)
    alphabet = b"bBhHlLTiIcsfdx<>! 0123456789z"
    commands = []
    for _ in range(150):
        fmt = bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 8)))
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40)))
        commands.append(binary("local r = {pcall(struct.unpack, ARGV[1], ARGV[2])} "
                               "for i = 2, #r do r[i] = tostring(r[i]) end return r",
                               fmt, data))
        commands.append(binary("return {pcall(struct.size, ARGV[1])}", fmt))
    differ.check(*commands)


def test_library_tables(differ):
    differ.check(*evals(
        "local t = {} for k in pairs(cmsgpack) do t[#t+1] = k end return t",
        "local t = {} for k in pairs(struct) do t[#t+1] = k end return t",
        "return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, "
        "cmsgpack._DESCRIPTION}",
        "return struct.nosuch", "return cmsgpack.nosuch"))


# -- random values, as Lua source, packed by both servers ------------------------------

def _lua_string(data: bytes) -> str:
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else "\\%03d" % b
                         for b in data) + '"'


def _lua_float(value: float) -> str:
    if value != value:
        return "(0/0)" if pystruct.pack(">d", value)[0] & 0x80 else "(-(0/0))"
    if value in (float("inf"), float("-inf")):
        return "(1/0)" if value > 0 else "(-1/0)"
    return "(%r)" % value


_ints = st.one_of(st.integers(-40, 300), st.integers(-2 ** 64, 2 ** 64),
                  st.sampled_from([2 ** 7, 2 ** 8, 2 ** 15, 2 ** 16, 2 ** 31, 2 ** 32,
                                   2 ** 53, 2 ** 63, 2 ** 64]).flatmap(
                      lambda n: st.sampled_from([n - 1, n, n + 1, -n - 1, -n, 1 - n])))
_floats = st.one_of(st.floats(), st.floats(width=32), st.floats(-1e6, 1e6))
_strings = st.one_of(
    st.binary(max_size=40).map(_lua_string),
    st.sampled_from([31, 32, 255, 256, 65535, 65536]).map(lambda n: "string.rep('s', %d)" % n))
# String keys stay below 32 bytes: Redis's Lua hashes longer strings differently from
# lupa's (every byte, not a sample), which changes the order pairs() walks them in.
_keys = st.one_of(st.integers(-3, 40).map(lambda n: "(%d)" % n),
                  st.binary(max_size=31).map(_lua_string),
                  st.floats(allow_nan=False).map(_lua_float), st.sampled_from(["true", "false"]))
_scalars = st.one_of(_ints.map(lambda n: "(%d)" % n), _floats.map(_lua_float), _strings,
                     st.sampled_from(["true", "false", "nil"]))


def _tables(children):
    arrays = st.lists(children, max_size=20).map(lambda items: "{%s}" % ", ".join(items))
    maps = st.lists(st.tuples(_keys, children), max_size=20).map(
        lambda pairs: "{%s}" % ", ".join("[%s]=%s" % pair for pair in pairs))
    mixed = st.tuples(st.lists(children, max_size=5),
                      st.lists(st.tuples(_keys, children), max_size=5)).map(
        lambda parts: "{%s}" % ", ".join(parts[0] + ["[%s]=%s" % p for p in parts[1]]))
    return st.one_of(arrays, maps, mixed)


_values = st.recursive(_scalars, lambda children: _tables(children), max_leaves=30)


def test_random_values_pack_alike(differ):
    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(_values, min_size=1, max_size=4))
    def check(values):
        args = ", ".join(values)
        differ.check(*evals(
            "return cmsgpack.pack(%s)" % args,
            "return cmsgpack.pack(cmsgpack.unpack(cmsgpack.pack(%s)))" % args,
            "return {cmsgpack.unpack(cmsgpack.pack(%s))}" % args))
    check()


def test_random_bytes_unpack_alike(differ):
    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=60))
    def check(data):
        differ.check(binary(REPACK, data),
                     binary("return {pcall(cmsgpack.unpack_limit, ARGV[1], 2, 1)}", data))
    check()


# No -0.0 for struct: lupa hands it to Python as the integer 0, so struct.pack('d', -0.0)
# packs +0.0 here (a known deviation); cmsgpack packs both as the integer 0 anyway.
_numbers = st.one_of(_ints.map(lambda n: "(%d)" % n),
                     _floats.map(lambda x: _lua_float(x + 0.0)))


@st.composite
def _struct_calls(draw):
    """A format and matching arguments: every option, sizes, alignments, byte orders."""
    fmt, args = [], []
    for _ in range(draw(st.integers(1, 8))):
        opt = draw(st.sampled_from(list("bBhHlLTiIfdcsx<>! ") + ["i%d", "I%d", "c%d", "!%d"]))
        if opt in ("i%d", "I%d"):
            opt %= draw(st.integers(0, 32))
        elif opt == "c%d":
            opt %= draw(st.integers(0, 12))
        elif opt == "!%d":
            opt %= draw(st.sampled_from([1, 2, 4, 8, 16]))
        fmt.append(opt)
        if opt[0] in "bBhHlLTiIfd":
            args.append(draw(_numbers))
        elif opt[0] in "cs":
            size = int(opt[1:] or (1 if opt == "c" else 0))
            args.append(_lua_string(draw(st.binary(min_size=size, max_size=size + 12).filter(
                lambda b: opt != "s" or b"\0" not in b))))
    return "".join(fmt), args


def test_random_struct_pack_alike(differ):
    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(_struct_calls())
    def check(call):
        fmt, args = call
        packed = "struct.pack(%s)" % ", ".join([_lua_string(fmt.encode())] + args)
        differ.check(*evals(
            "return %s" % packed,
            "local r = {struct.unpack(%s, %s)} for i = 1, #r do r[i] = tostring(r[i]) end "
            "return r" % (_lua_string(fmt.encode()), packed),
            "return struct.size(%s)" % _lua_string(fmt.encode())))
    check()
