"""SLOWLOG against redis-server: which commands are logged, and as what.

Redis logs a command with the arguments it was sent with, not those it is rewritten to
for replication (SPOP with a count, GEOADD, GETSET, INCRBYFLOAT, EXPIRE...); EXEC is
not logged (skip_slowlog), only what it ran; a command that blocks is logged when it is
served, and not at all when it times out; CLIENT UNBLOCK logs an entry with no
arguments (Redis resets the client first). Commands scripts run are logged too.
"""
from __future__ import annotations

import re
import time

import pytest

from .harness import RawConnection, compare_scenario, connect, parse_raw, wait_blocked


def _logged(admin: RawConnection):
    """What SLOWLOG GET shows, newest first: each entry's arguments, whether its client
    address is Lua's "?:0", and its client name (durations and ports vary, and so do
    client ids, which CLIENT UNBLOCK takes)."""
    kind, entries = parse_raw(admin.call("SLOWLOG", "GET", "-1"))
    seen = []
    for entry in entries:
        fields = entry[1]
        args = [arg[1] for arg in fields[3][1]]
        if args[:2] == [b"CLIENT", b"UNBLOCK"]:
            args[2] = b"<id>"
        elif args[:1] == [b"INFO"]:
            continue        # wait_blocked polls INFO a varying number of times
        seen.append((tuple(args), fields[4][1] == b"?:0", fields[5][1]))
    return seen


def _failed_calls(admin: RawConnection, name: str) -> int:
    info = admin.call("INFO", "commandstats").decode()
    match = re.search(r"cmdstat_%s:.*failed_calls=(\d+)" % name, info)
    return int(match.group(1)) if match else 0


def _slowlog_all(scenario):
    """Run ``scenario`` with every command logged, restoring the threshold after."""
    def wrapped(port, protocol, admin):
        admin.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        try:
            return scenario(port, protocol, admin)
        finally:
            admin.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
            admin.call("SLOWLOG", "RESET")
    return wrapped


