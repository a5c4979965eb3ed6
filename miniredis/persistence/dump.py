"""DUMP payloads: one value in Redis's RDB serialization, as DUMP writes and RESTORE
reads them (cluster.c's createDumpPayload / verifyDumpPayload).

A payload is the value's RDB type byte and encoding, the RDB version as 2 bytes
(little endian) and a CRC64 of everything before it (8 bytes, little endian).

Values are encoded as Redis 7.0 would encode them from the encoding OBJECT ENCODING
names, so a DUMP is byte for byte Redis's for the same value: strings integer-encoded
when they are short canonical integers; lists as a quicklist of listpack nodes split
as RPUSH would split them; sets as an intset or a plain set; hashes and sorted sets as
a listpack or their plain forms (sorted sets from the highest score, as Redis writes a
skiplist); streams as type 19. Strings inside (values, listpack blobs, members) are
written as rdbSaveRawString writes them, LZF included (see :mod:`.lzf`; strings over
64 KB are left uncompressed: still a valid payload, not Redis's bytes).
"""
from __future__ import annotations

import struct
from typing import Any, Dict, List

from ..datatypes.packedlist import PackedList
from ..args import to_int
from ..datatypes.names import encoding_of
from ..datatypes.packedhash import PackedHash
from ..datatypes.stream import Stream
from . import lzf, rdb, rdb_stream

PAYLOAD_VERSION = rdb.RDB_VERSION

# Redis's list-max-listpack-size levels for negative fills (bytes per node).
_FILL_LEVELS = (4096, 8192, 16384, 32768, 65536)
_SIZE_SAFETY_LIMIT = 8192
_SIZE_ESTIMATE_OVERHEAD = 8


class PayloadError(Exception):
    """The payload is not a value Redis could have dumped (RESTORE's Bad data format).
    ``reason``: Redis's words for what is wrong (rdbReportCorruptRDB's), "" when Redis
    would report nothing."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


_LZF_LIMIT = 1 << 16    # longer strings are stored uncompressed (Python LZF is slow)


_NUMBER_START = frozenset(b"-0123456789")
_SHORT_LENGTHS = [bytes((size,)) for size in range(64)]


def raw_string(value: Any, compress: bool = True) -> bytes:
    """rdbSaveRawString: short canonical integers as 1, 2 or 4 bytes, strings over 20
    bytes LZF-compressed when that saves more than 4 bytes, the rest verbatim."""
    size = len(value)
    if size <= 11 and size and value[0] in _NUMBER_START:
        number = to_int(value)
        if number is not None:
            if -(2 ** 7) <= number < 2 ** 7:
                return b"\xc0" + struct.pack("<b", number)
            if -(2 ** 15) <= number < 2 ** 15:
                return b"\xc1" + struct.pack("<h", number)
            if -(2 ** 31) <= number < 2 ** 31:
                return b"\xc2" + struct.pack("<i", number)
    if size <= 20 or not compress:
        if size < 64:
            return _SHORT_LENGTHS[size] + value      # (bytes, whatever value's type)
    elif size <= _LZF_LIMIT:
        packed = lzf.compress(bytes(value), size - 4)
        if packed is not None:
            return b"\xc3" + rdb._len(len(packed)) + rdb._len(size) + packed
        if size < 64:
            return _SHORT_LENGTHS[size] + value
    return rdb._len(size) + bytes(value)


# -- listpacks of many small collections ---------------------------------------------
# A save writes a listpack per small hash, list or sorted set, and the same few
# elements (field names, small numbers) recur from one to the next: their entries are
# remembered (up to _ENTRIES_KEPT, then the table starts afresh), so most elements cost
# one dict lookup instead of an integer test and an encoding.
_ENTRIES_KEPT = 1 << 14
_entries: Dict[Any, bytes] = {}
_STRING_HEADERS = [bytes((0x80 | size,)) for size in range(64)]
_BACKLENS = [bytes((size,)) for size in range(128)]


def _new_entry(element: Any) -> bytes:
    """rdb.lp_entry(rdb.lp_value(element)) of bytes or an int, remembered."""
    global _entries
    if element.__class__ is int:
        entry = rdb.lp_entry(element)
    elif len(element) < 64 and (not element or element[0] not in _NUMBER_START):
        size = len(element)
        entry = _STRING_HEADERS[size] + element + _BACKLENS[size + 1]
    else:
        entry = rdb.lp_entry(rdb.lp_value(element))
    table = _entries
    if len(table) >= _ENTRIES_KEPT:
        table = _entries = {}
    table[element] = entry
    return entry


def _listpack(elements: List[Any]) -> bytes:
    """rdb.listpack(map(rdb.lp_value, elements)) for a list of bytes (and ints)."""
    get = _entries.get
    data = b"".join([get(element) or _new_entry(element) for element in elements])
    count = len(elements) if len(elements) < 65535 else 65535
    return b"".join((_pack_header(7 + len(data), count), data, b"\xff"))


def _packed_hash(value: PackedHash, config: Any, plain_threshold: int) -> bytes:
    return _HASH_LISTPACK + raw_string(_listpack(value.flat()),
                                       bool(config["rdbcompression"]))


def _packed_zset(value: Any, config: Any, plain_threshold: int) -> bytes:
    flat = value.packed()
    if flat is None:
        return _serialize(value, config, plain_threshold)
    return _ZSET_LISTPACK + raw_string(_listpack(_score_entries(flat)),
                                       bool(config["rdbcompression"]))


def _set(value: Any, config: Any, plain_threshold: int) -> bytes:
    if value.hashtable:
        return _serialize(value, config, plain_threshold)
    return _INTSET + raw_string(_intset(list(map(int, value))),
                                bool(config["rdbcompression"]))


def _list(value: PackedList, config: Any, plain_threshold: int) -> bytes:
    """A list whose elements all fit one node: one listpack (else see _quicklist)."""
    items = list(value)
    fill = config["list-max-listpack-size"]
    limit = _FILL_LEVELS[-fill - 1] if -len(_FILL_LEVELS) <= fill < 0 else None
    # a string entry is at most 10 bytes more than its string: no node is full when
    # even that much fits (nor a plain node due: none is plain_threshold long)
    room = 7 + sum(map(len, items)) + 10 * len(items)
    if (room > (limit or _SIZE_SAFETY_LIMIT) or (limit is None and len(items) > fill)
            or room - 7 >= plain_threshold):
        return _serialize(value, config, plain_threshold)
    try:
        node = _listpack(items)
    except TypeError:                    # (a bytearray: unhashable)
        return _serialize(value, config, plain_threshold)
    return _LIST + raw_string(node, bool(config["rdbcompression"]))


def _score_entries(flat: List[Any]) -> List[Any]:
    """A packed sorted set's [member, score...] (scores as ZSet stores them: ints when
    integral and exact, else floats) as listpack elements (see _score_element)."""
    out = flat[:]
    for at in range(1, len(out), 2):
        score = out[at]
        if score.__class__ is not int:
            out[at] = _score_element(score)
    return out


_HASH_LISTPACK = bytes((rdb.T_HASH_LISTPACK,))
_ZSET_LISTPACK = bytes((rdb.T_ZSET_LISTPACK,))
_INTSET = bytes((rdb.T_INTSET,))
_LIST = bytes((rdb.T_LIST_QUICKLIST_2, 1, 2))       # one node, a packed one
_pack_header = struct.Struct("<IH").pack


def _score_element(score: float) -> Any:
    """zzlInsertAt's score: an integer when exact (double2ll), else %.17g text."""
    if score != score:
        return b"nan"
    if score in (float("inf"), float("-inf")):
        return b"inf" if score > 0 else b"-inf"
    if -(2 ** 62) <= score <= 2 ** 62 and score == int(score):
        return int(score)
    return (b"%.17g" % score)


