"""Typed replies and the one RESP2/RESP3 encoder.

Handlers return values whose Python *type* says which RESP type they are; nothing is
guessed from content:

============================  ====================  ==========================
handler returns               RESP2                 RESP3
============================  ====================  ==========================
``bytes`` / ``bytearray``     bulk string           bulk string
``str``                       bulk string (UTF-8)   bulk string (UTF-8)
``int``                       integer               integer
``None``                      null bulk ``$-1``     null ``_``
``NULL_ARRAY``                null array ``*-1``    null ``_``
``list`` / ``tuple``          array                 array
``Simple("OK")``              ``+OK``               ``+OK``
``Double(1.5)``               bulk string           double ``,``
``Map({...})``                flat array            map ``%``
``Set([...])``                array                 set ``~``
``Push([...])``               array                 push ``>``
``Verbatim("text")``          bulk string           verbatim ``=``
``TaggedVerbatim(fmt, data)`` bulk string           verbatim ``=`` (its format)
``Bool(True)``                integer 1/0           boolean ``#``
``BigNumber("123")``          bulk string           big number ``(``
``CommandError``              error ``-``           error ``-``
``Raw(b"...")``               the bytes as they are (already encoded: EXEC)
============================  ====================  ==========================
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import CommandError


class Raw(bytes):
    """Reply bytes encoded already (EXEC's replies, encoded as each command ran)."""


class Simple(str):
    """A simple string reply (``+OK``)."""

    __slots__ = ()


class Double(float):
    """A floating point reply: a bulk string in RESP2, a double in RESP3."""

    __slots__ = ()


class Map(dict):
    """A map reply: a flat key/value array in RESP2."""

    __slots__ = ()


class PairMap(Map):
    """A map reply given as (key, value) pairs, where a key may repeat as Redis can
    reply (LATENCY HISTOGRAM set set)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: List[Tuple[Any, Any]]) -> None:
        super().__init__()
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def items(self):  # type: ignore[override]
        return list(self.pairs)


class FlatMap(list):
    """A map reply whose keys and values are all ``bytes``, given flat: [key, value,
    key, value...] (HGETALL). Encoded as :class:`Bulks` are, in one join, under a map
    header in RESP3: no (key, value) pairs made, no encoding call per element."""

    __slots__ = ()


class Set(list):
    """A set reply: an array in RESP2."""

    __slots__ = ()


class Bulks(list):
    """An array reply of elements as stored, every one ``bytes`` (LRANGE): encoded in
    one piece without the per-item type check a plain list needs (about 1.6 us per
    100 items). Only a handler that knows its items are bytes returns one."""

    __slots__ = ()


class UniformBulks(Bulks):
    """:class:`Bulks` whose items all have ``width`` bytes (known to the handler, as
    PackedList.read_range tells LRANGE): encoded without a ``len`` of each."""

    __slots__ = ("width",)


class Push(list):
    """An out-of-band push (pub/sub messages): an array in RESP2."""

    __slots__ = ()


class Verbatim(str):
    """Verbatim text (INFO, CLIENT INFO in RESP3): a bulk string in RESP2."""

    __slots__ = ()


class TaggedVerbatim(tuple):
    """Verbatim bytes with a format of their own, (format, data): what a script returns
    as ``{verbatim_string={format=..., string=...}}``. The format takes three bytes, as
    addReplyVerbatim copies them (cut, or padded with spaces after a NUL)."""

    __slots__ = ()

    def __new__(cls, fmt: bytes, data: bytes) -> "TaggedVerbatim":
        fmt = (fmt.split(b"\0", 1)[0] + b"   ")[:3]
        return super().__new__(cls, (fmt, data))


class Bool(int):
    """A boolean: integer 1/0 in RESP2, ``#t``/``#f`` in RESP3."""

    __slots__ = ()


class BigNumber(str):
    """A big number (only Lua scripts produce one): a bulk string in RESP2."""

    __slots__ = ()


class _NullArray:
    """The null *array* (``*-1`` in RESP2), distinct from the null bulk string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()
OK = Simple("OK")
PONG = Simple("PONG")
QUEUED = Simple("QUEUED")

OK_BYTES = b"+OK\r\n"


def format_double(value: float) -> bytes:
    """Redis 7.0's ``%.17g`` rendering of a double (as ZSCORE and friends send it)."""
    if -1e17 < value < 1e17:    # (the common case first: finite, not NaN)
        if value != int(value):
            return b"%.17g" % value
        if value or math.copysign(1.0, value) > 0:
            return b"%d" % value
        return b"-0"    # %.17g keeps the sign
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):           # (only a script makes one; glibc shows its sign)
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.17g" % value


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


