"""Argument parsing shared by every command, with Redis's exact acceptance rules.

Redis reads integers with ``string2ll`` (no spaces, no '+', no leading zeros, 64-bit
range) and doubles with ``strtod`` (decimal or hex notation, ``inf``/``infinity``,
never NaN, no surrounding spaces). Python's ``int()``/``float()`` accept more
(underscores, spaces, ``nan``), so every command goes through these instead.
"""
from __future__ import annotations

import math
import re
from typing import Optional, Tuple

from . import errors
from .errors import CommandError

LLONG_MIN = -(2 ** 63)
LLONG_MAX = 2 ** 63 - 1

_FLOAT_RE = re.compile(
    rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?)\Z", re.IGNORECASE)
_HEX_FLOAT_RE = re.compile(
    rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?\Z")


# The canonical spellings of the small integers commands take most (LIMIT 0 10, LRANGE
# 0 99, EXPIRE 100...): their value in one dictionary probe.
_SMALL_INTS = {b"%d" % number: number for number in range(-1, 10000)}


def to_int(value: bytes) -> Optional[int]:
    """``value`` as a signed 64-bit integer under string2ll's rules, or None."""
    try:
        number = _SMALL_INTS.get(value)
    except TypeError:   # a bytearray: not hashable
        number = None
    if number is not None:
        return number
    n = len(value)
    if n == 0 or n > 20:
        return None
    if value.isdigit():
        if value[0] == 48 and n > 1:
            return None
    elif value[0] == 45 and n > 1 and value[1:].isdigit():
        if value[1] == 48:
            return None
    else:
        return None
    number = int(value)
    if LLONG_MIN <= number <= LLONG_MAX:
        return number
    return None


def parse_int(value: bytes, message: str = errors.NOT_INTEGER) -> int:
    """An integer argument, else the error ``message``."""
    number = to_int(value)
    if number is None:
        raise CommandError(message)
    return number


def to_float(value: bytes) -> Optional[float]:
    """``value`` as a double under strtod's rules (NaN refused), or None."""
    if _FLOAT_RE.match(value):
        number = float(value)
    elif _HEX_FLOAT_RE.match(value):
        text = value.decode()
        sign = -1.0 if text.startswith("-") else 1.0
        text = text.lstrip("+-")
        if "p" not in text.lower():
            text += "p0"
        try:
            number = sign * float.fromhex(text)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if math.isnan(number):
        return None
    return number


def parse_float(value: bytes, message: str = errors.NOT_FLOAT) -> float:
    """A floating point argument, else the error ``message``."""
    number = to_float(value)
    if number is None:
        raise CommandError(message)
    return number


def parse_timeout(value: bytes) -> float:
    """A blocking timeout in seconds (0 waits forever), with Redis's verdicts.

    Redis converts seconds to whole milliseconds with a C cast: infinities and values
    too large for 64 bits come out negative ("timeout is negative"), and a tiny
    negative value truncates to 0, which waits forever.
    """
    number = to_float(value)
    if number is None:
        raise CommandError(errors.TIMEOUT_NOT_FLOAT)
    millis = number * 1000
    if math.isinf(millis) or not -LLONG_MAX <= millis < LLONG_MAX or int(millis) < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    return max(number, 0.0)


def index_range(start: int, end: int, size: int) -> Optional[Tuple[int, int]]:
    """Redis's normalisation of an inclusive index range over ``size`` items (LRANGE,
    LTRIM, ZRANGE by rank and their family): negative indices count from the end,
    the start is clamped at 0 and the end at the last item; None when it is empty."""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end += size
    if start > end or start >= size:
        return None
    return start, min(end, size - 1)
