"""valkey-py (the ``valkey`` package, redis-py's fork) against miniredis.

A smaller set than test_redis_py.py: the fork shares redis-py's design but has its own
reply parsers, connection handshake (``lib-name=valkey-py``), pipelines, pub/sub,
Lock and scripts, so each is run through its API, under RESP2 and RESP3, sync and
``valkey.asyncio``.
"""
from __future__ import annotations

import asyncio
import threading
import time
import warnings

import pytest
import valkey
import valkey.asyncio
from valkey.lock import Lock

from tests.clients._common import pairs, protocol, wait_until  # noqa: F401 (fixture)
from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)



@pytest.fixture
def v(server, protocol):
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # deprecation or parser warnings fail
        client = valkey.Valkey.from_url(server.url, protocol=protocol)
        yield client
    client.close()


@pytest.fixture
def vd(server, protocol):
    client = valkey.Valkey.from_url(server.url, protocol=protocol, decode_responses=True)
    yield client
    client.close()


def test_handshake(server, protocol):
    client = valkey.Valkey(port=server.port, protocol=protocol, db=2, client_name="vk")
    me = client.client_info()
    assert (me["name"], me["db"], me["lib-name"], me["resp"]) == (
        "vk", 2, "valkey-py", str(protocol) if isinstance(me["resp"], str) else protocol)
    assert me["lib-ver"] == valkey.__version__
    assert client.ping() is True and client.echo("hi") == b"hi"
    client.close()


# -- every type ------------------------------------------------------------------------
def test_strings_and_keys(vd):
    assert vd.set("s", "v", ex=100) is True
    assert vd.set("s", "w", nx=True) is None
    assert vd.get("s") == "v" and 0 < vd.ttl("s") <= 100
    assert vd.getset("s", "x") == "v" and vd.getdel("s") == "x"
    assert vd.incr("n") == 1 and vd.incrby("n", 4) == 5 and vd.decr("n") == 4
    assert vd.incrbyfloat("f", 2.5) == 2.5
    assert vd.mset({"a": "1", "b": "2"}) is True
    assert vd.mget("a", "b", "nope") == ["1", "2", None]
    assert vd.append("a", "23") == 3 and vd.strlen("a") == 3
    assert vd.setrange("a", 1, "x") == 3 and vd.getrange("a", 0, -1) == "1x3"
    assert vd.setbit("bits", 3, 1) == 0 and vd.bitcount("bits") == 1
    assert vd.exists("a", "b", "nope") == 2
    assert vd.rename("b", "c") is True and vd.type("c") == "string"
    assert vd.expire("c", 50) is True and vd.persist("c") is True and vd.ttl("c") == -1
    assert vd.delete("a", "c") == 2
    assert sorted(vd.keys()) == ["bits", "f", "n"]
    assert vd.dbsize() == 3


def test_lists(vd):
    assert vd.rpush("l", "a", "b", "c") == 3 and vd.lpush("l", "z") == 4
    assert vd.lrange("l", 0, -1) == ["z", "a", "b", "c"]
    assert vd.lindex("l", 1) == "a" and vd.llen("l") == 4
    assert vd.lpop("l") == "z" and vd.rpop("l", 2) == ["c", "b"]
    assert vd.linsert("l", "before", "a", "0") == 2
    assert vd.lpos("l", "a") == 1
    assert vd.lmove("l", "l2", "LEFT", "RIGHT") == "0"
    assert vd.rpoplpush("l", "l2") == "a"
    assert vd.lrange("l2", 0, -1) == ["a", "0"] and vd.exists("l") == 0
    assert vd.blpop(["empty", "l2"], timeout=1) in (("l2", "a"), ["l2", "a"])
    assert vd.brpoplpush("l2", "l3", timeout=1) == "0"
    assert vd.blpop(["empty"], timeout=0.05) is None


