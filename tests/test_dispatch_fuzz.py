"""Random pipelines, sent in one write to redis-server and to miniredis.

The state machines (tests/test_state_machine*.py) send one command per read, so they
never reach the dispatcher's fast paths: a run of one command in a read
(miniredis/runs.py), the commonest commands' own loops, and a window of identical
requests at one key (commands.one_key_run_end) -- which exist only for pipelines.
Here every example is a pipeline of *runs*: a command repeated at one key or across
keys, with one value or a few, broken by errors (wrong type, bad arity, non-numeric
arguments), other spellings and other commands, MULTI and EXEC, and, for half the
examples, keyspace notifications switched on (several own loops leave a run to the
handlers then) and, for half, maxmemory-policy allkeys-lfu counting every access
exactly (OBJECT FREQ compared). The keys are given values first, in reads of their own (an own loop
starts only at a key that exists, with its type), and a pipeline's runs come mostly
from one family of commands (counters, lists...) so that they meet at one key. Runs
of up to 20 requests at one key with one value make windows of 16 identical ones
(GET, SADD, ZADD1, HSET1: commands.identical_window). Both
servers must answer every request with the same bytes, in RESP2 and RESP3, and hold
the same keys afterwards: type, encoding, TTL and contents.

``MINIREDIS_HYPOTHESIS_EXAMPLES`` sets how many pipelines each protocol gets.
"""
from __future__ import annotations

import os
from typing import Any, Callable, List, Sequence, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import RawConnection, canonical_unordered, encode_command, parse_raw

KEYS = [b"k1", b"k2", b"k3", b"n"]
VALUES = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"007", b"3.5", b"abc", b"x" * 70,
                     b"9223372036854775807", b"-9223372036854775808", b"1e3", b" 1"]),
    st.binary(max_size=8),
)
SCORES = st.sampled_from([b"0", b"1", b"7", b"42", b"1.5", b"-2", b"nan", b"+inf", b"abc",
                          b"1e3", b"007", b"99999999999999999999"])
IDS = st.sampled_from([b"1-1", b"1-2", b"2-0", b"0-1", b"5", b"bad", b"3-*"])

