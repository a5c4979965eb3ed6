"""Popping from sorted sets: ZPOPMIN/ZPOPMAX, ZMPOP and the blocking BZPOPMIN,
BZPOPMAX and BZMPOP, which park the client through :mod:`miniredis.blocking`."""
from __future__ import annotations

from typing import Any, List, Tuple

from .. import errors
from ..args import to_int
from ..blocking import NOT_SERVED, block, parse_block_timeout
from ..datatypes.zset import ZSet
from ..errors import CommandError
from ..protocol import NULL_ARRAY, Double
from . import command, numkeys_positions
from .zsets import _changed, _nested_pairs, _pairs, get_zset


# -- popping ------------------------------------------------------------------------------
def _pop_from(client, key: bytes, zset: ZSet, count: int, highest: bool) -> list:
    taken = zset.pop(count, highest)
    _changed(client, key, zset, b"zpopmax" if highest else b"zpopmin", len(taken))
    return taken


def _zpop(client, args: List[bytes], highest: bool):
    """ZPOPMIN/ZPOPMAX. Without a count the reply is one flat member/score pair even in
    RESP3; with one it is a list of pairs (nested in RESP3)."""
    if len(args) > 3:
        raise CommandError(errors.SYNTAX)
    count = None
    if len(args) == 3:
        count = to_int(args[2])
        if count is None or count < 0:
            raise CommandError(errors.OUT_OF_RANGE_POSITIVE)
    key = args[1]
    zset = get_zset(client, key)
    if zset is None or count == 0:
        return []
    taken = _pop_from(client, key, zset, 1 if count is None else count, highest)
    if count is None:
        score, member = taken[0]
        return [member, Double(score)]
    return _pairs(client, taken)


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), group="sorted-set", since="5.0.0",
         summary="Remove and return members with the lowest scores in a sorted set")
def zpopmin(client, args: List[bytes]):
    return _zpop(client, args, highest=False)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), group="sorted-set", since="5.0.0",
         summary="Remove and return members with the highest scores in a sorted set")
def zpopmax(client, args: List[bytes]):
    return _zpop(client, args, highest=True)


def _parse_mpop(args: List[bytes], first: int) -> Tuple[List[bytes], bool, int]:
    """``numkeys key... MIN|MAX [COUNT n]`` from ``args[first]``: (keys, max?, count)."""
    numkeys = to_int(args[first])
    if numkeys is None or numkeys <= 0:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    where_at = first + 1 + numkeys
    if where_at >= len(args):
        raise CommandError(errors.SYNTAX)
    where = args[where_at].lower()
    if where not in (b"min", b"max"):
        raise CommandError(errors.SYNTAX)
    count = None
    index = where_at + 1
    while index < len(args):
        if count is None and args[index].lower() == b"count" and index + 1 < len(args):
            count = to_int(args[index + 1])
            if count is None or count <= 0:
                raise CommandError(errors.COUNT_POSITIVE)
            index += 2
        else:
            raise CommandError(errors.SYNTAX)
    return args[first + 1:where_at], where == b"max", count or 1


def _mpop_from(client, keys: List[bytes], highest: bool, count: int,
               blocking: bool = False) -> Any:
    """Pop from the first existing key (WRONGTYPE if it is not a sorted set)."""
    for key in keys:
        zset = get_zset(client, key)
        if zset is not None:
            if blocking:
                _look_up_again(client, key)
            return [key, _nested_pairs(_pop_from(client, key, zset, count, highest))]
    return None


@command("zmpop", -4, "write", keys=(0, 0, 0), group="sorted-set", since="7.0.0",
         summary="Remove and return members with scores in a sorted set",
         key_finder=numkeys_positions)
def zmpop(client, args: List[bytes]):
    keys, highest, count = _parse_mpop(args, 1)
    result = _mpop_from(client, keys, highest, count)
    return NULL_ARRAY if result is None else result


def _look_up_again(client, key: bytes) -> None:
    """A blocking pop that finds a sorted set at once pops it as ZPOPMIN/ZPOPMAX do in
    Redis (genericZpopCommand), which looks the key up once more: an access more."""
    client.db.get(key)


def _blocking_pop(client, args: List[bytes], highest: bool):
    """BZPOPMIN/BZPOPMAX: pop from the first non-empty key (type-checking the keys in
    order until then), else park the client; the reply is [key, member, score]."""
    timeout = parse_block_timeout(args[-1])
    keys = args[1:-1]
    for key in keys:
        zset = get_zset(client, key)
        if zset is not None:
            _look_up_again(client, key)
            score, member = _pop_from(client, key, zset, 1, highest)[0]
            return [key, member, Double(score)]

    def serve(client, db, key):
        zset = db.get(key)      # (genericZpopCommand looks it up for each waiter)
        if zset.__class__ is not ZSet or not zset:
            return NOT_SERVED
        score, member = _pop_from(client, key, zset, 1, highest)[0]
        return [key, member, Double(score)]
    return block(client, keys, timeout, serve, NULL_ARRAY, kind="zset")


@command("bzpopmin", -3, "write noscript blocking fast", keys=(1, -2, 1),
         group="sorted-set", since="5.0.0", summary="Remove and return the member with the "
         "lowest score from one or more sorted sets, or block until one is available")
def bzpopmin(client, args: List[bytes]):
    return _blocking_pop(client, args, highest=False)


@command("bzpopmax", -3, "write noscript blocking fast", keys=(1, -2, 1),
         group="sorted-set", since="5.0.0", summary="Remove and return the member with the "
         "highest score from one or more sorted sets, or block until one is available")
def bzpopmax(client, args: List[bytes]):
    return _blocking_pop(client, args, highest=True)


@command("bzmpop", -5, "write blocking", keys=(0, 0, 0), group="sorted-set",
         since="7.0.0", summary="Remove and return members with scores in a sorted set or "
         "block until one is available", key_finder=lambda args: numkeys_positions(args, 2))
def bzmpop(client, args: List[bytes]):
    keys, highest, count = _parse_mpop(args, 2)
    timeout = parse_block_timeout(args[1])     # (after the rest, as Redis)
    result = _mpop_from(client, keys, highest, count, blocking=True)
    if result is not None:
        return result

    def serve(client, db, key):
        zset = db.get(key)      # (genericZpopCommand looks it up for each waiter)
        if zset.__class__ is not ZSet or not zset:
            return NOT_SERVED
        return [key, _nested_pairs(_pop_from(client, key, zset, count, highest))]
    return block(client, keys, timeout, serve, NULL_ARRAY, kind="zset")
