"""redis-py against miniredis: sync and asyncio, RESP2 and RESP3, as applications use it.

Each test runs the library's own API (its reply parsers, pipelines, pub/sub
machinery, Lock, scripts, scan iterators, pools) and checks the Python values it gets.
"""
from __future__ import annotations

import asyncio
import threading
import time
import warnings

import pytest
import redis
import redis.asyncio
from redis.lock import Lock

from tests.clients._common import pairs, protocol, wait_until  # noqa: F401 (fixture)
from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)


@pytest.fixture
def r(server, protocol):
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # deprecation or parser warnings fail
        client = redis.Redis.from_url(server.url, protocol=protocol)
        yield client
    client.close()


@pytest.fixture
def rd(server, protocol):
    client = redis.Redis.from_url(server.url, protocol=protocol, decode_responses=True)
    yield client
    client.close()


# -- replies of every type, through redis-py's parsers -------------------------------
def test_data_types(rd):
    assert rd.set("s", "v", nx=True) is True
    assert rd.set("s", "w", nx=True) is None
    assert rd.set("s", "w", get=True) == "v"
    assert rd.getex("s", px=5000) == "w"
    assert rd.incrbyfloat("f", 1.25) == 1.25
    assert rd.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert rd.hgetall("h") == {"a": "1", "b": "2"}
    assert rd.hincrbyfloat("h", "a", 0.5) == 1.5
    assert rd.hrandfield("h", 2, withvalues=True) is not None
    assert rd.sadd("set", "x", "y", "z") == 3
    assert rd.smembers("set") == {"x", "y", "z"}
    assert rd.smismember("set", ["x", "q"]) == [1, 0]
    assert rd.zadd("z", {"a": 1, "b": 2.5, "c": -1}) == 3
    assert rd.zscore("z", "b") == 2.5
    assert rd.zincrby("z", 1, "a") == 2.0
    assert pairs(rd.zrange("z", 0, -1, withscores=True)) == [
        ("c", -1.0), ("a", 2.0), ("b", 2.5)]
    assert pairs(rd.zrevrangebyscore("z", "+inf", 0, withscores=True)) == [
        ("b", 2.5), ("a", 2.0)]
    assert rd.zpopmin("z") in ([("c", -1.0)], ["c", -1.0])   # RESP2 / RESP3 shapes
    assert rd.zmscore("z", ["a", "nope"]) == [2.0, None]
    assert rd.zrank("z", "b") == 1
    assert rd.zrandmember("z", 5, withscores=True) is not None
    assert rd.rpush("l", "a", "b", "c") == 3
    assert rd.lpos("l", "c") == 2
    assert rd.lmove("l", "l2", "LEFT", "RIGHT") == "a"
    assert rd.lrange("l", 0, -1) == ["b", "c"]
    assert rd.xadd("x", {"f": "v"}, id="1-1") == "1-1"
    assert rd.xrange("x") == [("1-1", {"f": "v"})]
    reply = rd.xread({"x": "0"})
    assert reply in ([["x", [("1-1", {"f": "v"})]]], {"x": [[("1-1", {"f": "v"})]]})
    assert rd.xgroup_create("x", "g", id="0") is True
    got = rd.xreadgroup("g", "c", {"x": ">"})
    assert got in ([["x", [("1-1", {"f": "v"})]]], {"x": [[("1-1", {"f": "v"})]]})
    assert rd.xpending("x", "g")["pending"] == 1
    assert rd.xack("x", "g", "1-1") == 1
    info = rd.xinfo_stream("x")
    assert info["length"] == 1 and info["groups"] == 1
    assert rd.type("x") == "stream"
    assert rd.setbit("bits", 7, 1) == 0 and rd.bitcount("bits") == 1
    assert rd.expire("s", 100) is True and 0 < rd.ttl("s") <= 100
    assert rd.copy("h", "h2") is True and rd.hgetall("h2") == {"a": "1.5", "b": "2"}
    assert sorted(rd.keys()) == sorted(["s", "f", "h", "h2", "set", "z", "l", "l2", "x",
                                        "bits"])


