"""The Lua sandbox: nothing of Python, nor of the host, is reachable from a script.

Three layers of checks:

* What a script can see (``_G``, the string metatable, every library table, walked
  with pairs and getmetatable) has the same shape and the same types as on
  redis-server, and the only userdata in it is ``cjson.null``.
* From the Python side, with the runtime's own debug library: everything reachable
  from the globals and the string metatable (raw fields, metatables, function
  environments), every value the library functions return for typical arguments,
  and every error value a script can catch (pcall, xpcall handlers,
  coroutine.resume, load) is a plain Lua value. The only Python objects are those
  inside the sealed C-function wrappers of the Python library functions, which a
  script cannot open (no debug library), and which refuse every index anyway.
* The known escapes (``__class__``/``__subclasses__`` walks, ``python``,
  ``__builtins__``, bytecode through loadstring/load, ``getfenv``, ``newproxy``,
  ``debug``, metatable tricks, coroutines, error values from redis.call and from
  every library) fail exactly as on redis-server, byte for byte in RESP2 and RESP3,
  the server keeps serving, and no file appears where a script tried to write one.

Known difference, documented rather than compared: an error raised by a Python
library function (cjson, struct, cmsgpack, bit) inside ``coroutine.wrap`` reaches the
caller without the second position prefix Redis's ``coroutine.wrap`` adds to string
errors (the error crosses the coroutine as lupa's exception object, which Lua's wrap
does not prefix; pcall or the error handler then turns it into the message).
"""
from __future__ import annotations

import os
import re

import pytest
from lupa import lua51

from miniredis.protocol import Simple
from miniredis.scripting import lua as lua_module
from miniredis.scripting.lua import LuaEngine
from tests.harness import RawConnection, parse_raw

# -- what a script sees, compared with Redis -------------------------------------------

_SCRIPT_WALK = r"""
local seen, out = {}, {}
local function walk(v, path, depth)
  local t = type(v)
  out[#out + 1] = path .. '=' .. t
  if (t ~= 'table' and t ~= 'userdata' and t ~= 'function') or seen[v] or depth > 8 then
    return
  end
  seen[v] = true
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do walk(v[k], path .. '.' .. tostring(k), depth + 1) end
  end
  local mt = getmetatable(v)
  if mt ~= nil then walk(mt, path .. '<mt>', depth + 1) end
end
walk(_G, '_G', 0)
walk(getmetatable(''), 'string<mt>', 0)
walk(getmetatable(_G), '_G<mt>', 0)
table.sort(out)
return out
"""


def test_script_visible_world_is_redis_s(differ):
    replies = differ.check(["EVAL", _SCRIPT_WALK, "0"])
    lines = [item[1].decode() for item in parse_raw(replies[0])[1]]
    assert len(lines) > 150
    userdata = [line for line in lines if line.endswith("=userdata")]
    assert userdata == ["_G.cjson.null=userdata"]


# -- the runtime, walked from Python -----------------------------------------------------

# Walks raw fields (keys and values), metatables and function environments: more than
# a script can reach (no debug library). Reports Python objects (lupa's userdata with
# its POBJECT metatable) and collects the C functions; lupa hands the sealed wrappers
# of Python functions (whose upvalue not even the debug library can read) to Python
# as the Python functions themselves, which is how the test tells them apart.
_RUNTIME_WALK = r"""
local debug, roots, probes = ...
local POBJECT = debug.getregistry().POBJECT
local seen, found, cfunctions, results = {}, {}, {}, {}
local function is_python(v)
  return type(v) == 'userdata' and debug.getmetatable(v) == POBJECT
end
local walk
walk = function(v, path)
  local t = type(v)
  if is_python(v) then
    found[#found + 1] = path
    return
  end
  if (t ~= 'table' and t ~= 'function' and t ~= 'userdata' and t ~= 'thread')
      or seen[v] then
    return
  end
  seen[v] = true
  if t == 'function' then
    if debug.getinfo(v, 'S').what == 'C' then
      cfunctions[#cfunctions + 1] = {path, v}
    end
    walk(debug.getfenv(v), path .. '<env>')
  elseif t == 'table' then
    for k, item in next, v do
      walk(k, path .. '[key]')
      walk(item, path .. '.' .. tostring(k))
    end
  end
  walk(debug.getmetatable(v), path .. '<mt>')
end
for name, root in pairs(roots) do walk(root, name) end
for i, probe in ipairs(probes) do
  local values = {probe()}
  for j = 1, table.maxn(values) do
    local v = values[j]
    results[#results + 1] = i .. ':' .. j .. '=' .. type(v)
    walk(v, 'probe ' .. i .. ' result ' .. j)
  end
end
return found, cfunctions, results
"""

