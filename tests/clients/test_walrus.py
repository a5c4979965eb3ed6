"""walrus against miniredis: containers, Lock, RateLimit, cache and autocomplete.

Two layers: scenarios written here with walrus's API (checked against the data the
server holds), and walrus's own bundled unit tests for the same features, run in a
subprocess pointed at the embedded server. (walrus streams and TimeSeries are covered
with the other stream clients.)
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import walrus
from walrus import Database

from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def db(server, request):
    database = Database(port=server.port, protocol=request.param)
    yield database
    database.close()


def test_hash(db, server):
    h = db.Hash("user:1")
    h.update(name="ann", visits="1")
    h["email"] = "ann@example.com"
    assert h["name"] == b"ann" and h["missing"] is None
    assert h.incr("visits", 2) == 3
    assert h.incr_float("score", 1.5) == 1.5
    assert len(h) == 4 and "email" in h
    assert sorted(h.keys()) == [b"email", b"name", b"score", b"visits"]
    assert dict(h.search("e*")) == {b"email": b"ann@example.com"}
    del h["email"]
    assert h.setnx("name", "bob") is False
    assert h.as_dict(decode=True) == {"name": "ann", "visits": "3", "score": "1.5"}
    assert server.get("user:1") == {b"name": b"ann", b"visits": b"3", b"score": b"1.5"}
    copy = walrus.Hash.from_dict(db, "copy", {"a": "1"})
    assert copy.as_dict() == {b"a": b"1"}
    h.expire(10)
    assert 9 < server.ttl("user:1") <= 10


def test_list(db, server):
    items = db.List("items")
    items.extend(["b", "c"])
    items.prepend("a")
    items.append("d")
    assert list(items) == [b"a", b"b", b"c", b"d"]
    assert items[1] == b"b" and items[-1] == b"d" and items[1:3] == [b"b", b"c"]
    items[0] = "A"
    items.insert_before("x", "c")
    items.insert_after("y", "c")
    assert items.as_list(decode=True) == ["A", "b", "x", "c", "y", "d"]
    del items[1]
    assert items.popleft() == b"A" and items.popright() == b"d"
    assert len(items) == 3
    assert items.sort(ordering="ALPHA") == [b"c", b"x", b"y"]
    assert items.sort(ordering="ALPHA", limit=2, offset=1) == [b"x", b"y"]
    assert items.bpopleft(timeout=1) == b"x"
    assert items.bmove_tail("other", timeout=1) == b"y"
    assert server.get("other") == [b"y"]
    empty = db.List("empty")
    assert empty.bpopleft(timeout=0.05) is None


def test_blocking_list_woken_by_another_client(db, server):
    queue = db.List("work")
    got = []
    waiter = threading.Thread(target=lambda: got.append(queue.bpopright(timeout=5)))
    waiter.start()
    time.sleep(0.1)
    db.List("work").append("job-1")
    waiter.join(5)
    assert got == [b"job-1"]


def test_set(db, server):
    s = db.Set("tags")
    s.add("red", "green", "blue")
    other = db.Set("other")
    other.add("green", "black")
    assert "red" in s and "pink" not in s and len(s) == 3
    assert s.members() == {b"red", b"green", b"blue"}
    assert s & other == {b"green"}
    assert s | other == {b"red", b"green", b"blue", b"black"}
    assert s - other == {b"red", b"blue"}
    stored = s.interstore("both", other)
    assert stored.members() == {b"green"}
    assert server.get("both") == {b"green"}
    assert s.sort(ordering="ALPHA") == [b"blue", b"green", b"red"]
    s.remove("red")
    assert s.pop() in (b"green", b"blue") and len(s) == 1
    assert set(s.search("b*")) | set(s.search("g*")) == s.members()
    assert s.as_set(decode=True) == {m.decode() for m in s.members()}


def test_zset(db, server):
    z = db.ZSet("board")
    z.add({"ann": 3, "bob": 1, "cid": 2})
    z["dan"] = 5
    assert z.score("ann") == 3.0 and z.score("nobody") is None
    assert z.rank("ann") == 2 and z.rank("ann", reverse=True) == 1
    assert list(z) == [(b"bob", 1.0), (b"cid", 2.0), (b"ann", 3.0), (b"dan", 5.0)]
    assert [tuple(pair) for pair in z.range(0, 1, with_scores=True)] == [
        (b"bob", 1.0), (b"cid", 2.0)]
    assert z.range_by_score(2, 3) == [b"cid", b"ann"]
    assert z[:"ann"] == [b"bob", b"cid"]
    assert z.count(2, 5) == 3
    assert z.incr("bob", 10) == 11.0
    assert tuple(list(z.iterator(with_scores=True, reverse=True))[0]) == (b"bob", 11.0)
    assert z.remove_by_score(0, 2) == 1
    assert [tuple(pair) for pair in z.popmin()] == [(b"ann", 3.0)]
    assert [tuple(pair) for pair in z.popmax(1)] == [(b"bob", 11.0)]
    assert server.get("board") == {b"dan": 5.0}
    z.add({"x": 1, "y": 1})
    assert z.sort(ordering="ALPHA") == [b"dan", b"x", b"y"]
    assert tuple(z.bpopmin(timeout=1)) == (b"x", 1.0)
    words = db.ZSet("words")
    words.add({"apple": 0, "banana": 0, "cherry": 0})
    assert words.lex_count("[b", "+") == 2
    assert words.range_by_lex("(apple", "[c") == [b"banana"]
    assert words.remove_by_lex("-", "[b") == 1


def test_lock(db, server):
    lock = db.lock("resource", ttl=10000)
    assert lock.acquire(block=False) is True
    other = db.lock("resource", ttl=10000)
    assert other.acquire(block=False) is False
    assert other.release() is False
    released = []

    def wait_for_lock() -> None:
        waiter = db.lock("resource", ttl=10000)
        released.append(waiter.acquire(block=True))
        waiter.release()

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    time.sleep(0.1)
    assert released == []
    assert lock.release() is True       # wakes the waiter through its list
    thread.join(5)
    assert released == [True]

    @db.lock("decorated", ttl=1000)
    def critical() -> bool:
        return server.get("lock:decorated") is not None

    assert critical() is True


def test_lock_ttl_follows_the_server_clock(db, server):
    lock = db.lock("expiring", ttl=30000)
    assert lock.acquire(block=False)
    server.freeze_time()
    server.advance_time(31)
    assert db.lock("expiring", ttl=30000).acquire(block=False) is True


@pytest.mark.parametrize("lua", [False, True], ids=["python", "lua"])
def test_rate_limit(db, server, lua):
    limiter = (db.rate_limit_lua if lua else db.rate_limit)("api", limit=3, per=60)
    server.freeze_time()
    assert [limiter.limit("ip1") for _ in range(4)] == [False, False, False, True]
    assert limiter.limit("ip2") is False
    # The window is judged on the client's clock, but the history list expires on
    # the server's: once it has, the key starts afresh.
    server.advance_time(121)
    assert server.get("api:ip1") is None
    assert limiter.limit("ip1") is False

    @limiter.rate_limited(key_function=lambda user: user)
    def handler(user: str) -> str:
        return "ok"

    assert [handler("u") for _ in range(3)] == ["ok"] * 3
    with pytest.raises(walrus.RateLimitException):
        handler("u")


def test_cache(db, server):
    cache = db.cache(name="c", default_timeout=60)
    cache.set("a", {"nested": [1, 2]})
    assert cache.get("a") == {"nested": [1, 2]}
    assert cache.get("missing", "default") == "default"
    cache.set_many({"x": 1, "y": 2}, timeout=5)
    assert cache.get_many(["x", "y", "z"]) == {"x": 1, "y": 2}
    assert cache.incr("counter") == 1 and cache.incr("counter", 4) == 5
    assert sorted(cache.keys()) == ["c:a", "c:counter", "c:x", "c:y"]
    assert sorted(cache.keys(strip_prefix=True)) == ["a", "counter", "x", "y"]
    calls = []

    @cache.cached(timeout=30)
    def slow_square(n: int) -> int:
        calls.append(n)
        return n * n

    assert [slow_square(3), slow_square(3), slow_square(4)] == [9, 9, 16]
    assert calls == [3, 4]
    slow_square.bust(3)
    assert slow_square(3) == 9 and calls == [3, 4, 3]
    server.freeze_time()
    server.advance_time(6)
    assert cache.get("x") is None and cache.get("a") == {"nested": [1, 2]}
    server.advance_time(60)
    assert cache.get("a") is None
    cache.delete("counter")
    cache.flush()
    assert list(cache.keys()) == []


def test_autocomplete(db, server):
    ac = db.autocomplete(namespace="ac")
    ac.store("p1", "python programming", data="Python")
    ac.store("p2", "pyramid schemes", data="Pyramid")
    ac.store("r1", "ruby gems", data="Ruby")
    assert sorted(ac.search("py")) == ["Pyramid", "Python"]
    assert list(ac.search("pyt")) == ["Python"]
    assert list(ac.search("gem")) == ["Ruby"]
    assert list(ac.search("nothing")) == []
    assert ac.exists("p1") is True
    ac.remove("p1")
    assert ac.exists("p1") is False and list(ac.search("pyt")) == []
    ac.store("p3", "pygments highlighting", data="Pygments")
    ac.boost_object("p3", multiplier=3.0)
    assert list(ac.search("py"))[0] == "Pygments"
    assert list(ac.search("py", boosts={"p2": 10.0}))[0] == "Pyramid"
    assert any(key.startswith(b"ac:") for key in server.keys())


# walrus's own tests for the features above, unchanged, against the embedded server.
_BUNDLED = ["TestHash", "TestSet", "TestZSet", "TestList", "TestArray", "TestBitField",
            "TestBloomFilter", "TestCounter", "TestLock", "TestRateLimit",
            "TestRateLimitLua", "TestCache", "TestAutocomplete", "TestWalrus",
            "TestModels", "TestSearchIndex", "TestGraph"]


def test_walrus_bundled_unit_tests(server):
    env = dict(os.environ, WALRUS_REDIS_HOST="127.0.0.1",
               WALRUS_REDIS_PORT=str(server.port))
    result = subprocess.run(
        [sys.executable, "-m", "unittest"] + ["walrus.tests.%s" % name for name in _BUNDLED],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    ran = [line for line in result.stderr.splitlines() if line.startswith("Ran ")]
    assert ran and int(ran[0].split()[1]) > 100, result.stderr[-2000:]
    assert "skipped" not in result.stderr.splitlines()[-1]
