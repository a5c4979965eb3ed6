"""Requests that reach the server in the same loop iteration run in arrival order.

Redis serves the connections one ``epoll_wait`` reports ready in the order they
became ready; libev, left alone, runs them in reverse (see miniredis.readiness).
Every test here writes to several connections while the server is inside
``DEBUG SLEEP`` (sent on another connection), so that all of them are ready at once
when it wakes, then compares what each connection saw with redis-server doing the
same. Each situation runs several times: a reversed order cannot pass by luck.
"""
from __future__ import annotations

import random
import socket
import time
from typing import Any, Callable, List, Sequence, Tuple

import pytest

from tests.harness import RawConnection, compare_scenario, connect, wait_blocked

REPEATS = 4
SLEEP = "0.1"          # DEBUG SLEEP while the writes arrive
SETTLE = 0.03          # the server is asleep by then


def _same_instant(admin: RawConnection, writes: Sequence[Tuple[RawConnection, List[Any]]]
                  ) -> None:
    """Send each (connection, command) in turn while the server sleeps, so that the
    server finds all of them ready in one poll."""
    admin.send("DEBUG", "SLEEP", SLEEP)
    time.sleep(SETTLE)
    for conn, command in writes:
        conn.send(*command)
    assert admin.read_raw() == b"+OK\r\n"


def _read_until_pong(conn: RawConnection) -> List[bytes]:
    """Every reply and push up to the reply of a PING sent now (its marker)."""
    conn.send("PING", "marker")
    seen = []
    while True:
        raw = conn.read_raw()
        if raw in (b"$6\r\nmarker\r\n", b"*2\r\n$4\r\npong\r\n$6\r\nmarker\r\n"):
            return seen
        seen.append(raw)


def _repeat(body: Callable[[int, int, RawConnection, int], List[Any]]) -> Any:
    """A scenario running ``body`` REPEATS times on fresh connections."""
    def scenario(port: int, protocol: int, admin: RawConnection) -> List[Any]:
        return [body(port, protocol, admin, round) for round in range(REPEATS)]
    return scenario


def _exec_then_lpush(port: int, protocol: int, admin: RawConnection, round: int
                     ) -> List[Any]:
    one, two = connect(port, protocol), connect(port, protocol)
    key = "l%d" % round
    try:
        one.call("MULTI")
        one.call("LRANGE", key, 0, -1)
        _same_instant(admin, [(one, ["EXEC"]), (two, ["LPUSH", key, "pushed"])])
        return [one.read_raw(), two.read_raw()]
    finally:
        one.close()
        two.close()


def _watch_exec_then_set(port: int, protocol: int, admin: RawConnection, round: int
                         ) -> List[Any]:
    one, two = connect(port, protocol), connect(port, protocol)
    key = "w%d" % round
    try:
        one.call("WATCH", key)
        one.call("MULTI")
        one.call("SET", key, "from-exec")
        _same_instant(admin, [(one, ["EXEC"]), (two, ["SET", key, "from-set"])])
        return [one.read_raw(), two.read_raw(), admin.call("GET", key)]
    finally:
        one.close()
        two.close()


def _exec_lpush_lrange(port: int, protocol: int, admin: RawConnection, round: int
                       ) -> List[Any]:
    """Three connections."""
    conns = [connect(port, protocol) for _ in range(3)]
    key = "t%d" % round
    try:
        conns[0].call("MULTI")
        conns[0].call("LRANGE", key, 0, -1)
        _same_instant(admin, [(conns[0], ["EXEC"]), (conns[1], ["LPUSH", key, "x"]),
                              (conns[2], ["LRANGE", key, 0, -1])])
        return [conn.read_raw() for conn in conns]
    finally:
        for conn in conns:
            conn.close()


def _punsubscribe_then_publish(port: int, protocol: int, admin: RawConnection,
                               round: int) -> List[Any]:
    """pubsub.tcl's 'PUBLISH/PSUBSCRIBE after PUNSUBSCRIBE without arguments'."""
    sub, pub = connect(port, protocol), connect(port, protocol)
    try:
        sub.send("PSUBSCRIBE", "chan1.*", "chan2.*", "chan3.*")
        subscribed = [sub.read_raw() for _ in range(3)]
        _same_instant(admin, [(sub, ["PUNSUBSCRIBE"]),
                              (pub, ["PUBLISH", "chan1.hi", "hello"])])
        published = [pub.read_raw(), pub.call("PUBLISH", "chan2.hi", "hello")]
        return [subscribed, published, sorted(_read_until_pong(sub))]
    finally:
        sub.close()
        pub.close()


