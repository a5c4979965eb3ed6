"""Lua 5.1's numbers as Redis's Lua sees them on x86-64 with glibc: strings read as
numbers (luaO_str2d over strtod), numbers written as strings, conversions to C
integers. Shared by the interpreter's Python-side functions and the libraries."""
from __future__ import annotations

import math
import re
from typing import Any, Optional, Tuple

_SIGN64 = 1 << 63

# The C library's strtod, as Lua 5.1's luaO_str2d uses it (glibc: hex floats, inf, nan).
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:"
    rb"0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    rb"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)")
_HEX_PREFIX = re.compile(rb"[ \t\n\v\f\r]*[+-]?0[xX]")


def strtod(data: bytes, pos: int = 0) -> Optional[Tuple[float, int]]:
    """glibc's strtod at ``data[pos:]``: the number its longest prefix reads and where
    that prefix ends, or None where it reads nothing."""
    match = _STRTOD.match(data, pos)
    if match is None:
        return None
    token = match.group().strip(b" \t\n\v\f\r")
    sign = -1.0 if token[:1] == b"-" else 1.0
    if _HEX_PREFIX.match(token):
        body = token.lstrip(b"+-")
        if b"p" not in body.lower():
            body += b"p0"
        try:
            return sign * float.fromhex(body.decode()), match.end()
        except OverflowError:   # (HUGE_VAL)
            return sign * math.inf, match.end()
    if token.lower().lstrip(b"+-").startswith(b"nan"):
        return -math.nan if sign < 0 else math.nan, match.end()
    return float(token.split(b"(")[0]), match.end()


def str2number(data: bytes) -> Optional[float]:
    """lua_tonumber of a string: strtod's longest prefix, then only spaces (or NUL)."""
    text = data.split(b"\0", 1)[0]
    read = strtod(text)
    if read is None or text[read[1]:].strip(b" \t\n\v\f\r"):
        return None
    return read[0]


def number_text(number: Any, digits: int = 14) -> bytes:
    """lua_tolstring of a number: "%.14g" (or ``digits``: redis.call's arguments take
    "%.17g"), with glibc's spelling of NaN, sign included."""
    if number != number:
        return b"-nan" if math.copysign(1.0, number) < 0 else b"nan"
    return b"%.*g" % (digits, number)


def to_int64(number: float) -> int:
    """(long long)number on x86-64: truncation, and LLONG_MIN when out of range."""
    if number != number or not -9.3e18 < number < 9.3e18:
        return -_SIGN64
    value = int(number)
    return value if -_SIGN64 <= value < _SIGN64 else -_SIGN64


def to_number(value: Any) -> Optional[float]:
    """lua_tonumber's reading of a Lua value: a number, a string in Lua's number syntax
    (:func:`str2number`), else None (where lua_isnumber is false)."""
    if value.__class__ in (int, float):
        return value
    if value.__class__ is bytes:
        return str2number(value)
    return None


def to_int(number: float) -> int:
    """(int)number on x86-64 (cvttsd2si): truncation, and INT_MIN for NaN and what is
    out of range."""
    if number != number or not -2147483649.0 < number < 2147483648.0:
        return -2 ** 31
    return int(number)
