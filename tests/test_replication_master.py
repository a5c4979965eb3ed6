"""miniredis as a replication master, with real redis-server replicas.

A mixed write load on every type (the AOF tests' ``populate``: TTLs, served blocking
pops, streams with groups and pending entries, Lua, MULTI, several databases...) must
leave the replica with exactly the master's dataset (every key of every db, TTLs within
a second), after a disk-based or a diskless full synchronisation and through the
stream. A dropped link ends in a partial resynchronisation; a replica too far behind
for the backlog gets a full one. WAIT counts real acknowledgements; min-replicas-*
counts good replicas; INFO, ROLE and CLIENT LIST show the replicas.
"""
from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.aofutil import assert_same, dump
from tests.replutil import (Master, RawReplica, Replica, sync_stats, wait_caught_up,
                            wait_until)
from tests.test_aof import populate


@pytest.fixture
def master():
    m = Master()
    yield m
    m.stop()


def _more_writes(port: int) -> None:
    """Writes after the sync: expiries (active and lazy), FCALL, scripts, SPOP..."""
    r = redis.Redis(port=port)
    r.function_load("#!lua name=replib\n"
                    "redis.register_function('setpair', function(keys, args) "
                    "redis.call('set', keys[1], args[1]); "
                    "redis.call('set', keys[2], args[2], 'px', 600000); return 1 end)",
                    replace=True)
    r.fcall("setpair", 2, "fc:a", "fc:b", "1", "2")
    for i in range(20):
        r.set("short:%d" % i, i, px=30)             # expire actively: DEL propagated
    r.sadd("after:set", *range(10))
    r.spop("after:set", 2)
    r.incrbyfloat("after:float", 0.1)
    r.incrbyfloat("after:float", "1e2")
    r.hincrbyfloat("after:hash", "f", 2.5)
    r.set("after:ttl", "v", ex=1000)
    r.expire("after:ttl", 2000)
    r.getex("after:ttl", px=900000)
    r.xadd("after:stream", {"a": "1"}, maxlen=2, approximate=True)
    r.execute_command("SELECT", 0)
    pipe = r.pipeline(transaction=True)
    pipe.set("after:m1", "1").lpush("after:list", "a", "b").rpop("after:list")
    pipe.execute()
    r.eval("redis.call('select', 9); redis.call('set', 'db9', ARGV[1]); "
           "redis.call('select', 0); return redis.call('incr', 'after:incr')", 0, "x")
    r9 = redis.Redis(port=port, db=9)
    r9.zadd("z9", {"a": 1, "b": 2})
    r9.zincrby("z9", 2.5, "a")
    time.sleep(0.3)                                   # the short keys expire
    r.close()
    r9.close()


def _rename_everything(port: int) -> None:
    for db in range(16):
        r = redis.Redis(port=port, db=db)
        for key in r.keys("*"):
            r.rename(key, b"old:" + key)
        r.close()


@pytest.mark.parametrize("diskless", [True, False], ids=["diskless", "disk"])
def test_full_sync_then_stream_gives_identical_datasets(diskless):
    m = Master(diskless=diskless)
    replica = None
    try:
        populate(m.port)                        # before the replica: in the RDB
        replica = Replica(m.port)
        replica.wait_up()
        _rename_everything(m.port)              # through the stream: RENAMEs
        populate(m.port)                        # again, through the stream
        _more_writes(m.port)
        wait_caught_up(m, replica)
        assert_same(dump(m.port), dump(replica.port), ttl_tolerance_ms=1000)
        assert sync_stats(m)[0] == 1
        assert replica.r.dbsize() > 40
        assert m.r.keys("short:*") == [] and replica.r.keys("short:*") == []
    finally:
        if replica is not None:
            replica.stop()
        m.stop()


def test_writes_during_the_snapshot_follow_the_rdb():
    m = Master(diskless=False)
    replica = None
    try:
        m.r.execute_command("DEBUG", "POPULATE", 200000, "big", 64)
        stop = threading.Event()
        written = []

        def writer() -> None:
            w = redis.Redis(port=m.port)
            i = 0
            while not stop.is_set():
                w.set("during:%d" % i, i)
                written.append(i)
                i += 1
            w.close()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        replica = Replica(m.port)
        replica.wait_up(60)
        time.sleep(0.2)
        stop.set()
        thread.join(10)
        wait_caught_up(m, replica, 60)
        assert replica.r.dbsize() == m.r.dbsize() == 200000 + len(written)
        assert replica.r.get("during:%d" % written[-1]) == b"%d" % written[-1]
    finally:
        stop.set()
        if replica is not None:
            replica.stop()
        m.stop()