# Every index on a Python object in Lua is refused (lupa's attribute handlers).
_INDEX_ATTEMPTS = r"""
local obj = ...
local refused = 0
for _, attr in ipairs({'__class__', '__globals__', '__self__', '__call__', '__dict__',
                       '__code__', '__builtins__', 1}) do
  if not pcall(function() return obj[attr] end) then refused = refused + 1 end
end
if not pcall(function() obj.x = 1 end) then refused = refused + 1 end
return refused
"""

# Library calls with typical arguments, and the error values a script can catch.
_PROBES = r"""
return {
  function() return redis.call('ok') end,
  function() return redis.pcall('fail') end,
  function() return pcall(redis.call, 'fail') end,
  function() return xpcall(function() redis.call('fail') end, function(e) return e end) end,
  function() return redis.error_reply('x'), redis.status_reply('y'), redis.sha1hex('z') end,
  function() return redis.setresp(3), redis.log(redis.LOG_WARNING, 'x') end,
  function() return cjson.decode('[1,{"a":null},"x",true,1.5,[]]'), cjson.null end,
  function() return cjson.encode({1, {a = 2}}), cjson.encode_max_depth() end,
  function() return cjson.encode_sparse_array(), cjson.encode_invalid_numbers() end,
  function() return cmsgpack.unpack(cmsgpack.pack({1, {a = 2}, 'x', true, 1.5})) end,
  function() return cmsgpack.unpack_one(cmsgpack.pack(1, 2)) end,
  function() return struct.unpack('>i2s', struct.pack('>i2s', 7, 'x')), struct.size('i') end,
  function() return bit.tohex(255), bit.band(7, 3), bit.tobit(2^40) end,
  function() return math.random(), math.random(10), math.randomseed(1) end,
  function() return pcall(cjson.decode, 'garbage') end,
  function() return pcall(cjson.encode, function() end) end,
  function() return pcall(cjson.encode_max_depth, 0) end,
  function() return pcall(struct.pack, 'y') end,
  function() return pcall(struct.unpack, 'i', '') end,
  function() return pcall(cmsgpack.unpack, '\193') end,
  function() return pcall(bit.tohex, {}) end,
  function() return pcall(math.random, 0) end,
  function() return pcall(redis.sha1hex) end,
  function() return pcall(getmetatable(_G).__index, _G, 'nope') end,
  function() return xpcall(function() cjson.decode('{') end, function(e) return e end) end,
  function() return xpcall(function() bit.band({}) end, function(e) return e end) end,
  function() return coroutine.resume(coroutine.create(function() struct.unpack('i', '') end)) end,
  function() return pcall(coroutine.wrap(function() cmsgpack.unpack('\193') end)) end,
  function() return load(function() cjson.decode('x') end) end,
  function() return pcall(load(function() return nil end) or error) end,
}
"""


@pytest.fixture
def engine():
    def call(argv):
        if argv[0] == b"fail":
            return False, lua._error_table("ERR failed")
        return True, lua.to_lua([b"a", 1, None, Simple("OK"), [b"nested"]])
    lua = LuaEngine(call, lambda level, message: None, "7.0.15")
    return lua


def _walk(engine, roots):
    runtime = engine.runtime
    load = runtime.globals()[b"loadstring"]
    walker = load(_RUNTIME_WALK.encode(), b"=walker")
    probes = load(_PROBES.encode(), b"=probes")()
    return walker(engine.debug, runtime.table_from(roots), probes)


