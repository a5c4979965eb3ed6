"""Hypothesis state machine: random key, string and expiry commands, differentially.

Every step sends one random command to a real redis-server and to miniredis (each on
its own long-lived raw connection) and requires the same raw reply. The key space is
small so commands collide: they overwrite, rename, expire and type-clash with each
other, which is where hand-written cases run out.

Time-dependent replies are compared with a tolerance (PTTL) or avoided (TTLs are
either far in the future or already past), so the comparison never depends on how
fast one server answered.

Later issues extend ``COMMANDS`` below with their types; every entry is a strategy
producing one argument vector.

Hashes and sets share the key space with strings and lists, so WRONGTYPE errors and
"the last field/member removed deletes the key" (EXISTS, TYPE) are exercised by the same
random sequences. Their replies are compared byte for byte where Redis's order is
determined (a listpack hash lists fields in insertion order, an intset its members in
ascending order) and as multisets only where the real server holds the value as a hash
table; replies of random commands are compared by shape.
"""
from __future__ import annotations

import os
from typing import List

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, \
    run_state_machine_as_test

from tests.harness import RawConnection, canonical_unordered, encode_command, parse_raw

_KEY_NAMES = (b"k1", b"k2", b"k3", b"{k}4", b"counter")
KEYS = st.sampled_from(_KEY_NAMES)
VALUES = st.one_of(
    st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"3.5", b"abc", b"9223372036854775807",
                     b"-9223372036854775808", b"1e3", b" 1", b"007", b"\x00\xff"]),
    st.binary(max_size=12),
)
INTS = st.one_of(st.integers(-20, 20),
                 st.sampled_from([9223372036854775807, -9223372036854775808,
                                  2 ** 63, 4294967296]))
OFFSETS = st.integers(-10, 40)
BITS = st.integers(-1, 100)
# TTLs: already past (deletes), or far away (never reached during a run).
SECONDS = st.one_of(st.integers(-5, 0), st.integers(1000, 100000))


def _arg(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def cmd(*parts: st.SearchStrategy) -> st.SearchStrategy:
    """A strategy for one command: fixed words (bytes) and strategies, in order."""
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p)
                       for p in parts]).map(lambda t: [_arg(x) for x in t])


EXPIRE_FLAG = st.sampled_from([[], [b"NX"], [b"XX"], [b"GT"], [b"LT"]])
SET_OPTIONS = st.lists(st.sampled_from([b"NX", b"XX", b"GET", b"KEEPTTL"]),
                       max_size=2, unique=True)