@_slowlog_all
def _rewritten(port, protocol, admin):
    seen = []
    for setup, command in [
            (["SADD", "set", "a", "b", "c", "d", "e"], ["SPOP", "set", "10"]),
            (["SADD", "set2", "a", "b", "c"], ["SPOP", "set2", "1"]),
            (["PING"], ["GEOADD", "cities", "-122.33207", "47.60621", "Seattle"]),
            (["SET", "A", "5"], ["GETSET", "a", "5"]),
            (["SET", "A", "0"], ["INCRBYFLOAT", "A", "1.0"]),
            (["SET", "k", "v"], ["EXPIRE", "k", "100"]),
            (["SET", "k", "v"], ["GETEX", "k", "EX", "100"]),
            (["SET", "k", "v"], ["SET", "k", "v", "EX", "100", "KEEPTTL"]),
            (["SET", "k", "v"], ["SET", "k", "v", "PX", "100000"]),
            (["HSET", "h", "f", "1"], ["HINCRBYFLOAT", "h", "f", "0.5"]),
            (["RPUSH", "src", "x"], ["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]),
            (["RPUSH", "l2", "x"], ["BRPOPLPUSH", "l2", "dst", "0"]),
            (["ZADD", "z", "1", "m"], ["BZPOPMIN", "z", "0"]),
            (["PING"], ["EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "e"]),
            (["CLIENT", "SETNAME", "scripter"],
             ["EVAL", "redis.call('set', KEYS[1], 'x'); return redis.pcall('incr', "
              "KEYS[1])", "1", "e"]),
            (["FUNCTION", "LOAD", "REPLACE", "#!lua name=slowlib\nredis.register_function("
              "'f', function(keys) return redis.call('get', keys[1]) end)"],
             ["FCALL", "f", "1", "e"]),
    ]:
        admin.call(*setup)
        admin.call("SLOWLOG", "RESET")
        admin.call(*command)
        seen.append(_logged(admin))
    admin.call("FUNCTION", "DELETE", "slowlib")
    admin.call("CLIENT", "SETNAME", "")
    return seen


def test_rewritten_commands_are_logged_as_sent(differ):
    compare_scenario(differ, _rewritten)


@_slowlog_all
def _migrate_secrets(port, protocol, admin):
    # MIGRATE to the server itself, of a missing key (NOKEY): only its log entry counts.
    seen = []
    for extra in ([], ["AUTH", "user"], ["AUTH2", "user", "password"],
                  ["COPY", "REPLACE", "AUTH", "pw", "KEYS"], ["AUTH"],
                  ["AUTH2", "user", "password", "BOGUS", "AUTH", "x"]):
        admin.call("SLOWLOG", "RESET")
        admin.call("MIGRATE", "127.0.0.1", str(port), "key", "9", "5000", *extra)
        seen.append([(tuple(b"<port>" if arg == str(port).encode() else arg
                            for arg in args), lua, name)
                     for args, lua, name in _logged(admin)])
    return seen


def test_migrate_passwords_are_redacted(differ):
    """MIGRATE's AUTH password and AUTH2 user and password show as "(redacted)" in
    SLOWLOG (and MONITOR), as its option loop redacts them (Redis's slowlog and
    introspection suites, needs:repl)."""
    compare_scenario(differ, _migrate_secrets)


@_slowlog_all
def _exec_and_served(port, protocol, admin):
    seen = []
    waiter = connect(port, protocol)
    try:
        # EXEC itself is not logged; what it ran is, and the BLPOP it served after.
        waiter.send("BLPOP", "l", "0")
        wait_blocked(admin, 1)
        admin.call("MULTI")
        admin.call("LPUSH", "l", "foo")
        admin.call("SLOWLOG", "RESET")
        admin.call("EXEC")
        seen.append(waiter.read_raw())
        seen.append(_logged(admin))
        # Served outside a transaction, by a list and by a sorted set.
        for command, feed in ((["BRPOP", "a", "b", "0"], ["RPUSH", "b", "1", "2"]),
                              (["BZPOPMAX", "z", "0"], ["ZADD", "z", "1", "m"]),
                              (["BLMPOP", "0", "1", "m", "LEFT", "COUNT", "2"],
                               ["RPUSH", "m", "1", "2", "3"])):
            admin.call("SLOWLOG", "RESET")
            waiter.send(*command)
            wait_blocked(admin, 1)
            admin.call(*feed)
            seen.append(waiter.read_raw())
            seen.append(_logged(admin))
        # A timeout ends a wait without logging the command; CLIENT UNBLOCK logs an
        # entry without arguments, and counts a failed call whichever the reply.
        failed_before = _failed_calls(admin, "blpop")
        admin.call("SLOWLOG", "RESET")
        seen.append(waiter.call("BLPOP", "none", "0.05"))
        waiter_id = waiter.call("CLIENT", "ID")[1:-2]
        waiter.send("BLPOP", "none", "0")
        wait_blocked(admin, 1)
        admin.call("CLIENT", "UNBLOCK", waiter_id)
        seen.append(waiter.read_raw())
        waiter.send("BLPOP", "none", "0")
        wait_blocked(admin, 1)
        admin.call("CLIENT", "UNBLOCK", waiter_id, "ERROR")
        seen.append(waiter.read_raw())
        time.sleep(0.01)
        seen.append(_logged(admin))
        seen.append(_failed_calls(admin, "blpop") - failed_before)
    finally:
        waiter.close()
    return seen


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("order", ["SF", "FSF", "FFSF"])
@pytest.mark.parametrize("command", ["MSET", "RPUSH", "LRANGE"])
def test_a_slow_request_among_fast_ones_of_an_own_loop(differ, command, order, protocol):
    """As above for commands with loops of their own (miniredis/runs.py), which time
    what one call answers together: a request with many keys or elements, or a long
    range, is left to the handler and timed alone, wherever it stands in the read.
    Everything is logged (threshold 0: the same entries on both servers); miniredis's
    slow entry must last several times any fast one's (sharing a call's mean, they
    would be equal) -- a ratio, not a threshold, so that a loaded machine's pause
    cannot fail it."""
    from .harness import encode_command

    def request(kind, i):
        if command == "MSET":
            count = 40000 if kind == "S" else 1
            return ["MSET"] + [w for n in range(count) for w in ("k%d:%d" % (i, n), "v")]
        if command == "LRANGE":     # (of the 300,001 elements pushed below)
            return ["LRANGE", "l"] + (["0", "-1"] if kind == "S" else ["1", "1"])
        return ["RPUSH", "l"] + ["e"] * (300000 if kind == "S" else 1)   # (it exists)

    def slow_one(args, argc):   # (the first three arguments, the count as logged)
        return args[2] == b"0" if command == "LRANGE" else argc == 32

    logged = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        if protocol == 3:
            conn.call("HELLO", "3")
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn.call("RPUSH", "l", "first")
        if command == "LRANGE":
            conn.call(*["RPUSH", "l"] + ["e"] * 300000)
        conn.call("SLOWLOG", "RESET")
        conn.send_raw(b"".join(encode_command(request(kind, i))
                               for i, kind in enumerate(order)))
        replies = [conn.read_raw() for _ in order]
        entries = [entry for entry in _timed(conn) if entry[0][0] == command.encode()]
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        conn.call("FLUSHALL")
        logged[name] = (replies, [entry[:2] for entry in entries])
        if name == "miniredis":
            slow = [d for args, argc, d in entries if slow_one(args, argc)]
            fast = [d for args, argc, d in entries if not slow_one(args, argc)]
            assert len(slow) == 1 and len(fast) == len(order) - 1
            assert slow[0] > 3 * max(fast), entries
    assert logged["miniredis"] == logged["redis"]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("big", ["LRANGE", "HGETALL"])
def test_a_big_reply_counts_for_its_own_command(differ, big, protocol):
    """A reply is encoded inside its command's time, as Redis builds it in the call:
    the request after a big reply (another command, or the same one in a run) must
    not be charged for encoding it. Everything is logged (the same entries on both
    servers); miniredis's big entries must last several times any small one's."""
    from .harness import encode_command

    requests = [["LRANGE", "l", "0", "-1"] if big == "LRANGE" else ["HGETALL", "h"],
                ["EXISTS", "l"], ["ECHO", "x"]] * 2
    requests += [requests[0], requests[0][:2] + ["1", "2"] if big == "LRANGE" else
                 ["HGETALL", "small"]]
    logged = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        if protocol == 3:
            conn.call("HELLO", "3")
        conn.call(*["RPUSH", "l"] + ["e%d" % i for i in range(200000)])
        conn.call(*["HSET", "h"] + ["f%d" % i for i in range(200000)])
        conn.call("HSET", "small", "a", "b")
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn.call("SLOWLOG", "RESET")
        conn.send_raw(b"".join(encode_command(request) for request in requests))
        # (a big hash's order is Redis's own: its replies are compared by their size)
        replies = [conn.read_raw().split(b"\r\n", 1)[0] if big == "HGETALL" else
                   conn.read_raw() for _ in requests]
        entries = [entry for entry in _timed(conn) if entry[0][0] != b"SLOWLOG"]
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        conn.call("FLUSHALL")
        logged[name] = (replies, [entry[:2] for entry in entries])
        if name == "miniredis":
            slow = [d for args, _, d in entries if args == tuple(
                a.encode() for a in requests[0][:3])]
            fast = [d for args, _, d in entries if args != tuple(
                a.encode() for a in requests[0][:3])]
            assert len(slow) == 3 and len(fast) == len(requests) - 3
            assert min(slow) > 3 * max(fast), entries
    assert logged["miniredis"] == logged["redis"]


def _timed(admin: RawConnection):
    """SLOWLOG GET's entries, oldest first: (the first three arguments, the argument
    count as logged (at most 32), the duration in microseconds)."""
    kind, entries = parse_raw(admin.call("SLOWLOG", "GET", "-1"))
    timed = []
    for entry in reversed(entries):
        fields = entry[1]
        args = tuple(arg[1] for arg in fields[3][1])
        timed.append((args[:3], len(args), int(fields[2][1])))
    return timed


def test_exec_and_served_blocked_commands(differ):
    compare_scenario(differ, _exec_and_served)


@pytest.mark.parametrize("order", ["SF", "FSF", "FFSFF"])
def test_a_slow_request_followed_by_the_same_command_in_one_read(differ, order):
    """A pipelined read of SUNIONSTOREs, one slow (S) among fast ones (F): Redis logs
    the slow one alone, with its own duration. The dispatcher serves same-command runs
    together (miniredis/runs.py); a run's first request is timed on its own, and each
    later one that goes through the handler too, so a slow request lends its time to
    none of its neighbours, wherever it stands in the run."""
    from .harness import encode_command

    logged = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        for start in range(0, 100000, 10000):
            conn.call("SADD", "big", *range(start, start + 10000))
        conn.call("SADD", "small", "a")
        # Everything is logged (the same entries on both servers); miniredis's slow
        # entry must last several times any fast one's (a ratio, not a threshold, so
        # that a loaded machine's pause cannot fail it).
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn.call("SLOWLOG", "RESET")
        conn.send_raw(b"".join(
            encode_command(["SUNIONSTORE", "d%d" % i, "big" if kind == "S" else "small"])
            for i, kind in enumerate(order)))
        replies = [conn.read_raw() for _ in order]
        entries = [entry for entry in _timed(conn) if entry[0][0] == b"SUNIONSTORE"]
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        conn.call("DEL", "big", "small", *["d%d" % i for i in range(len(order))])
        logged[name] = (replies, [entry[:2] for entry in entries])
        if name == "miniredis":
            slow = [d for args, _, d in entries if args[2] == b"big"]
            fast = [d for args, _, d in entries if args[2] != b"big"]
            assert len(slow) == 1 and len(fast) == len(order) - 1
            assert slow[0] > 3 * max(fast), entries
    assert logged["miniredis"] == logged["redis"]


def _threshold_changes(port, protocol, admin):
    """The threshold is read after each call: CONFIG SET slowlog-log-slower-than 0
    logs itself, and the commands after it in the same read are logged too; setting
    it back below zero logs nothing more (neither that CONFIG SET)."""
    conn = connect(port, protocol)
    seen = []
    try:
        admin.call("SLOWLOG", "RESET")
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        seen.append(_logged(admin))
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        admin.call("SLOWLOG", "RESET")
        # one read: the CONFIG SET and the PINGs after it
        conn.send_raw(b"*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$23\r\n"
                          b"slowlog-log-slower-than\r\n$1\r\n0\r\n"
                          b"*2\r\n$4\r\nPING\r\n$1\r\na\r\n*2\r\n$4\r\nPING\r\n$1\r\nb\r\n")
        for _ in range(3):
            conn.read_raw()
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        seen.append(_logged(admin))
    finally:
        conn.close()
        admin.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        admin.call("SLOWLOG", "RESET")
    return seen


def test_threshold_read_after_each_call(differ):
    compare_scenario(differ, _threshold_changes)
