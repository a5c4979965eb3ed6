"""Which access (read, write, both, neither) a command needs on each key it names.

ACL key patterns can grant read (``%R~``), write (``%W~``) or both (``~``). Redis decides
what a key needs from its key-spec flags: ACCESS needs read, INSERT/DELETE/UPDATE need
write, and a key with none of them (EXISTS, TYPE, ...) is matched by any pattern. This
table states that for every command with keys, from Redis 7.0's key specs (the same
metadata COMMAND INFO reports). A command's first key and its further keys may need
different access (``SMOVE src dst``, ``SUNIONSTORE dest key...``).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

READ = 1
WRITE = 2
BOTH = READ | WRITE
NONE = 0

_READ = """bitcount bitfield_ro bitpos dump eval_ro evalsha_ro expiretime fcall_ro geodist
geohash geopos georadius_ro georadiusbymember_ro geosearch get getbit getrange hget hgetall
hkeys hmget hrandfield hscan hvals lcs lindex lpos lrange mget pexpiretime pfcount pfdebug
pttl sdiff sinter sintercard smembers smismember sort_ro srandmember sscan substr sunion ttl
xinfo|consumers xinfo|groups xinfo|stream xpending xrange xread xreadgroup xrevrange zcount
zdiff zinter zintercard zlexcount zmscore zrandmember zrange zrangebylex zrangebyscore zrank
zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion"""
_NONE = """exists hexists hlen hstrlen llen memory|usage object|encoding object|freq
object|idletime object|refcount scard sismember spublish ssubscribe strlen sunsubscribe
touch type watch xlen zcard"""
_WRITE = """append del expire expireat geoadd hdel hmset hset hsetnx linsert lpush lpushx
lrem lset ltrim mset msetnx persist pexpire pexpireat pfadd psetex restore restore-asking
rpush rpushx sadd setex setnx setrange srem unlink xack xadd xautoclaim xclaim xdel
xgroup|create xgroup|createconsumer xgroup|delconsumer xgroup|destroy xgroup|setid xsetid
xtrim zadd zrem zremrangebylex zremrangebyrank zremrangebyscore"""
_BOTH = """bitfield blmpop blpop brpop bzmpop bzpopmax bzpopmin decr decrby eval evalsha
fcall getdel getex getset hincrby hincrbyfloat incr incrby incrbyfloat lmpop lpop migrate
move rpop set setbit spop zincrby zmpop zpopmax zpopmin"""

# (first key, further keys) for every command.
NEEDS: Dict[str, Tuple[int, int]] = {}
for _names, _need in ((_READ, READ), (_NONE, NONE), (_WRITE, WRITE), (_BOTH, BOTH)):
    for _name in _names.split():
        NEEDS[_name] = (_need, _need)
NEEDS.update({
    "bitop": (WRITE, READ), "geosearchstore": (WRITE, READ), "pfmerge": (BOTH, READ),
    "sdiffstore": (WRITE, READ), "sinterstore": (WRITE, READ), "sunionstore": (WRITE, READ),
    "zdiffstore": (WRITE, READ), "zinterstore": (WRITE, READ), "zrangestore": (WRITE, READ),
    "zunionstore": (WRITE, READ), "blmove": (BOTH, WRITE), "brpoplpush": (BOTH, WRITE),
    "lmove": (BOTH, WRITE), "rpoplpush": (BOTH, WRITE), "rename": (BOTH, WRITE),
    "renamenx": (BOTH, WRITE), "smove": (BOTH, WRITE), "copy": (READ, WRITE),
    # the source is read; a STORE / STOREDIST destination is written
    "georadius": (READ, WRITE), "georadiusbymember": (READ, WRITE), "sort": (READ, WRITE),
})


_BOTH_BOTH = (BOTH, BOTH)
# Commands whose key's access depends on their arguments (handled in key_needs).
VARIABLE_NEEDS = frozenset(("set", "bitfield"))


def key_needs(fullname: str, args: List[bytes], positions: List[int]) -> List[int]:
    """The access each key at ``positions`` needs (READ/WRITE bits, in order)."""
    first, rest = NEEDS.get(fullname, _BOTH_BOTH)
    if fullname == "set":
        # Variable flags: SET ... GET reads the old value too.
        first = WRITE
        if len(args) > 3:
            for arg in args[3:]:
                if arg.lower() == b"get":
                    first = BOTH
    elif fullname == "bitfield":
        first = READ if _bitfield_read_only(args) else BOTH
    count = len(positions)
    if count == 1:
        return [first]
    return [first] + [rest] * (count - 1)


def _bitfield_read_only(args: List[bytes]) -> bool:
    """BITFIELD with only GET (and OVERFLOW) operations only reads its key."""
    i = 2
    n = len(args)
    while i < n:
        left = n - i - 1
        op = args[i].lower()
        if op == b"get" and left >= 2:
            i += 3
        elif op == b"overflow" and left >= 1:
            i += 2
        else:
            return False
    return True
