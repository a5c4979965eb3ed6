"""Streams: differential tests of every command and error path, RESP2 and RESP3.

Explicit IDs keep replies deterministic; where Redis replies with times (``*`` IDs,
idle times, delivery times) the replies are compared after masking those numbers
(``_masked``), and the times themselves are checked against miniredis's frozen clock.
"""
from __future__ import annotations

import random
import re
import time

import pytest

from miniredis.commands import COMMANDS, load_all, lookup
from tests.harness import RawConnection, command_metadata, parse_raw
load_all()
needs_multi = pytest.mark.skipif(
    b"multi" not in COMMANDS, reason="MULTI/EXEC come with the transactions issue")

STREAM_COMMANDS = (
    "xadd xlen xrange xrevrange xdel xtrim xsetid xread xreadgroup xack xpending xclaim "
    "xautoclaim xgroup xgroup|create xgroup|setid xgroup|destroy xgroup|createconsumer "
    "xgroup|delconsumer xgroup|help xinfo xinfo|stream xinfo|groups xinfo|consumers "
    "xinfo|help").split()


# -- metadata -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", STREAM_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    """Arity, flags, keys, ACL categories, summary, since and group as in Redis 7.0."""
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_getkeys(differ):
    differ.check(
        "COMMAND GETKEYS XREAD COUNT 2 STREAMS a b 0 0",
        "COMMAND GETKEYS XREAD BLOCK 0 STREAMS streams 0",
        "COMMAND GETKEYS XREADGROUP GROUP g c NOACK STREAMS a b > >",
        "COMMAND GETKEYS XADD s * f v", "COMMAND GETKEYS XGROUP CREATE s g $",
        "COMMAND GETKEYS XINFO STREAM s")


# -- XADD, XLEN, XRANGE ----------------------------------------------------------------------
def test_xadd_ids_and_errors(differ):
    differ.check(
        "XADD s 1-1 a 1", "XADD s 1-1 a 2", "XADD s 1-0 a 2", "XADD s 1 a 3", "XADD s 1-* a 4",
        "XADD s 5-* a 5", "XADD s 5-* b 6 c 7", "XADD s 0-0 a 1", "XADD s 0 a 1",
        "XADD n 0-* a 1", "XADD n2 0-0 a 1", "EXISTS n2", "XADD s 6-18446744073709551615 a 1",
        "XADD s 6-* a 1", "XADD s 7-18446744073709551616 a 1", "XADD s abc a 1",
        "XADD s 8- a 1", "XADD s -8 a 1", "XADD s 8-x a 1", "XADD s 8-01 a 1",
        "XADD s 009-1 a 1", "XADD s ' 10-+2' a 1", "XADD s 11--1 a 1", "XADD s 11--01 a 1",
        "XADD s + a 1", "XADD s - a 1", "XADD s 12 a", "XADD s 12 a 1 b", "XADD s 12",
        "XADD s", "XADD s * a", "XLEN s", "XRANGE s - +", "XADD str-key 1 a 1",
        "SET str x", "XADD str 1 a 1", "XADD s NOMKSTREAM 20 a 1", "XADD none NOMKSTREAM * a 1",
        "EXISTS none", "XADD s nomkstream", "XADD s nomkstream 21", "TYPE s",
        "OBJECT ENCODING s", "XADD big 18446744073709551615-18446744073709551615 a 1",
        "XADD big * a 1", "XADD big 18446744073709551615-* a 1", "XLEN big", "XLEN missing",
        "XLEN str", "XLEN")


def test_xadd_star_ids(differ, mini):
    # Generated IDs depend on each server's clock: only their shape is compared here.
    replies = differ.check(
        "XADD s 99999999999999-5 a 1", "XADD s * a 2", "XADD s 99999999999999-* a 3",
        "XRANGE s - + COUNT 1")
    assert replies[1] == b"$16\r\n99999999999999-6\r\n"
    conn = RawConnection(mini.port)
    try:
        conn.call("SELECT", "9")
        conn.call("DEL", "t")
        clock = mini.state.clock
        before = clock.ms()
        ms, seq = conn.call("XADD", "t", "*", "f", "v").split(b"\r\n")[1].split(b"-")
        assert before <= int(ms) <= clock.ms() and seq == b"0"
        second = conn.call("XADD", "t", "%s-*" % ms.decode(), "f", "v")
        assert second.split(b"\r\n")[1] == ms + b"-1"
    finally:
        conn.close()


def test_xadd_trimming_options(differ):
    adds = ["XADD s %d-1 f %d" % (i, i) for i in range(1, 21)]
    differ.check(
        *adds, "XADD s MAXLEN 10 21 f v", "XLEN s", "XADD s MAXLEN = 5 22 f v", "XLEN s",
        "XRANGE s - + COUNT 2", "XADD s MAXLEN ~ 2 23 f v", "XLEN s", "XADD s MINID 20 24 f v",
        "XRANGE s - +", "XADD s MINID = 23-1 25 f v", "XRANGE s - +",
        "XADD s MINID ~ 25 26 f v", "XLEN s", "XADD s MAXLEN 1 MINID 1 27 f v",
        "XADD s MINID 1 MAXLEN 1 27 f v", "XADD s MAXLEN -1 27 f v", "XADD s MAXLEN x 27 f v",
        "XADD s MAXLEN 1 LIMIT 5 27 f v", "XADD s MAXLEN ~ 1 LIMIT -1 27 f v",
        "XADD s MAXLEN ~ 1 LIMIT x 27 f v", "XADD s MINID abc 27 f v", "XADD s MINID - 27 f v",
        "XADD s MAXLEN ~ 0 LIMIT 1 27 f v", "XLEN s", "XADD s MAXLEN 0 28 f v", "XLEN s",
        "EXISTS s", "XRANGE s - +", "XADD s MAXLEN", "XADD s MAXLEN 1", "XADD s MAXLEN ~ 1",
        "XADD s MAXLEN = 1 * f", "XADD s LIMIT 10 MAXLEN ~ 1 29 f v", "XLEN s",
        "XADD s maxlen ~ 5 limit 0 30 f v", "XINFO STREAM s")


def test_xrange_xrevrange(differ):
    differ.check(
        "XADD s 1-1 a 1", "XADD s 1-2 b 2", "XADD s 2-0 c 3 d 4", "XADD s 3-5 e 5",
        "XRANGE s - +", "XREVRANGE s + -", "XRANGE s 1 1", "XRANGE s 1-2 3",
        "XRANGE s (1-1 +", "XRANGE s - (3-5", "XRANGE s (1-2 (3-5", "XREVRANGE s (3-5 (1-1",
        "XRANGE s (0 +", "XRANGE s 2 1", "XRANGE s - + COUNT 2", "XREVRANGE s + - COUNT 1",
        "XRANGE s - + COUNT 0", "XRANGE s - + COUNT -1", "XRANGE s - + count 1 COUNT 3",
        "XRANGE s - + COUNT", "XRANGE s - + COUNT x", "XRANGE s - + LIMIT 1",
        "XRANGE s ( +", "XRANGE s (- +", "XRANGE s - (+", "XRANGE s x +", "XRANGE s - x",
        "XRANGE s (18446744073709551615-18446744073709551615 +", "XRANGE s - (0-0",
        "XRANGE s (0-18446744073709551615 +", "XRANGE s - (5-0",
        "XRANGE missing - +", "XRANGE missing - + COUNT 0", "XRANGE missing x +",
        "SET str v", "XRANGE str - +", "XREVRANGE str + -", "XRANGE s", "XREVRANGE s +",
        "XRANGE s 1-1 1-1 COUNT 1 extra")


