"""Sorted set commands. A sorted set is a :class:`miniredis.datatypes.zset.ZSet`.
Popping (ZPOPMIN..BZMPOP) is in ``zset_pops.py``, ZUNION/ZINTER/ZDIFF in
``zset_setops.py``; the reply helpers they share are here, the score and range
parsing in ``zset_args.py``.

Parsing follows Redis 7.0 argument by argument, because the order in which Redis
validates options, ranges and the key decides which error a client sees.

Replies with scores use ``Double``: a bulk string (``%.17g``) in RESP2 and a RESP3
double; member/score pairs are flat in RESP2 and nested pairs in RESP3, as Redis sends
them. Writes that add members report the key to the blocking machinery so that
BZPOPMIN/BZPOPMAX/BZMPOP waiters are served, oldest first.
"""
from __future__ import annotations

import math
import random
from typing import Any, Dict, List, Optional, Tuple

from .. import errors
from ..security.outputlimits import draws
from ..args import LLONG_MAX, index_range, parse_int
from ..datatypes.zset import ZSet
from ..errors import CommandError
from ..protocol import NULL_ARRAY, Bulks, Double, format_double
from ..evict import stamps_count
from ..notify import notify
from . import command, lookup, own_name, unchanged_windows
from .keys import parse_cursor, parse_scan_options
from .reads import read_run
from .zset_args import _lex_range, _parse_score, _score_range, _score_range_empty


# -- lookups and replies ---------------------------------------------------------------
def get_zset(client, key: bytes) -> Optional[ZSet]:
    """The sorted set at ``key``, None if missing, WRONGTYPE for anything else.

    A write lookup (lookupKeyWrite): no keyspace hit/miss is counted."""
    return client.db.get_typed(key, ZSet)


def _read_zset(client, key: bytes) -> Optional[ZSet]:
    """Like :func:`get_zset` for read commands, which count a keyspace hit or miss
    (INFO stats) before the type is checked, as lookupKeyRead does."""
    value = client.db.get_read(key)
    if value is not None and value.__class__ is not ZSet:
        raise CommandError(errors.WRONGTYPE)
    return value


def _limits(client) -> Tuple[int, int]:
    """(zset-max-listpack-entries, zset-max-listpack-value), read at each write since
    CONFIG SET may change them at any time."""
    values = client.state.config.values
    return values["zset-max-listpack-entries"], values["zset-max-listpack-value"]


def _pairs(client, entries, with_scores: bool = True) -> list:
    """Members, or member/score pairs: flat in RESP2, nested pairs in RESP3."""
    if not with_scores:
        return Bulks([member for _, member in entries])
    if client.resp == 3:
        return [[member, Double(score)] for score, member in entries]
    # RESP2 sends a Double as the bulk string format_double makes: made here, the
    # reply is all bulks, encoded in one join (as in a script, where a Double
    # becomes that string too).
    out: list = []
    for score, member in entries:
        out.append(member)
        out.append(format_double(score))
    return Bulks(out)


def _column_pairs(client, scores: List[float], members: List[bytes]) -> list:
    """:func:`_pairs` with scores, from a range's two columns."""
    if client.resp == 3:
        return [[member, Double(score)] for score, member in zip(scores, members)]
    out = Bulks([None] * (2 * len(members)))
    out[::2] = members
    out[1::2] = map(format_double, scores)   # (RESP2's Double: see _pairs)
    return out


def _nested_pairs(entries) -> list:
    """Member/score pairs as arrays in both protocols (ZMPOP, BZMPOP)."""
    return [[member, Double(score)] for score, member in entries]


def _changed(client, key: bytes, zset: ZSet, event: bytes, removed: int) -> None:
    """After removing members: count them, the keyspace event, delete the emptied key,
    tell WATCH."""
    client.state.dirty += removed
    db = client.db
    notify(db, "z", event, key)
    db.delete_if_empty(key, zset)
    db.signal_modified(key)


