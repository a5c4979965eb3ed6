"""DUMP / RESTORE / RESTORE-ASKING against a real redis-server: byte-identical payloads
where Redis's encoding is reproducible, payloads crossing between the servers in both
directions for every type, every RESTORE error, hostile payloads (seeded fuzz)."""
from __future__ import annotations

import random
import struct

import pytest

from miniredis.persistence import rdb
from tests.harness import (RawConnection, SameType, command_metadata, parse_raw,
                           same_in_lockstep)

def _noise(size: int, seed: int = 0) -> str:
    """Text LZF cannot shorten (no repeated 3-byte sequences, in practice)."""
    rng = random.Random(seed)
    return "".join(chr(rng.randrange(33, 127)) for _ in range(size))


# Datasets whose DUMP Redis encodes in a way we reproduce exactly (no LZF-compressible
# strings longer than 20 bytes).
IDENTICAL = {
    "int": [["SET", "k", "12345"]],
    "small-int": [["SET", "k", "-7"]],
    "int32": [["SET", "k", "-2147483648"]],
    "big-int": [["SET", "k", "9223372036854775807"]],
    "not-canonical-int": [["SET", "k", "007"]],
    "embstr": [["SET", "k", "hello world"]],
    "empty": [["SET", "k", ""]],
    "raw": [["SET", "k", _noise(60)]],
    "appended": [["SET", "k", "12"], ["APPEND", "k", "34"]],
    "list": [["RPUSH", "k", "a", "1", "-5", "hello", "70000", _noise(70, 1), "3.5"]],
    "list-lpush": [["LPUSH", "k", "a", "b", "c"]],
    "intset16": [["SADD", "k", "3", "1", "-2", "100"]],
    "intset32": [["SADD", "k", "3", "100000"]],
    "intset64": [["SADD", "k", "-3", "10000000000"]],
    "hash": [["HSET", "k", "f1", "v1", "n", "42", "neg", "-300", "big", "123456789012"]],
    "hash-updated": [["HSET", "k", "a", "1", "b", "2", "c", "3"], ["HDEL", "k", "b"],
                     ["HSET", "k", "a", "x", "d", "4"]],
    "zset": [["ZADD", "k", "1", "a", "2.5", "b", "-3", "c", "1e20", "d", "0.1", "e",
              "-inf", "f", "inf", "g"]],
    "zset-ties": [["ZADD", "k", "1", "b", "1", "a", "1", "c"]],
    "hashtable-one": [["HSET", "k", "f", _noise(65, 2)]],
    "skiplist-one": [["ZADD", "k", "1.5", _noise(65, 3)]],
    "set-one": [["SADD", "k", "member"]],
    "stream": [["XADD", "k", "1-1", "a", "1", "b", "hello"], ["XADD", "k", "1-2", "a", "2", "b", "x"],
               ["XADD", "k", "5-0", "z", "-17"]],
    "stream-group": [["XADD", "k", "1-1", "a", "1"], ["XGROUP", "CREATE", "k", "g", "0"]],
    "counter": [["SET", "k", "5"], ["INCRBY", "k", "1000000000000"]],
}


def test_skiplist_dumped_from_the_highest_score(differ):
    differ.check("CONFIG SET zset-max-listpack-entries 2", "ZADD k 1 a 2 b 3 c 1 d",
                 "DUMP k", "CONFIG SET zset-max-listpack-entries 128")


@pytest.mark.parametrize("name", sorted(IDENTICAL))
def test_dump_bytes_equal_redis(differ, name):
    differ.check(*IDENTICAL[name], "DUMP k", "DUMP missing")


def test_long_lists_split_as_redis(differ):
    # Nodes of the quicklist are split at 8 KB as successive RPUSHes split them.
    commands = [["RPUSH", "k"] + ["item-%d-%s" % (i, "z" * (i % 40)) for i in range(j, j + 50)]
                for j in range(0, 1500, 50)]
    differ.check(*commands, "DUMP k")
    differ.check("CONFIG SET list-max-listpack-size 5",
                 ["RPUSH", "k"] + [str(i) for i in range(23)], "DUMP k",
                 "CONFIG SET list-max-listpack-size -2")


def test_dump_respects_encoding_limits(differ):
    differ.check("CONFIG SET hash-max-listpack-entries 2", "HSET k a 1", "DUMP k",
                 "CONFIG SET hash-max-listpack-entries 512")
    differ.check("CONFIG SET set-max-intset-entries 1", "SADD k 1", "DUMP k",
                 "CONFIG SET set-max-intset-entries 512")


def _call(port, *args):
    conn = RawConnection(port)
    try:
        conn.call("SELECT", "9")
        return conn.call(*args)
    finally:
        conn.close()


def _bulk(raw: bytes) -> bytes:
    kind, value = parse_raw(raw)
    assert kind == b"$", raw
    return value


