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
import re
from typing import Any, Dict, List, Sequence, Tuple

import pytest
import redis

from tests.harness import RawConnection, replies_until

# One member per collection where Redis would pick at random (SPOP, SRANDMEMBER,
# ZRANDMEMBER, HRANDFIELD), and integers for the set: an intset's order is fixed, a
# hash table's follows Redis's random hash seed.
# Bigger ones take Redis's other encodings (quicklist, skiplist, hash tables, raw
# strings); a stream has a consumer group, and in "pending stream" two consumers owe
# entries whose delivery time is fixed (XCLAIM ... TIME) so that idle times and
# MIN-IDLE-TIME decide alike (the clock's own readings are masked: _untimed).
SETUPS: Dict[str, List[List[str]]] = {
    "string": [["SET", "k", "10"]], "text": [["SET", "k", "x" * 60]],
    "list": [["RPUSH", "k", "a", "b", "c"]],
    "long list": [["RPUSH", "k"] + ["i%d" % i for i in range(150)]],
    "hash": [["HSET", "k", "f", "1"]], "set": [["SADD", "k", "1"]],
    "zset": [["ZADD", "k", "1", "a"]],
    "big zset": [["ZADD", "k"] + [w for i in range(150) for w in (str(i), "m%d" % i)]],
    "big hash": [["HSET", "k"] + [w for i in range(150) for w in ("f%d" % i, str(i))]],
    "big set": [["SADD", "k"] + ["m%d" % i for i in range(150)]],
    "stream": [["XADD", "k", "1-1", "f", "v"], ["XADD", "k", "2-1", "f", "w"],
               ["XGROUP", "CREATE", "k", "g", "0"]],
    "pending stream": [
        ["XADD", "k", "1-1", "f", "v"], ["XADD", "k", "2-1", "f", "w"],
        ["XADD", "k", "3-1", "f", "x"], ["XGROUP", "CREATE", "k", "g", "0"],
        ["XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "k", ">"],
        ["XCLAIM", "k", "g", "c2", "0", "2-1", "TIME", "1000000000000"],
        ["XCLAIM", "k", "g", "c", "0", "1-1", "TIME", "1000000000000"]],
    "none": [],
}
WORDS = ["x", "-1", "0", "1", "2", "nan", "*", "a", "k", "k2", "k2", "f", "1-1", "g", "c",
         "+", "-", "(1", "[a", "3"]
# Never run: they wait (WAIT), subscribe (shard channels are keys),
# reach out (MIGRATE), run code, or answer from memory layouts miniredis does not
# share (MEMORY USAGE, README).
SKIPPED = {"migrate", "restore-asking", "wait", "eval", "evalsha", "eval_ro",
           "evalsha_ro", "fcall", "fcall_ro", "debug", "memory|usage"}
# Blocking commands run with a timeout of 10 ms or a bad one: where it is.
TIMEOUT_FIRST = {"blmpop", "bzmpop"}
TIMEOUTS = ["0.01", "0.01", "0.01", "x", "-1", "nan"]
# How a case runs: alone, queued in MULTI/EXEC, or from a script (redis.pcall).
WAYS = ["plain", "plain", "plain", "transaction", "script"]
SETTINGS = ("maxmemory", "1gb", "maxmemory-policy", "allkeys-lfu", "lfu-log-factor", "0",
            "lfu-decay-time", "0", "notify-keyspace-events", "KEAmn")
RESTORED = ("maxmemory", "0", "maxmemory-policy", "noeviction", "lfu-log-factor", "10",
            "lfu-decay-time", "1", "notify-keyspace-events", "")
# Encoding thresholds so small that the cases' own writes convert listpacks, intsets
# and quicklist nodes (and back, for lists), and Redis's defaults to restore.
SMALL_ENCODINGS = ("zset-max-listpack-entries", "3", "zset-max-listpack-value", "4",
                   "hash-max-listpack-entries", "3", "hash-max-listpack-value", "4",
                   "set-max-intset-entries", "3", "list-max-listpack-size", "3")
DEFAULT_ENCODINGS = ("zset-max-listpack-entries", "128", "zset-max-listpack-value", "64",
                     "hash-max-listpack-entries", "128", "hash-max-listpack-value", "64",
                     "set-max-intset-entries", "512", "list-max-listpack-size", "-2")


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _as_dict(reply: Any) -> Any:
    """COMMAND DOCS's flat RESP2 maps as dicts."""
    if isinstance(reply, list) and len(reply) % 2 == 0 and \
            all(isinstance(k, (bytes, str)) for k in reply[0::2]):
        return {_text(k): _as_dict(v) for k, v in zip(reply[0::2], reply[1::2])}
    if isinstance(reply, list):
        return [_as_dict(v) for v in reply]
    return reply


def _tokens(arguments: Any, out: set) -> set:
    for argument in arguments or []:
        if isinstance(argument, dict):
            if argument.get("token"):
                out.add(_text(argument["token"]))
            _tokens(argument.get("arguments"), out)
    return out


def _key_commands(port: int) -> List[Tuple[List[str], int, int, List[str], bool]]:
    """(words naming it, arity, first key's position (0: after a count), its option
    words, whether it blocks) for every command and subcommand with a key, as the
    real server describes them."""
    conn = redis.Connection(port=port)
    try:
        conn.send_command("COMMAND")
        table = conn.read_response()
        conn.send_command("COMMAND", "DOCS")
        docs = _as_dict(conn.read_response())
    finally:
        conn.disconnect()
    options = {}
    for name, doc in docs.items():
        options[name] = sorted(_tokens(doc.get("arguments"), set()))
        for sub, subdoc in (doc.get("subcommands") or {}).items():
            options[sub.lower()] = sorted(_tokens(subdoc.get("arguments"), set()))
    found = []
    for entry in table:
        entries = entry[9] if len(entry) > 9 and entry[9] else [entry]
        for name, arity, flags, first in (e[:4] for e in entries):
            name = _text(name)
            if first <= 0 and b"movablekeys" not in flags or name in SKIPPED or \
                    name.split("|")[0] in SKIPPED or b"pubsub" in flags:
                continue
            found.append((name.split("|"), arity, first, options.get(name, []),
                          b"blocking" in flags))
    return sorted(found)


def _cases(commands: Sequence[Any], rng: random.Random, count: int) -> List[Any]:
    cases = []
    for _ in range(count):
        words, arity, first, options, blocking = rng.choice(commands)
        args = list(words)
        if first <= 0:      # (keys after a count: SINTERCARD, ZUNION, LMPOP, XREAD...)
            if args[0] in TIMEOUT_FIRST:
                args.append("0.01")
            args.append(rng.choice(["1", "1", "2", "0", "x"]))
        while len(args) < first:
            args.append(rng.choice(WORDS))
        args.append("k")
        length = abs(arity) + (rng.randrange(6) if arity < 0 else 0)
        pool = WORDS + options * 2
        while len(args) < length:
            word = rng.choice(pool)
            if word == "*" and args[0] == "xadd":
                word = "2-2"        # (an ID made of the clock differs)
            # (a TTL of a millisecond or two would race the clock)
            if word.isdigit() and word != "0" and (args[0] in ("pexpire", "psetex") or
                                                   args[-1].upper() == "PX"):
                word += "00000"
            args.append(word)
        if args[0] in ("xread", "xreadgroup") and rng.random() < 0.6:
            args = _stream_read(args[0], rng)
        if blocking:
            if args[0] in TIMEOUT_FIRST:
                args[1] = rng.choice(TIMEOUTS)
            elif args[0] in ("xread", "xreadgroup"):
                for i in range(1, len(args) - 1):
                    if args[i].upper() == "BLOCK":
                        args[i + 1] = rng.choice(["10", "x", "-1"])
            else:
                args[-1] = rng.choice(TIMEOUTS)
        way = rng.choice(WAYS)
        if way == "script":
            args = ["EVAL", "return redis.pcall(unpack(ARGV))", "0"] + args
        way += " RESP%d" % rng.choice((2, 2, 3))
        cases.append((rng.choice(list(SETUPS)), rng.choice(list(SETUPS)), args, way))
    return cases


def _stream_read(name: str, rng: random.Random) -> List[str]:
    """An XREAD or XREADGROUP in its documented shape, with odd values here and there."""
    args = [name] + (["GROUP", rng.choice(["g", "g", "x"]), "c"] if name == "xreadgroup" else [])
    if rng.random() < 0.5:
        args += ["COUNT", rng.choice(["1", "2", "0", "-1", "x"])]
    if rng.random() < 0.5:
        args += ["BLOCK", "10"]
    if name == "xreadgroup" and rng.random() < 0.3:
        args.append("NOACK")
    keys = ["k"] if rng.random() < 0.7 else ["k", "k2"]
    ids = [rng.choice(["0", ">", ">", "$", "1-1", "+", "x"]) for _ in keys]
    if rng.random() < 0.1:
        ids.pop()       # (an ID short)
    return args + ["STREAMS"] + keys + ids


# Redis keeps the argument objects of a script's last redis.call() for the next one
# (script_lua.c's lua_args_cached_objects), access counter included: a value that an
# MSET with a repeated key stored and replaced (taking the old value's counter) can
# become a later script's new key with that counter. An MSET that stores an object
# from each of those places empties them before every scripted case.
_EMPTY_LUA_ARGUMENT_CACHE = ["EVAL", "return redis.pcall('mset', unpack(ARGV))", "0"] + \
    [word for i in range(15) for word in ("lua-cache-%d" % i, "")]


def _traces(port: int, cases: Sequence[Any]) -> List[Any]:
    conn, events, conn3 = RawConnection(port), RawConnection(port), RawConnection(port)
    try:
        conn.call("SELECT", "9")
        conn3.call("HELLO", "3")
        conn3.call("SELECT", "9")
        events.call("PSUBSCRIBE", "__key*@9__:*")
        out = []
        for kind, other, args, way in cases:
            if way.startswith("script"):
                conn.call(*_EMPTY_LUA_ARGUMENT_CACHE)
            conn.call("FLUSHALL")
            for key, setup in (("k", SETUPS[kind]), ("k2", SETUPS[other])):
                for command in setup:
                    conn.call(*[key if word == "k" else word for word in command])
            conn.call("CONFIG", "RESETSTAT")
            dirty = _changes(conn)
            conn.call("PUBLISH", "__keyspace@9__:start", "")
            replies_until(events, b"__keyspace@9__:start")
            runner = conn3 if way.endswith("3") else conn
            if way.startswith("transaction"):
                # (MULTI's reply, then the queued one, then EXEC's)
                reply = runner.call("MULTI") + runner.call(*args) + runner.call("EXEC")
                if args[0] == "multi":
                    runner.call("DISCARD")
            else:
                reply = runner.call(*args)
            if args[3 if args[0] == "EVAL" else 0].startswith("x"):
                reply = _untimed(reply)
            if args[0] == "multi" and not way.startswith("transaction"):
                runner.call("DISCARD")
            runner.call("SELECT", "9")    # (a SELECT or MOVE among the cases)
            stats = conn.call("INFO", "stats").decode() + conn.call("INFO", "keyspace").decode()
            counts = re.findall(r"keyspace_(?:hits|misses):\d+|total_error_replies:\d+|"
                                r"expired_keys:\d+|db\d+:keys=\d+,expires=\d+", stats)
            # (the server's count so far depends on the tests before: its growth)
            counts.append("changes counted: %d" % (_changes(conn) - dirty))
            calls = sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                           for line in conn.call("INFO", "commandstats").decode().split()
                           if line.startswith("cmdstat_") and
                           not line.startswith(("cmdstat_info", "cmdstat_config")))
            errors = re.findall(r"errorstat_\S+",
                                conn.call("INFO", "errorstats").decode())
            ttls = [conn.call("PTTL", key) for key in ("k", "k2")]
            ttls = [t if t in (b":-1\r\n", b":-2\r\n") else b"set" for t in ttls]
            freqs = [conn.call("OBJECT", "FREQ", key) for key in ("k", "k2")]
            digest = conn.call("DEBUG", "DIGEST")
            streams = _streams(conn)    # (after OBJECT FREQ: it counts an access)
            conn.call("PUBLISH", "__keyspace@9__:end", "")
            published = replies_until(events, b"__keyspace@9__:end")
            out.append({"reply": reply, "counts": counts, "commandstats": calls,
                        "errorstats": errors, "ttl kinds": ttls, "OBJECT FREQ": freqs,
                        "DEBUG DIGEST": digest, "events": published,
                        "streams": streams})
        return out
    finally:
        conn.close()
        conn3.close()
        events.close()


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


