"""Client-side caching where the read or the write is not a plain command of the tracking
client: keys read through scripts and functions, keys evicted before a command runs, and
keys written by a blocked client when it is served. Differential against redis-server,
byte for byte, on raw connections (see tests/test_tracking.py for the helpers).

What Redis 7.0 does, and these tests pin down:

* A script that runs a read-only command makes its caller track the keys the script
  *declared* (EVAL's and FCALL's key arguments), not the keys that command touched; a
  script that only writes, or runs no keyed command, tracks nothing; EVAL_RO and
  FCALL_RO work the same way. A command refused before it runs (unknown, wrong arity)
  does not count; one that runs and fails (WRONGTYPE) does.
* A key evicted by maxmemory before a command runs is announced at once, so a tracking
  client that caused the eviction gets the notice before its reply (a NOLOOP client
  gets none: it counts as the modifying client).
* A client released from BLMOVE gets its reply first, then the notices for the keys its
  served command modified (none for itself in NOLOOP mode).
"""
from __future__ import annotations

import time
from typing import Any, List

import pytest

from tests.harness import RawConnection, RedisProcess, parse_raw, redis_server_or_skip
from tests.test_tracking import World, compare, drain

# A library for FCALL: "rd" reads a key it was not given, "wr" writes one.
LIBRARY = ("#!lua name=trkflow\n"
           "redis.register_function('rd', function(keys, args) "
           "return redis.call('get', 'undeclared') end)\n"
           "redis.register_function{function_name='rdro', callback=function(keys, args) "
           "return redis.call('get', 'undeclared') end, flags={'no-writes'}}\n"
           "redis.register_function('wr', function(keys, args) "
           "return redis.call('set', 'undeclared', 'v') end)\n"
           "redis.register_function{function_name='ping', callback=function(keys, args) "
           "return redis.call('ping') end, flags={'no-writes'}}\n")