def test_bytes_and_binary_values(r):
    blob = bytes(range(256)) * 4
    r.set(b"\x00key\xff", blob)
    assert r.get(b"\x00key\xff") == blob
    assert r.strlen(b"\x00key\xff") == 1024
    assert r.getrange(b"\x00key\xff", 0, 3) == b"\x00\x01\x02\x03"
    r.hset("h", b"\xfe", b"\x00")
    assert r.hgetall("h") == {b"\xfe": b"\x00"}


def test_errors_map_to_exceptions(r):
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.lpush("str", "a")
    with pytest.raises(redis.ResponseError, match="not an integer or out of range"):
        r.incr("str")
    with pytest.raises(redis.ResponseError, match="unknown command 'NOPE'"):
        r.execute_command("NOPE")
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("0" * 40, 0)
    with pytest.raises(redis.exceptions.AuthenticationError):
        r.auth("secret")
    assert r.ping() is True     # the connection survived every error


def test_blocking_commands(r, server):
    assert r.blpop(["nothing"], timeout=0.05) is None
    r.rpush("q", "a")
    assert r.brpop(["empty", "q"], timeout=1) in ((b"q", b"a"), [b"q", b"a"])
    r.zadd("z", {"m": 1})
    assert r.bzpopmin(["z"], timeout=1) in ((b"z", b"m", 1.0), [b"z", b"m", 1.0])
    assert r.bzpopmax(["z"], timeout=0.05) is None
    results = []

    def consumer() -> None:
        client = redis.Redis.from_url(server.url, protocol=r.connection_pool
                                      .connection_kwargs.get("protocol", 2))
        results.append(client.blmove("src", "dst", 5, "LEFT", "RIGHT"))
        results.append(client.xread({"s": "$"}, block=5000))
        client.close()

    thread = threading.Thread(target=consumer)
    thread.start()
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1)
    r.rpush("src", "job")
    wait_until(lambda: len(results) == 1 and r.info("clients")["blocked_clients"] == 1)
    r.xadd("s", {"k": "v"}, id="5-0")
    thread.join(5)
    assert results[0] == b"job" and r.lrange("dst", 0, -1) == [b"job"]
    assert results[1] in ([[b"s", [(b"5-0", {b"k": b"v"})]]],
                          {b"s": [[(b"5-0", {b"k": b"v"})]]})


# -- pipelines -------------------------------------------------------------------------
def test_pipeline_transaction(r):
    with r.pipeline() as pipe:
        pipe.set("a", 1).incr("a").get("a").hset("h", "f", "v").hgetall("h")
        pipe.zadd("z", {"m": 2}).zscore("z", "m").smembers("nope")
        assert pipe.execute() == [True, 2, b"2", 1, {b"f": b"v"}, 1, 2.0, set()]
    with r.pipeline() as pipe:
        pipe.set("a", 1).lpush("a", "x").incr("a")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            pipe.execute()
    assert r.get("a") == b"2"      # the commands after the failing one still ran
    with r.pipeline() as pipe:
        pipe.set("a", 1)
        pipe.execute_command("SET", "b")       # wrong arity: refused while queueing
        with pytest.raises(redis.ResponseError) as failure:
            pipe.execute()
        assert "EXECABORT" in str(failure.value) or "wrong number" in str(failure.value)
    assert r.get("a") == b"2"      # nothing ran


def test_pipeline_without_transaction(r):
    with r.pipeline(transaction=False) as pipe:
        for i in range(500):
            pipe.set("k%d" % i, i)
        pipe.lpush("k0", "x")
        pipe.dbsize()
        results = pipe.execute(raise_on_error=False)
    assert results[:500] == [True] * 500
    assert isinstance(results[500], redis.ResponseError)
    assert results[501] == 500


def test_watch_and_transaction_helper(r, server):
    r.set("balance", 10)

    def spend(pipe) -> None:
        balance = int(pipe.get("balance"))
        if not calls:
            server.execute("INCRBY", "balance", 5)   # someone else writes meanwhile
        calls.append(balance)
        pipe.multi()
        pipe.set("balance", balance - 3)

    calls: list = []
    r.transaction(spend, "balance")
    assert calls == [10, 15]        # retried once after the WatchError
    assert r.get("balance") == b"12"
    with r.pipeline() as pipe:
        pipe.watch("balance")
        r.set("balance", 0)
        pipe.multi()
        pipe.incr("balance")
        with pytest.raises(redis.WatchError):
            pipe.execute()