def _store(client, key: bytes, scores: Dict[bytes, float], event: bytes) -> int:
    """STORE commands: replace ``key`` by a new set (or delete it when empty)."""
    db = client.db
    if not scores:
        if db.delete_stored(key):
            client.state.dirty += 1
            notify(db, "g", b"del", key)
        return 0
    client.state.dirty += 1
    db.set(key, ZSet.build(scores, _limits(client)))
    notify(db, "z", event, key)
    return len(scores)


# -- ZADD / ZINCRBY ---------------------------------------------------------------------
_ZADD_FLAGS = {b"nx": "nx", b"xx": "xx", b"ch": "ch", b"incr": "incr", b"gt": "gt",
               b"lt": "lt"}


def _zadd(client, args: List[bytes], incr: bool):
    """ZADD and ZINCRBY (zaddGenericCommand). Options are words until the first
    non-option, so ``ZINCRBY k nx m`` is a syntax error as in Redis; every score is
    parsed before anything changes, so the command applies fully or not at all."""
    key = args[1]
    flags = {"incr"} if incr else set()
    index = 2
    while index < len(args):
        flag = _ZADD_FLAGS.get(args[index].lower())
        if flag is None:
            break
        flags.add(flag)
        index += 1
    rest = len(args) - index
    if rest == 0 or rest % 2:
        raise CommandError(errors.SYNTAX)
    nx, xx, gt, lt = "nx" in flags, "xx" in flags, "gt" in flags, "lt" in flags
    incr = "incr" in flags
    if nx and xx:
        raise CommandError(errors.ZADD_NX_XX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError(errors.ZADD_GT_LT_NX)
    if incr and rest > 2:
        raise CommandError(errors.ZADD_INCR_PAIR)
    pairs = [(_parse_score(args[i]), args[i + 1]) for i in range(index, len(args), 2)]

    db = client.db
    zset = get_zset(client, key)
    added = updated = processed = 0
    score = 0.0
    if zset is None:
        if xx:
            return None if incr else 0
        zset = ZSet()
        db.set(key, zset)
    limits = _limits(client)
    try:
        for score, member in pairs:
            current = zset.score_of(member)   # (a packed set is not hydrated)
            if current is not None:
                if nx:
                    continue
                if incr:
                    score += current
                    if math.isnan(score):
                        raise CommandError(errors.ZSET_NAN)
                if (lt and score >= current) or (gt and score <= current):
                    continue
                processed += 1
                if score != current:
                    zset.update(member, score, current)
                    updated += 1
            elif not xx:
                zset.insert(member, score, limits)
                added += 1
                processed += 1
    finally:
        if added or updated:
            db.signal_modified(key)
            notify(db, "z", b"zincr" if incr else b"zadd", key)
    client.state.dirty += added + updated       # (not after a NaN: as Redis)
    if incr:
        return Double(score) if processed else None
    return added + updated if "ch" in flags else added


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Add one or more members to a sorted set, or update its "
         "score if it already exists")
def zadd(client, args: List[bytes]):
    score = args[2]
    if len(args) == 4 and score.isdigit() and len(score) < 300:
        return _zadd_one(client, args[1], float(score), args[3])
    return _zadd(client, args, incr=False)


def _zadd_one(client, key: bytes, score: float, member: bytes) -> int:
    """``ZADD key <digits> member``, the commonest form (no option can be spelled
    with digits): :func:`_zadd` without the option and pair lists, same effects in
    the same order."""
    db = client.db
    zset = db.get(key)
    if zset is None:
        zset = ZSet()
        db.set(key, zset)
    elif zset.__class__ is not ZSet:
        raise CommandError(errors.WRONGTYPE)
    # (score_of, written out for a hydrated set: a call is a sizeable share of a
    # ZADD at a million members; a packed set is read in place, not hydrated)
    scores = zset._scores
    current = scores.get(member) if scores is not None else zset.score_of(member)
    if current is not None:
        if score != current:
            zset.update(member, score, current)
            client.state.dirty += 1
            db.signal_modified(key)
            notify(db, "z", b"zadd", key)
        return 0
    zset.insert(member, score, _limits(client))
    client.state.dirty += 1
    db.signal_modified(key)
    notify(db, "z", b"zadd", key)
    return 1


