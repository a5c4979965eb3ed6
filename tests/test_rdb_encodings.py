"""The RDB files SAVE writes, next to redis-server's for the same dataset: every value
in the encoding Redis 7.0.15 writes (quicklist 2, intset, listpack hashes and sorted
sets, the plain types for hash tables and skip lists), strings integer-encoded and
LZF-compressed as rdbSaveRawString does; the files load into the other server, and
DEBUG RELOAD with sanitize-dump-payload checks as many blobs as Redis does."""
from __future__ import annotations

import os
import shutil
import struct
from typing import Any, Dict, List, Tuple

import pytest

from miniredis.persistence.rdb import lzf_decompress
from tests.harness import ROOT, RawConnection, server_argv, start_process, stop_process

# Types whose layout Redis fixes (listpacks, intsets, quicklists, strings): compared
# byte for byte. The others (hash tables, skip lists) are compared decoded.
_EXACT = {0, 11, 16, 17, 18}
_PEXPIREAT = 4102444800000          # 2100-01-01: far enough, the same on both


def _start(kind: str, directory: str, *options: str):
    return start_process(
        lambda port: server_argv(kind) + [
            "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
            "--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
            *options],
        what=kind, cwd=ROOT)


# -- a small RDB parser, independent of the writer under test ------------------------
def _length(data: bytes, pos: int) -> Tuple[int, bool, int]:
    """(length or encoding id, is it an encoding, next position)."""
    first = data[pos]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, False, pos + 1
    if kind == 1:
        return ((first & 0x3F) << 8) | data[pos + 1], False, pos + 2
    if kind == 3:
        return first & 0x3F, True, pos + 1
    if first == 0x80:
        return struct.unpack(">I", data[pos + 1:pos + 5])[0], False, pos + 5
    return struct.unpack(">Q", data[pos + 1:pos + 9])[0], False, pos + 9


def _string(data: bytes, pos: int) -> Tuple[bytes, int]:
    value, encoded, pos = _length(data, pos)
    if not encoded:
        return data[pos:pos + value], pos + value
    if value < 3:
        size = (1, 2, 4)[value]
        number = int.from_bytes(data[pos:pos + size], "little", signed=True)
        return b"%d" % number, pos + size
    compressed, _, pos = _length(data, pos)
    size, _, pos = _length(data, pos)
    return lzf_decompress(data[pos:pos + compressed], size), pos + compressed


def _strings(data: bytes, pos: int, count: int) -> Tuple[List[bytes], int]:
    out = []
    for _ in range(count):
        value, pos = _string(data, pos)
        out.append(value)
    return out, pos


def _value(data: bytes, pos: int, kind: int) -> Tuple[Any, int]:
    """The decoded contents of a value of type ``kind`` (strings, blobs, members...)."""
    if kind in (0, 11, 16, 17):
        return _string(data, pos)
    count, _, pos = _length(data, pos)
    if kind == 18:
        nodes = []
        for _ in range(count):
            container, _, pos = _length(data, pos)
            blob, pos = _string(data, pos)
            nodes.append((container, blob))
        return nodes, pos
    if kind in (1, 2):                  # (a plain list or set: not what Redis writes)
        members, pos = _strings(data, pos, count)
        return members if kind == 1 else sorted(members), pos
    if kind == 4:
        items, pos = _strings(data, pos, 2 * count)
        return sorted(zip(items[0::2], items[1::2])), pos
    if kind == 5:
        out = []
        for _ in range(count):
            member, pos = _string(data, pos)
            out.append((member, struct.unpack("<d", data[pos:pos + 8])[0]))
            pos += 8
        return out, pos                 # skip list order: the highest score first
    raise AssertionError("type %d not expected" % kind)


def parse_rdb(path: str) -> Dict[Tuple[int, bytes], Tuple[int, Any, bytes, Any]]:
    """(db, key) -> (type, contents, encoded key and value, expiry) of every key."""
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:9] == b"REDIS0010"
    pos = 9
    db = 0
    expiry = None
    out = {}
    while True:
        opcode = data[pos]
        pos += 1
        if opcode == 255:
            return out
        if opcode == 250:
            _, pos = _strings(data, pos, 2)
        elif opcode == 251:
            pos = _length(data, _length(data, pos)[2])[2]
        elif opcode == 252:
            expiry = struct.unpack("<q", data[pos:pos + 8])[0]
            pos += 8
        elif opcode == 254:
            db, _, pos = _length(data, pos)
        else:
            start = pos                 # (the key's encoding is compared too)
            key, pos = _string(data, pos)
            contents, pos = _value(data, pos, opcode)
            out[(db, key)] = (opcode, contents, data[start:pos], expiry)
            expiry = None


