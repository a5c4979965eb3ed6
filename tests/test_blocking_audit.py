"""Blocked clients served by another client's writes, at random, against redis-server.

test_error_paths runs every blocking command where it answers at once or times out;
here one or two clients block (BLPOP, BLMOVE, BLMPOP, BZPOPMIN, BZMPOP, XREAD,
XREADGROUP... with random keys, sides, counts, consumers and protocols) and a writer
then runs one to three commands (pushes, moves, sorted-set and stream writes, renames,
copies, deletions, type changes, SWAPDB, stores, or any key command with odd
arguments) alone, in MULTI/EXEC or from one script. CLIENT UNBLOCK then frees whoever
is still waiting (as a timeout, or with an error). Both servers must give the same
replies -- the writer's, CLIENT UNBLOCK's (who was served) and each blocked client's --
and leave the same traces (tests/audit.py's observe: hits and misses, events, access
counts, digest, streams' groups and pending entries, commandstats and errorstats).

A second test runs the same kinds of cases on a redis-server master and on a miniredis
master, each with a redis-server replica, and compares the replicas after each case:
what a served client did reaches a replica as Redis propagates it.

Cases are drawn from a seed (MINIREDIS_AUDIT_SEED, else random, printed on failure);
MINIREDIS_HYPOTHESIS_EXAMPLES scales their number (default 400: 300 cases, and 100
for the replicas).
"""
from __future__ import annotations

import os
import random
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import redis

from tests.audit import (LIVE, RESTORED, SETTINGS, SETUPS, Signals, configure,
                         expiry_paused, key_commands, observe, prepare, random_cases,
                         replicated, untimed)
from tests.harness import RawConnection

SIDES = ["LEFT", "RIGHT"]
# Writes that make a blocked client's key ready, or take it away, or change its type.
WRITES = [
    ["lpush", "k", "a"], ["rpush", "k", "a", "b", "c"], ["lpushx", "k", "a"],
    ["rpush", "k2", "x"], ["linsert", "k", "BEFORE", "a", "b"], ["lpop", "k"],
    ["lmove", "k2", "k", "LEFT", "RIGHT"], ["rpoplpush", "k2", "k"],
    ["lmove", "k", "k", "RIGHT", "LEFT"], ["blmove", "k2", "k", "LEFT", "LEFT", "0.01"],
    ["zadd", "k", "1", "a", "2", "b"], ["zadd", "k", "INCR", "1", "a"],
    ["zadd", "k", "XX", "1", "a"], ["zincrby", "k", "1", "a"], ["zadd", "k2", "3", "c"],
    ["zunionstore", "k", "1", "k2"], ["zrangestore", "k", "k2", "0", "-1"],
    ["zpopmin", "k"], ["zrem", "k", "a"],
    ["xadd", "k", "2-1", "f", "v"], ["xadd", "k", "MAXLEN", "0", "3-1", "f", "v"],
    ["xadd", "k", "NOMKSTREAM", "4-1", "f", "v"], ["xadd", "k2", "5-1", "f", "v"],
    ["xgroup", "DESTROY", "k", "g"], ["xgroup", "SETID", "k", "g", "0"],
    ["xgroup", "CREATE", "k", "g", "$", "MKSTREAM"], ["xtrim", "k", "MAXLEN", "0"],
    ["xdel", "k", "1-1"], ["xgroup", "DELCONSUMER", "k", "g", "c"],
    ["del", "k"], ["unlink", "k", "k2"], ["set", "k", "x"], ["rename", "k2", "k"],
    ["renamenx", "k2", "k"], ["copy", "k2", "k"], ["copy", "k2", "k", "REPLACE"],
    ["move", "k2", "8"], ["sort", "k2", "STORE", "k"], ["sunionstore", "k", "k2"],
    ["pexpire", "k", "100000"], ["expire", "k", "0"], ["persist", "k"],
    ["swapdb", "9", "8"], ["flushdb"], ["sadd", "k", "a"], ["hset", "k", "f", "v"],
]
PUSHES = [["lpush", "k", "a"], ["rpush", "k", "a", "b", "c"], ["zadd", "k", "1", "a", "2", "b"],
          ["xadd", "k", "2-1", "f", "v"], ["lpush", "k2", "a"], ["zadd", "k2", "1", "a"],
          ["xadd", "k2", "2-1", "f", "v"]]
# Keys that a client can block on most of the time, and the rest now and then.
WAITING = ["none", "none", "none", "waiting stream", "waiting stream"]
# Runs the ARGV's commands, separated by "|", each with redis.pcall: their replies.
SCRIPT = ("local cmd, out = {}, {} "
          "for _, a in ipairs(ARGV) do "
          "if a == '|' then out[#out + 1] = redis.pcall(unpack(cmd)); cmd = {} "
          "else cmd[#cmd + 1] = a end end "
          "out[#out + 1] = redis.pcall(unpack(cmd)) return out")