COMMANDS = {
    # strings
    "set": st.tuples(KEYS, VALUES, SET_OPTIONS).map(lambda t: [b"SET", t[0], t[1], *t[2]]),
    "set_ex": cmd(b"SET", KEYS, VALUES, b"EX", SECONDS),
    "get": cmd(b"GET", KEYS),
    "getdel": cmd(b"GETDEL", KEYS),
    "getset": cmd(b"GETSET", KEYS, VALUES),
    "getex": st.tuples(KEYS, st.sampled_from([[], [b"PERSIST"], [b"EX", b"5000"]]))
             .map(lambda t: [b"GETEX", t[0], *t[1]]),
    "setnx": cmd(b"SETNX", KEYS, VALUES),
    "setex": cmd(b"SETEX", KEYS, SECONDS, VALUES),
    "mset": st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=3)
            .map(lambda pairs: [b"MSET"] + [x for p in pairs for x in p]),
    "msetnx": st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=3)
              .map(lambda pairs: [b"MSETNX"] + [x for p in pairs for x in p]),
    "mget": st.lists(KEYS, min_size=1, max_size=4).map(lambda ks: [b"MGET"] + ks),
    "append": cmd(b"APPEND", KEYS, VALUES),
    "strlen": cmd(b"STRLEN", KEYS),
    "getrange": cmd(b"GETRANGE", KEYS, OFFSETS, OFFSETS),
    "setrange": cmd(b"SETRANGE", KEYS, st.integers(0, 30), VALUES),
    "incr": cmd(b"INCR", KEYS),
    "decr": cmd(b"DECR", KEYS),
    "incrby": cmd(b"INCRBY", KEYS, INTS),
    "decrby": cmd(b"DECRBY", KEYS, INTS),
    "incrbyfloat": cmd(b"INCRBYFLOAT", KEYS, st.sampled_from(
        [b"1", b"-1.5", b"0.1", b"1e3", b"abc", b"inf", b"3.0e-2", b"10.50"])),
    "setbit": cmd(b"SETBIT", KEYS, BITS, st.sampled_from([b"0", b"1", b"2"])),
    "getbit": cmd(b"GETBIT", KEYS, BITS),
    # Every type's encoding after every kind of write (INCRBYFLOAT's embstr, APPEND's
    # raw, the listpack and intset conversions...), and the shared integers' refcount
    # (COPY's private ones).
    "encoding": cmd(b"OBJECT", b"ENCODING", KEYS),
    "refcount": cmd(b"OBJECT", b"REFCOUNT", KEYS),
    # Accesses as Redis counts them (one per lookup), where a machine runs under LFU
    # (``DifferentialMachine.lfu``); else Redis's error.
    "freq": cmd(b"OBJECT", b"FREQ", KEYS),
    "bitcount": st.tuples(KEYS, st.sampled_from([[], [b"0", b"-1"], [b"1", b"3", b"BIT"]]))
                .map(lambda t: [b"BITCOUNT", t[0], *t[1]]),
    # keys
    "del": st.lists(KEYS, min_size=1, max_size=3).map(lambda ks: [b"DEL"] + ks),
    "exists": st.lists(KEYS, min_size=1, max_size=3).map(lambda ks: [b"EXISTS"] + ks),
    "type": cmd(b"TYPE", KEYS),
    "rename": cmd(b"RENAME", KEYS, KEYS),
    "renamenx": cmd(b"RENAMENX", KEYS, KEYS),
    "copy": st.tuples(KEYS, KEYS, st.sampled_from([[], [b"REPLACE"]]))
            .map(lambda t: [b"COPY", t[0], t[1], *t[2]]),
    "keys": cmd(b"KEYS", st.sampled_from([b"*", b"k*", b"k?", b"{*", b"[ck]*"])),
    "dbsize": st.just([b"DBSIZE"]),
    "touch": st.lists(KEYS, min_size=1, max_size=3).map(lambda ks: [b"TOUCH"] + ks),
    # expiry
    "expire": st.tuples(st.sampled_from([b"EXPIRE", b"PEXPIRE"]), KEYS, SECONDS,
                        EXPIRE_FLAG).map(lambda t: [t[0], t[1], _arg(t[2]), *t[3]]),
    "persist": cmd(b"PERSIST", KEYS),
    "ttl": cmd(b"TTL", KEYS),
    "pttl": cmd(b"PTTL", KEYS),
}

# -- hashes, sets, and lists for type clashes ---------------------------------------------
FIELDS = st.sampled_from([b"f1", b"f2", b"f3", b"", b"10", b"-1"])
MEMBERS = st.sampled_from([b"1", b"2", b"3", b"-5", b"10", b"a", b"b", b"", b"007",
                           b"9223372036854775808"])


def _varargs(name: bytes, item: st.SearchStrategy, max_size: int = 3) -> st.SearchStrategy:
    """NAME key item [item ...]."""
    return st.tuples(KEYS, st.lists(item, min_size=1, max_size=max_size)).map(
        lambda t: [name, t[0], *t[1]])


def _keys_command(name: bytes, first: tuple = ()) -> st.SearchStrategy:
    """NAME [fixed...] key [key ...] (1 to 3 keys)."""
    return st.lists(KEYS, min_size=1, max_size=3).map(lambda ks: [name, *first, *ks])


def _optional(*choices: list) -> st.SearchStrategy:
    return st.sampled_from([list(c) for c in choices])


