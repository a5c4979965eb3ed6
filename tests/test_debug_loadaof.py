"""DEBUG LOADAOF against redis-server: the AOF written so far is flushed and loaded
back in place of the data, so what the commands logged must rebuild exactly what they
did. Redis's own suite uses it that way (streams trimmed by XADD, SET KEEPTTL, GETEX
PERSIST, consumers made by XREADGROUP NOACK, EXPIRE and Lua, MULTI); here every reply,
before and after the reload, is compared raw with redis-server's. Where Redis exits
(no AOF to load), miniredis answers an error and keeps its data.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest

from tests.aofutil import MiniProcess, aof_files, wait_rewrite_done
from tests.harness import RawConnection, RedisProcess, redis_server_or_skip

import redis


@pytest.fixture(scope="module")
def redis_server():
    return redis_server_or_skip()


# Writes whose AOF effects are not the commands themselves (trims, relative TTLs,
# consumers created by reads, scripts), then reads of everything they built.
_WRITES = [
    ["SET", "counter", "20000"], ["INCR", "counter"], ["INCRBYFLOAT", "float", "1.5"],
    ["SET", "keep", "v", "EX", "1000"], ["SET", "keep", "w", "KEEPTTL"],
    ["SET", "persisted", "v", "EX", "1000"], ["GETEX", "persisted", "PERSIST"],
    ["SET", "gone", "v", "PX", "1"], ["EXPIRE", "ttl", "100"], ["SET", "ttl", "t"],
    ["EXPIRE", "ttl", "500"], ["RPUSH", "list", "a", "b", "c"], ["LMOVE", "list", "l2",
                                                                    "LEFT", "RIGHT"],
    ["HSET", "hash", "f", "1", "g", "2"], ["HINCRBYFLOAT", "hash", "f", "0.25"],
    ["SADD", "set", "x", "y", "z"], ["SPOP", "set", "0"], ["ZADD", "z", "1", "a", "2", "b"],
    ["ZINCRBY", "z", "3", "a"],
    ["MULTI"], ["SET", "m1", "1"], ["INCR", "m1"], ["EXEC"],
    ["FUNCTION", "LOAD", "#!lua name=kept\nredis.register_function('kept', "
     "function() return 1 end)"],
    ["FUNCTION", "LOAD", "#!lua name=dropped\nredis.register_function('dropped', "
     "function() return 2 end)"], ["FUNCTION", "DELETE", "dropped"],
    ["EVAL", "redis.call('set', KEYS[1], 'lua'); return redis.call('incr', KEYS[2])",
     "2", "fromlua", "luacount"],
] + [["XADD", "trimmed", "%d-1" % i, "f", "v"] for i in range(1, 101)] + [
    ["XADD", "trimmed", "MAXLEN", "200", "101-1", "f", "v"],
    ["XADD", "minid", "MINID", "1", "5-1", "f", "v"],
    ["XADD", "approx", "MAXLEN", "~", "3", "1-1", "f", "v"],
    ["XTRIM", "trimmed", "MAXLEN", "~", "50"],
    ["XADD", "lastdel", "1-1", "a", "1"], ["XADD", "lastdel", "2-1", "b", "2"],
    ["XDEL", "lastdel", "2-1"],
    ["XADD", "empty", "1-1", "a", "1"], ["XDEL", "empty", "1-1"],
    ["XGROUP", "CREATE", "groups", "g", "$", "MKSTREAM"],
    ["XGROUP", "CREATE", "nolastid", "g", "$", "MKSTREAM"],
    ["XADD", "groups", "1-1", "f", "v"], ["XADD", "groups", "2-1", "f", "v"],
    ["XREADGROUP", "GROUP", "g", "Alice", "NOACK", "STREAMS", "groups", ">"],
    ["XGROUP", "CREATECONSUMER", "groups", "g", "Bob"],
    ["XREADGROUP", "GROUP", "g", "Carol", "COUNT", "1", "STREAMS", "groups", ">"],
    # What consumer-group reads log: an XCLAIM per entry delivered; nothing for a read
    # of a consumer's history (the delivery counts it bumps and a consumer it creates
    # are gone after the reload), except XGROUP CREATECONSUMER with NOACK; XCLAIM's
    # LASTID alone as XGROUP SETID; several streams in one read.
    ["XGROUP", "CREATE", "hist", "g", "0", "MKSTREAM"],
    ["XGROUP", "CREATE", "hist2", "g", "0", "MKSTREAM"],
    ["XADD", "hist", "1-1", "f", "v"], ["XADD", "hist", "2-1", "f", "v"],
    ["XREADGROUP", "GROUP", "g", "Dan", "STREAMS", "hist", ">"],
    ["XREADGROUP", "GROUP", "g", "Dan", "STREAMS", "hist", "0"],
    ["XREADGROUP", "GROUP", "g", "Eve", "STREAMS", "hist", "0"],
    ["XREADGROUP", "GROUP", "g", "Fay", "NOACK", "STREAMS", "hist", "0"],
    ["XCLAIM", "hist", "g", "Gus", "0", "2-1"],
    ["XCLAIM", "hist", "g", "Gus", "0", "9-9", "LASTID", "3-0"],
    ["XADD", "hist", "4-1", "f", "v"], ["XADD", "hist2", "1-1", "f", "v"],
    ["XREADGROUP", "GROUP", "g", "Hal", "COUNT", "5", "STREAMS", "hist", "hist2",
     ">", ">"],
    ["XADD", "hist2", "2-1", "f", "v"],
    ["XREADGROUP", "GROUP", "g", "Ivy", "NOACK", "STREAMS", "hist2", ">"],
]
# The consumer-group state of "hist" and "hist2" without idle times (which differ run
# to run): the PEL's IDs, owners and delivery counts, the consumers' pending counts.
_GROUP_STATE = (
    "local out = {} for _, key in ipairs(KEYS) do "
    "for _, e in ipairs(redis.call('XPENDING', key, 'g', '-', '+', 100)) do "
    "out[#out + 1] = {e[1], e[2], e[4]} end "
    "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', key, 'g')) do "
    "out[#out + 1] = {c[2], c[4]} end end return out")
_HISTORY_READS = [
    ["EVAL", _GROUP_STATE, "2", "hist", "hist2"], ["XINFO", "GROUPS", "hist"],
    ["XINFO", "GROUPS", "hist2"],
]
_READS = [
    ["EXISTS", "gone"], ["DBSIZE"], ["GET", "counter"], ["GET", "float"], ["GET", "keep"],
    ["TTL", "persisted"], ["LRANGE", "list", "0", "-1"],
    ["LRANGE", "l2", "0", "-1"], ["HGETALL", "hash"], ["SCARD", "set"],
    ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["GET", "m1"], ["GET", "fromlua"],
    ["GET", "luacount"], ["XLEN", "trimmed"], ["XRANGE", "trimmed", "-", "+", "COUNT", "3"],
    ["XRANGE", "minid", "-", "+"], ["XLEN", "approx"], ["XINFO", "STREAM", "lastdel"],
    ["XINFO", "STREAM", "empty"], ["XINFO", "STREAM", "trimmed"],
    ["XINFO", "GROUPS", "groups"], ["XPENDING", "groups", "g"],
    ["XINFO", "STREAM", "nolastid"], ["XINFO", "GROUPS", "nolastid"],
    ["FUNCTION", "LIST"],
]


def _calls(port: int, commands, protocol: int = 2) -> list:
    conn = RawConnection(port)
    if protocol == 3:
        conn.call("HELLO", "3")
    try:
        return [conn.call(*command) for command in commands]
    finally:
        conn.close()


def _ttls(port: int) -> list:
    """Relative TTLs, as bands (the two servers set them a moment apart)."""
    conn = RawConnection(port)
    try:
        return [int(conn.call("TTL", key)[1:-2]) // 100 for key in ("keep", "ttl")]
    finally:
        conn.close()


def _consumers(port: int) -> list:
    """XINFO CONSUMERS' names and pending counts (idle times differ run to run)."""
    r = redis.Redis(port=port)
    try:
        return [(c["name"], c["pending"]) for c in r.xinfo_consumers("groups", "g")]
    finally:
        r.close()


