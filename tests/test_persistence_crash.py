"""Durability under SIGKILL, and rewrites during a write storm.

The server runs as its own process (``python -m miniredis``); this test process is the
writer. A write counts as acknowledged once its reply has been read.
"""
from __future__ import annotations

import os
import random
import shutil
import tempfile
import threading
import time

import pytest
import redis

from tests.aofutil import MiniProcess, assert_same, dump, wait_rewrite_done
from tests.harness import RawConnection


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="mini-crash-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _write_until_killed(server: MiniProcess, start: int, rng: random.Random) -> int:
    """RPUSH start, start+1, ... (every 7th also in a MULTI with HSET) until the
    server dies; returns how many writes were acknowledged."""
    conn = RawConnection(server.port, timeout=5)
    killer = threading.Timer(rng.uniform(0.05, 0.3), server.kill)
    acked = 0
    n = start
    killer.start()
    try:
        if rng.random() < 0.3:
            conn.call("BGREWRITEAOF")       # some rounds die in the middle of a rewrite
        while True:
            if n % 7 == 0:
                conn.send_raw(b"*1\r\n$5\r\nMULTI\r\n")
                conn.send("RPUSH", "log", n)
                conn.send("HSET", "h", n, n)
                conn.send_raw(b"*1\r\n$4\r\nEXEC\r\n")
                replies = [conn.read_raw() for _ in range(4)]
                assert replies[-1].startswith(b"*2\r\n"), replies
            else:
                reply = conn.call("RPUSH", "log", n)
                assert reply.startswith(b":"), reply
            acked += 1
            n += 1
    except (ConnectionError, OSError):
        pass
    finally:
        killer.join()
        conn.close()
    return acked


def _check(server: MiniProcess, acked_until: int) -> int:
    """Every acknowledged write is there, in order, nothing torn; the list's length."""
    r = redis.Redis(port=server.port)
    log = [int(x) for x in r.lrange("log", 0, -1)]
    assert log == list(range(len(log))), "the log has gaps or disorder"
    assert len(log) >= acked_until, "acknowledged writes lost: %d" % (acked_until - len(log))
    assert len(log) <= acked_until + 1   # at most the one write in flight
    # MULTI/EXEC blocks are all-or-nothing.
    assert sorted(int(x) for x in r.hkeys("h")) == [x for x in log if x % 7 == 0]
    r.close()
    return len(log)


def _evidence(workdir: str) -> str:
    """What a failed check leaves to go on (the directory is removed afterwards): the
    AOF files and their sizes, the manifest, the end of the servers' log."""
    lines = []
    for root, _, names in os.walk(workdir):
        for name in sorted(names):
            path = os.path.join(root, name)
            lines.append("%s %d" % (os.path.relpath(path, workdir), os.path.getsize(path)))
            if name.endswith(".manifest"):
                with open(path, "rb") as handle:
                    lines.append(repr(handle.read(2000)))
    log = os.path.join(workdir, "miniredis.log")
    if os.path.exists(log):
        with open(log, "rb") as handle:
            lines += handle.read().decode("utf-8", "replace").splitlines()[-40:]
    return "\n".join(lines)


def _crash_rounds(workdir: str, policy: str, rounds: int, seed: int) -> int:
    """SIGKILL the server ``rounds`` times while writing; returns writes lost."""
    rng = random.Random(seed)
    options = ("--appendonly", "yes", "--appendfsync", policy)
    server = MiniProcess(workdir, *options)
    length = 0
    lost = 0
    total = 0
    try:
        for _ in range(rounds):
            acked = _write_until_killed(server, length, rng)
            total += acked
            server = MiniProcess(workdir, *options)
            if policy == "always":
                try:
                    length = _check(server, length + acked)
                except AssertionError as exc:
                    raise AssertionError("%s\n%s" % (exc, _evidence(workdir))) from None
            else:
                r = redis.Redis(port=server.port)
                now = r.llen("log")
                lost += max(0, length + acked - now)
                length = now
                r.close()
    finally:
        server.stop()
    print("\n%s: %d rounds, %d acknowledged writes, %d lost" % (policy, rounds, total, lost))
    assert total > rounds  # the writer did write in (nearly) every round
    return lost


def test_sigkill_with_appendfsync_always_loses_nothing(workdir):
    assert _crash_rounds(workdir, "always", 8, seed=7) == 0


def test_sigkill_with_appendfsync_everysec(workdir):
    # The data of every reply is write()n before the reply: a killed *process* loses
    # nothing (the kernel has it); only a machine crash could lose the last second.
    lost = _crash_rounds(workdir, "everysec", 5, seed=11)
    assert lost == 0


def _storm(port: int, stop: threading.Event, seed: int, counts: list) -> None:
    rng = random.Random(seed)
    r = redis.Redis(port=port)
    n = 0
    while not stop.is_set():
        pipe = r.pipeline(transaction=rng.random() < 0.2)
        for _ in range(20):
            choice = rng.randrange(9)
            key = "k%d" % rng.randrange(2000)
            if choice == 0:
                pipe.incr("counter:%d" % seed)
            elif choice == 1:
                pipe.rpush("list:%d" % rng.randrange(50), n)
            elif choice == 2:
                pipe.hincrby("hash:%d" % rng.randrange(50), "f%d" % rng.randrange(20), 1)
            elif choice == 3:
                pipe.zincrby("zset:%d" % rng.randrange(50), 1.5, "m%d" % rng.randrange(30))
            elif choice == 4:
                pipe.xadd("stream:%d" % rng.randrange(5), {"n": n}, maxlen=100,
                          approximate=True)
            elif choice == 5:
                pipe.set(key, n, ex=rng.randrange(100, 1000))
            elif choice == 6:
                pipe.sadd("set:%d" % rng.randrange(20), *range(n % 50, n % 50 + 5))
                pipe.spop("set:%d" % rng.randrange(20))
            elif choice == 7:
                pipe.delete(key)
            else:
                pipe.lpop("list:%d" % rng.randrange(50))
            n += 1
        pipe.execute()
        counts[seed] += 20
    r.close()


def test_rewrite_during_write_storm(workdir):
    options = ("--appendonly", "yes", "--appendfsync", "everysec")
    server = MiniProcess(workdir, *options)
    try:
        r = redis.Redis(port=server.port)
        pipe = r.pipeline(transaction=False)
        for i in range(40000):   # enough that the rewrite takes many slices
            pipe.set("pre:%d" % i, "x" * 20)
            if i % 100 == 0:
                pipe.rpush("prelist:%d" % (i % 500), *range(20))
        pipe.execute()
        stop = threading.Event()
        counts = [0, 0, 0]
        writers = [threading.Thread(target=_storm, args=(server.port, stop, seed, counts))
                   for seed in range(3)]
        for writer in writers:
            writer.start()
        during = 0
        try:
            for _ in range(2):
                time.sleep(0.2)
                before = sum(counts)
                assert r.bgrewriteaof()
                info = wait_rewrite_done(r, timeout=60)
                during += sum(counts) - before
                assert info["aof_last_bgrewrite_status"] == "ok"
        finally:
            stop.set()
            for writer in writers:
                writer.join(30)
        assert during > 0, "no write happened while the rewrites ran"
        info = r.info("persistence")
        assert info["aof_rewrites"] == 2
        expected = dump(server.port)
        r.close()
        server.kill()          # no clean shutdown: what is in the files is what counts
        server = MiniProcess(workdir, *options)
        assert_same(expected, dump(server.port))
        print("\nrewrite storm: %d writes, %d while rewriting, %d keys"
              % (sum(counts), during, len(expected)))
    finally:
        server.stop()
