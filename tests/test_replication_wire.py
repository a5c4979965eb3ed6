"""The replication stream byte for byte against redis-server, hostile replication
commands, and redis-cli's replication modes (--rdb, --functions-rdb, --replica)
against a miniredis master."""
from __future__ import annotations

import os
from contextlib import contextmanager
import shutil
import subprocess
import tempfile
import time

import pytest
import redis

from tests.aofutil import assert_same, dump
from tests.harness import (RawConnection, RedisProcess, exchange, redis_server_or_skip,
                           wait_blocked)
from tests.replutil import Master, RawReplica, redis_master, wait_until
from tests.test_aof import populate

# A command sequence whose effects do not depend on the clock: absolute expiries,
# float increments, SPOP of a single member, MULTI, Lua switching databases...
_SEQUENCE = [
    ["SELECT", "3"],
    ["SET", "a", "1", "PXAT", "4102444800000"],
    ["SET", "b", "2", "EXAT", "4102444800"],
    ["INCRBYFLOAT", "f", "1.5"],
    ["INCRBYFLOAT", "f", "1e2"],
    ["HINCRBYFLOAT", "h", "x", "0.25"],
    ["MULTI"], ["SET", "x", "1"], ["INCR", "x"], ["EXEC"],
    ["EVAL", "redis.call('set','e','1'); redis.call('select', 5); "
             "redis.call('set','e5','2')", "0"],
    ["SADD", "s", "only"], ["SPOP", "s"],
    ["RPUSH", "l", "a", "b"], ["LPOP", "l"],
    ["XADD", "st", "1-1", "f", "v"],
    ["HSET", "h", "f", "v"],
    ["GETEX", "b", "PERSIST"],
    ["DEL", "a"],
    ["SET", "nx", "1", "NX"], ["SET", "nx", "2", "NX"], ["SET", "gone", "3", "XX", "EX", "5"],
    ["DEL", "missing"], ["UNLINK", "missing"], ["SREM", "s", "missing"],
    ["SADD", "s2", "a"], ["SADD", "s2", "a"], ["HSETNX", "h", "f", "v2"],
    ["SETNX", "nx", "4"], ["PERSIST", "nx"], ["LPUSHX", "missing", "a"],
    ["ZREM", "missing", "a"], ["HDEL", "h", "missing"], ["LREM", "l", "0", "zz"],
    ["COPY", "missing", "dst"], ["MOVE", "missing", "4"],
    ["PFADD", "hll", "a"], ["PFADD", "hll", "a"],
    # More writes that change nothing (Redis's dirty counter does not grow): not sent.
    ["SETBIT", "bits", "1", "1"], ["SETBIT", "bits", "1", "1"], ["ZADD", "zz", "1", "m"],
    ["ZADD", "zz", "1", "m"], ["ZINCRBY", "zz", "0", "m"], ["RENAME", "bits", "bits"],
    ["SMOVE", "s2", "s2", "a"], ["LTRIM", "l", "0", "-1"], ["EXPIRE", "s2", "100", "XX"],
    ["SINTERSTORE", "dd", "missing"], ["SORT", "l", "ALPHA"],
    ["XTRIM", "st", "MAXLEN", "5"], ["BITFIELD", "bits", "GET", "u8", "0"],
    ["GETEX", "f"], ["SETRANGE", "f", "0", ""],
    ["LINSERT", "l", "BEFORE", "zz", "x"], ["RPOPLPUSH", "missing", "l"],
    ["XGROUP", "DESTROY", "st", "nog"], ["GEOADD", "geo", "13", "38", "p"],
    ["GEOADD", "geo", "13", "38", "p"], ["HSET", "h", "f", "v"],
    # Rewritten as Redis rewrites them: GETDEL as DEL, SET ... PXAT restated, LMPOP and
    # ZMPOP as a pop with the count popped, BZPOPMIN as ZPOPMIN, BZMPOP with a count.
    ["SET", "gd", "1"], ["GETDEL", "gd"], ["GETDEL", "gd"],
    ["SET", "px", "v", "pxat", "4102444800000"],
    ["SET", "px", "v", "PXAT", "4102444800000", "GET"],
    # SET ... GET without its GETs, GETSET as SET.
    ["SET", "sg", "1", "GET"], ["SET", "sg", "2", "get", "XX", "GET"],
    ["GETSET", "sg", "3"], ["GETSET", "sg2", "4"],
    ["RPUSH", "ml", "a", "b", "c"], ["LMPOP", "2", "none", "ml", "LEFT"],
    ["LMPOP", "1", "ml", "right", "COUNT", "5"], ["LMPOP", "1", "ml", "LEFT"],
    ["ZADD", "mz", "1", "a", "2", "b", "3", "c", "4", "d"],
    ["ZMPOP", "1", "mz", "MIN"], ["ZMPOP", "2", "none", "mz", "max", "COUNT", "2"],
    ["BZPOPMIN", "mz", "0"], ["ZADD", "mz", "1", "a", "2", "b"], ["BZPOPMAX", "mz", "0"],
    ["BZMPOP", "0", "1", "mz", "MIN", "COUNT", "9"], ["ZMPOP", "1", "mz", "MIN"],
    # Expiries: absolute PEXPIREAT with the options kept; one already past as DEL, as
    # UNLINK with lazyfree-lazy-expire (a replica keeps a key told expired).
    ["SET", "ex", "1"], ["EXPIREAT", "ex", "4102444800", "NX"],
    ["PEXPIREAT", "ex", "4102444800001", "GT"], ["PEXPIREAT", "ex", "0"],
    ["SET", "ex", "1"], ["PEXPIREAT", "ex", "1", "NX"], ["SET", "ex", "1"],
    ["CONFIG", "SET", "lazyfree-lazy-expire", "yes"], ["EXPIREAT", "ex", "1"],
    ["SET", "ex", "1"], ["GETEX", "ex", "PXAT", "1"],
    ["CONFIG", "SET", "lazyfree-lazy-expire", "no"],
    ["SELECT", "0"],
    ["PUBLISH", "chan", "message"],
    ["SET", "z", "1"],
    ["EVAL", "return redis.call('get', 'z')", "0"],
    ["MULTI"], ["GET", "z"], ["EXEC"],
    ["SETRANGE", "z", "3", "abc"],
    ["FLUSHDB"],
]



