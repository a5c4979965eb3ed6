"""Replies crossing between Lua and Python, in as few calls into Lua as possible.

A command's reply handed to a script (redis.call: ``to_lua``) and a script's value
handed back as its reply (``from_lua``) used to cross lupa's boundary once per table
or element, which made nested or long replies several times slower than Redis (a
crossing costs about half a microsecond). Here each crosses once (or once per 4,000
values): a flat array goes as its elements, a nested one flattened with a mark and
a length per array and rebuilt in Lua; a script's value is flattened in Lua into
tags and values, in the order luaReplyToRedisReply converts it, and rebuilt in
Python. redis.call's own reply does not even cross as a table: its Python half
returns a mark and the values (``call_reply``), which lupa puts on the Lua stack as
they are, and the table is made in Lua by the redis.call wrapper (a status reply's
{ok=...} too): a table made from Python cost a call into Lua and a reference each
way (redis.call('set') 5.8 -> 3.9 us, a two-element LRANGE 8.7 -> 6.9 us in process).
Both keep what Redis makes of a table: ``t[i]`` set in order (nils
included), its err/ok/double/... fields looked up in Redis's order, and the slots
each value would take on Redis's Lua stack.

:data:`REPLIES` is the Lua half, run once per runtime before the sandbox's prelude
(``type``, ``rawget``, ``next`` and ``unpack`` are still the originals then);
:class:`ReplyConversions` the Python half, which :class:`~.lua.LuaEngine` inherits.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Tuple

from ..errors import CommandError
from ..protocol import (NULL_ARRAY, BigNumber, Bool, Bulks, Double, FlatMap, Map, Push, Raw,
                        Set, Simple, TaggedVerbatim, UniformBulks, Verbatim,
                        format_double)

LLONG_MIN = -(2 ** 63)
LLONG_MAX = 2 ** 63 - 1

# Lua code returning the functions below, run once per runtime.
REPLIES = r"""
local type, rawget, rawnext, unpack, floor = type, rawget, next, unpack, math.floor

-- A script's reply value flattened for Python (LuaEngine.from_lua), in the order
-- luaReplyToRedisReply converts it: pairs of tag and payload (never nil) --
-- 0 a string, number or boolean; 8 nil (or a function, thread...); 1 an error (9:
-- one with ignore_error_stats_update); 2 ok; 3 double; 4 big_number; 5 a verbatim
-- string (two pairs: format, string); 6, 7 and 11 an array, a map and a set begin
-- (a map's keys and values alternate, in next's order; a set's members are its
-- keys); 10 the one begun last ends; 12 "reached lua stack limit"; 14: an array
-- that is one run of 13 (which follows) and ends with it; 13 and a count:
-- that many values of an array follow, as they are (no tags): strings, and whole
-- numbers under 2^53 in size (lupa hands those to Python as ints, which is what
-- Redis's (long long) cast makes of them). Each value takes
-- Redis's Lua stack slots (two for the reply, one per array level, four for a map
-- key, three for a map value or a set member): one reached with fewer than four of
-- LUAI_MAXCSTACK's 8000 left is that error, as in Redis (a table holding itself
-- nests until then). One call into Lua for any reply, instead of one per table.
local STACK_SLOTS = 8000
local EXACT = 2 ^ 53
local function reply_tokens(v)
  local out, n = {}, 0
  -- the containers being walked: kind (6, 7, 11), table, position (an index or a
  -- key), slots, and for a map the value waiting for its key to be done
  local kinds, tables, places, frame_slots, waiting, top = {}, {}, {}, {}, {}, 0
  local function begin(kind, t, place, slots)
    out[n + 1], out[n + 2], n = kind, 0, n + 2
    top = top + 1
    kinds[top], tables[top], places[top], frame_slots[top], waiting[top] =
      kind, t, place, slots, false
  end
  local function value(x, slots)
    if slots + 4 > STACK_SLOTS then out[n + 1], out[n + 2], n = 12, 0, n + 2 return end
    local kind = type(x)
    if kind == 'string' or kind == 'number' or kind == 'boolean' then
      out[n + 1], out[n + 2], n = 0, x, n + 2
      return
    end
    if kind ~= 'table' then out[n + 1], out[n + 2], n = 8, 0, n + 2 return end
    -- Nothing past the array's border (the commonest table): no field to look for.
    local border = #x
    local after
    if border == 0 then after = rawnext(x) else after = rawnext(x, border) end
    if after ~= nil then
      local f = rawget(x, 'err')
      if type(f) == 'string' then
        out[n + 1] = rawget(x, 'ignore_error_stats_update') == true and 9 or 1
        out[n + 2], n = f, n + 2
        return
      end
      f = rawget(x, 'ok')
      if type(f) == 'string' then out[n + 1], out[n + 2], n = 2, f, n + 2 return end
      f = rawget(x, 'double')
      if type(f) == 'number' then out[n + 1], out[n + 2], n = 3, f, n + 2 return end
      f = rawget(x, 'big_number')
      if type(f) == 'string' then out[n + 1], out[n + 2], n = 4, f, n + 2 return end
      f = rawget(x, 'verbatim_string')
      if type(f) == 'table' then
        local format, text = rawget(f, 'format'), rawget(f, 'string')
        if type(format) == 'string' and type(text) == 'string' then
          out[n + 1], out[n + 2], out[n + 3], out[n + 4], n = 5, format, 5, text, n + 4
          return
        end
      end
      f = rawget(x, 'map')
      if type(f) == 'table' then return begin(7, f, nil, slots) end
      f = rawget(x, 'set')
      if type(f) == 'table' then return begin(11, f, nil, slots) end
    end
    begin(6, x, 0, slots)
  end
  local function done()              -- the innermost container is complete
    out[n + 1], out[n + 2], n = 10, 0, n + 2
    tables[top], top = nil, top - 1
  end
  value(v, 2)
  while top > 0 do
    local kind, t, slots = kinds[top], tables[top], frame_slots[top]
    if kind == 6 then
      -- a run of strings and whole numbers goes as one token: 13, its length, them
      local i = places[top] + 1
      local e = rawget(t, i)
      local k = type(e)
      local whole = false
      if (k == 'string' or k == 'number' and e == floor(e) and e < EXACT and e > -EXACT)
          and slots + 5 <= STACK_SLOTS then
        local head = n + 2
        whole = i == 1
        n = head
        repeat
          n = n + 1
          out[n] = e
          i = i + 1
          e = rawget(t, i)
          k = type(e)
        until not (k == 'string' or
                   k == 'number' and e == floor(e) and e < EXACT and e > -EXACT)
        out[head - 1], out[head] = 13, n - head
        -- The whole array is the run: 14 in place of its 6 (just before), no 10.
        whole = whole and e == nil
        if whole then out[head - 3] = 14 end
      end
      if whole then
        tables[top], top = nil, top - 1
      elseif e ~= nil then
        places[top] = i
        value(e, slots + 1)
      else
        done()
      end
    elseif waiting[top] then        -- a map's value, its key converted
      waiting[top] = false
      value(rawget(t, places[top]), slots + 3)
    else                            -- a map's next key, or a set's next member
      local key = rawnext(t, places[top])
      if key == nil then
        done()
      else
        places[top] = key
        if kind == 7 then
          waiting[top] = true
          value(key, slots + 4)
        else
          value(key, slots + 3)
        end
      end
    end
  end
  if n <= 4000 then return out, n, unpack(out, 1, n) end
  return out, n, unpack(out, 1, 4000)
