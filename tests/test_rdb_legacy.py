"""Encodings older Redis versions wrote (ziplists up to 6.2, quicklists of ziplists,
zipmaps of 2.4), which Redis 7.0 still reads: RDB files and DUMP payloads from a
Redis 6 must load. The payloads are built here byte by byte (every ziplist entry
encoding, both prevlen widths) and RESTOREd into miniredis and redis-server; replies
are compared raw, damaged ones included (truncated, wrong counts, duplicate fields),
then the same values in an RDB file both servers load at start-up."""
from __future__ import annotations

import os
import struct
import sys

import pytest

from miniredis.persistence.rdb import crc64
from tests.harness import (Differ, RedisProcess, redis_server_or_skip,
                           start_process, stop_process, RawConnection)
from miniredis import Server

T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_ZSET_ZIPLIST, T_HASH_ZIPLIST, T_LIST_QUICKLIST = (
    9, 10, 12, 13, 14)


def _length(n: int) -> bytes:
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x80" + struct.pack(">I", n)


def _string(data: bytes) -> bytes:
    return _length(len(data)) + data


def _zip_entry(value: object, prevlen: int) -> bytes:
    """One ziplist entry; ints take the smallest encoding, as ziplist.c does."""
    head = bytes([prevlen]) if prevlen < 254 else b"\xfe" + struct.pack("<I", prevlen)
    if isinstance(value, int):
        if 0 <= value <= 12:
            body = bytes([0xF1 + value])
        elif -128 <= value < 128:
            body = b"\xfe" + struct.pack("<b", value)
        elif -32768 <= value < 32768:
            body = b"\xc0" + struct.pack("<h", value)
        elif -(1 << 23) <= value < (1 << 23):
            body = b"\xf0" + (value & 0xFFFFFF).to_bytes(3, "little")
        elif -(1 << 31) <= value < (1 << 31):
            body = b"\xd0" + struct.pack("<i", value)
        else:
            body = b"\xe0" + struct.pack("<q", value)
    else:
        data = bytes(value)
        if len(data) < 64:
            body = bytes([len(data)]) + data
        elif len(data) < 16384:
            body = bytes([0x40 | (len(data) >> 8), len(data) & 0xFF]) + data
        else:
            body = b"\x80" + struct.pack(">I", len(data)) + data
    return head + body


def ziplist(values: list) -> bytes:
    entries = []
    previous = 0
    tail = 10
    offset = 10
    for value in values:
        entry = _zip_entry(value, previous)
        tail = offset
        offset += len(entry)
        previous = len(entry)
        entries.append(entry)
    body = b"".join(entries)
    total = 10 + len(body) + 1
    return struct.pack("<IIH", total, tail, min(len(values), 0xFFFF)) + body + b"\xff"


def zipmap(pairs: list) -> bytes:
    out = bytearray([len(pairs) if len(pairs) < 254 else 254])
    for field, value in pairs:
        for data, free in ((field, None), (value, 2)):
            out += bytes([len(data)]) if len(data) < 254 else \
                b"\xfe" + struct.pack("<I", len(data))
            if free is not None:
                out.append(free)
            out += data
            if free is not None:
                out += b"\x00" * free
    out.append(0xFF)
    return bytes(out)


def payload(kind: int, body: bytes, version: int = 9) -> bytes:
    data = bytes([kind]) + body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64(0, data))


_LIST = [b"a", 0, 12, 13, -1, 127, -128, 300, -30000, 70000, -(1 << 22), 1 << 30,
         -(1 << 40), b"x" * 70, b"y" * 300, b"", b"12"]
_HASH = [b"f1", b"v1", b"n", 5, 7, b"seven", b"big", b"z" * 300]
_ZSET = [b"m3", b"-inf", b"m1", 1, b"m2", b"2.5", 4, b"1e3"]   # (sorted, as Redis wrote)