def test_no_python_object_is_reachable(engine):
    runtime = engine.runtime
    string_meta = engine.debug.getmetatable(b"")
    found, cfunctions, results = _walk(engine, {b"_G": runtime.globals(),
                                            b"string<mt>": string_meta})
    assert list(found.values()) == []
    # the probes ran and returned Lua values (tables, strings, numbers, booleans)
    kinds = {value.decode().split("=")[1] for value in results.values()}
    assert kinds <= {"table", "string", "number", "boolean", "nil", "userdata"}, kinds
    assert len(results) > 40
    # the Python library functions are reached only through sealed C functions, each
    # wrapping a plain function, and refusing every index (8 reads, no write)
    attempts = runtime.globals()[b"loadstring"](_INDEX_ATTEMPTS.encode(), b"=attempts")
    sealed = [(entry[1], entry[2]) for entry in cfunctions.values()
              if lua51.lua_type(entry[2]) is None]
    assert len(sealed) > 25
    for path, target in sealed:
        assert type(target).__name__ in ("function", "method"), (path, type(target))
        assert attempts(target) == 9, path


def test_walker_finds_a_planted_python_object(engine):
    # The check above cannot pass vacuously: a Python object anywhere is reported.
    planted = engine.runtime.table_from({b"deep": engine.runtime.table_from(
        {b"obj": object()})})
    found, _, _ = _walk(engine, {b"planted": planted})
    assert list(found.values()) == [b"planted.deep.obj"]


def test_python_globals_are_gone(engine):
    g = engine.runtime.globals()
    for name in (b"python", b"debug", b"os", b"io", b"package", b"require", b"newproxy",
                 b"getfenv", b"setfenv", b"dofile", b"loadfile", b"module", b"print",
                 b"__py"):
        assert engine._rawget(g, name) is None, name


# -- the known escapes, compared with Redis -------------------------------------------

