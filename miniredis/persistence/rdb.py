"""Redis's RDB snapshot format: its constants and encodings (lengths, listpacks,
CRC64), and loading a ``dump.rdb`` (ours or Redis's). Writing one is
:mod:`.rdbwrite`'s.

Loading accepts what Redis 7.0 (and 7.2) write: integer-encoded and LZF-compressed
strings, quicklist-of-listpacks lists, intsets, listpack hashes, sets and sorted sets,
stream types 15/19/21, expiry in seconds or milliseconds, LRU/LFU opcodes (skipped).
The pre-7 ziplist encodings, modules and functions are refused with a clear error.
"""
from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from ..args import to_int

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState

RDB_VERSION = 10
_MAX_VERSION = 11

# Value types and opcodes (rdb.h).
T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_INTSET, T_HASH_LISTPACK, T_ZSET_LISTPACK, T_LIST_QUICKLIST_2 = 11, 16, 17, 18
T_STREAM, T_STREAM_2, T_SET_LISTPACK, T_STREAM_3 = 15, 19, 20, 21
# Encodings of older versions (read only: see rdb_legacy).
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_ZSET_ZIPLIST, T_HASH_ZIPLIST, T_LIST_QUICKLIST = (
    9, 10, 12, 13, 14)
OP_FUNCTION_PRE_GA, OP_FUNCTION2, OP_MODULE_AUX, OP_IDLE, OP_FREQ = 246, 245, 247, 248, 249
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = (
    250, 251, 252, 253, 254, 255)

_U64 = 2 ** 64


