"""FAILOVER (Redis 6.2's coordinated failover): refusals compared with a real
redis-server, and the three pairings (miniredis master -> redis-server replica,
redis-server master -> miniredis replica, miniredis <-> miniredis) ending with the roles
swapped, the datasets identical and no acknowledged write lost; TIMEOUT without FORCE
aborts; FORCE fails over anyway; ABORT.

Every test starts its own servers on free ports (miniredis in-process, redis-server as
a process).
"""
from __future__ import annotations

import contextlib
import signal
import shutil
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
import redis

from miniredis import Server
from tests.harness import RedisProcess, redis_server_or_skip
from tests.replutil import wait_until


@contextlib.contextmanager
def frozen(node: Any):
    """``node``'s process stopped for the block (SIGSTOP: no ACKs), then resumed."""
    node.proc.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        node.proc.proc.send_signal(signal.SIGCONT)


# -- servers -------------------------------------------------------------------------------
class Node:
    """One server of a pairing: a miniredis (in-process) or a redis-server process."""

    def __init__(self, kind: str, *extra: str) -> None:
        self.kind = kind
        self.dir: Optional[str] = None
        self.server: Any = None
        self.proc: Any = None
        if kind == "mini":
            self.dir = tempfile.mkdtemp(prefix="mini-failover-")
            self.server = Server(port=0, dir=self.dir)
            self.server.start()
            self.port = self.server.port
        else:
            self.proc = RedisProcess(redis_server_or_skip(), list(extra))
            self.port = self.proc.port
        self.r = redis.Redis(port=self.port, socket_timeout=20)
        self.r.config_set("repl-diskless-sync-delay", "0")

    def info(self) -> Dict[str, Any]:
        return self.r.info("replication")

    def replicate(self, master: "Node") -> None:
        self.r.replicaof("127.0.0.1", master.port)
        wait_until(lambda: self.info().get("master_link_status") == "up", 30,
                   "the replica's link")

    def dataset(self) -> Dict[Tuple[int, bytes], Tuple[bytes, int]]:
        """Every key of every database: its DUMP payload and TTL (seconds)."""
        found = {}
        for db in range(16):
            conn = redis.Redis(port=self.port, db=db)
            for key in conn.scan_iter(count=1000):
                found[(db, key)] = (conn.dump(key), conn.ttl(key))
            conn.close()
        return found

    def stop(self) -> None:
        self.r.close()
        if self.server is not None:
            self.server.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            self.proc.stop()


@pytest.fixture
def nodes():
    started: List[Node] = []

    def make(kind: str, *extra: str) -> Node:
        node = Node(kind, *extra)
        started.append(node)
        return node
    yield make
    for node in started:
        node.stop()


def caught_up(master: Node, replica: Node) -> None:
    def done() -> bool:
        info = replica.info()
        return info.get("master_link_status") == "up" and \
            info["master_repl_offset"] == master.info()["master_repl_offset"]
    wait_until(done, 30, "the replica to catch up")


def assert_same_data(*nodes: Node) -> int:
    """Every node holds the same keys with the same DUMP payloads, TTLs within a
    second (they are read one after another). Returns the number of keys."""
    first = nodes[0].dataset()
    for node in nodes[1:]:
        other = node.dataset()
        assert first.keys() == other.keys()
        for key, (payload, ttl) in first.items():
            assert other[key][0] == payload, key
            assert abs(other[key][1] - ttl) <= 1, key
    return len(first)


def error_of(node: Node, *args: Any) -> str:
    try:
        reply = node.r.execute_command(*args)
    except redis.ResponseError as exc:
        return str(exc)
    return "reply: %r" % (reply,)