# -- scripts ---------------------------------------------------------------------------
def test_script_read_tracks_declared_keys(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(2)
        seen = [reader.call("CLIENT", "TRACKING", "on"),
                writer.call("MSET", "k1", "1", "k2", "1")]
        # Only writes: nothing is tracked.
        seen += [reader.call("EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2"),
                 writer.call("MSET", "k2", "2", "k1", "2"), drain(reader)]
        # A read of another key: the declared keys are tracked, the read one is not.
        seen += [reader.call("EVAL", "return redis.call('get', 'k3')", "2", "k1", "k2"),
                 writer.call("SET", "k3", "x"), drain(reader),
                 writer.call("MSET", "k2", "3", "k1", "3"), drain(reader)]
        # EVAL_RO: the same.
        seen += [reader.call("EVAL_RO", "return redis.call('ping')", "2", "k1", "k2"),
                 writer.call("MSET", "k2", "4", "k1", "4"), drain(reader),
                 reader.call("EVAL_RO", "return redis.call('get', 'k1')", "2", "k1", "k2"),
                 writer.call("MSET", "k2", "5", "k1", "5"), drain(reader)]
        # Read-only commands without keys count too; no declared keys, nothing tracked.
        seen += [reader.call("EVAL", "return redis.call('dbsize')", "1", "k1"),
                 reader.call("EVAL", "return redis.call('get', 'k2')", "0"),
                 writer.call("MSET", "k2", "6", "k1", "6"), drain(reader)]
        return seen
    compare(differ, scenario)


def test_script_read_that_fails_or_is_refused(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(2)
        seen = [reader.call("CLIENT", "TRACKING", "on"), writer.call("RPUSH", "l", "a")]
        # Refused before running (unknown command, wrong arity): nothing tracked.
        seen += [reader.call("EVAL", "return redis.pcall('nosuch', 'x')", "1", "a"),
                 reader.call("EVAL", "return redis.pcall('get')", "1", "b"),
                 writer.call("MSET", "a", "1", "b", "1"), drain(reader)]
        # Ran and failed (WRONGTYPE): the declared key is tracked.
        seen += [reader.call("EVAL", "return redis.pcall('get', 'l')", "1", "c"),
                 writer.call("SET", "c", "1"), drain(reader)]
        # Read then written by the script itself: the notice follows the reply.
        seen += [reader.call("EVAL", "redis.call('get', KEYS[1]) "
                             "return redis.call('set', KEYS[1], 'x')", "1", "d"),
                 drain(reader), writer.call("SET", "d", "1"), drain(reader)]
        return seen
    compare(differ, scenario)


def test_script_read_in_transaction_and_optin(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        optin = w.connect(3)
        writer = w.connect(2)
        read = "return redis.call('get', 'elsewhere')"
        seen = [reader.call("CLIENT", "TRACKING", "on"),
                optin.call("CLIENT", "TRACKING", "on", "OPTIN"),
                reader.call("MULTI"), reader.call("EVAL", read, "1", "m1"),
                reader.call("GET", "m2"), reader.call("EVAL", read, "1", "m3"),
                reader.call("EXEC"),
                optin.call("EVAL", read, "1", "o1"), optin.call("CLIENT", "CACHING", "yes"),
                optin.call("EVAL", read, "1", "o2"), optin.call("EVAL", read, "1", "o3"),
                writer.call("MSET", "m1", "1", "m2", "1", "m3", "1", "o1", "1", "o2", "1",
                            "o3", "1"),
                drain(reader), drain(optin)]
        return seen
    compare(differ, scenario)


def test_bcast_client_script_reads_track_nothing_extra(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(2)
        return [reader.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:"),
                reader.call("EVAL", "return redis.call('get', KEYS[1])", "1", "q:1"),
                writer.call("SET", "q:1", "1"), writer.call("SET", "p:1", "1"),
                drain(reader)]
    compare(differ, scenario)


def test_function_read_tracks_declared_keys(differ):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        writer = w.connect(2)
        seen = [writer.call("FUNCTION", "LOAD", "REPLACE", LIBRARY),
                reader.call("CLIENT", "TRACKING", "on"),
                reader.call("FCALL", "wr", "1", "f1"), reader.call("FCALL", "ping", "1", "f2"),
                reader.call("FCALL_RO", "ping", "1", "f3"),
                writer.call("MSET", "f1", "1", "f2", "1", "f3", "1"), drain(reader),
                reader.call("FCALL", "rd", "2", "f1", "f2"),
                reader.call("FCALL_RO", "rdro", "1", "f3"),
                writer.call("SET", "undeclared", "x"), drain(reader),
                writer.call("MSET", "f3", "2", "f2", "2", "f1", "2"), drain(reader),
                writer.call("FUNCTION", "DELETE", "trkflow")]
        return seen
    compare(differ, scenario)


# -- blocked clients ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", [[], ["NOLOOP"]], ids=["default", "noloop"])
def test_unblocked_blmove_notice_follows_its_reply(differ, mode):
    def scenario(w: World) -> List[Any]:
        blocked = w.connect(3)
        pusher = w.connect(3)
        seen = [pusher.call("RPUSH", "dst", "a"),
                blocked.call("CLIENT", "TRACKING", "on", *mode),
                pusher.call("CLIENT", "TRACKING", "on"),
                blocked.call("LRANGE", "dst", "0", "-1"),
                pusher.call("LRANGE", "src", "0", "-1")]
        blocked.send("BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
        deadline = time.time() + 5
        while time.time() < deadline and b"blocked_clients:1" not in pusher.call(
                "INFO", "clients"):
            time.sleep(0.01)
        # The pusher's own notice (it read src) follows its reply; the served client's
        # reply comes before its notice for dst.
        seen += [pusher.call("RPUSH", "src", "foo"), drain(pusher),
                 blocked.read_raw(), drain(blocked)]
        return seen
    compare(differ, scenario)


def test_unblocked_bcast_noloop_own_write(differ):
    def scenario(w: World) -> List[Any]:
        blocked = w.connect(3)
        pusher = w.connect(2)
        seen = [blocked.call("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "PREFIX", "q:")]
        blocked.send("BLMOVE", "q:src", "q:dst", "LEFT", "LEFT", "0")
        deadline = time.time() + 5
        while time.time() < deadline and b"blocked_clients:1" not in pusher.call(
                "INFO", "clients"):
            time.sleep(0.01)
        # q:src is written by the pusher, then popped (and deleted) by the served client,
        # which wrote it last, as q:dst: NOLOOP leaves it nothing to hear.
        seen += [pusher.call("RPUSH", "q:src", "foo"), blocked.read_raw(), drain(blocked),
                 pusher.call("RPUSH", "q:src", "bar"), drain(blocked)]
        return seen
    compare(differ, scenario)


# -- eviction ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_servers(tmp_path_factory):
    """Private servers: maxmemory would disturb the session's."""
    from miniredis import Server
    executable = redis_server_or_skip()
    proc = RedisProcess(executable)
    server = Server(port=0, dir=str(tmp_path_factory.mktemp("mini-tracking-evict")))
    server.start()
    yield {"redis": proc.port, "miniredis": server.port}
    server.stop()
    proc.stop()


class _Ports:
    def __init__(self, ports: dict) -> None:
        self.ports = ports


def _used(conn: RawConnection) -> int:
    text = parse_raw(conn.call("INFO", "memory"))[1].decode()
    fields = dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)
    return int(fields["used_memory"]) - int(fields["mem_not_counted_for_evict"])


@pytest.mark.parametrize("mode", [[], ["NOLOOP"]], ids=["default", "noloop"])
def test_eviction_notice_precedes_the_reply(own_servers, mode):
    def scenario(w: World) -> List[Any]:
        reader = w.connect(3)
        other = w.connect(3)
        admin = w.connect(2)
        seen = [reader.call("CLIENT", "TRACKING", "on", *mode),
                other.call("CLIENT", "TRACKING", "on")]
        try:
            seen += [admin.call("CONFIG", "SET", "maxmemory-policy", "volatile-random"),
                     admin.call("CONFIG", "SET", "maxmemory", str(_used(admin) + 100 * 1024)),
                     reader.call("SETEX", "volatile", "10000", "x"),
                     reader.call("GET", "volatile"), other.call("GET", "volatile"),
                     # 200kb over the limit: the next command evicts "volatile" first.
                     reader.call("SETBIT", "big", "1600000", "0")]
            reader.send("GETBIT", "big", "0")
            first = reader.read_raw()
            seen.append(first)
            if first.startswith(b">"):
                seen.append(reader.read_raw())
            seen += [drain(reader), drain(other), admin.call("EXISTS", "volatile")]
        finally:
            admin.call("CONFIG", "SET", "maxmemory", "0")
            admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        return seen
    compare(_Ports(own_servers), scenario)


SERVED = {
    "blpop": (["BLPOP", "s:src", "0"], ["RPUSH", "s:src", "a"], ["LRANGE", "s:src", "0", "-1"]),
    "brpoplpush": (["BRPOPLPUSH", "s:src", "s:dst", "0"], ["RPUSH", "s:src", "a"],
                   ["LRANGE", "s:src", "0", "-1"]),
    "blmove-self": (["BLMOVE", "s:src", "s:src", "LEFT", "RIGHT", "0"],
                    ["RPUSH", "s:src", "a", "b"], ["LRANGE", "s:src", "0", "-1"]),
    "blmpop": (["BLMPOP", "0", "1", "s:src", "LEFT"], ["RPUSH", "s:src", "a", "b"],
               ["LRANGE", "s:src", "0", "-1"]),
    "bzpopmin": (["BZPOPMIN", "s:src", "0"], ["ZADD", "s:src", "1", "a", "2", "b"],
                 ["ZRANGE", "s:src", "0", "-1"]),
    "bzmpop": (["BZMPOP", "0", "1", "s:src", "MIN"], ["ZADD", "s:src", "1", "a"],
               ["ZRANGE", "s:src", "0", "-1"]),
}


@pytest.mark.parametrize("name", sorted(SERVED))
def test_served_pop_is_signalled_like_redis(differ, name):
    """Whether serving a blocked client counts as a modification of the ready key:
    not for BLPOP/BRPOP/BLMOVE/BRPOPLPUSH's list (Redis relies on the push), yes for
    BLMPOP and the sorted-set commands (as the served client's write)."""
    blocking, push, read = SERVED[name]

    def scenario(w: World) -> List[Any]:
        blocked = w.connect(3)
        tracker = w.connect(3)
        seen = [blocked.call("CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "PREFIX", "s:"),
                tracker.call("CLIENT", "TRACKING", "on")]
        blocked.send(*blocking)
        deadline = time.time() + 5
        while time.time() < deadline and b"blocked_clients:1" not in tracker.call(
                "INFO", "clients"):
            time.sleep(0.01)
        # The tracker pushes and reads the key in one transaction: the blocked client
        # is served after EXEC, when the tracker holds the key.
        seen += [tracker.call("MULTI"), tracker.call(*push), tracker.call(*read),
                 tracker.call("EXEC"), blocked.read_raw(), drain(tracker), drain(blocked),
                 tracker.call("DEL", "s:src", "s:dst"), drain(tracker), drain(blocked)]
        return seen
    compare(differ, scenario)


# -- what counts as a modification ------------------------------------------------------
STREAM_COMMANDS = [
    ["XACK", "st", "g", "1-1"], ["XGROUP", "CREATECONSUMER", "st", "g", "c2"],
    ["XGROUP", "DELCONSUMER", "st", "g", "c"], ["XGROUP", "SETID", "st", "g", "0"],
    ["XGROUP", "DESTROY", "st", "g"], ["XGROUP", "CREATE", "st", "g2", "0"],
    ["XGROUP", "CREATE", "new", "g", "0", "MKSTREAM"],
    ["XSETID", "st", "5-5"], ["XCLAIM", "st", "g", "c3", "0", "1-1"],
    ["XAUTOCLAIM", "st", "g", "c3", "0", "0"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "st", ">"],
    ["XTRIM", "st", "MAXLEN", "1"], ["XDEL", "st", "1-1"], ["XADD", "st", "3-1", "f", "v"],
]


@pytest.mark.parametrize("cmd", STREAM_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_stream_group_bookkeeping_is_no_modification(differ, cmd):
    """Consumer-group bookkeeping is not a signalled modification in Redis 7.0: no
    invalidation, and a WATCH on the stream survives it."""
    def scenario(w: World) -> List[Any]:
        tracker = w.connect(3)
        other = w.connect(2)
        seen = [other.call("XADD", "st", "1-1", "f", "v"), other.call("XADD", "st", "2-1", "f", "v"),
                other.call("XGROUP", "CREATE", "st", "g", "0"),
                other.call("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "st", ">"),
                tracker.call("CLIENT", "TRACKING", "on"),
                tracker.call("MGET", "st", "new"), tracker.call("WATCH", "st", "new"),
                other.call(*cmd), drain(tracker),
                tracker.call("MULTI"), tracker.call("PING"), tracker.call("EXEC")]
        return seen
    compare(differ, scenario)