# A template makes request number ``i`` of a run from its key and one of its values.
Template = Callable[[bytes, bytes, int], List[bytes]]
TEMPLATES: List[Tuple[str, Template]] = [
    ("GET", lambda k, v, i: [b"GET", k]),
    ("get", lambda k, v, i: [b"get", k]),
    ("GET+", lambda k, v, i: [b"GET", k, v]),                  # wrong arity
    ("SET", lambda k, v, i: [b"SET", k, v]),
    ("SET-", lambda k, v, i: [b"SET", k]),                     # wrong arity
    ("SETEX", lambda k, v, i: [b"SET", k, v, b"EX", b"100"]),
    ("SETPX", lambda k, v, i: [b"SET", k, v, b"px", b"%d" % (100000 + i)]),
    ("MSET", lambda k, v, i: [b"MSET", k, v, b"k3", b"%d" % i]),
    ("MSET-", lambda k, v, i: [b"MSET", k]),
    ("MSET1", lambda k, v, i: [b"MSET", k, v, k, b"%d" % i]),      # one key throughout
    ("INCR", lambda k, v, i: [b"INCR", k]),
    ("DECR", lambda k, v, i: [b"DECR", k]),
    ("INCRBY", lambda k, v, i: [b"INCRBY", k, v]),
    ("APPEND", lambda k, v, i: [b"APPEND", k, v]),
    ("LPUSH", lambda k, v, i: [b"LPUSH", k, v]),
    ("RPUSH", lambda k, v, i: [b"RPUSH", k, v]),
    ("RPUSH2", lambda k, v, i: [b"RPUSH", k, v, b"%d" % i]),
    ("LPOP", lambda k, v, i: [b"LPOP", k]),
    ("RPOP", lambda k, v, i: [b"RPOP", k]),
    ("RPOPn", lambda k, v, i: [b"RPOP", k, b"2"]),
    ("LRANGE", lambda k, v, i: [b"LRANGE", k, b"0", b"-1"]),
    ("LRANGE2", lambda k, v, i: [b"LRANGE", k, b"-2", b"%d" % i]),
    ("SADD", lambda k, v, i: [b"SADD", k, v]),
    ("SADD2", lambda k, v, i: [b"SADD", k, v, b"%d" % i]),
    ("HSET", lambda k, v, i: [b"HSET", k, b"f%d" % (i % 3), v]),
    ("HSET-", lambda k, v, i: [b"HSET", k, v]),
    ("HSET1", lambda k, v, i: [b"HSET", k, b"f", v]),          # windows of one HSET
    ("ZADD", lambda k, v, i: [b"ZADD", k, b"%d" % (i % 5), v]),
    ("ZADDs", lambda k, v, i: [b"ZADD", k, v, b"m%d" % (i % 3)]),
    ("ZADDnx", lambda k, v, i: [b"ZADD", k, b"NX", b"%d" % i, v]),
    ("ZADD1", lambda k, v, i: [b"ZADD", k, b"1", v]),          # windows of one ZADD
    ("XADD", lambda k, v, i: [b"XADD", k, v, b"f", b"%d" % i]),
    ("PING", lambda k, v, i: [b"PING"]),
    ("PINGv", lambda k, v, i: [b"PING", v]),
    ("ECHO", lambda k, v, i: [b"ECHO", v]),
    ("EXISTS", lambda k, v, i: [b"EXISTS", k]),
    ("DEL", lambda k, v, i: [b"DEL", k]),
    ("EXPIRE", lambda k, v, i: [b"EXPIRE", k, b"100"]),
    ("PERSIST", lambda k, v, i: [b"PERSIST", k]),
    ("TYPE", lambda k, v, i: [b"TYPE", k]),
    ("MULTI", lambda k, v, i: [b"MULTI"]),
    ("EXEC", lambda k, v, i: [b"EXEC"]),
    ("DISCARD", lambda k, v, i: [b"DISCARD"]),
    ("NOSUCH", lambda k, v, i: [b"NOSUCH", k]),
    # Commands without an own loop go through the dispatcher's short loop (runs.py).
    ("STRLEN", lambda k, v, i: [b"STRLEN", k]),
    ("GETDEL", lambda k, v, i: [b"GETDEL", k]),
    ("INCRBYFLOAT", lambda k, v, i: [b"INCRBYFLOAT", k, v]),
    ("SETBIT", lambda k, v, i: [b"SETBIT", k, b"%d" % (i * 3), b"1"]),
    ("GETBIT", lambda k, v, i: [b"GETBIT", k, b"%d" % i]),
    ("PFADD", lambda k, v, i: [b"PFADD", k, v]),
    ("LLEN", lambda k, v, i: [b"LLEN", k]),
    ("LINDEX", lambda k, v, i: [b"LINDEX", k, b"%d" % (i - 2)]),
    ("SISMEMBER", lambda k, v, i: [b"SISMEMBER", k, v]),
    ("SREM", lambda k, v, i: [b"SREM", k, v]),
    ("HGET", lambda k, v, i: [b"HGET", k, b"f%d" % (i % 3)]),
    ("HINCRBY", lambda k, v, i: [b"HINCRBY", k, b"f%d" % (i % 2), v]),
    ("ZSCORE", lambda k, v, i: [b"ZSCORE", k, v]),
    ("ZINCRBY", lambda k, v, i: [b"ZINCRBY", k, b"%d" % i, v]),
    ("ZREM", lambda k, v, i: [b"ZREM", k, v]),
    ("UNLINK", lambda k, v, i: [b"UNLINK", k]),
    ("TOUCH", lambda k, v, i: [b"TOUCH", k]),
    # One-key reads (commands/reads.py).
    ("TTL", lambda k, v, i: [b"TTL", k]),
    ("SCARD", lambda k, v, i: [b"SCARD", k]),
    ("HLEN", lambda k, v, i: [b"HLEN", k]),
    ("HEXISTS", lambda k, v, i: [b"HEXISTS", k, b"f%d" % (i % 3)]),
    ("HSTRLEN", lambda k, v, i: [b"HSTRLEN", k, b"f%d" % (i % 3)]),
    ("ZCARD", lambda k, v, i: [b"ZCARD", k]),
    ("ZRANK", lambda k, v, i: [b"ZRANK", k, v]),
]


