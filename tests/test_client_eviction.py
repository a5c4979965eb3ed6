"""maxmemory-clients (client eviction), differential against redis-server (Redis's
unit/client-eviction and more): which client goes (the biggest first, never a
CLIENT NO-EVICT one), when (a pipelined request after the crossing does not run),
what it gets (nothing), INFO's evicted_clients, DEBUG CLIENT-EVICTION, and the parts
of tot-mem that count (CLIENT LIST multi-mem, queued commands, watched keys,
subscriptions, BCAST prefixes). Also: a client that pipelines without reading its
replies goes on being read (Redis's clients are), and CONFIG SET maxmemory inside
MULTI evicts after the transaction.

Both servers are this module's own (eviction closes whatever is biggest: no other
test's connections may be around), started with hz 1 and the reply buffers' resizing
off, so that tot-mem moves only with what a scenario does.
"""
from __future__ import annotations

import re
import socket
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from miniredis import Server
from tests.harness import (RawConnection, RedisProcess, parse_raw, received,
                           redis_server_or_skip)

KB = 1024


@pytest.fixture(scope="module")
def ports(tmp_path_factory) -> Iterator[Dict[str, int]]:
    real = RedisProcess(redis_server_or_skip(), ["--hz", "1"])
    mini = Server(port=0, dir=str(tmp_path_factory.mktemp("evict")), hz=1)
    mini.start()
    try:
        yield {"redis": real.port, "miniredis": mini.port}
    finally:
        mini.stop()
        real.stop()


def _compare(ports: Dict[str, int], scenario: Callable[[int, RawConnection], Any]) -> Any:
    """Run ``scenario(port, admin)`` on both servers (the admin connection is exempt
    from eviction and restores the defaults afterwards); assert equal results."""
    results = {}
    for name, port in ports.items():
        admin = RawConnection(port)
        admin.call("CLIENT", "SETNAME", "admin")
        admin.call("CLIENT", "NO-EVICT", "on")
        admin.call("DEBUG", "REPLYBUFFER", "RESIZING", "0")
        admin.call("FLUSHALL")
        admin.call("CONFIG", "RESETSTAT")
        try:
            results[name] = scenario(port, admin)
        finally:
            admin.call("CONFIG", "SET", "maxmemory-clients", "0")
            admin.call("CONFIG", "SET", "maxmemory", "0")
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            admin.call("DEBUG", "REPLYBUFFER", "RESIZING", "1")
            admin.call("FLUSHALL")
            admin.close()
    assert results["miniredis"] == results["redis"], results
    return results["redis"]


def _text(raw: bytes) -> str:
    """A bulk (or verbatim) reply's text."""
    return parse_raw(raw)[1].decode()


def _listing(admin: RawConnection) -> Dict[str, Dict[str, str]]:
    """CLIENT LIST by client name (unnamed clients left out)."""
    text = _text(admin.call("CLIENT", "LIST"))
    out = {}
    for line in text.strip().split("\n"):
        fields = dict(re.findall(r"([a-z-]+)=(\S*)", line))
        if fields.get("name"):
            out[fields["name"]] = fields
    return out


def _stat(admin: RawConnection, field: str) -> int:
    info = _text(admin.call("INFO", "stats"))
    return int(re.search(r"%s:(\d+)" % field, info).group(1))


