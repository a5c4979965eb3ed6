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
replacements (and those of xpcall and the coroutine functions, below) are Lua
functions: when a script calls one in tail position with bad arguments, the error
cannot name the script's line (Lua forgets the frame of a tail call; Redis's are C
functions, which it does not). Everything is also put back as it was after every
script.

The sandbox holds nothing of Python. lupa gives Lua a ``python`` module (removed,
and ``register_eval``/``register_builtins`` off) and wraps Python objects handed to
Lua as userdata whose attributes Lua could read (``__class__``, then
``__subclasses__()``, then ``os.system``). No Python object is handed to a script:
script arguments and replies are strings, numbers, booleans and tables; cjson.null
is a userdata made in Lua; the library functions written in Python are sealed C
functions (``python.as_function``: a C closure whose upvalue not even Lua's debug
library can read). The one Python object that does travel through Lua is the
exception a Python function raises (lupa makes it the Lua error value): every way
an error reaches a script (pcall, xpcall's handler, coroutine.resume, load's reader,
and Redis's error handler) turns it into the string or table Redis raises first.
Should any Python object still leak, lupa's attribute handlers refuse every index on
it. ``loadstring`` and ``load`` refuse bytecode, as Redis's Lua (which only parses
text) does, with the same syntax error. tests/test_lua_sandbox.py walks the runtime
to check all this.

The ``redis`` functions are thin Lua wrappers (compiled under the chunk name
``=[redis]``) around Python callbacks: arguments are checked and numbers formatted in
Lua exactly as Redis does, and errors are raised from Lua as tables, so the error
handler sees the script's line. It skips the wrappers' own frames when it looks for
that line, which makes them as invisible as Redis's C functions. Python callbacks
that scripts can reach (redis.call, math.random, cjson, bit, cmsgpack, struct) go
through lupa's ``python.as_function``: Lua sees C functions, as in Redis (``type()``
says ``function``, and a tail call keeps the script's frame for error positions).

Replies cross the boundary through :meth:`LuaEngine.to_lua` (a handler's typed reply
to a Lua value, for the script's RESP version) and :meth:`LuaEngine.from_lua` (a Lua
value to a typed reply), never by guessing from content.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

from lupa import lua51

from ..errors import CommandError
from ..protocol import (NULL_ARRAY, BigNumber, Bool, Double, Map, Push, Raw, Set, Simple,
                       Verbatim, format_double)

INTERNAL_CHUNK = "=[redis]"
LLONG_MIN = -(2 ** 63)
LLONG_MAX = 2 ** 63 - 1

