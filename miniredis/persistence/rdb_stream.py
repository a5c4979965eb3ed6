"""Streams in the RDB format (types 15, 19 and 21): the encoding RDB files and DUMP
payloads share.

A stream is its listpack nodes (each keyed by its master ID: delta-encoded entries,
deleted ones flagged in place), its length, last ID, and from type 19 on its first
and max-deleted IDs and entries-added counter, then its consumer groups with their
PELs and consumers. A node read from a file or payload keeps its listpack while
unchanged (see :class:`miniredis.datatypes.stream._Node`), so writing it back gives
Redis's bytes; other nodes are encoded here from their live entries.
"""
from __future__ import annotations

import struct
from typing import Any, Callable, List, Optional, Tuple

from ..datatypes.stream import MAX_ID as MAX_STREAM_ID
from ..datatypes.stream import Consumer, Group, Nack, Stream
from .rdb import (T_STREAM_2, T_STREAM_3, _U64, RDBError, _len, lp_value, _raw_id,
                  _string, _text, listpack, parse_listpack)
from .validate import stream_listpack_ok


def stream_value(stream: Stream, node_entries: int,
                  _string: Callable[[bytes], bytes] = _string) -> bytes:
    """A stream's encoding (``_string`` writes its strings: DUMP passes one that
    integer-encodes and compresses as Redis does)."""
    parts: List[bytes] = [_len(len(stream.nodes))]
    for master_id, node in stream.nodes.items():
        parts.append(_string(_raw_id(master_id)))
        if node.raw is not None:        # loaded and unchanged since: Redis's bytes
            parts.append(_string(node.raw))
            continue
        fields = [lp_value(f) for f in node.fields]
        entries = list(stream.index.items(master_id, node.last))
        elements: List[Any] = [len(entries), 0, len(fields)] + fields + [0]
        for stream_id, pairs in entries:
            ms_diff = stream_id[0] - master_id[0]
            seq_diff = stream_id[1] - master_id[1]
            if [lp_value(f) for f in pairs[0::2]] == fields:
                elements += ([2, ms_diff, seq_diff] + [lp_value(v) for v in pairs[1::2]]
                             + [len(fields) + 3])
            else:
                count = len(pairs) // 2
                elements += ([0, ms_diff, seq_diff, count] + [lp_value(v) for v in pairs]
                             + [2 * count + 4])
        parts.append(_string(listpack(elements)))
    parts += [_len(len(stream)), _len(stream.last_id[0]), _len(stream.last_id[1]),
              _len(stream.first_id[0]), _len(stream.first_id[1]),
              _len(stream.max_deleted_id[0]), _len(stream.max_deleted_id[1]),
              _len(stream.entries_added), _len(len(stream.groups))]
    for name, group in stream.groups.items():
        parts += [_string(name), _len(group.last_id[0]), _len(group.last_id[1]),
                  _len(group.entries_read), _len(len(group.pel))]
        for stream_id, nack in group.pel.items():
            parts += [_raw_id(stream_id), struct.pack("<q", nack.delivery_time),
                      _len(nack.delivery_count)]
        parts.append(_len(len(group.consumers)))
        for consumer in group.consumers.values():
            parts += [_string(consumer.name), struct.pack("<q", consumer.seen_time),
                      _len(len(consumer.pel))]
            parts += [_raw_id(stream_id) for stream_id in consumer.pel]
    return b"".join(parts)


def read_stream_node(reader: Any, stream: Stream,
                      after: Optional[Tuple[int, int]], deep: bool = False) -> None:
    """One listpack node: its key (master ID) and listpack, kept as read (tombstones
    and all) so that writing the stream again gives the same bytes. The listpack is
    checked as Redis checks it (``deep``: its whole layout, see
    :func:`.validate.stream_listpack_ok`); one our parse cannot follow is refused
    with the same reason, sanitized or not."""
    key = reader.string()
    if len(key) != 16:
        raise reader.fail("Stream node key entry is not the size of a stream ID")
    master = struct.unpack(">QQ", key)
    blob = bytes(reader.string())
    if deep:
        reader.sanitized += 1
    if not stream_listpack_ok(blob, deep):
        raise reader.fail(_BAD_NODE)
    if blob[6] == 0xFF:
        raise reader.fail("Empty listpack inside stream")
    if after is not None and master <= after:
        raise reader.fail("Listpack re-added with existing key")
    try:
        _read_node_entries(reader, stream, master, blob, after)
    except (RDBError, ValueError, TypeError, IndexError):
        raise reader.fail(_BAD_NODE) from None


_BAD_NODE = "Stream listpack integrity check failed."