ESCAPES = [
    # Python attributes of library values
    "return cjson.null.__class__",
    "return tostring(cjson.null.__class__.__mro__[1].__subclasses__()[1])",
    "return {pcall(function() return cjson.null.__class__ end)}",
    "return redis.call.__globals__",
    "return {pcall(function() return redis.call.__globals__ end)}",
    "return cjson.encode.__self__",
    "return struct.pack.__call__",
    "return {pcall(function() return bit.tohex.__code__ end)}",
    "return type(cjson.null)", "return tostring(cjson.null)",
    "return getmetatable(cjson.null)", "return getmetatable(redis.call)",
    "return {pcall(setmetatable, cjson.null, {})}",
    "return {pcall(rawget, cjson.null, '__class__')}",
    "local ok, e = pcall(error, cjson.null) return tostring(e)",
    # the python module and Python builtins
    "return python", "return {pcall(function() return python.eval('1') end)}",
    "return {pcall(function() return python.builtins.open end)}",
    "return rawget(_G, 'python')", "return __builtins__", "return __py",
    "return {pcall(function() return _G['__builtins__'] end)}",
    # what Redis removes
    "return debug", "return getfenv", "return setfenv", "return newproxy", "return os",
    "return io", "return package", "return require", "return dofile", "return loadfile",
    "return module", "return print",
    "return {pcall(function() return os.execute('touch {marker}') end)}",
    "return {pcall(function() return io.open('{marker}', 'w') end)}",
    "return {pcall(function() return require('os') end)}",
    # bytecode
    "return type(string.dump)",
    "return {pcall(string.dump, function() return 1 end)}",
    "return {loadstring(string.dump(function() return 1 end))}",
    "return select(2, loadstring(string.dump(function() return 1 end)))",
    "return select(2, loadstring(string.dump(function() return 1 end), '=x'))",
    "return select(2, loadstring(string.dump(function() return 1 end), '@f.lua'))",
    "return select(2, loadstring(string.char(27) .. 'x\\nmore', 'a\\nb'))",
    "return select(2, loadstring(string.char(27)))",
    "local s = string.dump(function() return 1 end) "
    "return select(2, load(function() local r = s s = nil return r end))",
    "local s = string.dump(function() return 1 end) "
    "return select(2, load(function() local r = s s = nil return r end, 'named'))",
    "return select(2, load(function() error('boom') end))",
    "return select(2, load(function() cjson.decode('x') end))",
    "return {load(function() return {} end)}",
    "local n = 0 return load(function() n = n + 1 if n == 1 then return 'return ' "
    "elseif n == 2 then return 42 end end)()",
    # metatable tricks
    "return getmetatable('').__index == string",
    "return {pcall(function() getmetatable('').__index = {} end)}",
    "return {pcall(setmetatable, _G, {})}",
    "return getmetatable(_G).__index",
    "return {pcall(getmetatable(_G).__index, _G, 'os')}",
    "return {pcall(rawset, _G, 'x', 1)}",
    # pairs hands back the table it iterates: a library's or the globals' must stay
    # read-only through it (it was the real table behind the view: writable)
    "local f, s = pairs(string) rawset(s, 'len', function() return 42 end) "
    "return string.len('abc')",
    "local f, s = pairs(_G) rawset(s, 'zzz', 1) return zzz",
    "local f, s = pairs(string) s.len = 5 return 1",
    "return {pcall(function() local f, s = pairs(redis) s.call = nil end)}",
    "local f, s = pairs(math) return {s == math, pairs(math) == next, pairs({}) == next}",
    "local f, s, i = pairs(string) return {type(f), type(s), tostring(i)}",
    "local n = 0 for k in pairs(_G) do n = n + 1 end return n",
    "return {pcall(table.foreach, string, function(k, v) rawset(string, k, nil) end)}",
    "return {pcall(function() local k, v = next(_G, nil) return rawset(_G, k, v) end)}",
    # error values handed to scripts
    "return {xpcall(function() redis.call('nosuch') end, function(e) return type(e) end)}",
    "return {xpcall(function() redis.call('nosuch') end, function(e) return e.err end)}",
    "return {xpcall(function() redis.call('set') end, function(e) return e.err end)}",
    "return {xpcall(function() cjson.decode('{') end, function(e) return {type(e), e} end)}",
    "return {xpcall(function() struct.pack('y', 1) end, function(e) return {type(e), e} end)}",
    "return {xpcall(function() cmsgpack.unpack('\\193') end, "
    "function(e) return {type(e), e} end)}",
    "return {xpcall(function() bit.tohex({}) end, function(e) return {type(e), e} end)}",
    "return {xpcall(function() math.random(0) end, function(e) return {type(e), e} end)}",
    "return {xpcall(function() redis.sha1hex() end, "
    "function(e) return {type(e), e.err} end)}",
    "return {xpcall(function() redis.setresp(9) end, "
    "function(e) return {type(e), e.err} end)}",
    "return {pcall(cjson.decode, 'garbage')}", "return {pcall(struct.pack, 'y')}",
    "return {pcall(cmsgpack.unpack, '\\193')}", "return {pcall(bit.tohex, 1, {})}",
    "return {pcall(bit.tohex, 1, 0/0)}",
    "return {pcall(cjson.decode, string.rep('[', 2000))}",
    "return {pcall(cjson.encode_max_depth, 'x')}",
    # coroutines
    "return {coroutine.resume(coroutine.create(function() cjson.decode('x') end))}",
    "return {coroutine.resume(coroutine.create(function() redis.call('nosuch') end))}",
    "local ok, e = coroutine.resume(coroutine.create(function() redis.call('nosuch') end))"
    " return type(e)",
    "return {pcall(coroutine.wrap(function() redis.call('nosuch') end))}",
    "local ok, e = pcall(coroutine.wrap(function() redis.call('nosuch') end)) "
    "return type(e)",
    "return {pcall(coroutine.resume)}", "return {pcall(xpcall, function() end)}",
    "return {coroutine.resume(coroutine.create(function()\nlocal x = 1\n"
    "bit.tohex({}) end))}",
    # the error handler itself
    "return type(__redis__err__handler)", "return __redis__err__handler('x')",
    "return {pcall(__redis__err__handler, cjson.null)}",
]


def test_known_escapes_fail_as_on_redis(differ, mini, tmp_path):
    marker = str(tmp_path / "escaped")
    differ.check(*(["EVAL", script.replace("{marker}", marker), "0"]
                   for script in ESCAPES))
    assert not os.path.exists(marker)
    conn = RawConnection(mini.port)
    try:
        assert conn.call("PING") == b"+PONG\r\n"
        assert conn.call("EVAL", "return 1", "0") == b":1\r\n"
    finally:
        conn.close()


