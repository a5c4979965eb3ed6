"""DEBUG subcommands against a real redis-server: HELP, ERROR, PROTOCOL (RESP2 and
RESP3), DIGEST / DIGEST-VALUE equal to Redis's for the same dataset, RELOAD, POPULATE,
the small switches, and the unknown-subcommand error."""
from __future__ import annotations

import time

import pytest

from tests.harness import RawConnection, SameType, command_metadata, parse_raw

PROTOCOL_TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map",
                  "attrib", "push", "verbatim", "true", "false", "nosuchtype"]


def test_debug_help(differ):
    differ.check("DEBUG HELP", "DEBUG help extra", "DEBUG NOSUCH", "DEBUG JMAP",
                 "DEBUG STRINGMATCH-TEST extra", "DEBUG LEAK x")


@pytest.mark.parametrize("kind", PROTOCOL_TYPES)
def test_debug_protocol(differ, kind):
    commands = ["DEBUG PROTOCOL %s" % kind]
    if kind in ("attrib", "push"):      # a second reply follows the attribute or push
        commands.append("PING")
    differ.check(*commands)


def test_debug_error(differ):
    differ.check("DEBUG ERROR hello", ["DEBUG", "ERROR", "WRONGTYPE line\r\nbreak"],
                 "DEBUG ERROR", ["DEBUG", "ERROR", ""])


def test_debug_error_not_counted(mini, real_redis):
    # Redis sends DEBUG ERROR's reply as is: no errorstats entry, no failed call.
    for port in (mini.port, real_redis.port):
        conn = RawConnection(port)
        try:
            conn.call("CONFIG", "RESETSTAT")
            conn.call("DEBUG", "ERROR", "ODD text")
            info = parse_raw(conn.call("INFO", "errorstats"))[1]
            assert info == b"# Errorstats\r\n", (port, info)
        finally:
            conn.close()


DIGEST_DATASETS = [
    ["SET s hello", "SET n 12345", "SET big 99999999999999999999"],
    ["RPUSH l a b c 1 2", "LPUSH l2 x"],
    ["SADD s 1 2 3", "SADD t a b c"],
    ["HSET h f v g 1", "HSET h2 " + " ".join("f%d v%d" % (i, i) for i in range(200))],
    ["ZADD z 1 a 2.5 b -inf c 0.1 d", "ZADD z2 " + " ".join("%d m%d" % (i, i) for i in range(200))],
    ["XADD x 1-1 a 1 b 2", "XADD x 2-2 c 3", "XDEL x 1-1"],
    ["SET e v EX 100", "SELECT 3", "SET other v", "SELECT 9"],
]


@pytest.mark.parametrize("setup", DIGEST_DATASETS)
def test_digest_equals_redis(differ, setup):
    keys = [c.split()[1] for c in setup if c.split()[0] not in ("SELECT",)]
    differ.check("FLUSHALL", "DEBUG DIGEST", *setup, "DEBUG DIGEST",
                 ["DEBUG", "DIGEST-VALUE"] + keys + ["missing"], "DEBUG DIGEST-VALUE",
                 "FLUSHALL")


def test_digest_order_sensitive_for_lists(differ):
    differ.check("RPUSH l a b", "DEBUG DIGEST-VALUE l", "DEL l", "RPUSH l b a",
                 "DEBUG DIGEST-VALUE l")


def test_debug_reload(differ):
    differ.check("SET a 1", "RPUSH l x y", "PEXPIRE a 100000", "DEBUG DIGEST",
                 "DEBUG RELOAD", "DEBUG DIGEST", "GET a", "LRANGE l 0 -1",
                 SameType("TTL a"), "DEBUG RELOAD BADOPT", "SET b 2",
                 "DEBUG RELOAD NOSAVE", "EXISTS b", "SET a changed",
                 "DEBUG RELOAD NOSAVE NOFLUSH MERGE", "GET a")


def test_debug_populate(differ):
    differ.check("DEBUG POPULATE 5", "DBSIZE", "GET key:3", "DEBUG POPULATE 2 pre 12",
                 "GET pre:1", "DEBUG POPULATE 2 p 3", "GET p:0", "DEBUG POPULATE -1",
                 "DEBUG POPULATE x", "DEBUG POPULATE 1 a b c", "DEBUG DIGEST")