def load(node: Node, count: int = 200) -> None:
    """A mixed dataset: strings with TTLs, lists, hashes, sets, zsets, a stream."""
    pipe = node.r.pipeline(transaction=False)
    for i in range(count):
        pipe.set("s:%d" % i, "v%d" % i, ex=1000 + i if i % 3 == 0 else None)
        pipe.rpush("l:%d" % (i % 10), i)
        pipe.hset("h:%d" % (i % 7), "f%d" % i, i)
        pipe.sadd("set", i)
        pipe.zadd("z", {"m%d" % i: i})
        pipe.xadd("stream", {"n": i})
    pipe.execute()
    node.r.execute_command("SELECT", 0)
    other = redis.Redis(port=node.port, db=3)
    other.set("db3", "x")
    other.close()


# -- refusals, against redis-server ----------------------------------------------------------
_ALONE = [
    ("FAILOVER", "ABORT"),
    ("FAILOVER", "ABORT", "TIMEOUT", "10"),
    ("FAILOVER", "TIMEOUT"),
    ("FAILOVER", "TIMEOUT", "0"),
    ("FAILOVER", "TIMEOUT", "-5"),
    ("FAILOVER", "TIMEOUT", "abc"),
    ("FAILOVER", "TIMEOUT", "10", "TIMEOUT", "10"),
    ("FAILOVER", "TO", "127.0.0.1"),
    ("FAILOVER", "TO", "127.0.0.1", "notaport"),
    ("FAILOVER", "TO", "a", "1", "TO", "b", "2"),
    ("FAILOVER", "FORCE", "FORCE"),
    ("FAILOVER", "BOGUS"),
    ("FAILOVER",),
    ("FAILOVER", "FORCE"),
    ("FAILOVER", "FORCE", "TIMEOUT", "100"),
    ("FAILOVER", "TO", "127.0.0.1", "1", "FORCE"),
    ("FAILOVER", "TO", "127.0.0.1", "1"),
    ("PSYNC", "?", "-1", "FAILOVER"),
]


def test_refusals_without_replicas(nodes) -> None:
    mini, real = nodes("mini"), nodes("real")
    for args in _ALONE:
        assert error_of(mini, *args) == error_of(real, *args), args


def test_refusals_with_a_replica(nodes) -> None:
    """Each master (miniredis, redis-server) has one redis-server replica: the
    target checks, FORCE's requirements, ABORT with nothing to abort, and a replica's
    refusals (FAILOVER, PSYNC FAILOVER with a foreign replid)."""
    results = []
    for kind in ("mini", "real"):
        master = nodes(kind)
        replica = nodes("real")
        replica.replicate(master)
        caught_up(master, replica)
        port = replica.port
        seen = [error_of(master, *args) for args in [
            ("FAILOVER", "TO", "127.0.0.1", str(port + 1)),
            ("FAILOVER", "TO", "10.1.1.1", str(port)),
            ("FAILOVER", "TO", "127.0.0.1", str(port), "FORCE"),
            ("FAILOVER", "FORCE", "TIMEOUT", "100"),
            ("FAILOVER", "ABORT"),
        ]]
        seen += [error_of(replica, *args) for args in [
            ("FAILOVER",),
            ("FAILOVER", "ABORT"),
            ("PSYNC", "0" * 40, "1", "FAILOVER"),
        ]]
        results.append(seen)
    assert results[0] == results[1]
    assert "FAILOVER target HOST and PORT is not a replica." in results[0][0]


def test_refusals_while_failing_over(nodes) -> None:
    """A failover that cannot finish (its only replica frozen by SIGSTOP, so it never
    acknowledges the last write) refuses a second FAILOVER, REPLICAOF, SYNC and PSYNC
    with Redis's texts; ABORT ends it and writes go through again."""
    results = []
    for kind in ("mini", "real"):
        master = nodes(kind)
        replica = nodes("real")
        replica.replicate(master)
        caught_up(master, replica)
        # Stop the replica's ACKs (its process frozen) so the failover waits.
        with frozen(replica):
            master.r.set("k", "v")
            assert master.r.execute_command("FAILOVER", "TIMEOUT", "60000") == b"OK"
            state = master.info()["master_failover_state"]
            seen = [state] + [error_of(master, *args) for args in [
                ("FAILOVER",),
                ("REPLICAOF", "127.0.0.1", "1"),
                ("REPLICAOF", "NO", "ONE"),
                ("SYNC",),
                ("PSYNC", "?", "-1"),
            ]]
            seen.append(master.r.execute_command("FAILOVER", "ABORT"))
            seen.append(master.info()["master_failover_state"])
            seen.append(master.r.set("after", "1"))
            results.append(seen)
    assert results[0] == results[1]
    assert results[0][0] == "waiting-for-sync"
    assert results[0][-2:] == ["no-failover", True]