# Lua code of the sandbox, run once per runtime. ``__py`` is a table of Python
# callbacks, removed from the globals at the end.
_PRELUDE = r"""
local py = __py
__py = nil
local dbg = debug
local G = _G
local type, tostring, select, error, rawget, rawset, format, unpack, pairs, next =
      type, tostring, select, error, rawget, rawset, string.format, unpack, pairs, next
local setmetatable, getmetatable, floor = setmetatable, getmetatable, math.floor
local setfenv, tonumber = setfenv, tonumber
-- Python callables are userdata to Lua; lupa's as_function makes them C functions,
-- which is what Redis's library functions are (type() says 'function').
local as_function = python.as_function
local unwrap_error = as_function(py.unwrap)

-- Redis's error handler: every error becomes {err=..., source=..., line=...}. The
-- frames of this file's own wrappers are skipped, as Redis's C functions are.
function __redis__err__handler(err)
  if type(err) == 'userdata' then err = unwrap_error(err) end
  local frames = {}
  local level = 2
  while #frames < 2 do
    local i = dbg.getinfo(level, 'nSl')
    if not i then break end
    if i.source ~= '=[redis]' then frames[#frames + 1] = i end
    level = level + 1
  end
  local i = frames[1]
  if i and i.what == 'C' then i = frames[2] end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

local unwrap = as_function(py.unwrap)

-- An error raised by a Python function travels through Lua as lupa's wrapper of the
-- Python exception. Scripts never see it: every place where Lua hands an error value
-- to a script (pcall, xpcall's handler, coroutine.resume, coroutine.wrap, load, and
-- the handler above) passes it through here first, which turns it into the string
-- or table Redis would have raised.
local function error_value(e)
  if type(e) == 'userdata' then return unwrap(e) end
  return e
end

local redis = {}
-- Functions that can raise are Python callables (C functions to Lua): a tail call
-- to them keeps the script's frame, so errors point at its line as in Redis.
redis.call = as_function(py.call)
redis.sha1hex = as_function(py.sha1hex)
redis.log = as_function(py.log)
redis.setresp = as_function(py.setresp)
redis.set_repl = as_function(py.set_repl)
redis.acl_check_cmd = as_function(py.acl_check_cmd)
local pcall_command = py.pcall
function redis.pcall(...)
  return pcall_command(...)
end

-- "-CODE message" or "message" (gets the ERR code), trailing CR/LF trimmed.
local function error_table(text)
  local code, message
  if text:sub(1, 1) == '-' then
    local space = text:find(' ', 1, true)
    if space then
      code, message = text:sub(2, space - 1), text:sub(space + 1)
    else
      code, message = 'ERR', text:sub(2)
    end
  else
    code, message = 'ERR', text
  end
  message = message:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return {err=code .. ' ' .. message}
end

function redis.error_reply(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return error_table(e)
end

function redis.status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return error_table('wrong number or type of arguments')
  end
  return {ok=s}
end

redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL =
  0, 1, 2, 2, 3
redis.REDIS_VERSION = py.version
redis.REDIS_VERSION_NUM = py.version_num
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
G.redis = redis

-- Redis's pcall: an error table raised by the redis library comes back as its text.
local rawpcall, rawxpcall = pcall, xpcall
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = error_value((...))
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then return false, m end
  end
  return false, e
end
function pcall(...)
  return pcall_result(rawpcall(...))
end

-- math.random and math.randomseed on Redis's own rand48, as in redis/deps.
math.random = as_function(py.random)
math.randomseed = as_function(py.randomseed)

-- The sandbox: what Redis 7.0 does not offer to scripts.
for _, name in ipairs({'os', 'io', 'package', 'require', 'module', 'dofile', 'loadfile',
                       'print', 'getfenv', 'setfenv', 'newproxy', 'debug', 'python'}) do
  G[name] = nil
end

-- Redis 7.0 makes the globals, every library and the string metatable read-only:
-- assigning to them fails with "Attempt to modify a readonly table". Stock Lua 5.1
-- cannot refuse an assignment to a field that exists, so scripts see views instead:
-- empty tables reading through to the real one (__index) and refusing writes
-- (__newindex). Scripts run with the view of the globals as their environment, each
-- library global holds its view, and the functions that look inside tables without
-- metamethods (next, pairs, rawget, rawset, getmetatable, setmetatable, table.insert,
-- table.foreach) see through views or refuse them. loadstring/load give the chunks
-- they make the same environment. Argument errors of those replacements are raised
-- at the caller's level, with the C functions' texts.
local READONLY = 'Attempt to modify a readonly table'
local function refuse() error(READONLY, 2) end
local rawnext, rawloadstring, rawload, rawgetmetatable = next, loadstring, load, getmetatable
local real_of = {}                   -- view -> the table it shows
local function view(t)
  local v = setmetatable({}, {__index = t, __newindex = refuse})
  real_of[v] = t
  return v
end

local function got(n, ...)
  if select('#', ...) < n then return 'no value' end
  return type((select(n, ...)))
end
local function expected(what, n, ...)
  return what .. ' expected, got ' .. got(n, ...)
end
-- luaL_argerror for the replacements below, raised at their caller's level, naming
-- the function as its caller did ('?' from C; the C name when a tail call lost it).
local function badarg(n, name, extra)
  local info = dbg.getinfo(2, 'n')
  local called = info and info.name
  if not called then
    local caller = dbg.getinfo(3, 'S')
    called = (caller and caller.what == 'tail') and name or '?'
  end
  error(format("bad argument #%d to '%s' (%s)", n, called, extra), 3)
end

-- The table functions that write raw or walk with next, minding views.
local rawinsert, rawforeach = table.insert, table.foreach
function table.insert(...)
  local t = ...
  local n = select('#', ...)
  if type(t) ~= 'table' then badarg(1, 'insert', expected('table', 1, ...)) end
  if n == 3 then
    if tonumber((select(2, ...))) == nil then
      badarg(2, 'insert', expected('number', 2, ...))
    end
  elseif n ~= 2 then
    error("wrong number of arguments to 'insert'", 2)
  end
  if real_of[t] then error(READONLY, 0) end
  return rawinsert(...)
end
function table.foreach(...)
  local t, f = ...
  if type(t) ~= 'table' then badarg(1, 'foreach', expected('table', 1, ...)) end
  if type(f) ~= 'function' then badarg(2, 'foreach', expected('function', 2, ...)) end
  return rawforeach(real_of[t] or t, f)
end

-- Coroutines. coroutine.resume is another way an error reaches a script: its result
-- is converted as pcall's. (coroutine.wrap's function stays Lua's C function, so that
-- a script's tail call to it keeps the script's line in errors: it raises the
-- coroutine's error again, Python exception and all, and the pcall, xpcall or error
-- handler that catches it converts it. Unlike Redis's, it cannot prefix its caller's
-- position to errors of the Python library functions.)
-- Python library functions name their caller's position and their own name in errors
-- from the stack they run on; lupa runs them on the main thread's stack, so the
-- coroutines being run are noted (innermost last) for them to read the right one:
-- every coroutine's body notes its thread when it starts or is resumed after a
-- yield, and unnotes it when it yields; a finished one is found dead and dropped.
local coroutine_lib = coroutine
local resume, rawcreate, rawwrap, rawyield, running =
  coroutine_lib.resume, coroutine_lib.create, coroutine_lib.wrap, coroutine_lib.yield,
  coroutine_lib.running
local threads = py.threads
local function resume_result(ok, ...)
  if ok then return true, ... end
  return false, error_value((...))
end
function coroutine_lib.resume(...)
  if type((...)) ~= 'thread' then badarg(1, 'resume', 'coroutine expected') end
  return resume_result(resume(...))
end
-- The body tail-calls the script's function: no frame of its own stays in the way.
local function tracked(f)
  return function(...)
    threads[#threads + 1] = running()
    return f(...)
  end
end
local function is_lua_function(f)
  return type(f) == 'function' and dbg.getinfo(f, 'S').what ~= 'C'
end
function coroutine_lib.create(...)
  local f = ...
  if not is_lua_function(f) then badarg(1, 'create', 'Lua function expected') end
  return rawcreate(tracked(f))
end
function coroutine_lib.wrap(...)
  local f = ...
  if not is_lua_function(f) then badarg(1, 'wrap', 'Lua function expected') end
  return rawwrap(tracked(f))
end
-- The innermost coroutine running, or nil on the main thread.
local status = coroutine_lib.status
local function current_thread()
  local co = threads[#threads]
  while co and status(co) == 'dead' do
    threads[#threads] = nil
    co = threads[#threads]
  end
  return co
end
local function yielded(co, ...)
  if co ~= nil then threads[#threads + 1] = co end
  return ...
end
function coroutine_lib.yield(...)
  local co = running()
  if co ~= nil and threads[#threads] == co then threads[#threads] = nil end
  return yielded(co, rawyield(...))
end

-- Snapshots of the globals and of every library table, restored after each script.
local libraries = {}
local reals = {}
for k, v in pairs(G) do
  if type(v) == 'table' and k ~= '_G' then
    local copy = {}
    for kk, vv in pairs(v) do copy[kk] = vv end
    libraries[k] = copy
    reals[k] = v
  end
end
for k, v in pairs(reals) do G[k] = view(v) end
local string_mt = rawgetmetatable('')
string_mt.__index = G.string
local string_mt_view = view(string_mt)

-- Redis's globals metatable, as getmetatable(_G) shows it: __index only (a C
-- function in Redis, a Python one here, so its errors carry the caller's line).
local globals_mt_view = view({__index = as_function(py.protected_table_error)})

local env = setmetatable({}, {__index = G, __newindex = refuse})
real_of[env] = G
G._G = env

function G.next(...)
  local t, k = ...
  if type(t) ~= 'table' then badarg(1, 'next', expected('table', 1, ...)) end
  return rawnext(real_of[t] or t, k)
end

function G.pairs(...)
  local t = ...
  if type(t) ~= 'table' then badarg(1, 'pairs', expected('table', 1, ...)) end
  return rawnext, real_of[t] or t, nil
end

function G.rawget(...)
  local t, k = ...
  if type(t) ~= 'table' then badarg(1, 'rawget', expected('table', 1, ...)) end
  if select('#', ...) < 2 then badarg(2, 'rawget', 'value expected') end
  return rawget(real_of[t] or t, k)
end

function G.rawset(...)
  local t, k, v = ...
  local n = select('#', ...)
  if type(t) ~= 'table' then badarg(1, 'rawset', expected('table', 1, ...)) end
  if n < 2 then badarg(2, 'rawset', 'value expected') end
  if n < 3 then badarg(3, 'rawset', 'value expected') end
  if real_of[t] then error(READONLY, 0) end
  return rawset(t, k, v)
end

function G.getmetatable(...)
  if select('#', ...) == 0 then
    badarg(1, 'getmetatable', 'value expected')
  end
  local v = ...
  if v == env then return globals_mt_view end
  if v ~= nil and real_of[v] then return nil end
  local kind = type(v)
  if kind == 'string' then return string_mt_view end
  -- Python objects (cjson.null, library functions) are userdata with lupa's
  -- metatable: Redis's lightuserdata and C functions have none.
  if kind == 'userdata' then return nil end
  return rawgetmetatable(v)
end

function G.setmetatable(...)
  local t, mt = ...
  if type(t) ~= 'table' then badarg(1, 'setmetatable', expected('table', 1, ...)) end
  local kind = got(2, ...)
  if kind ~= 'nil' and kind ~= 'table' then
    badarg(2, 'setmetatable', 'nil or table expected')
  end
  local old = dbg.getmetatable(t)
  if old and rawget(old, '__metatable') ~= nil then
    error('cannot change a protected metatable', 2)
  end
  if real_of[t] then error(READONLY, 0) end
  return setmetatable(t, mt)
end

local function in_env(f, e)
  if f then
    setfenv(f, env)
    return f
  end
  return nil, e
end

-- Redis's Lua compiles every chunk as text, so bytecode (string.dump's output, which
-- starts with ESC) fails to parse: "<chunk>:1: unexpected symbol near 'char(27)'".
-- The chunk name is Lua's own, got by compiling a one-token chunk under that name.
local BINARY_SUFFIX = "1: unexpected symbol near '='"
local function binary_chunk_error(chunkname)
  local _, e = rawloadstring('=', chunkname)
  return nil, e:sub(1, #e - #BINARY_SUFFIX) .. "1: unexpected symbol near 'char(27)'"
end

function G.loadstring(...)
  local s, name = ...
  local kind = got(1, ...)
  if kind ~= 'string' and kind ~= 'number' then
    badarg(1, 'loadstring', expected('string', 1, ...))
  end
  kind = type(name)
  if kind ~= 'nil' and kind ~= 'string' and kind ~= 'number' then
    badarg(2, 'loadstring', expected('string', 2, ...))
  end
  if type(s) == 'string' and s:byte(1) == 27 then
    return binary_chunk_error(name or s)
  end
  return in_env(rawloadstring(s, name))
end

-- load(reader): the pieces are read first (errors of the reader are load's result,
-- as in Lua), then compiled as one string, which is how bytecode is refused.
local concat = table.concat
function G.load(...)
  local f, name = ...
  if type(f) ~= 'function' then badarg(1, 'load', expected('function', 1, ...)) end
  local kind = type(name)
  if kind ~= 'nil' and kind ~= 'string' and kind ~= 'number' then
    badarg(2, 'load', expected('string', 2, ...))
  end
  local parts, n = {}, 0
  while true do
    -- Lua runs the reader under the error handler in force: Redis's at a script's
    -- top level (inside a pcall there is none, and Redis gives the bare message).
    local ok, piece = rawxpcall(f, __redis__err__handler)
    if not ok then return nil, piece end
    if piece == nil or piece == '' then break end
    kind = type(piece)
    if kind ~= 'string' and kind ~= 'number' then
      return nil, 'reader function must return a string'
    end
    n = n + 1
    parts[n] = piece
  end
  local source = concat(parts)
  if source:byte(1) == 27 then return binary_chunk_error(name or '=(load)') end
  return in_env(rawloadstring(source, name or '=(load)'))
end

-- xpcall: the handler gets the error as Redis raises it (a table from redis.call,
-- a string from the libraries), never the Python exception behind it.
function G.xpcall(...)
  local f, handler = ...
  if select('#', ...) < 2 then badarg(2, 'xpcall', 'value expected') end
  return rawxpcall(f, function(e) return handler(error_value(e)) end)
end

local saved = {}
for k, v in pairs(G) do saved[k] = v end

local protect = {}
protect.__index = function(t, k)
  -- lupa itself looks up debug.traceback from C on every call into Lua: lookups
  -- from C (no script frame) just find nothing.
  local caller = dbg.getinfo(2, 'S')
  if caller == nil or caller.what == 'C' then return nil end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
protect.__newindex = refuse
setmetatable(G, protect)

local function restore_table(t, want)
  for k in rawnext, t do
    if want[k] == nil then rawset(t, k, nil) end
  end
  for k, v in rawnext, want do
    if rawget(t, k) ~= v then rawset(t, k, v) end
  end
end
local empty = {}

-- Called from Python around every script run.
return {
  compile = function(body)
    local f, e = rawloadstring(body, '@user_script')
    if f then
      setfenv(f, env)
      return f
    end
    return nil, e
  end,
  run = function(fn, keys, argv)
    rawset(G, 'KEYS', keys)
    rawset(G, 'ARGV', argv)
    return rawxpcall(fn, __redis__err__handler)
  end,
  restore = function()
    for i = #threads, 1, -1 do threads[i] = nil end
    if getmetatable(G) ~= protect then setmetatable(G, protect) end
    saved.KEYS, saved.ARGV = rawget(G, 'KEYS'), rawget(G, 'ARGV')
    restore_table(G, saved)
    for name, copy in rawnext, libraries do restore_table(reals[name], copy) end
    -- table.insert and friends write into views raw: emptied again.
    for v in rawnext, real_of do
      if rawnext(v) ~= nil then restore_table(v, empty) end
    end
  end,
  sethook = function(tick, count)
    -- A count hook asking Python (tick) whether to go on: SCRIPT KILL's way in.
    -- Once killed it fires on every line, so pcall cannot swallow the kill.
    local hook
    hook = function()
      -- Only script code is interrupted, never this file's own functions.
      local running = dbg.getinfo(2, 'S')
      if running and running.source == '=[redis]' then return end
      if tick() then
        dbg.sethook(hook, 'l')
        error({err='ERR Script killed by user with SCRIPT KILL...'}, 0)
      end
    end
    if tick then dbg.sethook(hook, '', count) else dbg.sethook() end
  end,
  rawget = rawget,
  type = type,
  debug = dbg,
  -- luaL_where(L, 1) seen from a Python function: the frame that called it.
  -- Frames of this file's own functions (coroutine.resume's wrapper...) are skipped.
  where = function()
    local co = current_thread()
    local level = co and 1 or 3
    local i = co and dbg.getinfo(co, level, 'Sl') or dbg.getinfo(level, 'Sl')
    while i and i.source == '=[redis]' do
      level = level + 1
      i = co and dbg.getinfo(co, level, 'Sl') or dbg.getinfo(level, 'Sl')
    end
    if i and i.currentline > 0 then return i.short_src .. ':' .. i.currentline .. ': ' end
    return ''
  end,
}
"""