@contextmanager
def _redis_and_mini_masters(*redis_options: str, **mini_options: str):
    """A redis-server master (its process) and a miniredis one, disk-based sync."""
    proc, real = redis_master("--repl-diskless-sync", "no", *redis_options)
    m = Master(diskless=False, **mini_options)
    try:
        yield proc, m
    finally:
        real.close()
        proc.stop()
        m.stop()

def _stream_after(port: int, sequence=_SEQUENCE) -> tuple:
    """Attach a raw disk-synced replica, run ``sequence``, return the stream's
    requests and its length in bytes (master_repl_offset's growth)."""
    raw = RawReplica(port)
    try:
        assert raw.psync().startswith(b"+FULLRESYNC")
        r = redis.Redis(port=port)
        before = r.info("replication")["master_repl_offset"]
        conn = RawConnection(port)
        for args in sequence:
            conn.call(*args)
        conn.close()
        size = r.info("replication")["master_repl_offset"] - before
        data = raw.raw(size)
        r.close()
        raw.reader.feed(data)
        commands = []
        item = raw.reader.gets()
        while item is not False:
            commands.append(item)
            item = raw.reader.gets()
        return commands, data
    finally:
        raw.close()


def test_stream_bytes_match_redis_server():
    with _redis_and_mini_masters() as (proc, m):
        expected, expected_bytes = _stream_after(proc.port)
        actual, actual_bytes = _stream_after(m.port)
        assert actual == expected
        assert actual_bytes == expected_bytes
        assert [b"SREM", b"s", b"only"] in actual and [b"MULTI"] in actual


