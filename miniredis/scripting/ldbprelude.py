"""The Lua debugger's Lua half (SCRIPT DEBUG), part of the sandbox's prelude.

:mod:`miniredis.scripting.sandbox` splices :data:`LDB_PRELUDE` into its prelude,
after everything it uses is defined (the prelude's own debug library reference, its
raw table functions, the scripts' environment): the line hook of a debugging session,
how the debugger shows a Lua value, and what its commands read from the stopped
script's frames (print, trace, eval, redis). :mod:`miniredis.scripting.ldb` drives
it from Python; scripts never see any of it.
"""
from __future__ import annotations

LDB_PRELUDE = r"""-- The Lua debugger's Lua half (SCRIPT DEBUG; miniredis/scripting/ldb.py drives it):
-- the line hook, and what its commands read from the stopped script's frames. The
-- hook is this file's function, so scripts (which have no debug library) never see
-- or change it; a stop calls Python, which reads the frames through these functions.
local MAX_DEPTH = 10                 -- Redis's LDB_MAX_VALUES_DEPTH (LUA_MINSTACK/2)
local function repr_byte(c)
  if c == '\\' or c == '"' then return '\\' .. c end
  if c == '\n' then return '\\n' end
  if c == '\r' then return '\\r' end
  if c == '\t' then return '\\t' end
  if c == '\a' then return '\\a' end
  if c == '\b' then return '\\b' end
  return format('\\x%02x', c:byte())
end
local function pointer(v)
  local text = tostring(v)
  return text:match(': (.*)$') or text
end
-- ldbCatStackValue: a value as the debugger shows it (sdscatrepr for strings, %g
-- for numbers, arrays as {a; b}, other tables as {[k]=v; ...} in next order).
ldb_repr = function(v, level)
  if level == MAX_DEPTH then return '<max recursion level reached! Nested table?>' end
  level = level + 1
  local kind = type(v)
  if kind == 'string' then
    return '"' .. (v:gsub('[%z\1-\31\34\92\127-\255]', repr_byte)) .. '"'
  elseif kind == 'boolean' then
    return v and 'true' or 'false'
  elseif kind == 'number' then
    return format('%g', v)
  elseif kind == 'nil' then
    return 'nil'
  elseif kind == 'table' then
    local expected, is_array, array, full = 1, true, {}, {}
    for k, value in rawnext, real_of[v] or v do
      if is_array and (type(k) ~= 'number' or k ~= expected) then is_array = false end
      local shown = ldb_repr(value, level)
      array[expected] = shown
      full[expected] = '[' .. ldb_repr(k, level) .. ']=' .. shown
      expected = expected + 1
    end
    return '{' .. concat(is_array and array or full, '; ') .. '}'
  elseif kind == 'function' or kind == 'thread' then
    return '"' .. kind .. '@' .. pointer(v) .. '"'
  elseif kind == 'userdata' then
    -- cjson.null, Redis's NULL light userdata; no other userdata reaches scripts.
    return '"light-userdata@(nil)"'
  end
  return '"<unknown-lua-type>"'
end
-- The stopped script's frames are read on the thread the hook ran on: the main
-- one, or a coroutine the script resumed (ldb_thread). On the main thread, levels
-- are counted as the caller of frame_info/frame_local counts them.
local ldb_thread = nil
local function frame_info(level, what)
  if ldb_thread then return dbg.getinfo(ldb_thread, level, what) end
  return dbg.getinfo(level + 1, what)
end
local function frame_local(level, n)
  if ldb_thread then return dbg.getlocal(ldb_thread, level, n) end
  return dbg.getlocal(level + 1, n)
end
-- The level (as frame_info takes it, from the caller's point of view) of the frame
-- the hook stopped in: the one below the hook's own.
local function stopped_level()
  local level = ldb_thread and 0 or 2
  while true do
    local i
    if ldb_thread then i = dbg.getinfo(ldb_thread, level, 'f') else i = dbg.getinfo(level, 'f') end
    if i == nil then return nil end
    if i.func == ldb_hook then return level + (ldb_thread and 1 or 0) end
    level = level + 1
  end
end
local ldb_api = {
  -- stop(is_count_event, line, short_src) on every line of user code (and every
  -- ``count`` instructions); nil removes the hook.
  sethook = function(stop, count)
    if stop == nil then
      ldb_on, ldb_hook, ldb_thread = false, nil, nil
      dbg.sethook()
      return
    end
    stop = as_function(stop)
    ldb_on = true
    ldb_hook = function(event)
      local i = dbg.getinfo(2, 'Sl')
      if i == nil or i.source == '=[redis]' then return end
      ldb_thread = running()
      stop(event == 'count', i.currentline, i.short_src)
    end
    ldb_count = count
    dbg.sethook(ldb_hook, 'l', count)
  end,
  -- print: name, value, name, value... of the stopped frame's locals.
  locals = function()
    local out, level = {}, stopped_level()
    if level == nil then return out end
    local n = 1
    while true do
      local name, value = frame_local(level, n)
      if name == nil then break end
      if not name:find('(*temporary)', 1, true) then
        out[#out + 1] = name
        out[#out + 1] = ldb_repr(value, 0)
      end
      n = n + 1
    end
    return out
  end,
  -- print <var>: the innermost local of that name, from the stopped frame outwards;
  -- then the globals KEYS and ARGV.
  find = function(name)
    local level = stopped_level()
    while level ~= nil and frame_info(level, 'S') ~= nil do
      if frame_info(level, 'S').source ~= '=[redis]' then
        local n = 1
        while true do
          local found, value = frame_local(level, n)
          if found == nil then break end
          if found == name then return ldb_repr(value, 0) end
          n = n + 1
        end
      end
      level = level + 1
    end
    if name == 'KEYS' or name == 'ARGV' then return ldb_repr(rawget(G, name), 0) end
    return nil
  end,
  -- trace: 'In'/'From', function name, line of every frame of the script's code.
  trace = function()
    local out, level = {}, stopped_level()
    if level == nil then return out end
    local depth = 0
    while true do
      local i = frame_info(level, 'Snl')
      if i == nil then break end
      if i.short_src:find('user_script', 1, true) then
        out[#out + 1] = depth == 0 and 'In' or 'From'
        out[#out + 1] = i.name or 'top level'
        out[#out + 1] = i.currentline
      end
      depth = depth + 1
      level = level + 1
    end
    return out
  end,
  -- eval <code>: as an expression, else as a statement; true and the value shown,
  -- or false and the error. Compiled as text only, in the scripts' environment.
  eval = function(code)
    local f = nil
    if code:byte(1) ~= 27 then f = rawloadstring('return ' .. code, '@ldb_eval') end
    if f == nil then
      local e
      if code:byte(1) == 27 then
        f, e = binary_chunk_error('@ldb_eval')
      else
        f, e = rawloadstring(code, '@ldb_eval')
      end
      if f == nil then return false, e end
    end
    setfenv(f, env)
    local ok, value = rawpcall(f)
    if not ok then
      value = error_value(value)
      if type(value) == 'table' then value = rawget(value, 'err') end
      return false, tostring(value)
    end
    return true, ldb_repr(value, 0)
  end,
  -- redis <cmd>: redis.call, its error caught (the logs show it).
  call = function(...)
    rawpcall(redis.call, ...)
  end,
}

"""

__all__ = ["LDB_PRELUDE"]
