"""Reading one value of each RDB type (rdbLoadObject), with the integrity checks Redis
7.0 runs on it: the shallow ones always, the deep ones when ``deep`` (see
:mod:`.validate`); Redis's reasons for refusing.

Used by :func:`.rdb._read_value` for RDB files, DUMP payloads and replicas' syncs.
"""
from __future__ import annotations

import struct
from typing import Any, Dict, List, Set, Tuple

from ..datatypes.packedlist import PackedList
from . import validate
from .rdb import (T_HASH, T_HASH_LISTPACK, T_HASH_ZIPLIST, T_HASH_ZIPMAP, T_INTSET,
                  T_LIST, T_LIST_QUICKLIST, T_LIST_QUICKLIST_2, T_LIST_ZIPLIST, T_SET,
                  T_SET_LISTPACK, T_STREAM, T_STREAM_2, T_STREAM_3, T_STRING, T_ZSET,
                  T_ZSET_2, T_ZSET_LISTPACK, T_ZSET_ZIPLIST, RDBError, _Reader, _text)


def _intset(reader: "_Reader", blob: bytes, deep: bool) -> List[bytes]:
    from .validate import intset_ok
    if not intset_ok(blob, deep):
        raise reader.fail("Intset integrity check failed.")
    width, count = struct.unpack("<II", blob[:8])
    code = {2: "h", 4: "i", 8: "q"}[width]
    return [b"%d" % v for v in struct.unpack("<%d%s" % (count, code), blob[8:])]


def _pairs(elements: List[Any]) -> List[Tuple[Any, Any]]:
    return list(zip(elements[0::2], elements[1::2]))


def read_value(reader: _Reader, kind: int, config: Any, deep: bool) -> Any:
    """rdbLoadObject for every type (see rdb._read_value, which words what escapes)."""
    if kind == T_STRING:
        return reader.string()
    if kind == T_LIST:
        return PackedList(reader.string() for _ in range(reader.number()))
    if kind == T_LIST_QUICKLIST_2:
        items = PackedList()
        for _ in range(reader.number()):
            container = reader.number()
            if container not in (1, 2):
                raise reader.fail("Quicklist integrity check failed.")
            blob = reader.string()
            if not blob:                 # (rdbLoadObject fails without a report)
                raise RDBError("Empty quicklist node")
            if container == 1:
                items.append(blob)
                continue
            if deep:
                reader.sanitized += 1
            elements = validate.listpack(reader, blob, "Listpack integrity check failed.",
                                         deep)
            if blob[4:6] != b"\0\0":     # a node whose lpLength is 0 is skipped
                items.extend(_text(x) for x in elements)
        return items
    if kind == T_SET:
        count = reader.number()
        members = {reader.string() for _ in range(count)}
        if len(members) != count:
            raise reader.fail("Duplicate set members detected")
        return members
    if kind == T_INTSET:
        if deep:
            reader.sanitized += 1
        return set(_intset(reader, reader.string(), deep))
    if kind == T_SET_LISTPACK:
        return {_text(x) for x in validate.listpack(
            reader, reader.string(), "Set listpack integrity check failed.", deep)}
    if kind == T_HASH:
        pairs = [(reader.string(), reader.string()) for _ in range(reader.number())]
        return validate.hash_value(reader, pairs, config, deep, True)
    if kind == T_HASH_LISTPACK:
        if deep:
            reader.sanitized += 1
        elements = validate.listpack(reader, reader.string(),
                                     "Hash listpack integrity check failed.", deep, True)
        return validate.hash_value(reader, [(_text(f), _text(v)) for f, v in
                                            _pairs(elements)], config, deep, False)
    if kind in (T_ZSET, T_ZSET_2, T_ZSET_LISTPACK):
        from ..datatypes.zset import ZSet
        limits = (config["zset-max-listpack-entries"], config["zset-max-listpack-value"])
        scores: Dict[bytes, float] = {}
        if kind == T_ZSET_LISTPACK:
            if deep:
                reader.sanitized += 1
            pairs = _pairs(validate.listpack(reader, reader.string(),
                                             "Zset listpack integrity check failed.",
                                             deep, True))
            for member, score in pairs:
                text = _text(member)
                if text in scores:       # (unsanitized: kept in the listpack by Redis)
                    if len(pairs) > limits[0]:
                        raise reader.fail("Zset listpack with dup elements")
                    continue
                scores[text] = float(_text(score))
                if scores[text] != scores[text]:
                    raise RDBError("NaN score")     # would break the set's order
        else:
            for _ in range(reader.number()):
                member = reader.string()
                score = (struct.unpack("<d", reader.take(8))[0]
                         if kind == T_ZSET_2 else reader.double_text())
                if score != score:
                    raise reader.fail("Zset with NAN score detected")
                if member in scores:
                    raise reader.fail("Duplicate zset fields detected")
                scores[member] = score
        return ZSet.build(scores, limits)
    if kind in (T_STREAM, T_STREAM_2, T_STREAM_3):
        from .rdb_stream import read_stream
        return read_stream(reader, kind, config, deep)
    if kind in (T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_ZSET_ZIPLIST, T_HASH_ZIPLIST,
                T_LIST_QUICKLIST):
        return _read_legacy(reader, kind, config)
    raise reader.fail("unsupported value type %d (modules)" % kind)


def _read_legacy(reader: _Reader, kind: int, config: Any) -> Any:
    """A value in an encoding of Redis 2.4-6.2 (zipmap, ziplist, quicklist of
    ziplists), as Redis 7.0 converts it; the error words are rdbLoadObject's."""
    from .rdb_legacy import LegacyEncodingError, parse_ziplist, parse_zipmap
    what = {T_HASH_ZIPMAP: "Zipmap", T_LIST_ZIPLIST: "List ziplist",
            T_ZSET_ZIPLIST: "Zset ziplist", T_HASH_ZIPLIST: "Hash ziplist",
            T_LIST_QUICKLIST: "Ziplist"}[kind]
    try:
        if kind == T_LIST_QUICKLIST:
            items = PackedList()
            for _ in range(reader.number()):
                blob = reader.string()
                if not blob:
                    raise LegacyEncodingError("empty node")
                items.extend(_text(x) for x in parse_ziplist(blob))
            return items
        blob = reader.string()
        if kind == T_LIST_ZIPLIST:
            return PackedList(_text(x) for x in parse_ziplist(blob))
        if kind == T_HASH_ZIPMAP:
            pairs = parse_zipmap(blob)
        else:
            elements = parse_ziplist(blob)
            if len(elements) % 2:
                raise LegacyEncodingError("odd count")
            pairs = [(_text(a), _text(b)) for a, b in _pairs(elements)]
    except LegacyEncodingError:
        raise reader.fail("%s integrity check failed." % what) from None
    fields = dict(pairs)
    if len(fields) != len(pairs):                                # duplicates
        if kind == T_HASH_ZIPMAP:
            seen: Set[bytes] = set()
            field = next(f for f, _ in pairs if f in seen or seen.add(f))
            raise reader.fail("Hash zipmap with dup elements, or big length (%d)"
                              % len(field))
        raise reader.fail("%s integrity check failed." % what)
    if kind == T_ZSET_ZIPLIST:
        from ..datatypes.zset import ZSet
        try:
            scores = {member: float(score) for member, score in fields.items()}
        except ValueError:
            raise reader.fail("%s integrity check failed." % what) from None
        return ZSet.build(scores, (config["zset-max-listpack-entries"],
                                   config["zset-max-listpack-value"]))
    from ..commands.hashes import build_hash
    return build_hash(fields, config)