class Rand48:
    """Redis's rand48 (redisLrand48): scripts' math.random, identical sequences."""

    _A = 0x5DEECE66D
    _C = 0xB
    _MASK = (1 << 48) - 1

    def __init__(self) -> None:
        self.seed(0)

    def seed(self, value: int) -> None:
        self.x = (((value & 0xFFFFFFFF) << 16) | 0x330E) & self._MASK

    def next(self) -> int:
        self.x = (self._A * self.x + self._C) & self._MASK
        return self.x >> 17

    def random(self) -> float:
        # (lrand48() % REDIS_LRAND48_MAX) / REDIS_LRAND48_MAX, REDIS_LRAND48_MAX = INT32_MAX
        return (self.next() % 0x7FFFFFFF) / 0x7FFFFFFF


def lua_number_to_int(value: float) -> int:
    """A Lua number as Redis replies it: C's (long long) cast (x86 gives LLONG_MIN)."""
    if isinstance(value, int):
        return value if LLONG_MIN <= value <= LLONG_MAX else LLONG_MIN
    if math.isnan(value) or math.isinf(value):
        return LLONG_MIN
    truncated = int(value)
    return truncated if LLONG_MIN <= truncated <= LLONG_MAX else LLONG_MIN


class LuaRaise(Exception):
    """Raised by a Python function called from Lua: the script sees ``payload``.

    lupa hands a Python exception to Lua as a userdata; the error handler and
    Redis's pcall unwrap it (``_unwrap``) into the table or string Redis would raise.
    """

    def __init__(self, payload: Any) -> None:
        super().__init__("script error")
        self.payload = payload


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


