"""Append-only file: effects logged, replayed into a real Redis, loading, rewrite.

The interop tests write a varied dataset into miniredis with AOF on, replay the files
with ``redis-cli --pipe`` into a real redis-server (and let a real redis-server load
the AOF directory itself), then compare every key of every database.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from miniredis import Server
from miniredis.persistence import aof as aof_module
from miniredis.persistence import snapshot as snapshot_module
from tests.aofutil import (aof_files, assert_same, dump, pipe_into, run_mini,
                           wait_rewrite_done)
from tests.harness import ROOT, RawConnection, RedisProcess, find_redis_server


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="mini-aof-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server():
    executable = find_redis_server()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server not found")
        pytest.skip("redis-server not found")
    return executable


def _fresh_redis(executable: str, *extra: str) -> RedisProcess:
    return RedisProcess(executable, extra)


def _wait_blocked(r: redis.Redis, count: int) -> None:
    deadline = time.time() + 10
    while r.info("clients")["blocked_clients"] < count:
        assert time.time() < deadline
        time.sleep(0.005)


def _in_thread(function, *args) -> threading.Thread:
    thread = threading.Thread(target=function, args=args, daemon=True)
    thread.start()
    return thread


def populate(port: int) -> None:
    """Every data type, relative and absolute TTLs, several databases, MULTI/EXEC,
    Lua, random commands, blocking commands served at once and later, streams with
    groups, consumers and pending entries."""
    r = redis.Redis(port=port)
    # strings and expiries
    r.set("s:plain", "v")
    r.set("s:ex", "v", ex=1000)
    r.set("s:px", "v", px=500000)
    r.set("s:exat", "v", exat=int(time.time()) + 900)
    r.execute_command("SETEX", "s:setex", 800, "v")
    r.execute_command("PSETEX", "s:psetex", 700000, "v")
    r.set("s:keepttl", "old", ex=600)
    r.set("s:keepttl", "new", keepttl=True)
    r.set("s:nx", "first", nx=True, ex=100)
    r.set("s:nx", "second", nx=True, ex=200)        # not set: still the first
    r.set("s:getex", "v")
    r.getex("s:getex", ex=300)
    r.set("s:persist", "v", ex=100)
    r.getex("s:persist", persist=True)
    r.set("s:expire", "v")
    r.expire("s:expire", 400)
    r.set("s:pexpire", "v")
    r.pexpire("s:pexpire", 450000)
    r.set("s:gone", "v")
    r.expire("s:gone", -1)                          # deleted by a past expiry
    r.set("s:short", "v", px=1)                     # expires: logged as DEL
    time.sleep(0.01)
    assert r.get("s:short") is None
    r.set("s:float", "1.1")
    r.incrbyfloat("s:float", "2.2e3")
    r.incr("s:counter")
    r.incrby("s:counter", 41)
    r.append("s:appended", "ab")
    r.append("s:appended", "cd")
    r.setrange("s:appended", 1, "XY")
    r.setbit("s:bits", 7, 1)
    r.mset({"s:m1": "1", "s:m2": "2"})
    r.getdel("s:m2")
    # lists, including blocking pops served at once and later
    r.rpush("l:a", *range(10))
    r.lpush("l:a", "head")
    r.lrem("l:a", 1, "3")
    r.linsert("l:a", "before", "5", "x")
    r.lset("l:a", 0, "HEAD")
    r.ltrim("l:a", 0, 8)
    r.blpop(["l:a"], 1)
    r.brpop(["l:a"], 1)
    r.rpush("l:src", "a", "b", "c", "d")
    r.blmove("l:src", "l:dst", 1, "LEFT", "RIGHT")
    r.brpoplpush("l:src", "l:dst", 1)
    r.execute_command("BLMPOP", 1, 2, "l:none", "l:src", "RIGHT", "COUNT", 1)
    waiter = redis.Redis(port=port)
    results = {}
    thread = _in_thread(lambda: results.setdefault(
        "blmove", waiter.blmove("l:later", "l:later-dst", 10, "RIGHT", "LEFT")))
    _wait_blocked(r, 1)
    r.rpush("l:later", "one", "two")
    thread.join(10)
    assert results["blmove"] == b"two"
    thread = _in_thread(lambda: results.setdefault("blpop", waiter.blpop(["l:later2"], 10)))
    _wait_blocked(r, 1)
    r.rpush("l:later2", "x", "y")
    thread.join(10)
    # hashes
    r.hset("h:a", mapping={"f1": "1", "f2": "2", "f3": "3"})
    r.hdel("h:a", "f3")
    r.hincrby("h:a", "f1", 10)
    r.hincrbyfloat("h:a", "fl", "0.1")
    r.hincrbyfloat("h:a", "fl", "0.2")
    r.hsetnx("h:a", "f2", "no")
    # sets, with a random pop
    r.sadd("set:a", *range(20))
    r.srem("set:a", 0)
    r.spop("set:a")
    r.spop("set:a", 3)
    r.sadd("set:b", "x", "y", "1")
    r.smove("set:b", "set:a", "x")
    r.sinterstore("set:c", ["set:a", "set:b"])
    r.sunionstore("set:d", ["set:a", "set:b"])
    # sorted sets, with blocking pops
    r.zadd("z:a", {"a": 1, "b": 2.5, "c": -3, "d": 1e-5, "e": 7})
    r.zincrby("z:a", 0.1, "a")
    r.zrem("z:a", "e")
    r.zpopmin("z:a")
    r.bzpopmax(["z:a"], 1)
    r.zadd("z:b", {"x": 1, "y": 2, "z": 3})
    r.execute_command("BZMPOP", 1, 1, "z:b", "MIN", "COUNT", 2)
    r.zunionstore("z:c", ["z:a", "z:b"])
    thread = _in_thread(lambda: results.setdefault("bz", waiter.bzpopmin(["z:later"], 10)))
    _wait_blocked(r, 1)
    r.zadd("z:later", {"m": 5, "n": 6})
    thread.join(10)
    # streams: auto IDs, approximate trimming, groups, consumers, pending entries
    for i in range(30):
        r.xadd("x:a", {"n": str(i), "f": "v"})
    r.xadd("x:a", {"n": "trimmed"}, maxlen=25, approximate=True)
    r.xadd("x:a", {"n": "exact"}, id="99999999999999-5")
    r.xtrim("x:a", maxlen=20, approximate=False)
    r.xdel("x:a", r.xrange("x:a", count=1)[0][0])
    r.xgroup_create("x:a", "g1", id="0")
    r.xgroup_create("x:a", "g2", id="$")
    r.xreadgroup("g1", "alice", {"x:a": ">"}, count=3)
    r.xreadgroup("g1", "bob", {"x:a": ">"}, count=2)
    r.xreadgroup("g1", "carol", {"x:a": ">"}, count=2, noack=True)
    # (Not here: reading a consumer's history. Redis propagates nothing for it, so the
    # delivery counts it bumps are not replayed: tests/test_debug_loadaof.py.)
    pending = r.xpending_range("x:a", "g1", min="-", max="+", count=10)
    r.xack("x:a", "g1", pending[0]["message_id"])
    r.xclaim("x:a", "g1", "dave", 0, [pending[1]["message_id"]])
    r.xautoclaim("x:a", "g1", "erin", 0, start_id="0-0", count=1)
    r.xgroup_createconsumer("x:a", "g1", "idle")
    r.xgroup_setid("x:a", "g2", id="0", entries_read=0)
    r.xadd("x:b", {"a": "1"}, id="5-1")
    r.xdel("x:b", "5-1")                                  # an empty stream
    r.xgroup_create("x:mk", "g", id="$", mkstream=True)
    thread = _in_thread(lambda: results.setdefault(
        "xrg", waiter.xreadgroup("g", "late", {"x:mk": ">"}, block=10000)))
    _wait_blocked(r, 1)
    r.xadd("x:mk", {"k": "v"})
    thread.join(10)
    assert results["xrg"]
    # The XCLAIM a served read logs moves the group's last ID but not its entries-read
    # counter (Redis's replay leaves it unknown too); a NOACK read logs XGROUP SETID
    # with ENTRIESREAD, so the datasets compare equal.
    r.xadd("x:mk", {"k2": "v2"})
    r.xreadgroup("g", "late", {"x:mk": ">"}, noack=True)
    # transactions and scripts
    pipe = r.pipeline(transaction=True)
    pipe.set("t:a", "1").incr("t:a").rpush("t:l", "x").expire("t:l", 1000)
    pipe.execute()
    r.eval("redis.call('set', KEYS[1], ARGV[1]); redis.call('spop', KEYS[2]); "
           "redis.call('expire', KEYS[1], 600); return 1", 2, "lua:a", "set:b", "v")
    r.eval("redis.call('select', 5); redis.call('rpush', 'lua:other-db', 'x')", 0)
    # several databases
    r5 = redis.Redis(port=port, db=5)
    r5.set("db5:a", "1", ex=1000)
    r5.hset("db5:h", "f", "v")
    r5.move("db5:a", 6)
    r3 = redis.Redis(port=port, db=3)
    r3.set("db3:a", "x")
    r3.copy("db3:a", "db3:b")
    r3.rename("db3:b", "db3:c")
    r.execute_command("SWAPDB", 3, 4)
    r.delete("s:m1")
    r.unlink("l:dst-none")
    for client in (r, r3, r5, waiter):
        client.close()


def test_interop_replay_into_real_redis(workdir, redis_server):
    # A RESP base (aof-use-rdb-preamble no): base + incr replay with redis-cli --pipe.
    with Server(port=0, appendonly=True, dir=workdir, aof_use_rdb_preamble=False) as server:
        populate(server.port)
        expected = dump(server.port)
        paths = aof_files(workdir)
        replayed = _fresh_redis(redis_server)
        try:
            pipe_into(replayed.port, paths)
            assert_same(expected, dump(replayed.port))
        finally:
            replayed.stop()
    assert len(expected) > 40
    assert {kind for kind, _, _ in expected.values()} == {
        "string", "list", "hash", "set", "zset", "stream"}
    assert {db for db, _ in expected} == {0, 4, 5, 6}
    # A real redis-server loads the AOF directory as it is (multi-part, Redis 7.0).
    copy = tempfile.mkdtemp(prefix="real-load-")
    try:
        shutil.copytree(os.path.join(workdir, "appendonlydir"),
                        os.path.join(copy, "appendonlydir"))
        loaded = RedisProcess(redis_server, ["--appendonly", "yes", "--dir", copy])
        try:
            assert_same(expected, dump(loaded.port))
        finally:
            loaded.stop()
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    # And miniredis itself restarts from the files to the same dataset.
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert_same(expected, dump(server.port))


def test_rewrite_replays_to_the_same_dataset(workdir, redis_server):
    with Server(port=0, appendonly=True, dir=workdir, aof_use_rdb_preamble=False) as server:
        populate(server.port)
        r = redis.Redis(port=server.port)
        assert r.bgrewriteaof() is True
        info = wait_rewrite_done(r)
        assert info["aof_rewrites"] == 1 and info["aof_last_bgrewrite_status"] == "ok"
        expected = dump(server.port)
        paths = aof_files(workdir)
        assert [os.path.basename(p) for p in paths] == [
            "appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"]
        assert sorted(os.listdir(os.path.join(workdir, "appendonlydir"))) == [
            "appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof",
            "appendonly.aof.manifest"]
        assert info["aof_base_size"] == os.path.getsize(paths[0])
        # The base holds no SPOP, no relative expiry: only the minimal commands.
        base = open(paths[0], "rb").read()
        for word in (b"SPOP", b"EXPIRE\r", b"BLPOP", b"MULTI", b"INCR"):
            assert word not in base
        replayed = _fresh_redis(redis_server)
        try:
            pipe_into(replayed.port, [paths[0]])
            assert_same(expected, dump(replayed.port))
        finally:
            replayed.stop()
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert_same(expected, dump(server.port))


def _incr_bytes(workdir: str) -> bytes:
    return open(aof_files(workdir)[-1], "rb").read()


def test_effects_as_redis_logs_them(workdir):
    """The effect, not the request: compared with what Redis 7.0 writes."""
    with Server(port=0, appendonly=True, dir=workdir) as server:
        conn = RawConnection(server.port)
        conn.call("SETEX", "a", "100", "v")
        conn.call("INCRBYFLOAT", "f", "1.5")
        conn.call("SADD", "s", "x")
        conn.call("SPOP", "s")
        conn.call("SELECT", "2")
        conn.call("SET", "b", "1")
        conn.call("GET", "b")                       # reads are not logged
        conn.call("MULTI")
        conn.call("INCR", "b")
        conn.call("INCR", "b")
        conn.call("EXEC")
        conn.call("MULTI")
        conn.call("INCR", "b")
        conn.call("EXEC")                           # one effect: no MULTI around it
        conn.call("DEL", "nothing")                 # changed nothing: not logged
        conn.call("SREM", "s", "nothing")
        conn.call("SET", "b", "2", "NX")
        conn.call("DEL", "b")
        data = _incr_bytes(workdir)
        conn.close()
    commands = data.split(b"*")[1:]
    words = [c.split(b"\r\n")[2] for c in commands]
    assert words == [b"SELECT", b"SET", b"SET", b"SADD", b"SREM", b"SELECT", b"SET",
                     b"MULTI", b"INCR", b"INCR", b"EXEC", b"INCR", b"DEL"]
    assert b"$4\r\nPXAT\r\n" in commands[1]
    assert commands[2].endswith(b"$3\r\n1.5\r\n$7\r\nKEEPTTL\r\n")
    assert commands[4] == b"3\r\n$4\r\nSREM\r\n$1\r\ns\r\n$1\r\nx\r\n"


def test_units_select_their_database_as_redis_does(workdir, redis_server):
    """A MULTI/EXEC unit whose first effect is in another database: the SELECT comes
    before the MULTI (Redis propagates MULTI with its first op's database); a script's
    own SELECT stays inside. The incr files are compared byte for byte."""
    script = [["SELECT", "2"], ["MULTI"], ["SET", "a", "1"], ["SET", "b", "2"], ["EXEC"],
              ["EVAL", "redis.call('set','x','1'); redis.call('select', 3); "
                       "redis.call('set','y','1')", "0"],
              ["SELECT", "0"], ["MULTI"], ["SELECT", "5"], ["SET", "q", "1"],
              ["SET", "r", "1"], ["EXEC"], ["MULTI"], ["SET", "t", "1"], ["SET", "u", "1"],
              ["EXEC"]]
    # (appendfsync always: with everysec Redis may postpone its write() while the
    # previous fsync runs, up to 2 s, so its file could still lack the last units.)
    real = _fresh_redis(redis_server, "--appendonly", "yes", "--appendfsync", "always")
    try:
        with Server(port=0, appendonly=True, dir=workdir) as server:
            for port in (real.port, server.port):
                conn = RawConnection(port)
                for command in script:
                    conn.call(*command)
                conn.close()
            actual = _incr_bytes(workdir)
        expected = _incr_bytes(real.dir)
    finally:
        real.stop()
    assert actual == expected


def test_timestamp_annotations_as_redis(workdir, redis_server):
    """aof-timestamp-enabled: a "#TS:<unix seconds>" line before the first effect of
    each second in the incr file, and at the head of a rewritten (RESP) base; the
    files are compared byte for byte with the first line's second masked."""
    import re
    script = [["CONFIG", "SET", "aof-timestamp-enabled", "yes"], ["SET", "foo", "bar"],
              ["SELECT", "3"], ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["EXEC"]]
    real = _fresh_redis(redis_server, "--appendonly", "yes", "--appendfsync", "always",
                        "--aof-use-rdb-preamble", "no")
    files = {}
    try:
        with Server(port=0, appendonly=True, dir=workdir,
                    aof_use_rdb_preamble=False) as server:
            for kind, port, directory in (("redis", real.port, real.dir),
                                          ("miniredis", server.port, workdir)):
                conn = RawConnection(port)
                for command in script:
                    conn.call(*command)
                incr = _incr_bytes(directory)
                r = redis.Redis(port=port)
                r.bgrewriteaof()
                wait_rewrite_done(r)
                r.close()
                conn.close()
                base = open(aof_files(directory)[0], "rb").read()
                # (A second may end between two commands on one server only: the
                # annotations after the first are dropped.)
                files[kind] = [data[:data.find(b"\n") + 1] + re.sub(
                    rb"#TS:\d+\r\n", b"", data[data.find(b"\n") + 1:])
                    for data in (incr, base)]
                files[kind] = [re.sub(rb"^#TS:\d+\r\n", b"#TS:<s>\r\n", data)
                               for data in files[kind]]
    finally:
        real.stop()
    assert files["miniredis"] == files["redis"]
    assert files["redis"][0].startswith(b"#TS:<s>\r\n*2\r\n$6\r\nSELECT")
    assert files["redis"][1].startswith(b"#TS:<s>\r\n")


def test_lazy_and_active_expiry_logged_as_del(workdir):
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        r.set("lazy", "v", px=1)
        r.set("active", "v", px=1)
        time.sleep(0.01)
        assert r.get("lazy") is None
        deadline = time.time() + 5
        while b"active" not in _incr_bytes(workdir).split(b"DEL")[-1]:
            assert time.time() < deadline
            time.sleep(0.02)
        data = _incr_bytes(workdir)
    assert b"*2\r\n$3\r\nDEL\r\n$4\r\nlazy\r\n" in data
    assert b"*2\r\n$3\r\nDEL\r\n$6\r\nactive\r\n" in data


def test_info_persistence_fields_as_redis(workdir, redis_server):
    real = _fresh_redis(redis_server, "--aof-use-rdb-preamble", "no")
    try:
        with Server(port=0, dir=workdir, aof_use_rdb_preamble=False) as server:
            for appendonly in ("no", "yes"):
                names = []
                for port in (real.port, server.port):
                    r = redis.Redis(port=port)
                    r.config_set("appendonly", appendonly)
                    wait_rewrite_done(r)
                    names.append(list(r.info("persistence")))
                    r.close()
                assert names[0] == names[1]
    finally:
        real.stop()


def _replies(port: int, *commands) -> list:
    conn = RawConnection(port)
    try:
        return [conn.call(*command) for command in commands]
    finally:
        conn.close()


def test_bgrewriteaof_replies_and_layout_as_redis(workdir, redis_server):
    real = _fresh_redis(redis_server, "--aof-use-rdb-preamble", "no")
    try:
        with Server(port=0, dir=workdir, aof_use_rdb_preamble=False) as server:
            got = []
            for port in (real.port, server.port):
                got.append(_replies(port, ("SET", "a", "1"), ("BGREWRITEAOF",)))
                wait_rewrite_done(redis.Redis(port=port))
                got.append(_replies(port, ("MULTI",), ("BGREWRITEAOF",), ("EXEC",),
                                    ("BGREWRITEAOF", "x"),
                                    ("COMMAND", "INFO", "BGREWRITEAOF")))
                wait_rewrite_done(redis.Redis(port=port))
            assert got[0] == got[2] and got[1] == got[3]
            assert got[0][1] == b"+Background append only file rewriting started\r\n"
            # With AOF off, Redis 7 writes a base and a manifest naming it alone.
            folder = os.path.join(workdir, "appendonlydir")
            assert sorted(os.listdir(folder)) == ["appendonly.aof.2.base.aof",
                                                  "appendonly.aof.manifest"]
            assert open(os.path.join(folder, "appendonly.aof.manifest")).read() == \
                "file appendonly.aof.2.base.aof seq 2 type b\n"
    finally:
        real.stop()


def test_rewrite_already_in_progress(workdir):
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        pipe = r.pipeline(transaction=False)
        for i in range(20000):
            pipe.set("k%d" % i, "v")
        pipe.execute()
        conn = RawConnection(server.port)
        # Both requests in one read: the rewrite of 20,000 keys cannot be done between.
        conn.send_raw(b"*1\r\n$12\r\nBGREWRITEAOF\r\n*1\r\n$12\r\nBGREWRITEAOF\r\n")
        assert conn.read_raw() == b"+Background append only file rewriting started\r\n"
        assert conn.read_raw() == \
            b"-ERR Background append only file rewriting already in progress\r\n"
        conn.close()
        wait_rewrite_done(r)


def test_config_set_appendonly_at_runtime(workdir):
    with Server(port=0, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        r.set("before", "1")
        r.rpush("list", "a", "b")
        assert not os.path.exists(os.path.join(workdir, "appendonlydir"))
        assert r.config_set("appendonly", "yes")
        r.set("during", "2")                 # while the first base is written
        info = wait_rewrite_done(r)
        assert info["aof_enabled"] == 1 and info["aof_rewrites"] == 1
        r.rpush("list", "c")
        assert r.config_set("appendonly", "no")
        r.set("after-off", "3")              # not logged
        assert r.info("persistence")["aof_enabled"] == 0
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert sorted(r.keys()) == [b"before", b"during", b"list"]
        assert r.lrange("list", 0, -1) == [b"a", b"b", b"c"]


def test_failed_rewrite_keeps_the_old_files_and_reports(workdir, monkeypatch):
    with Server(port=0, appendonly=True, dir=workdir, aof_use_rdb_preamble=False) as server:
        r = redis.Redis(port=server.port)
        r.set("a", "1")

        def broken(*args):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(snapshot_module, "rewrite_commands", broken)
        assert r.bgrewriteaof()
        info = wait_rewrite_done(r)
        assert info["aof_last_bgrewrite_status"] == "err"
        assert info["aof_rewrites_consecutive_failures"] == 1
        # The manifest names the old base, old incr and the new incr: nothing lost.
        assert [os.path.basename(p) for p in aof_files(workdir)] == [
            "appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof",
            "appendonly.aof.2.incr.aof"]
        assert not [n for n in os.listdir(os.path.join(workdir, "appendonlydir"))
                    if n.startswith("temp-")]
        r.set("b", "2")
        monkeypatch.undo()
        assert r.bgrewriteaof()
        info = wait_rewrite_done(r)
        assert info["aof_last_bgrewrite_status"] == "ok"
        assert info["aof_rewrites_consecutive_failures"] == 0
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert r.mget("a", "b") == [b"1", b"2"]


def test_automatic_rewrite_on_growth(workdir):
    with Server(port=0, appendonly=True, dir=workdir, auto_aof_rewrite_min_size="4096",
                auto_aof_rewrite_percentage=100) as server:
        r = redis.Redis(port=server.port)
        for i in range(300):
            r.set("same-key", "value-%d" % i)
        deadline = time.time() + 10
        while r.info("persistence")["aof_rewrites"] < 1:
            assert time.time() < deadline
            time.sleep(0.02)
        wait_rewrite_done(r)
        # The new base is an RDB of one key. (INFO's aof_base_size is not: as Redis's,
        # it also counts the SETs that reached the new incr file during the rewrite,
        # which a loaded machine makes many.)
        base = aof_files(workdir)[0]
        assert base.endswith(".base.rdb") and os.path.getsize(base) < 200
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert redis.Redis(port=server.port).get("same-key") == b"value-299"


# -- loading -------------------------------------------------------------------------
def _write_aof(workdir: str, incr: bytes, base: bytes = b"") -> str:
    folder = os.path.join(workdir, "appendonlydir")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "appendonly.aof.manifest"), "w") as handle:
        handle.write("file appendonly.aof.1.base.aof seq 1 type b\n"
                     "file appendonly.aof.1.incr.aof seq 1 type i\n")
    with open(os.path.join(folder, "appendonly.aof.1.base.aof"), "wb") as handle:
        handle.write(base)
    path = os.path.join(folder, "appendonly.aof.1.incr.aof")
    with open(path, "wb") as handle:
        handle.write(incr)
    return path