# Runs mostly from one family per pipeline, so that runs meet at one key: a counter
# run next to another counter command, pushes next to pops (a run's own loop decides
# where it ends by name, key and arity).
FAMILIES = {
    "counter": ["INCR", "DECR", "INCRBY", "GET", "SET", "APPEND", "TYPE", "INCRBYFLOAT"],
    "strings": ["GET", "get", "GET+", "SET", "SET-", "SETEX", "SETPX", "MSET", "MSET-",
                "MSET1", "APPEND", "EXISTS", "DEL", "STRLEN", "GETDEL", "SETBIT", "GETBIT",
                "PFADD", "TTL"],
    "list": ["LPUSH", "RPUSH", "RPUSH2", "LPOP", "RPOP", "RPOPn", "LRANGE", "LRANGE2",
             "LLEN", "LINDEX"],
    "set": ["SADD", "SADD2", "TYPE", "DEL", "SISMEMBER", "SREM", "SCARD"],
    "hash": ["HSET", "HSET-", "HSET1", "TYPE", "DEL", "HGET", "HINCRBY", "HLEN", "HEXISTS", "HSTRLEN"],
    "zset": ["ZADD", "ZADDs", "ZADDnx", "ZADD1", "TYPE", "ZSCORE", "ZINCRBY", "ZREM", "ZCARD",
             "ZRANK"],
    "stream": ["XADD", "TYPE", "UNLINK"],
    "other": ["PING", "PINGv", "ECHO", "EXPIRE", "PERSIST", "MULTI", "EXEC", "DISCARD",
              "NOSUCH", "TOUCH", "UNLINK", "TTL"],
}
_INDEX = {name: i for i, (name, _) in enumerate(TEMPLATES)}
NUMBERS = st.sampled_from([b"0", b"1", b"-3", b"10", b"007", b"9223372036854775806",
                           b"-9223372036854775807", b"abc", b"1.5"])
# What each key holds before the pipeline (sent in reads of their own): own loops start
# only at a key that exists and has their type.
SETUPS = st.sampled_from([
    [], [[b"SET", b"@", b"5"]], [[b"SET", b"@", b"abc"]], [[b"SET", b"@", b"-1"]],
    [[b"SET", b"@", b"9223372036854775806"]], [[b"RPUSH", b"@", b"a", b"b", b"c"]],
    [[b"HSET", b"@", b"f", b"v"]], [[b"SADD", b"@", b"1", b"2"]],
    [[b"SADD", b"@", b"a"]], [[b"ZADD", b"@", b"1", b"a", b"2", b"b"]],
    [[b"XADD", b"@", b"1-1", b"f", b"v"]], [[b"SET", b"@", b"7"], [b"EXPIRE", b"@", b"100"]],
])


def _values_for(name: str) -> Any:
    if name.startswith("ZADDs"):
        return SCORES
    if name == "XADD":
        return IDS
    if name in ("INCRBY", "SET", "APPEND", "INCRBYFLOAT", "HINCRBY"):
        return st.one_of(NUMBERS, VALUES)
    return VALUES


def _run(index: int) -> Any:
    """A strategy for one run of TEMPLATES[index]: (template, key(s), values, count)."""
    name, _ = TEMPLATES[index]
    # (half the runs repeat one request: 16 or more of them make a window of
    # identical requests, which several own loops answer together)
    window = st.tuples(st.just(index), st.sampled_from(KEYS).map(lambda k: [k]),
                       st.lists(_values_for(name), min_size=1, max_size=1),
                       st.sampled_from([2, 15, 16, 17, 33]))
    return st.one_of(window, st.tuples(
        st.just(index),
        st.one_of(st.sampled_from(KEYS).map(lambda k: [k]),
                  st.lists(st.sampled_from(KEYS), min_size=2, max_size=3)),
        st.lists(_values_for(name), min_size=1, max_size=3),
        st.integers(1, 20)))


def _runs(family: str) -> Any:
    own = st.sampled_from([_INDEX[name] for name in FAMILIES[family]])
    index = st.one_of(own, own, own, st.integers(0, len(TEMPLATES) - 1))
    return st.lists(index.flatmap(_run), min_size=1, max_size=8)


RUNS = st.sampled_from(sorted(FAMILIES)).flatmap(_runs)


def _expand(runs: Sequence[Tuple[int, List[bytes], List[bytes], int]]) -> List[List[bytes]]:
    """The pipeline: every run's requests in order (keys and values taken in turn)."""
    pipeline = []
    for index, keys, values, count in runs:
        template = TEMPLATES[index][1]
        for i in range(count):
            pipeline.append(template(keys[i % len(keys)], values[i % len(values)], i))
    return pipeline


def _pipeline(conn: RawConnection, commands: List[List[bytes]]) -> List[bytes]:
    conn.send_raw(b"".join(encode_command(c) for c in commands))
    return [conn.read_raw() for _ in commands]