def test_debug_switches(differ):
    differ.check(
        "DEBUG SLEEP 0", "DEBUG SLEEP junk", "DEBUG SLEEP 0.01", "DEBUG SET-ACTIVE-EXPIRE 1",
        "DEBUG LOG hello", "DEBUG CHANGE-REPL-ID", "DEBUG QUICKLIST-PACKED-THRESHOLD 100",
        "DEBUG QUICKLIST-PACKED-THRESHOLD 0", "DEBUG QUICKLIST-PACKED-THRESHOLD 5gb",
        "DEBUG QUICKLIST-PACKED-THRESHOLD abc", "DEBUG SET-SKIP-CHECKSUM-VALIDATION 0",
        "DEBUG SET-DISABLE-DENY-SCRIPTS 0", "DEBUG AOF-FLUSH-SLEEP 0", "DEBUG PAUSE-CRON 0",
        "HSET h a 1", "RPUSH l a", "SET s v", "DEBUG LISTPACK h", "DEBUG LISTPACK l",
        "DEBUG QUICKLIST l", "DEBUG QUICKLIST l 1", "DEBUG QUICKLIST h", "DEBUG LISTPACK nokey",
        "DEBUG OBJECT nokey")


def test_change_repl_id_changes_info(mini):
    conn = RawConnection(mini.port)
    try:
        def replid():
            info = parse_raw(conn.call("INFO", "replication"))[1].decode()
            return [line for line in info.split("\r\n") if line.startswith("master_replid:")]
        before = replid()
        assert conn.call("DEBUG", "CHANGE-REPL-ID") == b"+OK\r\n"
        assert replid() != before
    finally:
        conn.close()


def test_packed_threshold_plain_nodes_in_dump(differ):
    differ.check("DEBUG QUICKLIST-PACKED-THRESHOLD 10", "RPUSH l a bbbbbbbbbbbbbbb c",
                 "DUMP l", "DEBUG QUICKLIST-PACKED-THRESHOLD 0")


def test_skip_checksum_validation(differ):
    differ.check("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1",
                 ["RESTORE", "k", "0", b"\x00\x01a\x0a\x00" + b"\x01" * 8], "GET k",
                 "DEBUG SET-SKIP-CHECKSUM-VALIDATION 0",
                 ["RESTORE", "k2", "0", b"\x00\x01a\x0a\x00" + b"\x01" * 8])


def test_disable_deny_scripts(differ):
    differ.check("EVAL \"return redis.pcall('debug', 'digest')\" 0",
                 "DEBUG SET-DISABLE-DENY-SCRIPTS 1",
                 "EVAL \"return redis.call('debug', 'digest')\" 0",
                 "DEBUG SET-DISABLE-DENY-SCRIPTS 0",
                 "EVAL \"return redis.pcall('debug', 'digest')\" 0")


def test_debug_object_sees_a_key_past_its_ttl(differ):
    """DEBUG OBJECT finds the key as stored (dictFind): one past its TTL is still
    there, and looking does not expire it (Redis's scripting suite, needs:debug)."""
    def fields(reply: bytes) -> list:
        return [w for w in reply.split() if not w.startswith((b"+Value", b"at:", b"lru"))]
    runs = []
    for port in (differ.ports["redis"], differ.ports["miniredis"]):
        conn = RawConnection(port)
        try:
            conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            conn.call("SET", "key", "value", "PX", "1")
            time.sleep(0.01)
            seen = conn.call("DEBUG", "OBJECT", "key")
            runs.append((fields(seen), conn.call("DBSIZE"), conn.call("EXISTS", "key"),
                         conn.call("DBSIZE")))
        finally:
            conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            conn.call("FLUSHALL")
            conn.close()
    assert runs[1] == runs[0]
    assert runs[0][1:] == (b":1\r\n", b":0\r\n", b":0\r\n")


def test_debug_reload_with_functions(differ):
    """DEBUG RELOAD empties the functions with the data; NOFLUSH without MERGE fails on
    a library that is still there (Redis's functions suite, needs:debug)."""
    differ.check("FUNCTION FLUSH",      # (other tests' libraries survive FLUSHALL)
                 ["FUNCTION", "LOAD", "#!lua name=test\n"
                  "redis.register_function('test', function() return 'hello' end)"],
                 "SET x 1", "DEBUG RELOAD", "FUNCTION LIST", "DEBUG RELOAD NOFLUSH",
                 "DEBUG RELOAD NOFLUSH MERGE", "FUNCTION LIST", "GET x",
                 ["FUNCTION", "LOAD", "#!lua name=other\n"
                  "redis.register_function('other', function() return 'hi' end)"],
                 "DEBUG RELOAD NOSAVE", "FUNCTION LIST", "FUNCTION FLUSH")