def test_hashes(vd, protocol):
    assert vd.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert vd.hset("h", "c", "3") == 1
    assert vd.hget("h", "a") == "1" and vd.hmget("h", ["a", "x"]) == ["1", None]
    assert vd.hgetall("h") == {"a": "1", "b": "2", "c": "3"}
    assert vd.hincrby("h", "a", 5) == 6 and vd.hincrbyfloat("h", "b", 0.5) == 2.5
    assert sorted(vd.hkeys("h")) == ["a", "b", "c"] and vd.hlen("h") == 3
    assert vd.hexists("h", "c") is True and vd.hdel("h", "c", "x") == 1
    assert vd.hsetnx("h", "a", "no") == 0
    pairs = vd.hrandfield("h", 2, withvalues=True)
    if protocol == 3:                   # RESP3: [field, value] pairs, as Redis sends
        pairs = [item for pair in pairs for item in pair]
    assert sorted(pairs) == ["2.5", "6", "a", "b"]


def test_sets(vd):
    # valkey-py gives set replies as lists (redis-py as Python sets), on RESP3 too
    assert vd.sadd("s1", "a", "b", "c") == 3 and vd.sadd("s2", "b", "c", "d") == 3
    assert sorted(vd.smembers("s1")) == ["a", "b", "c"]
    assert sorted(vd.sinter("s1", "s2")) == ["b", "c"]
    assert sorted(vd.sunion("s1", "s2")) == ["a", "b", "c", "d"]
    assert vd.sdiff("s1", "s2") == ["a"] and vd.smembers("nope") == []
    assert vd.sismember("s1", "a") == 1 and vd.smismember("s1", ["a", "z"]) == [1, 0]
    assert vd.scard("s1") == 3 and vd.srem("s1", "a") == 1
    assert vd.spop("s1") in ("b", "c")
    assert vd.smove("s2", "s3", "d") is True and vd.smembers("s3") == ["d"]


def test_sorted_sets(vd):
    assert vd.zadd("z", {"a": 1, "b": 2.5, "c": -1}) == 3
    assert vd.zscore("z", "b") == 2.5 and vd.zincrby("z", 1, "a") == 2.0
    assert pairs(vd.zrange("z", 0, -1, withscores=True)) == [
        ("c", -1.0), ("a", 2.0), ("b", 2.5)]
    assert vd.zrangebyscore("z", 0, "+inf") == ["a", "b"]
    assert pairs(vd.zrevrange("z", 0, 0, withscores=True)) == [("b", 2.5)]
    assert vd.zrank("z", "b") == 2 and vd.zcard("z") == 3 and vd.zcount("z", 0, 3) == 2
    assert vd.zmscore("z", ["a", "nope"]) == [2.0, None]
    assert vd.zpopmin("z") in ([("c", -1.0)], ["c", -1.0])
    assert vd.bzpopmax(["z"], timeout=1) in (("z", "b", 2.5), ["z", "b", 2.5])
    assert vd.zrem("z", "a") == 1 and vd.exists("z") == 0


def test_streams(vd):
    assert vd.xadd("x", {"f": "v"}, id="1-1") == "1-1"
    assert vd.xadd("x", {"g": "w"}, id="2-1") == "2-1"
    assert vd.xlen("x") == 2
    assert vd.xrange("x") == [("1-1", {"f": "v"}), ("2-1", {"g": "w"})]
    assert vd.xrevrange("x", count=1) == [("2-1", {"g": "w"})]
    assert vd.xgroup_create("x", "g", id="0") is True
    got = vd.xreadgroup("g", "c1", {"x": ">"}, count=1)
    assert got in ([["x", [("1-1", {"f": "v"})]]], {"x": [[("1-1", {"f": "v"})]]})
    assert vd.xpending("x", "g")["pending"] == 1
    claimed = vd.xautoclaim("x", "g", "c2", 0, "0-0")
    assert claimed[1] == [("1-1", {"f": "v"})]
    assert vd.xack("x", "g", "1-1") == 1
    info = vd.xinfo_stream("x")
    assert info["length"] == 2 and info["groups"] == 1
    assert sorted(c["name"] for c in vd.xinfo_consumers("x", "g")) == ["c1", "c2"]
    assert vd.xtrim("x", maxlen=1) == 0          # "MAXLEN ~": whole nodes only
    assert vd.xtrim("x", maxlen=1, approximate=False) == 1
    assert vd.xdel("x", "2-1") == 1 and vd.xlen("x") == 0