# (name, RDB type, the encoded value, reads that show it)
_VALUES = [
    ("list", T_LIST_ZIPLIST, _string(ziplist(_LIST)), [["LRANGE", "list", "0", "-1"]]),
    ("qlist", T_LIST_QUICKLIST, _length(2) + _string(ziplist([b"a", 1]))
     + _string(ziplist([b"b", 2, b"c"])), [["LRANGE", "qlist", "0", "-1"]]),
    ("hash", T_HASH_ZIPLIST, _string(ziplist(_HASH)), [["HGETALL", "hash"],
                                                        ["HGET", "hash", "7"]]),
    ("zset", T_ZSET_ZIPLIST, _string(ziplist(_ZSET)),
     [["ZRANGE", "zset", "0", "-1", "WITHSCORES"]]),
    ("zmap", T_HASH_ZIPMAP, _string(zipmap([(b"a", b"1"), (b"bb", b"two")])),
     [["HGETALL", "zmap"]]),
]


def _broken() -> list:
    """Damaged encodings, each RESTOREd into both servers."""
    good = ziplist([b"a", b"b", 3])
    cases = [
        (T_LIST_ZIPLIST, good[:-1]),                          # no end byte
        (T_LIST_ZIPLIST, struct.pack("<I", len(good) + 1) + good[4:]),   # zlbytes
        (T_LIST_ZIPLIST, good[:8] + struct.pack("<H", 5) + good[10:]),   # count
        (T_LIST_ZIPLIST, good[:4] + struct.pack("<I", 10) + good[8:]),   # tail
        (T_LIST_ZIPLIST, good[:12] + b"\x30" + good[13:]),    # string runs past the end
        (T_LIST_ZIPLIST, good[:13] + b"\x05" + good[14:]),    # wrong prevlen
        (T_LIST_ZIPLIST, ziplist([])),                         # empty
        (T_HASH_ZIPLIST, ziplist([b"f", b"1", b"f", b"2"])),  # duplicate field
        (T_HASH_ZIPLIST, ziplist([b"f", b"1", b"g"])),        # odd count
        (T_ZSET_ZIPLIST, ziplist([b"m", 1, b"m", 2])),        # duplicate member
        (T_HASH_ZIPMAP, zipmap([(b"a", b"1"), (b"a", b"2")])),  # duplicate field
        (T_HASH_ZIPMAP, zipmap([(b"a", b"1")])[:-1]),          # no end byte
        (T_HASH_ZIPMAP, b"\x05" + zipmap([(b"a", b"1")])[1:]),  # count
        (T_LIST_QUICKLIST, None),
    ]
    out = []
    for kind, blob in cases:
        if blob is None:                                        # an empty node
            out.append(payload(kind, _length(1) + _string(b"")))
        else:
            out.append(payload(kind, _string(blob)))
    return out


@pytest.fixture(scope="module")
def differ():
    real = RedisProcess(redis_server_or_skip())
    mini = Server(port=0)
    mini.start()
    try:
        yield Differ(real.port, mini.port)
    finally:
        mini.stop()
        real.stop()


def test_restore_of_old_encodings(differ):
    commands = []
    for name, kind, body, reads in _VALUES:
        commands += [["RESTORE", name, "0", payload(kind, body), "REPLACE"], *reads,
                     ["TYPE", name]]
    differ.check(*commands)


def test_old_encodings_convert_past_the_listpack_limits(differ):
    """Too many entries for a listpack: Redis converts on load (OBJECT ENCODING)."""
    many = [b"f%d" % i for i in range(40)]
    hashed = payload(T_HASH_ZIPLIST, _string(ziplist([x for f in many for x in (f, f)])))
    scored = payload(T_ZSET_ZIPLIST, _string(ziplist([x for i, f in enumerate(many)
                                                      for x in (f, i)])))
    for setting in (["hash-max-listpack-entries", "16"],
                    ["zset-max-listpack-entries", "16"]):
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", *setting)
            conn.close()
    try:
        differ.check(["RESTORE", "h", "0", hashed, "REPLACE"], ["OBJECT", "ENCODING", "h"],
                     ["HLEN", "h"], ["RESTORE", "z", "0", scored, "REPLACE"],
                     ["OBJECT", "ENCODING", "z"], ["ZCARD", "z"])
    finally:
        for setting in (["hash-max-listpack-entries", "128"],
                        ["zset-max-listpack-entries", "128"]):
            for port in differ.ports.values():
                conn = RawConnection(port)
                conn.call("CONFIG", "SET", *setting)
                conn.close()