# -- pub/sub -----------------------------------------------------------------------------
def _next_message(pubsub, timeout: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message")


def test_pubsub(r, server, protocol):
    pubsub = r.pubsub()
    pubsub.subscribe("news", "sport")
    pubsub.psubscribe("user.*")
    kinds = [_next_message(pubsub)["type"] for _ in range(3)]
    assert kinds == ["subscribe", "subscribe", "psubscribe"]
    assert r.pubsub_numsub("news") == [(b"news", 1)]
    assert r.pubsub_numpat() == 1
    assert sorted(r.pubsub_channels()) == [b"news", b"sport"]
    assert r.publish("news", "hello") == 1
    assert r.publish("user.42", "hi") == 1
    message = _next_message(pubsub)
    assert (message["type"], message["channel"], message["data"]) == (
        "message", b"news", b"hello")
    message = _next_message(pubsub)
    assert (message["type"], message["pattern"], message["channel"], message["data"]) == (
        "pmessage", b"user.*", b"user.42", b"hi")
    pubsub.ping("still-there")
    message = _next_message(pubsub)
    assert message["type"] == "pong"
    pubsub.unsubscribe("news")
    assert _next_message(pubsub)["type"] == "unsubscribe"
    assert r.publish("news", "lost") == 0
    pubsub.close()


def test_pubsub_handlers_in_a_thread_and_health_checks(server, protocol):
    client = redis.Redis.from_url(server.url, protocol=protocol, health_check_interval=1)
    received = []
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(**{"events": lambda message: received.append(message["data"])})
    worker = pubsub.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        publisher = redis.Redis.from_url(server.url, protocol=protocol)
        wait_until(lambda: publisher.pubsub_numsub("events")[0][1] == 1)
        publisher.config_resetstat()
        time.sleep(1.2)     # the next read sends PING redis-py-health-check
        for i in range(50):
            publisher.publish("events", i)
        wait_until(lambda: len(received) == 50)
        assert publisher.info("commandstats")["cmdstat_ping"]["calls"] >= 1
        assert received == [str(i).encode() for i in range(50)]
    finally:
        worker.stop()
        worker.join(5)
        pubsub.close()
        client.close()


# -- Lock --------------------------------------------------------------------------------
def test_lock(r, server):
    lock = r.lock("resource", timeout=10)
    assert lock.acquire(blocking=False) is True
    assert lock.locked() and lock.owned()
    other = Lock(r, "resource", timeout=10, blocking_timeout=0.2)
    assert other.acquire() is False
    assert lock.extend(5) is True
    assert 14 < r.pttl("resource") / 1000 <= 15
    assert lock.reacquire() is True
    assert 9 < r.pttl("resource") / 1000 <= 10
    other.local.token = b"not-the-owner"       # the release script must refuse it
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.release()
    lock.release()
    assert not lock.locked()
    with r.lock("resource", timeout=5, blocking_timeout=1) as held:
        assert held.owned()
    assert r.exists("resource") == 0


def test_lock_expires_with_the_server_clock(r, server):
    lock = r.lock("job", timeout=30)
    assert lock.acquire(blocking=False)
    server.freeze_time()
    server.advance_time(31)
    assert not lock.locked()
    other = r.lock("job", timeout=30)
    assert other.acquire(blocking=False)
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        lock.release()


# -- scripts -----------------------------------------------------------------------------
def test_register_script(r):
    incr_by = r.register_script(
        "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) return {v, ARGV[2]}")
    assert incr_by(keys=["n"], args=[5, "tag"]) == [5, b"tag"]
    r.script_flush()
    assert incr_by(keys=["n"], args=[2, "again"]) == [7, b"again"]   # NOSCRIPT, reloaded
    assert r.script_exists(incr_by.sha) == [True]
    with r.pipeline() as pipe:
        r.script_flush()
        incr_by(keys=["n"], args=[1, "p"], client=pipe)
        pipe.get("n")
        assert pipe.execute() == [[8, b"p"], b"8"]
    failing = r.register_script("return redis.call('LPUSH', KEYS[1], 'x')")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        failing(keys=["n"])
    assert r.eval("return {1, 'two', 3.9, false, 5}", 0) == [1, b"two", 3, None, 5]


# -- scan iterators ------------------------------------------------------------------------
def test_scan_iterators(r):
    with r.pipeline(transaction=False) as pipe:
        for i in range(700):
            pipe.set("key:%d" % i, i)
        pipe.hset("hash", mapping={"f%d" % i: i for i in range(300)})
        pipe.sadd("set", *["m%d" % i for i in range(300)])
        pipe.zadd("zset", {"z%d" % i: i for i in range(300)})
        pipe.execute()
    keys = list(r.scan_iter(match="key:*", count=50))
    assert len(keys) == 700 and set(keys) == {b"key:%d" % i for i in range(700)}
    assert list(r.scan_iter(_type="hash")) == [b"hash"]
    fields = dict(r.hscan_iter("hash", match="f1*", count=20))
    assert fields == {b"f%d" % i: b"%d" % i for i in range(300) if str(i).startswith("1")}
    members = list(r.sscan_iter("set", count=30))
    assert sorted(members) == sorted(b"m%d" % i for i in range(300))
    scored = list(r.zscan_iter("zset", count=30))
    assert len(scored) == 300 and dict(scored)[b"z299"] == 299.0
    # keys deleted during the scan are simply not returned; the rest all are
    seen = set()
    for n, key in enumerate(r.scan_iter(match="key:*", count=10)):
        seen.add(key)
        if n == 5:
            r.delete(*["key:%d" % i for i in range(600, 700)])
    assert {b"key:%d" % i for i in range(600)} <= seen


# -- connection pools and threads -------------------------------------------------------------
def test_connection_pool_many_threads(server, protocol):
    pool = redis.BlockingConnectionPool.from_url(server.url, max_connections=8,
                                                 timeout=10, protocol=protocol)
    client = redis.Redis(connection_pool=pool)
    errors = []

    def work(n: int) -> None:
        try:
            for i in range(100):
                client.incr("counter")
                client.rpush("list:%d" % n, i)
                if i % 25 == 0:
                    with client.pipeline() as pipe:
                        pipe.incr("tx").incr("tx").execute()
            assert client.lrange("list:%d" % n, 0, -1) == [b"%d" % i for i in range(100)]
        except Exception as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert client.get("counter") == b"2400"
    assert client.get("tx") == b"192"
    assert len(pool._connections) <= 8
    info = client.info("clients")
    assert info["connected_clients"] >= 1
    pool.disconnect()


def test_client_names_and_databases(server, protocol):
    client = redis.Redis(port=server.port, protocol=protocol, db=4,
                         client_name="worker-1")
    client.set("k", "v")
    assert server.dump(db=4) == {b"k": b"v"}
    assert client.client_getname() in (b"worker-1", "worker-1")
    me = client.client_info()
    assert me["name"] == "worker-1" and me["db"] == 4
    assert me["lib-name"] == "redis-py"
    client.close()


# -- asyncio -----------------------------------------------------------------------------------
def test_asyncio(server, protocol):
    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(server.url, protocol=protocol)
        try:
            assert await client.set("a", 1) is True
            assert await client.incrby("a", 4) == 5
            await client.hset("h", mapping={"x": "1"})
            assert await client.hgetall("h") == {b"x": b"1"}
            await client.zadd("z", {"m": 1.5})
            assert pairs(await client.zrange("z", 0, -1, withscores=True)) == [
                (b"m", 1.5)]
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr("a").get("a").smembers("missing")
                assert await pipe.execute() == [6, b"6", set()]
            async with client.pipeline(transaction=False) as pipe:
                for i in range(100):
                    pipe.rpush("l", i)
                assert (await pipe.execute())[-1] == 100
            # many concurrent tasks over the pool (100 connections at most)
            await asyncio.gather(*(client.incr("c") for _ in range(90)))
            assert await client.get("c") == b"90"
            # blocking pop answered by a concurrent push
            popped = asyncio.ensure_future(client.blpop(["jobs"], timeout=5))
            await asyncio.sleep(0.05)
            await client.rpush("jobs", "j1")
            assert tuple(await popped) == (b"jobs", b"j1")
            # scan iterators
            found = [key async for key in client.scan_iter(match="l*")]
            assert found == [b"l"]
            # scripts and locks
            script = client.register_script("return redis.call('GET', KEYS[1])")
            assert await script(keys=["a"]) == b"6"
            lock = client.lock("alock", timeout=5)
            assert await lock.acquire(blocking=False)
            assert not await client.lock("alock", timeout=5).acquire(blocking=False)
            await lock.release()
            # pub/sub
            pubsub = client.pubsub()
            await pubsub.subscribe("chan")
            message = await pubsub.get_message(timeout=1)
            assert message["type"] == "subscribe"
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
            # watch conflicts
            async with client.pipeline() as pipe:
                await pipe.watch("a")
                await client.set("a", 0)
                pipe.multi()
                pipe.incr("a")
                with pytest.raises(redis.WatchError):
                    await pipe.execute()
        finally:
            await client.aclose()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(scenario())


def test_asyncio_pool_patterns_scans_scripts_and_waiting_lock(server, protocol):
    """redis.asyncio beyond the basics: a blocking pool shared by many tasks, pattern
    subscriptions, the hash/set/zset scan iterators, scripts reloaded after SCRIPT
    FLUSH, a lock waited for, errors collected from a pipeline, a blocking XREAD."""
    async def scenario() -> None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            server.url, max_connections=4, timeout=10, protocol=protocol)
        client = redis.asyncio.Redis(connection_pool=pool)
        try:
            async def work(n: int) -> None:
                for i in range(20):
                    await client.incr("counter")
                    await client.rpush("list:%d" % n, i)
                async with client.pipeline() as pipe:
                    await pipe.incr("tx").incr("tx").execute()

            await asyncio.gather(*(work(n) for n in range(30)))
            assert await client.get("counter") == b"600"
            assert await client.get("tx") == b"60"
            assert await client.lrange("list:7", 0, -1) == [b"%d" % i for i in range(20)]
            assert len(pool._available_connections) + len(pool._in_use_connections) <= 4

            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.psubscribe("user.*")
            assert await client.publish("user.1", "hi") == 1
            message = None
            for _ in range(20):
                message = await pubsub.get_message(timeout=0.1)
                if message:
                    break
            assert (message["type"], message["pattern"], message["channel"],
                    message["data"]) == ("pmessage", b"user.*", b"user.1", b"hi")
            await pubsub.punsubscribe()
            await pubsub.aclose()

            await client.hset("h", mapping={"f%d" % i: i for i in range(200)})
            await client.sadd("s", *range(200))
            await client.zadd("z", {"m%d" % i: i for i in range(200)})
            fields = {k: v async for k, v in client.hscan_iter("h", count=15)}
            assert len(fields) == 200 and fields[b"f99"] == b"99"
            members = {m async for m in client.sscan_iter("s", match="1*", count=15)}
            assert members == {b"%d" % i for i in range(200) if str(i).startswith("1")}
            scored = [pair async for pair in client.zscan_iter("z", count=15)]
            assert len(scored) == 200 and dict(scored)[b"m150"] == 150.0

            script = client.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            assert await script(keys=["n"], args=[3]) == 3
            await client.script_flush()
            assert await script(keys=["n"], args=[4]) == 7          # NOSCRIPT, reloaded

            holder = client.lock("res", timeout=5)
            assert await holder.acquire(blocking=False)
            waiter = client.lock("res", timeout=5, blocking_timeout=3, sleep=0.02)
            acquiring = asyncio.ensure_future(waiter.acquire())
            await asyncio.sleep(0.1)
            assert not acquiring.done()
            await holder.release()
            assert await acquiring is True and await waiter.owned()
            await waiter.release()

            async with client.pipeline(transaction=False) as pipe:
                pipe.set("str", "x").lpush("str", "y").get("str")
                results = await pipe.execute(raise_on_error=False)
            assert results[0] is True and results[2] == b"x"
            assert isinstance(results[1], redis.ResponseError)

            reading = asyncio.ensure_future(client.xread({"events": "$"}, block=5000))
            await asyncio.sleep(0.1)
            await client.xadd("events", {"k": "v"}, id="7-0")
            assert await reading in ([[b"events", [(b"7-0", {b"k": b"v"})]]],
                                     {b"events": [[(b"7-0", {b"k": b"v"})]]})
        finally:
            await client.aclose()
            await pool.disconnect()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(scenario())