_GOOD = (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
         b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n")
_MULTI = (b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
          b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n")


def test_missing_aof_starts_empty(workdir):
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert redis.Redis(port=server.port).dbsize() == 0
    assert sorted(os.listdir(os.path.join(workdir, "appendonlydir"))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]


@pytest.mark.parametrize("cut", [1, 5, 14, 22, 26])
def test_torn_tail_is_truncated(workdir, cut):
    path = _write_aof(workdir, _GOOD + b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n9\r\n"[:cut])
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert r.get("a") == b"1" and r.lrange("l", 0, -1) == [b"x"]
        assert r.get("z") is None
        r.set("after", "1")                  # appended after the truncation point
    assert open(path, "rb").read().startswith(_GOOD + b"*2\r\n$6\r\nSELECT")
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert redis.Redis(port=server.port).get("after") == b"1"


def test_incomplete_multi_is_dropped(workdir):
    path = _write_aof(workdir, _GOOD + _MULTI)
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert r.get("a") == b"1" and r.get("b") is None and r.get("c") is None
    assert open(path, "rb").read().startswith(_GOOD)
    # A complete transaction is applied.
    _write_aof(workdir, _GOOD + _MULTI + b"*1\r\n$4\r\nEXEC\r\n")
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert redis.Redis(port=server.port).mget("b", "c") == [b"2", b"3"]


def test_torn_tail_refused_without_aof_load_truncated(workdir):
    content = _GOOD + b"*3\r\n$3\r\nSET\r\n$1"
    path = _write_aof(workdir, content)
    done = run_mini(workdir, "--appendonly", "yes", "--aof-load-truncated", "no")
    assert done.returncode != 0
    assert b"Unexpected end of file reading the append only file appendonly.aof.1.incr" \
        b".aof (valid up to byte offset %d)" % len(_GOOD) in done.stdout
    assert b"aof-load-truncated" in done.stdout
    assert open(path, "rb").read() == content


def test_corruption_in_the_middle_names_the_offset(workdir):
    corrupt = _GOOD[:27] + b"#" + _GOOD[28:]    # the first "$" of SET
    path = _write_aof(workdir, corrupt + _GOOD)
    done = run_mini(workdir, "--appendonly", "yes")
    assert done.returncode == 1
    assert b"Bad file format reading the append only file appendonly.aof.1.incr.aof " \
        b"at byte offset 27" in done.stdout, done.stdout
    assert open(path, "rb").read() == corrupt + _GOOD    # untouched
    with pytest.raises(aof_module.AOFLoadError):
        Server(port=0, appendonly=True, dir=workdir)


def test_torn_base_is_not_a_tail(workdir):
    # Only the last file may end early: a short base is corruption.
    _write_aof(workdir, _GOOD, base=_GOOD[:20])
    done = run_mini(workdir, "--appendonly", "yes")
    assert done.returncode == 1 and b"Unexpected end of file" in done.stdout


@pytest.mark.parametrize("command,name", [(b"*1\r\n$5\r\nBOGUS\r\n", b"BOGUS"),
                                          (b"*2\r\n$6\r\nCONFIG\r\n$2\r\nNO\r\n", b"CONFIG")])
def test_unknown_command_refused(workdir, command, name):
    """Redis 7.0.15's words (lookupCommand: an unknown subcommand is no command)."""
    _write_aof(workdir, _GOOD + command)
    done = run_mini(workdir, "--appendonly", "yes")
    assert done.returncode == 1
    assert b"# Unknown command '%s' reading the append only file appendonly.aof.1.incr" \
        b".aof\n" % name in done.stdout


def test_loads_files_written_by_real_redis(workdir, redis_server):
    real = RedisProcess(redis_server, ["--appendonly", "yes", "--aof-use-rdb-preamble",
                                       "no", "--dir", workdir])
    try:
        r = redis.Redis(port=real.port)
        r.set("a", "1", ex=500)
        r.rpush("l", "x", "y")
        r.xadd("s", {"f": "v"})
        r.xgroup_create("s", "g", "0")
        r.xreadgroup("g", "c", {"s": ">"})
        redis.Redis(port=real.port, db=2).zadd("z", {"m": 1.5})
        assert r.bgrewriteaof()
        wait_rewrite_done(r)
        r.hset("h", "f", "v")
        expected = dump(real.port)
    finally:
        real.stop()          # SIGTERM: Redis fsyncs and exits; --dir is ours
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert_same(expected, dump(server.port))


def test_appendfsync_always_and_no(workdir):
    for policy in ("always", "no"):
        folder = os.path.join(workdir, policy)
        os.makedirs(folder)
        with Server(port=0, appendonly=True, dir=folder, appendfsync=policy) as server:
            r = redis.Redis(port=server.port)
            for i in range(50):
                r.rpush("l", i)
            # Before the reply came back the effect was in the file.
            assert _incr_bytes(folder).count(b"RPUSH") == 50
        with Server(port=0, appendonly=True, dir=folder) as server:
            assert redis.Redis(port=server.port).llen("l") == 50


# -- RDB snapshots -----------------------------------------------------------------------
def test_save_and_bgsave_load_into_real_redis(workdir, redis_server):
    with Server(port=0, dir=workdir) as server:
        populate(server.port)
        r = redis.Redis(port=server.port)
        before = r.lastsave()
        time.sleep(1.01)
        assert r.info("persistence")["rdb_changes_since_last_save"] > 0
        assert r.save() is True
        info = r.info("persistence")
        assert info["rdb_changes_since_last_save"] == 0 and info["rdb_saves"] == 1
        assert r.lastsave() > before
        expected = dump(server.port)
        real = RedisProcess(redis_server, ["--dir", workdir])
        try:
            assert_same(expected, dump(real.port))
        finally:
            real.stop()
        r.set("after", "1")
        assert r.bgsave() is True
        deadline = time.time() + 10
        while r.info("persistence")["rdb_bgsave_in_progress"]:
            assert time.time() < deadline
            time.sleep(0.01)
        assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"
        expected = dump(server.port)
    real = RedisProcess(redis_server, ["--dir", workdir])
    try:
        assert_same(expected, dump(real.port))
    finally:
        real.stop()
    # miniredis starts from its own dump too.
    with Server(port=0, dir=workdir) as server:
        assert_same(expected, dump(server.port))
        info = redis.Redis(port=server.port).info("persistence")
        assert info["rdb_last_load_keys_loaded"] == len(expected)


def test_loads_dump_written_by_real_redis(workdir, redis_server):
    # Redis's compact encodings: LZF strings, integers, listpacks, intsets,
    # quicklists, stream listpack nodes with groups and consumers.
    real = RedisProcess(redis_server, ["--dir", workdir])
    try:
        populate(real.port)
        r = redis.Redis(port=real.port)
        r.set("lzf", "abc" * 400)
        r.set("int", 12345)
        r.set("neg", -70000)
        r.rpush("biglist", *range(3000))
        r.rpush("hugeitem", "x" * 20000)
        r.sadd("intset", 1, 2, -3, 70000, 2 ** 40)
        r.hset("bighash", mapping={"f%d" % i: i for i in range(600)})
        r.zadd("bigz", {"m%d" % i: i / 3 for i in range(200)})
        r.set("short-ttl", "v", ex=1000)
        for i in range(250):
            r.xadd("bigstream", {"i": i, "f%d" % (i % 3): "v"})
        r.xdel("bigstream", r.xrange("bigstream", count=3)[2][0])
        r.xgroup_create("bigstream", "g", "0")
        r.xreadgroup("g", "c", {"bigstream": ">"}, count=120)
        assert r.save()
        expected = dump(real.port)
    finally:
        real.stop()
    with Server(port=0, dir=workdir) as server:
        assert_same(expected, dump(server.port))


def test_rdb_commands_replies_as_redis(workdir, redis_server):
    real = _fresh_redis(redis_server)
    try:
        with Server(port=0, dir=workdir) as server:
            got = []
            for port in (real.port, server.port):
                got.append(_replies(port, ("SET", "a", "1"), ("SAVE",), ("BGSAVE", "x"),
                                    ("BGSAVE", "SCHEDULE", "x"), ("MULTI",), ("SAVE",),
                                    ("DISCARD",), ("COMMAND", "INFO", "SAVE", "BGSAVE")))
            assert got[0] == got[1]
            assert got[0][1] == b"+OK\r\n"
            assert got[0][5] == b"-ERR Command not allowed inside a transaction\r\n"
    finally:
        real.stop()


def test_save_points_and_shutdown_save(workdir):
    with Server(port=0, dir=workdir, save="1 1") as server:
        r = redis.Redis(port=server.port)
        r.set("a", "1")
        deadline = time.time() + 10
        while not r.info("persistence")["rdb_saves"]:
            assert time.time() < deadline
            time.sleep(0.05)
        assert os.path.exists(os.path.join(workdir, "dump.rdb"))
        r.set("b", "2")
        conn = RawConnection(server.port)
        conn.send("SHUTDOWN", "SAVE")
        assert conn.closed_by_peer(5)
        conn.close()
        deadline = time.time() + 10
        while server.state.loop is not None:
            assert time.time() < deadline
            time.sleep(0.02)
    with Server(port=0, dir=workdir) as server:
        assert redis.Redis(port=server.port).mget("a", "b") == [b"1", b"2"]


def test_corrupt_rdb_refused(workdir):
    with Server(port=0, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        r.set("key", "value")
        r.save()
    path = os.path.join(workdir, "dump.rdb")
    data = bytearray(open(path, "rb").read())
    data[data.index(b"value")] ^= 1
    open(path, "wb").write(bytes(data))
    done = run_mini(workdir)
    assert done.returncode == 1 and b"Wrong RDB checksum" in done.stdout
    open(path, "wb").write(bytes(data[:-15]))
    done = run_mini(workdir)
    assert done.returncode == 1 and b"Short read" in done.stdout


def test_loads_real_redis_aof_with_rdb_preamble(workdir, redis_server):
    # Redis 7's defaults: the base of the AOF directory is an RDB file.
    real = RedisProcess(redis_server, ["--appendonly", "yes", "--dir", workdir])
    try:
        populate(real.port)
        r = redis.Redis(port=real.port)
        assert r.bgrewriteaof()
        wait_rewrite_done(r)
        r.set("in-incr", "1")
        expected = dump(real.port)
    finally:
        real.stop()
    assert aof_files(workdir)[0].endswith(".base.rdb")
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert_same(expected, dump(server.port))


def _command_bytes(*args: object) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _incr_only_aof(directory: str, commands: list) -> str:
    """``directory`` with a multi-part AOF of one incr file holding ``commands``."""
    os.makedirs(os.path.join(directory, "appendonlydir"))
    with open(os.path.join(directory, "appendonlydir",
                           "appendonly.aof.manifest"), "w") as handle:
        handle.write("file appendonly.aof.1.incr.aof seq 1 type i\n")
    with open(os.path.join(directory, "appendonlydir",
                           "appendonly.aof.1.incr.aof"), "wb") as handle:
        handle.write(b"".join(_command_bytes(*command) for command in commands))
    return directory


def test_nothing_expires_while_an_aof_loads(workdir, redis_server):
    """Loading, no key expires and a TTL already past deletes nothing (Redis's
    keyIsExpired and checkAlreadyExpired while loading): writes after a PEXPIREAT in
    the past go to the old value, which expires at its first lookup once loaded."""
    commands = [("SELECT", 0), ("RPUSH", "list", "foo"), ("PEXPIREAT", "list", 1000),
                ("RPUSH", "list", "bar"), ("SET", "counter", 10), ("EXPIRE", "counter", -5),
                ("INCR", "counter"), ("SET", "kept", "v"), ("PEXPIREAT", "kept", 1000),
                ("SET", "kept", "w", "KEEPTTL"), ("SET", "g", "v"),
                ("GETEX", "g", "PXAT", 1), ("APPEND", "g", "w"),
                ("SET", "fresh", "1"), ("PEXPIREAT", "fresh", 1000), ("DEL", "fresh"),
                ("SET", "fresh", "2"),
                ("MULTI",), ("SET", "m", "1"), ("PEXPIREAT", "m", 1000), ("INCR", "m"),
                ("EXEC",)]
    reads = [["LLEN", "list"], ["GET", "counter"], ["GET", "kept"], ["GET", "g"],
             ["GET", "fresh"], ["GET", "m"], ["DBSIZE"]]
    replies = {}
    for kind in ("redis", "miniredis"):
        directory = _incr_only_aof(os.path.join(workdir, kind), commands)
        if kind == "redis":
            from tests.harness import start_process, stop_process
            proc, port = start_process(
                lambda port: [redis_server, "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "yes", "--dir", directory],
                what="redis-server")
            try:
                conn = RawConnection(port)
                replies[kind] = [conn.call(*read) for read in reads]
                conn.close()
            finally:
                stop_process(proc, directory)
        else:
            with Server(port=0, dir=directory, appendonly="yes") as server:
                conn = RawConnection(server.port)
                replies[kind] = [conn.call(*read) for read in reads]
                conn.close()
    assert replies["miniredis"] == replies["redis"]
    assert replies["redis"][0] == b":0\r\n" and replies["redis"][4] == b"$1\r\n2\r\n"


@pytest.mark.parametrize("options", [
    ("--min-replicas-to-write", "1"),
    ("--maxmemory", "1", "--maxmemory-policy", "noeviction"),
    ("--replicaof", "127.0.0.1", "1", "--replica-read-only", "yes"),
], ids=["min-replicas", "maxmemory", "read-only-replica"])
def test_an_aof_replays_whole_whatever_clients_would_be_refused(workdir, redis_server,
                                                                options):
    """Redis replays its AOF through a client it obeys without processCommand's
    checks: no NOREPLICAS, OOM or READONLY refusal may drop an acknowledged write at
    restart."""
    commands = [("SELECT", 0), ("SET", "a", "1"), ("RPUSH", "l", "x", "y"),
                ("MULTI",), ("SET", "m", "1"), ("INCR", "m"), ("EXEC",)]
    reads = [["DBSIZE"], ["GET", "a"], ["LRANGE", "l", "0", "-1"], ["GET", "m"]]
    replies = {}
    for kind in ("redis", "miniredis"):
        directory = _incr_only_aof(os.path.join(workdir, kind), commands)
        from tests.harness import server_argv, start_process, stop_process
        proc, port = start_process(
            lambda port: server_argv(kind) + [
                "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--dir", directory, *options],
            what=kind, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            conn = RawConnection(port)
            replies[kind] = [conn.call(*read) for read in reads]
            conn.close()
        finally:
            stop_process(proc, directory)
    assert replies["miniredis"] == replies["redis"]
    assert replies["redis"][0] == b":3\r\n"


@pytest.mark.parametrize("setting", [
    ("CONFIG", "SET", "min-replicas-to-write", "1"),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("REPLICAOF", "127.0.0.1", "0"),
], ids=["min-replicas", "maxmemory", "read-only-replica"])
def test_debug_loadaof_replays_whole_whatever_clients_would_be_refused(workdir, setting):
    """DEBUG LOADAOF (as in unit/functions' "debug loadaof in read-only slaves") runs
    the file through the same obeyed client: nothing refused, nothing lost."""
    from tests.harness import server_argv, start_process, stop_process
    replies = {}
    for kind in ("redis", "miniredis"):
        directory = os.path.join(workdir, kind)
        os.makedirs(directory)
        proc, port = start_process(
            lambda port: server_argv(kind) + [
                "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--dir", directory, "--enable-debug-command", "yes"],
            what=kind, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            conn = RawConnection(port)
            conn.call("SET", "a", "1")
            conn.call("RPUSH", "l", "x", "y")
            conn.call("FUNCTION", "LOAD",
                      "#!lua name=test\nredis.register_function('test', "
                      "function() return 'hello' end)")
            conn.call(*setting)
            replies[kind] = [conn.call("DEBUG", "LOADAOF"), conn.call("DBSIZE"),
                             conn.call("LRANGE", "l", "0", "-1"),
                             conn.call("FUNCTION", "LIST")]
            conn.call("REPLICAOF", "NO", "ONE")
            conn.close()
        finally:
            stop_process(proc, directory)
    assert replies["miniredis"] == replies["redis"]
    assert replies["redis"][:2] == [b"+OK\r\n", b":2\r\n"]