# Consumer groups: what reads, claims and group commands propagate (t_stream.c).
_GROUP_SEQUENCE = [
    ["XGROUP", "CREATE", "gs", "g", "$", "MKSTREAM"],
    ["XADD", "gs", "1-1", "f", "v"], ["XADD", "gs", "2-1", "f", "v"],
    ["XADD", "gs", "3-1", "f", "v"], ["XADD", "other", "1-1", "f", "v"],
    ["XGROUP", "CREATE", "other", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "gs", ">"],
    ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "gs", "0"],       # history
    ["XREADGROUP", "GROUP", "g", "newbie", "STREAMS", "gs", "0"],      # history
    ["XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "gs", "0"],
    ["XREADGROUP", "GROUP", "g", "carol", "NOACK", "STREAMS", "gs", ">"],
    ["XADD", "gs", "4-1", "f", "v"],
    ["XREADGROUP", "GROUP", "g", "dan", "STREAMS", "gs", "other", ">", ">"],
    ["XCLAIM", "gs", "g", "erin", "0", "1-1"],
    ["XCLAIM", "gs", "g", "erin", "0", "4-1", "JUSTID"],
    ["XCLAIM", "gs", "g", "erin", "0", "2"],                 # no such entry: nothing
    ["XDEL", "gs", "2-1"],
    ["XCLAIM", "gs", "g", "erin", "0", "2-1"],               # deleted, pending: dropped
    ["XCLAIM", "gs", "g", "erin", "0", "9-9", "LASTID", "9-0"],
    ["XCLAIM", "gs", "g", "erin", "0", "1-1", "LASTID", "10-0"],
    ["XADD", "gs", "11-1", "f", "v"],
    ["XREADGROUP", "GROUP", "g", "fay", "STREAMS", "gs", ">"],
    ["XDEL", "gs", "11-1"],
    ["XAUTOCLAIM", "gs", "g", "gus", "0", "0-0", "COUNT", "10"],
    ["XGROUP", "SETID", "gs", "g", "$"],
    ["XGROUP", "CREATE", "gs", "g2", "0", "ENTRIESREAD", "0"],
    ["XGROUP", "SETID", "gs", "g2", "1-1", "ENTRIESREAD", "1"],
    ["XGROUP", "CREATECONSUMER", "gs", "g2", "zed"],
    ["XGROUP", "DELCONSUMER", "gs", "g2", "zed"],
    ["XACK", "gs", "g", "1-1"],
]


def _masked_times(commands: list) -> list:
    """XCLAIM's TIME argument (the delivery time, a clock reading) masked."""
    out = []
    for command in commands:
        command = list(command)
        for i, word in enumerate(command[:-1]):
            if word == b"TIME":
                command[i + 1] = b"<ms>"
        out.append(command)
    return out


def test_consumer_group_effects_match_redis_server():
    """XREADGROUP propagates an XCLAIM per entry delivered, XGROUP SETID after NOACK,
    XGROUP CREATECONSUMER for a consumer a NOACK read created, nothing for a history
    read; XCLAIM/XAUTOCLAIM an XCLAIM per entry claimed or dropped, SETID only for a
    LASTID no XCLAIM carries; XGROUP commands as sent -- command for command as
    redis-server sends them (delivery times masked)."""
    with _redis_and_mini_masters() as (proc, m):
        expected, _ = _stream_after(proc.port, _GROUP_SEQUENCE)
        actual, _ = _stream_after(m.port, _GROUP_SEQUENCE)
        assert _masked_times(actual) == _masked_times(expected)
        assert any(c[0] == b"XCLAIM" for c in actual)


# Blocked pops served later: (the waiting request, the write that serves it).
_SERVED = [
    (["BZPOPMIN", "bz", "0"], ["ZADD", "bz", "1", "a", "2", "b"]),
    (["BZPOPMAX", "bz2", "none", "0"], ["ZADD", "bz2", "1", "a", "2", "b"]),
    (["BZMPOP", "0", "2", "none", "bz3", "MAX", "COUNT", "5"],
     ["ZADD", "bz3", "1", "a", "2", "b", "3", "c"]),
    (["BLMPOP", "0", "1", "bl", "RIGHT", "COUNT", "2"], ["RPUSH", "bl", "a", "b", "c"]),
    (["BLPOP", "bl2", "0"], ["RPUSH", "bl2", "x", "y"]),
]


