"""Lists: differential tests of every command and error, and of blocking behaviour."""
from __future__ import annotations

import time

import pytest

from miniredis.commands import COMMANDS, load_all
from tests.harness import compare_scenario, connect, wait_blocked

load_all()
needs_multi = pytest.mark.skipif(
    b"multi" not in COMMANDS, reason="MULTI/EXEC come with the transactions issue")


def test_push_pop_len_range(differ):
    differ.check(
        "LPUSH l a b c", "RPUSH l d e", "LLEN l", "LRANGE l 0 -1", "LRANGE l 1 2",
        "LRANGE l -2 -1", "LRANGE l 5 10", "LRANGE l -100 100", "LRANGE l 3 1",
        "LRANGE missing 0 -1", "LRANGE l a 1", "LRANGE l 0 b", "LPUSHX nokey a",
        "RPUSHX nokey a", "LPUSHX l x y", "RPUSHX l z", "LRANGE l 0 -1", "LPOP l",
        "RPOP l", "LPOP l 2", "RPOP l 2", "LPOP l 0", "LPOP l -1", "LPOP l x",
        "LPOP missing", "LPOP missing 2", "RPOP missing 0", "LPOP l 100", "EXISTS l",
        "LPOP l 1 2", "LPUSH", "LPUSH l", "LLEN missing")


def test_lrange_replies_encoded_in_one_piece(differ):
    """LRANGE's reply (a Bulks array, encoded without a per-item check) over lists
    past 8 items: empty, binary and 1,024-byte-and-longer elements, packed chunks,
    inside MULTI and through a script, in RESP2 and RESP3."""
    items = [b"", b"a", b"\r\n", b"\x00\xff", b"x" * 1023, b"y" * 1024, b"z" * 5000]
    items += [b"%d" % i for i in range(600)]
    differ.check(
        ("DEL", "big"), ("RPUSH", "big", *items),
        ("LRANGE", "big", "0", "-1"), ("LRANGE", "big", "3", "12"),
        ("LRANGE", "big", "-300", "-2"), ("LRANGE", "big", "590", "1000"),
        ("LRANGE", "big", "5", "2"), ("LRANGE", "nosuch", "0", "-1"),
        ("MULTI",), ("LRANGE", "big", "0", "9"), ("EXEC",),
        ("EVAL", "return redis.call('lrange', KEYS[1], 0, 20)", "1", "big"),
        ("DEL", "big"))


def test_index_set_insert(differ):
    differ.check(
        "RPUSH l a b c b a", "LINDEX l 0", "LINDEX l -1", "LINDEX l 5", "LINDEX l -6",
        "LINDEX l x", "LINDEX missing 0", "LINDEX missing x", "SET str v", "LINDEX str x",
        "LSET missing x y", "LSET str x y", "LSET l 1 B", "LSET l -1 A", "LSET l 5 x",
        "LSET l -6 x", "LSET missing 0 x", "LSET l x y", "LRANGE l 0 -1",
        "LINSERT l BEFORE b X", "LINSERT l after A Y", "LINSERT l before nothere z",
        "LINSERT l middle a z", "LINSERT missing before a b", "LRANGE l 0 -1")


def test_lrem_ltrim(differ):
    differ.check(
        "RPUSH l a b a c a b a", "LREM l 2 a", "LRANGE l 0 -1", "LREM l -1 a",
        "LRANGE l 0 -1", "LREM l 0 b", "LRANGE l 0 -1", "LREM l 0 zz", "LREM l x a",
        "LREM missing 0 a", "LREM l 0 a", "LREM l 0 c", "EXISTS l",
        "RPUSH t 1 2 3 4 5 6", "LTRIM t 1 -2", "LRANGE t 0 -1", "LTRIM t -2 100",
        "LRANGE t 0 -1", "LTRIM t 5 1", "EXISTS t", "LTRIM missing 0 1", "LTRIM t a 1")


def test_lpos(differ):
    differ.check(
        "RPUSH l a b c a b c a", "LPOS l a", "LPOS l c", "LPOS l zz", "LPOS l a RANK 2",
        "LPOS l a RANK -1", "LPOS l a RANK -2", "LPOS l a RANK 5", "LPOS l a COUNT 0",
        "LPOS l a COUNT 2", "LPOS l a RANK -1 COUNT 2", "LPOS l a MAXLEN 3",
        "LPOS l a COUNT 0 MAXLEN 4", "LPOS l a RANK 2 COUNT 0 MAXLEN 4",
        "LPOS l a RANK 0", "LPOS l a COUNT -1", "LPOS l a MAXLEN -1", "LPOS l a foo 1",
        "LPOS l a RANK", "LPOS l a RANK x", "LPOS missing a", "LPOS missing a COUNT 1",
        "LPOS l a RANK -9223372036854775808", "LPOS l a RANK 9223372036854775807")