def _state(conn: RawConnection, lfu: bool) -> List[Any]:
    """What the keys hold: under ``lfu`` first their access counts (OBJECT FREQ, read
    before anything that counts as an access), then type, encoding, TTL (within a
    second) and contents (sets and hashes in a canonical order: a hash table's is
    Redis's own)."""
    state: List[Any] = []
    if lfu:
        state.append([conn.call(b"OBJECT", b"FREQ", key) for key in KEYS])
    for key in KEYS:
        kind = conn.call(b"TYPE", key)
        entry: List[Any] = [key, kind, conn.call(b"OBJECT", b"ENCODING", key)]
        ttl = int(conn.call(b"TTL", key)[1:-2])
        entry.append(ttl if ttl < 0 else min(ttl, 99))
        if kind == b"+string\r\n":
            entry.append(conn.call(b"GET", key))
        elif kind == b"+list\r\n":
            entry.append(conn.call(b"LRANGE", key, b"0", b"-1"))
        elif kind == b"+set\r\n":
            entry.append(canonical_unordered(conn.call(b"SMEMBERS", key)))
        elif kind == b"+hash\r\n":
            kind, items = parse_raw(conn.call(b"HGETALL", key))
            if kind == b"*":    # (RESP3's map comes sorted)
                items = tuple(sorted(zip(items[::2], items[1::2]), key=repr))
            entry.append(items)
        elif kind == b"+zset\r\n":
            entry.append(conn.call(b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"))
        elif kind == b"+stream\r\n":
            entry.append(conn.call(b"XRANGE", key, b"-", b"+"))
        state.append(entry)
    return state


def _connect(port: int, protocol: int) -> RawConnection:
    conn = RawConnection(port)
    if protocol == 3:
        conn.call(b"HELLO", b"3")
    conn.call(b"SELECT", b"9")
    return conn


@pytest.mark.parametrize("protocol", [2, 3])
def test_random_pipelines_as_redis(differ, protocol):
    ports = (differ.ports["redis"], differ.ports["miniredis"])
    conns = [_connect(port, protocol) for port in ports]
    examples = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "150"))

    @settings(max_examples=examples, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(setups=st.lists(SETUPS, min_size=len(KEYS), max_size=len(KEYS)), runs=RUNS,
           events=st.booleans(), lfu=st.booleans())
    def check(setups, runs, events, lfu):
        pipeline = _expand(runs)
        replies = []
        states = []
        for conn in conns:
            # LFU with a log factor of 0 and no decay counts every access exactly (an
            # own loop applying a run together must count each request). A maxmemory
            # far above what the keys use: while it is 0, Redis shares the integers
            # 0..9999 and their LFU field (a known difference: README, "Redis's own
            # test suite").
            assert conn.call(b"CONFIG", b"SET", b"maxmemory", b"1gb" if lfu else b"0",
                             b"maxmemory-policy", b"allkeys-lfu" if lfu else b"noeviction") \
                == b"+OK\r\n"
            conn.call(b"FLUSHALL")
            for key, setup in zip(KEYS, setups):
                for command in setup:
                    conn.call(*[key if arg == b"@" else arg for arg in command])
            assert conn.call(b"CONFIG", b"SET", b"notify-keyspace-events",
                             b"KEA" if events else b"") == b"+OK\r\n"
            replies.append(_pipeline(conn, pipeline))
            conn.call(b"DISCARD")   # (a MULTI the pipeline left open)
            states.append(_state(conn, lfu))
        for i, (want, got) in enumerate(zip(*replies)):
            assert got == want, "reply #%d to %r differs (events %s):\n  redis:     %r\n" \
                "  miniredis: %r\nsetups: %r\npipeline: %r" % (i, pipeline[i], events, want, got,
                                                    setups, pipeline)
        assert states[1] == states[0], "state differs (events %s) after %r" % (events, pipeline)

    for conn in conns:
        assert conn.call(b"CONFIG", b"SET", b"lfu-log-factor", b"0",
                         b"lfu-decay-time", b"0") == b"+OK\r\n"
    try:
        check()
    finally:
        for conn in conns:
            conn.call(b"CONFIG", b"SET", b"notify-keyspace-events", b"", b"maxmemory", b"0",
                      b"maxmemory-policy", b"noeviction", b"lfu-log-factor", b"10",
                      b"lfu-decay-time", b"1")
            conn.close()
