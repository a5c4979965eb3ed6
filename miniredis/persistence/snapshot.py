"""The dataset as a sequence of commands or values: what an AOF rewrite (a base file)
and an RDB snapshot are written from.

:func:`iter_dataset` walks the live keyspace without copying it whole: it is meant to
run in a forked child (whose view is frozen at the fork) or before the event loop
runs again. :func:`write_base` is the rewrite child's work.
"""
from __future__ import annotations

import os
import random
import time
from typing import TYPE_CHECKING, Any, List, Optional

from hiredis import pack_command as _pack

from ..datatypes.packedhash import PackedHash
from ..datatypes.packedlist import PackedList
from ..datatypes.stream import Stream, format_id
from ..datatypes.zset import ZSet, frozen_items
from ..protocol import format_double
from . import childinfo, diskio

if TYPE_CHECKING:  # pragma: no cover
    from ..keyspace import Database
    from ..state import ServerState

_ITEMS_PER_COMMAND = 64         # AOF_REWRITE_ITEMS_PER_CMD: elements per RPUSH/SADD...


def encode(argv: List[Any]) -> bytes:
    """One command as a RESP array of bulk strings (ints written in decimal)."""
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        if arg.__class__ is not bytes:
            arg = b"%d" % arg if isinstance(arg, int) else bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


_LARGE_ARG = 65536              # an effect with an argument this long is kept in pieces


def encode_pieces(argv: List[Any], frozen: bool = False) -> Any:
    """As :func:`encode`, but a command with a large argument stays a list of pieces
    that reference the argument (a 200 MB SET is not copied twice more). ``frozen``:
    a bytearray argument cannot change before the pieces are written (the rewrite's
    child), so it is referenced too instead of copied."""
    parts = [b"*%d\r\n" % len(argv)]
    large = False
    for arg in argv:
        if arg.__class__ is not bytes and not (frozen and arg.__class__ is bytearray):
            arg = b"%d" % arg if isinstance(arg, int) else bytes(arg)
        if len(arg) >= _LARGE_ARG:
            large = True
            parts += [b"$%d\r\n" % len(arg), arg, b"\r\n"]
        else:
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return parts if large else b"".join(parts)


def encode_effect(argv: List[Any]) -> Any:
    """``argv`` as :func:`encode_pieces` does, by hiredis's C encoder in the common
    case: up to 16 ``bytes`` arguments, none large (a large one stays a piece of its
    own, not copied)."""
    size = len(argv)
    if size <= 16:
        try:
            if max(map(len, argv)) < _LARGE_ARG:
                return _pack(tuple(argv))
        except (TypeError, ValueError):
            pass        # an int or bytearray argument, or none: the general encoder
    return encode_pieces(argv)


_THREE = b"*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"


def encode_plain(argv: List[Any]) -> Any:
    """:func:`encode_effect` for a command propagated as it came. Three arguments
    (SET key value, LPUSH, SADD...: most writes) are formatted here, cheaper than a
    call to the encoder."""
    if len(argv) == 3:
        first, second, third = argv
        try:
            size2 = len(second)
            size3 = len(third)
            if size2 < _LARGE_ARG and size3 < _LARGE_ARG:
                return _THREE % (len(first), first, size2, second, size3, third)
        except TypeError:                # an int argument (a script's)
            pass
    return encode_effect(argv)


def _copy_value(value: Any) -> Any:
    """An independent copy of a stored value, cheap to take (C-level copies)."""
    cls = value.__class__
    if cls is bytes:
        return value
    if cls is bytearray:
        return bytes(value)
    if isinstance(value, PackedList):
        return ("list", list(value))
    if isinstance(value, dict):
        return ("hash", list(value.items()))
    if value.__class__ is PackedHash:
        # Its blob is immutable (writes replace it): sharing it is a copy, and the
        # unpacking is left to the writer (see :func:`hash_items`).
        return ("hash", value.copy())
    if isinstance(value, (set, frozenset)):
        return ("set", list(value))
    if isinstance(value, Stream):
        return ("stream", value.copy())
    if value.__class__ is ZSet:
        return ("zset", value.frozen())
    raise TypeError("no AOF rewrite for values of type %r" % cls)


def hash_items(data: Any) -> List[Any]:
    """The (field, value) pairs of a copied hash (a list, or a shared PackedHash)."""
    return data.items() if data.__class__ is PackedHash else data


def rewrite_commands(key: bytes, value: Any, when: Optional[int]) -> List[List[Any]]:
    """The minimal commands that rebuild one key (Redis's rewriteAppendOnlyFileRio)."""
    out: List[List[Any]] = []
    if value.__class__ is bytes or value.__class__ is bytearray:
        out.append([b"SET", key, value])
    else:
        kind, data = value
        if kind == "hash":
            data = hash_items(data)
        elif kind == "zset":
            data = frozen_items(data)
        if kind == "stream":
            out += _rewrite_stream(key, data)
        else:
            name, flatten = {
                "list": (b"RPUSH", lambda items: items),
                "set": (b"SADD", lambda items: items),
                "hash": (b"HMSET", lambda items: [x for pair in items for x in pair]),
                "zset": (b"ZADD", lambda items: [x for member, score in items
                                                for x in (format_double(score), member)]),
            }[kind]
            for start in range(0, len(data), _ITEMS_PER_COMMAND):
                out.append([name, key] + flatten(data[start:start + _ITEMS_PER_COMMAND]))
    if when is not None:
        out.append([b"PEXPIREAT", key, when])
    return out


