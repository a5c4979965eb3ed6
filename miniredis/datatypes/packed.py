"""Packed sequences: the memory-compact forms of small collections.

Redis keeps small hashes, lists and sorted sets in listpacks: one allocation holding
every element, length-prefixed. A Python collection of n small byte strings costs an
object per string (about 40 bytes each) plus the container, ten times what Redis
spends; so small values are kept as ONE immutable ``bytes`` blob instead, in one of
two forms:

* a pickle (protocol 4, without its PROTO header, frame or memo opcodes) of a list of
  bytes and numbers -- a sorted set packed at rest (datatypes.zset), members and
  scores -- per element one opcode, a length byte and the data (``C n data``; ``B``
  and a 4-byte length past 255 bytes), which ``pickle.loads`` unpacks at C speed.
  Only blobs made here by :func:`pack` are ever unpickled: never data that came from
  outside;
* byte strings framed by separator bytes (:func:`escape` below): a listpack hash
  (datatypes.packedhash), searched in place by ``bytes.find``, and a list's chunks
  (datatypes.packedlist), split in C.

A write makes a new blob (O(n), as a listpack insert is O(n)); the sizes where these
forms are used are bounded by the *-max-listpack-* limits, so that stays small.
"""
from __future__ import annotations

import io
import pickle
import threading
from typing import Any, Callable, List, Tuple

# One pickler per thread, reused for every pack (several embedded servers may run in
# one process, each in its own thread); "fast" mode writes no memo opcodes, which
# only matter for shared or recursive objects.
_LOCAL = threading.local()
_FRAME = 0x95
EMPTY = b"]."            # pack([])
unpack = pickle.loads      # the list of elements of a blob, as new bytes objects


def pack(items: List[bytes], trailer: bytes = b"") -> bytes:
    """The blob holding ``items`` (a list of bytes and numbers) in order, followed by
    ``trailer`` (``pickle.loads`` ignores bytes past the pickle: a caller may keep
    something there that it reads without unpacking)."""
    try:
        out, pickler = _LOCAL.pickler
    except AttributeError:
        out = io.BytesIO()
        pickler = pickle.Pickler(out, 4)
        pickler.fast = True
        _LOCAL.pickler = (out, pickler)
    out.seek(0)
    out.truncate()
    pickler.dump(items)
    if trailer:
        out.write(trailer)
    blob = out.getvalue()
    # Drop PROTO (2 bytes) and the first FRAME header (9), both optional to loads.
    return blob[11:] if blob[2] == _FRAME else blob[2:]


class LastUnpacked:
    """A one-entry memo: the packed value unpacked last and its elements, so that the
    next command at the same value (ZADD after its score's read, LRANGE polled again)
    does not unpack it again. Packed values are immutable and the memo holds its key,
    so identity tells it is the same. The elements are shared: read them, never
    change them. One tuple, read and replaced whole (embedded servers may run in
    several threads of one process)."""

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
        """Remember ``items`` as ``key``'s elements (a write that just packed them)."""
        self.last = (key, items)


# -- byte strings framed by separators (datatypes.packedhash, packedlist's chunks) ---------
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
