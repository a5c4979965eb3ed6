"""Packed sequences: the memory-compact forms of small collections.

Redis keeps small hashes, lists and sorted sets in listpacks: one allocation holding
every element, length-prefixed. A Python collection of n small byte strings costs an
object per string (about 40 bytes each) plus the container, ten times what Redis
spends; so small values are kept as ONE immutable ``bytes`` blob instead, of byte
strings framed by separator bytes (:func:`escape` below), searched in place by
``bytes.find`` and split in C: a listpack hash (datatypes.packedhash), a list's
chunks (datatypes.packedlist) and the members of a sorted set packed at rest
(datatypes.packedzset, after a fixed-width column of its scores).

A write makes a new blob (O(n), as a listpack insert is O(n)); the sizes where these
forms are used are bounded by the *-max-listpack-* limits, so that stays small.
"""
from __future__ import annotations

from typing import Any, Callable, List, Tuple


class LastUnpacked:
    """A one-entry memo: the packed value unpacked last and its elements, so that the
    next command at the same value (LRANGE polled again) does not unpack it again.
    Packed values are immutable and the memo holds its key, so identity tells it is
    the same. The elements are shared: read them, never change them. One tuple, read
    and replaced whole (embedded servers may run in several threads of one process)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: Tuple[Any, List[Any]] = (None, [])

    def read(self, key: Any, decode: Callable[[Any], List[Any]]) -> List[Any]:
        """``decode(key)``, from the memo when ``key`` was read (or kept) last."""
        last = self.last
        if last[0] is key:
            return last[1]
        items = decode(key)
        self.last = (key, items)
        return items

    def keep(self, key: Any, items: List[Any]) -> None:
        """Remember ``items`` as ``key``'s elements (``keep(None, [])`` forgets)."""
        self.last = (key, items)


# -- byte strings framed by separators (packedhash, packedlist's chunks, packedzset) ------
# A blob of elements joined by separator bytes is found in (``bytes.find``) and split
# (``bytes.split``) in C, without an object per element, provided no element holds a
# separator: the three bytes \x00, \x01 and \x02 are escaped inside elements
# (\x02 followed by \x03, \x04 or \x05), so a separator in the blob is always one.
# Text holds none of them: ``0 in x or 1 in x or 2 in x`` (memchr each) tells.
def escape(data: bytes) -> bytes:
    """``data`` with its reserved bytes escaped (``\x02`` first: the escapes add it)."""
    return data.replace(b"\x02", b"\x02\x05").replace(b"\x00", b"\x02\x03") \
        .replace(b"\x01", b"\x02\x04")


def unescape(data: bytes) -> bytes:
    """The inverse of :func:`escape`. Every ``\x02`` in escaped data starts an escape
    (plain ``\x02`` bytes were escaped), so each replacement finds only escapes."""
    return data.replace(b"\x02\x03", b"\x00").replace(b"\x02\x04", b"\x01") \
        .replace(b"\x02\x05", b"\x02")