def _quicklist(items: Any, fill: int, string: Any, plain_threshold: int) -> bytes:
    """A list as RDB_TYPE_LIST_QUICKLIST_2, nodes split as successive RPUSHes would;
    elements of ``plain_threshold`` bytes or more each get a plain node of their own."""
    nodes: List[Any] = []
    current: List[Any] = []
    size = 0
    limit = _FILL_LEVELS[-fill - 1] if -len(_FILL_LEVELS) <= fill < 0 else None
    for item in items:
        if len(item) >= plain_threshold:
            if current:
                nodes.append(current)
                current, size = [], 0
            nodes.append(bytes(item))
            continue
        entry = rdb.lp_entry(rdb.lp_value(bytes(item)))
        if current:
            new_size = size + len(item) + _SIZE_ESTIMATE_OVERHEAD
            if limit is not None:
                allowed = new_size <= limit
            else:
                allowed = new_size <= _SIZE_SAFETY_LIMIT and len(current) < fill
            if not allowed:
                nodes.append(current)
                current, size = [], 0
        if not current:
            size = 7                       # empty listpack: header and end byte
        current.append(entry)
        size += len(entry)
    if current:
        nodes.append(current)
    parts = [rdb._len(len(nodes))]
    for node in nodes:
        if isinstance(node, bytes):
            parts.append(b"\x01" + string(node))              # 1: plain container
        else:
            parts.append(b"\x02" + string(rdb.listpack_of(node)))   # 2: packed container
    return b"".join(parts)


def _intset(members: List[int]) -> bytes:
    members.sort()
    width = 2
    for number in (members[0], members[-1]):
        if not -(2 ** 15) <= number < 2 ** 15:
            width = max(width, 4 if -(2 ** 31) <= number < 2 ** 31 else 8)
    code = {2: "h", 4: "i", 8: "q"}[width]
    return struct.pack("<II", width, len(members)) + struct.pack(
        "<%d%s" % (len(members), code), *members)


