"""The redis.conf file format: how a line splits into words and how a value is quoted.

Redis reads a config file line by line, splitting each with ``sdssplitargs`` (blanks
separate words; "double quotes" understand \\n \\r \\t \\b \\a \\xHH and backslash
escapes, 'single quotes' only \\'), and CONFIG REWRITE writes string values back with
``sdscatrepr`` so that they split into the same word again. Both are here, on bytes
(a value may be any bytes), with the str helpers the configuration uses
(surrogateescape text, as CONFIG SET decodes its arguments).
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple, Union

from .wire import split_inline


def split_args(line: bytes) -> Optional[List[bytes]]:
    """sdssplitargs: the words of ``line``, or None for unbalanced quotes (or a closing
    quote followed by something other than a blank). The line ends at a NUL byte, as
    the C string it is in Redis. The splitting itself is the inline protocol's (one
    implementation of sdssplitargs: :func:`miniredis.wire.split_inline`)."""
    if b"\0" in line:
        line = line[:line.index(b"\0")]
    return split_inline(line)


def quote(value: bytes) -> bytes:
    """sdscatrepr: ``value`` in double quotes, with \\\\ \\" \\n \\r \\t \\a \\b escaped and
    every other byte outside printable ASCII as \\xHH."""
    out = bytearray(b'"')
    for byte in value:
        if byte in (0x5c, 0x22):
            out += b"\\" + bytes((byte,))
        elif byte == 0x0a:
            out += b"\\n"
        elif byte == 0x0d:
            out += b"\\r"
        elif byte == 0x09:
            out += b"\\t"
        elif byte == 0x07:
            out += b"\\a"
        elif byte == 0x08:
            out += b"\\b"
        elif 0x20 <= byte <= 0x7e:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    out += b'"'
    return bytes(out)


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def to_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def trim(line: bytes) -> bytes:
    """sdstrim with the blanks Redis strips from a config line."""
    return line.strip(b" \t\r\n")


def read_as_redis(data: bytes) -> bytes:
    """A config file's text as loadServerConfig gathers it: fgets chunks (a line, or
    1024 bytes of a longer one) appended with sdscat, so a NUL drops the rest of its
    chunk, newline included (the next line joins that one)."""
    if b"\0" not in data:
        return data
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos, pos + 1024)
        end = end + 1 if end >= 0 else min(pos + 1024, len(data))
        out.append(data[pos:end].split(b"\0", 1)[0])
        pos = end
    return b"".join(out)


def read_directives(data: bytes) -> List[Tuple[int, bytes, Optional[List[bytes]]]]:
    """(line number from 1, trimmed line, its words or None if unbalanced) for each
    line of a config file that is not blank or a comment."""
    out = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = trim(raw)
        if not line or line[:1] == b"#":
            continue
        words = split_args(line)
        if words == []:
            continue
        out.append((number, line, words))
    return out


# Directives Redis 7.0 still accepts and ignores (with this many words, name included).
DEPRECATED = {"list-max-ziplist-entries": 2, "list-max-ziplist-value": 2,
              "lua-replicate-commands": 2}


class UnbalancedQuotes(ValueError):
    """A config file line sdssplitargs cannot split (Redis refuses to start)."""


def parse_directives(text: Union[bytes, str]) -> List[Tuple[str, List[str]]]:
    """Split redis.conf text into (name, words) pairs as Redis does (sdssplitargs per
    line; ``#`` starts a comment line). UnbalancedQuotes names the first line with
    unbalanced quotes."""
    data = text if isinstance(text, bytes) else to_bytes(text)
    result = []
    for number, line, words in read_directives(data):
        if words is None:
            raise UnbalancedQuotes("Unbalanced quotes in configuration line %d: '%s'"
                              % (number, to_text(line)))
        name = to_text(words[0]).lower()
        if DEPRECATED.get(name) == len(words):
            continue
        result.append((name, [to_text(word) for word in words[1:]]))
    return result


def absolute_path(path: str) -> str:
    """getAbsolutePath: the config file as Redis remembers it (trimmed, joined to the
    working directory, leading "../" folded; a symbolic link is not resolved)."""
    relative = path.strip(" \r\n\t")
    if relative.startswith("/"):
        return relative
    base = os.getcwd()
    if not base.endswith("/"):
        base += "/"
    while relative.startswith("../"):
        relative = relative[3:]
        if len(base) > 1:
            base = base[:base.rstrip("/").rfind("/") + 1] or "/"
    return base + relative