@pytest.mark.parametrize("kind", ["bignum", "attrib", "map", "double", "verbatim"])
def test_debug_protocol_through_scripts(differ, kind):
    """What a script gets from DEBUG PROTOCOL in RESP2 and RESP3 (redis.setresp), as
    the client gets it back in both (Redis's scripting suite, needs:debug)."""
    differ.check("DEBUG SET-DISABLE-DENY-SCRIPTS 1",
                 "EVAL \"return redis.call('debug', 'protocol', '%s')\" 0" % kind,
                 "EVAL \"redis.setresp(3); return redis.call('debug', 'protocol', '%s')\" 0"
                 % kind,
                 "DEBUG SET-DISABLE-DENY-SCRIPTS 0")


def test_debug_object_serialized_length(differ):
    # serializedlength is the RDB encoding's size, LZF included
    for setup in (["SET k " + "a" * 100], ["RPUSH k a b c"], ["HSET k f v"],
                  ["SADD k 1 2 3"], ["ZADD k 1 a"]):
        replies = [parse_raw(r)[1] for r in differ.replies(
            differ.ports["redis"], setup + ["DEBUG OBJECT k"], 2)]
        mine = [parse_raw(r)[1] for r in differ.replies(
            differ.ports["miniredis"], setup + ["DEBUG OBJECT k"], 2)]
        field = [w for w in replies[-1].split() if w.startswith(b"serializedlength")]
        assert field and field[0] in mine[-1].split(), (setup, replies[-1], mine[-1])


def test_debug_metadata(mini, real_redis):
    assert command_metadata(mini.port, "debug") == command_metadata(real_redis.port, "debug")



def test_debug_replybuffer(differ):
    """DEBUG REPLYBUFFER: its replies, and the reply buffer (CLIENT LIST's rbs) of an
    idle client shrinking within a second once the peak resets every 100 ms, then
    growing under big replies while the peak never resets (Redis's replybufsize
    suite, needs:debug)."""
    differ.check("DEBUG REPLYBUFFER PEAK-RESET-TIME 100", "DEBUG REPLYBUFFER resizing 0",
                 "DEBUG REPLYBUFFER peak-reset-time x", "DEBUG REPLYBUFFER foo 1",
                 "DEBUG REPLYBUFFER resizing", "DEBUG REPLYBUFFER peak-reset-time never",
                 "DEBUG REPLYBUFFER resizing 1", "DEBUG REPLYBUFFER peak-reset-time reset")

    def rbs(admin: RawConnection) -> int:
        listing = admin.call("CLIENT", "LIST").decode()
        line = [item for item in listing.split("\n") if "name=watched " in item][0]
        return int(line.split(" rbs=")[1].split()[0])

    def wait_for(condition) -> bool:
        deadline = time.time() + 3
        while time.time() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return False

    seen = []
    for port in (differ.ports["redis"], differ.ports["miniredis"]):
        admin, watched = RawConnection(port), RawConnection(port)
        try:
            admin.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
            watched.call("CLIENT", "SETNAME", "watched")
            shrunk = wait_for(lambda: 1024 <= rbs(admin) < 2046)
            admin.call("SET", "bigval", "x" * 32768)
            admin.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
            grown = wait_for(lambda: watched.call("GET", "bigval") is not None
                             and 16384 <= rbs(admin) < 32768)
            seen.append((shrunk, grown))
        finally:
            admin.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")
            admin.call("DEL", "bigval")
            watched.close()
            admin.close()
    assert seen == [(True, True), (True, True)]


def test_debug_object_addresses_follow_redis_objects(mini, real_redis):
    """DEBUG OBJECT's address as Redis's objects have it (unit/type/incr's "INCR can
    modify objects in-place"): a private integer keeps its address through INCR and
    DECR, the shared integers 0..9999 have one address per number whatever the key."""
    def seen(port):
        conn = RawConnection(port)

        def at(key):
            return conn.call("DEBUG", "OBJECT", key).split()[1]

        try:
            conn.call("FLUSHALL")
            conn.call("SET", "foo", "20000")
            conn.call("INCR", "foo")
            first = at("foo")
            conn.call("INCR", "foo")
            conn.call("DECRBY", "foo", "5")
            kept = at("foo") == first
            conn.call("SET", "a", "42")
            conn.call("SET", "b", "42")
            conn.call("SET", "c", "43")
            return kept, at("a") == at("b"), at("a") == at("c"), first.startswith(b"at:0x")
        finally:
            conn.close()

    assert seen(mini.port) == seen(real_redis.port) == (True, True, False, True)