def serialize(value: Any, config: Any, plain_threshold: int = 1 << 30) -> bytes:
    """The RDB type byte and encoding of ``value`` (rdbSaveObjectType + rdbSaveObject)."""
    if not _WRITERS:
        _WRITERS.update(_writers())
    writer = _WRITERS.get(value.__class__)
    if writer is not None:
        return writer(value, config, plain_threshold)
    return _serialize(value, config, plain_threshold)


def _serialize(value: Any, config: Any, plain_threshold: int) -> bytes:
    """serialize for any value (the writers of _WRITERS are its short cuts)."""
    compress = bool(config["rdbcompression"])

    def string(data: bytes) -> bytes:
        return raw_string(data, compress)

    cls = value.__class__
    if cls is bytes or cls is bytearray:
        return b"\x00" + string(bytes(value))
    if isinstance(value, PackedList):
        return bytes((rdb.T_LIST_QUICKLIST_2,)) + _quicklist(
            value, config["list-max-listpack-size"], string, plain_threshold)
    if isinstance(value, (dict, PackedHash)):
        if encoding_of(value, config) == "listpack":
            elements: List[Any] = []
            for field, item in value.items():
                elements += [rdb.lp_value(field), rdb.lp_value(item)]
            return bytes((rdb.T_HASH_LISTPACK,)) + string(rdb.listpack(elements))
        return bytes((rdb.T_HASH,)) + rdb._len(len(value)) + b"".join(
            string(f) + string(v) for f, v in value.items())
    if isinstance(value, (set, frozenset)):
        if encoding_of(value, config) == "intset":
            blob = _intset([int(member) for member in value])
            return bytes((rdb.T_INTSET,)) + string(blob)
        return bytes((rdb.T_SET,)) + rdb._len(len(value)) + b"".join(
            string(member) for member in value)
    if isinstance(value, Stream):
        return bytes((rdb.T_STREAM_2,)) + rdb_stream.stream_value(
            value, config["stream-node-max-entries"], string)
    if hasattr(value, "entries") and hasattr(value, "listpack"):      # a ZSet
        if value.listpack:
            elements = []
            for member, score in value.member_scores():    # (a packed set stays so)
                elements += [rdb.lp_value(member), _score_element(score)]
            return bytes((rdb.T_ZSET_LISTPACK,)) + string(rdb.listpack(elements))
        entries = list(value.entries())
        return bytes((rdb.T_ZSET_2,)) + rdb._len(len(entries)) + b"".join(
            string(member) + struct.pack("<d", score)
            for score, member in reversed(entries))
    raise TypeError("cannot dump values of type %r" % cls)


def _writers() -> Dict[type, Any]:
    """The writers of the commonest small values, by exact class."""
    from ..commands.sets import SetValue
    from ..datatypes.zset import ZSet
    return {PackedHash: _packed_hash, ZSet: _packed_zset, SetValue: _set,
            PackedList: _list}


_WRITERS: Dict[type, Any] = {}


def create(value: Any, config: Any, plain_threshold: int = 1 << 30) -> bytes:
    """A DUMP payload: the serialized value, the RDB version, the CRC64."""
    body = serialize(value, config, plain_threshold) + struct.pack("<H", PAYLOAD_VERSION)
    return body + struct.pack("<Q", rdb.crc64(0, body))


def verify(payload: bytes, check_crc: bool = True) -> bool:
    """verifyDumpPayload: long enough, a version this server reads, a matching CRC."""
    if len(payload) < 10:
        return False
    version = struct.unpack("<H", payload[-10:-8])[0]
    if version > PAYLOAD_VERSION:
        return False
    if not check_crc:
        return True
    return struct.unpack("<Q", payload[-8:])[0] == rdb.crc64(0, payload[:-8])


def load(payload: bytes, config: Any, deep: bool = False, stats: Any = None) -> Any:
    """The value a verified payload holds (keyspace types). Raises PayloadError for
    anything that is not a well-formed value: unknown types, short or inconsistent
    data, empty collections. ``deep``: run the deep integrity checks too
    (:func:`.validate.deep_sanitization`), counted in ``stats`` (INFO's
    dump_payload_sanitizations: one per encoded blob checked, as rdbLoadObject)."""
    # Like Redis, the value is read from the whole payload: a value that runs into the
    # version and CRC bytes is read from them, and bytes left over are ignored.
    reader = rdb._Reader(payload, "DUMP payload")
    try:
        kind = reader.byte()
        value = rdb._read_value(reader, kind, config, deep)
    except rdb.RDBError as exc:
        raise PayloadError(str(exc), exc.reason) from None
    except Exception as exc:           # any other malformation no check names
        raise PayloadError(str(exc)) from None
    finally:
        if stats is not None:
            stats.dump_payload_sanitizations += reader.sanitized
    if rdb.is_empty_value(value):
        raise PayloadError("empty value")
    return value