def _zadd_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
              append: Any) -> int:
    # "ZADD key <digits> member"s in a row (miniredis/runs.py): _zadd_one at a sorted
    # set that exists and is not due to expire, without a call each.
    db = client.db
    tables = db.tables_for_writes()
    if tables is None:
        return done
    index, values, access, expires, now, touched, hook, lru, config = tables
    events = config["notify-keyspace-events"]
    limits = config["zset-max-listpack-entries"], config["zset-max-listpack-value"]
    # The key of the previous request when its sorted set is the one at hand (this
    # loop replaces none), so a run at one key looks it up and stamps it once.
    last = None
    lfu = stamps_count(access)
    changes = 0
    if count - done > 1 and requests[done + 1] == requests[done]:
        done = unchanged_windows(requests, done, count, name, tables, (ZSet,),
                                 _score_there, append)
    for request in requests[done:count]:
        try:
            command, key, score, member = request  # (cheapest arity test)
        except ValueError:
            break
        if command != name:
            break
        if not score.isdigit() or len(score) >= 300:
            break
        if key != last:
            slot = index.get(key)
            if slot is None or expires and key in expires and expires[key] <= now:
                break
            zset = values[slot]
            if zset.__class__ is not ZSet:
                break
            access[slot] = lru
            last = key
        elif lfu:
            access[slot] = lru
        number = float(score)
        scores = zset._scores   # (the property is a call per request: read it
        # directly; a set packed at rest is read and written as it is)
        current = scores.get(member) if scores is not None else \
            zset.score_of(member)
        if current is None:
            zset.insert(member, number, limits)
            append(b":1\r\n")
        else:
            append(b":0\r\n")
            if number == current:
                done += 1
                continue
            zset.update(member, number, current)
        changes += 1
        touched.add(slot)
        if hook is not None:
            hook(db, key)
        if events:
            notify(db, "z", b"zadd", key)
        done += 1
    db.state.dirty += changes    # (members added or whose score changed)
    return done


def _score_there(zset: ZSet, request: List[bytes]) -> bool:
    """A plain ``ZADD key <digits> member`` (as :func:`_zadd_run` takes) of a member
    that has that score already (it changes nothing)."""
    if len(request) != 4:
        return False
    score = request[2]
    return score.isdigit() and len(score) < 300 and \
        zset.score_of(request[3]) == float(score)


lookup(b"zadd").run = _zadd_run


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Increment the score of a member in a sorted set")
def zincrby(client, args: List[bytes]):
    if args[2].lower() in _ZADD_FLAGS:  # ("ZINCRBY k nx m": an option, then one word)
        return _zadd(client, args, incr=True)
    return _zincrby_one(client, args[1], _parse_score(args[2]), args[3])


def _zincrby_one(client, key: bytes, increment: float, member: bytes) -> Double:
    """ZINCRBY without ZADD's options (it takes none): :func:`_zadd` with ``incr`` and
    one pair, without the flag set and the pair list; same effects in the same order
    (the member's new score; NaN refused before anything changes)."""
    db = client.db
    zset = get_zset(client, key)
    if zset is None:
        zset = ZSet()
        db.set(key, zset)
    current = zset.score_of(member)   # (a packed set is not hydrated)
    if current is None:
        score = increment
        zset.insert(member, score, _limits(client))
    else:
        score = increment + current
        if math.isnan(score):
            raise CommandError(errors.ZSET_NAN)
        if score == current:
            return Double(score)
        zset.update(member, score, current)
    db.signal_modified(key)
    notify(db, "z", b"zincr", key)
    client.state.dirty += 1
    return Double(score)