def _untimed(reply: bytes) -> bytes:
    """A stream command's reply without the clock's readings: integers of ten digits
    or more (delivery and seen times, idle times since the fixed delivery time) and a
    consumer's idle time (since its last command, a few milliseconds)."""
    reply = re.sub(rb"(\$4\r\nidle\r\n):\d+\r\n", rb"\1:T\r\n", reply)
    return re.sub(rb":\d{10,}\r\n", b":T\r\n", reply)


def _streams(conn: RawConnection) -> List[bytes]:
    """XINFO STREAM ... FULL of each key holding a stream: its groups, consumers and
    pending entries, which DEBUG DIGEST leaves out."""
    return [_untimed(conn.call("XINFO", "STREAM", key, "FULL")) for key in ("k", "k2")
            if conn.call("TYPE", key) == b"+stream\r\n"]


def _changes(conn: RawConnection) -> int:
    """INFO's rdb_changes_since_last_save: the dirty counter behind save points."""
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)",
                         conn.call("INFO", "persistence")).group(1))


def _configure(ports: Sequence[int], pairs: Sequence[str]) -> None:
    for port in ports:
        conn = RawConnection(port)
        try:
            assert conn.call("CONFIG", "SET", *pairs) == b"+OK\r\n"
        finally:
            conn.close()