end

-- A reply's values as LuaEngine._array flattens them, back into tables (see
-- build_reply below).
local ARRAY = {}
local function build_reply(values)
  local pos = 2
  local function array()        -- values[pos] is its length
    local t = {}
    for i = 1, values[pos] do
      pos = pos + 1
      local v = values[pos]
      if v == ARRAY then
        pos = pos + 1
        v = array()
      end
      t[i] = v
    end
    return t
  end
  return array()
end

-- A command's array reply as Redis hands it to a script: t[1], t[2]... set in
-- order, as redisProtocolToLuaType's lua_settable calls do (a nil element too: it
-- shapes the table, and so #t, as it does there). n values, 4000 at most per call.
local function array_of(n, ...)
  local a, t = {...}, {}
  for i = 1, n do t[i] = a[i] end
  return t
end

-- redis.call's value, from what the command's Python half returns
-- (ReplyConversions.call_reply): a value as it is, or a mark and values -- an array
-- (its length, then its elements), a status reply (its text), a nested array
-- (flattened as build_reply takes it). The table is made here, in the script's own
-- call: made from Python it cost a call into Lua and a reference each way.
local AS_ARRAY, AS_STATUS, AS_NESTED = {}, {}, {}
local function call_reply(kind, ...)
  if kind == AS_ARRAY then return array_of(...) end
  if kind == AS_STATUS then return {ok = (...)} end
  if kind == AS_NESTED then return build_reply({...}) end
  return kind
end