def _same_history(ports) -> None:
    want, got = [_calls(port, _HISTORY_READS) for port in ports]
    for expected, actual, command in zip(want, got, _HISTORY_READS):
        assert actual == expected, command


def test_debug_loadaof_rebuilds_what_redis_rebuilds(redis_server):
    work = tempfile.mkdtemp(prefix="mini-loadaof-")
    real = RedisProcess(redis_server, ["--appendonly", "yes"])
    mini = MiniProcess(work, "--save", "", "--appendonly", "yes",
                       "--enable-debug-command", "yes")
    try:
        ports = (real.port, mini.port)
        for port in ports:
            wait_rewrite_done(redis.Redis(port=port))
        written = [_calls(port, _WRITES) for port in ports]
        assert written[1] == written[0]
        _same_history(ports)
        time.sleep(0.01)        # ("gone" has expired: the reload must not revive it)
        before = [_calls(port, _READS) for port in ports]
        assert before[1] == before[0]
        assert [_calls(port, [["DEBUG", "LOADAOF"]]) for port in ports] == \
            [[b"+OK\r\n"]] * 2
        after = [_calls(port, _READS) for port in ports]
        for want, got, command in zip(after[0], after[1], _READS):
            assert got == want, command
        resp3 = [_calls(port, _READS, 3) for port in ports]
        for want, got, command in zip(resp3[0], resp3[1], _READS):
            assert got == want, ("RESP3", command)
        for protocol in (2, 3):
            wrong = [_calls(port, [["DEBUG", "LOADAOF", "extra"]], protocol)
                     for port in ports]
            assert wrong[1] == wrong[0]
        assert after[0] == before[0]
        # Redis forgets what history reads did; so does miniredis.
        _same_history(ports)
        assert _ttls(mini.port) == _ttls(real.port)
        assert _consumers(mini.port) == _consumers(real.port)
        # A write after the reload, then a rewrite and a second reload: the first replay
        # was not logged again (the lists and the streams would hold everything twice),
        # and the rewrite keeps every key (an empty stream whose last ID is 0-0 too).
        for port in ports:
            _calls(port, [["INCR", "counter"], ["BGREWRITEAOF"]])
            wait_rewrite_done(redis.Redis(port=port))
            _calls(port, [["DEBUG", "LOADAOF"]])
        again = [_calls(port, _READS) for port in ports]
        for want, got, command in zip(again[0], again[1], _READS):
            assert got == want, command
        _same_history(ports)
        assert _calls(mini.port, [["GET", "counter"]]) == [b"$5\r\n20002\r\n"]
    finally:
        real.stop()
        mini.kill()
        shutil.rmtree(work, ignore_errors=True)