@pytest.mark.parametrize("who", ["replica", "master"])
def test_killed_link_ends_in_partial_resync(master, who):
    replica = Replica(master.port)
    try:
        replica.wait_up()
        master.r.set("before", "1")
        wait_caught_up(master, replica)
        stop = threading.Event()

        def writer() -> None:                   # writes keep flowing across the cut
            w = redis.Redis(port=master.port)
            i = 0
            while not stop.is_set():
                w.incr("counter")
                w.rpush("log", i)
                i += 1
            w.close()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        time.sleep(0.2)
        if who == "replica":
            replica.r.client_kill_filter(_type="master")
        else:
            assert master.r.client_kill_filter(_type="replica") == 1
        for i in range(100):
            master.r.set("while-down:%d" % i, i)
        wait_until(lambda: sync_stats(master)[1] >= 1, 30, "a partial resync")
        time.sleep(0.2)
        stop.set()
        thread.join(10)
        wait_caught_up(master, replica)
        assert sync_stats(master)[0] == 1                 # one full sync only
        assert_same(dump(master.port), dump(replica.port), ttl_tolerance_ms=1000)
    finally:
        replica.stop()


def test_replica_far_behind_a_small_backlog_gets_a_full_sync(master):
    raw = RawReplica(master.port, capa_eof=True)
    try:
        assert raw.psync().startswith(b"+FULLRESYNC")
        replid, offset = raw.replid, raw.offset
        master.r.config_set("repl-backlog-size", "16384")
        raw.close()
        for i in range(200):
            master.r.set("k%d" % i, "x" * 200)
        again = RawReplica(master.port, capa_eof=True)
        try:
            assert again.psync(replid, offset + 1).startswith(b"+FULLRESYNC")
        finally:
            again.close()
        assert sync_stats(master) == (2, 0, 1)
        # Within the backlog: continued.
        info = master.info()
        third = RawReplica(master.port, capa_eof=True)
        try:
            assert third.psync(info["master_replid"], info["master_repl_offset"] - 100) \
                == b"+CONTINUE %s" % info["master_replid"].encode()
            assert len(third.raw(100)) == 100
        finally:
            third.close()
        assert sync_stats(master) == (2, 1, 1)
    finally:
        raw.close()


def test_psync_with_the_previous_replication_id(master):
    """PSYNC2: after a promotion the old ID is valid up to second_repl_offset."""
    raw = RawReplica(master.port, capa_eof=True)
    try:
        raw.psync()
        master.r.set("a", "1")
        repl = master.state.repl
        old_id = repl.replid
        offset = master.info()["master_repl_offset"]
        master.server.call(repl.shift_replid)
        again = RawReplica(master.port, capa_eof=True)
        assert again.psync(old_id, offset + 1) == b"+CONTINUE %s" % repl.replid.encode()
        again.close()
        master.r.set("b", "2")
        late = RawReplica(master.port, capa_eof=True)
        assert late.psync(old_id, offset + 50).startswith(b"+FULLRESYNC")
        late.close()
    finally:
        raw.close()


def test_wait_counts_acknowledgements(master):
    assert master.r.wait(0, 0) == 0
    started = time.time()
    assert master.r.wait(1, 200) == 0                 # no replica: times out
    assert time.time() - started >= 0.15
    replica = Replica(master.port)
    try:
        replica.wait_up()
        master.r.set("x", "1")
        assert master.r.wait(1, 5000) == 1
        assert replica.r.get("x") == b"1"
        master.r.set("y", "2")
        started = time.time()
        assert master.r.wait(2, 300) == 1             # one of two: the count at timeout
        assert time.time() - started >= 0.25
        pipe = master.r.pipeline(transaction=True)
        pipe.set("z", "3").wait(5, 0)
        assert pipe.execute()[1] <= 1                 # inside MULTI: never blocks
    finally:
        replica.stop()


def test_min_replicas_to_write(master):
    master.r.config_set("min-replicas-to-write", "1")
    with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
        master.r.set("a", "1")
    assert master.info()["min_slaves_good_slaves"] == 0
    replica = Replica(master.port)
    try:
        replica.wait_up()
        wait_until(lambda: master.info()["min_slaves_good_slaves"] == 1, 10, "good replica")
        assert master.r.set("a", "1")
        master.r.config_set("min-replicas-to-write", "2")
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            master.r.set("a", "2")
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            master.r.eval("redis.call('set', 'a', '3')", 0)
        master.r.config_set("min-replicas-to-write", "1")
        master.r.config_set("min-replicas-max-lag", "1")
        replica.r.execute_command("DEBUG", "SLEEP", 0)
        assert master.r.set("a", "4")
        # A replica that stops acknowledging is no longer good after max-lag seconds.
        replica.proc.proc.send_signal(19)                # SIGSTOP
        try:
            wait_until(lambda: master.info()["min_slaves_good_slaves"] == 0, 10,
                       "the lagging replica to stop counting")
            with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
                master.r.set("a", "5")
        finally:
            replica.proc.proc.send_signal(18)            # SIGCONT
    finally:
        replica.stop()


