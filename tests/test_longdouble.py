"""miniredis.longdouble against a slow reference: the exact Fraction implementation it
had before (below, renamed ``_reference_*``), on thousands of random and edge inputs.

Parsing must refuse the same texts and give the same values, sums must round the same
way, overflow verdicts must agree and the printed text must be identical. Everything
runs in process (no servers); the seed is fixed.
"""
from __future__ import annotations

import functools
import math
import random
import re
from fractions import Fraction
from typing import Any, List, Tuple

from miniredis.longdouble import (add_long_double, format_long_double, overflows,
                                  parse_long_double)

# -- the reference: miniredis/longdouble.py as of 41d9ffa (Fraction arithmetic) -----------
_REFERENCE_LD_MIN_EXP = -16445
_REFERENCE_LONG_DOUBLE_MAX = Fraction(2 ** 64 - 1) * Fraction(2) ** (16383 - 63)
_REFERENCE_MAX_CHARS = 5 * 1024
_REFERENCE_DECIMAL = re.compile(rb"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\Z")
_REFERENCE_HEX = re.compile(
    rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?\Z")
_REFERENCE_INFINITY = re.compile(rb"([+-]?)inf(?:inity)?\Z", re.IGNORECASE)
_REFERENCE_TEN_4000 = 10 ** 4000
_REFERENCE_TEN_2000 = 10 ** 2000


def _reference_int_from_digits(digits: bytes, base: int = 10) -> int:
    if len(digits) <= 4000:
        return int(digits, base) if digits else 0
    high, low = digits[:-2000], digits[-2000:]
    return _reference_int_from_digits(high, base) * base ** 2000 + int(low, base)


def _reference_decimal_text(number: int) -> str:
    if number < _REFERENCE_TEN_4000:
        return str(number)
    high, low = divmod(number, _REFERENCE_TEN_2000)
    return _reference_decimal_text(high) + str(low).rjust(2000, "0")


def _reference_floor_log2(number: Fraction) -> int:
    n, d = number.numerator, number.denominator
    e = n.bit_length() - d.bit_length()
    if (n < (d << e)) if e >= 0 else ((n << -e) < d):
        e -= 1
    return e


def _reference_to_extended(number: Fraction) -> Fraction:
    if number == 0:
        return Fraction(0)
    exponent = max(_reference_floor_log2(abs(number)) - 63, _REFERENCE_LD_MIN_EXP)
    quantum = Fraction(2) ** exponent
    return round(number / quantum) * quantum


def _reference_past_max(numerator: int, denominator: int) -> bool:
    return abs(numerator).bit_length() - denominator.bit_length() >= 16382


def _reference_overflows(number: Fraction) -> bool:
    return _reference_past_max(number.numerator, number.denominator) \
        and abs(number) > _REFERENCE_LONG_DOUBLE_MAX


def _reference_parse_long_double(text: bytes) -> Any:
    if not text or len(text) >= _REFERENCE_MAX_CHARS:
        return None
    text = bytes(text)
    match = _REFERENCE_DECIMAL.match(text)
    base = 10
    if match is None:
        match = _REFERENCE_HEX.match(text)
        base = 16
    if match is None:
        infinity = _REFERENCE_INFINITY.match(text)
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
    mantissa = _reference_int_from_digits(digits, base)
    if exponent:
        exponent_sign = -1 if exponent[:1] == b"-" else 1
        exponent = exponent_sign * _reference_int_from_digits(exponent.lstrip(b"+-"))
    else:
        exponent = 0
    if base == 16:
        radix = 2
        exponent -= 4 * len(fraction)
        magnitude = mantissa.bit_length() + exponent
        limit_high, limit_low = 16384 + 1, _REFERENCE_LD_MIN_EXP - 2
    else:
        radix = 10
        exponent -= len(fraction)
        magnitude = len(digits) + exponent
        limit_high, limit_low = 4933 + 1, -4951 - 2
    if magnitude > limit_high:
        return None
    if magnitude < limit_low:
        return None
    value = Fraction(mantissa) * Fraction(radix) ** exponent
    value = _reference_to_extended(value)
    if value == 0 or _reference_past_max(value.numerator, value.denominator) \
            and value > _REFERENCE_LONG_DOUBLE_MAX:
        return None
    return -value if sign == b"-" else value


def _reference_format_long_double(number: Fraction) -> bytes:
    scaled = round(number * 10 ** 17)
    sign = "-" if scaled < 0 else ""
    digits = _reference_decimal_text(abs(scaled)).rjust(18, "0")
    text = "%s%s.%s" % (sign, digits[:-17], digits[-17:])
    text = text.rstrip("0").rstrip(".")
    return b"0" if text in ("-0", "") else text.encode()


# -- the implementation under test, seen as exact Fractions ---------------------------------
def _exact(value: Any) -> Any:
    """What parse_long_double or _add returned, as a Fraction (None and infinities as
    they are), after checking its form: m * 2**e with |m| < 2**64, e no finer than the
    smallest subnormal's, zero only as (0, 0)."""
    if value is None or isinstance(value, float):
        return value
    m, e = value
    assert type(m) is int and type(e) is int, value
    assert (e == 0) if m == 0 else (abs(m) < 2 ** 64 and e >= -16445), value
    return Fraction(m) * Fraction(2) ** e


def _add(a: Any, b: Any) -> Any:
    return add_long_double(a, b)


def _negate(a: Any) -> Any:
    return -a[0], a[1]


# -- inputs --------------------------------------------------------------------------------
_MAX_M = 2 ** 64 - 1
_MAX_E = 16383 - 63                     # the largest long double is _MAX_M * 2**_MAX_E
_HALF_MAX_QUANTUM = 2 ** (_MAX_E - 1)

_EDGE_TEXTS = [
    "", " ", " 1", "1 ", "1\x00", "\x001", "1\n", ".", "+.", "-.", ".e1", "e1", "1e", "1e+",
    "1e-", "1e+-1", "+", "-", "--1", "+-1", "++1", ".5", "5.", "-.5", "-5.", "+1", "+.5e1",
    "1.2.3", "1,5", "1_000", "1e1.5", "1e 1", "0", "-0", "+0", "-0.0", "-.0", "-0.", "0.000",
    "00000", "-0e5", "0e99999999999999", "-0e-99999999999", "0x0", "-0x0p9", "0X.0P-3",
    "0x", "0x.", "0xp1", "0x.8", "0x1p", "0x1p+", "0xg", "0x1.8p3", "-0x1.8P-3", "0X1P0",
    "0x.00001p20", "0x1p99999999999", "0x1p-99999999999", "1e99999999999", "-1e-99999999999",
    "nan", "NaN", "-nan", "nan(0x1)", "inf", "-inf", "+inf", "Inf", "INF", "Infinity",
    "-INFINITY", "+iNfInItY", "infinit", "infinityy", "in", " inf", "inf ",
    "1e5000", "1e-5000", "1e4932", "1e4933", "1e-4950", "1e-4951", "1e-4952", "1e-4953",
    "2e-4951", "3e-4951", "4e-4951", "5e-4951", "1.8e-4951", "1.9e-4951", "1.82e-4951",
    "3.6451995318824746025e-4951", "1.8225997659412373012e-4951",
    "1.8225997659412373013e-4951", "1.18973149535723176502e+4932",
    "1.1897314953572317651e+4932", "1.18973149535723176505e+4932",
    "1.189731495357231765e4932", "-1.18973149535723176502e+4932",
    "0x1p-16445", "0x1p-16446", "0x1.0000000000000001p-16446", "0x3p-16446", "0x5p-16447",
    "0x1p-16500", "0x1p-16384", "0x1p-16382", "0x1p-16383", "0x1p16383", "0x1p16384",
    "0x1.fffffffffffffffep16383", "0x1.ffffffffffffffffp16383",
    "0x1.fffffffffffffffe8p16383", "0xffffffffffffffffp16320", "0x1ffffffffffffffffp16319",
    "10.5", "0.1", "-0.1", "3.0e3", "1e+0005", "1e-0", "1E5", "5.0e-324", "1.7976931348623157e308",
    "18446744073709551615", "18446744073709551616", "18446744073709551617",
    "18446744073709551618", "18446744073709551619", "36893488147419103231",
    "9223372036854775807", "9223372036854775808", "9223372036854775809",
    "1" + "0" * 100, "1e" + "0" * 4500 + "1", "1e-" + "0" * 4500 + "1",
    "0." + "0" * 4500 + "1e4000", "0" * 4900 + "1.5", "1" * 5119, "1" * 5120, "1" * 6000,
    "0." + "9" * 5117, "9" * 4933, "9" * 4934, "1" * 4932 + ".5",
]


def _dyadic_decimal(m: int, e: int, rng: random.Random) -> str:
    """m * 2**e (m > 0) written exactly in decimal, in a random style."""
    if e >= 0:
        digits, exponent = _reference_decimal_text(m << e), 0
    else:
        digits, exponent = _reference_decimal_text(m * 5 ** -e), e
    style = rng.randrange(3)
    if style == 0 or exponent == 0 and style == 1:
        return "%se%d" % (digits, exponent) if exponent else digits
    if style == 1:                   # the point placed by the exponent itself
        if -exponent < len(digits):
            return digits[:exponent] + "." + digits[exponent:]
        return "0." + "0" * (-exponent - len(digits)) + digits
    point = rng.randrange(len(digits) + 1)
    return "%s.%se%d" % (digits[:point], digits[point:], exponent + len(digits) - point)


def _hex(m: int, e: int, rng: random.Random) -> str:
    """m * 2**e (m > 0) as a hexadecimal float, in a random style."""
    digits = "%x" % m
    point = rng.randrange(len(digits) + 1)
    exponent = e + 4 * (len(digits) - point)
    text = "0%s%s.%sp%+d" % (rng.choice("xX"), digits[:point], digits[point:], exponent)
    if rng.random() < 0.3:
        text = text.upper().replace("0X", "0x")
    return text


def _random_decimal(rng: random.Random) -> str:
    length = rng.choice([1, 1, 2, 3, 5, 10, 17, 18, 19, 20, 21, 25, 40,
                         rng.randint(1, 400), rng.randint(1, 400), rng.randint(1, 4900)])
    digits = "".join(rng.choices("0123456789", k=length))
    point = rng.randint(0, length)
    whole, fraction = digits[:point], digits[point:]
    text = whole + "." + fraction if rng.random() < 0.7 else digits
    if rng.random() < 0.2:
        text = "0" * rng.randint(1, 30) + text
    roll = rng.random()
    if roll < 0.25:                 # near the smallest subnormal or the largest value
        magnitude = rng.choice([-4951, 4932]) + rng.randint(-25, 25)
    elif roll < 0.9:
        magnitude = rng.randint(-4960, 4940)
    else:
        magnitude = None            # no exponent
    if magnitude is not None:
        exponent = magnitude - len(whole.lstrip("0") or "0")
        text += "%s%s%s%d" % (rng.choice("eE"), "-" if exponent < 0 else rng.choice(["", "+"]),
                              "0" * rng.choice([0, 0, 0, 3]), abs(exponent))
    return rng.choice(["", "", "-", "+"]) + text


def _random_dyadic(rng: random.Random) -> Tuple[int, int]:
    """(m, e) for m * 2**e with m often at or past a 64-bit rounding point."""
    kind = rng.randrange(7)
    if kind == 0:                   # near 2**63, 2**64, 2**65
        m = 2 ** rng.choice([63, 64, 65]) + rng.randint(-3, 3)
    elif kind == 1:                 # an exact tie at the 64-bit rounding point
        m = ((rng.getrandbits(63) | 2 ** 63) * 2 + 1) << rng.randint(0, 20)
    elif kind == 2:                 # just off a tie
        m = (((rng.getrandbits(63) | 2 ** 63) * 2 + 1) << rng.randint(2, 20)) \
            + rng.choice([-1, 1])
    elif kind == 3:                 # representable as it is
        m = rng.getrandbits(64) | 1
    elif kind == 4:                 # just below a carry into the next power of two
        m = ((2 ** 64 - 1) << rng.randint(1, 10)) + rng.randint(0, 2 ** rng.randint(1, 10))
    else:
        m = rng.getrandbits(rng.randint(1, 120)) | 1
    roll = rng.random()
    if roll < 0.2:                  # subnormal range and below
        e = rng.randint(-16445 - 130, -16382)
    elif roll < 0.35:               # near the largest value
        e = rng.randint(_MAX_E - 70, _MAX_E + 5) - (m.bit_length() - 64)
    else:
        e = rng.randint(-16445, _MAX_E)
    return m, e


@functools.lru_cache(maxsize=None)
def _inputs() -> Tuple[bytes, ...]:
    rng = random.Random(20240607)
    texts: List[str] = list(_EDGE_TEXTS)
    texts += [_random_decimal(rng) for _ in range(1500)]
    for _ in range(1500):
        m, e = _random_dyadic(rng)
        sign = rng.choice(["", "-", "+"])
        texts.append(sign + _hex(m, e, rng))
        if e > -6400 and m.bit_length() < 200:      # the decimal text fits in 5 KB
            texts.append(sign + _dyadic_decimal(m, e, rng))
    for _ in range(300):            # m * 2**-18 with m odd: ties of %.17Lf's last digit
        m, e = rng.getrandbits(rng.randint(1, 64)) | 1, rng.choice([-18, -18, -17, -19, -20])
        texts.append(rng.choice(["", "-"]) + rng.choice([_hex, _dyadic_decimal])(m, e, rng))
    # the largest long double, and half a quantum past it (a tie: rounds up to 2**16384)
    for m in (_MAX_M << 1, (_MAX_M << 1) + 1, (_MAX_M << 1) - 1):
        texts.append(_dyadic_decimal(m, _MAX_E - 1, rng))
    texts.append(_reference_decimal_text((_MAX_M << _MAX_E) + _HALF_MAX_QUANTUM - 1))
    return tuple(text.encode("latin-1") for text in texts)


@functools.lru_cache(maxsize=None)
def _parsed() -> Tuple[Tuple[bytes, Any, Any], ...]:
    """(text, reference value, value under test) for every input."""
    return tuple((text, _reference_parse_long_double(text), parse_long_double(text))
                 for text in _inputs())


def _assert_same(expected: Any, got: Any, context: Any) -> None:
    if expected is None or isinstance(expected, float):
        assert got == expected and type(got) is type(expected), context
    else:
        assert _exact(got) == expected, context


# -- tests -----------------------------------------------------------------------------------
def test_inputs_cover_the_edges():
    """The inputs reach every verdict: refused, infinite, zero, subnormal, near the max."""
    values = [expected for _, expected, _ in _parsed()]
    finite = [v for v in values if isinstance(v, Fraction)]
    assert sum(v is None for v in values) > 300
    assert sum(isinstance(v, float) for v in values) >= 8
    assert any(v == 0 for v in finite)
    assert sum(0 < abs(v) < Fraction(1, 2 ** 16382) for v in finite) > 100
    assert sum(abs(v) > Fraction(2) ** 16300 for v in finite) > 100
    assert len(finite) > 3000


def test_parse_agrees_with_the_reference():
    for text, expected, got in _parsed():
        _assert_same(expected, got, text[:80])


def test_format_agrees_with_the_reference():
    for text, expected, got in _parsed():
        if isinstance(expected, Fraction):
            assert format_long_double(got) == _reference_format_long_double(expected), \
                text[:80]
            assert not overflows(got), text[:80]


def _pairs(rng: random.Random) -> List[Tuple[Any, Any, Any, Any]]:
    """(reference a, reference b, a under test, b under test) to add."""
    pool = [(expected, got) for _, expected, got in _parsed()
            if isinstance(expected, Fraction)]
    pairs = []
    for _ in range(3000):
        (ra, a), (rb, b) = rng.choice(pool), rng.choice(pool)
        pairs.append((ra, rb, a, b))
    for ra, a in rng.sample(pool, 400):      # cancellation, doubling
        pairs.append((ra, -ra, a, _negate(a)))
        pairs.append((ra, ra, a, a))
    for _ in range(1500):                    # ties and near-cancellation, built exactly
        m = rng.getrandbits(64) | 2 ** 63
        e = rng.randint(-16445, _MAX_E)
        a_text = "0x%xp%d" % (m, e)
        kind = rng.randrange(4)
        if kind == 0:
            b_text = "0x1p%d" % (e - 1)                     # half a quantum: a tie
        elif kind == 1:
            b_text = "0x3p%d" % (e - 2)                     # three quarters
        elif kind == 2:
            b_text = "-0x%xp%d" % (m + rng.choice([-1, 1]), e)   # all but one bit cancel
        else:
            b_text = "0x%xp%d" % (rng.getrandbits(64) | 1, e - rng.randint(1, 200))
        if rng.random() < 0.5:
            a_text, b_text = "-" + a_text, (b_text[1:] if b_text[0] == "-" else "-" + b_text)
        ra = _reference_parse_long_double(a_text.encode())
        rb = _reference_parse_long_double(b_text.encode())
        if isinstance(ra, Fraction) and isinstance(rb, Fraction):
            pairs.append((ra, rb, parse_long_double(a_text.encode()),
                          parse_long_double(b_text.encode())))
    near_max = ["0x%xp%d" % (_MAX_M - k, _MAX_E) for k in (0, 1, 2)] + \
        ["0x1p%d" % (_MAX_E - 1), "0x1p%d" % _MAX_E, "0x1p%d" % (_MAX_E - 2), "0x1p0",
         "0x3p%d" % (_MAX_E - 2), "0x1p16383", "0x1p-16445", "0x1p-16382"]
    for a_text in near_max:
        for b_text in near_max:
            for sign in ("", "-"):
                texts = (a_text.encode(), (sign + b_text).encode())
                ra, rb = map(_reference_parse_long_double, texts)
                pairs.append((ra, rb, *map(parse_long_double, texts)))
    return pairs


def test_sums_agree_with_the_reference():
    rng = random.Random(17)
    for ra, rb, a, b in _pairs(rng):
        expected = _reference_to_extended(ra + rb)
        got = _add(a, b)
        context = (ra, rb) if max(abs(ra), abs(rb)) < 2 ** 200 else "(big operands)"
        assert _exact(got) == expected, context
        verdict = _reference_overflows(expected)
        assert overflows(got) == verdict, context
        if not verdict:
            assert format_long_double(got) == _reference_format_long_double(expected), context


def test_known_verdicts():
    """A few results known independently of the reference (glibc's strtold, Redis)."""
    largest = Fraction(_MAX_M) * Fraction(2) ** _MAX_E
    assert _exact(parse_long_double(b"1.18973149535723176502e+4932")) == largest
    assert parse_long_double(b"1.1897314953572317651e+4932") is None
    assert _exact(parse_long_double(b"0x1p-16445")) == Fraction(1, 2 ** 16445)
    assert _exact(parse_long_double(b"0x3p-16446")) == Fraction(2, 2 ** 16445)  # tie: even
    assert parse_long_double(b"0x1p-16446") is None                   # tie: even is zero
    assert _exact(parse_long_double(b"-0.0")) == 0
    assert parse_long_double(b"-Infinity") == -math.inf
    assert format_long_double(parse_long_double(b"10.5")) == b"10.5"
    assert format_long_double(_add(parse_long_double(b"10.5"), parse_long_double(b"0.1"))) \
        == b"10.6"
    assert format_long_double(parse_long_double(b"-1e-18")) == b"0"


def test_parse_memo_reads_as_a_fresh_parse():
    """parse_long_double remembers the two texts it read last (INCRBYFLOAT's value and
    increment): whatever the order, and for mutable input (a stored value may be a
    bytearray that APPEND or SETRANGE change afterwards), it returns what a parse
    without the memo returns."""
    from miniredis import longdouble
    rng = random.Random(5)
    texts = [b"0.1", b"10.5", b"-0", b"1e4932", b"inf", b"abc", b"", b"0x1p3", b"7"]
    for _ in range(3000):
        text = rng.choice(texts)
        if rng.random() < 0.3:
            text = bytearray(text)
        assert longdouble.parse_long_double(text) == longdouble._parse(bytes(text)), text
    changing = bytearray(b"1.5")
    first = longdouble.parse_long_double(changing)
    changing[:] = b"2.5"
    assert longdouble.parse_long_double(b"1.5") == first
    assert longdouble.parse_long_double(changing) == longdouble._parse(b"2.5") != first