# -- simple reads and removal -----------------------------------------------------------
@command("zrem", -3, "write fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         summary="Remove one or more members from a sorted set")
def zrem(client, args: List[bytes]):
    key = args[1]
    zset = get_zset(client, key)
    if zset is None:
        return 0
    removed = 0
    for member in args[2:]:
        if zset.remove(member):
            removed += 1
            if not zset:
                break
    if removed:
        _changed(client, key, zset, b"zrem", removed)
    return removed


@command("zcard", 2, "readonly fast", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         summary="Get the number of members in a sorted set")
def zcard(client, args: List[bytes]):
    zset = _read_zset(client, args[1])
    return 0 if zset is None else len(zset)


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Get the score associated with the given member in a "
         "sorted set")
def zscore(client, args: List[bytes]):
    zset = _read_zset(client, args[1])
    if zset is None:
        return None
    score = zset.score_of(args[2])      # (_score_reply, written out: a call costs 1%)
    return None if score is None else Double(score)


def _score_reply(zset: ZSet, args: List[bytes], client: Any) -> Optional[Double]:
    """ZSCORE's answer from the sorted set at hand."""
    score = zset.score_of(args[2])
    return None if score is None else Double(score)


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", summary="Get the score associated with the given members in a "
         "sorted set")
def zmscore(client, args: List[bytes]):
    zset = _read_zset(client, args[1])
    out = []
    for member in args[2:]:
        score = None if zset is None else zset.score_of(member)
        out.append(None if score is None else Double(score))
    return out


def _rank(client, args: List[bytes], reverse: bool):
    # WITHSCORE is Redis 7.2's addition: [rank, score], or a null array when missing.
    if len(args) > 4:
        raise CommandError(errors.WRONG_ARITY.format(own_name(client, args)))
    with_score = False
    if len(args) == 4:
        if args[3].lower() != b"withscore":
            raise CommandError(errors.SYNTAX)
        with_score = True
    missing = NULL_ARRAY if with_score else None
    zset = _read_zset(client, args[1])
    if zset is None:
        return missing
    rank = zset.rank(args[2])
    if rank is None:
        return missing
    if reverse:
        rank = len(zset) - 1 - rank
    if with_score:
        return [rank, Double(zset.scores[args[2]])]
    return rank


@command("zrank", -3, "readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Determine the index of a member in a sorted set")
def zrank(client, args: List[bytes]):
    if len(args) == 3:              # no WITHSCORE: the rank or a null
        zset = _read_zset(client, args[1])
        return None if zset is None else zset.rank(args[2])
    return _rank(client, args, reverse=False)


# Runs of one-key reads (commands/reads.py): each step as its handler's.
_ZSETS = frozenset((ZSet,))
lookup(b"zcard").run = read_run(lambda zset, args, client: len(zset), 2, _ZSETS, 0)
lookup(b"zscore").run = read_run(_score_reply, 3, _ZSETS, None)
lookup(b"zrank").run = read_run(lambda zset, args, client: zset.rank(args[2]), 3,
                                _ZSETS, None)


@command("zrevrank", -3, "readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Determine the index of a member in a sorted set, with "
         "scores ordered from high to low")
def zrevrank(client, args: List[bytes]):
    return _rank(client, args, reverse=True)


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Count the members in a sorted set with scores within "
         "the given values")
def zcount(client, args: List[bytes]):
    low, low_ex, high, high_ex = _score_range(args[2], args[3])
    zset = _read_zset(client, args[1])
    if zset is None or _score_range_empty(low, low_ex, high, high_ex):
        return 0
    start, stop = zset.score_span(low, low_ex, high, high_ex)
    return max(0, stop - start)


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Count the number of members in a sorted set between a "
         "given lexicographical range")
def zlexcount(client, args: List[bytes]):
    low, high = _lex_range(args[2], args[3])
    zset = _read_zset(client, args[1])
    if zset is None:
        return 0
    start = zset.lex_first(low, high)
    if start is None:
        return 0
    return len(zset.lex_walk(start, low, high, reverse=False))