@pytest.mark.parametrize("encodings", ["default", "small"])
def test_key_commands_with_odd_arguments(differ, encodings):
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400"))
    real, mini = differ.ports["redis"], differ.ports["miniredis"]
    commands = _key_commands(real)
    assert len(commands) > 150, len(commands)
    cases = _cases(commands, random.Random(seed), count)
    small = encodings == "small"
    _configure((real, mini), SETTINGS + (SMALL_ENCODINGS if small else ()))
    try:
        want, got = _traces(real, cases), _traces(mini, cases)
    finally:
        _configure((real, mini), RESTORED + (DEFAULT_ENCODINGS if small else ()))
    for (kind, other, args, way), expected, actual in zip(cases, want, got):
        name = args[3 if args[0] == "EVAL" else 0]
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


def _replicated(conn: RawConnection) -> List[bytes]:
    """What a replica must hold alike: every database's digest, the keys' absolute
    deadlines, and a stream's groups, consumers and pending entries (which the digest
    leaves out)."""
    seen = [conn.call("DEBUG", "DIGEST")]
    seen += [conn.call("PEXPIRETIME", key) for key in ("k", "k2")]
    # (entries-read, and the lag from it, are not propagated by XREADGROUP's XCLAIMs:
    # a real Redis replica of a real Redis master differs there too)
    return seen + [re.sub(rb"(entries-read|lag)\r\n[:$_][^\r]*\r\n", b"", stream)
                   for stream in _streams(conn)]