def test_debug_loadaof_without_an_aof_keeps_the_data(tmp_path):
    """Redis exits here (no AOF to load); miniredis refuses and keeps its data."""
    mini = MiniProcess(str(tmp_path), "--save", "", "--enable-debug-command", "yes")
    try:
        assert _calls(mini.port, [["SET", "k", "v"], ["DEBUG", "LOADAOF"], ["GET", "k"],
                                  ["DEBUG", "LOADAOF", "extra"]]) == [
            b"+OK\r\n", b"-ERR DEBUG LOADAOF found no append only file to load\r\n",
            b"$1\r\nv\r\n",
            b"-ERR DEBUG LOADAOF found no append only file to load\r\n"]
    finally:
        mini.kill()


@pytest.mark.parametrize("damage", ["corrupt", "path", "missing"])
def test_debug_loadaof_of_damaged_files_answers_an_error(tmp_path, damage):
    """Redis exits when the AOF it reloads cannot be loaded; miniredis answers an error
    and keeps serving. A manifest naming a path (not a file of the AOF directory) is
    refused, as Redis's manifest reader does, and no file outside is read."""
    outside = tmp_path / "outside.aof"
    outside.write_bytes(b"*3\r\n$3\r\nSET\r\n$6\r\nstolen\r\n$1\r\n1\r\n")
    work = tmp_path / "work"
    work.mkdir()
    mini = MiniProcess(str(work), "--save", "", "--appendonly", "yes",
                       "--enable-debug-command", "yes")
    try:
        assert _calls(mini.port, [["SET", "k", "v"]]) == [b"+OK\r\n"]
        directory = os.path.join(str(work), "appendonlydir")
        manifest = os.path.join(directory, "appendonly.aof.manifest")
        incr = [p for p in aof_files(str(work)) if p.endswith(".incr.aof")][-1]
        if damage == "corrupt":     # (in the middle: a torn tail is cut and loaded)
            with open(incr, "rb") as handle:
                data = handle.read()
            with open(incr, "wb") as handle:
                handle.write(b"junk\r\n" + data)
        elif damage == "path":
            with open(manifest, "ab") as handle:
                handle.write(b"file ../../outside.aof seq 9 type i\n")
        else:
            os.unlink(incr)
        reply = _calls(mini.port, [["DEBUG", "LOADAOF"]])[0]
        assert reply.startswith(b"-ERR Error trying to load the append only file: ")
        if damage == "path":
            assert b"File can't be a path, just a filename" in reply
            assert _calls(mini.port, [["GET", "k"]]) == [b"$1\r\nv\r\n"]
        assert _calls(mini.port, [["EXISTS", "stolen"], ["PING"]]) == \
            [b":0\r\n", b"+PONG\r\n"]
    finally:
        mini.kill()