def _refuse_get(obj: Any, name: Any) -> Any:
    """lupa's attribute getter for Python objects in Lua: every index refused."""
    raise LuaRaise(b"attempt to index a userdata value")


def _refuse_set(obj: Any, name: Any, value: Any) -> None:
    """lupa's attribute setter for Python objects in Lua: every index refused."""
    raise LuaRaise(b"attempt to index a userdata value")


def _lua_tostring(number: Any) -> bytes:
    """Lua 5.1's number to string (LUA_NUMBER_FMT "%.14g")."""
    return b"%.14g" % number


def _lua_tonumber(value: Any) -> Any:
    """lua_tonumber's conversion (strings in Lua number syntax too), or None."""
    if value.__class__ in (int, float):
        return value
    if value.__class__ is bytes:
        text = value.strip()
        try:
            if text[:2].lower() in (b"0x", b"-0x", b"+0x") or text[:3].lower() in (b"-0x",):
                return float(int(text, 16))
            number = float(text)
        except ValueError:
            return None
        if text.lower().lstrip(b"+-") in (b"inf", b"nan", b"infinity"):
            return None
        return number
    return None


def _map_newlines(text: bytes) -> bytes:
    return text.replace(b"\r", b" ").replace(b"\n", b" ")


class ScriptError(CommandError):
    """An error reply that Redis does not count again in the error statistics.

    Errors produced by commands a script ran were counted when they happened; a
    script that returns or raises one of them must not count it a second time (the
    ``ignore_error_stats_update`` field of Redis's error tables). The dispatcher
    counts only exact :class:`CommandError` instances.
    """

    __slots__ = ()