def test_effects_reach_a_real_replica_alike():
    """miniredis as a master, redis-server as its replica: after every case (the same
    kinds of cases, blocking commands, transactions and scripts included) the replica
    holds what the master holds (DEBUG DIGEST over every database, deadlines, stream
    groups, consumers and pending entries): each effect is propagated in a form Redis applies to the same result
    (random pops as the members taken, expiry as deletions, conversions alike)."""
    from tests.replutil import Master, Replica, wait_caught_up

    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400")) // 2
    master = Master()
    replica = None
    try:
        commands = _key_commands(master.port)
        replica = Replica(master.port)
        replica.wait_up()
        conns = {2: RawConnection(master.port), 3: RawConnection(master.port)}
        conns[3].call("HELLO", "3")
        probe = RawConnection(replica.port)
        for kind, other, args, way in _cases(commands, random.Random(seed), count):
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
            conns[2].call("SELECT", "9")
            assert _replicated(probe) == _replicated(conns[2]), (
                "MINIREDIS_AUDIT_SEED=%d: the replica differs after %r (%s; k a %s, "
                "k2 a %s), which answered %r" % (seed, args, way, kind, other, reply))
        for conn in list(conns.values()) + [probe]:
            conn.close()
    finally:
        if replica is not None:
            replica.stop()
        master.stop()