# Small integers are replied to constantly: their encodings from -2 (TTL's) to 10000,
# made once: INT_REPLIES[n + 2] (the dispatch loops read it too).
INT_REPLIES = [b":%d\r\n" % i for i in range(-2, 10001)]


def _int(value: int) -> bytes:
    if -2 <= value <= 10000:
        return INT_REPLIES[value + 2]
    return b":%d\r\n" % value


# "$<len>\r\n" for the usual lengths, and the one type set that takes the fast path.
# A bulk reply of ``bytes`` goes out as three pieces, ``BULK_HEADS[len(value)]``, the
# value itself and ``CRLF`` (``out.extend``; IndexError past 1023 bytes): half the
# cost of formatting ``b"$%d\r\n%s\r\n"``, since the final join copies the value
# anyway. Never for a bytearray: the stored value could change before the write.
BULK_HEADS = [b"$%d\r\n" % n for n in range(1024)]
DECIMALS = [b"%d" % n for n in range(1024)]     # (replies written in pieces)
CRLF = b"\r\n"
_THREE_DIGITS = [b"%03d" % n for n in range(1000)]
# integer_run's last thousand counted up through (a counter or a list's length: its
# runs come in turn, 16 at a time under -P 16), and once a second run asked for it,
# all its replies joined, one slice serving each later run: (first number of the
# thousand, block or None, bytes per reply). One tuple, read and replaced whole
# (servers in several threads).
_thousand: Tuple[int, Optional[bytes], int] = (-1, None, 0)


def integer_run(first: int, count: int, step: int) -> bytes:
    """The integer replies ``first``, ``first + step``... (``count`` of them, ``step``
    1 or -1: a run of pushes' lengths or of counts) as one bytes object. Numbers of one
    thousand share their leading digits and are joined around a table of three-digit
    endings, with no Python step per reply (from -2 to 10,000 they are INT_REPLIES'
    own; counting up through one thousand again, a slice of ``_thousand``'s block);
    others are formatted one by one."""
    if step == 1:
        # The commonest run, first: counting up inside the thousand of the block.
        base, block, width = _thousand
        low = first - base
        if block is not None and 0 <= low and low + count <= 1000:
            return block[low * width:(low + count) * width]
    return _integer_run(first, count, step)


def _integer_run(first: int, count: int, step: int) -> bytes:
    """:func:`integer_run` but for a slice of the block it has."""
    last = first + step * (count - 1)
    low, high = (first, last) if step > 0 else (last, first)
    if -2 <= low and high <= 10000:     # INT_REPLIES' range: one slice of the table
        replies = INT_REPLIES[low + 2:high + 3]
        if step < 0:
            replies.reverse()
        return b"".join(replies)
    if low >= 1000 and low // 1000 == high // 1000:
        thousand = low // 1000
        if step > 0:
            global _thousand
            if _thousand[0] == thousand * 1000:     # (the second run in it: a block)
                lead = b":%d" % thousand
                block = b"".join((lead, (CRLF + lead).join(_THREE_DIGITS), CRLF))
                width = len(lead) + 5
                _thousand = (thousand * 1000, block, width)
                return block[low % 1000 * width:(high % 1000 + 1) * width]
            _thousand = (thousand * 1000, None, 0)
        lead = b":%d" % thousand
        ends = _THREE_DIGITS[low % 1000:high % 1000 + 1]
        if step < 0:
            ends.reverse()
        return b"".join((lead, (CRLF + lead).join(ends), CRLF))
    return b"".join(map(b":%d\r\n".__mod__, range(first, last + step, step)))


_ONLY_BYTES = {bytes}
_END = object()


def append_bulk_items(items: Any, out: List[bytes], width: Optional[int] = None) -> None:
    """The bulk strings of ``items`` (all ``bytes``) appended to ``out``: formatted one
    by one when there are fewer than five (bulk_run's set-up costs more: 1.1 against
    0.6 us for two), else joined by :func:`bulk_run` (``width`` as it takes it)."""
    if len(items) < 5:
        for item in items:
            out.append(b"$%d\r\n%s\r\n" % (len(item), item))
    else:
        out.append(bulk_run(items[:], width))   # (a plain list: join copies a subclass
                                                # slowly)