# Errors of the Python library functions inside coroutine.wrap: the message is Redis's,
# the position prefixes are not (see the module doc): compared without them.
WRAPPED_LIBRARY_ERRORS = [
    "return {pcall(coroutine.wrap(function() cjson.decode('x') end))}",
    "return {pcall(function() return coroutine.wrap(function() struct.pack('y') end)() end)}",
    "local ok, e = pcall(coroutine.wrap(function() bit.tohex({}) end)) return {type(e), e}",
]


def _without_positions(raw: bytes) -> bytes:
    return re.sub(rb"(user_script:\d+: )+", b"", re.sub(rb"\$\d+\r\n", b"$", raw))


def test_library_errors_in_wrapped_coroutines(differ, mini):
    real = [_redis_reply(differ, "redis", script) for script in WRAPPED_LIBRARY_ERRORS]
    ours = [_redis_reply(differ, "miniredis", script) for script in WRAPPED_LIBRARY_ERRORS]
    assert [_without_positions(r) for r in ours] == [_without_positions(r) for r in real]
    assert all(b"Python" not in reply and b"userdata" not in reply for reply in ours)


def _redis_reply(differ, server: str, script: str) -> bytes:
    conn = RawConnection(differ.ports[server])
    try:
        return conn.call("EVAL", script, "0")
    finally:
        conn.close()


def test_sandbox_state_is_put_back_after_each_script(differ):
    # Nothing a script does to the sandbox survives it (Redis's tables are read-only).
    differ.check(
        ["EVAL", "return {pcall(function() xpcall = nil end)}", "0"],
        ["EVAL", "return type(xpcall)", "0"],
        ["EVAL", "return {pcall(function() coroutine.resume = print end)}", "0"],
        ["EVAL", "return type(coroutine.resume)", "0"],
        ["EVAL", "return {pcall(function() loadstring = function() end end)}", "0"],
        ["EVAL", "return select(2, loadstring(string.char(27)))", "0"])



def test_sandbox_check_puts_back_what_a_hole_changed():
    # After each run, what no script can reach is checked and put back, and a change
    # logged: a view's own raw part at once, the tables behind the views (and the
    # globals) every _FULL_CHECK_EVERY runs, the backstop for a hole not known yet.
    # The holes are made here from Python, with the runtime's debug library.
    logged = []
    lua = LuaEngine(lambda argv: (True, None),
                    lambda level, message: logged.append((level, message)), "7.0.15")
    length, _ = lua.compile(b"return string.len('abc')")
    forty_two, _ = lua.compile(b"return 42")
    view = lua.runtime.globals()[b"string"]
    meta = lua.debug.getmetatable(view)
    real = meta[b"__index"]                     # the string library behind the view
    warning = (3, b"Lua sandbox: a script changed tables it cannot reach; "
                  b"they were put back")
    # A raw entry in the view (it shadows the library): gone after that run.
    lua.debug.setmetatable(view, None)
    view[b"len"] = forty_two
    lua.debug.setmetatable(view, meta)
    assert lua.run(length, [], []) == (True, 42)
    assert lua.run(length, [], []) == (True, 3)
    assert logged == [warning]
    # A changed library function: put back by the next full check.
    logged.clear()
    real[b"len"] = forty_two
    poisoned = 0
    while lua.run(length, [], []) == (True, 42) and poisoned < 100:
        poisoned += 1
    assert 1 <= poisoned <= lua_module._FULL_CHECK_EVERY and logged == [warning]
    assert lua.run(length, [], []) == (True, 3)
    # The globals too (a global the scripts would see).
    logged.clear()
    lua.runtime.globals()[b"tostring"] = forty_two
    probe, _ = lua.compile(b"return tostring(1)")
    poisoned = 0
    while lua.run(probe, [], []) == (True, 42) and poisoned < 100:
        poisoned += 1
    assert 1 <= poisoned <= lua_module._FULL_CHECK_EVERY and logged == [warning]