AGGREGATE_COMMANDS = {
    # hashes
    "hset": st.tuples(KEYS, st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=3))
            .map(lambda t: [b"HSET", t[0]] + [x for pair in t[1] for x in pair]),
    "hsetnx": cmd(b"HSETNX", KEYS, FIELDS, VALUES),
    "hget": cmd(b"HGET", KEYS, FIELDS),
    "hmget": _varargs(b"HMGET", FIELDS),
    "hdel": _varargs(b"HDEL", FIELDS),
    "hexists": cmd(b"HEXISTS", KEYS, FIELDS),
    "hlen": cmd(b"HLEN", KEYS),
    "hstrlen": cmd(b"HSTRLEN", KEYS, FIELDS),
    "hkeys": cmd(b"HKEYS", KEYS),
    "hvals": cmd(b"HVALS", KEYS),
    "hgetall": cmd(b"HGETALL", KEYS),
    "hincrby": cmd(b"HINCRBY", KEYS, FIELDS, INTS),
    "hincrbyfloat": cmd(b"HINCRBYFLOAT", KEYS, FIELDS, st.sampled_from(
        [b"1", b"-1.5", b"0.1", b"1e3", b"abc", b"inf", b"3.0e-2"])),
    "hrandfield": st.tuples(KEYS, st.sampled_from(
        [[], [b"100"], [b"100", b"WITHVALUES"], [b"-3"], [b"-3", b"WITHVALUES"], [b"0"],
         [b"x"], [b"1", b"foo"]])).map(lambda t: [b"HRANDFIELD", t[0], *t[1]]),
    "hscan": st.tuples(KEYS, _optional([], [b"MATCH", b"f*"], [b"COUNT", b"1"],
                                       [b"COUNT", b"0"])).map(
        lambda t: [b"HSCAN", t[0], b"0", *t[1]]),
    # sets
    "sadd": _varargs(b"SADD", MEMBERS),
    "srem": _varargs(b"SREM", MEMBERS),
    "scard": cmd(b"SCARD", KEYS),
    "sismember": cmd(b"SISMEMBER", KEYS, MEMBERS),
    "smismember": _varargs(b"SMISMEMBER", MEMBERS),
    "smembers": cmd(b"SMEMBERS", KEYS),
    "spop": st.tuples(KEYS, _optional([b"1000"], [b"0"], [b"-1"])).map(
        lambda t: [b"SPOP", t[0], *t[1]]),
    "srandmember": st.tuples(KEYS, _optional([], [b"1000"], [b"-3"], [b"0"])).map(
        lambda t: [b"SRANDMEMBER", t[0], *t[1]]),
    "smove": cmd(b"SMOVE", KEYS, KEYS, MEMBERS),
    "sinter": _keys_command(b"SINTER"),
    "sunion": _keys_command(b"SUNION"),
    "sdiff": _keys_command(b"SDIFF"),
    "sinterstore": st.tuples(KEYS, _keys_command(b"SINTERSTORE")).map(
        lambda t: [t[1][0], t[0], *t[1][1:]]),
    "sunionstore": st.tuples(KEYS, _keys_command(b"SUNIONSTORE")).map(
        lambda t: [t[1][0], t[0], *t[1][1:]]),
    "sdiffstore": st.tuples(KEYS, _keys_command(b"SDIFFSTORE")).map(
        lambda t: [t[1][0], t[0], *t[1][1:]]),
    "sintercard": st.tuples(st.lists(KEYS, min_size=1, max_size=3),
                            _optional([], [b"LIMIT", b"1"], [b"LIMIT", b"0"])).map(
        lambda t: [b"SINTERCARD", b"%d" % len(t[0]), *t[0], *t[1]]),
    "sscan": st.tuples(KEYS, _optional([], [b"MATCH", b"1*"], [b"COUNT", b"1"])).map(
        lambda t: [b"SSCAN", t[0], b"0", *t[1]]),
    # lists, for type clashes with the aggregates above
    "rpush": _varargs(b"RPUSH", MEMBERS),
    "lpop": cmd(b"LPOP", KEYS),
    "lrange": cmd(b"LRANGE", KEYS, b"0", b"-1"),
}
COMMANDS.update(AGGREGATE_COMMANDS)

# Replies whose order Redis leaves unspecified when the value is a hash table (a
# listpack hash or an intset has a fixed order): command -> how to compare then.
_ORDER_FREE = {
    b"HKEYS": "flat", b"HVALS": "flat", b"HGETALL": "pairs", b"HSCAN": "scan-pairs",
    b"HRANDFIELD": "random", b"SMEMBERS": "flat", b"SINTER": "flat", b"SUNION": "flat",
    b"SDIFF": "flat", b"SPOP": "flat", b"SRANDMEMBER": "random", b"SSCAN": "scan",
}
# Random replies with a count below zero (repetitions allowed) or no count: only the
# type and the number of elements are determined.
_RANDOM_SHAPE = {b"HRANDFIELD", b"SRANDMEMBER"}

_ZERO_ONE = {b":0\r\n", b":1\r\n"}

# Replies that are a number of milliseconds still to live: compared within a margin.
_TOLERANT = {b"PTTL"}
_MARGIN_MS = 2000


def _same(name: bytes, want: bytes, got: bytes) -> bool:
    if want == got:
        return True
    if name in _TOLERANT and want[:1] == got[:1] == b":":
        a, b = int(want[1:-2]), int(got[1:-2])
        return a > 0 and b > 0 and abs(a - b) <= _MARGIN_MS
    return False