def _blocker(rng: random.Random) -> List[str]:
    """A blocking command waiting forever (timeout 0) on k, or k and k2."""
    keys = ["k"] if rng.random() < 0.6 else ["k", "k2"]
    count = ["COUNT", rng.choice(["1", "2", "3"])] if rng.random() < 0.5 else []
    name = rng.choice(["blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin",
                       "bzpopmax", "bzmpop", "xread", "xreadgroup", "xreadgroup"])
    if name in ("blpop", "brpop", "bzpopmin", "bzpopmax"):
        return [name] + keys + ["0"]
    if name == "blmove":
        return [name, "k", rng.choice(["k", "k2"]), rng.choice(SIDES), rng.choice(SIDES), "0"]
    if name == "brpoplpush":
        return [name, "k", rng.choice(["k", "k2"]), "0"]
    if name in ("blmpop", "bzmpop"):
        where = rng.choice(SIDES if name == "blmpop" else ["MIN", "MAX"])
        return [name, "0", str(len(keys))] + keys + [where] + count
    if name == "xread":
        return [name] + count + ["BLOCK", "0", "STREAMS"] + keys + ["$"] * len(keys)
    noack = ["NOACK"] if rng.random() < 0.3 else []
    return ([name, "GROUP", "g", rng.choice(["c", "c3"])] + count + noack +
            ["BLOCK", "0", "STREAMS"] + keys + [">"] * len(keys))


def _writing(port: int) -> set:
    """The names of the commands COMMAND flags as writes, but for SPOP and SORT (what
    they take or store may follow a hash table's order, which Redis seeds at random)."""
    conn = redis.Connection(port=port)
    try:
        conn.send_command("COMMAND")
        table = conn.read_response()
    finally:
        conn.disconnect()
    return {entry[0].decode() for entry in table if b"write" in entry[2]} - {"spop", "sort"}


def _cases(commands: Sequence[Any], writing: set, rng: random.Random,
           count: int, kinds: Sequence[str] = tuple(SETUPS)) -> List[Any]:
    """(k's kind, k2's kind, [(blocked command, its protocol)], writes, way, how
    CLIENT UNBLOCK frees), the keys starting as ``kinds`` (or none, or a stream
    waited for)."""
    odd = random_cases(commands, rng, count)
    cases = []
    for i in range(count):
        blocked = [(_blocker(rng), rng.choice((2, 2, 3)))
                   for _ in range(rng.choice((1, 1, 2)))]
        writes = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            pick = rng.random()
            args = odd[i][2][3:] if odd[i][2][0] == "EVAL" else odd[i][2]
            if pick < 0.15 and args[0] in writing:
                writes.append(args)     # (a write with odd arguments, as test_error_paths)
            else:
                writes.append(rng.choice(PUSHES if pick < 0.45 else WRITES))
        kind = rng.choice(WAITING) if rng.random() < 0.7 else rng.choice(kinds)
        other = rng.choice(WAITING + list(kinds))
        way = rng.choice(("plain", "plain", "transaction", "script"))
        cases.append((kind, other, blocked, writes, way, rng.choice(("TIMEOUT", "ERROR"))))
    return cases


def _wait_processed(conn: RawConnection, client_id: int) -> int:
    """Until the server has run the client's last command (its CLIENT LIST entry no
    longer names the PING that came before); how many times it asked."""
    deadline = time.monotonic() + 5
    asked = 1
    while b"cmd=ping " in conn.call("CLIENT", "LIST", "ID", client_id):
        assert time.monotonic() < deadline, "the blocking command was not read"
        time.sleep(0.001)
        asked += 1
    return asked


def _less_polls(count: str, polls: int) -> str:
    """INFO's total_commands_processed without the CLIENT LISTs _wait_processed made
    (as many as the timing took)."""
    name, _, value = count.partition(":")
    if name != "total_commands_processed":
        return count
    return "%s:%d" % (name, int(value) - polls)


def _write(conn: RawConnection, writes: List[List[str]], way: str) -> bytes:
    if way == "transaction":
        reply = conn.call("MULTI")
        for args in writes:
            reply += conn.call(*args)
        return reply + conn.call("EXEC")
    if way == "script":
        words = [word for args in writes for word in ["|"] + args][1:]
        return conn.call("EVAL", SCRIPT, "0", *words)
    return b"".join(conn.call(*args) for args in writes)


