"""The dirty counter (INFO's ``rdb_changes_since_last_save``, the save points) and the
rule that decides which writes are propagated, as Redis counts them.

Redis lets every command add the number of changes it made to ``server.dirty`` (SADD
the members it added, DEL the keys it deleted, a no-op or a failure nothing), and its
``call()`` propagates a command to the AOF and the replicas only when the counter moved
during it (or when the command forces it: FLUSHALL, FLUSHDB).

Here the same split keeps the common commands free of extra work:

* a write command whose change count is one whenever it does not fail (INCR, SETEX,
  HINCRBY, LSET...) has ``Command.adds_one``: the dispatcher adds the one for it;
* the others, named in :data:`COUNTS_OWN`, add their own count to ``state.dirty`` (their
  pipeline loops too, once per run);
* the dispatcher (``Client.run_requests``, :func:`miniredis.runs.run_alike`, a script's
  ``redis.call``: :func:`write_done`) reads the counter before the handler and
  propagates the write only when it grew, or the command is in :data:`FORCED` and did
  not fail.
"""
from __future__ import annotations

from typing import Any, FrozenSet

# Write commands whose handlers add their own number of changes (full names).
COUNTS_OWN: FrozenSet[str] = frozenset((
    # strings and bits
    "set", "setnx", "mset", "msetnx", "getdel", "getex", "setrange", "setbit", "bitop",
    "bitfield",
    # keys
    "del", "unlink", "expire", "pexpire", "expireat", "pexpireat", "persist", "rename",
    "renamenx", "move", "copy", "restore", "restore-asking", "migrate",
    "flushall", "flushdb",
    # hashes
    "hset", "hmset", "hsetnx", "hdel",
    # lists
    "lpush", "rpush", "lpushx", "rpushx", "linsert", "lrem", "ltrim", "lpop", "rpop",
    "rpoplpush", "lmove", "lmpop", "blpop", "brpop", "blmove", "brpoplpush", "blmpop",
    # sets
    "sadd", "srem", "smove", "spop", "sinterstore", "sunionstore", "sdiffstore",
    # sorted sets
    "zadd", "zincrby", "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex",
    "zrangestore", "zunionstore", "zinterstore", "zdiffstore", "zpopmin", "zpopmax",
    "zmpop", "bzpopmin", "bzpopmax", "bzmpop",
    # streams
    "xadd", "xdel", "xtrim", "xack", "xclaim", "xautoclaim", "xreadgroup",
    "xgroup|destroy", "xgroup|createconsumer", "xgroup|delconsumer",
    # the rest
    "pfadd", "pfdebug", "geoadd", "georadius", "georadiusbymember", "geosearchstore",
    "sort",
))

# Propagated even when they changed nothing (forceCommandPropagation in Redis): a
# replica or an AOF must see the flush whatever the dataset was.
FORCED: FrozenSet[str] = frozenset(("flushall", "flushdb"))


def write_done(state: Any, cmd: Any, before: int, failed: bool) -> bool:
    """After write command ``cmd`` ran (``before``: ``state.dirty`` then): count its
    change if it is an ``adds_one`` command that did not fail, and tell whether it is
    to be propagated. The dispatcher's loops inline the same steps."""
    if cmd.adds_one and not failed:
        state.dirty += 1
    return state.dirty > before or (cmd.forced and not failed)
