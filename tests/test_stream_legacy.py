"""Streams in the pre-7.0 encoding (RDB type 15, RDB_TYPE_STREAM_LISTPACKS, RDB version
<= 9) loaded by RESTORE and from an RDB file, against a real redis-server: the derived
entries-added, max-deleted-entry-id, first ID and group entries-read/lag, and DUMP of
the loaded key giving Redis's bytes (listpacks kept as loaded, tombstones included).
"""
from __future__ import annotations

import os
import struct
from typing import List

import pytest

from miniredis.persistence import rdb
from tests.harness import RawConnection, parse_raw

# DUMPed from a Redis 5 instance after XADD x 1-0 .. 6-0 data a..f, XDEL x 3-0,
# XGROUP CREATE x g1 0, XGROUP CREATE x g2 0, XREADGROUP GROUP g1 c11 COUNT 4
# STREAMS x >, XTRIM x MAXLEN = 2 (Redis's tests/unit/type/stream-cgroups.tcl).
V5_PAYLOAD = bytes.fromhex(
    "0f011000000000000000010000000000000000c3404a405716570000002300020104010101846461"
    "746105000103010020010381610204200a0001400a0062600a0002400a0063600a4022018164200a"
    "4039200a0065600a0005400a0066200a00ff02060002026731050004000000000000000100000000"
    "000000003ef783437a01000001000000000000000200000000000000003ef783437a010000010000"
    "00000000000400000000000000003ef783437a01000001000000000000000500000000000000003e"
    "f783437a0100000101036331313ef783437a01000004000000000000000100000000000000000000"
    "00000000000200000000000000000000000000000004000000000000000000000000000000050000"
    "0000000000000267320000000009003d52ef6867521dfa")

INSPECT = ["XINFO STREAM x FULL", "XINFO GROUPS x", "XINFO STREAM x", "XLEN x",
           "XRANGE x - +", "DUMP x", "OBJECT ENCODING x"]


def test_v5_payload_restores_as_redis_does(differ):
    differ.check(["RESTORE", "x", "0", V5_PAYLOAD], *INSPECT)


def test_v5_payload_derived_counters(mini):
    """The figures Redis's own test expects (entries-added 2, g1 read 1 lag 1, g2 read
    0 lag 2), independently of the differential comparison."""
    conn = RawConnection(mini.port)
    try:
        conn.call("DEL", "x")
        assert conn.call("RESTORE", "x", "0", V5_PAYLOAD) == b"+OK\r\n"
        reply = parse_raw(conn.call("XINFO", "STREAM", "x", "FULL"))[1]
        info = {reply[i][1]: reply[i + 1] for i in range(0, len(reply), 2)}
        assert info[b"entries-added"] == (b":", b"2")
        assert info[b"max-deleted-entry-id"] == (b"$", b"0-0")
        groups = []
        for group in info[b"groups"][1]:
            fields = group[1]
            groups.append({fields[i][1]: fields[i + 1][1] for i in range(0, len(fields), 2)})
        assert [(g[b"name"], g[b"entries-read"], g[b"lag"]) for g in groups] == [
            (b"g1", b"1", b"1"), (b"g2", b"0", b"2")]
    finally:
        conn.call("DEL", "x")
        conn.close()


def _skip_string(reader: rdb._Reader) -> None:
    reader.string()


def to_legacy(payload: bytes) -> bytes:
    """A type-19 DUMP payload rewritten as Redis 6.2 would have dumped the same stream:
    type 15, no first/max-deleted IDs, no entries-added, no group entries-read, RDB
    version 9 (the listpacks are kept as they are)."""
    assert payload[0] == rdb.T_STREAM_2
    reader = rdb._Reader(payload, "payload")
    reader.byte()
    out: List[bytes] = [bytes((rdb.T_STREAM,))]
    start = reader.pos
    for _ in range(reader.number()):
        _skip_string(reader)
        _skip_string(reader)
    for _ in range(3):                      # length, last ID
        reader.number()
    out.append(payload[start:reader.pos])
    for _ in range(5):                      # first ID, max deleted ID, entries added
        reader.number()
    start = reader.pos
    groups = reader.number()
    out.append(payload[start:reader.pos])
    for _ in range(groups):
        start = reader.pos
        _skip_string(reader)
        reader.number()
        reader.number()
        out.append(payload[start:reader.pos])
        reader.number()                     # entries read: dropped
        start = reader.pos
        for _ in range(reader.number()):    # group PEL
            reader.take(24)
            reader.number()
        for _ in range(reader.number()):    # consumers
            _skip_string(reader)
            reader.take(8)
            for _ in range(reader.number()):
                reader.take(16)
        out.append(payload[start:reader.pos])
    assert reader.pos == len(payload) - 10
    body = b"".join(out) + struct.pack("<H", 9)
    return body + struct.pack("<Q", rdb.crc64(0, body))