def _unsubscribe_then_publish(port: int, protocol: int, admin: RawConnection,
                              round: int) -> List[Any]:
    sub, pub = connect(port, protocol), connect(port, protocol)
    try:
        sub.call("SUBSCRIBE", "news")
        _same_instant(admin, [(sub, ["UNSUBSCRIBE", "news"]),
                              (pub, ["PUBLISH", "news", "late"])])
        return [pub.read_raw(), _read_until_pong(sub)]
    finally:
        sub.close()
        pub.close()


def _xreadgroup_then_del(port: int, protocol: int, admin: RawConnection, round: int
                         ) -> List[Any]:
    """stream-cgroups.tcl's 'Blocking XREADGROUP: key deleted', both at once."""
    reader, other = connect(port, protocol), connect(port, protocol)
    try:
        admin.call("XADD", "s", "666", "f", "v")
        admin.call("XGROUP", "CREATE", "s", "g", "$")
        _same_instant(admin, [
            (reader, ["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"]),
            (other, ["DEL", "s"])])
        return [other.read_raw(), reader.read_raw()]
    finally:
        reader.close()
        other.close()


def _many_rpush(port: int, protocol: int, admin: RawConnection, round: int) -> List[Any]:
    """Many connections at once, written in a shuffled order: the list records the
    order the server ran them in."""
    conns = [connect(port, protocol) for _ in range(12)]
    order = list(range(len(conns)))
    random.Random(round).shuffle(order)
    key = "m%d" % round
    try:
        _same_instant(admin, [(conns[i], ["RPUSH", key, str(i)]) for i in order])
        for conn in conns:
            conn.read_raw()
        ran = admin.call("LRANGE", key, 0, -1)
        # The premise, on both servers: the order the writes were sent in.
        expected = b"".join(b"$%d\r\n%d\r\n" % (len(str(i)), i) for i in order)
        assert ran.endswith(expected), (ran, order)
        return [ran]
    finally:
        for conn in conns:
            conn.close()


def _set_then_killed(port: int, protocol: int, admin: RawConnection, round: int
                     ) -> List[Any]:
    """A client killed by a command of the same poll loses the reply of its own
    request that ran just before: replies are written once the poll's requests have
    all run (Redis's beforeSleep), and killing a client discards what it has not
    been sent. Its write did happen."""
    one, two = connect(port, protocol), connect(port, protocol)
    key = "k%d" % round
    try:
        victim = int(one.call("CLIENT", "ID")[1:-2])
        # (reads no longer than an earlier one take miniredis's shortest path)
        one.call("SET", key, "x" * 64)
        one.call("DEL", key)
        _same_instant(admin, [(one, ["SET", key, "v"]),
                              (two, ["CLIENT", "KILL", "ID", str(victim)])])
        try:
            seen = one.read_raw()
        except (ConnectionError, OSError):
            seen = b"closed"
        return [seen, two.read_raw(), admin.call("GET", key)]
    finally:
        one.close()
        two.close()


def _reply_during_busy_script(port: int, protocol: int, admin: RawConnection,
                              round: int) -> List[Any]:
    """A reply left for the end of the poll goes out while a script of the same poll
    is busy: the busy script serves the loop, and that sends pending replies (Redis's
    processEventsWhileBlocked runs beforeSleep)."""
    one, two, killer = (connect(port, protocol) for _ in range(3))
    key = "b%d" % round
    try:
        admin.call("CONFIG", "SET", "busy-reply-threshold", "50")
        _same_instant(admin, [(one, ["SET", key, "v"]),
                              (two, ["EVAL", "while true do end", "0"])])
        seen = one.read_raw()       # (would wait for ever if it waited for the script)
        while True:
            killed = killer.call("SCRIPT", "KILL")
            if killed == b"+OK\r\n":
                break
            time.sleep(0.01)        # (-NOTBUSY until the script passes the threshold)
        return [seen, two.read_raw(), admin.call("GET", key)]
    finally:
        admin.call("CONFIG", "SET", "busy-reply-threshold", "5000")
        for conn in (one, two, killer):
            conn.close()


@pytest.mark.parametrize("body", [
    _reply_during_busy_script, _set_then_killed, _exec_then_lpush, _watch_exec_then_set,
    _exec_lpush_lrange,
    _punsubscribe_then_publish, _unsubscribe_then_publish, _xreadgroup_then_del,
    _many_rpush,
], ids=lambda body: body.__name__.strip("_"))
def test_same_instant_order(differ, body):
    compare_scenario(differ, _repeat(body), protocols=(2,))


def test_same_instant_resp3(differ):
    """The pub/sub case again with RESP3 subscribers (pushes, not replies)."""
    compare_scenario(differ, _repeat(_punsubscribe_then_publish), protocols=(3,))


