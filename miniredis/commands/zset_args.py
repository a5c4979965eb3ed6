"""Sorted set argument parsing: ZADD scores, ZRANGEBYSCORE and ZRANGEBYLEX range ends
(used by commands.zsets, zset_setops and geo).

Scores given to ZADD/ZINCRBY/WEIGHTS are read with ``string2d`` rules
(:func:`_parse_score`), range ends with the laxer ``strtod`` rules of
``zslParseRange`` (:func:`_parse_range_end`); the order in which a command calls
these decides which error a client sees, as in Redis.
"""
from __future__ import annotations

import math
import re
from typing import Optional, Tuple

from .. import errors
from ..datatypes.zset import LexBound
from ..errors import CommandError

_DECIMAL = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_HEX = re.compile(rb"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                  rb"(?:[pP][+-]?\d+)?\Z")
_INFINITY = re.compile(rb"[+-]?(?:inf|infinity)\Z", re.IGNORECASE)
_NONZERO_DIGIT = re.compile(rb"[1-9a-fA-F]")
_SPACES = b" \t\n\v\f\r"


def _strtod(text: bytes) -> Optional[Tuple[float, bool]]:
    """``text`` read whole by C's strtod: (value, out of range), or None if strtod
    would stop early. Out of range means overflow to infinity or underflow to zero
    (strtod's ERANGE cases that Redis refuses)."""
    match = _DECIMAL.match(text)
    if match:
        value = float(text)
        mantissa = match.group(1)
    else:
        match = _HEX.match(text)
        if match:
            try:
                value = float.fromhex(text.decode())
            except OverflowError:
                value = -math.inf if text.startswith(b"-") else math.inf
            mantissa = match.group(1)
        elif _INFINITY.match(text):
            return (-math.inf if text.startswith(b"-") else math.inf), False
        else:
            return None
    out_of_range = math.isinf(value) or (
        value == 0 and _NONZERO_DIGIT.search(mantissa) is not None)
    return value, out_of_range


def _parse_score(text: bytes, message: str = errors.NOT_FLOAT) -> float:
    """A score/increment/weight, by Redis's string2d: the whole argument must be a
    number, with no leading space, no NaN, no overflow and no underflow to zero."""
    if text.isdigit() and len(text) < 300:    # plain digits: nothing to refuse
        return float(text)
    parsed = _strtod(text)
    if parsed is None or parsed[1]:
        raise CommandError(message)
    return parsed[0]


_COMMON_ENDS = {b"+inf": math.inf, b"-inf": -math.inf, b"inf": math.inf}


def _parse_range_end(text: bytes) -> Optional[float]:
    """A ZRANGEBYSCORE bound after its optional ``(``, as zslParseRange reads it:
    strtod, which skips leading spaces, saturates out-of-range values and reads ""
    as 0, and only requires that what follows the number is the end of the C
    string (so anything after a NUL byte is ignored). NaN is refused."""
    if text.isdigit():               # the common cases, read exactly as strtod would
        return float(text)
    if text in _COMMON_ENDS:
        return _COMMON_ENDS[text]
    nul = text.find(b"\x00")
    if nul >= 0:
        text = text[:nul]
    if not text:
        return 0.0
    parsed = _strtod(text.lstrip(_SPACES))
    if parsed is None or math.isnan(parsed[0]):
        return None
    return parsed[0]


def _score_range(min_arg: bytes, max_arg: bytes) -> Tuple[float, bool, float, bool]:
    """(min, min exclusive, max, max exclusive) or ``min or max is not a float``."""
    if min_arg.isdigit():           # (plain digits: the commonest end, read at once)
        low, low_ex = float(min_arg), False
    else:
        low, low_ex = _INFINITE_ENDS.get(min_arg) or _range_end(min_arg)
    if max_arg.isdigit():
        return low, low_ex, float(max_arg), False
    high, high_ex = _INFINITE_ENDS.get(max_arg) or _range_end(max_arg)
    return low, low_ex, high, high_ex


# The other common ends, (value, exclusive) as _range_end reads them.
_INFINITE_ENDS = {b"+inf": (math.inf, False), b"-inf": (-math.inf, False),
                  b"inf": (math.inf, False)}


def _range_end(arg: bytes) -> Tuple[float, bool]:
    """One end of a score range: (value, exclusive), or the error."""
    exclusive = arg[:1] == b"("
    value = _parse_range_end(arg[1:] if exclusive else arg)
    if value is None:
        raise CommandError(errors.ZSET_RANGE_NOT_FLOAT)
    return value, exclusive


def _lex_item(arg: bytes) -> LexBound:
    """One ZRANGEBYLEX end (zslParseLexRangeItem): ``-``/``+`` alone (Redis only
    looks at the next C character, so a NUL may follow), ``(x`` or ``[x``."""
    head = arg[:1]
    if head in (b"+", b"-"):
        if arg[1:2] not in (b"", b"\x00"):
            raise CommandError(errors.ZSET_RANGE_NOT_STRING)
        return LexBound(1 if head == b"+" else -1, b"", True)
    if head == b"(":
        return LexBound(0, arg[1:], True)
    if head == b"[":
        return LexBound(0, arg[1:], False)
    raise CommandError(errors.ZSET_RANGE_NOT_STRING)


def _lex_range(min_arg: bytes, max_arg: bytes) -> Tuple[LexBound, LexBound]:
    """Both ends, or ``min or max not valid string range item``."""
    return _lex_item(min_arg), _lex_item(max_arg)


def _score_range_empty(low: float, low_ex: bool, high: float, high_ex: bool) -> bool:
    """Redis's early test (zslIsInRange): min above max, or equal with an open end."""
    return low > high or (low == high and (low_ex or high_ex))