def _served_stream(port: int) -> list:
    raw = RawReplica(port)
    try:
        assert raw.psync().startswith(b"+FULLRESYNC")
        admin = RawConnection(port)
        before = int(admin.call("INFO", "replication").split(
            b"master_repl_offset:")[1].split(b"\r\n")[0])
        for wait, write in _SERVED:
            waiter = RawConnection(port)
            waiter.send(*wait)
            wait_blocked(admin, 1)
            admin.call(*write)
            waiter.read_raw()
            waiter.close()
        after = int(admin.call("INFO", "replication").split(
            b"master_repl_offset:")[1].split(b"\r\n")[0])
        admin.close()
        raw.reader.feed(raw.raw(after - before))
        commands = []
        item = raw.reader.gets()
        while item is not False:
            commands.append(item)
            item = raw.reader.gets()
        return commands
    finally:
        raw.close()


def test_served_blocking_pops_propagate_as_redis_does():
    """A blocked BZPOPMIN/MAX served later propagates as ZPOPMIN/MAX key, BZMPOP and
    BLMPOP as the pop with the count popped, BLPOP as LPOP (blocked.c)."""
    with _redis_and_mini_masters() as (proc, m):
        expected = _served_stream(proc.port)
        assert _served_stream(m.port) == expected
        assert [b"ZPOPMIN", b"bz"] in expected


def test_hostile_replication_commands(differ):
    differ.check("REPLCONF", "REPLCONF foo", "REPLCONF foo bar",
                 "REPLCONF listening-port x", "REPLCONF listening-port 6380",
                 "REPLCONF rdb-only 2", "REPLCONF rdb-only x", "REPLCONF rdb-only 0",
                 "REPLCONF capa foo", "REPLCONF capa eof capa psync2",
                 "REPLCONF ip-address " + "a" * 300, "REPLCONF ip-address 10.0.0.1",
                 "REPLCONF rdb-filter-only bogus",
                 "REPLCONF listening-port 1 bad 2",
                 "PSYNC", "PSYNC a", "PSYNC a b", "PSYNC a 1 failover", "SYNC x",
                 "WAIT", "WAIT x 0", "WAIT 0 x", "WAIT 0 -1", "WAIT 0 0", "ROLE x",
                 protocols=(2,))
    differ.check("MULTI", "SYNC", "PSYNC ? -1", "EXEC", protocols=(2,))
    for data in (b"REPLCONF ACK 5\r\nPING\r\n", b"REPLCONF GETACK *\r\nPING\r\n",
                 b"PING\r\nPSYNC ? -1\r\n", b"PING\r\nSYNC\r\n"):
        want = exchange(differ.ports["redis"], data)
        got = exchange(differ.ports["miniredis"], data)
        assert got == want, (data, want, got)


def test_role_and_info_without_replicas(differ):
    differ.check("ROLE", protocols=(2, 3))
    for port in differ.ports.values():
        info = redis.Redis(port=port).info("replication")
        assert info["connected_slaves"] == 0
        assert info["master_repl_offset"] >= 0


def _redis_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli not found")
    return subprocess.run([cli, *args], capture_output=True, timeout=timeout)