DATASETS = {
    "strings": [["SET", "k", "123"]],
    "string-raw": [["SET", "k", "abc" * 100]],
    "string-huge-int": [["SET", "k", "99999999999999999999999"]],
    "list": [["RPUSH", "k"] + ["v%d" % i for i in range(2000)]],
    "set-hashtable": [["SADD", "k"] + ["m%d" % i for i in range(300)]],
    "set-big-intset": [["SADD", "k"] + [str(i * 1000) for i in range(600)]],
    "hash-hashtable": [["HSET", "k"] + ["f%d" % (i // 2) for i in range(1200)]],
    "zset-skiplist": [["ZADD", "k"] + [x for i in range(200) for x in (str(i / 3), "m%d" % i)]],
    "stream": [["XADD", "k", "1-1", "a", "1", "b", "2"], ["XADD", "k", "2-1", "a", "3", "b", "4"],
               ["XADD", "k", "3-0", "other", "x"], ["XDEL", "k", "2-1"],
               ["XGROUP", "CREATE", "k", "g", "0"],
               ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "k", ">"],
               ["XGROUP", "CREATE", "k", "g2", "$"]],
}

READBACK = {
    "strings": ["GET k"], "string-raw": ["GET k"], "string-huge-int": ["GET k"],
    "list": ["LRANGE k 0 -1", "OBJECT ENCODING k"],
    "set-hashtable": ["SCARD k", "SISMEMBER k m7", "OBJECT ENCODING k"],
    "set-big-intset": ["SCARD k", "SISMEMBER k 7000", "OBJECT ENCODING k"],
    "hash-hashtable": ["HLEN k", "HGET k f3", "OBJECT ENCODING k"],
    "zset-skiplist": ["ZRANGE k 0 -1 WITHSCORES", "OBJECT ENCODING k"],
    "stream": ["XRANGE k - +", "XINFO STREAM k", "XPENDING k g", "XINFO CONSUMERS k g",
               "XINFO GROUPS k"],
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_payloads_cross_both_ways(mini, real_redis, name):
    ports = {"redis": real_redis.port, "mini": mini.port}
    for source, target in (("redis", "mini"), ("mini", "redis")):
        for port in ports.values():
            _call(port, "FLUSHALL")
        for command in DATASETS[name]:
            _call(ports[source], *command)
        payload = _bulk(_call(ports[source], "DUMP", "k"))
        assert _call(ports[target], "RESTORE", "k", "0", payload) == b"+OK\r\n"
        for check in READBACK[name]:
            args = check.split()
            if args[0] == "XINFO" and args[1] == "CONSUMERS":
                # idle/inactive times differ by a few ms between the servers
                got = parse_raw(_call(ports[target], *args))
                want = parse_raw(_call(ports[source], *args))
                assert len(got[1]) == len(want[1])
                continue
            assert _call(ports[target], *args) == _call(ports[source], *args), check


def test_restore_errors(differ):
    payload = b"\x00\x03abc\n\x00" + b"\x00" * 8   # wrong CRC
    differ.check(
        "SET k v", ["RESTORE", "k", "0", "x"], "DUMP k",
        "RESTORE k 0 junk", "RESTORE new -1 junk", "RESTORE new abc junk",
        "RESTORE new 0 junk", ["RESTORE", "new", "0", payload],
        "RESTORE new 0 junk BADOPT", "RESTORE new 0 junk IDLETIME",
        "RESTORE new 0 junk IDLETIME -1", "RESTORE new 0 junk IDLETIME x",
        "RESTORE new 0 junk FREQ 256", "RESTORE new 0 junk FREQ -1",
        "RESTORE new 0 junk IDLETIME 1 FREQ 1", "RESTORE new 0 junk FREQ 1 IDLETIME 1",
        "RESTORE k 0 junk REPLACE", "RESTORE-ASKING k 0 junk", "RESTORE k",
        "CONFIG SET sanitize-dump-payload yes", "CONFIG GET sanitize-dump-payload",
        "CONFIG SET sanitize-dump-payload clients", "CONFIG SET sanitize-dump-payload bad",
        "CONFIG SET sanitize-dump-payload no")


def _with_crc(body: bytes) -> bytes:
    body = body + b"\x0a\x00"
    return body + struct.pack("<Q", rdb.crc64(0, body))


def test_bad_data_format(differ):
    for body in (b"\x00", b"\x00\x05ab", b"\x63\x00", b"\x01\x00", b"\x02\x00",
                 b"\x00\x01ab", b"\x12\x00", b"\x04\x00", b"\x0b\x00"):
        differ.check(["RESTORE", "k", "0", _with_crc(body)], "EXISTS k")
    # a newer RDB version is refused as a bad checksum
    body = b"\x00\x01a\x0b\x00"
    differ.check(["RESTORE", "k", "0", body + struct.pack("<Q", rdb.crc64(0, body))])


def test_restore_options(differ):
    good = _with_crc(b"\x00\x05hello")
    differ.check(
        ["RESTORE", "k", "0", good], "GET k", "TTL k",
        ["RESTORE", "k", "0", good], ["RESTORE", "k", "5000", good, "REPLACE"],
        SameType("PTTL k"),
        ["RESTORE", "k2", "1", good, "ABSTTL"], "EXISTS k2",
        ["RESTORE", "k", "1", good, "ABSTTL", "REPLACE"], "EXISTS k",
        ["RESTORE", "k3", "99999999999999", good, "ABSTTL"], "TTL k3",
        ["RESTORE", "k4", "0", good, "IDLETIME", "1000"], "OBJECT IDLETIME k4",
        ["RESTORE", "k5", "0", good, "FREQ", "100"], "OBJECT IDLETIME k5",
        ["RESTORE", "k6", "9223372036854775807", good], "EXISTS k6",
        ["RESTORE", "k7", "9223372036854775807", good, "ABSTTL"], "EXISTS k7",
        "OBJECT FREQ k5")


def test_restore_idletime_past_the_clock(mini, real_redis):
    # Redis stores LRU_CLOCK() - IDLETIME in a 24-bit field of wall-clock seconds
    # (+ LRU_CLOCK_MAX once if negative; the seconds scaled in 64 bits, wrapping), so an
    # idle time past the clock reads back as that field gives: 16777215 as 0, 2**63-1
    # as 16777214. Both servers are asked at once (one second apart at most).
    good = _with_crc(b"\x00\x05hello")
    steps: list = []
    for idle in ("1000", "8388608", "16777215", "16777216", "20000000",
                 "99999999999999", "9223372036854775", "9223372036854775807"):
        steps += ["DEL idle", ["RESTORE", "idle", "0", good, "IDLETIME", idle],
                  "OBJECT IDLETIME idle"]
    same_in_lockstep(real_redis.port, mini.port, steps + ["DEL idle"])


def test_rdb_keeps_idle_times_and_counters(mini, real_redis):
    # Under an LRU policy an RDB records each key's idle seconds, under an LFU one its
    # counter (rdbSaveKeyValuePair), and a load applies them under its own policy:
    # DEBUG RELOAD keeps OBJECT IDLETIME / FREQ; an LRU file loaded under LFU does not.
    good = _with_crc(b"\x00\x05hello")
    steps = [["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
             ["RESTORE", "u1", "0", good, "IDLETIME", "1000"], ["DEBUG", "RELOAD"],
             ["OBJECT", "IDLETIME", "u1"],
             ["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"],
             ["RESTORE", "u2", "0", good, "FREQ", "100"], ["DEBUG", "RELOAD"],
             ["OBJECT", "FREQ", "u2"], ["OBJECT", "FREQ", "u1"],
             ["CONFIG", "SET", "maxmemory-policy", "noeviction"], ["DEBUG", "RELOAD"],
             ["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
             ["OBJECT", "FREQ", "u2"]]
    try:
        replies = same_in_lockstep(real_redis.port, mini.port, steps)
        assert replies[7] == b":100\r\n"      # OBJECT FREQ u2 after DEBUG RELOAD
    finally:
        same_in_lockstep(real_redis.port, mini.port, [
            "CONFIG SET maxmemory-policy noeviction", "DEL u1 u2"])


def test_restore_freq_under_lfu(differ):
    good = _with_crc(b"\x00\x05hello")
    differ.check(
        "CONFIG SET maxmemory-policy allkeys-lfu",
        ["RESTORE", "k", "0", good, "FREQ", "100"], "OBJECT FREQ k",
        ["RESTORE", "k2", "0", good, "IDLETIME", "100"], "OBJECT FREQ k2",
        "CONFIG SET maxmemory-policy noeviction")


def test_dump_metadata(mini, real_redis):
    for name in ("dump", "restore", "restore-asking", "migrate"):
        assert command_metadata(mini.port, name) == command_metadata(real_redis.port, name)


def test_keyspace_events(mini, real_redis):
    good = _with_crc(b"\x00\x05hello")
    seen = {}
    for port in (mini.port, real_redis.port):
        _call(port, "CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = RawConnection(port)
        try:
            sub.call("PSUBSCRIBE", "__keyevent@9__:*")
            _call(port, "FLUSHALL")
            _call(port, "SET", "k", "v")
            _call(port, "RESTORE", "k", "1", good, "ABSTTL", "REPLACE")   # expired: del
            _call(port, "RESTORE", "k", "0", good)
            _call(port, "RESTORE", "k", "0", good, "REPLACE")
            _call(port, "SET", "end", "1")
            names = []
            while not names or names[-1] != b"__keyevent@9__:set" or len(names) < 2:
                names.append(parse_raw(sub.read_raw())[1][2][1])
            seen[port] = names
        finally:
            sub.close()
            _call(port, "CONFIG", "SET", "notify-keyspace-events", "")
    assert seen[mini.port] == seen[real_redis.port]
    assert b"__keyevent@9__:restore" in seen[mini.port]


def _mutations(rng: random.Random, seeds):
    for _ in range(400):
        payload = bytearray(rng.choice(seeds))
        action = rng.randrange(5)
        if action == 0 and len(payload) > 10:
            del payload[rng.randrange(len(payload) - 10):-10]          # truncated
        elif action == 1:
            for _ in range(rng.randint(1, 4)):
                payload[rng.randrange(len(payload) - 10)] = rng.randrange(256)
        elif action == 2:                                              # huge lengths
            at = rng.randrange(1, max(2, len(payload) - 10))
            payload[at:at] = rng.choice([b"\x81" + b"\xff" * 8, b"\x80\xff\xff\xff\xff",
                                         b"\xbf\xff", b"\xc3\x80\xff\xff\xff\xff\x01"])
        elif action == 3:
            payload = bytearray(bytes([rng.randrange(22)])
                                + bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
                                + b"\x0a\x00")
        body = bytes(payload[:-8])
        yield body + struct.pack("<Q", rdb.crc64(0, body))   # valid checksum: parsed


def test_fuzzed_payloads_never_crash(mini, real_redis):
    seeds = []
    for command in [["SET", "k", "hello"], ["RPUSH", "k", "a", "1", "bb"],
                    ["SADD", "k", "1", "2"], ["SADD", "k", "x", "y"],
                    ["HSET", "k", "f", "v", "g", "1"], ["ZADD", "k", "1", "a", "2.5", "b"],
                    ["ZADD", "k", "1", "m" * 70],
                    ["XADD", "k", "1-1", "a", "1"]]:
        _call(mini.port, "DEL", "k")
        _call(mini.port, *command)
        seeds.append(_bulk(_call(mini.port, "DUMP", "k")))
    seeds.append(_bulk(_call(mini.port, "DUMP", "k")))
    rng = random.Random(1234)
    conn = RawConnection(mini.port)
    conn.call("SELECT", "9")
    try:
        for payload in _mutations(rng, seeds):
            reply = conn.call("RESTORE", "fuzz", "0", payload, "REPLACE")
            assert reply == b"+OK\r\n" or reply in (
                b"-ERR Bad data format\r\n",
                b"-ERR DUMP payload version or checksum are wrong\r\n"), reply
            if reply == b"+OK\r\n":
                assert conn.call("TYPE", "fuzz")[:1] == b"+"
                assert conn.call("DUMP", "fuzz")[:1] == b"$"
        assert conn.call("PING") == b"+PONG\r\n"
    finally:
        conn.close()


# -- property: random small collections DUMP to Redis's exact bytes -----------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ELEMENT = st.one_of(
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(str),
    st.sampled_from(["", "0", "-0", "007", "+1", "1e3", "abc", "a" * 30, "ab" * 40]),
    st.text(alphabet="abcxyz019-", min_size=0, max_size=70))
_SCORE = st.one_of(st.integers(-(2 ** 53), 2 ** 53).map(str),
                   st.floats(allow_nan=False).map(repr),
                   st.sampled_from(["0.1", "-0", "1e300", "+inf", "-inf", "3.14159"]))


def _collection_commands(draw_kind, elements, scores):
    if draw_kind == "list":
        return [["RPUSH", "k"] + elements]
    if draw_kind == "set":
        return [["SADD", "k"] + elements]
    if draw_kind == "hash":
        pairs = []
        for i, element in enumerate(elements):
            pairs += [element, elements[-1 - i]]
        return [["HSET", "k"] + pairs]
    pairs = []
    for element, score in zip(elements, scores):
        pairs += [score, element]
    return [["ZADD", "k"] + pairs]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["list", "set", "hash", "zset"]),
       elements=st.lists(_ELEMENT, min_size=1, max_size=20),
       scores=st.lists(_SCORE, min_size=20, max_size=20))
def test_random_collections_dump_as_redis(differ, kind, elements, scores):
    setup = _collection_commands(kind, elements, scores)
    hashtable = (kind == "set" and not all(_is_int(e) for e in elements)
                 or kind == "hash" and any(len(e) > 64 for e in elements))
    if hashtable and len(set(elements)) > 1:
        setup = setup + [["SCARD" if kind == "set" else "HLEN", "k"]]   # Redis's own order
        differ.check(*setup, protocols=(2,))
        return
    differ.check(*setup, "DUMP k", protocols=(2,))


def _is_int(text: str) -> bool:
    try:
        return str(int(text)) == text and -(2 ** 63) <= int(text) < 2 ** 63
    except ValueError:
        return False
