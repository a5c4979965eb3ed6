"""The sandbox scripts run in: the Lua code that prepares each runtime (the prelude).

:class:`miniredis.scripting.lua.LuaEngine` runs :data:`PRELUDE` once per runtime,
after the libraries (lualibs, luapack) are defined: it builds the ``redis`` library
and Redis's error handler, removes what Redis 7.0 does not offer, makes the globals
and libraries read-only views, and returns the functions the engine calls around
every script.

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
to check all this. The Lua debugger's part of the prelude (SCRIPT DEBUG's line hook
and frame readers) is :mod:`miniredis.scripting.ldbprelude`, spliced in near the end.
"""
from __future__ import annotations

from .ldbprelude import LDB_PRELUDE

# Lua code of the sandbox, run once per runtime. ``__py`` is a table of Python
# callbacks, removed from the globals at the end.
PRELUDE = r"""
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
-- The Lua debugger's state (see redis.debug below and the end of this file).
local ldb_on, ldb_repr, ldb_log = false, nil, as_function(py.ldb_log)
local ldb_hook, ldb_count = nil, 0   -- the line hook while a session runs
-- Functions that can raise are Python callables (C functions to Lua): a tail call
-- to them keeps the script's frame, so errors point at its line as in Redis.
-- redis.call and redis.pcall are Lua functions around them: a call with many
-- arguments passes them in a table instead. lupa's C wrapper needs two slots of the
-- C function's 8000-slot Lua stack (LUAI_MAXCSTACK) beyond the arguments, so it
-- cannot take the 7,990 and more that Redis's C function does (unpack of a big
-- table), and its cost per argument grows with their count (0.12 us each at 10, 0.9
-- at 1,000, 3.5 at 5,000, in lupa 2.8) where the table's stays flat: past about 80
-- arguments the table is the faster way (limits' moving window pushes 5,000 at a
-- time). A script's tail call to them stays an ordinary call (see tailcalls.py), so
-- their errors still name the script's line.
-- What the Python half returns becomes the reply in call_reply (replies.py).
local MANY_ARGS = 80
local call_command = as_function(py.call)
local call_many = as_function(py.call_many)
local call_reply = py.call_reply
function redis.call(...)
  local n = select('#', ...)
  if n < MANY_ARGS then return call_reply(call_command(...)) end
  return call_reply(call_many(n, {...}))
end
redis.sha1hex = as_function(py.sha1hex)
redis.log = as_function(py.log)
redis.setresp = as_function(py.setresp)
redis.set_repl = as_function(py.set_repl)
redis.acl_check_cmd = as_function(py.acl_check_cmd)
local pcall_command = py.pcall
local pcall_many = as_function(py.pcall_many)
function redis.pcall(...)
  local n = select('#', ...)
  if n < MANY_ARGS then return call_reply(pcall_command(...)) end
  return call_reply(pcall_many(n, {...}))
end

-- "-CODE message" or "message" (gets the ERR code), trailing CR/LF trimmed; read as
-- a C string (luaPushErrorBuff): a NUL ends it.
local function error_table(text)
  if ldb_on then ldb_log('error', text) end   -- logged while stepping, as Redis does
  text = text:match('^[^%z]*')
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
-- The Lua debugger (SCRIPT DEBUG, miniredis/scripting/ldb.py): both do nothing
-- unless a debugging session runs; its Lua half is at the end of this file.
local ldb_breakpoint = as_function(py.ldb_breakpoint)
function redis.breakpoint()
  if not ldb_on then return false end
  ldb_breakpoint()
  return true
end
function redis.debug(...)
  if not ldb_on then return end
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = ldb_repr((select(i, ...)), 0) end
  ldb_log('debug', table.concat(parts, ', '))
end
if py.register_function then
  -- The runtime of FUNCTION: Redis registers these three for EVAL's runtime only.
  redis.breakpoint, redis.debug, redis.replicate_commands = nil, nil, nil
end
G.redis = redis

-- Redis's pcall (luaRedisPcall): an error table raised by the redis library comes
-- back as its text; a table without a text in ``err`` comes back with that field too
-- (Redis leaves it on the stack); with nothing to call, it calls its own placeholder.
local rawpcall, rawxpcall = pcall, xpcall
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = error_value((...))
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then return false, m end
    return false, e, m
  end
  return false, e
end
function pcall(...)
  if select('#', ...) == 0 then return false, 'attempt to call a boolean value' end
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
local views = {}                     -- the same views in an array (restore's check)
local function shows(v, t)
  real_of[v] = t
  views[#views + 1] = v
end
local function view(t)
  local v = setmetatable({}, {__index = t, __newindex = refuse})
  shows(v, t)
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

-- math.log of a negative number: Redis's Lua (glibc's log) gives NaN with the sign
-- set, printed -nan; lupa's build gives nan. 0/0 is that NaN.
local rawlog = math.log
function math.log(...)
  local x = tonumber((...))
  if x == nil then badarg(1, 'log', expected('number', 1, ...)) end
  if x < 0 then return 0/0 end
  return rawlog(x)
end

-- string.dump cannot dump C functions, which all of Redis's library functions are;
-- this file's Lua functions (redis.call, next, table.insert...) are refused alike.
local rawdump = string.dump
function string.dump(...)
  local f = ...
  if type(f) ~= 'function' then badarg(1, 'dump', expected('function', 1, ...)) end
  if dbg.getinfo(f, 'S').source == '=[redis]' then
    error('unable to dump given function', 2)
  end
  return rawdump(f)
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
    -- Lua's debug hooks are per thread: a debugging session's follows the script
    -- into its coroutines, as Redis's C hook does.
    if ldb_hook then dbg.sethook(ldb_hook, 'l', ldb_count) end
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
shows(env, G)
G._G = env

function G.next(...)
  local t, k = ...
  if type(t) ~= 'table' then badarg(1, 'next', expected('table', 1, ...)) end
  return rawnext(real_of[t] or t, k)
end

-- unpack(t, i, j) counts its results as the C int j - i + 1, which overflows when
-- i and j are far apart (unpack(t, 2^31): i becomes INT_MIN). Redis's Lua then sees
-- a count <= 0 and raises "too many results to unpack"; lupa's build of Lua 5.1 has
-- that test optimised away (the overflow is undefined in C) and pushed 2^31 values:
-- the server crashed. So unpack's checks are made here, as the C function makes them
-- (each bound through lua_Integer to int: truncated, INT64_MIN out of range, the low
-- 32 bits kept; lua_checkstack's 8,000 slots, the arguments' among them), its errors
-- raised at the caller's level as luaL_error's are; the real unpack only ever gets a
-- range it can push.
do
  local function c_int(x)
    if x ~= x or x >= 2^63 or x < -2^63 then return 0 end
    if x >= 0 then x = floor(x) else x = -floor(-x) end
    x = x % 2^32
    if x >= 2^31 then x = x - 2^32 end
    return x
  end
  function G.unpack(...)
    local t, i, j = ...
    if type(t) ~= 'table' then badarg(1, 'unpack', expected('table', 1, ...)) end
    local first, last = 1, nil
    if i ~= nil then
      first = tonumber(i)
      if first == nil then badarg(2, 'unpack', expected('number', 2, ...)) end
      first = c_int(first)
    end
    if j ~= nil then
      last = tonumber(j)
      if last == nil then badarg(3, 'unpack', expected('number', 3, ...)) end
      last = c_int(last)
    else
      last = #t
    end
    if first > last then return end
    local n, count = last - first + 1, select('#', ...)
    if n > 2147483647 or n + count > 8000 then
      error('too many results to unpack', 2)
    end
    -- (as many arguments as it was given: they count among the stack's slots)
    if count >= 3 then return unpack(t, first, last) end
    if count == 2 then return unpack(t, first) end
    return unpack(t)
  end
end

-- pairs hands back the table it was given, as Lua's does (a view, never the table it
-- shows: that one must stay out of scripts' reach, or rawset could write to it), and
-- for a view an iterator that reads through it (not the global next, as in Redis).
local function view_next(t, k)
  return rawnext(real_of[t] or t, k)
end
function G.pairs(...)
  local t = ...
  if type(t) ~= 'table' then badarg(1, 'pairs', expected('table', 1, ...)) end
  if real_of[t] then return view_next, t, nil end
  return rawnext, t, nil
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

-- A chunk compiled from a script's text, with its tail calls to library functions
-- made ordinary calls (tailcalls.py says why).
local patched_dump = as_function(py.keep_frames)
local function keep_frames(f)
  local patched = patched_dump(rawdump(f))
  if patched then return rawloadstring(patched) end
  return f
end

local function in_env(f, e)
  if f then
    f = keep_frames(f)
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

-- Puts ``t`` back as ``want``; true if anything had changed.
local function restore_table(t, want)
  local changed = false
  for k in rawnext, t do
    if want[k] == nil then rawset(t, k, nil) changed = true end
  end
  for k, v in rawnext, want do
    if rawget(t, k) ~= v then rawset(t, k, v) changed = true end
  end
  return changed
end
local empty = {}

-- Redis 7.0's function engine (function_lua.c), used by the runtime of FUNCTION and
-- FCALL only: a library's code runs once, at FUNCTION LOAD, seeing nothing but the
-- load API (a ``redis`` table with register_function, log and the version); the
-- functions it registers keep the library's environment, which later reads through
-- to the ordinary globals. Both are read-only, as Redis's globals are.
local library_api, library_env, library_mt = nil, nil, nil
if py.register_function then
  -- A C function (Python), as Redis's: its errors name the caller's line even from
  -- a tail call.
  local register_function = as_function(py.register_function)
  local function missing(t, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end
  local api_redis = setmetatable({
    register_function = register_function, log = redis.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
  }, {__index = missing, __newindex = refuse})
  library_api = setmetatable({redis = api_redis}, {__index = missing, __newindex = refuse})
  library_mt = {__index = env, __newindex = refuse}
  library_env = setmetatable({}, library_mt)
  shows(library_env, G)
end

local function load_error(e)
  e = error_value(e)
  if type(e) == 'table' then
    local m = rawget(e, 'err')
    if type(m) == 'string' then return m end
    return 'ERR unknown error'
  end
  return 'ERR ' .. tostring(e)
end

""" + LDB_PRELUDE + r"""-- After a run: what no script can reach (the globals, every library behind its
-- view, the views' own raw parts) is checked and put back; true if anything had
-- changed (a hole in the sandbox). ``full``: the globals and the libraries too, a
-- comparison of every entry that costs more than a short script (see LuaEngine).
local function restore(full)
  for i = #threads, 1, -1 do threads[i] = nil end
  local changed = false
  if getmetatable(G) ~= protect then setmetatable(G, protect) changed = true end
  for i = 1, #views do
    local v = views[i]
    if rawnext(v) ~= nil then restore_table(v, empty) changed = true end
  end
  if full then
    saved.KEYS, saved.ARGV = rawget(G, 'KEYS'), rawget(G, 'ARGV')
    if restore_table(G, saved) then changed = true end
    for name, copy in rawnext, libraries do
      if restore_table(reals[name], copy) then changed = true end
    end
  end
  return changed
end

-- KEYS (the first nkeys arguments) and ARGV of a run, as tables.
local function split_args(nkeys, ...)
  local keys, argv = {...}, {select(nkeys + 1, ...)}
  for i = select('#', ...), nkeys + 1, -1 do keys[i] = nil end
  return keys, argv
end

-- Called from Python around every script run.
return {
  compile = function(body)
    local f, e = rawloadstring(body, '@user_script')
    if f then
      f = keep_frames(f)
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
  -- A script's run in one call from Python, for a few arguments (a call's are on the
  -- C stack): KEYS (the first nkeys) and ARGV made here, the script run, then the
  -- sandbox's check; returns the check's finding, xpcall's status, the first value.
  run_args = function(fn, full, nkeys, ...)
    local keys, argv = split_args(nkeys, ...)
    rawset(G, 'KEYS', keys)
    rawset(G, 'ARGV', argv)
    local ok, value = rawxpcall(fn, __redis__err__handler)
    return restore(full), ok, value
  end,
  restore = restore,
  sethook = function(tick, count, message)
    -- A count hook asking Python (tick) whether to go on: SCRIPT KILL's way in.
    -- Once killed it fires on every line, so pcall cannot swallow the kill.
    local hook
    hook = function()
      -- Only script code is interrupted, never this file's own functions.
      local running = dbg.getinfo(2, 'S')
      if running and running.source == '=[redis]' then return end
      if tick() then
        dbg.sethook(hook, 'l')
        error({err=message or 'ERR Script killed by user with SCRIPT KILL...'}, 0)
      end
    end
    if tick then dbg.sethook(hook, '', count) else dbg.sethook() end
  end,
  -- FUNCTION LOAD: compile a library's code and run it with the load API; nil and
  -- the compile error, or false and the run's error text, or true.
  load_library = function(body)
    local f, e = rawloadstring(body, '@user_function')
    if not f then return nil, e end
    f = keep_frames(f)
    setfenv(f, library_env)
    library_mt.__index = library_api
    local ok, err = rawpcall(f)
    library_mt.__index = env
    if ok then return true end
    return false, load_error(err)
  end,
  -- FCALL: a registered function gets KEYS and ARGV as its two arguments.
  call_function = function(fn, keys, argv)
    return rawxpcall(function() return fn(keys, argv) end, __redis__err__handler)
  end,
  -- FCALL's run in one call, as run_args.
  call_function_args = function(fn, full, nkeys, ...)
    local keys, argv = split_args(nkeys, ...)
    local ok, value = rawxpcall(function() return fn(keys, argv) end,
                                __redis__err__handler)
    return restore(full), ok, value
  end,
  rawget = rawget,
  -- t[i], t[i+1]... up to the first nil or 4000 of them, after their count: a
  -- script's reply read in one call into Lua rather than one per element.
  array_part = function(t, i)
    local j = i
    while j < i + 4000 and rawget(t, j) ~= nil do j = j + 1 end
    return j - i, unpack(t, i, j - 1)
  end,
  type = type,
  debug = dbg,
  ldb = ldb_api,
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

__all__ = ["PRELUDE"]
