"""Redis's long double arithmetic (INCRBYFLOAT, HINCRBYFLOAT), exactly.

Redis computes INCRBYFLOAT in C ``long double``: on x86-64 the x87 80-bit format, a
64-bit significand with exponents down to 2**-16382 (subnormals to 2**-16445). Values
are kept as exact Fractions rounded to that format after every operation, so the
digits printed match what glibc's printf prints for the same long double.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

_LD_MIN_EXP = -16445                     # exponent of the smallest subnormal
_LONG_DOUBLE_MAX = Fraction(2 ** 64 - 1) * Fraction(2) ** (16383 - 63)
_MAX_LONG_DOUBLE_CHARS = 5 * 1024        # string2ld's buffer: longer input is refused
_LD_DECIMAL = re.compile(rb"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\Z")
_LD_HEX = re.compile(
    rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?\Z")
_LD_INFINITY = re.compile(rb"([+-]?)inf(?:inity)?\Z", re.IGNORECASE)


def _int_from_digits(digits: bytes, base: int = 10) -> int:
    """int(digits, base) for any length (Python caps decimal conversions at 4300
    digits; a 5 KB argument may have more)."""
    if len(digits) <= 4000:
        return int(digits, base) if digits else 0
    high, low = digits[:-2000], digits[-2000:]
    return _int_from_digits(high, base) * base ** 2000 + int(low, base)


# (made once: a big power is not folded into a constant, and computing 10**4000 cost
# INCRBYFLOAT's formatting 20 of its 26 us)
_TEN_4000 = 10 ** 4000
_TEN_2000 = 10 ** 2000


def _decimal_text(number: int) -> str:
    """str(number) for a non-negative int of any size (see _int_from_digits)."""
    if number < _TEN_4000:
        return str(number)
    high, low = divmod(number, _TEN_2000)
    return _decimal_text(high) + str(low).rjust(2000, "0")


def _floor_log2(number: Fraction) -> int:
    """floor(log2(number)) for a positive Fraction, exactly."""
    n, d = number.numerator, number.denominator
    e = n.bit_length() - d.bit_length()
    if (n < (d << e)) if e >= 0 else ((n << -e) < d):
        e -= 1
    return e


def to_extended(number: Fraction) -> Fraction:
    """Round an exact number to the nearest x87 long double (ties to even), keeping
    the subnormal range's coarser spacing. The result may lie past the largest long
    double (:func:`overflows`: the caller treats that as infinity)."""
    if number == 0:
        return Fraction(0)
    exponent = max(_floor_log2(abs(number)) - 63, _LD_MIN_EXP)
    quantum = Fraction(2) ** exponent
    return round(number / quantum) * quantum


def overflows(number: Fraction) -> bool:
    """Whether a rounded result lies past the largest long double (C's arithmetic
    would give infinity there)."""
    return _past_max(number.numerator, number.denominator) and abs(number) > _LONG_DOUBLE_MAX


def _past_max(numerator: int, denominator: int) -> bool:
    """False when ``numerator / denominator`` is surely below the largest long double
    (under 2**16383 by the bit lengths alone: comparing with it exactly multiplies by
    its 16384-bit numerator); True when it may not be."""
    return abs(numerator).bit_length() - denominator.bit_length() >= 16382


def parse_long_double(text: bytes) -> Any:
    """string2ld: ``text`` as strtold reads it, or None where Redis refuses it.

    Returns a Fraction (already rounded to long double) or a float infinity.
    Refused: empty or >= 5 KB input, spaces, NUL bytes or any other trailing
    garbage, NaN, and results that overflow (ERANGE, HUGE_VAL) or underflow to zero.
    """
    if not text or len(text) >= _MAX_LONG_DOUBLE_CHARS:
        return None
    text = bytes(text)
    match = _LD_DECIMAL.match(text)
    base = 10
    if match is None:
        match = _LD_HEX.match(text)
        base = 16
    if match is None:
        infinity = _LD_INFINITY.match(text)
        if infinity is None:
            return None
        return -math.inf if infinity.group(1) == b"-" else math.inf
    sign, whole, fraction, exponent = match.groups()
    fraction = fraction or b""
    if not whole and not fraction:
        return None
    digits = (whole + fraction).lstrip(b"0")
    if not digits:
        return Fraction(0)
    mantissa = _int_from_digits(digits, base)
    if exponent:
        exponent_sign = -1 if exponent[:1] == b"-" else 1
        exponent = exponent_sign * _int_from_digits(exponent.lstrip(b"+-"))
    else:
        exponent = 0
    if base == 16:
        # mantissa * 2**exponent; the binary magnitude settles absurd exponents
        # without building huge numbers.
        radix = 2
        exponent -= 4 * len(fraction)
        magnitude = mantissa.bit_length() + exponent
        limit_high, limit_low = 16384 + 1, _LD_MIN_EXP - 2
    else:
        radix = 10
        exponent -= len(fraction)
        magnitude = len(digits) + exponent
        limit_high, limit_low = 4933 + 1, -4951 - 2
    if magnitude > limit_high:
        return None          # overflow: strtold says ERANGE with HUGE_VALL
    if magnitude < limit_low:
        return None          # underflow to zero: ERANGE with 0
    value = Fraction(mantissa) * Fraction(radix) ** exponent
    value = to_extended(value)
    if value == 0 or _past_max(value.numerator, value.denominator) \
            and value > _LONG_DOUBLE_MAX:
        return None
    return -value if sign == b"-" else value


def format_long_double(number: Fraction) -> bytes:
    """Redis's human-friendly long double text: %.17Lf without trailing zeros."""
    scaled = round(number * 10 ** 17)
    sign = "-" if scaled < 0 else ""
    digits = _decimal_text(abs(scaled)).rjust(18, "0")
    text = "%s%s.%s" % (sign, digits[:-17], digits[-17:])
    text = text.rstrip("0").rstrip(".")
    return b"0" if text in ("-0", "") else text.encode()
