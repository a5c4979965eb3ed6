"""The blob of a small sorted set packed at rest, read and written in place.

Redis keeps a sorted set of up to ``zset-max-listpack-entries`` members in a listpack
and walks it in C. :mod:`miniredis.datatypes.zset` keeps such a set, when no command
is using it, as one immutable ``bytes`` object laid out here so that every common
command reads it with a few C calls (``bytes.find``, ``bytes.count``, a split, a
``struct`` read, an ``array`` built from a slice) and no Python object per member:

    code  count  scores...  \\x00 member \\x00 member \\x00 ... member \\x00

* ``code`` (one byte) is the type of the scores column, the narrowest that holds
  every score: int8, int16, int32, int64 (integral scores within +-2**53, the ones
  exact as doubles and as ints), else float64. Counters, ranks, timestamps: scores are
  mostly small integers, one or two bytes each where a pickle took two to nine;
* ``count`` is the number of members: one byte below 255, else 255 and four bytes
  (little-endian). ZCARD reads it; the column's length follows from it;
* the scores, ascending (Redis's order: score, then member bytes), fixed width in
  native byte order: score ``i`` is one ``struct`` read at a computed offset, and a
  range by score two bisections over an ``array`` made from the column's bytes;
* the members in the same order, each between two ``\\x00`` separators, with the
  three reserved bytes escaped inside them (:func:`miniredis.datatypes.packed.escape`,
  as in a listpack hash), so a separator is always one: a member's position is one
  ``find`` and one ``count`` of the separators before it (or after it, from the
  nearer end), and a range by position one split, from the nearer end, that stops
  at the range.

Why these choices. Each member costs its bytes plus one (a listpack entry costs two
or more), a score its column width (a listpack's small integer one to three bytes);
ten members of 8 bytes with scores 0..9 take 103 bytes, the pickle they replace 125
(a bytes object's 33 more: 136 against 158, a 144- against a 160-byte allocation).
A pickle had to be unpacked whole, an object a member, for every read (2.2 us at 50
members); here a read costs C scans of the bytes it passes (about 1 ns a byte) and
objects only for what it returns. Offsets or lengths of the members would make a
position's byte offset a read rather than a split (an object a member passed) but
cost a byte or two a member, and every insertion would rewrite the offsets after
it. Instead, when every member has the same length (ids, fixed-width keys,
timestamps: the usual case) the separators are evenly spaced, which one strided
slice compared in C tells (:func:`_stride`): a position's offset is then a product,
and a range by position splits its own bytes only.

A blob is canonical: the same members and scores always make the same bytes (the
narrowest column, one header form), whether written in place here or packed anew
from a hydrated set by :func:`encode`. Memory estimates rely on it: a set's estimate
is its blob's size, and must not change when the set is merely hydrated and packed
again. So a write that removes a score recomputes the column's type: from the two
ends for an integer column (it is sorted), and with one pass over the column only
when a float column loses a non-integral score and its ends are integral.

Writes return a new blob: one splice of the column and one of the members, O(n)
bytes copied, as a listpack insertion moves its tail. The module knows no commands.
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from struct import Struct
from typing import Any, List, Optional, Sequence, Tuple

from .packed import escape, unescape

_FLOAT = 4                                  # the code of a float64 column
_WIDTHS = (1, 2, 4, 8, 8)                   # bytes per score, by code
_INT32 = next(t for t in "ilh" if array(t).itemsize == 4)
_TYPECODES = ("b", "h", _INT32, "q", "d")   # array typecodes, by code
_READ = tuple(Struct("=" + t).unpack_from for t in "bhiqd")
_WRITE = tuple(Struct("=" + t).pack for t in "bhiqd")
_EXACT = float(1 << 53)                     # integral scores below it are ints
_HEADERS = [[bytes((code, n)) for n in range(255)] for code in range(5)]
_ZEROS = [bytes(n + 1) for n in range(256)]  # a set's separators, evenly spaced


def _header(code: int, count: int) -> bytes:
    """The header of a blob of ``count`` members with a column of type ``code``."""
    if count < 255:
        return _HEADERS[code][count]
    return bytes((code, 255)) + count.to_bytes(4, "little")


def _shape(blob: bytes) -> Tuple[int, int, int, int]:
    """(code, count, where the scores start, where the members start)."""
    count = blob[1]
    if count == 255:
        count = int.from_bytes(blob[2:6], "little")
        start = 6
    else:
        start = 2
    code = blob[0]
    return code, count, start, start + count * _WIDTHS[code]


def _score_code(score: float) -> int:
    """The narrowest column type that holds ``score`` (a float)."""
    if not -_EXACT < score < _EXACT or not score.is_integer():
        return _FLOAT                       # (also inf, -inf)
    if -128.0 <= score < 128.0:
        return 0
    if -32768.0 <= score < 32768.0:
        return 1
    return 2 if -2147483648.0 <= score < 2147483648.0 else 3


def _escaped(member: bytes) -> bytes:
    """``member`` as the blob holds it (an int's ``in`` is a memchr each)."""
    if 0 in member or 1 in member or 2 in member:
        return escape(member)
    return member


def count(blob: bytes) -> int:
    """The number of members."""
    size = blob[1]
    return size if size < 255 else int.from_bytes(blob[2:6], "little")


# -- building and reading whole ----------------------------------------------------
def encode(scores: Sequence[float], members: Sequence[bytes]) -> bytes:
    """The blob of a set whose members are ``members`` with ``scores`` (floats), in
    Redis's order. Integral scores are tested all at once (one ``map(int)`` and a list
    comparison: an int equals its float exactly then), with no Python step a member."""
    try:
        ints: Optional[List[int]] = list(map(int, scores))
    except (OverflowError, ValueError):     # an infinite score
        ints = None
    if ints is not None and ints == scores and (
            not ints or (-_EXACT < ints[0] and ints[-1] < _EXACT)):
        code = max(_score_code(float(ints[0])), _score_code(float(ints[-1]))) \
            if ints else 0
        column = array(_TYPECODES[code], ints).tobytes()
    else:
        code = _FLOAT     # (adding 0.0 stores -0.0 as 0.0: a listpack stores "0")
        column = array("d", map((0.0).__add__, scores)).tobytes()
    joined = b"".join(members)
    if 0 in joined or 1 in joined or 2 in joined:
        members = [_escaped(member) for member in members]
    return b"".join((_header(code, len(members)), column, b"\x00",
                     b"\x00".join(members), b"\x00" if members else b""))


def columns(blob: bytes) -> Tuple[List[float], List[bytes]]:
    """(scores as floats, members), in order: what hydrating the set needs."""
    code, size, start, base = _shape(blob)
    if not size:
        return [], []
    return (_floats(code, blob[start:base]),
            _split(blob, base, size, 0, size))


def flat(blob: bytes) -> List[Any]:
    """[member, score, ...] with integral scores within 2**53 as ints, the others as
    floats: what the pickled form held, and what DUMP and RDB write from."""
    code, size, start, base = _shape(blob)
    scores: List[Any] = array(_TYPECODES[code], blob[start:base]).tolist()
    if code == _FLOAT:
        scores = [int(score) if -_EXACT < score < _EXACT and score.is_integer()
                  else score for score in scores]
    out: List[Any] = [None] * (2 * size)
    out[0::2] = _split(blob, base, size, 0, size) if size else []
    out[1::2] = scores
    return out


def _floats(code: int, column: bytes) -> List[float]:
    """A column's scores as floats (the ScoreList's and the replies' type)."""
    values = array(_TYPECODES[code], column)
    return values.tolist() if code == _FLOAT else list(map(float, values))


def _stride(blob: bytes, base: int, size: int) -> int:
    """The distance between separators when every member has the same length (ids,
    fixed-width keys, timestamps: the usual case), else 0: then the offset of a
    position is a product, where it otherwise takes a split (an object a member
    passed). Told in C: the separators are the ``size + 1`` zero bytes there are, so
    if every ``stride``-th byte is one, those are all of them. (A remainder tells
    early, without the slice, that the lengths differ.)"""
    if size:
        stride, rest = divmod(len(blob) - 1 - base, size)
        if not rest and blob[base::stride] == (
                _ZEROS[size] if size < 256 else bytes(size + 1)):
            return stride
    return 0


def _split(blob: bytes, base: int, size: int, start: int, stop: int) -> List[bytes]:
    """The members at positions ``start <= i < stop`` (0 <= start < stop <= size),
    unescaped: one split from the nearer end, stopping at the range; when more than
    a few members would be passed and all have one length (:func:`_stride`), one
    split of the range's own bytes."""
    if stop <= size - start:
        passed = start
    else:
        passed = size - stop
    stride = _stride(blob, base, size) if passed > 3 else 0
    if stride:
        members = blob[base + start * stride + 1:base + stop * stride].split(b"\x00")
    elif stop <= size - start:
        members = blob[base + 1:].split(b"\x00", stop)[start:stop]
    else:
        members = blob[base:-1].rsplit(b"\x00", size - start)[1:stop - start + 1]
    if blob.find(2, base) >= 0:
        members = [unescape(member) if 2 in member else member for member in members]
    return members


# -- reading in place --------------------------------------------------------------
# The member found last and where (ZADD reads a member's score, then writes it; the
# write need not search again). One tuple, read and replaced whole; it holds its
# blob, so identity tells it is the same.
_found: Tuple[Any, Any, int, int] = (None, None, -1, -1)


def _locate(blob: bytes, member: bytes, base: int, size: int) -> Tuple[int, int]:
    """(position, offset of its leading separator) of ``member``, or (-1, -1).

    The search is for the separator and the member without the separator after it,
    then checked to be followed by one (else it found a longer member beginning with
    this one, and goes on): a needle ending in the separator is checked at every
    member's end, and compared from its start wherever a member has the same length
    -- twice the time over members of one length with a common prefix ("user:0001"),
    the usual keys. The position is a count of the separators from the nearer end
    (the stride of :func:`_stride` costs about as much to find)."""
    global _found
    found = _found
    if found[0] is blob and found[1] == member:
        return found[2], found[3]
    if not member:
        at = blob.find(b"\x00\x00", base)
    else:
        if 0 in member or 1 in member or 2 in member:
            needle = b"\x00" + escape(member)
        else:
            needle = b"\x00" + member
        at = blob.find(needle, base)
        # (a match ends before the last separator: the member holds none)
        while at >= 0 and blob[at + len(needle)]:
            at = blob.find(needle, at + len(needle))
    if at < 0:
        return -1, -1
    if at - base < len(blob) - at:
        index = blob.count(0, base, at)
    else:
        index = size + 1 - blob.count(0, at)
    _found = (blob, member, index, at)
    return index, at


def rank(blob: bytes, member: bytes) -> int:
    """The position of ``member``, or -1."""
    _, size, _, base = _shape(blob)
    return _locate(blob, member, base, size)[0]


def score_of(blob: bytes, member: bytes) -> Optional[float]:
    """The score of ``member``, or None."""
    code = blob[0]                      # (_shape, written out: ZSCORE's and ZADD's)
    size = blob[1]
    if size == 255:
        size = int.from_bytes(blob[2:6], "little")
        start = 6
    else:
        start = 2
    width = _WIDTHS[code]
    index = _locate(blob, member, start + size * width, size)[0]
    if index < 0:
        return None
    return float(_READ[code](blob, start + index * width)[0])


def scores(blob: bytes, start: int, stop: int) -> List[float]:
    """The scores at positions ``start <= i < stop`` (within the set), as floats."""
    code, _, first, _ = _shape(blob)
    width = _WIDTHS[code]
    return _floats(code, blob[first + start * width:first + stop * width])


def members(blob: bytes, start: int, stop: int) -> List[bytes]:
    """The members at positions ``start <= i < stop`` (``stop`` may pass the end)."""
    _, size, _, base = _shape(blob)
    if stop > size:
        stop = size
    return _split(blob, base, size, start, stop) if start < stop else []


def score_index(blob: bytes, score: float, right: bool) -> int:
    """The first position whose score is >= ``score`` (> when ``right``)."""
    code, _, start, base = _shape(blob)
    column = array(_TYPECODES[code], blob[start:base])
    return bisect_right(column, score) if right else bisect_left(column, score)


def score_span(blob: bytes, low: float, low_ex: bool, high: float,
               high_ex: bool) -> Tuple[int, int]:
    """The positions [start, stop) of the scores in [low, high] (ends open when
    ``*_ex``): two bisections over one column (start >= stop when none)."""
    code, _, start, base = _shape(blob)
    column = array(_TYPECODES[code], blob[start:base])
    return ((bisect_right if low_ex else bisect_left)(column, low),
            (bisect_left if high_ex else bisect_right)(column, high))


# -- writing: new blobs --------------------------------------------------------------
def _separator(blob: bytes, base: int, size: int, index: int, stride: int,
               known: int = 0, known_at: int = -1) -> int:
    """The offset of separator ``index`` (the one before member ``index``; ``size``
    is the last, which ends the blob; the first is at ``base``): ``index`` strides
    from the first when the members have one length (see :func:`_stride`), else
    walked from the nearest of the two ends and of separator ``known`` at
    ``known_at``: a few finds, or one split stopping there (no object a member
    beyond it)."""
    if stride:
        return base + index * stride
    if known_at < 0:
        known_at = base
    if size - index < index:
        other, other_at = size, len(blob) - 1
    else:
        other, other_at = 0, base
    if abs(index - other) < abs(index - known):
        known, known_at = other, other_at
    steps = index - known
    if steps > 0:
        if steps <= 2:
            for _ in range(steps):
                known_at = blob.index(0, known_at + 1)
            return known_at
        parts = blob[known_at + 1:].split(b"\x00", steps)
        return known_at + steps + sum(map(len, parts)) - len(parts[-1])
    if steps < 0:
        if steps >= -2:
            for _ in range(-steps):
                known_at = blob.rindex(0, base, known_at)
            return known_at
        parts = blob[base:known_at].rsplit(b"\x00", -steps)
        return known_at + steps - sum(map(len, parts)) + len(parts[0])
    return known_at


def _narrowest(column: bytes, code: int) -> int:
    """The code a canonical blob gives ``column`` (scores of type ``code``, sorted)
    once scores were removed from it: the ends' for integers; for floats, a pass over
    the column when the ends are integral (is every score?)."""
    if not column:
        return 0
    read = _READ[code]
    narrow = max(_score_code(float(read(column, 0)[0])),
                 _score_code(float(read(column, len(column) - _WIDTHS[code])[0])))
    if code == _FLOAT and narrow != _FLOAT:
        values = array("d", column).tolist()
        if list(map(int, values)) != values:
            return _FLOAT
    return narrow


def _recode(column: bytes, code: int, new: int) -> bytes:
    """``column`` (of type ``code``) as a column of type ``new``."""
    values: Any = array(_TYPECODES[code], column)
    if code == _FLOAT:
        values = map(int, values)
    return array(_TYPECODES[new], values).tobytes()


def put(blob: bytes, member: bytes, score: float, present: bool) -> bytes:
    """The blob with ``member`` (in the set when ``present``) at ``score`` (a float;
    -0.0 is stored as 0): one splice that cuts the old entry out and puts the new one
    at its place, found by bisections (the scores, then the members of an equal
    score). A score that changes the column's type takes two (:func:`remove`, which
    finds the narrowest type, then an insertion, which widens the column)."""
    code, size, start, base = _shape(blob)
    width = _WIDTHS[code]
    new = _score_code(score)
    if present:
        index, at = _locate(blob, member, base, size)
        offset = start + index * width
        old = _READ[code](blob, offset)[0]
        if old == score:
            return blob
        if new > code or (new < code and _score_code(float(old)) == code):
            return put(remove(blob, member), member, score, False)  # type: ignore
    else:
        index = at = -1
        if new > code:
            blob = b"".join((_header(new, size), _recode(blob[start:base], code, new),
                             blob[base:]))
            code, size, start, base = _shape(blob)
            width = _WIDTHS[code]
    values = array(_TYPECODES[code], blob[start:base])
    low = bisect_left(values, score)
    high = bisect_right(values, score, low)
    stored = _WRITE[code](score + 0.0 if code == _FLOAT else int(score))
    if high == low and index >= 0 and (low == index or low == index + 1):
        # (it stays where it is, just after the entries of lower scores)
        return b"".join((blob[:offset], stored, blob[offset + width:]))
    low, to = _place(blob, base, size, member, low, high, index, at)
    escaped = _escaped(member)
    cut = start + low * width
    to += 1
    if index < 0:                       # a new member, at ``low``
        return b"".join((_header(code, size + 1), blob[start:cut], stored,
                         blob[cut:to], escaped, b"\x00", blob[to:]))
    # ``member`` was at ``index``: it moves to ``low`` (before the member there), or
    # just after itself (``index + 1``) -- where it stays
    end = at + 1 + len(escaped)         # (its bytes and the separator before them)
    if low == index or low == index + 1:
        return b"".join((blob[:offset], stored, blob[offset + width:]))
    if low < index:
        return b"".join((blob[:cut], stored, blob[cut:offset], blob[offset + width:to],
                         escaped, b"\x00", blob[to:at], blob[end:]))
    return b"".join((blob[:offset], blob[offset + width:cut], stored, blob[cut:at],
                     blob[end:to], escaped, b"\x00", blob[to:]))


def _place(blob: bytes, base: int, size: int, member: bytes, low: int, high: int,
           known: int, known_at: int) -> Tuple[int, int]:
    """Where ``member`` goes among the members at ``low <= i < high``, of its score
    (ordered by their bytes): its position, and the offset of the separator there
    (see :func:`_separator`, which ``known`` and ``known_at`` help)."""
    stride = _stride(blob, base, size)
    at = _separator(blob, base, size, low, stride, known, known_at)
    if high > low:
        ties = blob[at + 1:].split(b"\x00", high - low)
        del ties[-1]
        if blob.find(2, base) >= 0:
            passed = bisect_left([unescape(tie) if 2 in tie else tie for tie in ties],
                                 member)
        else:
            passed = bisect_left(ties, member)
        low += passed
        at += passed + sum(map(len, ties[:passed]))
    return low, at


def remove(blob: bytes, member: bytes) -> Optional[bytes]:
    """The blob without ``member``, or None when it is not there."""
    code, size, start, base = _shape(blob)
    index, at = _locate(blob, member, base, size)
    if index < 0:
        return None
    width = _WIDTHS[code]
    offset = start + index * width
    # (from its leading separator to its end: the separator after it stays)
    end = blob.index(0, at + 1)
    if code and _score_code(float(_READ[code](blob, offset)[0])) == code:
        new = _narrowest(blob[start:offset] + blob[offset + width:base], code)
        if new != code:
            return b"".join((_header(new, size - 1), _recode(
                blob[start:offset] + blob[offset + width:base], code, new),
                blob[base:at], blob[end:]))
    return b"".join((_header(code, size - 1), blob[start:offset],
                     blob[offset + width:at], blob[end:]))


def remove_range(blob: bytes, start: int, stop: int) -> bytes:
    """The blob without the members at positions ``start <= i < stop`` (0 <= start <
    stop <= the set's size)."""
    code, size, first, base = _shape(blob)
    width = _WIDTHS[code]
    stride = _stride(blob, base, size)
    begin = _separator(blob, base, size, start, stride)
    end = _separator(blob, base, size, stop, stride, start, begin)
    column = blob[first:first + start * width] + blob[first + stop * width:base]
    new = _narrowest(column, code) if code else 0
    if new != code:
        column = _recode(column, code, new)
    return b"".join((_header(new, size - stop + start), column, blob[base:begin],
                     blob[end:]))
