"""The encodings of RDB files and DUMP payloads older Redis versions wrote: ziplists
(lists, hashes and sorted sets up to Redis 6.2, quicklist nodes of Redis 3.2-6.2) and
zipmaps (hashes up to Redis 2.4). Redis 7.0 reads them and converts them to listpacks;
we read them into our own values. Only reading: we write what Redis 7.0 writes.

Every length is checked against the blob, as Redis's ziplistValidateIntegrity and
zipmapValidateIntegrity do: a malformed blob raises RDBError, never an IndexError or
a value read from the bytes that follow.
"""
from __future__ import annotations

import struct
from typing import Any, List, Tuple


class LegacyEncodingError(ValueError):
    """A ziplist or zipmap that does not hold together (the caller words the error)."""


_ZIP_INTS = {0xC0: ("<h", 2), 0xD0: ("<i", 4), 0xE0: ("<q", 8), 0xFE: ("<b", 1)}


def parse_ziplist(blob: bytes) -> List[Any]:
    """The entries of a ziplist: ints for its integer encodings, bytes for strings.

    Layout (ziplist.c): zlbytes u32, zltail u32, zllen u16, entries, 0xFF. An entry is
    the previous entry's length (1 byte, or 0xFE and 4 bytes), an encoding and data.
    """
    size = len(blob)
    if size < 11 or struct.unpack_from("<I", blob, 0)[0] != size or blob[-1] != 0xFF:
        raise LegacyEncodingError("ziplist header")
    tail = struct.unpack_from("<I", blob, 4)[0]
    count = struct.unpack_from("<H", blob, 8)[0]
    out: List[Any] = []
    pos = 10
    previous = 0
    last = pos
    end = size - 1
    while pos < end:
        start = pos
        if blob[pos] < 0xFE:
            prevlen = blob[pos]
            pos += 1
        else:
            if blob[pos] != 0xFE or pos + 5 > end:
                raise LegacyEncodingError("ziplist prevlen")
            prevlen = struct.unpack_from("<I", blob, pos + 1)[0]
            pos += 5
        if prevlen != previous:
            raise LegacyEncodingError("ziplist prevlen")
        if pos >= end:
            raise LegacyEncodingError("ziplist entry")
        first = blob[pos]
        kind = first >> 6
        if kind == 0:
            length, pos = first & 0x3F, pos + 1
        elif kind == 1:
            if pos + 2 > end:
                raise LegacyEncodingError("ziplist entry")
            length, pos = ((first & 0x3F) << 8) | blob[pos + 1], pos + 2
        elif first == 0x80:
            if pos + 5 > end:
                raise LegacyEncodingError("ziplist entry")
            length, pos = struct.unpack_from(">I", blob, pos + 1)[0], pos + 5
        else:
            length = -1
        if length >= 0:
            if pos + length > end:
                raise LegacyEncodingError("ziplist entry")
            out.append(blob[pos:pos + length])
            pos += length
        elif first in _ZIP_INTS:
            code, width = _ZIP_INTS[first]
            if pos + 1 + width > end:
                raise LegacyEncodingError("ziplist entry")
            out.append(struct.unpack_from(code, blob, pos + 1)[0])
            pos += 1 + width
        elif first == 0xF0:                 # 24-bit signed
            if pos + 4 > end:
                raise LegacyEncodingError("ziplist entry")
            raw = int.from_bytes(blob[pos + 1:pos + 4], "little")
            out.append(raw - (1 << 24) if raw >= (1 << 23) else raw)
            pos += 4
        elif 0xF1 <= first <= 0xFD:         # an immediate 0..12
            out.append((first & 0x0F) - 1)
            pos += 1
        else:
            raise LegacyEncodingError("ziplist encoding")
        previous = pos - start
        last = start
    if pos != end or (out and last != tail) or (not out and tail != 10):
        raise LegacyEncodingError("ziplist tail")
    if count != 0xFFFF and count != len(out):
        raise LegacyEncodingError("ziplist count")
    return out


def parse_zipmap(blob: bytes) -> List[Tuple[bytes, bytes]]:
    """The field/value pairs of a zipmap (zipmap.c): a count byte, then per pair a
    length (1 byte, or 254 and 4 bytes), the field, a length, a free-space byte, the
    value and that much padding; 0xFF ends it."""
    size = len(blob)
    if size < 2:
        raise LegacyEncodingError("zipmap header")
    pos = 1
    pairs: List[Tuple[bytes, bytes]] = []

    def length_at(at: int) -> Tuple[int, int]:
        if at >= size:
            raise LegacyEncodingError("zipmap length")
        first = blob[at]
        if first < 254:
            return first, at + 1
        if first == 254 and at + 5 <= size:
            return struct.unpack_from("<I", blob, at + 1)[0], at + 5
        raise LegacyEncodingError("zipmap length")

    while True:
        if pos >= size:
            raise LegacyEncodingError("zipmap end")
        if blob[pos] == 0xFF:
            pos += 1
            break
        flen, pos = length_at(pos)
        if pos + flen > size:
            raise LegacyEncodingError("zipmap field")
        field = blob[pos:pos + flen]
        pos += flen
        vlen, pos = length_at(pos)
        if pos >= size:
            raise LegacyEncodingError("zipmap value")
        free = blob[pos]
        pos += 1
        if pos + vlen + free > size:
            raise LegacyEncodingError("zipmap value")
        pairs.append((field, blob[pos:pos + vlen]))
        pos += vlen + free
    if pos != size or not pairs or (blob[0] < 254 and blob[0] != len(pairs)):
        raise LegacyEncodingError("zipmap count")
    return pairs