# -- the pairings ----------------------------------------------------------------------------
def _writer(node: Node, stop: threading.Event, acked: List[str],
            errors: List[str]) -> None:
    """SETs w:<n> until stopped; those answered OK are acknowledged writes."""
    conn = redis.Redis(port=node.port, socket_timeout=30)
    n = 0
    while not stop.is_set():
        key = "w:%d" % n
        n += 1
        try:
            if conn.set(key, n):
                acked.append(key)
        except redis.ResponseError as exc:
            errors.append(str(exc))
            time.sleep(0.01)
        except redis.ConnectionError as exc:      # not expected: reported
            errors.append("connection: %s" % exc)
            time.sleep(0.05)
            conn = redis.Redis(port=node.port, socket_timeout=30)
    conn.close()


@pytest.mark.parametrize("first,second", [("mini", "real"), ("real", "mini"),
                                          ("mini", "mini")])
def test_failover_swaps_roles(nodes, first: str, second: str) -> None:
    master = nodes(first)
    replica = nodes(second)
    load(master)
    replica.replicate(master)
    caught_up(master, replica)
    stop = threading.Event()
    acked: List[str] = []
    errors: List[str] = []
    writer = threading.Thread(target=_writer, args=(master, stop, acked, errors))
    writer.start()
    try:
        wait_until(lambda: len(acked) > 50, 20, "writes before the failover")
        assert master.r.execute_command("FAILOVER") == b"OK"
        wait_until(lambda: master.info()["role"] == "slave"
                   and master.info()["master_failover_state"] == "no-failover", 30,
                   "the old master to become a replica")
        wait_until(lambda: errors, 20, "a write refused by the new replica")
    finally:
        stop.set()
        writer.join(30)
    assert set(errors) == {"You can't write against a read only replica."}, errors
    wait_until(lambda: replica.info()["role"] == "master", 30, "the promotion")
    assert master.info()["master_port"] == replica.port
    wait_until(lambda: master.info()["master_link_status"] == "up", 30, "the new link")
    replica.r.set("after-failover", "1")
    caught_up(replica, master)
    assert master.r.get("after-failover") == b"1"
    # No acknowledged write lost, and both sides identical.
    values = replica.r.mget(acked)
    assert all(value is not None for value in values)
    assert assert_same_data(replica, master) > 200
    # The old master continued the new one's history (a partial resync).
    info = master.info()
    assert info["master_failover_state"] == "no-failover"
    assert replica.info()["master_failover_state"] == "no-failover"
    assert replica.r.info("stats")["sync_partial_ok"] >= 1


@pytest.mark.parametrize("first,second", [("mini", "real"), ("mini", "mini")])
def test_failover_to_a_named_replica(nodes, first: str, second: str) -> None:
    master = nodes(first)
    one, two = nodes(second), nodes(second)
    one.replicate(master)
    two.replicate(master)
    master.r.set("k", "v")
    caught_up(master, one)
    caught_up(master, two)
    assert master.r.execute_command("FAILOVER", "TO", "127.0.0.1", two.port) == b"OK"
    wait_until(lambda: two.info()["role"] == "master", 30, "the target's promotion")
    wait_until(lambda: master.info().get("master_port") == two.port
               and master.info()["master_link_status"] == "up", 30, "the old master")
    assert one.info()["role"] == "slave"
    two.r.set("k2", "v2")
    caught_up(two, master)
    assert master.r.get("k2") == b"v2"