# -- ZRANGE and its family ----------------------------------------------------------------
def _range_span(zset: ZSet, kind: str, reverse: bool, bounds: Any, offset: int,
                limit: int) -> Tuple[int, int]:
    """The positions [start, stop) a ZRANGE by rank or score selects (read backwards
    when ``reverse``); start >= stop when none."""
    size = len(zset)
    if kind == "rank":
        span = index_range(bounds[0], bounds[1], size)
        if span is None:
            return 0, 0
        start, end = span
        if reverse:
            return size - 1 - end, size - start
        return start, end + 1
    if offset < 0 or (offset > 0 and offset >= size):
        return 0, 0
    low, low_ex, high, high_ex = bounds
    if _score_range_empty(low, low_ex, high, high_ex):
        return 0, 0
    return zset.score_span(low, low_ex, high, high_ex, reverse, offset, limit)


def _range_entries(zset: ZSet, kind: str, reverse: bool, bounds: Any, offset: int,
                   limit: int) -> list:
    """The (score, member) entries a ZRANGE of ``kind`` (rank/score/lex) selects."""
    if kind != "lex":
        start, stop = _range_span(zset, kind, reverse, bounds, offset, limit)
        return zset.slice(start, stop, reverse)
    if offset < 0 or (offset > 0 and offset >= len(zset)):
        return []
    low, high = bounds
    start = zset.lex_last(low, high) if reverse else zset.lex_first(low, high)
    if start is None:
        return []
    return zset.lex_walk(start, low, high, reverse, offset, limit)


def _zrange(client, args: List[bytes], first: int, store: bool, kind: Optional[str],
            reverse: Optional[bool]) -> Any:
    """ZRANGE and every legacy form (zrangeGenericCommand): options, then conflicts,
    then the range, then the key. ``first`` is the source key's position."""
    with_scores = False
    offset, limit = 0, -1
    has_limit = False
    index = first + 3
    while index < len(args):
        word = args[index].lower()
        more = len(args) - index - 1
        if not store and word == b"withscores":
            with_scores = True
        elif word == b"limit" and more >= 2:
            offset = parse_int(args[index + 1])
            limit = parse_int(args[index + 2])
            has_limit = True
            index += 2
        elif reverse is None and word == b"rev":
            reverse = True
        elif kind is None and word == b"bylex":
            kind = "lex"
        elif kind is None and word == b"byscore":
            kind = "score"
        else:
            raise CommandError(errors.SYNTAX)
        index += 1
    reverse = bool(reverse)
    kind = kind or "rank"
    if has_limit and limit != -1 and kind == "rank":
        raise CommandError(errors.ZRANGE_LIMIT)
    if with_scores and kind == "lex":
        raise CommandError(errors.ZRANGE_WITHSCORES_BYLEX)
    min_arg, max_arg = args[first + 1], args[first + 2]
    if reverse and kind != "rank":
        min_arg, max_arg = max_arg, min_arg
    if kind == "rank":
        bounds: Any = (parse_int(min_arg), parse_int(max_arg))
    elif kind == "score":
        bounds = _score_range(min_arg, max_arg)
    else:
        bounds = _lex_range(min_arg, max_arg)
    zset = _read_zset(client, args[first])
    if zset is None:
        entries: list = []
    elif not store and kind != "lex":   # the reply straight from the columns
        if kind == "score" and not offset:
            # The commonest score ranges: read from where the range starts (its top
            # end when ``reverse``).
            if _score_range_empty(*bounds):
                return []
            scores, members = zset.score_columns(*bounds, limit, reverse)
        else:
            start, stop = _range_span(zset, kind, reverse, bounds, offset, limit)
            scores, members = zset.columns(start, stop, reverse)
        if not with_scores:
            return Bulks(members)
        return _column_pairs(client, scores, members)
    else:
        entries = _range_entries(zset, kind, reverse, bounds, offset, limit)
    if store:
        return _store(client, args[1], {member: score for score, member in entries},
                      b"zrangestore")
    return _pairs(client, entries, with_scores)