# -- the dataset ------------------------------------------------------------------------
def _dataset(big_element: int) -> List[List[Any]]:
    compressible = b"abcdefgh" * 40
    noise = bytes((i * 97 + 13) % 251 for i in range(300))
    out: List[List[Any]] = [
        # strings: integer encodings at their edges, raw, LZF, keys encoded too
        ["SET", "s:small", "v"], ["SET", "s:int8", "-128"], ["SET", "s:int16", "32767"],
        ["SET", "s:int32", "-2147483648"], ["SET", "s:big", "2147483648"],
        ["SET", "s:long", "9223372036854775807"], ["SET", "s:lead0", "007"],
        ["SET", "s:21", "x" * 21], ["SET", "s:long-text", compressible],
        ["SET", "s:noise", noise], ["SET", "12345", "int key"],
        ["SET", "k" * 40, "long compressible key"], ["APPEND", "s:appended", "123"],
        ["SETRANGE", "s:range", 30, "abc"],
        ["SET", "s:ttl", "with ttl"], ["PEXPIREAT", "s:ttl", _PEXPIREAT],
        # hashes: listpack up to 128 entries of 64 bytes, hash table past either
        ["HSET", "h:small", "a", "1", "b", "-7", "c", "text"],
        ["HSET", "h:at-entries"] + [x for i in range(128) for x in ("f%d" % i, i * 1000)],
        ["HSET", "h:past-entries"] + [x for i in range(129) for x in ("f%d" % i, "v")],
        ["HSET", "h:at-value", "f", "v" * 64], ["HSET", "h:past-value", "f", "v" * 65],
        ["HSET", "h:shrunk"] + [x for i in range(129) for x in ("f%d" % i, "v")],
        ["HDEL", "h:shrunk"] + ["f%d" % i for i in range(2, 129)],
        ["HSET", "h:ttl", "f", compressible], ["PEXPIREAT", "h:ttl", _PEXPIREAT],
        # sets: intsets of each width up to 512 members, hash tables past that
        ["SADD", "i:16", "1", "-32768", "32767"], ["SADD", "i:32", "5", "40000"],
        ["SADD", "i:32neg", "-2147483648", "0"],
        ["SADD", "i:64", "1", "9223372036854775807", "-9223372036854775808"],
        ["SADD", "i:at"] + list(range(512)), ["SADD", "i:past"] + list(range(513)),
        ["SADD", "i:text", "a", "b"], ["SADD", "i:lead0", "01", "2"],
        ["SADD", "i:shrunk"] + list(range(513)), ["SREM", "i:shrunk"] + list(range(2, 513)),
        ["SADD", "i:was-text", "1", "a"], ["SREM", "i:was-text", "a"],
        # sorted sets: listpack up to 128 entries of 64 bytes, skip list past either
        ["ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "1e300", "e"],
        ["ZADD", "z:at-entries"] + [x for i in range(128) for x in (i % 7, "m%d" % i)],
        ["ZADD", "z:past-entries"] + [x for i in range(129) for x in (i % 7, "m%d" % i)],
        ["ZADD", "z:at-value", "1", "m" * 64], ["ZADD", "z:past-value", "1", "m" * 65],
        ["ZADD", "z:shrunk"] + [x for i in range(129) for x in (i, "m%d" % i)],
        ["ZREMRANGEBYRANK", "z:shrunk", 2, -1],
        ["ZADD", "z:ties", "1", "b", "1", "a", "1", "c", "0.5", "z"]
        + [x for i in range(130) for x in (2, "t%d" % i)],
        # lists: one or many nodes, integers, an element over the plain threshold
        ["RPUSH", "l:small", "a", "1", "-300", "70000"], ["LPUSH", "l:left", "x", "y", "z"],
        ["RPUSH", "l:many"] + ["item-%d" % i for i in range(600)],
        ["RPUSH", "l:sized"] + ["v" * (i % 700) for i in range(200)],
        ["RPUSH", "l:plain", "a", "b" * big_element, "c", "d"],
        ["RPUSH", "l:ttl", compressible], ["PEXPIREAT", "l:ttl", _PEXPIREAT],
        # other databases
        ["SELECT", 3], ["SET", "s:db3", "three"], ["HSET", "h:db3", "f", "v"],
        ["SELECT", 9], ["SADD", "i:db9", "1"], ["RPUSH", "l:db9", "x"],
        ["SELECT", 0],
    ]
    return out


def _build(conn: RawConnection, fill: int, compression: str, big_element: int) -> None:
    for setting in (["list-max-listpack-size", fill], ["rdbcompression", compression]):
        assert conn.call("CONFIG", "SET", *setting) == b"+OK\r\n"
    assert conn.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", big_element - 10) == b"+OK\r\n"
    for command in _dataset(big_element):
        reply = conn.call(*command)
        assert not reply.startswith(b"-"), (command, reply)


def _info(conn: RawConnection, field: str) -> str:
    text = conn.call("INFO").decode()
    return text.split(field + ":", 1)[1].split("\r\n", 1)[0]


def _encodings(conn: RawConnection) -> Dict[Tuple[int, bytes], bytes]:
    out = {}
    for db in (0, 3, 9):
        conn.call("SELECT", db)
        keys = conn.call("KEYS", "*").split(b"\r\n")[2::2]
        for key in keys:
            out[(db, key)] = conn.call("OBJECT", "ENCODING", key)
    conn.call("SELECT", 0)
    return out


@pytest.mark.parametrize("fill,compression", [(-2, "yes"), (5, "no"), (-1, "yes")])
def test_saved_encodings_as_redis(tmp_path, fill, compression):
    big_element = 2000
    files = {}
    digests = {}
    encodings = {}
    reloaded = {}
    sanitized = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = _start(kind, directory)
        try:
            conn = RawConnection(port)
            _build(conn, fill, compression, big_element)
            encodings[kind] = _encodings(conn)
            digests[kind] = conn.call("DEBUG", "DIGEST")
            assert conn.call("SAVE") == b"+OK\r\n"
            files[kind] = os.path.join(directory, "dump.rdb")
            shutil.copy(files[kind], str(tmp_path / ("%s.rdb" % kind)))
            conn.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
            before = int(_info(conn, "dump_payload_sanitizations"))
            assert conn.call("DEBUG", "RELOAD") == b"+OK\r\n"
            sanitized[kind] = int(_info(conn, "dump_payload_sanitizations")) - before
            assert conn.call("DEBUG", "DIGEST") == digests[kind]
            reloaded[kind] = _encodings(conn)    # (a load converts small hash tables)
            conn.close()
        finally:
            stop_process(proc, directory)
    assert encodings["miniredis"] == encodings["redis"]
    assert digests["miniredis"] == digests["redis"]
    real = parse_rdb(str(tmp_path / "redis.rdb"))
    mini = parse_rdb(str(tmp_path / "miniredis.rdb"))
    assert sorted(mini) == sorted(real)
    for name, (kind, contents, raw, expiry) in real.items():
        got = mini[name]
        assert (got[0], got[3]) == (kind, expiry), name
        assert got[1] == contents, name
        if kind in _EXACT:
            assert got[2] == raw, name
    assert sanitized["miniredis"] == sanitized["redis"] > 20
    assert reloaded["miniredis"] == reloaded["redis"]
    # Each server loads the other's file: same digest, same encodings.
    for kind, other in (("redis", "miniredis"), ("miniredis", "redis")):
        directory = str(tmp_path / ("%s-loads" % kind))
        os.mkdir(directory)
        shutil.copy(str(tmp_path / ("%s.rdb" % other)), os.path.join(directory, "dump.rdb"))
        proc, port = _start(kind, directory, "--list-max-listpack-size", str(fill))
        try:
            conn = RawConnection(port)
            assert conn.call("DEBUG", "DIGEST") == digests["redis"], kind
            assert _encodings(conn) == reloaded["redis"], kind
            conn.close()
        finally:
            stop_process(proc, directory)
