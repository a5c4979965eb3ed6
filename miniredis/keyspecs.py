"""Key specifications: where each command's keys are and how it uses them.

Redis 7 describes every key argument of a command with a *key spec*: flags saying how
the key is used (``RW``/``RO``/``OW``/``RM`` plus ``access``/``update``/``insert``/
``delete``, and ``not_key``/``incomplete``/``variable_flags``), a *begin search* step
(a fixed index, or the argument after a keyword) and a *find keys* step (a range, or a
count read from the arguments). COMMAND INFO shows them, and COMMAND GETKEYS /
GETKEYSANDFLAGS find keys with them, falling back to the command's own key finder
when a spec cannot answer (an ``incomplete`` or ``unknown`` spec, bad arguments) or
when the flags depend on the arguments (``variable_flags``: SET ... GET, BITFIELD).

The table below is written in a compact notation of our own, one string per command
(specs separated by ``;``), each spec being ``FLAGS BEGIN FIND``:

- BEGIN: ``@3`` (index 3), ``STREAMS@1`` (the argument after keyword STREAMS,
  searched from index 1; a negative start searches backwards from the end), ``?``
  (unknown).
- FIND: ``0`` / ``-1`` / ``-1,2,0`` (range: last key relative to the first, or
  counted from the end when negative; then key step and limit, default ``1,0``),
  ``#0,1,1`` (key count: index of the count, first key and step, relative to the
  begin-search position), ``?`` (unknown).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

# Flag names in the order Redis prints them.
FLAG_ORDER = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
              "incomplete", "variable_flags")

_TABLE: Dict[str, str] = {
    "append": "RW insert @1 0",
    "bitcount": "RO access @1 0",
    "bitfield": "RW access update variable_flags @1 0",
    "bitfield_ro": "RO access @1 0",
    "bitop": "OW update @2 0; RO access @3 -1",
    "bitpos": "RO access @1 0",
    "blmove": "RW access delete @1 0; RW insert @2 0",
    "blmpop": "RW access delete @2 #0,1,1",
    "blpop": "RW access delete @1 -2",
    "brpop": "RW access delete @1 -2",
    "brpoplpush": "RW access delete @1 0; RW insert @2 0",
    "bzmpop": "RW access delete @2 #0,1,1",
    "bzpopmax": "RW access delete @1 -2",
    "bzpopmin": "RW access delete @1 -2",
    "copy": "RO access @1 0; OW update @2 0",
    "decr": "RW access update @1 0",
    "decrby": "RW access update @1 0",
    "del": "RM delete @1 -1",
    "dump": "RO access @1 0",
    "eval": "RW access update @2 #0,1,1",
    "eval_ro": "RO access @2 #0,1,1",
    "evalsha": "RW access update @2 #0,1,1",
    "evalsha_ro": "RO access @2 #0,1,1",
    "exists": "RO @1 -1",
    "expire": "RW update @1 0",
    "expireat": "RW update @1 0",
    "expiretime": "RO access @1 0",
    "fcall": "RW access update @2 #0,1,1",
    "fcall_ro": "RO access @2 #0,1,1",
    "geoadd": "RW update @1 0",
    "geodist": "RO access @1 0",
    "geohash": "RO access @1 0",
    "geopos": "RO access @1 0",
    "georadius": "RO access @1 0; OW update STORE@6 0; OW update STOREDIST@6 0",
    "georadius_ro": "RO access @1 0",
    "georadiusbymember": "RO access @1 0; OW update STORE@5 0; OW update STOREDIST@5 0",
    "georadiusbymember_ro": "RO access @1 0",
    "geosearch": "RO access @1 0",
    "geosearchstore": "OW update @1 0; RO access @2 0",
    "get": "RO access @1 0",
    "getbit": "RO access @1 0",
    "getdel": "RW access delete @1 0",
    "getex": "RW access update @1 0",
    "getrange": "RO access @1 0",
    "getset": "RW access update @1 0",
    "hdel": "RW delete @1 0",
    "hexists": "RO @1 0",
    "hget": "RO access @1 0",
    "hgetall": "RO access @1 0",
    "hincrby": "RW access update @1 0",
    "hincrbyfloat": "RW access update @1 0",
    "hkeys": "RO access @1 0",
    "hlen": "RO @1 0",
    "hmget": "RO access @1 0",
    "hmset": "RW update @1 0",
    "hrandfield": "RO access @1 0",
    "hscan": "RO access @1 0",
    "hset": "RW update @1 0",
    "hsetnx": "RW insert @1 0",
    "hstrlen": "RO @1 0",
    "hvals": "RO access @1 0",
    "incr": "RW access update @1 0",
    "incrby": "RW access update @1 0",
    "incrbyfloat": "RW access update @1 0",
    "lcs": "RO access @1 1",
    "lindex": "RO access @1 0",
    "linsert": "RW insert @1 0",
    "llen": "RO @1 0",
    "lmove": "RW access delete @1 0; RW insert @2 0",
    "lmpop": "RW access delete @1 #0,1,1",
    "lpop": "RW access delete @1 0",
    "lpos": "RO access @1 0",
    "lpush": "RW insert @1 0",
    "lpushx": "RW insert @1 0",
    "lrange": "RO access @1 0",
    "lrem": "RW delete @1 0",
    "lset": "RW update @1 0",
    "ltrim": "RW delete @1 0",
    "memory|usage": "RO @2 0",
    "mget": "RO access @1 -1",
    "migrate": "RW access delete @3 0; RW access delete incomplete KEYS@-2 -1",
    "move": "RW access update @1 0",
    "mset": "OW update @1 -1,2,0",
    "msetnx": "OW insert @1 -1,2,0",
    "object|encoding": "RO @2 0",
    "object|freq": "RO @2 0",
    "object|idletime": "RO @2 0",
    "object|refcount": "RO @2 0",
    "persist": "RW update @1 0",
    "pexpire": "RW update @1 0",
    "pexpireat": "RW update @1 0",
    "pexpiretime": "RO access @1 0",
    "pfadd": "RW insert @1 0",
    "pfcount": "RW access @1 -1",
    "pfdebug": "RW access @2 0",
    "pfmerge": "RW access insert @1 0; RO access @2 -1",
    "psetex": "OW update @1 0",
    "pttl": "RO access @1 0",
    "rename": "RW access delete @1 0; OW update @2 0",
    "renamenx": "RW access delete @1 0; OW insert @2 0",
    "restore": "OW update @1 0",
    "restore-asking": "OW update @1 0",
    "rpop": "RW access delete @1 0",
    "rpoplpush": "RW access delete @1 0; RW insert @2 0",
    "rpush": "RW insert @1 0",
    "rpushx": "RW insert @1 0",
    "sadd": "RW insert @1 0",
    "scard": "RO @1 0",
    "sdiff": "RO access @1 -1",
    "sdiffstore": "OW update @1 0; RO access @2 -1",
    "set": "RW access update variable_flags @1 0",
    "setbit": "RW access update @1 0",
    "setex": "OW update @1 0",
    "setnx": "OW insert @1 0",
    "setrange": "RW update @1 0",
    "sinter": "RO access @1 -1",
    "sintercard": "RO access @1 #0,1,1",
    "sinterstore": "RW update @1 0; RO access @2 -1",
    "sismember": "RO @1 0",
    "smembers": "RO access @1 0",
    "smismember": "RO access @1 0",
    "smove": "RW access delete @1 0; RW insert @2 0",
    "sort": "RO access @1 0; RO access ? ?; OW update ? ?",
    "sort_ro": "RO access @1 0; RO access ? ?",
    "spop": "RW access delete @1 0",
    "spublish": "not_key @1 0",
    "srandmember": "RO access @1 0",
    "srem": "RW delete @1 0",
    "sscan": "RO access @1 0",
    "ssubscribe": "not_key @1 -1",
    "strlen": "RO @1 0",
    "substr": "RO access @1 0",
    "sunion": "RO access @1 -1",
    "sunionstore": "OW update @1 0; RO access @2 -1",
    "sunsubscribe": "not_key @1 -1",
    "touch": "RO @1 -1",
    "ttl": "RO access @1 0",
    "type": "RO @1 0",
    "unlink": "RM delete @1 -1",
    "watch": "RO @1 -1",
    "xack": "RW update @1 0",
    "xadd": "RW update @1 0",
    "xautoclaim": "RW delete @1 0",
    "xclaim": "RW update @1 0",
    "xdel": "RW delete @1 0",
    "xgroup|create": "RW insert @2 0",
    "xgroup|createconsumer": "RW insert @2 0",
    "xgroup|delconsumer": "RW delete @2 0",
    "xgroup|destroy": "RW delete @2 0",
    "xgroup|setid": "RW update @2 0",
    "xinfo|consumers": "RO access @2 0",
    "xinfo|groups": "RO access @2 0",
    "xinfo|stream": "RO access @2 0",
    "xlen": "RO @1 0",
    "xpending": "RO access @1 0",
    "xrange": "RO access @1 0",
    "xread": "RO access STREAMS@1 -1,1,2",
    "xreadgroup": "RO access STREAMS@4 -1,1,2",
    "xrevrange": "RO access @1 0",
    "xsetid": "RW update @1 0",
    "xtrim": "RW delete @1 0",
    "zadd": "RW update @1 0",
    "zcard": "RO @1 0",
    "zcount": "RO access @1 0",
    "zdiff": "RO access @1 #0,1,1",
    "zdiffstore": "OW update @1 0; RO access @2 #0,1,1",
    "zincrby": "RW access update @1 0",
    "zinter": "RO access @1 #0,1,1",
    "zintercard": "RO access @1 #0,1,1",
    "zinterstore": "OW update @1 0; RO access @2 #0,1,1",
    "zlexcount": "RO access @1 0",
    "zmpop": "RW access delete @1 #0,1,1",
    "zmscore": "RO access @1 0",
    "zpopmax": "RW access delete @1 0",
    "zpopmin": "RW access delete @1 0",
    "zrandmember": "RO access @1 0",
    "zrange": "RO access @1 0",
    "zrangebylex": "RO access @1 0",
    "zrangebyscore": "RO access @1 0",
    "zrangestore": "OW update @1 0; RO access @2 0",
    "zrank": "RO access @1 0",
    "zrem": "RW delete @1 0",
    "zremrangebylex": "RW delete @1 0",
    "zremrangebyrank": "RW delete @1 0",
    "zremrangebyscore": "RW delete @1 0",
    "zrevrange": "RO access @1 0",
    "zrevrangebylex": "RO access @1 0",
    "zrevrangebyscore": "RO access @1 0",
    "zrevrank": "RO access @1 0",
    "zscan": "RO access @1 0",
    "zscore": "RO access @1 0",
    "zunion": "RO access @1 #0,1,1",
    "zunionstore": "OW update @1 0; RO access @2 #0,1,1",
}

# Redis's explanatory notes on some specs: (command, spec index) -> text.
_WORST_RW = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"
_WORST_RO = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"
_BY_GET = ("For the optional BY/GET keyword. It is marked 'unknown' because the key names "
           "derive from the content of the key we sort")
_NOTES: Dict[Tuple[str, int], str] = {
    ("bitfield", 0): "This command allows both access and modification of the key",
    ("eval", 0): _WORST_RW, ("eval_ro", 0): _WORST_RO,
    ("fcall", 0): _WORST_RW, ("fcall_ro", 0): _WORST_RO,
    ("getex", 0): "RW and UPDATE because it changes the TTL",
    ("pfcount", 0): "RW because it may change the internal representation of the key, "
                    "and propagate to replicas",
    ("set", 0): "RW and ACCESS due to the optional `GET` argument",
    ("sort", 1): _BY_GET, ("sort_ro", 1): _BY_GET,
    ("sort", 2): "For the optional STORE keyword. It is marked 'unknown' because the "
                 "keyword can appear anywhere in the argument array",
    ("xadd", 0): "UPDATE instead of INSERT because of the optional trimming feature",
}


class KeySpec:
    """One key spec: its flags, how to find where its keys begin, and how many."""

    __slots__ = ("flags", "begin", "find", "notes")

    def __init__(self, flags: Tuple[str, ...], begin: tuple, find: tuple,
                 notes: Optional[str]) -> None:
        self.flags = flags      # in FLAG_ORDER
        self.begin = begin      # ("index", pos) | ("keyword", KEYWORD, startfrom) | ("unknown",)
        self.find = find        # ("range", lastkey, step, limit) | ("keynum", idx, first,
        self.notes = notes      #   step) | ("unknown",)


def _parse(name: str, text: str) -> List[KeySpec]:
    specs = []
    for number, part in enumerate(text.split(";")):
        *flags, begin, find = part.split()
        if begin == "?":
            where: tuple = ("unknown",)
        elif begin.startswith("@"):
            where = ("index", int(begin[1:]))
        else:
            keyword, start = begin.split("@")
            where = ("keyword", keyword, int(start))
        if find == "?":
            how: tuple = ("unknown",)
        elif find.startswith("#"):
            how = ("keynum", *map(int, find[1:].split(",")))
        else:
            numbers = [int(n) for n in find.split(",")]
            how = ("range", numbers[0], *(numbers[1:] or [1, 0]))
        assert all(flag in FLAG_ORDER for flag in flags), (name, flags)
        specs.append(KeySpec(tuple(f for f in FLAG_ORDER if f in flags), where, how,
                             _NOTES.get((name, number))))
    return specs


SPECS: Dict[str, List[KeySpec]] = {name: _parse(name, text) for name, text in _TABLE.items()}


def specs_of(fullname: str) -> List[KeySpec]:
    """The key specs of a command or subcommand ("get", "xgroup|create")."""
    return SPECS.get(fullname, [])


def has_keys(fullname: str, has_finder: bool) -> bool:
    """Whether COMMAND GETKEYS may find keys: a key finder of its own, or a spec for
    real keys (SPUBLISH's channel spec is ``not_key``)."""
    return has_finder or any("not_key" not in s.flags for s in specs_of(fullname))


def _search(specs: Sequence[KeySpec], args: Sequence[bytes]
            ) -> Optional[List[Tuple[int, Tuple[str, ...]]]]:
    """Keys found by the specs alone, as (position, flags); None when a spec cannot
    tell (unknown or incomplete spec, a count or range past the arguments)."""
    argc = len(args)
    found: List[Tuple[int, Tuple[str, ...]]] = []
    for spec in specs:
        if "not_key" in spec.flags:
            continue
        if spec.begin[0] == "index":
            first = spec.begin[1]
        elif spec.begin[0] == "keyword":
            keyword, start = spec.begin[1].lower(), spec.begin[2]
            if start > 0:
                indexes = range(start, argc - 1)
            else:
                indexes = range(argc + start, 1, -1)
            first = 0
            for i in indexes:
                if i >= argc or i < 1:
                    break
                if args[i].lower() == keyword.encode():
                    first = i + 1
                    break
            if not first:
                continue
        else:
            return None
        if spec.find[0] == "range":
            _, lastkey, step, limit = spec.find
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif spec.find[0] == "keynum":
            _, idx, first_key, step = spec.find
            if idx >= argc or first + idx >= argc:
                return None
            count = _strict_int(args[first + idx])
            if count is None or count < 0:
                return None
            first += first_key
            last = first + count - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        found.extend((i, spec.flags) for i in range(first, last + 1, step))
        if "incomplete" in spec.flags:
            return None
    return found


def _strict_int(text: bytes) -> Optional[int]:
    """Redis's string2ll: an exact decimal integer that fits in 64 bits."""
    if not text or len(text) > 20 or text.strip() != text or text.startswith(b"+"):
        return None
    if text.startswith(b"0") and text != b"0" or text.startswith(b"-0"):
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if -(1 << 63) <= value < (1 << 63) else None


def _finder_flags(name: str, args: Sequence[bytes], pos: int) -> Tuple[str, ...]:
    """The flags Redis's own key finders give (only those whose specs cannot tell;
    the others report none)."""
    if name in ("sort", "sort_ro"):
        return ("RO", "access") if pos == 1 else ("OW", "update")
    if name == "migrate":
        return ("RW", "access", "delete")
    if name == "set":
        if any(arg.lower() == b"get" for arg in args[3:]):
            return ("RW", "access", "update")
        return ("OW", "update")
    if name == "bitfield":
        return ("RO", "access") if _bitfield_readonly(args) else ("RW", "access", "update")
    return ()


def _bitfield_readonly(args: Sequence[bytes]) -> bool:
    """Whether BITFIELD's operations are all GETs (malformed ones count as writes)."""
    i = 2
    while i < len(args):
        word, remaining = args[i].lower(), len(args) - i - 1
        if word == b"get" and remaining >= 2:
            i += 3
        elif word == b"overflow" and remaining >= 1:
            i += 2
        else:
            return False
    return True


def keys_and_flags(cmd, args: Sequence[bytes]) -> List[Tuple[int, Tuple[str, ...]]]:
    """(position, flags) of the keys in ``args`` for command ``cmd``, as Redis's
    getKeysFromCommandWithSpecs finds them: the specs when they can tell and their
    flags do not depend on the arguments, else the command's own key finder."""
    specs = specs_of(cmd.fullname)
    real = any("not_key" not in s.flags for s in specs)
    variable = any("variable_flags" in s.flags for s in specs)
    if real and not variable:
        found = _search(specs, args)
        if found is not None:
            return found
    if cmd.key_finder is None and not variable:
        return []
    return [(pos, _finder_flags(cmd.fullname, args, pos)) for pos in cmd.key_indexes(list(args))
            if pos < len(args)]