@command("zrange", -4, "readonly", keys=(1, 1, 1), group="sorted-set", since="1.2.0",
         summary="Return a range of members in a sorted set")
def zrange(client, args: List[bytes]):
    if len(args) == 4:
        return _rank_page(client, args)
    return _zrange(client, args, 1, False, None, None)


def _rank_page(client, args: List[bytes]) -> list:
    """``ZRANGE key start stop``: what _zrange replies (the ranks, then the key read),
    without its option loop, the members read without their scores."""
    start, end = parse_int(args[2]), parse_int(args[3])
    zset = _read_zset(client, args[1])
    if zset is None:
        return []
    span = index_range(start, end, len(zset))
    if span is None:
        return []
    return Bulks(zset.members(span[0], span[1] + 1))


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1), group="sorted-set",
         since="6.2.0", summary="Store a range of members from sorted set into another "
         "key")
def zrangestore(client, args: List[bytes]):
    return _zrange(client, args, 2, True, None, None)


@command("zrevrange", -4, "readonly", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Return a range of members in a sorted set, by index, "
         "with scores ordered from high to low")
def zrevrange(client, args: List[bytes]):
    return _zrange(client, args, 1, False, "rank", True)


@command("zrangebyscore", -4, "readonly", keys=(1, 1, 1), group="sorted-set",
         since="1.0.5", summary="Return a range of members in a sorted set, by score")
def zrangebyscore(client, args: List[bytes]):
    if len(args) == 7 and args[5] == b"0" and args[4].lower() == b"limit":
        return _score_page(client, args, parse_int(args[6]))
    if len(args) == 4:
        return _score_page(client, args, -1)
    return _zrange(client, args, 1, False, "score", False)


def _score_page(client, args: List[bytes], limit: int) -> list:
    """``ZRANGEBYSCORE key min max [LIMIT 0 count]``, members only: what _zrange
    replies (the count, the range, then the key read in its order), without its
    option loop, the members read straight from the range's chunks."""
    low, low_ex, high, high_ex = _score_range(args[2], args[3])
    zset = _read_zset(client, args[1])
    if zset is None or _score_range_empty(low, low_ex, high, high_ex):
        return []
    return Bulks(zset.score_members(low, low_ex, high, high_ex, limit))


@command("zrevrangebyscore", -4, "readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.2.0", summary="Return a range of members in a sorted set, by score, "
         "with scores ordered from high to low")
def zrevrangebyscore(client, args: List[bytes]):
    return _zrange(client, args, 1, False, "score", True)


@command("zrangebylex", -4, "readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Return a range of members in a sorted set, by "
         "lexicographical range")
def zrangebylex(client, args: List[bytes]):
    return _zrange(client, args, 1, False, "lex", False)


@command("zrevrangebylex", -4, "readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Return a range of members in a sorted set, by "
         "lexicographical range, ordered from higher to lower strings.")
def zrevrangebylex(client, args: List[bytes]):
    return _zrange(client, args, 1, False, "lex", True)


# -- ZREMRANGEBY* -------------------------------------------------------------------------
def _remove_range(client, args: List[bytes], kind: str) -> int:
    """ZREMRANGEBYRANK/SCORE/LEX: the range is parsed before the key is looked up."""
    if kind == "rank":
        bounds: Any = (parse_int(args[2]), parse_int(args[3]))
    elif kind == "score":
        bounds = _score_range(args[2], args[3])
    else:
        bounds = _lex_range(args[2], args[3])
    key = args[1]
    zset = get_zset(client, key)
    if zset is None:
        return 0
    if kind == "lex":
        low, high = bounds
        start = zset.lex_first(low, high)
        if start is None:
            return 0
        removed = zset.remove_slice(
            start, start + len(zset.lex_walk(start, low, high, reverse=False)))
    else:
        if kind == "rank":
            span = index_range(bounds[0], bounds[1], len(zset))
            if span is None:
                return 0
            start, stop = span[0], span[1] + 1
        else:
            low, low_ex, high, high_ex = bounds
            if _score_range_empty(low, low_ex, high, high_ex):
                return 0
            start, stop = zset.score_span(low, low_ex, high, high_ex)
        removed = zset.remove_slice(start, stop)
    if removed:
        _changed(client, key, zset, b"zremrangeby" + kind.encode(), removed)
    return removed


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Remove all members in a sorted set within the given "
         "indexes")