class LuaEngine:
    """One Lua interpreter with Redis's sandbox and libraries, for one server."""

    def __init__(self, call: Callable[..., Tuple[bool, Any]],
                 log: Callable[[int, bytes], None], version: str) -> None:
        self.rand = Rand48()
        self.resp = 2                  # the running script's redis.setresp()
        # No Python object is ever handed to Lua (see the module doc); should one
        # slip through, the attribute handlers refuse every index on it, so that
        # nothing of Python (its classes, modules, builtins) can be reached from it.
        self.runtime = lua51.LuaRuntime(encoding=None, register_eval=False,
                                        register_builtins=False,
                                        unpack_returned_tuples=True,
                                        attribute_handlers=(_refuse_get, _refuse_set))
        rt = self.runtime
        self._table = rt.table
        major, minor, patch = (int(p) for p in (version.split(".") + ["0", "0"])[:3])
        self._command = call
        self._log = log
        self._where: Any = None
        self.reply_depth = 0             # nesting of the last from_lua reply
        callbacks = rt.table_from({
            b"call": self._redis_call,
            b"pcall": self._redis_pcall,
            b"sha1hex": self._sha1hex,
            b"log": self._redis_log,
            b"setresp": self._setresp,
            b"set_repl": self._set_repl,
            b"acl_check_cmd": self._acl_check_cmd,
            b"random": self._random,
            b"randomseed": self._randomseed,
            b"unwrap": _unwrap,
            b"protected_table_error": self._protected_table_error,
            b"version": version.encode(),
            b"version_num": (major << 16) | (minor << 8) | patch,
        })
        rt.globals()[b"__py"] = callbacks
        from . import lualibs, luapack
        threads = rt.table()             # the coroutines running, innermost last
        self.calls = luapack.calls(rt, threads)   # Lua's argument checks and errors
        callbacks[b"threads"] = threads
        lualibs.install(self)
        # Compiled under the internal chunk name the error handler recognises.
        chunk = rt.globals()[b"loadstring"](_PRELUDE.encode(), INTERNAL_CHUNK.encode())
        if chunk is None or isinstance(chunk, tuple):  # pragma: no cover - a prelude bug
            raise RuntimeError("Lua prelude does not compile: %r" % (chunk,))
        api = chunk()
        self._compile = api[b"compile"]
        self._run = api[b"run"]
        self.restore = api[b"restore"]
        self.sethook = api[b"sethook"]
        self._rawget = api[b"rawget"]
        self._type = api[b"type"]
        self._where = api[b"where"]
        # Lua's debug library, which scripts never get: for diagnostics and the
        # sandbox tests (tests/test_lua_sandbox.py walks the runtime with it).
        self.debug = api[b"debug"]

    # -- the Python side of the redis library ------------------------------------------
    def raise_table(self, message: bytes) -> None:
        """Raise Redis's error table {err=message} in the calling script."""
        raise LuaRaise(self._table_of({b"err": message}))

    def raise_here(self, message: str) -> None:
        """Raise ``message`` as luaL_error does: prefixed with the caller's position."""
        raise LuaRaise(self._where() + message.encode())

    def _command_args(self, args: Tuple[Any, ...]) -> List[bytes]:
        if not args:
            self.raise_table(b"ERR Please specify at least one argument for this redis lib call")
        argv = []
        for arg in args:
            cls = arg.__class__
            if cls is bytes:
                argv.append(arg)
            elif cls is int or cls is float:
                argv.append(b"%.17g" % arg)
            else:
                self.raise_table(b"ERR Lua redis lib command arguments must be strings or "
                                 b"integers")
        return argv

    def _redis_call(self, *args: Any) -> Any:
        ok, reply = self._command(*self._command_args(args))
        if not ok:
            raise LuaRaise(reply)
        return reply

    def _redis_pcall(self, *args: Any) -> Any:
        try:
            argv = self._command_args(args)
        except LuaRaise as exc:
            return exc.payload
        return self._command(*argv)[1]

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            self.raise_table(b"ERR wrong number of arguments")
        value = args[0]
        if value.__class__ in (int, float):
            value = _lua_tostring(value)
        elif value.__class__ is not bytes:
            value = b""
        return hashlib.sha1(value).hexdigest().encode()

    def _redis_log(self, *args: Any) -> None:
        if len(args) < 2:
            self.raise_table(b"ERR redis.log() requires two arguments or more.")
        level = args[0]
        if level.__class__ not in (int, float):
            self.raise_table(b"ERR First argument must be a number (log level).")
        if not 0 <= int(level) <= 3:
            self.raise_table(b"ERR Invalid debug level.")
        parts = [_lua_tostring(a) if a.__class__ in (int, float) else a
                 for a in args[1:] if a.__class__ in (bytes, int, float)]
        self._log(int(level), b" ".join(parts))

    def _setresp(self, *args: Any) -> None:
        if len(args) != 1:
            self.raise_table(b"ERR redis.setresp() requires one argument.")
        version = _lua_tonumber(args[0])
        if version not in (2, 3):
            self.raise_table(b"ERR RESP version must be 2 or 3.")
        self.resp = int(version)

    def _set_repl(self, *args: Any) -> None:
        if len(args) != 1:
            self.raise_table(b"ERR redis.set_repl() requires two arguments.")
        flags = int(_lua_tonumber(args[0]) or 0)
        if flags & ~3:
            self.raise_table(b"ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                             b"REPL_ALL or REPL_NONE.")

    def _acl_check_cmd(self, *args: Any) -> bool:
        # Every command is allowed to the default user (no ACL users here).
        argv = self._command_args(args)
        from ..commands import lookup
        if lookup(argv[0]) is None:
            self.raise_table(b"ERR Invalid command passed to redis.acl_check_cmd()")
        return True

    def _protected_table_error(self, *args: Any) -> None:
        # luaProtectedTableError, the __index of getmetatable(_G) in Redis 7.0.
        if len(args) != 2:
            self.raise_here("Wrong number of arguments to luaProtectedTableError")
        name = args[1]
        if name.__class__ in (int, float):
            name = _lua_tostring(name)
        elif name.__class__ is not bytes:
            self.raise_here("Second argument to luaProtectedTableError must be a string or "
                            "number")
        raise LuaRaise(self._where() + b"Script attempted to access nonexistent global "
                       b"variable '" + name + b"'")

    def check_int(self, args: Tuple[Any, ...], index: int) -> int:
        """luaL_checkint: the argument as a C int, or Lua's 'bad argument' error (named
        as the caller named the function, '?' from pcall, as Lua does)."""
        number = self.calls.check_number(args, index)
        if number != number or number in (math.inf, -math.inf):
            return -2 ** 31                  # (int) of NaN or Inf on x86-64
        return int(number)

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
            return float(math.floor(r * (upper - lower + 1)) + lower)
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
        rt = self.runtime
        self.resp = 2
        try:
            result = self._run(function, rt.table_from(keys), rt.table_from(argv))
        finally:
            self.restore()
        if not isinstance(result, tuple):  # xpcall's status alone: nothing returned
            return bool(result), None
        ok = result[0]
        value = result[1] if len(result) > 1 else None
        return bool(ok), value

    def lua_type(self, value: Any) -> str:
        if value is None:
            return "nil"
        return self._type(value).decode()

    # -- typed reply -> Lua --------------------------------------------------------
    def to_lua(self, reply: Any) -> Any:
        """A handler's typed reply as Redis hands it to the script (redis.call)."""
        cls = reply.__class__
        resp3 = self.resp == 3
        if cls is bytes:
            return reply
        if cls is int:
            return reply
        if reply is None or reply is NULL_ARRAY:
            return None if resp3 else False
        if cls is Simple:
            return self._table_of({b"ok": reply.encode()})
        if isinstance(reply, CommandError):
            return self._error_table(reply.message)
        if cls is Double:
            if resp3:
                return self._table_of({b"double": float(reply)})
            return format_double(reply)
        if cls is Bool or cls is bool:
            if resp3:
                return bool(reply)
            return int(reply)
        if cls is Map:
            if resp3:
                inner = self._table()
                for key, value in reply.items():
                    inner[self.to_lua(key)] = self.to_lua(value)
                return self._table_of({b"map": inner})
            flat = []
            for key, value in reply.items():
                flat.append(key)
                flat.append(value)
            return self._array(flat)
        if cls is Set:
            if resp3:
                inner = self._table()
                for member in reply:
                    inner[self.to_lua(member)] = True
                return self._table_of({b"set": inner})
            return self._array(reply)
        if cls is Verbatim:
            data = reply.encode()
            if resp3:
                return self._table_of({b"verbatim_string": self._table_of(
                    {b"format": b"txt", b"string": data})})
            return data
        if cls is str:
            return reply.encode()
        if cls in (bytearray, memoryview):
            return bytes(reply)
        if cls in (list, tuple, Push):
            return self._array(reply)
        if cls is Raw:
            return self._from_raw(reply)
        if isinstance(reply, int):
            return int(reply)
        raise TypeError("reply of unsupported type %r" % cls)

    def _array(self, items: Any) -> Any:
        table = self._table()
        for i, item in enumerate(items, 1):
            table[i] = self.to_lua(item)
        return table

    def _table_of(self, fields: Dict[bytes, Any]) -> Any:
        table = self._table()
        for key, value in fields.items():
            table[key] = value
        return table

    def _error_table(self, message: str) -> Any:
        text = message.encode("utf-8", "surrogateescape")
        return self._table_of({b"err": text, b"ignore_error_stats_update": True})

    def _from_raw(self, raw: bytes) -> Any:
        # Already-encoded replies (EXEC's) never reach scripts; decoded for safety.
        import hiredis
        reader = hiredis.Reader()
        reader.feed(raw)
        return self.to_lua(_plain(reader.gets()))

    # -- Lua -> typed reply --------------------------------------------------------
    def from_lua(self, value: Any, resp: int) -> Any:
        """A script's return value as Redis replies it (luaReplyToRedisReply).

        Iterative, so that nesting is bounded by what Redis allows, not by Python's
        recursion limit: Redis converts on the Lua stack, and a value reached when
        fewer than 4 of its 8000 slots are left becomes ``-ERR reached lua stack
        limit`` (each array level takes one slot, a map key four, a map value or set
        member three; the reply itself starts at two). A self-referencing table thus
        gives thousands of nested arrays ending in that error, as in Redis.
        ``self.reply_depth`` is set to the nesting depth of the reply."""
        frames: List[List[Any]] = []      # [container, source iterator, slots, map key]
        depth = 0
        result, child = self._convert(value, resp, _REPLY_SLOTS)
        if child is None:
            self.reply_depth = 0
            return result
        frames.append(child)
        root = result
        while frames:
            frame = frames[-1]
            source = frame[1]
            item = next(source, _DONE)
            if item is _DONE:
                frames.pop()
                if frames:
                    _store(frames[-1], frame[0])
                continue
            slots = frame[2]
            container = frame[0]
            if container.__class__ is list and slots < _LUA_STACK - 5:
                cls = item.__class__            # the common elements, converted here
                if cls is bytes:
                    container.append(item)
                    continue
                if cls is int:
                    container.append(item if LLONG_MIN <= item <= LLONG_MAX else LLONG_MIN)
                    continue
            if container.__class__ is PairsMap:
                if frame[3] is _DONE:          # a key: its copy is a fourth slot
                    converted, child = self._convert(item, resp, slots + 4)
                else:
                    converted, child = self._convert(item, resp, slots + 3)
            else:
                converted, child = self._convert(item, resp, slots + 1 if
                                                 frame[0].__class__ is list else slots + 3)
            if child is None:
                _store(frame, converted)
            else:
                frames.append(child)
                if len(frames) > depth:
                    depth = len(frames)
        self.reply_depth = depth
        return root

    def _convert(self, value: Any, resp: int, slots: int) -> Tuple[Any, Optional[List[Any]]]:
        """(reply, None) for a value converted at once, or (empty container, frame)
        for a table whose elements the caller converts."""
        if slots + 4 > _LUA_STACK:
            return CommandError("ERR reached lua stack limit"), None
        if value is None:
            return None, None
        cls = value.__class__
        if cls is bytes:
            return value, None
        if cls is bool:
            if resp == 3:
                return Bool(value), None
            return (1 if value else None), None
        if cls is int or cls is float:
            return lua_number_to_int(value), None
        kind = self.lua_type(value)
        if kind != "table":
            return None, None
        rawget = self._rawget
        err = rawget(value, b"err")
        if err.__class__ is bytes:
            message = err.decode("utf-8", "surrogateescape")
            if rawget(value, b"ignore_error_stats_update") is True:
                return ScriptError(message), None
            return CommandError(message), None
        ok = rawget(value, b"ok")
        if ok.__class__ is bytes:
            return Simple(_map_newlines(ok).decode("utf-8", "surrogateescape")), None
        double = rawget(value, b"double")
        if double.__class__ in (int, float):
            return Double(float(double)), None
        big = rawget(value, b"big_number")
        if big.__class__ is bytes:
            return BigNumber(_map_newlines(big).decode("utf-8", "surrogateescape")), None
        verbatim = rawget(value, b"verbatim_string")
        if verbatim is not None and self.lua_type(verbatim) == "table":
            fmt = rawget(verbatim, b"format")
            text = rawget(verbatim, b"string")
            if fmt.__class__ is bytes and text.__class__ is bytes:
                if fmt == b"txt":
                    try:
                        return Verbatim(text.decode()), None
                    except UnicodeDecodeError:
                        return text, None
                return text, None
        mapping = rawget(value, b"map")
        if mapping is not None and self.lua_type(mapping) == "table":
            result = PairsMap()
            return result, [result, _flat_items(mapping), slots, _DONE]
        members = rawget(value, b"set")
        if members is not None and self.lua_type(members) == "table":
            result = Set()
            return result, [result, iter(members.keys()), slots, None]
        items: List[Any] = []
        return items, [items, _array_items(rawget, value), slots, None]


_LUA_STACK = 8000              # LUAI_MAXCSTACK
_REPLY_SLOTS = 2               # the Lua stack a script's reply starts with in Redis
_DONE = object()


def _flat_items(table: Any) -> Any:
    """A map's keys and values, alternately, in lua_next order."""
    for key, value in table.items():
        yield key
        yield value


def _array_items(rawget: Any, table: Any) -> Any:
    """t[1], t[2]... up to the first nil, read as Redis reads them (lua_rawget)."""
    i = 1
    while True:
        item = rawget(table, i)
        if item is None:
            return
        yield item
        i += 1


def _store(frame: List[Any], value: Any) -> None:
    """Put a converted element into the container being built by ``frame``."""
    container = frame[0]
    if container.__class__ is PairsMap:
        if frame[3] is _DONE:
            frame[3] = value
        else:
            container.pairs.append((frame[3], value))
            frame[3] = _DONE
    else:
        container.append(value)


class PairsMap(Map):
    """A script's map reply: the pairs in Lua's order, as Redis writes them (two keys
    may convert to the same reply, 1 and 1.5 to :1, and a key may be a table)."""

    __slots__ = ("pairs",)

    def __init__(self) -> None:
        super().__init__()
        self.pairs: List[Tuple[Any, Any]] = []

    def items(self) -> Any:  # type: ignore[override]
        return self.pairs

    def __len__(self) -> int:
        return len(self.pairs)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