def _shape(raw: bytes) -> object:
    """A random reply's type and element count (a bulk's value is not determined)."""
    kind, body = parse_raw(raw)
    return kind, len(body) if isinstance(body, tuple) and kind != b"$" else None


def _canonical(how: str, raw: bytes) -> object:
    """An order-free reply in a canonical order (``how``: see _ORDER_FREE)."""
    kind, body = parse_raw(raw)
    if not isinstance(body, tuple):
        return kind, body
    if how in ("flat", "random"):
        return kind, tuple(sorted(body, key=repr))
    if how == "pairs":      # a RESP2 flat field/value array (RESP3 maps parse sorted)
        if kind == b"%":
            return kind, body
        return kind, tuple(sorted(zip(body[::2], body[1::2]), key=repr))
    cursor, (inner_kind, items) = body
    if how == "scan-pairs":
        items = tuple(sorted(zip(items[::2], items[1::2]), key=repr))
    return kind, (cursor, (inner_kind, tuple(sorted(items, key=repr))))


def _full_scan(conn: RawConnection, args: List[bytes], first: bytes) -> object:
    """Everything a scan begun with reply ``first`` returns once continued to its end
    (as a set: a hash-table scan may return an element twice); HSCAN as pairs."""
    found = set()
    raw = first
    while True:
        kind, body = parse_raw(raw)
        if kind == b"-":
            return kind, body
        (_, cursor), (_, items) = body
        values = [item[1] for item in items]
        if args[0].upper() == b"HSCAN":
            found.update(zip(values[::2], values[1::2]))
        else:
            found.update(values)
        if cursor == b"0":
            return frozenset(found)
        raw = conn.call(args[0], args[1], cursor, *args[3:])


LFU_SETTINGS = ("maxmemory", "1gb", "maxmemory-policy", "allkeys-lfu", "lfu-log-factor", "0",
                "lfu-decay-time", "0")
DEFAULT_SETTINGS = ("maxmemory", "0", "maxmemory-policy", "noeviction", "lfu-log-factor",
                    "10", "lfu-decay-time", "1")


def run_machine(machine: type, differ: object, protocol: int, examples: int,
                steps: int = 40) -> None:
    """Run ``machine`` (a DifferentialMachine) against the session servers in RESP
    ``protocol``, under RESP3 with the LFU settings (``lfu``), restored afterwards (the
    servers serve other tests next); MINIREDIS_HYPOTHESIS_EXAMPLES overrides
    ``examples``."""
    machine.ports = (differ.ports["redis"], differ.ports["miniredis"])  # type: ignore
    machine.protocol = protocol     # type: ignore[attr-defined]
    machine.lfu = protocol == 3     # type: ignore[attr-defined]
    examples = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", str(examples)))
    try:
        run_state_machine_as_test(machine, settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None,
            suppress_health_check=list(HealthCheck)))
    finally:
        for port in machine.ports:  # type: ignore[attr-defined]
            conn = RawConnection(port)
            try:
                conn.call("CONFIG", "SET", *DEFAULT_SETTINGS)
            finally:
                conn.close()