@pytest.mark.parametrize("sanitize", ["no", "yes"])
def test_damaged_old_encodings_refused(differ, sanitize):
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("CONFIG", "SET", "sanitize-dump-payload", sanitize)
        conn.close()
    try:
        commands = []
        for i, data in enumerate(_broken()):
            commands += [["RESTORE", "bad%d" % i, "0", data], ["EXISTS", "bad%d" % i]]
        differ.check(*commands, protocols=(2,))
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", "sanitize-dump-payload", "no")
            conn.close()


def test_rdb_file_of_old_encodings_loads_at_start_up(tmp_path):
    """A Redis 6 style dump.rdb (version 9) holding every old encoding, and an empty
    ziplist, which Redis skips with a log line."""
    exe = redis_server_or_skip()
    records = [b"\xfe\x00"]
    for name, kind, body, _ in _VALUES:
        records.append(bytes([kind]) + _string(name.encode()) + body)
    records.append(bytes([T_LIST_ZIPLIST]) + _string(b"empty") + _string(ziplist([])))
    data = b"REDIS0009" + b"".join(records) + b"\xff"
    data += struct.pack("<Q", crc64(0, data))
    reads = [["DBSIZE"], ["EXISTS", "empty"]] + [
        read for _, _, _, value_reads in _VALUES for read in value_reads]
    replies = {}
    for kind in ("redis", "miniredis"):
        directory = tmp_path / kind
        directory.mkdir()
        (directory / "dump.rdb").write_bytes(data)
        argv = [exe] if kind == "redis" else [sys.executable, "-m", "miniredis"]
        proc, port = start_process(
            lambda port: argv + ["--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--dir", str(directory), "--logfile", "log.txt"],
            what=kind, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            conn = RawConnection(port)
            replies[kind] = [conn.call(*read) for read in reads]
            conn.close()
            log = (directory / "log.txt").read_text()
            replies[kind].append("rdbLoadObject skipping empty key: empty" in log)
        finally:
            stop_process(proc, str(directory))
    assert replies["miniredis"] == replies["redis"]
    assert replies["redis"][0] == b":5\r\n"


def test_mutated_old_encodings_never_escape_as_python_errors():
    """Hostile RDB files: random byte flips, cuts and insertions in every old
    encoding load or fail with RDBError (what start-up and replicas handle), never
    another exception (the start-up path catches nothing else)."""
    import random
    from miniredis.persistence import rdb
    rnd = random.Random(34)
    with Server(port=0) as server:
        for _ in range(2000):
            name, kind, body, _ = rnd.choice(_VALUES)
            data = bytearray(body)
            for _ in range(rnd.randint(1, 4)):
                roll = rnd.random()
                if roll < 0.6 and data:
                    data[rnd.randrange(len(data))] = rnd.randrange(256)
                elif roll < 0.8 and data:
                    del data[rnd.randrange(len(data)):]
                else:
                    data.insert(rnd.randrange(len(data) + 1), rnd.randrange(256))
            image = b"REDIS0009\xfe\x00" + bytes([kind]) + _string(name.encode()) \
                + bytes(data) + b"\xff"
            image += struct.pack("<Q", crc64(0, image))
            server.state.dbs[0].flush(False)
            try:
                rdb.load_bytes(server.state, image, "fuzz.rdb")
            except rdb.RDBError:
                pass