def test_expected_order_is_not_luck(differ):
    """The observations above do depend on the order: run one after the other in
    the reversed order, EXEC sees the pushed element and PUBLISH reaches the
    pattern subscriber (on both servers)."""
    for port in differ.ports.values():
        admin = connect(port)
        admin.call("FLUSHALL")
        one, two = connect(port), connect(port)
        one.call("MULTI")
        one.call("LRANGE", "r", 0, -1)
        assert two.call("LPUSH", "r", "pushed") == b":1\r\n"
        assert one.call("EXEC") == b"*1\r\n*1\r\n$6\r\npushed\r\n"
        for conn in (admin, one, two):
            conn.close()


def test_accept_takes_its_turn(differ):
    """A connection accepted in the same poll as a request that counts clients is
    counted by it only if it connected first (both servers). Counted from the number
    of clients just before: other tests' connections may linger."""
    def connected(info: bytes) -> int:
        return int(info.split(b"connected_clients:")[1].split(b"\r\n")[0])

    def body(port: int, protocol: int, admin: RawConnection, round: int) -> List[Any]:
        lister = connect(port, protocol)
        late = None
        try:
            before = connected(lister.call("INFO", "clients"))
            admin.send("DEBUG", "SLEEP", SLEEP)
            time.sleep(SETTLE)
            if round % 2:
                lister.send("INFO", "clients")
                late = socket.create_connection(("127.0.0.1", port))
            else:
                late = socket.create_connection(("127.0.0.1", port))
                lister.send("INFO", "clients")
            assert admin.read_raw() == b"+OK\r\n"
            return [connected(lister.read_raw()) - before]
        finally:
            lister.close()
            if late is not None:
                late.close()
            time.sleep(0.05)    # the closes are seen before the next round counts
    compare_scenario(differ, _repeat(body), protocols=(2,))


def test_batch_of_big_replies_some_clients_gone(differ):
    """Forty connections ask for a ~600 KB reply in one poll and half of them are
    reset before the server wakes: the batch's writes (sent together after the poll,
    most of them only partly taken by the socket) reach every remaining client whole,
    and the server goes on serving (both servers)."""
    items = [b"item:%015d" % i for i in range(30000)]
    expected_len = len(b"*%d\r\n" % len(items)) + sum(
        len(b"$%d\r\n%s\r\n" % (len(item), item)) for item in items)
    for port in differ.ports.values():
        admin = connect(port)
        admin.call("DEL", "big")
        for start in range(0, len(items), 1000):
            admin.call("RPUSH", "big", *items[start:start + 1000])
        conns = [connect(port) for _ in range(40)]
        admin.send("DEBUG", "SLEEP", "0.3")
        time.sleep(SETTLE)
        for conn in conns:
            conn.send("LRANGE", "big", 0, -1)
        for conn in conns[::2]:     # gone before the server reads them: RST
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()
        assert admin.read_raw() == b"+OK\r\n"
        for conn in conns[1::2]:
            reply = conn.read_raw()
            assert len(reply) == expected_len
            assert reply.endswith(b"$20\r\n%s\r\n" % items[-1])
            assert conn.call("PING") == b"+PONG\r\n"
            conn.close()
        assert admin.call("LLEN", "big") == b":%d\r\n" % len(items)
        admin.call("DEL", "big")
        admin.close()


def _busy_script_then_allowed_command(port: int, protocol: int,
                                      admin: RawConnection) -> List[Any]:
    """A busy script pushes to a list a client waits on, then waits for a command the
    BUSY state allows (HELLO ... SETNAME) to arrive: nothing serves the waiter before
    the script ends -- not that command, not the cron (Redis runs no serverCron while
    a script is busy) -- so it pops the script's last push (unit/scripting's "Timedout
    scripts and unblocked command")."""
    waiter, runner, other = (connect(port, protocol) for _ in range(3))
    try:
        admin.call("DEL", "bx")
        waiter.send("BLPOP", "bx", "0")
        wait_blocked(admin, 1)
        admin.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
        admin.call("CONFIG", "SET", "busy-reply-threshold", "10")
        runner.send("EVAL", "redis.call('lpush', KEYS[1], 'y') "
                            "local clients "
                            "while true do clients = redis.call('client', 'list') "
                            "if string.find(clients, 'abortscript') ~= nil then break end "
                            "end "
                            "redis.call('lpush', KEYS[1], 'z') return 'done'", "1", "bx")
        time.sleep(0.3)     # busy for a while: the cron (hz 10) had its chances
        busy = admin.call("PING")
        hello = other.call("HELLO", "2", "SETNAME", "abortscript")
        return [busy[:5], hello[:1], waiter.read_raw(), runner.read_raw(),
                admin.call("LRANGE", "bx", "0", "-1")]
    finally:
        admin.call("CONFIG", "SET", "busy-reply-threshold", "5000")
        admin.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
        for conn in (waiter, runner, other):
            conn.close()


def test_busy_script_serves_no_blocked_client(differ):
    compare_scenario(differ, _busy_script_then_allowed_command, protocols=(2,))