# (The empty loop is there for the count hook, which fires every 100,000 Lua
# instructions: every few milliseconds, even on a loaded machine.)
_SLOW_SCRIPT = ("redis.call('set', KEYS[1], 'y') "
                "local t = redis.call('time') local start = t[1] * 1000000 + t[2] "
                "repeat for i = 1, 1000 do end t = redis.call('time') "
                "until t[1] * 1000000 + t[2] - start > 300000 "
                "return 'ok'")


def test_slow_script_in_the_aof_serves_loading_errors(tmp_path, redis_server):
    """A script in the AOF running past lua-time-limit: the others are served -LOADING
    from its hook (not -BUSY), the log says "Slow script detected", and the data is
    there once DEBUG LOADAOF answers (Redis's "EVAL timeout with slow verbatim Lua
    script from AOF")."""
    options = ["--save", "", "--appendonly", "yes", "--lua-time-limit", "1",
               "--aof-use-rdb-preamble", "no", "--enable-debug-command", "yes"]
    outcomes = {}
    for kind in ("redis", "miniredis"):
        work = tmp_path / kind
        work.mkdir()
        if kind == "redis":
            server = RedisProcess(redis_server, options + ["--logfile", "redis.log"])
            directory, log = server.dir, os.path.join(server.dir, "redis.log")
        else:
            server = MiniProcess(str(work), *options)
            directory, log = str(work), server.log
        try:
            incr = [p for p in aof_files(directory) if p.endswith(".incr.aof")][-1]
            with open(incr, "wb") as handle:
                for command in (["SELECT", "9"], ["EVAL", _SLOW_SCRIPT, "1", "x"]):
                    handle.write(b"*%d\r\n" % len(command) + b"".join(
                        b"$%d\r\n%s\r\n" % (len(arg), arg.encode()) for arg in command))
            loading = RawConnection(server.port)
            loading.send("DEBUG", "LOADAOF")
            other = RawConnection(server.port)
            deadline = time.time() + 5
            while True:
                reply = other.call("PING")
                if reply != b"+PONG\r\n" or time.time() > deadline:
                    break
                time.sleep(0.01)
            done = loading.read_raw()
            other.call("SELECT", "9")
            with open(log) as handle:
                slow = "Slow script detected" in handle.read()
            outcomes[kind] = (reply, done, other.call("GET", "x"), slow)
            loading.close()
            other.close()
        finally:
            server.stop() if kind == "redis" else server.kill()
    assert outcomes["miniredis"] == outcomes["redis"]
    assert outcomes["redis"] == (b"-LOADING Redis is loading the dataset in memory\r\n",
                                 b"+OK\r\n", b"$1\r\ny\r\n", True)
