"""Redis's glob patterns (``stringmatchlen`` in util.c), compiled to regular expressions.

KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET all use these rules: ``*`` and ``?``;
character classes ``[abc]``, ``[^abc]``, ``[a-z]`` (reversed ranges are swapped) in
which a backslash escapes the next character; a backslash escapes outside classes too;
an unterminated class ends with the pattern. The translation walks the pattern exactly
as Redis's matcher does, so odd patterns (``[a-]``, ``[]``) mean the same thing.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, List, Tuple


def _byte(value: int) -> str:
    return "\\x%02x" % value


def translate(pattern: bytes) -> str:
    """The regular expression (over latin-1 text) equivalent to a Redis glob."""
    out: List[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 42:  # '*'
            while i + 1 < n and pattern[i + 1] == 42:
                i += 1
            out.append(".*")
        elif c == 63:  # '?'
            out.append(".")
        elif c == 91:  # '['
            i += 1
            negate = i < n and pattern[i] == 94  # '^'
            if negate:
                i += 1
            ranges: List[Tuple[int, int]] = []
            while True:
                if i < n and pattern[i] == 92 and n - i >= 2:  # escaped literal
                    i += 1
                    ranges.append((pattern[i], pattern[i]))
                elif i < n and pattern[i] == 93:  # ']'
                    break
                elif i >= n:  # unterminated: the class ends with the pattern
                    i -= 1
                    break
                elif n - i >= 3 and pattern[i + 1] == 45:  # 'a-z'
                    start, end = pattern[i], pattern[i + 2]
                    ranges.append((min(start, end), max(start, end)))
                    i += 2
                else:
                    ranges.append((pattern[i], pattern[i]))
                i += 1
            body = "".join(_byte(a) if a == b else "%s-%s" % (_byte(a), _byte(b))
                           for a, b in ranges)
            if not body:
                out.append("." if negate else "(?!)")
            else:
                out.append("[%s%s]" % ("^" if negate else "", body))
        elif c == 92 and i + 1 < n:  # '\x': x literally
            i += 1
            out.append(_byte(pattern[i]))
        else:
            out.append(_byte(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_pattern(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A predicate ``subject -> bool`` for ``pattern`` (cached: patterns repeat)."""
    if pattern == b"*":
        return lambda subject: True
    flags = re.DOTALL | (re.IGNORECASE if nocase else 0)
    regex = re.compile(translate(pattern).encode("latin-1"), flags)
    fullmatch = regex.fullmatch
    return lambda subject: fullmatch(subject) is not None


def match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    """Whether ``subject`` matches the Redis glob ``pattern``."""
    return compile_pattern(pattern, nocase)(subject)