def test_errors(v):
    v.set("str", "x")
    with pytest.raises(valkey.ResponseError, match="^WRONGTYPE"):
        v.lpush("str", "a")
    with pytest.raises(valkey.ResponseError, match="not an integer or out of range"):
        v.incr("str")
    with pytest.raises(valkey.exceptions.NoScriptError):
        v.evalsha("0" * 40, 0)
    assert v.ping() is True


# -- pipelines -------------------------------------------------------------------------
def test_pipeline_transaction(v):
    with v.pipeline() as pipe:
        pipe.set("a", 1).incr("a").get("a").hset("h", "f", "v").hgetall("h")
        pipe.zadd("z", {"m": 2}).zscore("z", "m").smembers("nope")
        assert pipe.execute() == [True, 2, b"2", 1, {b"f": b"v"}, 1, 2.0, []]
    with v.pipeline() as pipe:
        pipe.set("a", 1).lpush("a", "x").incr("a")
        with pytest.raises(valkey.ResponseError, match="WRONGTYPE"):
            pipe.execute()
    assert v.get("a") == b"2"
    with v.pipeline() as pipe:
        pipe.watch("a")
        v.set("a", 0)                 # a write by someone else after WATCH
        pipe.multi()
        pipe.incr("a")
        with pytest.raises(valkey.WatchError):
            pipe.execute()
    assert v.get("a") == b"0"


def test_pipeline_without_transaction(v):
    with v.pipeline(transaction=False) as pipe:
        for i in range(300):
            pipe.rpush("l", i)
        pipe.hset("l", "f", "v")
        pipe.llen("l")
        results = pipe.execute(raise_on_error=False)
    assert results[:300] == list(range(1, 301))
    assert isinstance(results[300], valkey.ResponseError)
    assert results[301] == 300


# -- pub/sub -----------------------------------------------------------------------------
def _next_message(pubsub, timeout: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message")


def test_pubsub_get_message(v):
    pubsub = v.pubsub()
    pubsub.subscribe("news")
    pubsub.psubscribe("user.*")
    assert [_next_message(pubsub)["type"] for _ in range(2)] == ["subscribe", "psubscribe"]
    assert v.publish("news", "hello") == 1 and v.publish("user.7", "hi") == 1
    message = _next_message(pubsub)
    assert (message["type"], message["channel"], message["data"]) == (
        "message", b"news", b"hello")
    message = _next_message(pubsub)
    assert (message["type"], message["pattern"], message["channel"], message["data"]) == (
        "pmessage", b"user.*", b"user.7", b"hi")
    assert v.pubsub_numsub("news") == [(b"news", 1)] and v.pubsub_numpat() == 1
    pubsub.unsubscribe("news")
    pubsub.punsubscribe()
    assert [_next_message(pubsub)["type"] for _ in range(2)] == [
        "unsubscribe", "punsubscribe"]
    assert v.publish("news", "lost") == 0
    pubsub.close()


def test_pubsub_in_a_thread(server, protocol):
    client = valkey.Valkey.from_url(server.url, protocol=protocol)
    received = []
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events=lambda message: received.append(message["data"]))
    worker = pubsub.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        wait_until(lambda: client.pubsub_numsub("events")[0][1] == 1)
        for i in range(20):
            client.publish("events", i)
        wait_until(lambda: len(received) == 20)
        assert received == [str(i).encode() for i in range(20)]
    finally:
        worker.stop()
        worker.join(5)
        pubsub.close()
        client.close()


# -- Lock and scripts ----------------------------------------------------------------------
def test_lock(v, server):
    lock = v.lock("resource", timeout=10)
    assert lock.acquire(blocking=False) is True and lock.owned()
    other = Lock(v, "resource", timeout=10, blocking_timeout=0.2)
    assert other.acquire() is False
    assert lock.extend(5) is True and 14 < v.pttl("resource") / 1000 <= 15
    assert lock.reacquire() is True and 9 < v.pttl("resource") / 1000 <= 10
    other.local.token = b"not-the-owner"
    with pytest.raises(valkey.exceptions.LockNotOwnedError):
        other.release()
    lock.release()
    assert not lock.locked()
    # Expiry follows the server's clock.
    assert lock.acquire(blocking=False)
    server.freeze_time()
    server.advance_time(11)
    assert not lock.locked()
    with pytest.raises(valkey.exceptions.LockNotOwnedError):
        lock.release()
    with v.lock("resource", timeout=5, blocking_timeout=1) as held:
        assert held.owned()
    assert v.exists("resource") == 0