def _read_node_entries(reader: Any, stream: Stream, master: Tuple[int, int], blob: bytes,
                       after: Optional[Tuple[int, int]]) -> None:
    """The entries of a node's listpack into ``stream`` (ValueError and the like for
    a layout that does not hold together)."""
    elements = parse_listpack(blob)
    count, deleted, nfields = elements[0], elements[1], elements[2]
    if min(count, deleted, nfields) < 0 or count + deleted == 0:
        raise ValueError("Stream listpack inconsistent with its counts")
    fields = [_text(f) for f in elements[3:3 + nfields]]
    pos = 3 + nfields + 1
    entries = []
    last = after
    for _ in range(count + deleted):
        flags, ms_diff, seq_diff = elements[pos:pos + 3]
        pos += 3
        if flags & 2:
            pairs = []
            for field, value in zip(fields, elements[pos:pos + nfields]):
                pairs += [field, _text(value)]
            pos += nfields
        else:
            own = elements[pos]
            if own < 0:
                raise ValueError("negative field count")
            pairs = [_text(x) for x in elements[pos + 1:pos + 1 + 2 * own]]
            pos += 1 + 2 * own
        pos += 1  # lp-count
        stream_id = (master[0] + ms_diff, master[1] + seq_diff)
        if (last is not None and stream_id <= last) or not (
                0 <= stream_id[0] < _U64 and 0 <= stream_id[1] < _U64):
            raise ValueError("Stream entry IDs out of order")
        last = stream_id
        if not flags & 1:
            entries.append((stream_id, pairs))
    if pos > len(elements):
        raise ValueError("Stream listpack inconsistent with its counts")
    stream.load_node(master, fields, entries, deleted, last, blob)


def read_stream(reader: Any, kind: int, config: Any, deep: bool = False) -> Stream:
    """A stream (types 15, 19 and 21). Type 15 (Redis <= 6.2) lacks the first and
    max-deleted IDs, the entries-added counter and the groups' entries-read: they
    are derived as Redis 7.0's rdbLoadObject derives them."""
    stream = Stream()
    last: Optional[Tuple[int, int]] = None
    for _ in range(reader.number()):
        read_stream_node(reader, stream, last, deep)
        last = stream.tail.last     # type: ignore[union-attr]
    length = reader.number()
    stream.last_id = (reader.number(), reader.number())
    if kind >= T_STREAM_2:
        stream.first_id = (reader.number(), reader.number())
        stream.max_deleted_id = (reader.number(), reader.number())
        stream.entries_added = reader.number()
    else:
        stream.entries_added = length
        stream.first_id = stream.first_entry_id() if len(stream) else MAX_STREAM_ID
    if length and not stream.nodes:
        raise reader.fail("Stream length inconsistent with rax entries")
    for _ in range(reader.number()):
        name = reader.string()
        last_id = (reader.number(), reader.number())
        if kind >= T_STREAM_2:
            entries_read = reader.signed()
        else:
            entries_read = stream.estimate_entries_read(last_id)
        if name in stream.groups:
            raise reader.fail("Duplicated consumer group name %s"
                              % name.decode("utf-8", "replace"))
        group = stream.groups[name] = Group(name, last_id, entries_read)
        for _ in range(reader.number()):
            stream_id = struct.unpack(">QQ", reader.take(16))
            when = struct.unpack("<q", reader.take(8))[0]
            if stream_id in group.pel:
                raise reader.fail("Duplicated global PEL entry loading stream consumer "
                                  "group")
            group.pel[stream_id] = Nack(None, when, reader.number())
        for _ in range(reader.number()):
            consumer_name = reader.string()
            if consumer_name in group.consumers:
                raise reader.fail("Duplicate stream consumer detected.")
            seen = struct.unpack("<q", reader.take(8))[0]
            consumer = group.consumers[consumer_name] = Consumer(consumer_name, seen)
            if kind >= T_STREAM_3:
                consumer.active_time = struct.unpack("<q", reader.take(8))[0]
            for _ in range(reader.number()):
                stream_id = struct.unpack(">QQ", reader.take(16))
                nack = group.pel.get(stream_id)
                if nack is None:
                    raise reader.fail("Consumer entry not found in group global PEL")
                if stream_id in consumer.pel:
                    raise reader.fail("Duplicated consumer PEL entry  loading a stream "
                                      "consumer group")
                nack.consumer = consumer
                consumer.pel[stream_id] = nack
        orphans = [i for i, nack in group.pel.items() if nack.consumer is None]
        if orphans and deep:
            raise reader.fail("Stream CG PEL entry without consumer")
        for stream_id in orphans:   # (unsanitized, Redis keeps them, and XPENDING crashes)
            del group.pel[stream_id]
    return stream
