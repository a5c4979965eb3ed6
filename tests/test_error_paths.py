"""Every key command with odd arguments, at keys of every type, against redis-server.

The hand-written differential tests try each command's documented errors; this one
tries the combinations nobody writes down: each case is one key command (from the
real server's COMMAND, so new commands join by themselves) with arguments drawn from
numbers, words, key names and the command's own option words (its COMMAND DOCS
tokens), run where ``k`` and ``k2`` hold values of random types, alone, queued in
MULTI/EXEC or called from a script (redis.pcall). Both servers must give the same
reply and leave the same traces: keyspace hits and misses, expired keys, the changes
counted towards a save (rdb_changes_since_last_save), INFO keyspace, access counts
(OBJECT FREQ under allkeys-lfu counting every access), keyspace events, DEBUG
DIGEST, the kind of TTL, and INFO's commandstats and errorstats. It found commands
that Redis refuses only after looking their key up (LINDEX, LSET, XAUTOCLAIM), whose
replies and counts differed.

Each run is made twice: with Redis's encoding thresholds, and with thresholds so small
that the cases' own writes convert between encodings.

Cases are drawn from a seed (MINIREDIS_AUDIT_SEED, else random, printed on failure);
MINIREDIS_HYPOTHESIS_EXAMPLES scales their number (default 400).
"""
from __future__ import annotations

import os
import random
from typing import Any, Dict, List, Sequence

import pytest

from tests.audit import (DEFAULT_ENCODINGS, EMPTY_LUA_ARGUMENT_CACHE, LIVE, RESTORED,
                         SETTINGS, SETUPS, SMALL_ENCODINGS, Signals, configure,
                         expiry_paused, key_commands, observe, own_pair, prepare,
                         random_cases, replicated, untimed)
from tests.harness import RawConnection

def _traces(port: int, cases: Sequence[Any], original: Dict[str, str] = {}) -> List[Any]:
    conn, events, conn3 = RawConnection(port), RawConnection(port), RawConnection(port)
    signals = Signals(port)
    try:
        conn.call("SELECT", "9")
        conn3.call("HELLO", "3")
        conn3.call("SELECT", "9")
        signals.follow(conn3)   # (conn reads k and k2 for observe(): it cannot)
        ids = {each: int(each.call("CLIENT", "ID")[1:]) for each in (conn, conn3)}
        events.call("PSUBSCRIBE", "__key*@9__:*")
        out = []
        for kind, other, args, way in cases:
            dirty = prepare(conn, events, kind, other, way.startswith("script"))
            signals.start()
            runner = conn3 if way.endswith("3") else conn
            if way.startswith("transaction"):
                # (MULTI's reply, then the queued one, then EXEC's)
                reply = runner.call("MULTI") + runner.call(*args) + runner.call("EXEC")
                if args[0] == "multi":
                    runner.call("DISCARD")
            else:
                reply = runner.call(*args)
            client = signals.client(ids[runner])
            name = args[3 if args[0] == "EVAL" else 0]
            name = original.get(name, name)
            if name.startswith("x") or name in ("ttl", "pttl", "expiretime", "pexpiretime"):
                reply = untimed(reply)
            if args[0] == "multi" and not way.startswith("transaction"):
                runner.call("DISCARD")
            runner.call("SELECT", "9")    # (a SELECT or MOVE among the cases)
            out.append(dict(observe(conn, events, dirty), reply=reply, client=client,
                            **signals.read()))
        return out
    finally:
        conn.close()
        conn3.close()
        events.close()
        signals.close()


# A hash table's order follows Redis's random hash seed. Where one is read, replies
# are compared as multisets of lines; where it decides which members come out (random
# picks, scans, a serialization), by their kind and size; a random SPOP's effect on
# the data is not compared.
HASHED = {"big zset", "big hash", "big set"}
UNORDERED = {"smembers", "sinter", "sunion", "sdiff", "hgetall", "hkeys", "hvals"}
PICKED = {"zrandmember", "srandmember", "hrandfield", "spop", "zscan", "sscan", "hscan",
          "dump", "sort", "sort_ro"}