def _call(port: int, *args) -> bytes:
    conn = RawConnection(port)
    try:
        conn.call("SELECT", "9")
        return conn.call(*args)
    finally:
        conn.close()


# Streams built in redis-server, dumped, turned into type-15 payloads.
SCENARIOS = {
    "tombstones": [["XADD", "s", "1-0", "a", "1"], ["XADD", "s", "2-0", "a", "2"],
                   ["XADD", "s", "3-0", "b", "x", "c", "y"], ["XADD", "s", "4-0", "a", "4"],
                   ["XDEL", "s", "2-0"], ["XGROUP", "CREATE", "s", "before", "0"],
                   ["XGROUP", "CREATE", "s", "first", "1-0"],
                   ["XGROUP", "CREATE", "s", "middle", "3-0"],
                   ["XGROUP", "CREATE", "s", "last", "$"],
                   ["XGROUP", "CREATE", "s", "future", "9-0"]],
    "trimmed-head": [["XADD", "s", "1-0", "a", "1"], ["XADD", "s", "2-0", "a", "2"],
                     ["XADD", "s", "3-0", "a", "3"], ["XTRIM", "s", "MAXLEN", "=", "1"],
                     ["XGROUP", "CREATE", "s", "g0", "0"],
                     ["XGROUP", "CREATE", "s", "g2", "2-0"],
                     ["XGROUP", "CREATE", "s", "g3", "3-0"]],
    "emptied": [["XADD", "s", "5-5", "a", "1"], ["XDEL", "s", "5-5"],
                ["XGROUP", "CREATE", "s", "old", "1-0"],
                ["XGROUP", "CREATE", "s", "at", "5-5"],
                ["XGROUP", "CREATE", "s", "after", "7-0"]],
    "many-nodes": [["CONFIG", "SET", "stream-node-max-entries", "3"]]
    + [["XADD", "s", "%d-1" % i, "f", str(i), "g", "v" * (i % 5)] for i in range(1, 12)]
    + [["XDEL", "s", "4-1", "5-1", "11-1"], ["CONFIG", "SET", "stream-node-max-entries", "100"],
       ["XGROUP", "CREATE", "s", "g", "0"],
       ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"],
       ["XGROUP", "CREATE", "s", "h", "7-1"]],
    "no-groups": [["XADD", "s", "1-1", "a", "b"], ["XADD", "s", "1-2", "a", "c"]],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_legacy_payloads_restore_as_redis_does(differ, real_redis, name):
    for command in SCENARIOS[name]:
        _call(real_redis.port, *command)
    kind, modern = parse_raw(_call(real_redis.port, "DUMP", "s"))
    _call(real_redis.port, "DEL", "s")
    assert kind == b"$"
    legacy = to_legacy(modern)
    differ.check(["RESTORE", "s", "0", legacy], "XINFO STREAM s FULL", "XINFO GROUPS s",
                 "XINFO STREAM s", "XRANGE s - +", "DUMP s",
                 # then used: the node XADD appends to, XDEL, trimming
                 "XADD s 100-0 a new", "XINFO STREAM s FULL", "XINFO GROUPS s",
                 "XDEL s 1-1 3-0", "XINFO STREAM s", "XTRIM s MAXLEN = 1",
                 "XINFO STREAM s FULL", "XINFO GROUPS s")


def _rdb_file(payload: bytes, key: bytes) -> bytes:
    """A version-9 RDB file holding one key whose value is the payload's."""
    value = payload[:-10]
    body = (b"REDIS0009" + b"\xfe\x00" + value[:1] + rdb._len(len(key)) + key + value[1:]
            + b"\xff")
    return body + struct.pack("<Q", rdb.crc64(0, body))


def test_rdb_file_with_a_type_15_stream_loads(mini, real_redis):
    """DEBUG RELOAD NOSAVE of a version-9 RDB file written by hand (in each server's
    own dir/dbfilename: dbfilename is a protected config)."""
    image = _rdb_file(V5_PAYLOAD, b"x")
    for port in (real_redis.port, mini.port):
        directory = parse_raw(_call(port, "CONFIG", "GET", "dir"))[1][1][1]
        name = parse_raw(_call(port, "CONFIG", "GET", "dbfilename"))[1][1][1]
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(image)
    try:
        for port in (real_redis.port, mini.port):
            assert _call(port, "DEBUG", "RELOAD", "NOSAVE") == b"+OK\r\n"
        replies = {}
        for port in (real_redis.port, mini.port):
            conn = RawConnection(port)
            try:
                replies[port] = [conn.call(*command.split()) for command in INSPECT]
            finally:
                conn.close()
        assert replies[mini.port] == replies[real_redis.port]
        assert b"entries-added" in replies[mini.port][0]
    finally:
        for port in (real_redis.port, mini.port):
            _call(port, "FLUSHALL")
