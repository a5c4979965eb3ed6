"""Client-side caching end to end with the real client libraries (redis-py 8's
``cache_config``, valkey-py's ``cache_enabled``) against miniredis.

redis-py 8 enables its cache only for servers announcing Redis 7.4 or later in HELLO;
miniredis announces 7.0.15, like the redis-server it follows, so redis-py refuses both
alike (checked below), and the cache itself is exercised with that version floor
lowered for the test.

The cached client reads a key twice: the second read must be served from its cache
(the server's GET call count, from INFO commandstats, does not move). Another client
then writes the key; the invalidation reaches the cached client, whose next read goes to
the server and sees the new value.
"""
from __future__ import annotations

import time

import pytest


def _get_calls(admin) -> int:
    stats = admin.info("commandstats")
    return int(stats.get("cmdstat_get", {}).get("calls", 0))


def _wait_fresh(read, want, deadline: float = 5.0):
    # The invalidation is read by the client before its next command: normally at
    # once; a short retry loop only absorbs scheduling delays under load.
    end = time.time() + deadline
    value = read()
    while value != want and time.time() < end:
        time.sleep(0.02)
        value = read()
    return value


def test_redis_py_refuses_7_0_like_redis_server(mini, real_redis):
    redis = pytest.importorskip("redis")
    from redis.cache import CacheConfig
    texts = []
    for port in (real_redis.port, mini.port):
        client = redis.Redis(port=port, protocol=3, cache_config=CacheConfig())
        with pytest.raises(redis.ConnectionError) as caught:
            client.ping()
        texts.append(str(caught.value))
        client.close()
    assert texts[0] == texts[1] and "7.4" in texts[0]


def test_redis_py_cache_config(mini, monkeypatch):
    redis = pytest.importorskip("redis")
    from redis.cache import CacheConfig
    from redis.connection import CacheProxyConnection
    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    admin = redis.Redis(port=mini.port)
    cached = redis.Redis(port=mini.port, protocol=3, cache_config=CacheConfig())
    try:
        admin.set("csc:redis-py", "one")
        assert cached.get("csc:redis-py") == b"one"
        before = _get_calls(admin)
        assert cached.get("csc:redis-py") == b"one"
        assert _get_calls(admin) == before           # served from the local cache
        assert admin.info("clients")["tracking_clients"] >= 1
        admin.set("csc:redis-py", "two")
        assert _wait_fresh(lambda: cached.get("csc:redis-py"), b"two") == b"two"
        assert _get_calls(admin) > before
        # Cached again, until FLUSHALL's null invalidation empties the whole cache.
        assert cached.get("csc:redis-py") == b"two"
        admin.flushall()
        assert _wait_fresh(lambda: cached.get("csc:redis-py"), None) is None
    finally:
        cached.close()
        admin.close()


def test_valkey_py_cache_enabled(mini):
    valkey = pytest.importorskip("valkey")
    admin = valkey.Valkey(port=mini.port)
    cached = valkey.Valkey(port=mini.port, protocol=3, cache_enabled=True)
    try:
        admin.set("csc:valkey", "one")
        assert cached.get("csc:valkey") == b"one"
        before = _get_calls(admin)
        assert cached.get("csc:valkey") == b"one"
        assert _get_calls(admin) == before
        admin.set("csc:valkey", "two")
        assert _wait_fresh(lambda: cached.get("csc:valkey"), b"two") == b"two"
        assert _get_calls(admin) > before
    finally:
        cached.close()
        admin.close()