@pytest.mark.parametrize("diskless", [True, False], ids=["diskless", "disk"])
def test_redis_cli_rdb_produces_a_file_redis_loads(diskless):
    m = Master(diskless=diskless)
    workdir = tempfile.mkdtemp(prefix="mini-cli-rdb-")
    try:
        populate(m.port)
        expected = dump(m.port)
        path = os.path.join(workdir, "dump.rdb")
        done = _redis_cli("-p", str(m.port), "--rdb", path)
        assert done.returncode == 0, done.stderr
        assert b"Transfer finished with success" in done.stderr
        check = subprocess.run(["redis-check-rdb", path], capture_output=True, timeout=60)
        assert check.returncode == 0, check.stdout
        loaded = RedisProcess(redis_server_or_skip(), ["--dir", workdir,
                                                       "--dbfilename", "dump.rdb"])
        try:
            assert_same(expected, dump(loaded.port), ttl_tolerance_ms=2000)
        finally:
            loaded.stop()
        wait_until(lambda: m.info()["connected_slaves"] == 0, 10, "the rdb-only replica gone")
    finally:
        m.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_redis_cli_functions_rdb():
    m = Master()
    workdir = tempfile.mkdtemp(prefix="mini-cli-frdb-")
    try:
        m.r.set("key", "value")
        m.r.function_load("#!lua name=onlyfns\n"
                          "redis.register_function('f1', function() return 1 end)")
        path = os.path.join(workdir, "dump.rdb")
        done = _redis_cli("-p", str(m.port), "--functions-rdb", path)
        assert done.returncode == 0, done.stderr
        loaded = RedisProcess(redis_server_or_skip(), ["--dir", workdir,
                                                       "--dbfilename", "dump.rdb"])
        try:
            r = redis.Redis(port=loaded.port)
            assert r.dbsize() == 0
            assert "onlyfns" in str(r.execute_command("FUNCTION", "LIST"))
            r.close()
        finally:
            loaded.stop()
    finally:
        m.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("diskless", [True, False], ids=["diskless", "disk"])
def test_redis_cli_replica_prints_the_stream(diskless):
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli not found")
    m = Master(diskless=diskless)
    m.r.set("before", "1")
    out_path = tempfile.mktemp(prefix="mini-cli-replica-")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([cli, "-p", str(m.port), "--replica"], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: b"Logging commands from master" in open(out_path, "rb").read(),
                   20, "redis-cli to finish its sync")
        wait_until(lambda: m.r.execute_command("CLIENT", "LIST", "TYPE", "replica")
                   .count(b"flags=S") == 1, 10, "the replica listed")
        time.sleep(1.5)                               # diskless: its ACK 0 comes after 1 s
        m.r.set("hello", "world")
        wait_until(lambda: b'"SET","hello","world"' in open(out_path, "rb").read(),
                   10, "the SET in redis-cli's output")
    finally:
        proc.terminate()
        proc.wait(10)
        os.unlink(out_path)
        m.stop()


def test_exec_runs_its_queue_after_replicaof_inside():
    """EXEC checks only the ACL rules again for what it queued (execCommand): a write
    after REPLICAOF in the same transaction runs; the next one gets READONLY (Redis's
    multi suite, needs:repl)."""
    script = [["SET", "foo", "bar"], ["MULTI"], ["SET", "foo2", "bar"],
              ["REPLICAOF", "localhost", "9999"], ["SET", "foo3", "bar"], ["EXEC"],
              ["SET", "foo4", "bar"], ["REPLICAOF", "NO", "ONE"],
              ["MGET", "foo", "foo2", "foo3", "foo4"]]
    with _redis_and_mini_masters() as (proc, m):
        replies = []
        for port in (proc.port, m.port):
            conn = RawConnection(port)
            replies.append([conn.call(*command) for command in script])
            conn.close()
        assert replies[1] == replies[0]
        assert replies[0][5] == b"*3\r\n+OK\r\n+OK\r\n+OK\r\n"