def test_lmove_rpoplpush_lmpop(differ):
    differ.check(
        "RPUSH s 1 2 3", "LMOVE s d LEFT RIGHT", "LMOVE s d RIGHT LEFT", "LRANGE s 0 -1",
        "LRANGE d 0 -1", "LMOVE s s LEFT RIGHT", "LMOVE s d UP LEFT", "LMOVE missing d left left",
        "RPOPLPUSH d d", "LRANGE d 0 -1", "RPOPLPUSH s d", "EXISTS s", "RPOPLPUSH missing d",
        "SET str x", "RPOPLPUSH d str", "LRANGE d 0 -1", "RPOPLPUSH str d",
        "RPUSH m1 a b c", "RPUSH m2 x", "LMPOP 2 empty m1 LEFT", "LMPOP 2 m1 m2 RIGHT COUNT 5",
        "LMPOP 1 m2 LEFT COUNT 1", "LMPOP 2 m1 m2 LEFT", "LMPOP 0 m1 LEFT",
        "LMPOP -1 m1 LEFT", "LMPOP abc m1 LEFT", "LMPOP 5 m1 LEFT", "LMPOP 1 m1 UP",
        "LMPOP 1 m1 LEFT COUNT 0", "LMPOP 1 m1 LEFT COUNT -1", "LMPOP 1 m1 LEFT COUNT",
        "LMPOP 1 m1 LEFT COUNT 1 COUNT 2", "LMPOP 1 str LEFT", "LMPOP 2 m1")


def test_wrongtype(differ):
    differ.check(
        "SET s x", "LPUSH s a", "RPUSH s a", "LPUSHX s a", "LPOP s", "RPOP s 2", "LLEN s",
        "LRANGE s 0 1", "LINDEX s 0", "LSET s 0 a", "LINSERT s before a b", "LREM s 0 a",
        "LTRIM s 0 1", "LPOS s a", "LMOVE s d left left", "RPUSH l a", "LMOVE l s left left",
        "LRANGE l 0 -1", "BLPOP s 0.01", "BLPOP missing s 0", "BLMOVE l s LEFT LEFT 0")


def test_blocking_immediate_and_errors(differ):
    differ.check(
        "RPUSH l a b", "BLPOP l 0", "BRPOP missing l 1", "BLPOP l 0.01", "BLPOP l -1",
        "BLPOP l abc", "BLPOP l inf", "BLPOP l 1e400", "RPUSH l c d",
        "BRPOPLPUSH l d 0", "BLMOVE l d RIGHT LEFT 0", "BLMOVE l d UP LEFT 0",
        "BLMOVE l d LEFT LEFT -1", "BRPOPLPUSH missing d 0.01", "BLMPOP 0.01 1 missing LEFT",
        "RPUSH l x y z", "BLMPOP 0 2 missing l RIGHT COUNT 2", "BLMPOP -1 1 l LEFT",
        "BLMPOP 0 0 l LEFT", "BLMPOP 0 1 l LEFT COUNT 0", "BLPOP missing 0.01",
        # the timeout is read after the rest, as in Redis
        "BLMPOP nan 1 l UP", "BLMPOP -1 1 l LEFT x", "BLMPOP x 0 l LEFT", "BLMPOP x 1 l LEFT")


# -- several connections -------------------------------------------------------------
# Multi-connection scenarios run on both servers (shared with other test modules).
_conn = connect
_compare = compare_scenario
_wait_blocked = wait_blocked


def test_fifo_among_three_waiters(differ):
    def scenario(port, protocol, admin):
        waiters = [_conn(port, protocol) for _ in range(3)]
        for i, conn in enumerate(waiters):
            conn.send("BLPOP", "q", "0")
            _wait_blocked(admin, i + 1)
        pushed = admin.call("RPUSH", "q", "a", "b")
        first, second = waiters[0].read_raw(), waiters[1].read_raw()
        admin.call("RPUSH", "q", "c")
        third = waiters[2].read_raw()
        rest = admin.call("LLEN", "q")
        for conn in waiters:
            conn.close()
        return [pushed, first, second, third, rest]
    _compare(differ, scenario)


@needs_multi
def test_wakeups_after_exec_and_multi_key(differ):
    def scenario(port, protocol, admin):
        waiter = _conn(port, protocol)
        waiter.send("BLPOP", "a", "b", "0")
        _wait_blocked(admin, 1)
        replies = [admin.call("MULTI"), admin.call("RPUSH", "b", "x"),
                   admin.call("RPUSH", "a", "y"), admin.call("EXEC")]
        replies.append(waiter.read_raw())
        replies.append(admin.call("LRANGE", "a", "0", "-1"))
        replies.append(admin.call("LRANGE", "b", "0", "-1"))
        waiter.close()
        return replies
    _compare(differ, scenario)