def test_entries_of_every_stored_shape_read_back_as_redis(differ):
    """Entries kept as values alone (a chunk of one field, filled by pipelined XADDs),
    as pairs (another shape turned the chunk), and as loaded by RESTORE, read by every
    reply that holds an entry -- directly and through Lua, whose copy a script may
    change without changing the stream -- and a stream emptied and refilled."""
    run = ["XADD s %d-%d f v%d" % (1 + i // 20, i % 20, i) for i in range(60)]
    scripts = [
        ["EVAL", "local r = redis.call('XRANGE', KEYS[1], '-', '+') "
                 "r[1][2][1] = 'changed' return r", "1", "s"],
        ["EVAL", "return redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 3)", "1", "s"],
        ["EVAL", "return redis.call('XREAD', 'COUNT', 2, 'STREAMS', KEYS[1], '2-5')",
         "1", "s"],
        ["EVAL", "return redis.call('XCLAIM', KEYS[1], 'g', 'c2', 0, '1-0', '3-7', '9-9')",
         "1", "s"],
    ]
    differ.check(
        "CONFIG SET stream-node-max-entries 7", *run,
        "XRANGE s - + COUNT 25", "XREVRANGE s + - COUNT 5", "XRANGE s 2-3 2-9",
        "XADD s 4-0 f a g b", "XADD s 4-1 f c", "XADD s 4-2 h d", "XRANGE s 3-18 +",
        "XDEL s 1-0 2-19 4-1", "XRANGE s 1-0 2-1", "XREVRANGE s + 3-17",
        "XGROUP CREATE s g 0", "XREADGROUP GROUP g c COUNT 4 STREAMS s >",
        "XREADGROUP GROUP g c COUNT 2 STREAMS s 0", *scripts, "XRANGE s - + COUNT 3",
        "XCLAIM s g c3 0 1-1 1-2", "XAUTOCLAIM s g c4 0 0 COUNT 3",
        "XTRIM s MAXLEN 30", "XRANGE s - + COUNT 4", "XTRIM s MINID 3-15",
        "XRANGE s - +", "XLEN s", "XINFO STREAM s",
        "COPY s t", "XRANGE t 3-15 3-18", "XTRIM t MAXLEN 0", "XRANGE t - +",
        "XADD t 9-1 f z", "XADD t 9-2 f y", "XRANGE t - +", "XREVRANGE t + -",
        "CONFIG SET stream-node-max-entries 100")
    # A stream loaded as Redis wrote it (a tombstone in its first node).
    conn = RawConnection(differ.ports["redis"])
    try:
        conn.call("SELECT", "9")
        conn.call("FLUSHALL")
        conn.call("CONFIG", "SET", "stream-node-max-entries", "7")
        for command in run + ["XDEL s 1-5"]:
            conn.call(*command.split())
        payload = parse_raw(conn.call("DUMP", "s"))
        conn.call("CONFIG", "SET", "stream-node-max-entries", "100")
    finally:
        conn.close()
    differ.check(["RESTORE", "r", "0", payload], "XRANGE r - + COUNT 8", "XREVRANGE r + - COUNT 4",
                 "XRANGE r 1-4 1-6", "XADD r 4-0 f w", "XADD r 4-1 other w", "XRANGE r 3-18 +",
                 ["EVAL", "return redis.call('XRANGE', KEYS[1], '2-18', '+')", "1", "r"],
                 "XDEL r 2-0", "XRANGE r 1-19 2-2", "DEBUG DIGEST-VALUE r",
                 "CONFIG SET stream-node-max-entries 100")


def test_xdel_and_first_entry_bookkeeping(differ):
    differ.check(
        "XADD s 1-1 a 1", "XADD s 2-1 a 2", "XADD s 3-1 a 3", "XDEL s 2-1 9-9", "XDEL s 2-1",
        "XINFO STREAM s", "XDEL s 1-1", "XINFO STREAM s", "XDEL s 3-1", "XLEN s", "EXISTS s",
        "XINFO STREAM s", "XDEL s x", "XDEL s 1-1 x", "XDEL s -", "XDEL missing 1-1",
        "XDEL missing x", "SET str v", "XDEL str 1", "XADD s 2-1 a 1", "XADD s 4-1 a 1",
        "XDEL s 4", "XINFO STREAM s", "XDEL s")


def test_xtrim(differ):
    adds = ["XADD s %d-0 f %d" % (i, i) for i in range(1, 31)]
    differ.check(
        *adds, "XTRIM s MAXLEN 25", "XTRIM s MAXLEN = 20", "XTRIM s MAXLEN ~ 10", "XLEN s",
        "XTRIM s MINID 15", "XRANGE s - + COUNT 1", "XTRIM s MINID ~ 20", "XLEN s",
        "XTRIM s MINID = 30", "XRANGE s - +", "XTRIM s MAXLEN 0", "XINFO STREAM s",
        "XTRIM s FOO 1", "XTRIM s MAXLEN", "XTRIM s MAXLEN 1 LIMIT 1", "XTRIM s MAXLEN -1",
        "XTRIM s MAXLEN 1 MINID 1", "XTRIM s MAXLEN ~ 1 LIMIT 1 extra",
        "XTRIM s NOMKSTREAM MAXLEN 1", "XTRIM s MAXLEN ~ 1 LIMIT -3", "XTRIM missing MAXLEN 1",
        "XTRIM missing FOO 1", "SET str v", "XTRIM str MAXLEN 1", "XTRIM s LIMIT 5",
        "XTRIM s LIMIT 5 MAXLEN ~ 1", "XTRIM s MINID", "XTRIM s MINID + ")


def _fill(key: str, count: int, fields: str = "f v") -> list:
    return ["XADD %s %d-1 %s" % (key, i, fields) for i in range(1, count + 1)]


def test_approximate_trimming_keeps_whole_nodes(differ):
    differ.check(
        *_fill("s", 350), "XTRIM s MAXLEN ~ 120", "XLEN s", "XTRIM s MAXLEN ~ 120", "XLEN s",
        "XTRIM s MAXLEN ~ 99", "XLEN s", "XINFO STREAM s", "XTRIM s MINID ~ 330", "XLEN s",
        *["XADD t %d-1 f v" % i for i in range(1, 260)], "XADD t MAXLEN ~ 50 LIMIT 100 900 f v",
        "XLEN t", "XTRIM t MAXLEN ~ 0 LIMIT 50", "XLEN t", "XTRIM t MAXLEN ~ 0 LIMIT 500",
        "XLEN t", "XINFO STREAM t")


def test_node_boundaries_follow_node_limits(differ):
    # Big values fill listpacks by bytes (stream-node-max-bytes), small ones by count;
    # XDEL of a whole node removes it; deleted entries still count towards a node.
    big = "x" * 300
    differ.check(
        *_fill("b", 40, "field %s" % big), "XINFO STREAM b", "XTRIM b MAXLEN ~ 30", "XLEN b",
        *_fill("m", 12, "a 1 b 2"), "XADD m 13-1 c 3", "XADD m 14-1 a 1 b 2 c 3",
        "XADD m 15-1 12345678901 -5 b 3000000000", "XINFO STREAM m",
        *_fill("d", 150), "XDEL d " + " ".join("%d-1" % i for i in range(101, 151)),
        "XINFO STREAM d", "XADD d 151-1 f v", "XINFO STREAM d",
        "XDEL d " + " ".join("%d-1" % i for i in range(1, 100)), "XINFO STREAM d",
        "XTRIM d MAXLEN 0", "XINFO STREAM d", "XADD d 200-1 f v", "XINFO STREAM d")


def test_node_limits_follow_config(differ):
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("CONFIG", "SET", "stream-node-max-entries", "7")
        conn.close()
    try:
        differ.check(*_fill("s", 40), "XINFO STREAM s", "XTRIM s MAXLEN ~ 15", "XLEN s",
                     "XADD s MAXLEN ~ 1 41-1 f v", "XLEN s")
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", "stream-node-max-entries", "100")
            conn.close()


def test_radix_tree_counts_random(differ):
    rng = random.Random(5)
    commands = []
    ms = 0
    for _ in range(400):
        ms += rng.choice([1, 1, 2, 255, 256, 65536, 1 << 24, 1 << 33])
        commands.append("XADD s %d-%d f v" % (ms, rng.randrange(3)))
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("CONFIG", "SET", "stream-node-max-entries", "3")
        conn.close()
    try:
        ids = [c.split()[2] for c in commands]
        dels = ["XDEL s " + " ".join(rng.sample(ids, 40)) for _ in range(6)]
        checks = []
        for cmd in dels:
            checks += [cmd, "XINFO STREAM s"]
        differ.check(*commands, "XINFO STREAM s", *checks, "XTRIM s MAXLEN ~ 100",
                     "XINFO STREAM s", "XTRIM s MINID %s" % ids[300], "XINFO STREAM s")
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", "stream-node-max-entries", "100")
            conn.close()


def test_xsetid(differ):
    differ.check(
        "XADD s 5-5 a 1", "XSETID s 5-4", "XSETID s 5-5", "XSETID s 10-0", "XADD s 10-0 a 1",
        "XADD s 11-0 a 1", "XSETID s 1", "XSETID missing 1-1", "XSETID s x",
        "XSETID s 20-0 ENTRIESADDED 0", "XSETID s 20-0 ENTRIESADDED -1",
        "XSETID s 20-0 ENTRIESADDED x", "XSETID s 20-0 ENTRIESADDED 7 MAXDELETEDID 20-1",
        "XSETID s 20-0 ENTRIESADDED 7 MAXDELETEDID 3-0", "XINFO STREAM s",
        "XSETID s 20-0 MAXDELETEDID 1-0", "XINFO STREAM s", "XSETID s 2-0", "XSETID s 20-0 FOO",
        "XSETID s 20-0 ENTRIESADDED", "XSETID s 20-0 MAXDELETEDID x", "XSETID s +",
        "XDEL s 5-5", "XSETID s 3-0", "XINFO STREAM s", "XDEL s 10-0 11-0", "XSETID s 3-0",
        "XSETID s 11-0 ENTRIESADDED 0", "XSETID s 12-0 MAXDELETEDID 12-0", "XINFO STREAM s",
        "XSETID s 11-5", "XSETID s 11-0", "SET str v", "XSETID str 1-1",
        "XSETID str x", "XSETID s")


# -- XREAD ----------------------------------------------------------------------------------
def test_xread(differ):
    differ.check(
        "XADD a 1-1 f 1", "XADD a 2-1 f 2", "XADD b 1-1 g 1", "XREAD STREAMS a 0",
        "XREAD STREAMS a b 0 0", "XREAD COUNT 1 STREAMS a b 1-1 0", "XREAD STREAMS a $",
        "XREAD STREAMS a b missing 2-1 1 0", "XREAD STREAMS a a 0 1-1", "XREAD COUNT 0 STREAMS a 0",
        "XREAD COUNT -5 STREAMS a 0", "XREAD COUNT x STREAMS a 0", "XREAD STREAMS a",
        "XREAD STREAMS a b 0", "XREAD STREAMS", "XREAD FOO STREAMS a 0", "XREAD STREAMS a >",
        "XREAD STREAMS a x", "XREAD STREAMS a -", "XREAD STREAMS a +", "XREAD GROUP g c STREAMS a 0",
        "XREAD NOACK STREAMS a 0", "XREAD BLOCK x STREAMS a 0", "XREAD BLOCK -1 STREAMS a 0",
        "XREAD BLOCK 9223372036854775807 STREAMS a 0", "XREAD BLOCK 10 STREAMS a 0",
        "XREAD BLOCK 10 STREAMS a $", "XREAD STREAMS missing 0", "SET str v",
        "XREAD STREAMS a str 0 0", "XREAD STREAMS str missing 0 x", "XREAD COUNT 1",
        "XREAD BLOCK 0 COUNT 1", "XREAD streams a 18446744073709551615-18446744073709551615",
        "XREAD COUNT 1 COUNT 2 STREAMS a 0", "XADD e 1-1 f v", "XDEL e 1-1",
        "XREAD STREAMS e 0")


# -- consumer groups -------------------------------------------------------------------------
def test_xgroup_create_and_errors(differ):
    differ.check(
        "XGROUP CREATE s g $", "XGROUP CREATE s g $ MKSTREAM", "XGROUP CREATE s g $ MKSTREAM",
        "XGROUP CREATE s g2 0 ENTRIESREAD 5", "XGROUP CREATE s g3 1-1 ENTRIESREAD -1",
        "XGROUP CREATE s g4 1 ENTRIESREAD -2", "XGROUP CREATE s g4 1 ENTRIESREAD x",
        "XGROUP CREATE s g4 1 FOO", "XGROUP CREATE s g4 1 MKSTREAM MKSTREAM MKSTREAM",
        "XGROUP CREATE s g5 1 ENTRIESREAD", "XGROUP CREATE s g5 x", "XGROUP CREATE s g5 -",
        "XGROUP CREATE s g5 +", "XGROUP CREATE s g5 (1", "XINFO GROUPS s",
        "XGROUP CREATE missing g x", "XGROUP CREATE missing g x MKSTREAM", "EXISTS missing",
        "XGROUP CREATE missing g $ FOO MKSTREAM", "EXISTS missing", "SET str v",
        "XGROUP CREATE str g $", "XGROUP CREATE str g $ MKSTREAM", "XGROUP CREATE s",
        "XGROUP CREATE s g", "XGROUP", "XGROUP FOO", "XGROUP FOO s g", "XGROUP HELP",
        "XGROUP help x", "xgroup Create s g6 0 mkstream", "XGROUP CREATE s g7 $ ENTRIESREAD 1 MKSTREAM",
        "XINFO GROUPS s")


def test_xgroup_setid_destroy_consumers(differ):
    differ.check(
        "XADD s 1-1 f 1", "XADD s 2-1 f 2", "XGROUP CREATE s g 0", "XGROUP SETID s g 1-1",
        "XINFO GROUPS s", "XGROUP SETID s g $ ENTRIESREAD 2", "XINFO GROUPS s",
        "XGROUP SETID s g - ", "XGROUP SETID s g + ", "XINFO GROUPS s", "XGROUP SETID s g 0",
        "XGROUP SETID s g x", "XGROUP SETID s g 0 ENTRIESREAD", "XGROUP SETID s g 0 ENTRIESREAD -3",
        "XGROUP SETID s g 0 FOO 1", "XGROUP SETID s g 0 ENTRIESREAD 1 X",
        "XGROUP SETID s nog 0", "XGROUP SETID missing g 0", "XGROUP SETID s g",
        "XGROUP CREATECONSUMER s g alice", "XGROUP CREATECONSUMER s g alice",
        "XGROUP CREATECONSUMER s nog alice", "XGROUP CREATECONSUMER missing g alice",
        "XGROUP CREATECONSUMER s g", "XREADGROUP GROUP g bob STREAMS s >",
        "XGROUP DELCONSUMER s g bob", "XGROUP DELCONSUMER s g bob", "XPENDING s g",
        "XGROUP DELCONSUMER s nog bob", "XGROUP DELCONSUMER missing g bob",
        "XGROUP DELCONSUMER s g alice", "XGROUP DESTROY s g", "XGROUP DESTROY s g",
        "XGROUP DESTROY missing g", "XGROUP DESTROY s", "XGROUP DESTROY s g extra",
        "SET str v", "XGROUP DESTROY str g", "XGROUP SETID str g 0", "XINFO GROUPS s")


def test_xreadgroup_delivery_and_history(differ):
    _masked_check(
        differ, 
        "XADD s 1-1 f 1", "XADD s 2-1 f 2", "XADD s 3-1 f 3", "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s >", "XREADGROUP GROUP g bob STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >", "XREADGROUP GROUP g alice STREAMS s 0",
        "XREADGROUP GROUP g bob STREAMS s 0", "XREADGROUP GROUP g bob COUNT 1 STREAMS s 2-1",
        "XREADGROUP GROUP g nobody STREAMS s 0", "XPENDING s g", "XDEL s 2-1",
        "XREADGROUP GROUP g bob STREAMS s 0", "XADD s 4-1 f 4",
        "XREADGROUP GROUP g carol NOACK STREAMS s >", "XPENDING s g", "XINFO GROUPS s",
        "XGROUP SETID s g 0", "XREADGROUP GROUP g carol STREAMS s >", "XPENDING s g",
        "XREADGROUP GROUP g dave STREAMS s 0-0", "XREADGROUP GROUP g dave STREAMS s >",
        "XADD t 1-1 f 1", "XGROUP CREATE t g $", "XREADGROUP GROUP g alice STREAMS s t 0 >",
        "XREADGROUP GROUP g alice STREAMS t s > >", "XREADGROUP GROUP g alice STREAMS s s 0 0",
        "XREADGROUP GROUP g alice STREAMS s 18446744073709551615-18446744073709551615",
        "XREADGROUP GROUP g alice STREAMS s 18446744073709551615-18446744073709551614",
        "XINFO CONSUMERS s g")


def test_xreadgroup_errors(differ):
    _masked_check(
        differ, 
        "XADD s 1-1 f 1", "XGROUP CREATE s g 0", "XREADGROUP GROUP g c STREAMS s $",
        "XREADGROUP GROUP g c STREAMS s missing > >", "XREADGROUP GROUP nog c STREAMS s >",
        "XREADGROUP STREAMS s >", "XREADGROUP COUNT 1 STREAMS s > ",
        "XREADGROUP GROUP g c STREAMS s", "XREADGROUP GROUP g c STREAMS s x",
        "XREADGROUP GROUP g c STREAMS s +", "XREADGROUP GROUP g c FOO STREAMS s >",
        "XREADGROUP GROUP g c COUNT x STREAMS s >", "XREADGROUP GROUP g c BLOCK x STREAMS s >",
        "XREADGROUP GROUP g c BLOCK -1 STREAMS s >", "XREADGROUP GROUP g STREAMS s >",
        "XREADGROUP GROUP g c STREAMS", "SET str v", "XREADGROUP GROUP g c STREAMS str >",
        "XREADGROUP GROUP g c BLOCK 10 STREAMS s >", "XREADGROUP GROUP g c NOACK NOACK STREAMS s 0",
        "XREADGROUP GROUP g c COUNT 0 STREAMS s 0", "XREADGROUP GROUP g c group g d STREAMS s 0",
        "XINFO CONSUMERS s g")


def test_xack_xpending(differ):
    _masked_check(
        differ, 
        "XADD s 1-1 f 1", "XADD s 2-1 f 2", "XADD s 3-1 f 3", "XADD s 4-1 f 4",
        "XGROUP CREATE s g 0", "XPENDING s g", "XPENDING s g - + 10",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS s >", "XREADGROUP GROUP g bob STREAMS s >",
        "XPENDING s g", "XACK s g 1-1 9-9", "XACK s g 1-1", "XACK s g x", "XACK s g 2-1 x",
        "XPENDING s g", "XACK s nog 2-1", "XACK missing g 2-1", "XACK missing g x",
        "XACK s g 2-1 2-1", "XPENDING s g", "XPENDING s nog", "XPENDING missing g",
        "XPENDING s g - +", "XPENDING s g - + x", "XPENDING s g x + 1", "XPENDING s g - x 1",
        "XPENDING s g (3-1 + 5", "XPENDING s g - (4-1 5", "XPENDING s g ( + 5",
        "XPENDING s g IDLE x - + 5", "XPENDING s g IDLE 0 - +", "XPENDING s g - + 5 a b",
        "XPENDING s g - + 0", "XPENDING s g - + -1", "XPENDING s g 5 1 5",
        "XPENDING s g - + 5 nobody", "XPENDING nog g - + 5", "SET str v",
        "XPENDING str g", "XACK str g 1-1", "XPENDING s", "XACK s g",
        "XPENDING s g (18446744073709551615-18446744073709551615 + 1",
        "XPENDING s g - (0-0 1", "XACK s g 3-1 4-1", "XPENDING s g")


def test_xclaim_errors_and_options(differ):
    _masked_check(
        differ, 
        "XADD s 1-1 f 1", "XADD s 2-1 f 2", "XADD s 3-1 f 3", "XGROUP CREATE s g 0",
        "XCLAIM s g c 0 1-1", "XCLAIM s nog c 0 1-1", "XCLAIM missing g c 0 1-1",
        "XCLAIM missing g c x 1-1", "XCLAIM s g c x 1-1", "XCLAIM s g c -5 1-1 JUSTID",
        "XCLAIM s g c 0 1-1 FOO", "XCLAIM s g c 0 1-1 IDLE x", "XCLAIM s g c 0 1-1 TIME x",
        "XCLAIM s g c 0 1-1 RETRYCOUNT x", "XCLAIM s g c 0 1-1 LASTID x",
        "XCLAIM s g c 0 1-1 IDLE", "XCLAIM s g c 0 FORCE 1-1", "XCLAIM s g c 0 1-1 FORCE 2-1",
        "XINFO CONSUMERS s g", "XCLAIM s g c 0 1-1 FORCE JUSTID", "XPENDING s g",
        "XINFO GROUPS s", "XCLAIM s g d 0 1-1 2-1 9-9 FORCE RETRYCOUNT 5", "XPENDING s g",
        "XCLAIM s g c 0 1-1 JUSTID RETRYCOUNT 7", "XPENDING s g - + 10",
        "XCLAIM s g c 0 1-1 RETRYCOUNT -3", "XPENDING s g - + 10", "XCLAIM s g c 0 1-1 JUSTID",
        "XPENDING s g - + 10", "XCLAIM s g c 0 3-1 LASTID 3-1", "XINFO GROUPS s",
        "XCLAIM s g c 0 3-1 LASTID 1-0", "XINFO GROUPS s", "XCLAIM s g c 0 3-1 LASTID -",
        "XDEL s 2-1", "XCLAIM s g c 0 2-1", "XPENDING s g", "XCLAIM s g c 0 2-1 FORCE",
        "XCLAIM s g c 3600000 1-1", "XCLAIM s g e 0 1-1 TIME 1 JUSTID", "XINFO CONSUMERS s g",
        "SET str v", "XCLAIM str g c 0 1-1", "XCLAIM s g c 0")


def test_xautoclaim(differ):
    _masked_check(
        differ, 
        *["XADD s %d-1 f %d" % (i, i) for i in range(1, 8)], "XGROUP CREATE s g 0",
        "XAUTOCLAIM s g c 0 0", "XINFO CONSUMERS s g",
        "XREADGROUP GROUP g alice STREAMS s >", "XAUTOCLAIM s g bob 0 0 COUNT 2",
        "XAUTOCLAIM s g bob 0 (2-1 COUNT 2 JUSTID", "XPENDING s g - + 10",
        "XDEL s 5-1 6-1", "XAUTOCLAIM s g carol 0 5 COUNT 2", "XPENDING s g - + 10",
        "XAUTOCLAIM s g carol 3600000 0", "XAUTOCLAIM s g carol 0 0 COUNT 100 JUSTID",
        "XAUTOCLAIM s g carol 0 0 JUSTID JUSTID", "XPENDING s g",
        "XAUTOCLAIM s g c x 0", "XAUTOCLAIM s g c -1 0 COUNT 1", "XAUTOCLAIM s g c 0 x",
        "XAUTOCLAIM s g c 0 - COUNT 0", "XAUTOCLAIM s g c 0 + COUNT 1",
        "XAUTOCLAIM s g c 0 0 COUNT -1", "XAUTOCLAIM s g c 0 0 COUNT x",
        "XAUTOCLAIM s g c 0 0 COUNT 922337203685477580", "XAUTOCLAIM s g c 0 0 COUNT 576460752303423487",
        "XAUTOCLAIM s g c 0 0 COUNT", "XAUTOCLAIM s g c 0 0 FOO", "XAUTOCLAIM s nog c 0 0",
        "XAUTOCLAIM missing g c 0 0", "XAUTOCLAIM s g c 0 (18446744073709551615-18446744073709551615",
        "SET str v", "XAUTOCLAIM str g c 0 0", "XAUTOCLAIM str g c 0 x", "XAUTOCLAIM s g c 0",
        "XAUTOCLAIM str g c x 0", "XAUTOCLAIM str g c 0 0 COUNT 0", "XAUTOCLAIM str g c 0 0 FOO",
        "XAUTOCLAIM missing g c x 0", "XAUTOCLAIM missing g c 0 0 JUSTID FOO")


def test_xautoclaim_attempts_and_deleted_count(differ):
    adds = ["XADD s %d-1 f v" % i for i in range(1, 31)]
    _masked_check(
        differ, 
        *adds, "XGROUP CREATE s g 0", "XREADGROUP GROUP g a STREAMS s >",
        "XDEL s " + " ".join("%d-1" % i for i in range(1, 26)),
        "XAUTOCLAIM s g b 0 0 COUNT 3", "XAUTOCLAIM s g b 0 0 COUNT 3",
        "XAUTOCLAIM s g b 3600000 0 COUNT 1", "XAUTOCLAIM s g b 0 0 COUNT 1 JUSTID",
        "XPENDING s g")


# -- XINFO -----------------------------------------------------------------------------------
def test_xinfo_stream_groups_and_errors(differ):
    differ.check(
        "XINFO STREAM missing", "XINFO GROUPS missing", "XINFO CONSUMERS missing g",
        "XADD s 1-1 a 1", "XADD s 2-2 b 2 c 3", "XINFO STREAM s", "XINFO GROUPS s",
        "XINFO CONSUMERS s nog", "XGROUP CREATE s g 0", "XGROUP CREATE s a $",
        "XINFO GROUPS s", "XINFO STREAM s", "XINFO STREAM s FULL COUNT x",
        "XINFO STREAM s FOO", "XINFO STREAM s FULL COUNT", "XINFO STREAM s FULL FOO 1",
        "XINFO STREAM s FULL COUNT 1 x", "XINFO GROUPS s x", "XINFO CONSUMERS s",
        "XINFO FOO s", "XINFO", "XINFO HELP", "XINFO help x", "SET str v",
        "XINFO STREAM str", "XINFO GROUPS str", "XINFO CONSUMERS str g", "XINFO STREAM",
        "XGROUP CREATE e g $ MKSTREAM", "XINFO STREAM e", "XINFO STREAM e FULL", "XINFO GROUPS e")


def test_xinfo_lag_and_entries_read(differ):
    adds = ["XADD s %d-1 f v" % i for i in range(1, 6)]
    differ.check(
        *adds, "XGROUP CREATE s g 0", "XGROUP CREATE s late $", "XINFO GROUPS s",
        "XREADGROUP GROUP g c COUNT 2 STREAMS s >", "XINFO GROUPS s", "XDEL s 4-1",
        "XINFO GROUPS s", "XREADGROUP GROUP g c COUNT 1 STREAMS s >", "XINFO GROUPS s",
        "XREADGROUP GROUP g c STREAMS s >", "XINFO GROUPS s", "XDEL s 1-1",
        "XINFO GROUPS s", "XGROUP SETID s g 0", "XINFO GROUPS s", "XTRIM s MAXLEN 1",
        "XINFO GROUPS s", "XGROUP CREATE s fresh 0", "XINFO GROUPS s",
        "XREADGROUP GROUP fresh c STREAMS s >", "XINFO GROUPS s", "XADD s 9-1 f v",
        "XGROUP SETID s g 2-1 ENTRIESREAD 2", "XINFO GROUPS s", "XDEL s 5-1 9-1",
        "XINFO GROUPS s", "XINFO STREAM s", "XADD t 1-1 f v", "XDEL t 1-1",
        "XGROUP CREATE t g 0", "XINFO GROUPS t", "XADD t 2-1 f v",
        "XREADGROUP GROUP g c STREAMS t >", "XINFO GROUPS t",
        "XGROUP CREATE u g 0 MKSTREAM", "XINFO GROUPS u", "XSETID u 5-0 ENTRIESADDED 3",
        "XINFO GROUPS u", "XGROUP CREATE u h 9-0", "XINFO GROUPS u")


_TIME_FIELDS = (b"idle", b"seen-time")


def _masked(raw: bytes):
    """A parsed reply with times masked: the values following the map keys in
    _TIME_FIELDS, and the delivery times inside PEL entries. Redis 7.2's
    ``inactive`` field (which 7.0 lacks) is dropped; test_idle_times checks it."""
    def walk(node):
        kind, value = node
        if isinstance(value, tuple):
            if kind == b"%":
                return kind, tuple((walk(k), (b"T", b"") if k[1] in _TIME_FIELDS
                                    else walk(v)) for k, v in value
                                   if k[1] != b"inactive")
            items = list(value)
            if len(items) == 8 and items[6] == (b"$", b"inactive"):
                items = items[:6]   # RESP2 flat map of XINFO CONSUMERS
            out = []
            skip_next = False
            for i, item in enumerate(items):
                if skip_next:
                    out.append((b"T", b""))
                    skip_next = False
                    continue
                if item[0] == b"$" and item[1] in _TIME_FIELDS and i % 2 == 0:
                    skip_next = True
                out.append(walk(item))
            # PEL rows: [id, consumer, delivery time, count] / [id, delivery time, count]
            if len(out) in (3, 4) and out[0][0] == b"$" and re.match(
                    rb"\d+-\d+\Z", out[0][1] or b"") and out[-2][0] == b":" \
                    and out[-1][0] == b":":
                out[-2] = (b"T", b"")
            return kind, tuple(out)
        return node
    return walk(parse_raw(raw))


def _masked_check(differ, *commands):
    for protocol in (2, 3):
        want = differ.replies(differ.ports["redis"], commands, protocol)
        got = differ.replies(differ.ports["miniredis"], commands, protocol)
        for command, w, g in zip(commands, want, got):
            assert _masked(g) == _masked(w), (protocol, command, w, g)
        differ.check_lookups(commands, protocol)


def test_xinfo_full_and_consumers_masked(differ):
    adds = ["XADD s %d-1 f %d" % (i, i) for i in range(1, 16)]
    _masked_check(
        differ, *adds, "XGROUP CREATE s g 0", "XGROUP CREATE s h 0",
        "XREADGROUP GROUP g alice COUNT 3 STREAMS s >", "XREADGROUP GROUP g bob STREAMS s >",
        "XGROUP CREATECONSUMER s h idle", "XINFO STREAM s FULL", "XINFO STREAM s FULL COUNT 2",
        "XINFO STREAM s FULL COUNT 0", "XINFO STREAM s FULL COUNT -1", "XINFO STREAM s full",
        "XINFO CONSUMERS s g", "XINFO CONSUMERS s h", "XPENDING s g - + 3",
        "XPENDING s g IDLE 0 - + 3 bob")


def test_idle_times_with_frozen_clock(tmp_path):
    """Idle, inactive, delivery times and XPENDING IDLE filter against the clock (on a
    server of its own: advancing the clock leaves that server ahead of real time)."""
    from miniredis import Server
    with Server(port=0, dir=str(tmp_path)) as server:
        _idle_times_with_frozen_clock(server)


def _idle_times_with_frozen_clock(mini) -> None:
    clock = mini.state.clock
    conn = RawConnection(mini.port)
    clock.freeze()
    try:
        call = conn.call
        call("SELECT", "9")
        call("DEL", "s")
        for i in range(1, 4):
            call("XADD", "s", "%d-1" % i, "f", "v")
        call("XGROUP", "CREATE", "s", "g", "0")
        call("XGROUP", "CREATECONSUMER", "s", "g", "lazy")
        assert call("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">") \
            .startswith(b"*1")
        clock.advance(1.5)
        call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0")   # seen, not active
        clock.advance(0.25)
        info = parse_raw(call("XINFO", "CONSUMERS", "s", "g"))
        rows = {r[1][1][1]: dict(zip([k[1] for k in r[1][0::2]], [v[1] for v in r[1][1::2]]))
                for r in info[1]}
        assert rows[b"c"][b"idle"] == b"250" and rows[b"c"][b"inactive"] == b"1750"
        assert rows[b"c"][b"pending"] == b"2"
        assert rows[b"lazy"][b"inactive"] == b"-1" and rows[b"lazy"][b"idle"] == b"1750"
        pending = parse_raw(call("XPENDING", "s", "g", "-", "+", "10"))
        assert [row[1][2][1] for row in pending[1]] == [b"250", b"250"]
        assert [row[1][3][1] for row in pending[1]] == [b"2", b"2"]
        assert parse_raw(call("XPENDING", "s", "g", "IDLE", "251", "-", "+", "10"))[1] == ()
        assert len(parse_raw(call("XPENDING", "s", "g", "IDLE", "250", "-", "+", "10"))[1]) == 2
        claimed = call("XCLAIM", "s", "g", "other", "300", "1-1")
        assert claimed == b"*0\r\n"
        clock.advance(0.05)
        assert call("XCLAIM", "s", "g", "other", "300", "1-1", "JUSTID") == \
            b"*1\r\n$3\r\n1-1\r\n"
        assert call("XCLAIM", "s", "g", "other", "0", "2-1", "IDLE", "5000", "JUSTID") == \
            b"*1\r\n$3\r\n2-1\r\n"
        pending = parse_raw(call("XPENDING", "s", "g", "-", "+", "10"))
        assert [row[1][2][1] for row in pending[1]] == [b"0", b"5000"]
        now = clock.ms()
        call("XCLAIM", "s", "g", "other", "0", "2-1", "TIME", str(now - 42))
        full = call("XINFO", "STREAM", "s", "FULL")
        assert b":%d\r\n" % (now - 42) in full and b":%d\r\n" % now in full
        clock.advance(2)
        info = parse_raw(call("XINFO", "CONSUMERS", "s", "g"))
        rows = {r[1][1][1]: r[1][7][1] for r in info[1]}
        assert rows[b"other"] == b"2000" and rows[b"c"] == b"3800"
    finally:
        clock.unfreeze()
        conn.close()


def test_wrongtype_everywhere(differ):
    differ.check(
        "SET k v", "XADD k * f v", "XLEN k", "XRANGE k - +", "XREVRANGE k + -", "XDEL k 1",
        "XTRIM k MAXLEN 1", "XSETID k 1", "XREAD STREAMS k 0", "XREADGROUP GROUP g c STREAMS k >",
        "XGROUP CREATE k g $", "XGROUP DESTROY k g", "XACK k g 1", "XPENDING k g",
        "XCLAIM k g c 0 1", "XAUTOCLAIM k g c 0 0", "XINFO STREAM k", "XINFO GROUPS k",
        "XADD s 1 f v", "LPUSH s x", "GET s", "TYPE s")


def test_copy_and_rename_keep_groups(differ):
    differ.check(
        "XADD s 1-1 f v", "XADD s 2-1 f v", "XGROUP CREATE s g 0",
        "XREADGROUP GROUP g c COUNT 1 STREAMS s >", "COPY s t", "XACK t g 1-1",
        "XPENDING s g", "XPENDING t g", "XADD t 3-1 f v", "XLEN s", "XLEN t",
        "RENAME t u", "XINFO GROUPS u", "XREADGROUP GROUP g c STREAMS u >", "XINFO GROUPS s")


def test_registered():
    for name in STREAM_COMMANDS:
        parent, _, sub = name.partition("|")
        cmd = lookup(parent.encode())
        if sub:
            cmd = cmd.subcommands[sub.encode()]
        assert cmd.group == "stream", name


# -- blocking, with real concurrent connections ----------------------------------------------
from tests.test_lists import _compare, _conn, _wait_blocked  # noqa: E402


def test_xread_block_wakes_every_reader_oldest_first(differ):
    def scenario(port, protocol, admin):
        admin.call("XADD", "s", "1-1", "f", "old")
        readers = [_conn(port, protocol) for _ in range(3)]
        for i, conn in enumerate(readers):
            conn.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            _wait_blocked(admin, i + 1)
        replies = [admin.call("XADD", "s", "2-1", "f", "new")]
        replies += [conn.read_raw() for conn in readers]
        replies.append(admin.call("INFO", "clients").count(b"blocked_clients:0"))
        for conn in readers:
            conn.close()
        return replies
    _compare(differ, scenario)


def test_xreadgroup_block_serves_one_consumer_per_entry(differ):
    def scenario(port, protocol, admin):
        admin.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        workers = [_conn(port, protocol) for _ in range(3)]
        for i, conn in enumerate(workers):
            conn.send("XREADGROUP", "GROUP", "g", "w%d" % i, "BLOCK", "0", "STREAMS", "s", ">")
            _wait_blocked(admin, i + 1)
        replies = [admin.call("XADD", "s", "1-1", "job", "a"), workers[0].read_raw()]
        _wait_blocked(admin, 2)
        replies += [admin.call("XADD", "s", "2-1", "job", "b"), workers[1].read_raw(),
                    admin.call("XADD", "s", "3-1", "job", "c"), workers[2].read_raw(),
                    admin.call("XPENDING", "s", "g"), admin.call("XINFO", "GROUPS", "s")]
        for conn in workers:
            conn.close()
        return replies
    _compare(differ, scenario)


def test_block_on_several_streams_and_count(differ):
    def scenario(port, protocol, admin):
        admin.call("XADD", "a", "5-1", "f", "1")
        reader = _conn(port, protocol)
        reader.send("XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "a", "b", "$", "0")
        _wait_blocked(admin, 1)
        replies = [admin.call("XADD", "b", "1-1", "f", "2"), reader.read_raw()]
        reader.send("XREAD", "BLOCK", "0", "STREAMS", "b", "a", "1-1", "5-1")
        _wait_blocked(admin, 1)
        replies += [admin.call("XADD", "a", "6-1", "f", "3"), reader.read_raw()]
        # The ID given before blocking is kept: entries already past it are delivered.
        admin.call("XADD", "c", "1-1", "f", "x")
        reader.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "c", ">")
        replies.append(reader.read_raw())
        reader.close()
        return replies
    _compare(differ, scenario)


def test_block_timeout_and_pipelined_commands_wait(differ):
    def scenario(port, protocol, admin):
        admin.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        waiter = _conn(port, protocol)
        started = time.time()
        waiter.send_raw(b"*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$3\r\n150\r\n$7\r\nSTREAMS\r\n"
                        b"$1\r\ns\r\n$1\r\n$\r\n*2\r\n$4\r\nECHO\r\n$5\r\nafter\r\n")
        replies = [waiter.read_raw(), waiter.read_raw()]
        waiter.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">")
        replies.append(waiter.read_raw())
        replies.append(0.2 < time.time() - started < 1.5)
        replies.append(admin.call("XINFO", "CONSUMERS", "s", "g").count(b"name"))
        waiter.close()
        return replies
    _compare(differ, scenario)


@pytest.mark.parametrize("action", [
    ["DEL", "s"], ["SET", "s", "x"], ["FLUSHALL"], ["FLUSHDB"], ["RENAME", "s", "t"],
    ["EXPIRE", "s", "0"], ["SWAPDB", "9", "8"], ["XGROUP", "DESTROY", "s", "g"],
    ["XGROUP", "DELCONSUMER", "s", "g", "c"], ["XGROUP", "SETID", "s", "g", "0"],
    ["XTRIM", "s", "MAXLEN", "0"]])
def test_blocked_xreadgroup_when_stream_or_group_goes(differ, action):
    def scenario(port, protocol, admin):
        admin.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        group_reader = _conn(port, protocol)
        plain_reader = _conn(port, protocol)
        plain_id = plain_reader.call("CLIENT", "ID")[1:-2]
        group_id = group_reader.call("CLIENT", "ID")[1:-2]
        plain_reader.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        _wait_blocked(admin, 1)
        group_reader.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s",
                          ">")
        _wait_blocked(admin, 2)
        # Whoever is still blocked after the action is released by CLIENT UNBLOCK (1).
        replies = [admin.call(*action), admin.call("CLIENT", "UNBLOCK", group_id),
                   group_reader.read_raw(), admin.call("CLIENT", "UNBLOCK", plain_id),
                   plain_reader.read_raw()]
        group_reader.close()
        plain_reader.close()
        admin.call("SELECT", "8")
        admin.call("FLUSHDB")
        return replies
    _compare(differ, scenario)


def test_blocked_xread_survives_set_then_served_by_new_stream(differ):
    """XREAD stays blocked while the key is a string, and is served by the entry of
    a stream created again under the same name (stream-cgroups.tcl's "Blocking XREAD:
    key type changed with SET", with the reader surely blocked before the SET)."""
    def scenario(port, protocol, admin):
        admin.call("XADD", "s", "666", "f", "v")
        reader = _conn(port, protocol)
        reader.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        _wait_blocked(admin, 1)
        replies = [admin.call("SET", "s", "val1"), admin.call("INFO", "clients").count(
            b"blocked_clients:1"), admin.call("DEL", "s"),
            admin.call("XADD", "s", "667", "f", "v"), reader.read_raw()]
        reader.close()
        return replies
    _compare(differ, scenario)


@pytest.mark.parametrize("action", [["DEL", "s"], ["SET", "s", "val1"], ["FLUSHALL"]])
def test_blocked_xreadgroup_on_a_populated_stream_when_key_goes(differ, action):
    """stream-cgroups.tcl's "Blocking XREADGROUP: key deleted / key type changed with
    SET / flushed DB": the waiter gets the -UNBLOCKED error as soon as the key goes."""
    def scenario(port, protocol, admin):
        admin.call("XADD", "s", "666", "f", "v")
        admin.call("XGROUP", "CREATE", "s", "g", "$")
        reader = _conn(port, protocol)
        reader.send("XREADGROUP", "GROUP", "g", "Alice", "BLOCK", "0", "STREAMS", "s", ">")
        _wait_blocked(admin, 1)
        replies = [admin.call(*action), reader.read_raw(),
                   admin.call("INFO", "clients").count(b"blocked_clients:0")]
        reader.close()
        return replies
    _compare(differ, scenario)


def test_stream_expiring_while_xreadgroup_waits(differ):
    def scenario(port, protocol, admin):
        admin.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        waiter = _conn(port, protocol)
        waiter.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
        _wait_blocked(admin, 1)
        replies = [admin.call("PEXPIRE", "s", "50"), waiter.read_raw()]
        waiter.close()
        return replies
    _compare(differ, scenario)


def test_disconnected_waiter_is_forgotten_and_noack(differ):
    def scenario(port, protocol, admin):
        admin.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        gone = _conn(port, protocol)
        gone.send("XREADGROUP", "GROUP", "g", "gone", "BLOCK", "0", "STREAMS", "s", ">")
        _wait_blocked(admin, 1)
        stays = _conn(port, protocol)
        stays.send("XREADGROUP", "GROUP", "g", "stays", "NOACK", "BLOCK", "0",
                   "STREAMS", "s", ">")
        _wait_blocked(admin, 2)
        gone.close()
        _wait_blocked(admin, 1)
        replies = [admin.call("XADD", "s", "1-1", "f", "v"), stays.read_raw(),
                   admin.call("XPENDING", "s", "g"), admin.call("XINFO", "GROUPS", "s")]
        stays.close()
        return replies
    _compare(differ, scenario)


def test_client_unblock_xread(differ):
    def scenario(port, protocol, admin):
        waiter = _conn(port, protocol)
        client_id = int(waiter.call("CLIENT", "ID")[1:-2])
        waiter.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        _wait_blocked(admin, 1)
        replies = [admin.call("CLIENT", "UNBLOCK", str(client_id)), waiter.read_raw()]
        waiter.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        _wait_blocked(admin, 1)
        replies += [admin.call("CLIENT", "UNBLOCK", str(client_id), "ERROR"),
                    waiter.read_raw()]
        waiter.close()
        return replies
    _compare(differ, scenario)


@needs_multi
def test_blocking_stream_reads_inside_multi_and_count(differ):
    differ.check("XGROUP CREATE s g $ MKSTREAM", "MULTI", "XREAD BLOCK 0 STREAMS s $",
                 "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", "EXEC")

    def scenario(port, protocol, admin):
        reader = _conn(port, protocol)
        reader.send("XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "s", "$")
        _wait_blocked(admin, 1)
        replies = [admin.call("MULTI"), admin.call("XADD", "s", "1-1", "f", "1"),
                   admin.call("XADD", "s", "2-1", "f", "2"),
                   admin.call("XADD", "s", "3-1", "f", "3"), admin.call("EXEC"),
                   reader.read_raw()]
        reader.close()
        return replies
    _compare(differ, scenario)


def test_block_forever_is_woken_and_frozen_clock_timeout(tmp_path):
    """On a server of its own: advancing the clock leaves that server ahead of real
    time, which would skew the shared server's TTLs against redis-server later."""
    from miniredis import Server
    with Server(port=0, dir=str(tmp_path)) as server:
        _block_forever_is_woken_and_frozen_clock_timeout(server)


def _block_forever_is_woken_and_frozen_clock_timeout(mini) -> None:
    clock = mini.state.clock
    conn = _conn(mini.port)
    admin = _conn(mini.port)
    clock.freeze()
    try:
        conn.call("DEL", "frozen")
        conn.send("XREAD", "BLOCK", "5000", "STREAMS", "frozen", "$")
        time.sleep(0.3)
        conn.sock.settimeout(0.2)
        with pytest.raises(OSError):
            conn.sock.recv(10)
        clock.advance(6)
        conn.sock.settimeout(5)
        assert conn.read_raw() == b"*-1\r\n"
        conn.send("XREAD", "BLOCK", "0", "STREAMS", "frozen", "$")
        _wait_blocked(admin, 1)
        clock.advance(3600)
        admin.call("XADD", "frozen", "1-1", "f", "v")
        assert conn.read_raw() == (b"*1\r\n*2\r\n$6\r\nfrozen\r\n*1\r\n*2\r\n$3\r\n1-1\r\n"
                                   b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
    finally:
        clock.unfreeze()
        conn.close()
        admin.close()


def test_more_group_edges(differ):
    _masked_check(
        differ, "XADD s 1-1 f 1", "XADD s 2-1 f 2", "XADD s 3-1 f 3",
        "XGROUP CREATE s big 0 ENTRIESREAD 100", "XGROUP CREATE s g 0", "XINFO GROUPS s",
        "XCLAIM s g c 0 3-1 FORCE", "XCLAIM s g c 0 3-1 FORCE", "XPENDING s g - + 10",
        "XREADGROUP GROUP big c STREAMS s >", "XINFO GROUPS s",
        "XREADGROUP GROUP g c STREAMS s >", "XPENDING s g - + 10",
        "XREADGROUP GROUP g d STREAMS s 0", "XAUTOCLAIM s g d 0 0 COUNT 1",
        "XPENDING s g - + 10", "XGROUP SETID s g 0", "XREADGROUP GROUP g d COUNT 1 STREAMS s >",
        "XPENDING s g - + 10", "XINFO STREAM s FULL")


def test_keyspace_hits_and_misses(differ):
    def stats(port):
        conn = RawConnection(port)
        try:
            conn.call("SELECT", "9")
            conn.call("FLUSHALL")
            conn.call("XADD", "s", "1-1", "f", "v")
            conn.call("XGROUP", "CREATE", "s", "g", "0")
            conn.call("CONFIG", "RESETSTAT")
            for command in ("XLEN s", "XLEN m", "XRANGE s - +", "XREVRANGE m + -",
                            "XREAD STREAMS s m 0 0", "XREADGROUP GROUP g c STREAMS s >",
                            "XACK s g 1-1", "XACK m g 1-1", "XPENDING s g", "XPENDING m g",
                            "XCLAIM s g c 0 1-1", "XAUTOCLAIM s g c 0 0", "XINFO STREAM s",
                            "XINFO GROUPS m", "XADD s 2-1 f v", "XDEL s 2-1",
                            "XTRIM s MAXLEN 5", "XSETID s 5-0", "XGROUP CREATECONSUMER s g x"):
                conn.call(*command.split())
            info = conn.call("INFO", "stats").decode()
            return [line for line in info.split("\r\n") if line.startswith("keyspace_")]
        finally:
            conn.close()
    assert stats(differ.ports["miniredis"]) == stats(differ.ports["redis"])


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences(differ, seed):
    """Random command mixes over one small stream, two groups and three consumers."""
    rng = random.Random(seed)
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("CONFIG", "SET", "stream-node-max-entries", "4")
        conn.close()
    ms = 0
    ids = []
    commands = ["XGROUP CREATE s g 0 MKSTREAM", "XGROUP CREATE s h $"]

    def some_id():
        if ids and rng.random() < 0.8:
            return rng.choice(ids)
        return "%d-%d" % (rng.randrange(ms + 2), rng.randrange(3))

    for _ in range(250):
        roll = rng.random()
        group = rng.choice("gh")
        consumer = rng.choice(["a", "b", "c"])
        if roll < 0.3:
            ms += rng.choice([0, 1, 1, 2])
            new = "%d-%d" % (ms, rng.randrange(1, 4)) if rng.random() < 0.7 else "%d-*" % ms
            trim = rng.choice(["", "", "MAXLEN ~ 6", "MAXLEN 8", "MINID %d" % max(ms - 5, 0)])
            commands.append("XADD s %s %s f %d" % (trim, new, ms))
            if "*" not in new:
                ids.append(new)
        elif roll < 0.4:
            commands.append("XDEL s %s %s" % (some_id(), some_id()))
        elif roll < 0.45:
            commands.append(rng.choice(["XTRIM s MAXLEN ~ 5", "XTRIM s MAXLEN 7",
                                        "XTRIM s MINID ~ %d" % ms, "XTRIM s MINID %s" % some_id()]))
        elif roll < 0.6:
            start = rng.choice([">", ">", "0", some_id()])
            commands.append("XREADGROUP GROUP %s %s COUNT %d %sSTREAMS s %s" % (
                group, consumer, rng.randrange(4), rng.choice(["", "NOACK "]), start))
        elif roll < 0.67:
            commands.append("XACK s %s %s %s" % (group, some_id(), some_id()))
        elif roll < 0.72:
            commands.append("XCLAIM s %s %s 0 %s %s %s" % (
                group, consumer, some_id(), some_id(),
                rng.choice(["", "JUSTID", "FORCE", "RETRYCOUNT 3", "LASTID %s" % some_id()])))
        elif roll < 0.77:
            commands.append("XAUTOCLAIM s %s %s 0 %s COUNT %d%s" % (
                group, consumer, rng.choice(["0", some_id()]), rng.randrange(1, 4),
                rng.choice(["", " JUSTID"])))
        elif roll < 0.82:
            commands.append(rng.choice([
                "XGROUP SETID s %s %s" % (group, rng.choice(["0", "$", some_id()])),
                "XGROUP DELCONSUMER s %s %s" % (group, consumer),
                "XGROUP CREATECONSUMER s %s %s" % (group, consumer)]))
        else:
            commands.append(rng.choice([
                "XINFO STREAM s", "XINFO GROUPS s", "XPENDING s %s" % group,
                "XPENDING s %s - + 10 %s" % (group, consumer), "XRANGE s - +",
                "XREVRANGE s + - COUNT 3", "XINFO STREAM s FULL", "XINFO CONSUMERS s g",
                "XREAD STREAMS s %s" % some_id(), "XLEN s"]))
    commands += ["XINFO STREAM s FULL COUNT 0", "XINFO GROUPS s"]
    try:
        _masked_check(differ, *commands)
    finally:
        for port in differ.ports.values():
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", "stream-node-max-entries", "100")
            conn.close()