def zremrangebyrank(client, args: List[bytes]):
    return _remove_range(client, args, "rank")


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Remove all members in a sorted set within the given "
         "scores")
def zremrangebyscore(client, args: List[bytes]):
    return _remove_range(client, args, "score")


@command("zremrangebylex", 4, "write", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Remove all members in a sorted set between the given "
         "lexicographical range")
def zremrangebylex(client, args: List[bytes]):
    return _remove_range(client, args, "lex")


# -- ZRANDMEMBER ---------------------------------------------------------------------------
_HALF_LONG = LLONG_MAX // 2


@command("zrandmember", -2, "readonly", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", summary="Get one or multiple random elements from a sorted set")
def zrandmember(client, args: List[bytes]):
    if len(args) == 2:
        zset = _read_zset(client, args[1])
        if zset is None:
            return None
        return zset.entry(random.randrange(len(zset)))[1]
    count = parse_int(args[2])
    if count < -LLONG_MAX:
        raise CommandError(errors.ZRANDMEMBER_RANGE)
    with_scores = False
    if len(args) > 3:
        if len(args) > 4 or args[3].lower() != b"withscores":
            raise CommandError(errors.SYNTAX)
        with_scores = True
        if count < -_HALF_LONG or count > _HALF_LONG:
            raise CommandError(errors.ZRANDMEMBER_OUT_OF_RANGE)
    zset = _read_zset(client, args[1])
    if zset is None or count == 0:
        return []
    size = len(zset)
    if count < 0:
        entries = [zset.entry(random.randrange(size))
                   for _ in range(draws(client, -count))]
    elif count >= size:
        # The whole set, walked from the highest entry down as Redis's iterator does.
        entries = zset.slice(0, size, reverse=True)
    else:
        picked = random.sample(range(size), count)
        if zset.listpack and count * 3 <= size:
            # Redis samples a listpack in place and replies in its (ascending) order;
            # larger samples come from a dict, in no particular order.
            picked.sort()
        entries = [zset.entry(i) for i in picked]
    return _pairs(client, entries, with_scores)


# -- ZSCAN -------------------------------------------------------------------------------
def _scan_score(score: float, listpack: bool) -> bytes:
    """A score as ZSCAN prints it: a listpack holds integral scores in +-2^62 as
    integers; otherwise ``%.17g``."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    if listpack and score == int(score) and -(2 ** 62) <= score <= 2 ** 62:
        return b"%d" % int(score)
    if score == 0:
        return b"-0" if math.copysign(1.0, score) < 0 else b"0"
    return b"%.17g" % score


@command("zscan", -3, "readonly", keys=(1, 1, 1), group="sorted-set", since="2.8.0",
         summary="Incrementally iterate sorted sets elements and associated scores")
def zscan(client, args: List[bytes]):
    cursor = parse_cursor(args[2])
    zset = _read_zset(client, args[1])
    if zset is None:
        return [b"0", []]
    matches, count, _ = parse_scan_options(args, 3, allow_type=False)
    if zset.listpack:
        next_cursor = 0
        members = [member for _, member in zset.entries()]
    else:
        next_cursor, members = zset.scan(cursor, count)
    out = []
    scores = zset.scores
    for member in members:
        if matches is None or matches(member):
            out.append(member)
            out.append(_scan_score(scores[member], zset.listpack))
    return [b"%d" % next_cursor, out]