def test_info_role_and_client_list_show_replicas(master):
    replica = Replica(master.port)
    try:
        replica.wait_up()
        master.r.set("a", "1")
        wait_caught_up(master, replica)
        wait_until(lambda: master.info()["slave0"]["offset"]
                   == master.info()["master_repl_offset"], 10, "an ACK")
        info = master.info()
        assert info["role"] == "master" and info["connected_slaves"] == 1
        slave = info["slave0"]
        assert slave["ip"] == "127.0.0.1" and slave["port"] == replica.port
        assert slave["state"] == "online" and slave["lag"] <= 1
        assert info["repl_backlog_active"] == 1
        assert info["repl_backlog_first_byte_offset"] == 1
        assert info["repl_backlog_histlen"] == info["master_repl_offset"]
        assert info["master_replid"] == replica.info()["master_replid"]
        role = master.r.execute_command("ROLE")
        assert role[0] == b"master" and role[1] == info["master_repl_offset"]
        assert role[2] == [[b"127.0.0.1", str(replica.port).encode(),
                            str(slave["offset"]).encode()]]
        assert master.r.execute_command("HELLO", 3)[b"role"] == b"master"
        listed = master.r.client_list(_type="replica")
        assert len(listed) == 1 and listed[0]["flags"] == "S"
        assert master.r.execute_command("CLIENT", "LIST", "TYPE", "slave").count(b"flags=S") == 1
        assert all(c["flags"] != "S" for c in master.r.client_list(_type="normal"))
        assert master.r.client_kill_filter(_type="slave") == 1
        wait_until(lambda: sync_stats(master)[1] == 1, 20, "the replica to come back")
    finally:
        replica.stop()


def test_backlog_is_freed_after_ttl_without_replicas(master):
    master.r.config_set("repl-backlog-ttl", "1")
    raw = RawReplica(master.port, capa_eof=True)
    raw.psync()
    first_id = master.info()["master_replid"]
    assert master.info()["repl_backlog_active"] == 1
    raw.close()
    wait_until(lambda: master.info()["repl_backlog_active"] == 0, 10, "the backlog freed")
    assert master.info()["master_replid"] != first_id
    offset = master.info()["master_repl_offset"]
    master.r.set("a", "1")                            # no backlog: the offset stays
    assert master.info()["master_repl_offset"] == offset


def test_ping_every_repl_ping_replica_period(master):
    master.r.config_set("repl-ping-replica-period", "1")
    raw = RawReplica(master.port, capa_eof=True)
    try:
        raw.psync()
        raw.ack(raw.offset)                           # diskless: the stream starts on ACK
        started = time.time()
        assert raw.commands(1, timeout=5) == [[b"PING"]]      # PING selects no db
        assert raw.commands(1, timeout=5) == [[b"PING"]]
        assert time.time() - started >= 0.5
    finally:
        raw.close()


def test_replica_that_stops_reading_is_disconnected(master):
    master.r.config_set("client-output-buffer-limit", "replica 1mb 0 0")
    raw = RawReplica(master.port, capa_eof=True)
    try:
        raw.psync()
        raw.ack(raw.offset)
        value = b"x" * 100000
        for i in range(300):                          # 30 MB the replica never reads
            master.r.set("big:%d" % (i % 10), value)
        wait_until(lambda: master.info()["connected_slaves"] == 0, 10,
                   "the replica to be dropped")
    finally:
        raw.close()


def test_aof_and_replicas_receive_the_same_effects():
    m = Master(appendonly="yes")
    replica = None
    try:
        replica = Replica(m.port)
        replica.wait_up()
        populate(m.port)
        wait_caught_up(m, replica)
        assert_same(dump(m.port), dump(replica.port), ttl_tolerance_ms=1000)
        m.r.config_set("appendonly", "no")              # the feed goes on alone
        m.r.set("after-aof", "1")
        wait_caught_up(m, replica)
        assert replica.r.get("after-aof") == b"1"
    finally:
        if replica is not None:
            replica.stop()
        m.stop()