return {
  reply_tokens = reply_tokens,
  call_reply = call_reply,
  as_array = AS_ARRAY,
  as_status = AS_STATUS,
  as_nested = AS_NESTED,
  -- Tables made for Python (an array inside a map, a reply of more than 4000
  -- values): array_of, then array_more for each further 4000.
  array_of = array_of,
  array_more = function(t, start, n, ...)
    local a = {...}
    for i = 1, n do t[start + i] = a[i] end
  end,
  -- A nested one, in one call into Lua (see LuaEngine._flatten): values, each
  -- array given as ARRAY and its length before its elements; past 4000 of them,
  -- in a table of them made first (array_of, array_more).
  array_mark = ARRAY,
  build_reply = function(values, ...)
    return build_reply(values or {...})
  end,
}
"""


def lua_number_to_int(value: float) -> int:
    """A Lua number as Redis replies it: C's (long long) cast (x86 gives LLONG_MIN)."""
    if isinstance(value, int):
        return value if LLONG_MIN <= value <= LLONG_MAX else LLONG_MIN
    if math.isnan(value) or math.isinf(value):
        return LLONG_MIN
    truncated = int(value)
    return truncated if LLONG_MIN <= truncated <= LLONG_MAX else LLONG_MIN


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


class ReplyConversions:
    """LuaEngine's conversions of replies (see the module docstring). Needs
    ``resp``, ``_table``, ``reply_errors``/``reply_depth`` and the functions of
    :data:`REPLIES` (``_reply_tokens``, ``_array_part``, ``_array_of``...)."""

    def to_lua(self, reply: Any) -> Any:
        """A handler's typed reply as Redis hands it to the script (redis.call)."""
        cls = reply.__class__
        resp3 = self.resp == 3
        if cls is bytes:
            return reply
        if cls is int:
            return reply
        if cls in _ARRAYS:
            return self._array(reply)
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
        if cls is FlatMap:                          # (HGETALL's)
            return self.to_lua(Map(zip(reply[0::2], reply[1::2])))
        if cls is Map or isinstance(reply, Map):    # (PairMap: XREAD's RESP3 reply)
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
        if cls is BigNumber:          # (only DEBUG PROTOCOL bignum answers one)
            if resp3:
                return self._table_of({b"big_number": reply.encode()})
            return reply.encode()
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
        if cls is Raw:
            return self._from_raw(reply)
        if cls is float:              # a RESP3 double decoded from a Raw reply (GEOPOS)
            return self.to_lua(Double(reply))
        if isinstance(reply, int):
            return int(reply)
        raise TypeError("reply of unsupported type %r" % cls)

    def call_reply(self, reply: Any) -> Any:
        """A command's reply as redis.call's Lua half takes it (REPLIES's call_reply):
        an array of up to 4000 values or a status reply as a mark and the values the
        table is made of, in the script's call; anything else as :meth:`to_lua` has
        it."""
        if reply.__class__ in _ARRAYS:
            nested, values = self._array_values(reply)
            if len(values) < _ARRAY_PART:
                if nested:
                    return (self._as_nested, *values)
                return (self._as_array, len(values), *values)
            return self._array_table(nested, values)
        if reply.__class__ is Simple:
            return self._as_status, reply.encode()
        return self.to_lua(reply)

    def _array(self, items: Any) -> Any:
        return self._array_table(*self._array_values(items))

    def _array_table(self, nested: bool, values: Any) -> Any:
        # (the Lua table of what _array_values gave)
        return self._build_nested(values) if nested else self._lua_array(values)

    def _array_values(self, items: Any) -> Tuple[bool, Any]:
        """An array reply's values for Lua: (False, its elements converted) if it
        holds no array, else (True, it flattened as build_reply takes it)."""
        if items.__class__ is Bulks or items.__class__ is UniformBulks:
            return False, items                 # strings only (LRANGE...)
        try:
            return False, [item if item.__class__ is bytes or item.__class__ is int
                           else self._element(item) for item in items]
        except _Nested:                         # built in Lua in one call
            values: List[Any] = []
            self._flatten(items, values)
            return True, values

    def _lua_array(self, values: Any) -> Any:
        """A Lua table of ``values``, t[1], t[2]... set in order: in one call into Lua,
        or one per 4000 values."""
        count = len(values)
        if count <= _ARRAY_PART:
            return self._array_of(count, *values)
        table = self._array_of(_ARRAY_PART, *values[:_ARRAY_PART])
        for start in range(_ARRAY_PART, count, _ARRAY_PART):
            chunk = values[start:start + _ARRAY_PART]
            self._array_more(table, start, len(chunk), *chunk)
        return table

    def _element(self, item: Any) -> Any:
        """An element of a flat array reply, converted (_Nested: not flat)."""
        if item.__class__ in _ARRAYS:
            raise _Nested
        return self.to_lua(item)

    def _build_nested(self, values: List[Any]) -> Any:
        if len(values) < _ARRAY_PART:
            return self._build_reply(None, *values)
        return self._build_reply(self._lua_array(values))

    def _flatten(self, items: Any, values: List[Any]) -> None:
        """An array reply as build_reply takes it (see REPLIES): the mark and
        the length, then the elements, nested arrays flattened the same way."""
        values.append(self._array_mark)
        values.append(len(items))
        if items.__class__ is Bulks or items.__class__ is UniformBulks:
            values += items                     # strings only (LRANGE...)
            return
        for item in items:
            cls = item.__class__
            if cls is bytes or cls is int:      # (most elements)
                values.append(item)
            elif cls in _ARRAYS:
                self._flatten(item, values)
            else:
                values.append(self.to_lua(item))

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
        if raw[:1] == b"|":
            reader.gets()       # an attribute (DEBUG PROTOCOL attrib): Lua skips it
        return self.to_lua(_plain(reader.gets()))

    # -- Lua -> typed reply --------------------------------------------------------
    def from_lua(self, value: Any, resp: int) -> Any:
        """A script's return value as Redis replies it (luaReplyToRedisReply).

        A table is flattened in Lua, in one call (REPLIES's reply_tokens, which
        says how), and rebuilt here without recursion, so that nesting is bounded by
        what Redis allows, not by Python's recursion limit: Redis converts on the Lua
        stack, and a value reached when fewer than 4 of its 8000 slots are left
        becomes ``-ERR reached lua stack limit``. A self-referencing table thus gives
        thousands of nested arrays ending in that error, as in Redis.
        ``self.reply_depth`` is set to the nesting depth of the reply, and
        ``self.reply_errors`` lists the error replies made, in order."""
        self.reply_errors = []
        self.reply_depth = 0
        cls = value.__class__
        if cls is bytes:
            return value
        if cls is int or cls is float:
            return lua_number_to_int(value)
        if cls is bool:
            return Bool(value) if resp == 3 else (1 if value else None)
        if value is None:
            return None
        found = self._reply_tokens(value)     # (table, total, tokens...)
        table, total = found[0], found[1]
        if total + 2 > len(found):
            tokens = list(found)
            while len(tokens) < total + 2:
                tokens += self._array_part(table, len(tokens) - 1)[1:]
            found = tokens
        return self._rebuild(found, resp)

    def _rebuild(self, tokens: Any, resp: int) -> Any:
        """The reply reply_tokens flattened (see REPLIES), its tokens from the third
        of ``tokens`` on."""
        stack: List[Any] = []        # the containers being filled, innermost last
        keys: List[Any] = []         # per container: a map's key waiting for its value
        depth = 0
        root = None
        errors = self.reply_errors
        i, end = 2, len(tokens)
        while i < end:
            tag = tokens[i]
            payload = tokens[i + 1]
            i += 2
            if tag == 13:                   # a run of an array's strings and integers
                stack[-1] += tokens[i:i + payload]
                i += payload
                continue
            if tag == 14:                   # an array of one run: 13, its count, it
                count = tokens[i + 1]
                item = list(tokens[i + 2:i + 2 + count])
                i += 2 + count
                if len(stack) >= depth:
                    depth = len(stack) + 1
            elif tag == 0:
                cls = payload.__class__
                if cls is bytes:
                    item = payload
                elif cls is bool:
                    item = Bool(payload) if resp == 3 else (1 if payload else None)
                else:
                    item = lua_number_to_int(payload)
            elif tag == 10:                 # the innermost container is complete
                item = stack.pop()
                keys.pop()
            elif tag == 6 or tag == 7 or tag == 11:
                stack.append([] if tag == 6 else PairsMap() if tag == 7 else Set())
                keys.append(_DONE)
                if len(stack) > depth:
                    depth = len(stack)
                continue
            elif tag == 8:
                item = None
            elif tag == 1 or tag == 9 or tag == 12:
                if tag == 12:
                    item = CommandError("ERR reached lua stack limit")
                else:
                    # (err and ok are read as C strings, sdsnew: a NUL ends them)
                    message = payload.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                    item = ScriptError(message) if tag == 9 else CommandError(message)
                errors.append(item)
            elif tag == 2:
                item = Simple(_map_newlines(payload.split(b"\0", 1)[0]).decode(
                    "utf-8", "surrogateescape"))
            elif tag == 3:
                item = Double(float(payload))
            elif tag == 4:
                item = BigNumber(_map_newlines(payload).decode("utf-8", "surrogateescape"))
            else:                           # 5: format, then the string
                item = TaggedVerbatim(payload, tokens[i + 1])
                i += 2
            if not stack:
                root = item
                continue
            container = stack[-1]
            if container.__class__ is PairsMap:
                key = keys[-1]
                if key is _DONE:
                    keys[-1] = item
                else:
                    container.pairs.append((key, item))
                    keys[-1] = _DONE
            else:
                container.append(item)
        # (a reply of one level counts as 0, as nesting was counted before)
        self.reply_depth = depth if depth > 1 else 0
        return root

_DONE = object()


_ARRAYS = (list, tuple, Push, Bulks, UniformBulks)   # replies that become arrays
_ARRAY_PART = 4000             # values per call across Lua's C stack (array_of...)


class _Nested(Exception):
    """An array reply holds arrays: built by LuaEngine._build_nested."""


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
