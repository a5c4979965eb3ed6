"""Integrity checks of the blobs inside RDB files and DUMP payloads (listpacks, stream
listpacks, intsets), as Redis 7.0 runs them under ``sanitize-dump-payload``.

Redis always runs *shallow* checks, O(1) per blob (a listpack's header: its size and
end byte; an intset's width and size), and runs *deep* ones, walking every entry, only
when sanitizing: ``sanitize-dump-payload yes``, or ``clients`` for a RESTORE sent by a
normal client whose user lacks ``skip-sanitize-payload`` (not the master's, not the
AOF's, not an RDB file's load). Our loaders parse every entry anyway, so a blob no
parse can make sense of is refused whatever the mode (where Redis, unsanitized, would
load it and assert later); the deep checks add what a parse tolerates: back lengths,
header counts, duplicates, a stream node's own lengths (``lp-count``).

Refusals carry Redis's reason (rdbReportCorruptRDB's words), which RESTORE logs at
verbose level and an RDB load at warning level, in rdbReportError's line.
"""
from __future__ import annotations

import struct
from typing import Any, Dict, List, Optional, Tuple

# Where redis-server 7.0.15 reports each reason (rdbReportError's line names it; the
# release's rdb.c, a line or two below the tagged source's, as its log shows).
_LINES = {
    "Duplicate set members detected": 1829,
    "Zset with NAN score detected": 1882,
    "Duplicate zset fields detected": 1894,
    "Hash with dup elements": 1951,
    "Duplicate hash fields detected": 2019,
    "Quicklist integrity check failed.": 2048,
    "Listpack integrity check failed.": 2071,
    "Ziplist integrity check failed.": 2081,
    "Zipmap integrity check failed.": 2130,
    "Hash zipmap with dup elements": 2154,
    "List ziplist integrity check failed.": 2188,
    "Intset integrity check failed.": 2214,
    "Zset ziplist integrity check failed.": 2229,
    "Zset listpack integrity check failed.": 2255,
    "Hash ziplist integrity check failed.": 2275,
    "Hash listpack integrity check failed.": 2301,
    "Stream node key entry is not the size of a stream ID": 2343,
    "Stream listpack integrity check failed.": 2362,
    "Empty listpack inside stream": 2374,
    "Listpack re-added with existing key": 2386,
    "Stream length inconsistent with rax entries": 2430,
    "Duplicated consumer group name": 2480,
    "Duplicated global PEL entry loading stream consumer group": 2516,
    "Duplicate stream consumer detected.": 2544,
    "Consumer entry not found in group global PEL": 2573,
    "Duplicated consumer PEL entry  loading a stream consumer group": 2585,
    "Stream CG PEL entry without consumer": 2604,
    "Invalid LZF compressed string": 413,
}


def report_line(reason: str, offset: int = 0) -> str:
    """rdbReportError's message for ``reason`` ("Internal error in RDB reading offset
    0, function at rdb.c:2070 -> Listpack integrity check failed.")."""
    line = _LINES.get(reason)
    if line is None:
        line = next((at for prefix, at in _LINES.items() if reason.startswith(prefix)), 0)
    return "Internal error in RDB reading offset %d, function at rdb.c:%d -> %s" % (
        offset, line, reason)


def deep_sanitization(config: Any, client: Any = None) -> bool:
    """Whether a load runs the deep checks (rdbLoadObject's deep_integrity_validation):
    ``client`` is the RESTORE's sender, None for an RDB file or a replica's sync."""
    mode = config["sanitize-dump-payload"]
    if mode == "yes":
        return True
    if mode != "clients" or client is None or getattr(client, "obeyed", False):
        return False
    user = getattr(client, "user", None)
    return not (user is not None and getattr(user, "skip_sanitize", False))


