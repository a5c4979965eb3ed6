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

KEYS = st.sampled_from([b"k1", b"k2", b"k3", b"{k}4", b"counter"])
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


class DifferentialMachine(RuleBasedStateMachine):
    """One pair of connections; each rule runs a random command on both servers."""

    ports: tuple = ()
    protocol = 2

    def __init__(self) -> None:
        super().__init__()
        real_port, mini_port = self.ports
        self.real = RawConnection(real_port)
        self.mini = RawConnection(mini_port)
        self.history: List[List[bytes]] = []

    def both(self, args: List[bytes]) -> None:
        self.history.append(args)
        want = self.real.call(*args)
        got = self.mini.call(*args)
        name = args[0].upper()
        if name == b"KEYS":
            want, got = canonical_unordered(want), canonical_unordered(got)
            assert want == got, self._report(args, want, got)
            return
        assert _same(name, want, got), self._report(args, want, got)

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

    @rule(args=st.one_of(*COMMANDS.values()))
    def command(self, args: List[bytes]) -> None:
        self.both(args)

    @rule(args=st.one_of(COMMANDS["set"], COMMANDS["incr"], COMMANDS["expire"]))
    def common_write(self, args: List[bytes]) -> None:
        # Writes are weighted up so reads mostly meet existing keys.
        self.both(args)

    def teardown(self) -> None:
        self.real.close()
        self.mini.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_keys_strings_expiry(differ, protocol):
    real_port, mini_port = differ.ports["redis"], differ.ports["miniredis"]

    class Machine(DifferentialMachine):
        pass

    Machine.ports = (real_port, mini_port)
    Machine.protocol = protocol
    examples = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "150"))
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=examples, stateful_step_count=40, deadline=None,
        suppress_health_check=list(HealthCheck)))


def test_encode_roundtrip_helpers():
    """The harness helpers the machine relies on read what they write."""
    raw = encode_command([b"SET", b"k", b"v"])
    assert raw == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    assert parse_raw(b"*2\r\n:1\r\n$1\r\na\r\n") == (b"*", ((b":", b"1"), (b"$", b"a")))