def _order_free(name: str, expected: Dict[str, Any], actual: Dict[str, Any]) -> None:
    for trace in (expected, actual):
        reply = trace["reply"]
        if b"\r\n-" in b"\r\n" + reply:
            continue                    # (errors are compared as they are)
        if name in UNORDERED:
            trace["reply"] = sorted(reply.split(b"\r\n"))
        elif name in PICKED:
            # (a scan of a hash table returns whole buckets: not even its size)
            sized = name not in ("dump", "zscan", "sscan", "hscan")
            trace["reply"] = (reply[:1], reply.count(b"\r\n") if sized else 0)
            if name == "spop":
                trace["DEBUG DIGEST"] = trace["events"] = None


@pytest.mark.parametrize("encodings", ["default", "small"])
def test_key_commands_with_odd_arguments(differ, encodings):
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400"))
    real, mini = differ.ports["redis"], differ.ports["miniredis"]
    commands = key_commands(real)
    assert len(commands) > 150, len(commands)
    cases = random_cases(commands, random.Random(seed), count)
    small = encodings == "small"
    configure((real, mini), SETTINGS + (SMALL_ENCODINGS if small else ()))
    try:
        with expiry_paused((real, mini)):
            want, got = _traces(real, cases), _traces(mini, cases)
    finally:
        configure((real, mini), RESTORED + (DEFAULT_ENCODINGS if small else ()))
    _compare(seed, cases, want, got, small)


def _compare(seed: int, cases: Sequence[Any], want: List[Any], got: List[Any],
             small: bool = False, original: Dict[str, str] = {}) -> None:
    """The traces of each case alike, with the tolerances above (``original``: the
    command names a case's renamed name stands for)."""
    for (kind, other, args, way), expected, actual in zip(cases, want, got):
        name = args[3 if args[0] == "EVAL" else 0]
        name = original.get(name, name)
        if small or HASHED & {kind, other}:     # (small: any set may be a hash table)
            _order_free(name, expected, actual)
        if name == "dump" and "pending stream" in (kind, other):
            for trace in (expected, actual):    # (consumers' seen times, in binary)
                trace["reply"] = len(trace["reply"])
        for what in expected:
            assert actual[what] == expected[what], (
                "MINIREDIS_AUDIT_SEED=%d: %s differ after %r (%s; k a %s, k2 a %s)\n"
                "  redis:     %r\n  miniredis: %r"
                % (seed, what, args, way, kind, other, expected[what], actual[what]))


# What the audit's own steps (setups, observe(), Signals, the ways) call: never renamed
# (MSET also empties the Lua argument cache before a scripted case).
_KEPT_NAMES = {"set", "mset", "mget", "rpush", "hset", "sadd", "zadd", "xadd", "xgroup",
               "xreadgroup", "xclaim", "pexpire", "pexpireat", "select", "flushall",
               "multi", "exec", "discard", "eval", "config", "debug", "hello", "info",
               "publish", "psubscribe", "pttl", "object", "xinfo", "script", "ping",
               "function", "client", "watch"}


def test_emptied_lua_argument_cache_leaves_no_stale_counter(differ):
    """The audit's emptying of Redis's kept script arguments (EMPTY_LUA_ARGUMENT_CACHE)
    before a scripted case: a counter that an MSET and a GEOADD left in the third
    place no longer reaches a later SETEX's new key (without it, it does on Redis)."""
    ports = (differ.ports["redis"], differ.ports["miniredis"])
    configure(ports, SETTINGS)
    try:
        freqs: Dict[str, List[bytes]] = {"kept": [], "emptied": []}
        for port in ports:
            conn = RawConnection(port)
            try:
                for way in freqs:
                    conn.call("SELECT", "9")
                    conn.call("FLUSHALL")
                    conn.call("SET", "k", "v")
                    for _ in range(40):
                        conn.call("GET", "k")
                    conn.call("EVAL", "return redis.pcall('mset', unpack(ARGV))", "0",
                              "k", "aaaa", "k", "bbbb", "k", "cccc")
                    conn.call("EVAL", "return redis.pcall('geoadd', unpack(ARGV))", "0",
                              "g", "1", "1", "mm")
                    conn.call("DEL", "k")
                    if way == "emptied":
                        conn.call(*EMPTY_LUA_ARGUMENT_CACHE)
                    conn.call("EVAL", "return redis.pcall('setex', unpack(ARGV))", "0",
                              "k", "3", "nan")
                    freqs[way].append(conn.call("OBJECT", "FREQ", "k"))
                conn.call("FLUSHALL")
            finally:
                conn.close()
    finally:
        configure(ports, RESTORED)
    assert freqs["emptied"] == [b":5\r\n", b":5\r\n"], freqs
    assert freqs["kept"][0] != b":5\r\n" and freqs["kept"][1] == b":5\r\n", freqs