# -- listpacks (listpack.c) ---------------------------------------------------------------
def listpack_header_ok(blob: bytes) -> bool:
    """lpValidateIntegrity's shallow part: a header, a total size that is the blob's,
    and the end byte."""
    size = len(blob)
    return size >= 7 and struct.unpack_from("<I", blob)[0] == size and blob[-1] == 0xFF


def _entry_size(blob: bytes, pos: int) -> Tuple[int, int]:
    """(bytes of the entry's encoding and data, bytes its header needs) at ``pos``;
    (0, 0) for a byte that starts no entry."""
    first = blob[pos]
    if first < 0x80:
        return 1, 1
    if first < 0xC0:
        return 1 + (first & 0x3F), 1
    if first < 0xE0:
        return 2, 1
    if first < 0xF0:
        if pos + 1 >= len(blob):
            return 0, 2
        return 2 + (((first & 0x0F) << 8) | blob[pos + 1]), 2
    if first == 0xF0:
        if pos + 5 > len(blob):
            return 0, 5
        return 5 + struct.unpack_from("<I", blob, pos + 1)[0], 5
    return {0xF1: (3, 1), 0xF2: (4, 1), 0xF3: (5, 1), 0xF4: (9, 1)}.get(first, (0, 0))


def _backlen_bytes(size: int) -> int:
    return 1 if size < 128 else 2 if size < 16383 else 3 if size < 2097151 else \
        4 if size < 268435455 else 5


def _decode_backlen(blob: bytes, pos: int) -> int:
    """lpDecodeBacklen: the back length ending at ``pos``, read backwards."""
    value = shift = 0
    while True:
        byte = blob[pos]
        value |= (byte & 127) << shift
        if not byte & 128:
            return value
        shift += 7
        pos -= 1
        if shift > 28 or pos < 0:
            return -1


def _next_entry(blob: bytes, pos: int) -> int:
    """lpValidateNext: where the entry at ``pos`` ends (its back length checked), or -1
    when it reaches past the end byte; ``pos`` on the end byte: itself."""
    last = len(blob) - 1
    if not 6 <= pos <= last:
        return -1
    if blob[pos] == 0xFF:
        return pos
    size, header = _entry_size(blob, pos)
    if not size or pos + header > last:
        return -1
    back = _backlen_bytes(size)
    end = pos + size + back
    if end > last or _decode_backlen(blob, end - 1) != size:
        return -1
    return end


def listpack_ok(blob: bytes) -> bool:
    """lpValidateIntegrity, deep: every entry within the blob with a matching back
    length, the end byte right after the last, the header's count (unless 65535)."""
    if not listpack_header_ok(blob):
        return False
    pos, count, last = 6, 0, len(blob) - 1
    while pos < last:
        if blob[pos] == 0xFF:
            return False          # an end byte before the end
        pos = _next_entry(blob, pos)
        if pos < 0:
            return False
        count += 1
    numele = struct.unpack_from("<H", blob, 4)[0]
    return numele == 65535 or numele == count


def pairs_ok(elements: Any) -> bool:
    """lpPairsValidateIntegrityAndDups's entry part: an even count, no field twice."""
    if len(elements) % 2:
        return False
    fields = elements[0::2]
    texts = {(b"%d" % f) if isinstance(f, int) else bytes(f) for f in fields}
    return len(texts) == len(fields)


def _string2ll(value: Any) -> Optional[int]:
    """A listpack element as an integer (lpGetIntegerIfValid), None if not one."""
    if isinstance(value, int):
        return value
    if not 0 < len(value) <= 20:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    if b"%d" % number != bytes(value) or not -(2 ** 63) <= number < 2 ** 63:
        return None
    return number