@pytest.mark.parametrize("kind", ["mini", "real"])
def test_timeout_without_force_aborts(nodes, kind: str) -> None:
    master = nodes(kind)
    replica = nodes("real")
    replica.replicate(master)
    caught_up(master, replica)
    with frozen(replica):
        master.r.set("k", "v")
        started = time.time()
        assert master.r.execute_command("FAILOVER", "TIMEOUT", "500") == b"OK"
        assert master.info()["master_failover_state"] == "waiting-for-sync"
        # A write during the wait is held (CLIENT PAUSE WRITE), then done.
        assert master.r.set("held", "1") is True
        assert time.time() - started >= 0.4
        wait_until(lambda: master.info()["master_failover_state"] == "no-failover", 10,
                   "the timeout")
        assert master.info()["role"] == "master"
        assert master.r.get("held") == b"1"


def test_timeout_with_force_fails_over(nodes) -> None:
    master = nodes("mini")
    replica = nodes("mini")
    replica.replicate(master)
    caught_up(master, replica)
    # The replica stops acknowledging (its link's ACKs switched off by hand), so only
    # FORCE can fail over to it.
    link = replica.server.state.repl.link
    link.acks = False
    master.r.set("k", "v")
    caught_up(master, replica)
    assert master.r.execute_command("FAILOVER", "TO", "127.0.0.1", replica.port,
                                    "TIMEOUT", "300", "FORCE") == b"OK"
    wait_until(lambda: replica.info()["role"] == "master", 20, "the forced promotion")
    wait_until(lambda: master.info().get("master_link_status") == "up", 20, "the link")
    assert master.info()["master_failover_state"] == "no-failover"
    assert master.r.get("k") == b"v"


@pytest.mark.parametrize("kind", ["mini", "real"])
def test_abort_resumes_writes(nodes, kind: str) -> None:
    master = nodes(kind)
    replica = nodes("real")
    replica.replicate(master)
    caught_up(master, replica)
    with frozen(replica):
        master.r.set("k", "v")              # an offset the frozen replica never acks
        assert master.r.execute_command("FAILOVER") == b"OK"
        result: List[Any] = []
        writer = threading.Thread(target=lambda: result.append(
            redis.Redis(port=master.port).set("during", "1")))
        writer.start()
        time.sleep(0.3)
        assert not result                       # held by the pause
        assert master.r.execute_command("FAILOVER", "ABORT") == b"OK"
        writer.join(10)
        assert result == [True]
        assert master.info()["master_failover_state"] == "no-failover"
        assert master.info()["role"] == "master"
        assert error_of(master, "FAILOVER", "ABORT") == "No failover in progress."


_PAIRINGS = [("mini", "real"), ("real", "mini"), ("mini", "mini")]


@pytest.mark.parametrize("first,second", _PAIRINGS)
def test_target_refusing_psync_aborts(nodes, first: str, second: str) -> None:
    """The target's ACL refuses PSYNC (as Redis's failover.tcl does): the old master
    aborts, is a master again with writes resumed, and its replicas resynchronise
    partially with its new replication ID."""
    master = nodes(first)
    replica = nodes(second)
    replica.replicate(master)
    master.r.set("k", "v")
    caught_up(master, replica)
    partial = master.r.info("stats")["sync_partial_ok"]
    full = master.r.info("stats")["sync_full"]
    replica.r.execute_command("ACL", "SETUSER", "default", "-psync")
    assert master.r.execute_command("FAILOVER", "TO", "127.0.0.1", replica.port) == b"OK"
    wait_until(lambda: master.info()["role"] == "master"
               and master.info()["master_failover_state"] == "no-failover", 20,
               "the abort")
    assert master.r.set("after", "1") is True
    assert replica.info()["role"] == "slave"
    replica.r.execute_command("ACL", "SETUSER", "default", "+psync")
    caught_up(master, replica)
    assert replica.r.get("after") == b"1"
    stats = master.r.info("stats")
    assert stats["sync_partial_ok"] - partial == 1
    assert stats["sync_full"] == full
    assert_same_data(master, replica)


