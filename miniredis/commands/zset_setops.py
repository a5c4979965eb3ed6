"""Sorted-set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, with
WEIGHTS and AGGREGATE as Redis 7.0 parses and applies them (zunionInterDiffGenericCommand)."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from .. import errors
from ..args import parse_int, to_int
from ..datatypes.zset import ZSet
from ..errors import CommandError
from . import command, numkeys_positions, own_name
from .zset_args import _parse_score
from .zsets import _pairs, _store


# -- ZUNION / ZINTER / ZDIFF (and STORE, ZINTERCARD) --------------------------------------
def _source(client, key: bytes) -> Optional[Dict[bytes, float]]:
    """An input of the set operations: a sorted set's scores, a plain set's members
    (score 1), None when missing; WRONGTYPE for other types."""
    value = client.db.get_read(key)
    if value is None:
        return None
    if value.__class__ is ZSet:
        return value.scores
    if isinstance(value, set):
        return dict.fromkeys(value, 1.0)
    raise CommandError(errors.WRONGTYPE)


def _aggregate(target: float, value: float, how: bytes) -> float:
    """zunionInterAggregate: SUM turns NaN (inf + -inf) into 0; MIN/MAX keep the
    current value when a comparison involves NaN."""
    if how == b"sum":
        total = target + value
        return 0.0 if math.isnan(total) else total   # inf + -inf counts as 0
    if how == b"min":
        return value if value < target else target
    return value if value > target else target


def _set_operation(client, args: List[bytes], numkeys_at: int, op: str, store: bool,
                   card_only: bool = False) -> Any:
    """zunionInterDiffGenericCommand: numkeys, key types, options, then the result
    (a dict member -> score, or the cardinality for ZINTERCARD)."""
    name = own_name(client, args)
    setnum = parse_int(args[numkeys_at])
    if setnum < 1:
        raise CommandError(errors.ZSET_NEED_KEYS.format(name))
    if setnum > len(args) - numkeys_at - 1:
        raise CommandError(errors.SYNTAX)
    keys_end = numkeys_at + 1 + setnum
    sources = [_source(client, key) for key in args[numkeys_at + 1:keys_end]]
    weights = [1.0] * setnum
    how = b"sum"
    with_scores = False
    limit = 0
    index = keys_end
    while index < len(args):
        word = args[index].lower()
        remaining = len(args) - index
        if op != "diff" and not card_only and remaining >= setnum + 1 \
                and word == b"weights":
            weights = [_parse_score(arg, errors.ZSET_WEIGHT_NOT_FLOAT)
                       for arg in args[index + 1:index + 1 + setnum]]
            index += 1 + setnum
        elif op != "diff" and not card_only and remaining >= 2 and word == b"aggregate":
            how = args[index + 1].lower()
            if how not in (b"sum", b"min", b"max"):
                raise CommandError(errors.SYNTAX)
            index += 2
        elif not store and not card_only and word == b"withscores":
            with_scores = True
            index += 1
        elif card_only and remaining >= 2 and word == b"limit":
            limit = to_int(args[index + 1])
            if limit is None or limit < 0:
                raise CommandError(errors.ZSET_LIMIT_NEGATIVE)
            index += 2
        else:
            raise CommandError(errors.SYNTAX)

    result: Dict[bytes, float] = {}
    if op == "inter":
        # Smallest input first (a stable sort, as glibc's qsort is for small arrays);
        # each member's score is aggregated over the inputs in that order.
        ordered = sorted(zip(sources, weights), key=lambda sw: len(sw[0] or ()))
        smallest, first_weight = ordered[0]
        if smallest:
            count = 0
            for member, score in list(smallest.items()):
                total = first_weight * score
                if math.isnan(total):
                    total = 0.0
                for other, weight in ordered[1:]:
                    value = other.get(member) if other is not None else None
                    if value is None:
                        break
                    total = _aggregate(total, value * weight, how)
                else:
                    if card_only:
                        count += 1
                        if limit and count >= limit:
                            break
                    else:
                        result[member] = total
            if card_only:
                return count
        elif card_only:
            return 0
    elif op == "union":
        ordered = sorted(zip(sources, weights), key=lambda sw: len(sw[0] or ()))
        for source, weight in ordered:
            if not source:
                continue
            for member, score in source.items():
                value = weight * score
                if math.isnan(value):
                    value = 0.0
                current = result.get(member)
                result[member] = value if current is None else \
                    _aggregate(current, value, how)
    else:
        first = sources[0]
        if first:
            others = [s for s in sources[1:] if s]
            result = {m: s for m, s in first.items()
                      if not any(m in other for other in others)}
    if store:
        return _store(client, args[1], result, b"z%sstore" % op.encode())
    entries = sorted((score, member) for member, score in result.items())
    return _pairs(client, entries, with_scores)


def _store_keys(args: List[bytes]) -> List[int]:
    sources = numkeys_positions(args, 2)
    return [1] + sources if sources else []


@command("zunion", -3, "readonly", keys=(0, 0, 0), group="sorted-set", since="6.2.0",
         summary="Add multiple sorted sets", key_finder=lambda a: numkeys_positions(a, 1))
def zunion(client, args: List[bytes]):
    return _set_operation(client, args, 1, "union", store=False)


@command("zinter", -3, "readonly", keys=(0, 0, 0), group="sorted-set", since="6.2.0",
         summary="Intersect multiple sorted sets", key_finder=lambda a: numkeys_positions(a, 1))
def zinter(client, args: List[bytes]):
    return _set_operation(client, args, 1, "inter", store=False)


@command("zdiff", -3, "readonly", keys=(0, 0, 0), group="sorted-set", since="6.2.0",
         summary="Subtract multiple sorted sets", key_finder=lambda a: numkeys_positions(a, 1))
def zdiff(client, args: List[bytes]):
    return _set_operation(client, args, 1, "diff", store=False)


@command("zunionstore", -4, "write denyoom", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Add multiple sorted sets and store the resulting sorted "
         "set in a new key", key_finder=_store_keys)
def zunionstore(client, args: List[bytes]):
    return _set_operation(client, args, 2, "union", store=True)


@command("zinterstore", -4, "write denyoom", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Intersect multiple sorted sets and store the resulting "
         "sorted set in a new key", key_finder=_store_keys)
def zinterstore(client, args: List[bytes]):
    return _set_operation(client, args, 2, "inter", store=True)


@command("zdiffstore", -4, "write denyoom", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", summary="Subtract multiple sorted sets and store the resulting "
         "sorted set in a new key", key_finder=_store_keys)
def zdiffstore(client, args: List[bytes]):
    return _set_operation(client, args, 2, "diff", store=True)


@command("zintercard", -3, "readonly", keys=(0, 0, 0), group="sorted-set",
         since="7.0.0", summary="Intersect multiple sorted sets and return the "
         "cardinality of the result", key_finder=lambda a: numkeys_positions(a, 1))
def zintercard(client, args: List[bytes]):
    return _set_operation(client, args, 1, "inter", store=False, card_only=True)