def test_blmove_chain(differ):
    def scenario(port, protocol, admin):
        first = _conn(port, protocol)
        second = _conn(port, protocol)
        first.send("BLMOVE", "src", "mid", "LEFT", "RIGHT", "0")
        _wait_blocked(admin, 1)
        second.send("BRPOPLPUSH", "mid", "dst", "0")
        _wait_blocked(admin, 2)
        replies = [admin.call("LPUSH", "src", "job"), first.read_raw(), second.read_raw(),
                   admin.call("LRANGE", "mid", "0", "-1"),
                   admin.call("LRANGE", "dst", "0", "-1")]
        first.close()
        second.close()
        return replies
    _compare(differ, scenario)


def test_timeout_and_pipelined_commands_wait(differ):
    def scenario(port, protocol, admin):
        waiter = _conn(port, protocol)
        started = time.time()
        waiter.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$3\r\n0.2\r\n"
                        b"*2\r\n$4\r\nECHO\r\n$5\r\nafter\r\n")
        timed_out = waiter.read_raw()
        elapsed = time.time() - started
        after = waiter.read_raw()
        waiter.close()
        return [timed_out, after, 0.15 < elapsed < 1.0]
    _compare(differ, scenario)


def test_disconnected_waiter_is_forgotten(differ):
    def scenario(port, protocol, admin):
        gone = _conn(port, protocol)
        gone.send("BLPOP", "q", "0")
        _wait_blocked(admin, 1)
        stays = _conn(port, protocol)
        stays.send("BLPOP", "q", "0")
        _wait_blocked(admin, 2)
        gone.close()
        _wait_blocked(admin, 1)
        replies = [admin.call("RPUSH", "q", "v"), stays.read_raw(), admin.call("LLEN", "q")]
        stays.close()
        return replies
    _compare(differ, scenario)


def test_waiter_closed_in_the_same_poll_as_a_push_is_served(differ):
    """A BRPOPLPUSH sent with its connection's close, read in the same poll as another
    client's push (the server busy meanwhile, in DEBUG SLEEP): the push serves the
    waiter before its close is seen, and the element goes to the destination with it,
    as in Redis. (A job queue whose worker sends BRPOPLPUSH and drops the connection at
    once can lose the next job on both; bee-queue's "should recover from a connection
    loss" did on miniredis under its suite's load, where the two land in one poll.)"""
    def scenario(port, protocol, admin):
        sleeper, waiter = _conn(port, protocol), _conn(port, protocol)
        sleeper.send("DEBUG", "SLEEP", "0.2")
        time.sleep(0.05)
        waiter.send("BRPOPLPUSH", "q", "d", "0")
        waiter.close()
        time.sleep(0.05)
        replies = [admin.call("LPUSH", "q", "v"), sleeper.read_raw(),
                   admin.call("LRANGE", "q", "0", "-1"), admin.call("LRANGE", "d", "0", "-1")]
        sleeper.close()
        return replies
    _compare(differ, scenario)


@needs_multi
def test_blocking_inside_multi_returns_at_once(differ):
    differ.check("MULTI", "BLPOP q 0", "BRPOPLPUSH q d 0", "BLMPOP 0 1 q LEFT", "EXEC")


def test_client_unblock(differ):
    def scenario(port, protocol, admin):
        waiter = _conn(port, protocol)
        client_id = int(waiter.call("CLIENT", "ID")[1:-2])
        waiter.send("BLPOP", "q", "0")
        _wait_blocked(admin, 1)
        replies = [admin.call("CLIENT", "UNBLOCK", str(client_id)), waiter.read_raw()]
        waiter.send("BLPOP", "q", "0")
        _wait_blocked(admin, 1)
        replies += [admin.call("CLIENT", "UNBLOCK", str(client_id), "ERROR"),
                    waiter.read_raw(), admin.call("CLIENT", "UNBLOCK", str(client_id)),
                    admin.call("CLIENT", "UNBLOCK", "999999"),
                    admin.call("CLIENT", "UNBLOCK", str(client_id), "FOO")]
        waiter.close()
        return replies
    _compare(differ, scenario)


def test_frozen_clock_fires_timeouts_on_advance(tmp_path):
    """On a server of its own: advancing the clock leaves that server ahead of real
    time, which would skew the shared server's TTLs against redis-server later."""
    from miniredis import Server
    with Server(port=0, dir=str(tmp_path)) as server:
        _frozen_clock_fires_timeouts_on_advance(server)


def _frozen_clock_fires_timeouts_on_advance(mini) -> None:
    clock = mini.state.clock
    conn = _conn(mini.port)
    clock.freeze()
    try:
        conn.send("BLPOP", "frozen", "5")
        time.sleep(0.3)
        conn.sock.settimeout(0.2)
        with pytest.raises(OSError):
            conn.sock.recv(10)
        clock.advance(6)
        conn.sock.settimeout(5)
        assert conn.read_raw() == b"*-1\r\n"
    finally:
        clock.unfreeze()
        conn.close()