def test_publish_reaches_subscribers_of_the_replica(master):
    replica = Replica(master.port)
    try:
        replica.wait_up()
        pubsub = replica.r.pubsub()
        pubsub.subscribe("news")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        master.r.publish("news", "hello")
        message = pubsub.get_message(timeout=5)
        assert message is not None and message["data"] == b"hello"
        pubsub.close()
    finally:
        replica.stop()


def test_feed_raw_reaches_replicas_and_advances_the_offset(master):
    from miniredis.replication.feed import feed_raw
    raw = RawReplica(master.port, capa_eof=True)
    try:
        raw.psync()
        raw.ack(raw.offset)
        before = master.info()["master_repl_offset"]
        data = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        master.server.call(feed_raw, master.state, data)
        assert raw.raw(len(data)) == data
        assert master.info()["master_repl_offset"] == before + len(data)
    finally:
        raw.close()


def test_two_replicas_share_one_diskless_sync():
    m = Master()
    m.r.config_set("repl-diskless-sync-delay", "1")
    first = second = None
    try:
        m.r.set("a", "1")
        first = Replica(m.port)
        second = Replica(m.port)
        first.wait_up()
        second.wait_up()
        assert sync_stats(m)[0] == 2
        m.r.set("b", "2")
        wait_caught_up(m, first)
        wait_caught_up(m, second)
        assert second.r.mget("a", "b") == [b"1", b"2"]
    finally:
        for replica in (first, second):
            if replica is not None:
                replica.stop()
        m.stop()


def test_old_sync_protocol(master):
    """SYNC: a full sync without +FULLRESYNC, then the stream (no ACKs expected)."""
    master.r.config_set("repl-diskless-sync", "no")
    master.r.set("a", "1")
    raw = RawReplica(master.port)
    try:
        raw.sync()
        assert raw.rdb.startswith(b"REDIS0010") and b"a" in raw.rdb
        master.r.set("b", "2")
        assert raw.commands(2) == [[b"SELECT", b"0"], [b"SET", b"b", b"2"]]
        assert sync_stats(master) == (1, 0, 0)
    finally:
        raw.close()


def test_replica_that_never_acks_is_timed_out(master):
    master.r.config_set("repl-timeout", "1")
    raw = RawReplica(master.port)
    try:
        raw.psync()
        assert master.info()["connected_slaves"] == 1
        wait_until(lambda: master.info()["connected_slaves"] == 0, 10,
                   "the silent replica timed out")
    finally:
        raw.close()


def test_diskless_sync_max_replicas_starts_before_the_delay(master):
    master.r.config_set("repl-diskless-sync-delay", "60")
    master.r.config_set("repl-diskless-sync-max-replicas", "2")
    first = RawReplica(master.port, capa_eof=True)
    second = RawReplica(master.port, capa_eof=True)
    try:
        started = time.time()
        first.sock.sendall(b"PSYNC ? -1\r\n")
        time.sleep(0.5)
        assert master.info()["slave0"]["state"] == "wait_bgsave"
        assert second.psync().startswith(b"+FULLRESYNC")     # the second one: now
        assert time.time() - started < 10
    finally:
        first.close()
        second.close()


def test_chained_replica_proxies_the_stream_verbatim(master):
    """master (miniredis) -> replica (miniredis) -> sub-replica (redis-server): the
    middle one proxies its master's bytes (feed_raw), so every offset matches."""
    middle = Master()
    sub = None
    try:
        middle.r.execute_command("REPLICAOF", "127.0.0.1", master.port)
        wait_until(lambda: middle.info().get("master_link_status") == "up", 30, "middle up")
        master.r.set("before", "1")
        sub = Replica(middle.port)
        sub.wait_up()
        populate(master.port)
        wait_until(lambda: middle.info()["master_repl_offset"]
                   == master.info()["master_repl_offset"], 30, "middle caught up")
        wait_caught_up(middle, sub)
        assert sub.info()["master_repl_offset"] == master.info()["master_repl_offset"]
        assert_same(dump(master.port), dump(sub.port), ttl_tolerance_ms=1000)
        # A dropped sub-replica link continues from the middle's backlog.
        middle.r.client_kill_filter(_type="replica")
        master.r.set("after", "2")
        wait_until(lambda: sync_stats(middle)[1] >= 1, 30, "a partial resync")
        wait_until(lambda: sub.r.get("after") == b"2", 30, "the write through the chain")
    finally:
        if sub is not None:
            sub.stop()
        middle.stop()