def _rewrite_stream(key: bytes, stream: Stream) -> List[List[Any]]:
    out: List[List[Any]] = []
    if len(stream):
        for stream_id, pairs in stream.items():
            out.append([b"XADD", key, format_id(stream_id)] + list(pairs))
    else:
        # An empty stream still exists: create it by an entry trimmed at once (ID 0-1,
        # as Redis's rewrite: its last ID may be 0-0, which XADD refuses), then XSETID.
        out.append([b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"])
    out.append([b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED",
                stream.entries_added, b"MAXDELETEDID", format_id(stream.max_deleted_id)])
    for name, group in stream.groups.items():
        out.append([b"XGROUP", b"CREATE", key, name, format_id(group.last_id),
                    b"ENTRIESREAD", group.entries_read])
        for stream_id, nack in group.pel.items():
            if nack.consumer is None:
                continue
            out.append([b"XCLAIM", key, name, nack.consumer.name, b"0",
                        format_id(stream_id), b"TIME", nack.delivery_time, b"RETRYCOUNT",
                        nack.delivery_count, b"JUSTID", b"FORCE"])
        for consumer in group.consumers.values():
            if not consumer.pel:
                out.append([b"XGROUP", b"CREATECONSUMER", key, name, consumer.name])
    return out


def _raw_or_copy(value: Any) -> Any:
    cls = value.__class__
    return value if cls is bytes or cls is bytearray else _copy_value(value)


def debug_delay(usec: int) -> None:
    """rdb-key-save-delay's pause after each key written (Redis's debugDelay, which
    tests use to make a save or a full synchronisation last): ``usec`` microseconds,
    or, negative, one microsecond once in ``-usec`` keys. A plain sleep: the saving
    child or a blocking SAVE stops, as Redis's does."""
    if usec < 0:
        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        diskio.exit_if_orphaned()       # (a child slowed down this much may be orphaned)
        time.sleep(usec / 1e6)


def iter_dataset(state: "ServerState", raw_strings: bool = False,
                 stored: bool = False) -> Any:
    """Every key of every database as it is now, without copying the dataset: yields
    (db id, key count, expiring count, generator of (key, value, expiry, usage): under
    an LRU policy usage is the key's idle seconds, under an LFU one its counter, else
    None, what rdbSaveKeyValuePair records), values as
    :func:`_copy_value` gives them (``raw_strings``: strings as stored, a bytearray
    too; ``stored``: every value as stored, uncopied, for the RDB writer, which
    encodes each from its class and encoding as DUMP does). Keys whose TTL has passed
    but that no lookup or expiry cycle removed yet are written too, with their TTL, as
    Redis's rdbSaveRio and AOF rewrite do (a load skips or expires them). Meant for a
    forked child, whose data is frozen at the fork, or for work done before the event
    loop runs again."""
    convert = _raw_or_copy if raw_strings else _copy_value
    delay = state.config.values["rdb-key-save-delay"]
    written = childinfo.key_written_hook()      # (a reporting child's progress)
    policy = state.config.values["maxmemory-policy"]
    lfu = "lfu" in policy
    usage = lfu or policy in ("allkeys-lru", "volatile-lru")

    def keys(db: "Database") -> Any:
        expires = db.expires
        for key, value in db.data.items():
            yield (key, value if stored else convert(value),
                   expires.get(key) if expires else None,
                   db.usage(key, lfu) if usage else None)
            if written is not None:
                written()
            if delay:
                debug_delay(delay)

    for db in state.dbs:
        if db.data:
            yield db.id, len(db.data), len(db.expires), keys(db)


def function_records(state: "ServerState") -> bytes:
    """The function libraries as dump.rdb stores them (b"" when there are none)."""
    runner = getattr(state, "functions", None)
    if runner is None or not runner.registry.libraries:
        return b""
    return runner.registry.rdb_records(bool(state.config["rdbcompression"]))


def function_loads(state: "ServerState") -> List[bytes]:
    """FUNCTION LOAD of every library, as a rewrite's base starts (rewriteFunctions)."""
    runner = getattr(state, "functions", None)
    if runner is None:
        return []
    return [encode([b"FUNCTION", b"LOAD", library.code])
            for library in runner.registry.libraries.values()]


def write_base(state: "ServerState", path: str) -> None:
    """Write the rewrite of the current dataset to ``path`` and fsync it (run in the
    rewrite's child, or inline when there is no event loop)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        chunk: List[bytes] = function_loads(state)
        if state.config["aof-timestamp-enabled"]:    # (rewriteAppendOnlyFileRio)
            chunk.insert(0, b"#TS:%d\r\n" % (state.clock.ms() // 1000))
        chunk_size = 0
        for db_id, _, _, items in iter_dataset(state, raw_strings=True):
            chunk.append(encode([b"SELECT", db_id]))
            for key, value, when, _ in items:
                for argv in rewrite_commands(key, value, when):
                    data = encode_pieces(argv, frozen=True)
                    if data.__class__ is list:       # a large value: written in place
                        diskio.write_or_raise(fd, b"".join(chunk))
                        chunk, chunk_size = [], 0
                        diskio.write_pieces_or_raise(fd, data)
                        continue
                    chunk.append(data)
                    chunk_size += len(data)
                if chunk_size >= 65536:
                    diskio.write_or_raise(fd, b"".join(chunk))
                    chunk, chunk_size = [], 0
        diskio.write_or_raise(fd, b"".join(chunk))
        diskio.fsync(fd)
    finally:
        os.close(fd)