def stream_listpack_ok(blob: bytes, deep: bool) -> bool:
    """streamValidateListpackIntegrity: the header always; deep, the node's layout --
    count, deleted, master fields, the 0 terminator, then per entry its flags, ID
    deltas, fields (unless flagged same-fields), values and an ``lp-count`` equal to
    the entry's number of elements -- and nothing after."""
    if not listpack_header_ok(blob):
        return False
    if not deep:
        return True
    from .rdb import parse_listpack
    pos = 6
    last = len(blob) - 1

    def take() -> Any:
        nonlocal pos
        if pos >= last or blob[pos] == 0xFF:
            raise ValueError
        end = _next_entry(blob, pos)
        if end < 0:
            raise ValueError
        value = parse_listpack(b"\0" * 6 + blob[pos:end] + b"\xff")[0]
        pos = end
        return value

    def integer() -> int:
        value = _string2ll(take())
        if value is None:
            raise ValueError
        return value

    try:
        count, deleted, master_fields = integer(), integer(), integer()
        if count + deleted < 0:
            return False
        for _ in range(master_fields):
            take()
        if integer() != 0:
            return False
        for _ in range(count + deleted):
            flags = integer()
            integer(), integer()
            fields, extra = master_fields, 3
            if not flags & 2:
                fields = integer()
                for _ in range(fields):
                    take()
                extra += fields + 1
            for _ in range(fields):
                take()
            if integer() != fields + extra:
                return False
    except ValueError:
        return False
    return pos == last


def listpack(reader: Any, blob: bytes, reason: str, deep: bool,
             pairs: bool = False) -> List[Any]:
    """The elements of a collection's listpack, checked as rdbLoadObject checks it
    (``pairs``: a hash's or sorted set's, lpPairsValidateIntegrityAndDups); refused
    with ``reason``."""
    from .rdb import RDBError, parse_listpack
    if not (listpack_ok(blob) if deep else listpack_header_ok(blob)):
        raise reader.fail(reason)
    try:
        elements = parse_listpack(blob)
    except RDBError:
        raise reader.fail(reason) from None
    if deep and pairs and not pairs_ok(elements):
        raise reader.fail(reason)
    return elements


def hash_value(reader: Any, pairs: List[Tuple[bytes, bytes]], config: Any, deep: bool,
               plain: bool) -> Any:
    """A hash from its loaded pairs, duplicates judged as rdbLoadObject judges them.
    A plain hash (``plain``, RDB type 4) is refused on a duplicate field in its hash
    table (too many fields for a listpack, or from the first field or value too long
    for one), or anywhere with deep checks; a listpack's duplicates were refused by
    the deep checks. Unsanitized, a duplicate in what stays a listpack is let through,
    as Redis lets it (we keep the first value, which HGET finds there), but one that
    Redis would convert to a hash table it panics on ("listpack with dup elements"):
    refused."""
    from ..commands.hashes import build_hash
    entries = config["hash-max-listpack-entries"]
    limit = config["hash-max-listpack-value"]
    table = plain and len(pairs) > entries
    duplicated = False
    fields: Dict[bytes, bytes] = {}
    for field, value in pairs:
        if plain and not table and (len(field) > limit or len(value) > limit):
            table = True
            if duplicated:
                break
        if field in fields:
            if table:
                raise reader.fail("Duplicate hash fields detected")
            if deep and plain:
                raise reader.fail("Hash with dup elements")
            duplicated = True
            continue
        fields[field] = value
    if duplicated and (table or len(pairs) > entries):
        raise reader.fail("Hash listpack with dup elements")
    return build_hash(fields, config)


# -- intsets (intset.c) --------------------------------------------------------------------
def intset_ok(blob: bytes, deep: bool) -> bool:
    """intsetValidateIntegrity: a known width, a size of exactly the header and the
    count's members, not empty; deep, members strictly ascending."""
    if len(blob) < 8:
        return False
    width, count = struct.unpack_from("<II", blob)
    code = {2: "h", 4: "i", 8: "q"}.get(width)
    if code is None or 8 + count * width != len(blob) or count == 0:
        return False
    if deep:
        members = struct.unpack_from("<%d%s" % (count, code), blob, 8)
        return all(a < b for a, b in zip(members, members[1:]))
    return True
