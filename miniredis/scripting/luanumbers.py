"""Lua 5.1's numbers as Redis's Lua sees them on x86-64 with glibc: strings read as
numbers (luaO_str2d over strtod), numbers written as strings, conversions to C
integers. Shared by the interpreter's Python-side functions and the libraries."""
from __future__ import annotations

import math
import re
from typing import Any, Optional

_SIGN64 = 1 << 63

# The C library's strtod, as Lua 5.1's luaO_str2d uses it (glibc: hex floats, inf, nan).
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:"
    rb"0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    rb"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?)")
_HEX_PREFIX = re.compile(rb"[ \t\n\v\f\r]*[+-]?0[xX]")


def str2number(data: bytes) -> Optional[float]:
    """lua_tonumber of a string: strtod's longest prefix, then only spaces (or NUL)."""
    text = data.split(b"\0", 1)[0]
    match = _STRTOD.match(text)
    if match is None:
        return None
    rest = text[match.end():]
    if rest.strip(b" \t\n\v\f\r"):
        return None
    token = match.group().strip(b" \t\n\v\f\r")
    if _HEX_PREFIX.match(token):
        sign = -1.0 if token[:1] == b"-" else 1.0
        body = token.lstrip(b"+-")
        if b"p" not in body.lower():
            body += b"p0"
        return sign * float.fromhex(body.decode())
    lowered = token.lower().lstrip(b"+-")
    if lowered.startswith(b"nan"):
        return -math.nan if token[:1] == b"-" else math.nan
    return float(token.split(b"(")[0])


def number_text(number: Any) -> bytes:
    """lua_tolstring of a number: "%.14g", with glibc's spelling of NaN."""
    if number != number:
        return b"-nan" if math.copysign(1.0, number) < 0 else b"nan"
    return b"%.14g" % number


def to_int64(number: float) -> int:
    """(long long)number on x86-64: truncation, and LLONG_MIN when out of range."""
    if number != number or not -9.3e18 < number < 9.3e18:
        return -_SIGN64
    value = int(number)
    return value if -_SIGN64 <= value < _SIGN64 else -_SIGN64