# redis.set_repl: each write goes where the script said (call()'s propagate_flags), and
# a unit of several writes is wrapped in MULTI/EXEC for both targets, in the databases
# of its first and last write, whatever each target gets of it.
_SET_REPL_SEQUENCE = [
    ["EVAL", "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); "
             "redis.call('set','b','2'); redis.set_repl(redis.REPL_AOF); "
             "redis.call('set','c','3'); redis.set_repl(redis.REPL_ALL); "
             "redis.call('set','d','4')", "0"],
    ["EVAL", "redis.set_repl(redis.REPL_AOF); redis.call('set','e','1'); "
             "redis.call('set','f','2')", "0"],
    ["EVAL", "redis.call('select', 3); redis.set_repl(redis.REPL_REPLICA); "
             "redis.call('set','g','1'); redis.call('select', 5); "
             "redis.set_repl(redis.REPL_AOF); redis.call('set','h','2')", "0"],
    ["EVAL", "redis.set_repl(redis.REPL_NONE); redis.call('set','i','1')", "0"],
    ["EVAL", "redis.set_repl(redis.REPL_AOF); redis.call('set','j','1')", "0"],
    ["EVAL", "redis.set_repl(redis.REPL_REPLICA); redis.call('incr','k'); "
             "redis.set_repl(redis.REPL_ALL); redis.call('spop','nothing')", "0"],
    ["EVAL", "return redis.set_repl(7)", "0"],
    ["FUNCTION", "LOAD", "REPLACE",
     "#!lua name=replib\nredis.register_function('f', function() "
     "redis.call('set','fa','1'); redis.set_repl(redis.REPL_NONE); "
     "redis.call('set','fb','2'); redis.set_repl(redis.REPL_AOF); "
     "redis.call('set','fc','3'); redis.set_repl(redis.REPL_ALL); "
     "redis.call('set','fd','4') end)"],
    ["FCALL", "f", "0"],
    ["SET", "after", "1"],
]


def test_set_repl_targets_as_redis_server(tmp_path):
    """The replication stream and the AOF after scripts calling redis.set_repl, byte
    for byte as redis-server writes them (unit/scripting's "selective replication")."""
    from tests.aofutil import aof_files
    with _redis_and_mini_masters("--appendonly", "yes", "--appendfsync", "always",
                                 appendonly="yes", appendfsync="always") as (proc, m):
        streams, files = {}, {}
        for kind, port, directory in (("redis", proc.port, proc.dir),
                                      ("miniredis", m.port, m.dir)):
            streams[kind] = _stream_after(port, _SET_REPL_SEQUENCE)[1]
            incr = [path for path in aof_files(directory) if path.endswith(".incr.aof")]
            with open(incr[-1], "rb") as handle:
                files[kind] = handle.read()
        assert streams["miniredis"] == streams["redis"]
        assert files["miniredis"] == files["redis"]
        assert b"$1\r\nb\r\n" not in files["redis"] and b"$1\r\nc\r\n" in files["redis"]


def test_exec_of_a_queued_script_that_declares_writes_on_a_replica():
    """At EXEC, a transaction whose queue holds a script whose shebang does not say
    no-writes (or a function without it) counts as a write: on a read-only replica it
    gets EXECABORT ... READONLY; a script without a shebang runs, and its write inside
    gets READONLY; a no-writes one runs (unit/scripting's "no-writes shebang flag on
    replica")."""
    queued = [["EVAL", "#!lua\nreturn 1", "0"],
              ["EVAL", "redis.call('set','x',1) return 1", "1", "x"],
              ["EVAL", "#!lua flags=no-writes\nreturn 1", "0"],
              ["FCALL", "writer", "0"], ["FCALL", "reader", "0"]]
    library = ("#!lua name=execlib\n"
               "redis.register_function('writer', function() return 1 end)\n"
               "redis.register_function{function_name='reader', "
               "callback=function() return 2 end, flags={'no-writes'}}")
    with _redis_and_mini_masters() as (proc, m):
        outcomes = []
        for port in (proc.port, m.port):
            admin = RawConnection(port)
            admin.call("FUNCTION", "LOAD", "REPLACE", library)
            conns = [RawConnection(port) for _ in queued]
            seen = []
            for conn, command in zip(conns, queued):
                seen += [conn.call("MULTI"), conn.call(*command)]
            seen.append(admin.call("REPLICAOF", "127.0.0.1", "9"))
            seen += [conn.call("EXEC") for conn in conns]
            seen.append(admin.call("REPLICAOF", "NO", "ONE"))
            for conn in conns + [admin]:
                conn.close()
            outcomes.append(seen)
        assert outcomes[1] == outcomes[0]
        assert outcomes[0][11].startswith(b"-EXECABORT")