def _named(port: int, name: str, rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(10)
    sock.sendall(b"CLIENT SETNAME %s\r\n" % name.encode())
    assert sock.recv(100) == b"+OK\r\n"
    return sock


def _send(sock: socket.socket, data: bytes) -> None:
    """sendall, for a connection the server may close meanwhile."""
    try:
        sock.sendall(data)
    except OSError:
        pass


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "condition not reached"
        time.sleep(0.01)


def _incomplete(size: int) -> bytes:
    """A SET whose value is announced as ``size`` + 1 bytes and sent as ``size``."""
    return b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s" % (size + 1, b"v" * size)


# -- who is evicted, and when ------------------------------------------------------------
def _query_buffer(port: int, admin: RawConnection) -> List[Any]:
    admin.call("CONFIG", "SET", "maxmemory-clients", "1mb")
    victim = _named(port, "victim")
    try:
        _send(victim, _incomplete(1500 * KB))
        got = received(victim, 10.0, must_close=True)
    finally:
        victim.close()
    return [got, "victim" in _listing(admin), _stat(admin, "evicted_clients"),
            admin.call("EXISTS", "k")]


def test_evicted_for_its_query_buffer(ports):
    assert _compare(ports, _query_buffer) == [b"", False, 1, b":0\r\n"]


def _percentage(port: int, admin: RawConnection) -> List[Any]:
    """A percentage of maxmemory: nothing while maxmemory is 0, then its share."""
    admin.call("CONFIG", "SET", "maxmemory-clients", "10%")
    victim = _named(port, "victim")
    try:
        victim.sendall(_incomplete(1500 * KB))
        _wait_for(lambda: int(_listing(admin)["victim"]["qbuf"]) >= 1500 * KB)
        kept = "victim" in _listing(admin)
        admin.call("CONFIG", "SET", "maxmemory", "10mb")   # the limit becomes 1 MB
        got = received(victim, 10.0, must_close=True)
    finally:
        victim.close()
    return [kept, got, _stat(admin, "evicted_clients"),
            admin.call("CONFIG", "GET", "maxmemory-clients")]


def test_percentage_of_maxmemory(ports):
    assert _compare(ports, _percentage)[:3] == [True, b"", 1]


def _output_buffer(port: int, admin: RawConnection) -> List[Any]:
    admin.call("SETRANGE", "big", str(200 * KB), "v")
    admin.call("CONFIG", "SET", "maxmemory-clients", "2mb")
    reader = _named(port, "reader", rcvbuf=4096)
    try:
        for _ in range(400):        # 80 MB of replies, never read
            try:
                reader.sendall(b"GET big\r\n")
            except OSError:
                break
            if "reader" not in _listing(admin):
                break
        gone = "reader" not in _listing(admin)
    finally:
        reader.close()
    return [gone, _stat(admin, "evicted_clients")]


def test_evicted_for_replies_it_does_not_read(ports):
    assert _compare(ports, _output_buffer) == [True, 1]


def _pipeline_stops(port: int, admin: RawConnection) -> List[Any]:
    """The request after the one whose reply crossed the limit never runs, and none
    of the replies is sent."""
    admin.call("SETRANGE", "big", str(300 * KB), "v")
    admin.call("CONFIG", "SET", "maxmemory-clients", "1")      # 128 KB at least
    victim = _named(port, "victim")
    try:
        victim.sendall(b"SET before 1\r\nGET big\r\nSET after 1\r\nGET big\r\n")
        got = received(victim, 10.0, must_close=True)
    finally:
        victim.close()
    return [got, admin.call("MGET", "before", "after"),
            _stat(admin, "evicted_clients")]


def test_pipelined_requests_after_the_crossing_do_not_run(ports):
    assert _compare(ports, _pipeline_stops) == [b"", b"*2\r\n$1\r\n1\r\n$-1\r\n", 1]


def _biggest_first(port: int, admin: RawConnection) -> List[Any]:
    """Clients in different size buckets: lowering the limit closes the biggest."""
    socks = []
    try:
        for name, size in (("small", 60 * KB), ("medium", 200 * KB),
                           ("large", 700 * KB)):
            sock = _named(port, name)
            sock.sendall(_incomplete(size))
            socks.append(sock)
            _wait_for(lambda: int(_listing(admin)[name]["qbuf"]) >= size)
        seen = []
        for drop in ("large", "medium"):
            listing = _listing(admin)
            total = sum(int(fields["tot-mem"]) for fields in listing.values())
            limit = total - int(listing[drop]["tot-mem"]) + 1
            admin.call("CONFIG", "SET", "maxmemory-clients", str(limit))
            seen.append(sorted(_listing(admin)))
        return seen + [_stat(admin, "evicted_clients")]
    finally:
        for sock in socks:
            sock.close()


def test_biggest_clients_go_first(ports):
    assert _compare(ports, _biggest_first) == [
        ["admin", "medium", "small"], ["admin", "small"], 2]


def _no_evict(port: int, admin: RawConnection) -> List[Any]:
    """A NO-EVICT client past the limit stays; turned off, it gets its reply and is
    closed. Nobody else is evicted in its place."""
    admin.call("CONFIG", "SET", "maxmemory-clients", "1")      # 128 KB
    other = _named(port, "other")
    keeper = _named(port, "keeper")
    try:
        keeper.sendall(b"CLIENT NO-EVICT on\r\n")
        assert keeper.recv(100) == b"+OK\r\n"
        keeper.sendall(b"WATCH " + b" ".join(b"key%d" % i for i in range(3000)) + b"\r\n")
        assert keeper.recv(100) == b"+OK\r\n"
        admin.call("PING")
        still = sorted(_listing(admin))
        keeper.sendall(b"CLIENT NO-EVICT off\r\n")
        got = received(keeper, 10.0, must_close=True)
        return [still, got, sorted(_listing(admin)), _stat(admin, "evicted_clients")]
    finally:
        other.close()
        keeper.close()


def test_no_evict_clients_are_exempt(ports):
    assert _compare(ports, _no_evict) == [
        ["admin", "keeper", "other"], b"+OK\r\n", ["admin", "other"], 1]


def _subscriber(port: int, admin: RawConnection) -> List[Any]:
    """A subscriber that does not read its messages: counted as they are queued."""
    admin.call("CONFIG", "SET", "maxmemory-clients", "1mb")
    listener = _named(port, "listener", rcvbuf=4096)
    try:
        listener.sendall(b"SUBSCRIBE news\r\n")
        _wait_for(lambda: _listing(admin)["listener"]["sub"] == "1")
        message = "m" * (100 * KB)
        for _ in range(300):
            admin.call("PUBLISH", "news", message)
            if "listener" not in _listing(admin):
                break
        return ["listener" in _listing(admin), _stat(admin, "evicted_clients")]
    finally:
        listener.close()


def test_subscriber_evicted_for_its_messages(ports):
    assert _compare(ports, _subscriber) == [False, 1]


def _debug_buckets(port: int, admin: RawConnection) -> List[Any]:
    disabled = admin.call("DEBUG", "CLIENT-EVICTION")
    admin.call("CONFIG", "SET", "maxmemory-clients", "1gb")
    text = _text(admin.call("DEBUG", "CLIENT-EVICTION"))
    # (the admin is exempt: every bucket is empty)
    return [disabled, text]


def test_debug_client_eviction(ports):
    disabled, text = _compare(ports, _debug_buckets)
    assert disabled == b"-ERR maxmemory-clients is disabled.\r\n"
    assert text.count("\n") == 19 and "bucket 4294967296+" in text


# -- what tot-mem counts -------------------------------------------------------------------
def _structures(port: int, admin: RawConnection) -> List[Any]:
    """tot-mem's growth (and multi=, multi-mem=) after each step, for one client."""
    conn = RawConnection(port)
    conn.call("CLIENT", "SETNAME", "probe")
    steps: List[List[bytes]] = [
        [b"MULTI"], [b"SET", b"a", b"b"], [b"GET", b"a"], [b"HSET", b"h", b"f", b"v"],
        [b"DISCARD"],
        [b"MULTI"], [b"SET", b"a", b"b"], [b"NOSUCHCOMMAND"], [b"SET", b"c", b"d"],
        [b"DISCARD"],
        [b"WATCH", b"w1", b"w2", b"w3"], [b"UNWATCH"],
        [b"SUBSCRIBE", b"c1", b"c2", b"c3"], [b"UNSUBSCRIBE", b"c1"],
        [b"PSUBSCRIBE", b"p1", b"p2"], [b"SSUBSCRIBE", b"s1"], [b"RESET"],
        [b"CLIENT", b"TRACKING", b"ON", b"BCAST"], [b"CLIENT", b"TRACKING", b"OFF"],
        [b"CLIENT", b"TRACKING", b"ON", b"BCAST", b"PREFIX", b"foo", b"PREFIX", b"fob",
         b"PREFIX", b"bar", b"PREFIX", b"baz", b"PREFIX", b"x"],
        [b"CLIENT", b"TRACKING", b"ON", b"BCAST", b"PREFIX", b"fa", b"PREFIX", b"bat"],
        [b"CLIENT", b"TRACKING", b"OFF"],
        [b"CLIENT", b"TRACKING", b"ON", b"BCAST", b"PREFIX", b"user:1a", b"PREFIX",
         b"user:2", b"PREFIX", b"user:10", b"PREFIX", b"order:", b"PREFIX", b"zz",
         b"PREFIX", b"zy"],
        [b"CLIENT", b"TRACKING", b"ON", b"BCAST", b"PREFIX", b"user:1b", b"PREFIX",
         b"user:3", b"PREFIX", b"q"],
    ]
    try:
        base = int(_listing(admin)["probe"]["tot-mem"])
        seen = []
        for step in steps:
            conn.send(*step)
            conn.read_raw()
            if step[0] == b"RESET":     # (which forgets the name too)
                conn.call("CLIENT", "SETNAME", "probe")
            if step[0] in (b"SUBSCRIBE", b"PSUBSCRIBE", b"SSUBSCRIBE", b"UNSUBSCRIBE"):
                for _ in range(len(step) - 2):  # one notice per channel
                    conn.read_raw()
            fields = _listing(admin)["probe"]
            seen.append((step[0], int(fields["tot-mem"]) - base, fields["multi"],
                         fields["multi-mem"]))
        return seen
    finally:
        conn.close()


def test_tot_mem_counts_transactions_watches_subscriptions_prefixes(ports):
    seen = _compare(ports, _structures)
    assert seen[2][1:] == (97, "2", "49")           # two queued commands: 49 + 2 slots
    assert seen[8][2] == "1"        # nothing is queued after a refused command


# -- a client that does not read its replies ---------------------------------------------
def _read_on(port: int, admin: RawConnection) -> List[Any]:
    """A client that pipelines 3,000 requests whose replies (30 MB) it does not read:
    every request runs (nothing bounds its replies but the limits it has none of)."""
    admin.call("SETRANGE", "value", str(10 * KB - 1), "v")
    piper = _named(port, "piper", rcvbuf=4096)
    try:
        piper.sendall(b"INCR counter\r\nGET value\r\n" * 3000)

        def done() -> bool:
            return admin.call("GET", "counter") == b"$4\r\n3000\r\n"
        try:
            _wait_for(done, 5)
        except AssertionError:
            pass
        return [admin.call("GET", "counter")]
    finally:
        piper.close()


def test_client_not_reading_its_replies_is_still_read(ports):
    assert _compare(ports, _read_on) == [b"$4\r\n3000\r\n"]


def _maxmemory_in_multi(port: int, admin: RawConnection) -> List[Any]:
    """CONFIG SET maxmemory inside a transaction evicts after it (Redis's
    startEvictionTimeProc), not between its commands."""
    admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    admin.call("MULTI")
    admin.call("INCR", "x")
    admin.call("CONFIG", "SET", "maxmemory", "1")
    admin.call("INCR", "x")
    replies = admin.call("EXEC")
    _wait_for(lambda: admin.call("DBSIZE") == b":0\r\n")
    return [replies]


def test_maxmemory_set_in_multi_evicts_after_it(ports):
    assert _compare(ports, _maxmemory_in_multi) == [b"*3\r\n:1\r\n+OK\r\n:2\r\n"]


# -- maxmemory and a replica's buffer ----------------------------------------------------
def _replica_buffer(port: int, admin: RawConnection) -> List[Any]:
    """A replica that stopped reading: its share of the replication buffer is not
    counted for maxmemory (mem_not_counted_for_evict), so no key is evicted for it,
    nor is it counted in mem_clients_normal."""
    admin.call("CONFIG", "SET", "hz", "10")
    admin.call("CONFIG", "SET", "repl-diskless-sync", "no")
    admin.call("CONFIG", "SET", "repl-backlog-size", "16384")
    admin.call("CONFIG", "SET", "client-output-buffer-limit", "replica 0 0 0")
    admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    admin.call("DEBUG", "POPULATE", "100", "key", "1000")
    replica = socket.socket()
    replica.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    replica.connect(("127.0.0.1", port))
    try:
        replica.sendall(b"SYNC\r\n")
        _wait_for(lambda: b"slave0:" in admin.call("INFO", "replication"))
        time.sleep(0.5)
        info = _text(admin.call("INFO", "memory"))
        used = int(re.search(r"used_memory:(\d+)", info).group(1))
        free = int(re.search(r"mem_not_counted_for_evict:(\d+)", info).group(1))
        admin.call("CONFIG", "SET", "maxmemory", str(used - free + 256 * KB))
        value = "A" * 100
        admin.send_raw(b"".join(b"SETRANGE key:0 0 %s\r\n" % value.encode()
                                for _ in range(60000)))
        for _ in range(60000):
            admin.read_raw()
        time.sleep(1.2)     # (both servers' crons have looked at every client)
        info = _text(admin.call("INFO", "memory"))
        buffered = int(re.search(r"mem_clients_slaves:(\d+)", info).group(1))
        normal = int(re.search(r"mem_clients_normal:(\d+)", info).group(1))
        return [admin.call("DBSIZE"), _stat(admin, "evicted_keys"),
                buffered > 2 * 1024 * KB, normal < 1024 * KB]
    finally:
        replica.close()
        admin.call("CONFIG", "SET", "maxmemory", "0")
        admin.call("CONFIG", "SET", "hz", "1")
        admin.call("CONFIG", "SET", "repl-diskless-sync", "yes")
        admin.call("CONFIG", "SET", "repl-backlog-size", "1mb")
        admin.call("CONFIG", "SET", "client-output-buffer-limit",
                   "replica 268435456 67108864 60")


def test_replica_buffer_not_counted_for_maxmemory(ports):
    assert _compare(ports, _replica_buffer) == [b":100\r\n", 0, True, True]