class DifferentialMachine(RuleBasedStateMachine):
    """One pair of connections; each rule runs a random command on both servers."""

    ports: tuple = ()
    protocol = 2
    # allkeys-lfu counting every access exactly (log factor 0, no decay), with a
    # maxmemory far above the keys' use: while it is 0 Redis shares the integers
    # 0..9999 and their LFU field (a known difference, README).
    lfu = False

    def __init__(self) -> None:
        super().__init__()
        real_port, mini_port = self.ports
        self.real = RawConnection(real_port)
        self.mini = RawConnection(mini_port)
        self.history: List[List[bytes]] = []
        # Keys whose access counts are no longer compared (lfu): this test read them
        # more often on one server than on the other.
        self.tainted: set = set()

    def both(self, args: List[bytes]) -> bytes:
        """Run ``args`` on both servers, compare the replies, return Redis's."""
        self.history.append(args)
        name = args[0].upper()
        if self.lfu and name == b"OBJECT" and len(args) == 3 and \
                args[1].upper() == b"FREQ" and args[2] in self.tainted:
            self.mini.call(*args)       # (a count this run no longer compares)
            return self.real.call(*args)
        hashtable = False
        if name in _ORDER_FREE:
            # Does the real server hold one of the keys as a hash table (order free)?
            for key in args[1:] if name in (b"SINTER", b"SUNION", b"SDIFF") else args[1:2]:
                hashtable |= self.real.call(b"OBJECT", b"ENCODING", key) == \
                    b"$9\r\nhashtable\r\n"
        want = self.real.call(*args)
        got = self.mini.call(*args)
        raw = want
        if name == b"KEYS":
            want, got = canonical_unordered(want), canonical_unordered(got)
            assert want == got, self._report(args, want, got)
            return raw
        if want != got and name in _RANDOM_SHAPE and (len(args) == 2 or args[2][:1] == b"-"):
            want, got = _shape(want), _shape(got)
        elif want != got and name in (b"SSCAN", b"HSCAN") and hashtable:
            # How much one call of a hash-table scan returns, and its cursor, are not
            # determined: finish both scans and compare what they returned in all.
            want, got = _full_scan(self.real, args, want), _full_scan(self.mini, args, got)
            self.tainted.add(args[1])   # (each server scanned as often as it took)
        elif want != got and name in _ORDER_FREE and hashtable:
            want, got = _canonical(_ORDER_FREE[name], want), _canonical(_ORDER_FREE[name], got)
        if want != got and name in (b"EXPIRE", b"PEXPIRE") and {want, got} == _ZERO_ONE \
                and {b"GT", b"LT"} & {arg.upper() for arg in args[3:]}:
            # The same TTL again with GT or LT: whether the new deadline is later than
            # the old depends on whether a millisecond went by in between (on each server).
            want = got
        assert _same(name, want, got), self._report(args, want, got)
        if self.lfu and self.tainted.intersection(args[1:]):
            # A key this test scanned unequally shares its count with the others a
            # command names (RENAME, COPY... carry it): not compared in this run.
            self.tainted.update(args[1:])
        elif self.lfu and len(args) > 1 and args[1] in _KEY_NAMES \
                and args[1] not in self.tainted:
            # How many accesses the command counted (OBJECT FREQ itself counts none).
            self.history.append([b"OBJECT", b"FREQ", args[1]])
            want = self.real.call(b"OBJECT", b"FREQ", args[1])
            got = self.mini.call(b"OBJECT", b"FREQ", args[1])
            assert want == got, self._report(self.history[-1], want, got)
        return raw

    def _report(self, args: List[bytes], want: object, got: object) -> str:
        return ("replies differ for %r\n  redis:     %r\n  miniredis: %r\n  after: %r"
                % (args, want, got, self.history[-15:-1]))

    @initialize()
    def fresh(self) -> None:
        for conn in (self.real, self.mini):
            if self.protocol == 3:
                conn.call("HELLO", "3")
            conn.call("SELECT", "9")
            conn.call("FLUSHDB")
            if self.lfu:
                conn.call("CONFIG", "SET", *LFU_SETTINGS)

    @rule(args=st.one_of(*COMMANDS.values()))
    def command(self, args: List[bytes]) -> None:
        self.both(args)

    @rule(args=st.one_of(COMMANDS["set"], COMMANDS["incr"], COMMANDS["expire"]))
    def common_write(self, args: List[bytes]) -> None:
        # Writes are weighted up so reads mostly meet existing keys.
        self.both(args)

    @rule(args=st.one_of(COMMANDS["hset"], COMMANDS["hdel"], COMMANDS["sadd"],
                         COMMANDS["srem"]))
    def aggregate_write(self, args: List[bytes]) -> None:
        # Hashes and sets are created and emptied often enough to meet the other types;
        # afterwards the key exists (with its type and encoding) on both servers or on
        # neither: removing the last field or member deletes it.
        self.both(args)
        key = args[1]
        self.both([b"EXISTS", key])
        if self.both([b"TYPE", key]) in (b"+hash\r\n", b"+set\r\n"):
            self.both([b"OBJECT", b"ENCODING", key])

    def teardown(self) -> None:
        self.real.close()
        self.mini.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_keys_strings_aggregates_expiry(differ, protocol):
    class Machine(DifferentialMachine):
        pass

    run_machine(Machine, differ, protocol, 150)


def test_encode_roundtrip_helpers():
    """The harness helpers the machine relies on read what they write."""
    raw = encode_command([b"SET", b"k", b"v"])
    assert raw == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    assert parse_raw(b"*2\r\n:1\r\n$1\r\na\r\n") == (b"*", ((b":", b"1"), (b"$", b"a")))