def test_key_commands_under_renames(differ):
    """Both servers started with a random third of the key commands renamed (a few
    removed): the audit's cases call them by their new names, sometimes by the old
    one, alone, in MULTI or from scripts (rename-command: Redis's server.commands)."""
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400")) // 2
    rng = random.Random(seed)
    commands = key_commands(differ.ports["redis"])
    names = sorted({words[0] for words, *_ in commands} - _KEPT_NAMES)
    renamed: Dict[str, str] = {}
    options: List[str] = []
    for name in rng.sample(names, len(names) // 3):
        new = "" if rng.random() < 0.15 else rng.choice((name + "_r", "R_" + name.upper()))
        renamed[name] = new
        options += ["--rename-command", name, new]
    original = {new: name for name, new in renamed.items() if new}
    cases = []
    for kind, other, args, way in random_cases(commands, rng, count):
        at = 3 if args[0] == "EVAL" else 0
        if renamed.get(args[at]) and rng.random() < 0.8:
            args = args[:at] + [renamed[args[at]]] + args[at + 1:]
        cases.append((kind, other, args, way))
    with own_pair("renames-", options) as ports:
        configure(ports.values(), SETTINGS)
        with expiry_paused(ports.values()):
            want, got = (_traces(ports[kind], cases, original)
                         for kind in ("redis", "miniredis"))
    _compare(seed, cases, want, got, original=original)


def _replica_states(master: Any, cases: Sequence[Any]) -> List[Any]:
    """What a redis-server replica of ``master`` holds after each case (deadlines and
    the clock's other readings masked: the two masters run at different times)."""
    from tests.replutil import Replica, wait_caught_up

    replica = Replica(master.port)
    try:
        replica.wait_up()
        conns = {2: RawConnection(master.port), 3: RawConnection(master.port)}
        conns[3].call("HELLO", "3")
        probe = RawConnection(replica.port)
        states = []
        for kind, other, args, way in cases:
            conn = conns[3 if way.endswith("3") else 2]
            conn.call("SELECT", "9")
            conn.call("FLUSHALL")
            for key, setup in (("k", SETUPS[kind]), ("k2", SETUPS[other])):
                for command in setup:
                    conn.call(*[key if word == "k" else word for word in command])
            if way.startswith("transaction"):
                reply = conn.call("MULTI") + conn.call(*args) + conn.call("EXEC")
            else:
                reply = conn.call(*args)
            if args[0] == "multi":
                conn.call("DISCARD")
            wait_caught_up(master, replica)
            probe.call("SELECT", "9")
            states.append(([untimed(part) for part in replicated(probe)], reply,
                           conn.call("DEBUG", "DIGEST")))
        for conn in list(conns.values()) + [probe]:
            conn.close()
        return states
    finally:
        replica.stop()


def test_effects_reach_a_real_replica_alike():
    """The same cases (blocking commands, transactions and scripts included) on a
    redis-server master and on a miniredis master, each with a redis-server replica:
    after every case both replicas hold the same (DEBUG DIGEST over every database,
    the kinds of deadline, stream groups, consumers and pending entries). Each effect
    is propagated in a form Redis applies to the same result (random pops as the
    members taken, expiry as deletions, conversions alike), and where Redis's own
    replica ends up unlike its master (a group's entries-read after XREADGROUP),
    miniredis's does too."""
    from tests.replutil import Master, RealMaster

    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400")) // 2
    masters: List[Any] = []
    try:
        masters = [RealMaster(), Master()]
        cases = random_cases(key_commands(masters[0].port), random.Random(seed), count,
                             LIVE)
        held = [_replica_states(master, cases) for master in masters]
    finally:
        for master in masters:
            master.stop()
    for (kind, other, args, way), (want, _, real), (got, reply, mini) in zip(cases, *held):
        if args[3 if args[0] == "EVAL" else 0] == "spop" and "big set" in (kind, other):
            # A random member left each master: each replica must hold what its own
            # master holds, and the rest compares alike.
            assert (want[0], got[0]) == (real, mini), (seed, args, way)
            want, got = want[1:], got[1:]
        assert got == want, (
            "MINIREDIS_AUDIT_SEED=%d: the replicas differ after %r (%s; k a %s, k2 a %s), "
            "which miniredis answered %r\n  redis's:     %r\n  miniredis's: %r"
            % (seed, args, way, kind, other, reply, want, got))