def _traces(port: int, cases: Sequence[Any],
            after: Optional[Callable[[Any, RawConnection], None]] = None
            ) -> List[Dict[str, Any]]:
    """Each case's replies and traces; ``after(case, conn)`` is called after each."""
    conn, events = RawConnection(port), RawConnection(port)
    waiting = {2: [RawConnection(port), RawConnection(port)],
               3: [RawConnection(port), RawConnection(port)]}
    everyone = [conn, events] + waiting[2] + waiting[3]
    signals = Signals(port)
    try:
        for client in [conn] + waiting[2] + waiting[3]:
            if client in waiting[3]:
                client.call("HELLO", "3")
            client.call("SELECT", "9")
        ids = {client: int(client.call("CLIENT", "ID")[1:]) for client in everyone}
        signals.follow(waiting[3][0])   # (the keys its blocking reads track)
        events.call("PSUBSCRIBE", "__key*@9__:*")
        out = []
        for kind, other, blocked, writes, way, how in cases:
            clients = [waiting[protocol][i] for i, (_, protocol) in enumerate(blocked)]
            for client in clients:
                client.call("SELECT", "9")      # (a SWAPDB or MOVE among the cases)
                client.call("PING")
            dirty = prepare(conn, events, kind, other, way == "script")
            signals.start()
            polls = 0
            for client, (args, _) in zip(clients, blocked):
                client.send(*args)
                polls += _wait_processed(conn, ids[client])
            waiting_as = [signals.client(ids[client]) for client in clients]
            reply = untimed(_write(conn, writes, way))
            conn.call("SELECT", "9")
            unblocked = [conn.call("CLIENT", "UNBLOCK", ids[client], how)
                         for client in clients]
            served = [untimed(client.read_raw()) for client in clients]
            served_as = [signals.client(ids[client]) for client in clients]
            trace = observe(conn, events, dirty, unstated=("cmdstat_client|",
                                                           "cmdstat_ping", "cmdstat_select"))
            trace["counts"] = [_less_polls(count, polls) for count in trace["counts"]]
            out.append(dict(trace, reply=reply, unblocked=unblocked, served=served,
                            clients=(waiting_as, served_as), **signals.read()))
            if after is not None:
                after((kind, other, blocked, writes, way, how), conn)
        return out
    finally:
        for client in everyone:
            client.close()
        signals.close()


def test_blocked_clients_served_by_writes_as_redis(differ):
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400")) * 3 // 4
    real, mini = differ.ports["redis"], differ.ports["miniredis"]
    cases = _cases(key_commands(real), _writing(real), random.Random(seed), count)
    configure((real, mini), SETTINGS)
    try:
        with expiry_paused((real, mini)):
            want, got = _traces(real, cases), _traces(mini, cases)
    finally:
        configure((real, mini), RESTORED)
    for (kind, other, blocked, writes, way, how), expected, actual in zip(cases, want, got):
        for what in expected:
            assert actual[what] == expected[what], (
                "MINIREDIS_AUDIT_SEED=%d: %s differ after %r blocked, then %r (%s; "
                "k a %s, k2 a %s; CLIENT UNBLOCK ... %s)\n  redis:     %r\n  miniredis: %r"
                % (seed, what, blocked, writes, way, kind, other, how, expected[what],
                   actual[what]))


def test_served_effects_reach_a_real_replica_alike():
    """The same cases on a redis-server master and on a miniredis master, each with a
    redis-server replica: after each case both replicas hold the same (DEBUG DIGEST,
    deadlines, streams' groups, consumers and pending entries). A served blocking
    command is propagated as what it did (BLMOVE as LMOVE, XREADGROUP as XCLAIMs...);
    where Redis's own replica ends up unlike its master (a consumer a blocked
    XREADGROUP created but delivered nothing to), miniredis's must too."""
    from tests.replutil import Master, RealMaster, Replica, wait_caught_up

    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "400")) // 4
    masters: List[Any] = []
    replicas: List[Any] = []
    try:
        masters = [RealMaster(), Master()]
        cases = _cases(key_commands(masters[0].port), _writing(masters[0].port),
                       random.Random(seed), count, LIVE)
        held = []
        for master in masters:
            replica = Replica(master.port)
            replicas.append(replica)
            replica.wait_up()
            probe = RawConnection(replica.port)
            states: List[Any] = []

            def after(case: Any, conn: RawConnection) -> None:
                wait_caught_up(master, replica)
                probe.call("SELECT", "9")
                # (deadlines masked: the two masters run at different times)
                states.append([untimed(part) for part in replicated(probe)])
            _traces(master.port, cases, after)
            probe.close()
            held.append(states)
        for case, want, got in zip(cases, *held):
            assert got == want, (
                "MINIREDIS_AUDIT_SEED=%d: the replicas differ after %r blocked, then %r "
                "(%s; k a %s, k2 a %s)\n  redis's:     %r\n  miniredis's: %r"
                % (seed, case[2], case[3], case[4], case[0], case[1], want, got))
    finally:
        for server in replicas + masters:
            server.stop()