def bulk_run(items: Any, width: Optional[int] = None) -> bytes:
    """The bulk strings of ``items`` (all ``bytes``) as one bytes object. Built from
    three interleaved slices joined once: no per-item formatting in Python, about three
    times faster than appending each item's encoding (LRANGE, SMEMBERS, HKEYS...).
    Items all of one length (ids, hashes, fixed-width counters) share one head and are
    joined around it, with no Python step per item: half the time again. ``width`` is
    that length when the caller knows it (-1: they have several), else a check finds
    it (a ``len`` per item), gated by the first and last lengths so that mixed lengths
    rarely pay for it."""
    if width is None:
        width = len(items[0])
        if width != len(items[-1]) or list(map(len, items)).count(width) != len(items):
            width = -1
    if width >= 0:
        head = BULK_HEADS[width] if width < 1024 else b"$%d\r\n" % width
        return b"".join((head, (CRLF + head).join(items), CRLF))
    try:
        heads = [BULK_HEADS[len(item)] for item in items]
    except IndexError:
        heads = [b"$%d\r\n" % len(item) for item in items]
    parts = [b"\r\n"] * (3 * len(heads))
    parts[0::3] = heads
    parts[1::3] = items
    return b"".join(parts)


class Encoder:
    """Encodes typed replies for one protocol version (2 or 3)."""

    def __init__(self, resp3: bool) -> None:
        self.resp3 = resp3
        self.null = b"_\r\n" if resp3 else b"$-1\r\n"   # None's encoding
        enc: Dict[type, Callable[[Any, List[bytes]], None]] = {}
        self._enc = enc
        append_bulk = self._append_bulk
        enc[bytes] = self._append_bytes
        enc[Bulks] = self._append_bulks
        enc[UniformBulks] = self._append_uniform_bulks
        enc[FlatMap] = self._append_flat_map if resp3 else self._append_bulks
        enc[bytearray] = append_bulk
        enc[memoryview] = lambda v, out: append_bulk(bytes(v), out)
        enc[str] = lambda v, out: append_bulk(v.encode(), out)
        enc[int] = lambda v, out: out.append(_int(v))
        enc[Simple] = lambda v, out: out.append(b"+%s\r\n" % v.encode())
        enc[CommandError] = lambda v, out: out.append(b"-%s\r\n" % error_line(v.message))
        enc[list] = self._append_array
        enc[tuple] = self._append_array
        enc[Raw] = lambda v, out: out.append(v)
        null = self.null
        enc[type(None)] = lambda v, out: out.append(null)
        if resp3:
            enc[_NullArray] = lambda v, out: out.append(b"_\r\n")
            enc[Double] = lambda v, out: out.append(b",%s\r\n" % format_double(v))
            enc[Map] = self._append_map
            enc[Set] = lambda v, out: self._append_aggregate(b"~", v, out)
            enc[Push] = lambda v, out: self._append_aggregate(b">", v, out)
            enc[Verbatim] = self._append_verbatim
            enc[TaggedVerbatim] = lambda v, out: out.append(
                b"=%d\r\n%s:%s\r\n" % (len(v[1]) + 4, v[0], v[1]))
            enc[Bool] = lambda v, out: out.append(b"#t\r\n" if v else b"#f\r\n")
            enc[BigNumber] = lambda v, out: out.append(b"(%s\r\n" % v.encode())
        else:
            enc[_NullArray] = lambda v, out: out.append(b"*-1\r\n")
            enc[Double] = self._append_double_bulk
            enc[Map] = self._append_map_as_array
            enc[Set] = self._append_array
            enc[Push] = self._append_array
            enc[Verbatim] = lambda v, out: append_bulk(v.encode(), out)
            enc[TaggedVerbatim] = lambda v, out: append_bulk(v[1], out)
            enc[Bool] = lambda v, out: out.append(b":1\r\n" if v else b":0\r\n")
            enc[BigNumber] = lambda v, out: append_bulk(v.encode(), out)

    @staticmethod
    def _append_double_bulk(value: float, out: List[bytes]) -> None:
        text = format_double(value)
        out.append(b"$%d\r\n%s\r\n" % (len(text), text))

    @staticmethod
    def _append_bulk(value: bytes, out: List[bytes]) -> None:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))

    @staticmethod
    def _append_bytes(value: bytes, out: List[bytes]) -> None:
        try:
            out.extend((BULK_HEADS[len(value)], value, CRLF))
        except IndexError:
            out.append(b"$%d\r\n%s\r\n" % (len(value), value))

    @staticmethod
    def _append_bulks(value: Bulks, out: List[bytes]) -> None:
        out.append(b"*%d\r\n" % len(value))
        append_bulk_items(value, out)

    @staticmethod
    def _append_uniform_bulks(value: UniformBulks, out: List[bytes]) -> None:
        out.append(b"*%d\r\n" % len(value))
        append_bulk_items(value, out, value.width)

    @staticmethod
    def _append_flat_map(value: FlatMap, out: List[bytes]) -> None:
        out.append(b"%%%d\r\n" % (len(value) >> 1))
        append_bulk_items(value, out)

    def _append_array(self, value: Any, out: List[bytes]) -> None:
        self._append_aggregate(b"*", value, out)

    def _append_aggregate(self, prefix: bytes, value: Any, out: List[bytes]) -> None:
        count = len(value)
        out.append(b"%s%d\r\n" % (prefix, count))
        if count > 8 and set(map(type, value)) == _ONLY_BYTES:
            out.append(bulk_run(value))
            return
        enc = self._enc
        for item in value:
            t = type(item)
            if t is bytes:
                out.append(b"$%d\r\n%s\r\n" % (len(item), item))
            elif t is list:                 # (nested arrays: XRANGE, scripts' replies)
                self._append_aggregate(b"*", item, out)
            elif t is int:
                out.append(_int(item))
            else:
                encoder = enc.get(t)
                if encoder is None:       # a subclass (a script's error, a bool...)
                    self.encode_into(item, out)
                else:
                    encoder(item, out)

    def _append_map(self, value: Map, out: List[bytes]) -> None:
        out.append(b"%%%d\r\n" % len(value))
        encode = self.encode_into
        for k, v in value.items():
            encode(k, out)
            encode(v, out)

    def _append_map_as_array(self, value: Map, out: List[bytes]) -> None:
        out.append(b"*%d\r\n" % (2 * len(value)))
        encode = self.encode_into
        for k, v in value.items():
            encode(k, out)
            encode(v, out)

    @staticmethod
    def _append_verbatim(value: str, out: List[bytes]) -> None:
        data = value.encode()
        out.append(b"=%d\r\ntxt:%s\r\n" % (len(data) + 4, data))

    def encode_into(self, value: Any, out: List[bytes]) -> None:
        """Append the encoding of ``value`` to ``out``."""
        try:
            self._enc[type(value)](value, out)
        except KeyError:
            if isinstance(value, CommandError):
                self._enc[CommandError](value, out)
            elif isinstance(value, bool):
                self._enc[Bool](Bool(value), out)
            elif isinstance(value, Map):      # a subclass (streams' repeatable-key map)
                self._enc[Map](value, out)
            else:
                raise TypeError("reply of unsupported type %r" % type(value)) from None

    def encode(self, value: Any) -> bytes:
        """The encoding of ``value`` as one bytes object."""
        out: List[bytes] = []
        self.encode_into(value, out)
        return b"".join(out)

    def encode_deep(self, value: Any) -> bytes:
        """Like :meth:`encode`, without recursion: for replies nested deeper than
        Python's recursion limit allows (a Lua script may return 8000 levels)."""
        out: List[bytes] = []
        resp3 = self.resp3
        stack = [iter((value,))]
        while stack:
            item = next(stack[-1], _END)
            if item is _END:
                stack.pop()
                continue
            if isinstance(item, Map):
                if resp3:
                    out.append(b"%%%d\r\n" % len(item))
                else:
                    out.append(b"*%d\r\n" % (2 * len(item)))
                stack.append(iter([part for pair in item.items() for part in pair]))
            elif isinstance(item, (list, tuple)) and not isinstance(item, Raw):
                prefix = b"*"
                if resp3 and isinstance(item, Set):
                    prefix = b"~"
                elif resp3 and isinstance(item, Push):
                    prefix = b">"
                out.append(b"%s%d\r\n" % (prefix, len(item)))
                stack.append(iter(item))
            else:
                self.encode_into(item, out)
        return b"".join(out)


def error_line(message: str) -> bytes:
    """An error text as its reply carries it (addReplyErrorFormatEx on "-%s"): one
    line, CR and LF trimmed from its end and every other one made a space (CRLF:
    two)."""
    text = message.encode("utf-8", "surrogateescape")
    if b"\r" in text or b"\n" in text:
        text = text.rstrip(b"\r\n").replace(b"\n", b" ").replace(b"\r", b" ")
    return text



RESP2 = Encoder(resp3=False)
RESP3 = Encoder(resp3=True)
