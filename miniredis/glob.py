"""Redis's glob patterns (``stringmatchlen`` in util.c), reimplemented for bytes.

KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET (with ``nocase``) all use these rules:

* ``*`` matches any run of bytes, ``?`` any one byte;
* ``[abc]``, ``[^abc]``, ``[a-z]`` classes; a reversed range (``[z-a]``) is swapped;
  inside a class a backslash makes the next byte literal (compared case-sensitively
  even with ``nocase``, as Redis does); a class left open runs to the end of the
  pattern; ``]`` right after ``[`` closes an empty class; ``[a-]`` is the range
  ``]``..``a`` with the class still open, because Redis consumes the ``]`` as the end
  of the range;
* outside classes a backslash escapes the next byte (a trailing one is literal);
* range bounds and the subject byte are compared as C ``char``, which is *signed*:
  ``[a-\\xff]`` is the range -1..97 (bytes 0x00..0x61 and 0xff);
* an empty subject is matched only by the empty pattern (Redis's loop never runs, so
  even ``*`` fails; KEYS and SCAN special-case the exact pattern ``*`` themselves).

Matching strategy: the pattern is split at its stars into segments of single-byte
atoms. A segment has a fixed length, so it compiles to a star-free regular
expression; the first segment is anchored at the start, the last at the end, and each
middle one is found leftmost-first in between. For globs this greedy placement is exact
and costs O(len(subject) * len(pattern)) at worst, so patterns such as
``a*a*a*a*...b`` cannot blow up the way backtracking over ``.*`` would (Redis guards the
same case with ``skipLongerMatches``).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, List, Optional, Tuple

_STAR = None  # segment separator in the parsed form


def _signed(byte: int) -> int:
    """A byte as the C ``char`` Redis compares (signed on the platforms it runs on)."""
    return byte - 256 if byte >= 128 else byte


def _lower(value: int) -> int:
    """C-locale tolower on a (possibly negative) char value: only A-Z change."""
    return value + 32 if 65 <= value <= 90 else value


def _class_members(items: List[Tuple[str, int, int]], negate: bool, nocase: bool) -> bytes:
    """Every byte a ``[...]`` class accepts, evaluated per byte exactly as Redis does."""
    members = bytearray()
    for byte in range(256):
        c = _signed(byte)
        hit = False
        for kind, a, b in items:
            if kind == "esc":
                hit = byte == a
            elif kind == "range":
                start, end = _signed(a), _signed(b)
                if start > end:
                    start, end = end, start
                if nocase:
                    hit = _lower(start) <= _lower(c) <= _lower(end)
                else:
                    hit = start <= c <= end
            elif nocase:
                hit = _lower(_signed(a)) == _lower(c)
            else:
                hit = byte == a
            if hit:
                break
        if hit != negate:
            members.append(byte)
    return bytes(members)


def parse(pattern: bytes, nocase: bool = False) -> List[Optional[bytes]]:
    """The pattern as a list of atoms: ``None`` for a star, else the set of bytes
    (as ``bytes``) that one subject byte must belong to. Walks the pattern exactly as
    ``stringmatchlen`` does, so odd patterns mean what they mean in Redis."""
    atoms: List[Optional[bytes]] = []
    any_byte = bytes(range(256))
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 42:  # '*'
            while i + 1 < n and pattern[i + 1] == 42:
                i += 1
            atoms.append(_STAR)
        elif c == 63:  # '?'
            atoms.append(any_byte)
        elif c == 91:  # '['
            i += 1
            negate = i < n and pattern[i] == 94  # '^'
            if negate:
                i += 1
            items: List[Tuple[str, int, int]] = []
            while True:
                if i < n and pattern[i] == 92 and n - i >= 2:  # '\x' inside a class
                    i += 1
                    items.append(("esc", pattern[i], pattern[i]))
                elif i < n and pattern[i] == 93:  # ']'
                    break
                elif i >= n:  # unterminated: the class ends with the pattern
                    i -= 1
                    break
                elif n - i >= 3 and pattern[i + 1] == 45:  # 'a-z'
                    items.append(("range", pattern[i], pattern[i + 2]))
                    i += 2
                else:
                    items.append(("lit", pattern[i], pattern[i]))
                i += 1
            atoms.append(_class_members(items, negate, nocase))
        else:
            if c == 92 and i + 1 < n:  # '\x' outside a class: x literally
                i += 1
                c = pattern[i]
            if nocase and (65 <= c <= 90 or 97 <= c <= 122):
                atoms.append(bytes(sorted({c | 32, c & ~32})))
            else:
                atoms.append(bytes((c,)))
        i += 1
    return atoms


def _atom_regex(members: bytes) -> bytes:
    if len(members) == 256:
        return b"."
    if not members:
        return b"(?!)"
    if len(members) == 1:
        return re.escape(members)
    return b"[" + b"".join(b"\\x%02x" % m for m in members) + b"]"


def _segment(atoms: List[bytes]) -> Tuple[int, "re.Pattern[bytes]"]:
    return len(atoms), re.compile(b"".join(_atom_regex(a) for a in atoms), re.DOTALL)


class GlobPattern:
    """A compiled glob; call it (or :meth:`match`) with a subject to test it."""

    __slots__ = ("pattern", "nocase", "test", "_segments")

    def __init__(self, pattern: bytes, nocase: bool = False) -> None:
        self.pattern = pattern
        self.nocase = nocase
        atoms = parse(pattern, nocase)
        segments: List[List[bytes]] = [[]]
        for atom in atoms:
            if atom is _STAR:
                segments.append([])
            else:
                segments[-1].append(atom)
        self._segments = [_segment(s) for s in segments]
        if not pattern:
            self.test = _is_empty
        elif len(segments) == 1:
            fullmatch = self._segments[0][1].fullmatch
            self.test = lambda subject: fullmatch(subject) is not None
        elif atoms == [_STAR]:
            self.test = _not_empty
        else:
            self.test = self._match_with_stars

    def __call__(self, subject: bytes) -> bool:
        return self.test(subject)

    match = __call__

    def _match_with_stars(self, subject: bytes) -> bool:
        n = len(subject)
        if n == 0:
            return False  # Redis's loop never starts on an empty subject
        segments = self._segments
        first_len, first = segments[0]
        last_len, last = segments[-1]
        end = n - last_len
        if end < first_len:
            return False
        if first_len and first.match(subject) is None:
            return False
        if last_len and last.fullmatch(subject, end) is None:
            return False
        position = first_len
        for length, regex in segments[1:-1]:
            if not length:
                continue
            found = regex.search(subject, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    def __repr__(self) -> str:
        return "GlobPattern(%r, nocase=%r)" % (self.pattern, self.nocase)


def _is_empty(subject: bytes) -> bool:
    return not subject


def _not_empty(subject: bytes) -> bool:
    return len(subject) > 0


@lru_cache(maxsize=512)
def compile_pattern(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate ``subject -> bool`` for ``pattern`` (cached: patterns repeat)."""
    return GlobPattern(bytes(pattern), nocase).test


def match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """Whether ``subject`` matches the Redis glob ``pattern`` (``stringmatchlen``)."""
    return compile_pattern(pattern, nocase)(subject)
