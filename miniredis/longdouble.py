"""Redis's long double arithmetic (INCRBYFLOAT, HINCRBYFLOAT), exactly.

Redis computes INCRBYFLOAT in C ``long double``: on x86-64 the x87 80-bit format, a
64-bit significand with exponents down to 2**-16382 (subnormals to 2**-16445). A value
here is a pair of ints ``(m, e)`` meaning exactly m * 2**e (m signed, |m| < 2**64; zero
is (0, 0)), rounded to that format after every operation, so the digits printed match
what glibc's printf prints for the same long double. (Plain ints, not Fractions: their
gcd normalisation cost an INCRBYFLOAT 40 us.)
"""
from __future__ import annotations

import math
import re
from typing import Tuple, Union

LongDouble = Tuple[int, int]
ZERO: LongDouble = (0, 0)

_LD_MIN_EXP = -16445                     # exponent of the smallest subnormal
_FIVE_17 = 5 ** 17                       # 10**17 == 5**17 * 2**17 (%.17Lf)
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


def _divide(n: int, d: int) -> int:
    """round(n / d) for n >= 0 and d > 0, ties to even."""
    quotient, rest = divmod(n, d)
    rest <<= 1
    return quotient + 1 if rest > d or rest == d and quotient & 1 else quotient


def _round(n: int, d: int, e: int) -> LongDouble:
    """The exact positive number n / d * 2**e rounded to the nearest long double (ties
    to even): 64 significant bits, but never a quantum finer than 2**-16445, so that
    subnormals keep their coarser spacing and half the smallest one rounds to zero.
    The result may lie past the largest long double (:func:`overflows`)."""
    log2 = n.bit_length() - d.bit_length()      # floor(log2(n / d)), or one more
    if (n < d << log2) if log2 >= 0 else (n << -log2 < d):
        log2 -= 1
    exponent = log2 + e - 63
    if exponent < _LD_MIN_EXP:
        exponent = _LD_MIN_EXP
    shift = e - exponent                        # the result is round(n/d * 2**shift)
    if shift >= 0:
        n <<= shift
    else:
        d <<= -shift
    m, rest = divmod(n, d)
    rest <<= 1
    if rest > d or rest == d and m & 1:         # ties to even
        m += 1
        if m >> 64:                             # carried into a 65th bit
            return m >> 1, exponent + 1
    return (m, exponent) if m else ZERO


def add_long_double(a: LongDouble, b: LongDouble) -> LongDouble:
    """a + b rounded once to the nearest long double (it may overflow: :func:`overflows`)."""
    (ma, ea), (mb, eb) = a, b
    if not mb:
        return a
    if not ma:
        return b
    if ea > eb:                                 # align exactly on the finer quantum
        ma, ea = ma << (ea - eb), eb
    else:
        mb <<= eb - ea
    total = ma + mb
    if total > 0:
        return _round(total, 1, ea)
    if total < 0:
        m, e = _round(-total, 1, ea)
        return -m, e
    return ZERO


def overflows(value: LongDouble) -> bool:
    """Whether a rounded result lies past the largest long double, (2**64-1) * 2**16320
    (C's arithmetic would give infinity there): floor(log2(|value|)) >= 16384."""
    m, e = value
    return abs(m).bit_length() - 1 + e >= 16384


# The two texts parsed last and what they read as, newest first: INCRBYFLOAT reads
# back the text it wrote and usually adds the same increment again (a parse was a
# quarter of its time). Equal bytes read alike; one tuple, replaced whole (embedded
# servers may run in several threads of one process).
_parsed: tuple = ((None, None), (None, None))


def parse_long_double(text: bytes) -> Union[LongDouble, float, None]:
    """string2ld: ``text`` as strtold reads it, or None where Redis refuses it.

    Returns ``(m, e)`` (already rounded to long double) or a float infinity.
    Refused: empty or >= 5 KB input, spaces, NUL bytes or any other trailing
    garbage, NaN, and results that overflow (ERANGE, HUGE_VAL) or underflow to zero.
    """
    global _parsed
    newest, older = _parsed
    if text == newest[0]:
        return newest[1]
    if text == older[0]:
        _parsed = (older, newest)      # (the increment stays, the value read goes)
        return older[1]
    value = _parse(text)
    _parsed = ((bytes(text), value), newest)
    return value


def _parse(text: bytes) -> Union[LongDouble, float, None]:
    """:func:`parse_long_double` without the memo."""
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
    sign, whole, fraction, exponent_text = match.groups()
    fraction = fraction or b""
    if not whole and not fraction:
        return None
    digits = (whole + fraction).lstrip(b"0")
    if not digits:
        return ZERO
    mantissa = _int_from_digits(digits, base)
    exponent = 0
    if exponent_text:
        exponent = _int_from_digits(exponent_text.lstrip(b"+-"))
        if exponent_text[:1] == b"-":
            exponent = -exponent
    # The magnitude settles absurd exponents before any big number is built.
    if base == 16:                              # mantissa * 2**exponent
        exponent -= 4 * len(fraction)
        magnitude = mantissa.bit_length() + exponent
        if not _LD_MIN_EXP - 2 <= magnitude <= 16384 + 1:
            return None         # overflow (ERANGE with HUGE_VALL) or underflow to zero
        value = _round(mantissa, 1, exponent)
    else:                                       # mantissa * 10**exponent
        exponent -= len(fraction)
        magnitude = len(digits) + exponent
        if not -4951 - 2 <= magnitude <= 4933 + 1:
            return None
        if exponent >= 0:                       # 10**k == 5**k * 2**k
            value = _round(mantissa * 5 ** exponent, 1, exponent)
        else:
            value = _round(mantissa, 5 ** -exponent, exponent)
    if not value[0] or overflows(value):
        return None
    return (-value[0], value[1]) if sign == b"-" else value


def format_long_double(value: LongDouble) -> bytes:
    """Redis's human-friendly long double text: %.17Lf without trailing zeros."""
    m, e = value
    shift = e + 17                              # |value| * 10**17 = |m| * 5**17 * 2**shift
    if shift >= 0:
        scaled = abs(m) * _FIVE_17 << shift
    else:
        scaled = _divide(abs(m) * _FIVE_17, 1 << -shift)
    sign = "-" if m < 0 and scaled else ""
    digits = _decimal_text(scaled).rjust(18, "0")
    text = "%s%s.%s" % (sign, digits[:-17], digits[-17:])
    text = text.rstrip("0").rstrip(".")
    return b"0" if text in ("-0", "") else text.encode()