class RDBError(Exception):
    """The RDB file cannot be loaded. ``reason``: what Redis's rdbReportCorruptRDB
    says after the message (its log's "Internal error in RDB reading ..." line)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


# -- CRC64 (Jones polynomial, reflected: Redis's crc64.c) -------------------------------
def _crc64_table() -> List[int]:
    poly = 0x95AC9329AC4BC9B5
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc64_table()


def _crc64_python(crc: int, data: Any) -> int:
    table = _CRC_TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _crc64_function() -> Callable[[int, Any], int]:
    """The fastest CRC64 at hand: anycrc's (C, ~10 GB/s), else crcmod's C extension,
    else pure Python (~5 MB/s: a large SAVE would take seconds per 100 MB)."""
    try:
        import anycrc
        model = anycrc.Model("CRC64-REDIS")
        return lambda crc, data: model.calc(data, crc)
    except Exception:  # pragma: no cover - anycrc is a dependency
        pass
    try:  # pragma: no cover
        import crcmod
        function = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)
        return lambda crc, data: function(bytes(data), crc)
    except Exception:  # pragma: no cover
        return _crc64_python


_crc64 = _crc64_function()


def crc64(crc: int, data: Any) -> int:
    """Continue the CRC64 ``crc`` over ``data`` (crc64(0, b"123456789") is
    0xe9c6d914c4b8d9ca)."""
    return _crc64(crc, data)


# -- encoding helpers ---------------------------------------------------------------------
def _len(value: int) -> bytes:
    """rdbSaveLen: 6, 14, 32 or 64 bits (negative values as their 64-bit pattern)."""
    if value < 0:
        value += _U64
    if value < 64:
        return bytes((value,))
    if value < 16384:
        return bytes((0x40 | (value >> 8), value & 0xFF))
    if value < 2 ** 32:
        return b"\x80" + struct.pack(">I", value)
    return b"\x81" + struct.pack(">Q", value)


def _string(value: bytes) -> bytes:
    return _len(len(value)) + bytes(value)


def _raw_id(stream_id: Tuple[int, int]) -> bytes:
    return struct.pack(">QQ", *stream_id)


def _lp_int(value: int) -> bytes:
    if 0 <= value <= 127:
        return bytes((value,))
    if -4096 <= value <= 4095:
        value &= 0x1FFF
        return bytes((0xC0 | (value >> 8), value & 0xFF))
    if -32768 <= value <= 32767:
        return b"\xf1" + struct.pack("<h", value)
    if -(2 ** 23) <= value < 2 ** 23:
        return b"\xf2" + struct.pack("<i", value)[:3]
    if -(2 ** 31) <= value < 2 ** 31:
        return b"\xf3" + struct.pack("<i", value)
    return b"\xf4" + struct.pack("<q", value)


def _lp_str(value: bytes) -> bytes:
    size = len(value)
    if size < 64:
        return bytes((0x80 | size,)) + value
    if size < 4096:
        return bytes((0xE0 | (size >> 8), size & 0xFF)) + value
    return b"\xf0" + struct.pack("<I", size) + value


def _backlen(size: int) -> bytes:
    """lpEncodeBacklen, spelled as Redis does."""
    if size <= 127:
        return bytes((size,))
    if size < 16383:
        return bytes((size >> 7, (size & 127) | 128))
    if size < 2097151:
        return bytes((size >> 14, ((size >> 7) & 127) | 128, (size & 127) | 128))
    if size < 268435455:
        return bytes((size >> 21, ((size >> 14) & 127) | 128, ((size >> 7) & 127) | 128,
                      (size & 127) | 128))
    return bytes((size >> 28, ((size >> 21) & 127) | 128, ((size >> 14) & 127) | 128,
                  ((size >> 7) & 127) | 128, (size & 127) | 128))


_NUMBER_START = frozenset(b"-0123456789")


def lp_value(value: Any) -> Any:
    """What lpAppend stores for a string: an integer when string2ll reads it as one
    (canonical decimal, 64-bit), else the string."""
    if value and len(value) <= 20 and value[0] in _NUMBER_START:
        number = to_int(value)
        if number is not None:
            return number
    return value


_SMALL_INT_ENTRIES = [bytes((value, 1)) for value in range(128)]
_SHORT_STR_HEADERS = [bytes((0x80 | size,)) for size in range(64)]
_SHORT_BACKLENS = [bytes((size,)) for size in range(128)]


def lp_entry(element: Any) -> bytes:
    """One listpack entry and its back length: an int as an integer, else a string."""
    if element.__class__ is int:
        if 0 <= element <= 127:
            return _SMALL_INT_ENTRIES[element]
        entry = _lp_int(element)
    else:
        size = len(element)
        if size < 64:                   # (one header byte, a back length of one byte)
            return _SHORT_STR_HEADERS[size] + bytes(element) + _SHORT_BACKLENS[size + 1]
        entry = _lp_str(bytes(element))
    return entry + _backlen(len(entry))


def listpack_of(entries: List[bytes]) -> bytes:
    """The listpack of these entries (:func:`lp_entry`'s)."""
    data = b"".join(entries)
    count = len(entries) if len(entries) < 65535 else 65535
    return struct.pack("<IH", 6 + len(data) + 1, count) + data + b"\xff"


def listpack(elements: List[Any]) -> bytes:
    """A listpack holding ``elements`` (ints as integers, the rest as strings)."""
    return listpack_of([lp_entry(element) for element in elements])


# -- reading ------------------------------------------------------------------------------
class _Reader:
    """RDB bytes being read; ``sanitized`` counts the encoded blobs deep-checked
    (INFO's dump_payload_sanitizations)."""

    sanitized = 0

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.pos = 0
        self.name = name

    def fail(self, why: str) -> "RDBError":
        """A corrupt value: ``why`` is also the error's reason (rdbReportCorruptRDB's)."""
        return RDBError("Bad RDB file %s at byte offset %d: %s" % (self.name, self.pos, why),
                        why)

    def take(self, count: int) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise RDBError("Short read loading the RDB file %s (at byte offset %d). "
                           "Unrecoverable error, aborting now." % (self.name, self.pos))
        out = self.data[self.pos:end]
        self.pos = end
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def checksum(self) -> int:
        """CRC64 of every byte read so far (the RDB's trailer covers them)."""
        return crc64(0, self.data[:self.pos])

    def length(self) -> Tuple[int, bool]:
        """(value, is_encoded): rdbLoadLenByRef."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.take(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.take(8))[0], False
        raise self.fail("Unknown length encoding %d in rdbLoadLen()" % kind)

    def number(self) -> int:
        value, encoded = self.length()
        if encoded:
            raise self.fail("unexpected encoded length")
        return value

    def signed(self) -> int:
        value = self.number()
        return value - _U64 if value >= 2 ** 63 else value

    def string(self) -> bytes:
        value, encoded = self.length()
        if not encoded:
            return self.take(value)
        if value == 0:
            return b"%d" % struct.unpack("<b", self.take(1))[0]
        if value == 1:
            return b"%d" % struct.unpack("<h", self.take(2))[0]
        if value == 2:
            return b"%d" % struct.unpack("<i", self.take(4))[0]
        if value == 3:
            compressed = self.number()
            size = self.number()
            return lzf_decompress(self.take(compressed), size)
        raise self.fail("Unknown RDB string encoding type %d" % value)

    def double_text(self) -> float:
        size = self.byte()
        if size == 253:
            return float("nan")
        if size == 254:
            return float("inf")
        if size == 255:
            return float("-inf")
        return float(self.take(size))


_BAD_LZF = "Invalid LZF compressed string"


def lzf_decompress(data: bytes, size: int) -> bytes:
    """LZF, as lzf_d.c decodes it (RDBError for a truncated or corrupt one)."""
    try:
        return _lzf_decompress(data, size)
    except IndexError:          # a back reference or literal run cut short
        raise RDBError(_BAD_LZF, _BAD_LZF) from None


def _lzf_decompress(data: bytes, size: int) -> bytes:
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
            continue
        length = ctrl >> 5
        if length == 7:
            length += data[i]
            i += 1
        ref = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        if ref < 0 or len(out) + length + 2 > size:
            raise RDBError(_BAD_LZF, _BAD_LZF)
        length += 2
        distance = len(out) - ref
        if distance >= length:
            out += out[ref:ref + length]
        else:                    # overlapping: the last ``distance`` bytes repeat
            out += (out[ref:] * (length // distance + 1))[:length]
    if len(out) != size:
        raise RDBError(_BAD_LZF, _BAD_LZF)
    return bytes(out)


def parse_listpack(blob: bytes) -> List[Any]:
    """The elements of a listpack (ints for integer encodings, bytes for strings).
    RDBError (no reason: the caller names the value) for an entry that does not lie
    within the blob or an unknown encoding; back lengths and the header are not
    checked (see :mod:`.validate`)."""
    out: List[Any] = []
    try:
        _parse_entries(blob, out)
    except (IndexError, struct.error):     # a length field cut by the blob's end
        raise RDBError("Listpack entry past the end") from None
    return out


def _parse_entries(blob: bytes, out: List[Any]) -> None:
    """parse_listpack's walk, appending to ``out``."""
    pos = 6
    end = len(blob) - 1
    while pos < end:
        first = blob[pos]
        if first < 0x80:
            value: Any = first
            size = 1
        elif first < 0xC0:
            length = first & 0x3F
            value = blob[pos + 1:pos + 1 + length]
            size = 1 + length
        elif first < 0xE0:
            raw = ((first & 0x1F) << 8) | blob[pos + 1]
            value = raw - 8192 if raw >= 4096 else raw
            size = 2
        elif first < 0xF0:
            length = ((first & 0x0F) << 8) | blob[pos + 1]
            value = blob[pos + 2:pos + 2 + length]
            size = 2 + length
        elif first == 0xF0:
            length = struct.unpack("<I", blob[pos + 1:pos + 5])[0]
            value = blob[pos + 5:pos + 5 + length]
            size = 5 + length
        elif first == 0xF1:
            value = struct.unpack("<h", blob[pos + 1:pos + 3])[0]
            size = 3
        elif first == 0xF2:
            raw = int.from_bytes(blob[pos + 1:pos + 4], "little")
            value = raw - (1 << 24) if raw >= (1 << 23) else raw
            size = 4
        elif first == 0xF3:
            value = struct.unpack("<i", blob[pos + 1:pos + 5])[0]
            size = 5
        elif first == 0xF4:
            value = struct.unpack("<q", blob[pos + 1:pos + 9])[0]
            size = 9
        else:
            raise RDBError("Invalid listpack entry encoding 0x%02x" % first)
        pos += size + len(_backlen(size))
        if pos > end:
            raise RDBError("Listpack entry past the end")
        out.append(value)


def _text(value: Any) -> bytes:
    return b"%d" % value if isinstance(value, int) else bytes(value)


def _read_value(reader: _Reader, kind: int, config: Any,
                deep: Optional[bool] = None) -> Any:
    """One value of type ``kind`` (rdbLoadObject). ``deep``: run the deep integrity
    checks (:func:`.validate.deep_sanitization`); None: as an RDB load does, only
    with sanitize-dump-payload yes. RDBError for anything malformed."""
    if deep is None:
        deep = config["sanitize-dump-payload"] == "yes"
    from .rdb_values import read_value
    try:
        return read_value(reader, kind, config, deep)
    except RDBError:
        raise
    except (IndexError, ValueError, TypeError, KeyError, OverflowError, struct.error):
        # a hostile value no check names (Redis, unsanitized, would load it and assert
        # later): refused, without a reason
        raise RDBError("Bad RDB file %s at byte offset %d: malformed value of type %d"
                       % (reader.name, reader.pos, kind)) from None


def is_empty_value(value: Any) -> bool:
    """A collection with nothing in it (Redis refuses those in payloads and skips
    them in RDB files: a key always holds something). Strings and streams never are."""
    if value.__class__ is bytes or value.__class__ is bytearray:
        return False
    from ..datatypes.stream import Stream
    if isinstance(value, Stream):       # (a PackedHash is bytes too: sized below)
        return False
    return len(value) == 0


def load_bytes(state: "ServerState", data: bytes, name: str,
               merge: bool = False,
               progress: Optional[Callable[[], None]] = None,
               replace_functions: bool = True) -> Tuple[int, int, int]:
    """Load an RDB image into the (empty) keyspace; with ``merge`` (DEBUG RELOAD MERGE)
    a key already present is replaced by the file's. ``progress`` is called every 1024
    keys (a replica serves -LOADING to its clients meanwhile). A library of the file
    replaces one of the same name unless ``replace_functions`` is false (DEBUG RELOAD
    NOFLUSH without MERGE: an error, as Redis's load without RDBFLAGS_ALLOW_DUP).

    Returns (keys loaded, expired keys skipped, offset after the RDB: an AOF tail may
    follow in a preamble file). Raises RDBError. Without ``progress``, the start-up
    load's (``state.load_progress``) is called; key-load-delay pauses after each key.
    """
    if progress is None:
        progress = state.load_progress
    return load_reader(state, _Reader(data, name), name, merge, progress,
                       replace_functions)


def load_reader(state: "ServerState", reader: "_Reader", name: str,
                merge: bool = False,
                progress: Optional[Callable[[], None]] = None,
                replace_functions: bool = True, dbs: Optional[List[Any]] = None,
                registry: Any = None) -> Tuple[int, int, int]:
    """:func:`load_bytes` from any reader (a socket's: miniredis.persistence.rdbstream),
    into ``dbs`` and the function ``registry`` when given (a replica's swapdb load
    fills databases set aside: Redis's rdbLoadingCtx), else into the server's."""
    if dbs is None:
        dbs = state.dbs
    delay = state.config.values["key-load-delay"]
    if reader.take(5) != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file %s" % name)
    try:
        version = int(reader.take(4))
    except ValueError:
        raise RDBError("Wrong signature trying to load DB from file %s" % name) from None
    if not 1 <= version <= _MAX_VERSION:
        raise RDBError("Can't handle RDB format version %d" % version)
    config = state.config
    now = state.clock.ms()
    # A replica loads expired keys too: its master's DELs will follow (rdbLoad's
    # iAmMaster test; at start-up, replicaof in the configuration says it).
    repl = state.repl
    replica_keeps = repl.master_host is not None or bool(config.values["replicaof"])
    # A master starting up puts a DEL for each expired key it skips in its backlog
    # (RDBFLAGS_FEED_REPL), so the offset it restores stays true to its replicas.
    feed = state.repl_feed if repl.feed_expired_on_load else None
    aux_fields: Dict[bytes, bytes] = {}
    db = dbs[0]
    empty_skipped = 0
    expires_at: Optional[int] = None
    idle = freq = -1                    # the key's IDLE/FREQ records (objectSetLRUOrLFU)
    loaded = expired = 0
    while True:
        opcode = reader.byte()
        if opcode == OP_EOF:
            break
        if opcode == OP_SELECTDB:
            index = reader.number()
            if index >= len(dbs):
                raise RDBError("FATAL: Data file was created with a Redis server configured "
                               "to handle more than %d databases. Exiting" % len(dbs))
            db = dbs[index]
        elif opcode == OP_RESIZEDB:
            reader.number()
            reader.number()
        elif opcode == OP_AUX:
            name = reader.string()
            aux_fields[name] = reader.string()
            if name == b"used-mem" and getattr(state, "loading_info", None) is not None:
                try:            # (INFO's loading_rdb_used_mem)
                    state.loading_info.used_mem = int(aux_fields[name])
                except ValueError:
                    pass
        elif opcode == OP_EXPIRETIME_MS:
            expires_at = struct.unpack("<q", reader.take(8))[0]
        elif opcode == OP_EXPIRETIME:
            expires_at = struct.unpack("<i", reader.take(4))[0] * 1000
        elif opcode == OP_FREQ:
            freq = reader.byte()
        elif opcode == OP_IDLE:
            idle = reader.signed()      # (past 2**63: negative, not applied)
        elif opcode in (OP_FUNCTION2, OP_FUNCTION_PRE_GA):
            _load_function(state, reader, opcode == OP_FUNCTION_PRE_GA, replace_functions,
                           registry)
        elif opcode == OP_MODULE_AUX:
            raise reader.fail("modules are not supported")
        else:
            key = reader.string()
            before = reader.sanitized
            try:
                value = _read_value(reader, opcode, config)
            finally:        # (counted as checked, even when the check fails)
                state.stats.dump_payload_sanitizations += reader.sanitized - before
            if is_empty_value(value):
                if empty_skipped < 10:
                    state.log("notice", "rdbLoadObject skipping empty key: %s"
                              % key.decode("utf-8", "replace"))
                empty_skipped += 1
            elif expires_at is not None and expires_at <= now and replica_keeps is False:
                expired += 1            # as a master does: expired keys are not loaded
                if feed is not None:
                    from .snapshot import encode
                    feed.append_one(db.id, encode([b"UNLINK" if config.values[
                        "lazyfree-lazy-expire"] else b"DEL", key]))
            elif key in db.data and not merge:
                raise reader.fail("duplicate key '%s'" % key.decode("utf-8", "replace"))
            else:
                if merge and key in db.data:
                    db.delete(key, False)       # (dbSyncDelete)
                db.set(key, value, loading=True)
                if expires_at is not None:
                    db.set_expire(key, expires_at)
                if idle >= 0 or freq >= 0:
                    db.set_usage(key, idle, freq)
                loaded += 1
                if delay:
                    from .snapshot import debug_delay
                    debug_delay(delay)
                if progress is not None and not loaded & 1023:
                    progress()
            expires_at = None
            idle = freq = -1
    if version >= 5:
        checking = config["rdbchecksum"] and not state.skip_checksum_validation
        computed = reader.checksum() if checking else 0
        stored = struct.unpack("<Q", reader.take(8))[0]
        if checking:
            if not stored:
                state.log("warning", "RDB file was saved with checksum disabled: no check "
                                     "performed.")
            elif computed != stored:
                raise RDBError("Wrong RDB checksum expected: (%x) but got (%x). Aborting now."
                               % (computed, stored), "RDB CRC error")
    # INFO's rdb_last_load_keys_loaded/expired: any load (start-up, DEBUG RELOAD, an AOF's
    # preamble, a replica's sync), as rdbLoadRioWithLoadingCtx records them.
    from . import snapshots
    saves = snapshots(state)
    saves.loaded, saves.expired = loaded, expired
    repl.loaded_info = _replication_info(aux_fields)
    if empty_skipped:
        state.log("warning", "Done loading RDB, keys loaded: %d, keys expired: %d, empty "
                             "keys skipped: %d." % (loaded, expired, empty_skipped))
    else:
        state.log("notice", "Done loading RDB, keys loaded: %d, keys expired: %d."
                  % (loaded, expired))
    return loaded, expired, reader.pos


def _replication_info(aux: Dict[bytes, bytes]) -> Optional[Tuple[str, int, int]]:
    """The file's repl-id, repl-offset and repl-stream-db (rdbPopulateSaveInfo's
    fields), when all three are there and valid, else None."""
    try:
        replid = aux[b"repl-id"].decode("ascii")
        offset = int(aux[b"repl-offset"])
        stream_db = int(aux[b"repl-stream-db"])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    if len(replid) != 40 or offset < 0 or stream_db < 0:
        return None
    return replid, offset, stream_db


def _load_function(state: "ServerState", reader: _Reader, pre_ga: bool,
                   replace: bool = True, registry: Any = None) -> None:
    """A library of the file (rdbFunctionLoad): loaded at once, replacing one of the
    same name when ``replace``."""
    from ..commands.functions import functions
    from ..errors import CommandError
    from ..scripting.functions import read_pre_ga
    try:
        code = read_pre_ga(reader) if pre_ga else reader.string()
    except CommandError as exc:
        raise reader.fail(exc.message) from None
    runner = functions(state)
    current = runner.registry
    if registry is not None:        # (the library's Lua registers into it)
        runner.registry = registry
    try:
        runner.registry.create(code, replace, 0)
    except CommandError as exc:
        raise reader.fail("Failed loading library, %s" % exc.message) from None
    finally:
        runner.registry = current


def load_file(state: "ServerState", path: str) -> Tuple[int, int]:
    """Load ``path`` (dump.rdb); (keys loaded, expired keys skipped)."""
    with open(path, "rb") as handle:
        data = handle.read()
    loaded, expired, _ = load_bytes(state, data, os.path.basename(path))
    return loaded, expired