def _freeze(node: Node, frozen: bool) -> None:
    """Stop a replica's acknowledgements: a redis-server process is stopped
    (SIGSTOP/SIGCONT), a miniredis one stops sending REPLCONF ACK."""
    if node.kind == "real":
        node.proc.proc.send_signal(19 if frozen else 18)
    else:
        node.server.state.repl.link.acks = not frozen


@pytest.mark.parametrize("first,second", _PAIRINGS)
def test_three_nodes_as_failover_tcl(nodes, first: str, second: str) -> None:
    """Redis's integration/failover.tcl flow with a master of one kind and two
    replicas of the other (or all miniredis): to a named replica, then to any caught-up
    replica (the other one frozen), the remaining nodes re-pointed; every resync is
    partial and the datasets stay identical."""
    n0, n1, n2 = nodes(first), nodes(second), nodes(second)
    load(n0, 100)
    n1.replicate(n0)
    n2.replicate(n0)
    caught_up(n0, n1)
    caught_up(n0, n2)
    base = n1.r.info("stats")
    assert n0.r.execute_command("FAILOVER", "TO", "127.0.0.1", n1.port) == b"OK"
    wait_until(lambda: n0.info()["master_failover_state"] == "no-failover"
               and n0.info()["role"] == "slave", 30, "the failover to n1")
    n2.replicate(n1)
    wait_until(lambda: n0.info()["master_link_status"] == "up", 30, "n0's link")
    caught_up(n1, n0)
    caught_up(n1, n2)
    assert [n.r.execute_command("ROLE")[0] for n in (n0, n1, n2)] == \
        [b"slave", b"master", b"slave"]
    stats = n1.r.info("stats")
    assert stats["sync_partial_ok"] - base["sync_partial_ok"] == 2
    assert stats["sync_full"] == base["sync_full"]
    assert_same_data(n0, n1, n2)

    # Any replica: n0 is frozen, so n2 (caught up) is chosen.
    base = n2.r.info("stats")
    _freeze(n0, True)
    try:
        n1.r.set("case", "1")
        assert n1.r.execute_command("FAILOVER") == b"OK"
        wait_until(lambda: n1.info()["master_failover_state"] == "no-failover", 30,
                   "the failover to any replica")
    finally:
        _freeze(n0, False)
    assert n1.info()["master_port"] == n2.port
    n0.replicate(n2)
    caught_up(n2, n0)
    caught_up(n2, n1)
    assert [n.r.execute_command("ROLE")[0] for n in (n0, n1, n2)] == \
        [b"slave", b"slave", b"master"]
    stats = n2.r.info("stats")
    assert stats["sync_partial_ok"] - base["sync_partial_ok"] == 2
    assert stats["sync_full"] == base["sync_full"]
    assert_same_data(n0, n1, n2)
    assert n0.r.get("case") == b"1"


@pytest.mark.parametrize("kind", ["mini", "real"])
def test_client_unpause_keeps_the_failover_pause(nodes, kind: str) -> None:
    """FAILOVER's write pause is its own: CLIENT UNPAUSE does not release the held
    write; FAILOVER ABORT does."""
    master = nodes(kind)
    replica = nodes("real")
    replica.replicate(master)
    caught_up(master, replica)
    with frozen(replica):
        master.r.set("k", "v")
        assert master.r.execute_command("FAILOVER") == b"OK"
        assert master.r.execute_command("CLIENT", "UNPAUSE") == b"OK"
        result: List[Any] = []
        writer = threading.Thread(target=lambda: result.append(
            redis.Redis(port=master.port).incr("during")))
        writer.start()
        time.sleep(0.3)
        assert not result                       # still held
        assert master.r.get("k") == b"v"        # reads are not
        assert master.r.execute_command("FAILOVER", "ABORT") == b"OK"
        writer.join(10)
        assert result == [1]
