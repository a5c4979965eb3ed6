"""redis-py, sync and asyncio, RESP2 and RESP3, against miniredis: no error, no warning."""
from __future__ import annotations

import asyncio
import warnings

import pytest
import redis
import redis.asyncio


@pytest.mark.parametrize("protocol", [2, 3])
def test_sync_client(mini, protocol):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = redis.Redis(port=mini.port, protocol=protocol, db=5)
        try:
            assert client.ping() is True
            client.flushdb()
            assert client.set("greeting", "hello", ex=100) is True
            assert client.get("greeting") == b"hello"
            assert 0 < client.ttl("greeting") <= 100
            assert client.incr("counter") == 1
            assert client.incrbyfloat("counter", 0.5) == 1.5
            assert client.mset({"a": "1", "b": "2"}) is True
            assert client.mget("a", "b", "missing") == [b"1", b"2", None]
            assert client.rpush("queue", "x", "y") == 2
            assert list(client.blpop(["queue"], timeout=1)) == [b"queue", b"x"]
            assert sorted(client.keys("*")) == [b"a", b"b", b"counter", b"greeting",
                                                b"queue"]
            assert set(client.scan_iter(match="a*")) == {b"a"}
            assert client.info()["redis_version"] == "7.0.15"
            assert client.config_get("maxclients") == {"maxclients": "10000"}
            names = [entry["name"] for entry in client.client_list()]
            assert len(names) >= 1
            assert client.client_setname("py") is True
            assert client.client_getname() in ("py", b"py")
            assert client.object("encoding", "a") in (b"int", "int")
            assert isinstance(client.time(), tuple)
            assert client.dbsize() == 5
            assert client.client_setinfo("LIB-NAME", "probe") is True
            info = client.client_info()
            assert info["name"] == "py" and info["lib-name"] == "probe"
            assert isinstance(client.client_id(), int)
            assert client.config_set("slowlog-max-len", 64) is True
            assert client.config_get("slowlog-*")["slowlog-max-len"] == "64"
            client.config_set("slowlog-max-len", 128)
            assert "cmdstat_set" in client.info("commandstats")
            assert client.info("everything")["role"] == "master"
            assert isinstance(client.slowlog_get(), list)
            assert client.slowlog_len() >= 0
            assert client.command_count() > 50
            assert "get" in client.command()
            assert isinstance(client.lastsave(), object)
            assert client.config_resetstat() is True
            client.flushdb()
        finally:
            client.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_asyncio_client(mini, protocol):
    async def scenario():
        client = redis.asyncio.Redis(port=mini.port, protocol=protocol, db=6)
        try:
            assert await client.ping() is True
            await client.set("k", "v")
            assert await client.get("k") == b"v"
            assert await client.exists("k") == 1
            assert await client.delete("k") == 1
            assert (await client.info())["redis_mode"] == "standalone"
            assert (await client.config_get("maxmemory"))["maxmemory"] == "0"
            assert await client.client_setname("async") is True
            assert any(c["name"] == "async" for c in await client.client_list())
            await client.flushdb()
        finally:
            await client.aclose()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(scenario())