def test_register_script(v):
    incr_by = v.register_script(
        "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) return {n, ARGV[2]}")
    assert incr_by(keys=["n"], args=[5, "tag"]) == [5, b"tag"]
    v.script_flush()
    assert incr_by(keys=["n"], args=[2, "again"]) == [7, b"again"]   # reloaded
    assert v.script_exists(incr_by.sha) == [True]
    with v.pipeline() as pipe:
        v.script_flush()
        incr_by(keys=["n"], args=[1, "p"], client=pipe)
        pipe.get("n")
        assert pipe.execute() == [[8, b"p"], b"8"]
    with pytest.raises(valkey.ResponseError, match="WRONGTYPE"):
        v.register_script("return redis.call('LPUSH', KEYS[1], 'x')")(keys=["n"])


def test_scan_iter(v):
    with v.pipeline(transaction=False) as pipe:
        for i in range(400):
            pipe.set("key:%d" % i, i)
        pipe.hset("hash", mapping={"f%d" % i: i for i in range(100)})
        pipe.sadd("set", *["m%d" % i for i in range(100)])
        pipe.zadd("zset", {"z%d" % i: i for i in range(100)})
        pipe.execute()
    keys = list(v.scan_iter(match="key:*", count=30))
    assert len(keys) == 400 and set(keys) == {b"key:%d" % i for i in range(400)}
    assert list(v.scan_iter(_type="zset")) == [b"zset"]
    assert len(dict(v.hscan_iter("hash", count=10))) == 100
    assert len(set(v.sscan_iter("set", match="m1*"))) == 11
    assert dict(v.zscan_iter("zset"))[b"z42"] == 42.0


def test_connection_pool_threads(server, protocol):
    pool = valkey.BlockingConnectionPool.from_url(server.url, max_connections=4,
                                                  timeout=10, protocol=protocol)
    client = valkey.Valkey(connection_pool=pool)
    errors = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                client.incr("counter")
                client.rpush("list:%d" % n, i)
        except Exception as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and client.get("counter") == b"500"
    assert all(client.llen("list:%d" % n) == 50 for n in range(10))
    assert len(pool._connections) <= 4
    pool.disconnect()


# -- asyncio -------------------------------------------------------------------------------
def test_asyncio(server, protocol):
    async def scenario() -> None:
        client = valkey.asyncio.Valkey.from_url(server.url, protocol=protocol)
        try:
            assert await client.set("a", 1) is True
            assert await client.get("a") == b"1"
            assert await client.incrby("a", 4) == 5
            assert await client.hset("h", mapping={"x": "1"}) == 1
            assert await client.hgetall("h") == {b"x": b"1"}
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr("a").get("a").smembers("missing")
                assert await pipe.execute() == [6, b"6", []]
            async with client.pipeline(transaction=False) as pipe:
                for i in range(50):
                    pipe.rpush("l", i)
                assert (await pipe.execute())[-1] == 50
            await asyncio.gather(*(client.incr("c") for _ in range(40)))
            assert await client.get("c") == b"40"
            popped = asyncio.ensure_future(client.blpop(["jobs"], timeout=5))
            await asyncio.sleep(0.05)
            await client.rpush("jobs", "j1")
            assert tuple(await popped) == (b"jobs", b"j1")
            assert [key async for key in client.scan_iter(match="l*")] == [b"l"]
            script = client.register_script("return redis.call('GET', KEYS[1])")
            assert await script(keys=["a"]) == b"6"
            lock = client.lock("alock", timeout=5)
            assert await lock.acquire(blocking=False)
            assert not await client.lock("alock", timeout=5).acquire(blocking=False)
            await lock.release()
            pubsub = client.pubsub()
            await pubsub.subscribe("chan")
            assert (await pubsub.get_message(timeout=1))["type"] == "subscribe"
            assert await client.publish("chan", "payload") == 1
            message = None
            for _ in range(20):
                message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                   timeout=0.1)
                if message:
                    break
            assert message["data"] == b"payload"
            await pubsub.unsubscribe("chan")
            await pubsub.aclose()
        finally:
            await client.aclose()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(scenario())
