"""INFO's ``lazyfreed_objects`` as Redis 7.0.15 counts it (src/lazyfree.c).

Redis frees a value in its background thread, and counts it, when the value's free
effort (quicklist nodes, hash-table or skiplist elements, stream radix-tree nodes plus
consumer groups and PELs; 1 for compact encodings) exceeds 64 and the deletion is
asynchronous: UNLINK always, DEL, expiry, eviction and overwrites per the
lazyfree-lazy-* options; FLUSHALL/FLUSHDB ASYNC count every key of the emptied
databases, SCRIPT FLUSH and FUNCTION FLUSH ASYNC their tables past 64 entries. Each
case runs on redis-server too, after CONFIG RESETSTAT, under RESP2 and RESP3: after
every command the replies and the counter's growth must be the same on both.
"""
from __future__ import annotations

import re
import time
from typing import Any, List, Sequence, Tuple

from tests.harness import (RawConnection, SameType, Unordered, canonical_unordered, connect,
                           encode_command, to_args)

_LAZYFREED = re.compile(rb"lazyfreed_objects:(\d+)")
_PENDING = re.compile(rb"lazyfree_pending_objects:(\d+)")

_OPTIONS = ("lazyfree-lazy-user-del", "lazyfree-lazy-server-del", "lazyfree-lazy-expire",
            "lazyfree-lazy-eviction", "lazyfree-lazy-user-flush")
# What each test may change, and its value afterwards (the servers are shared).
_RESTORE = [*(item for name in _OPTIONS for item in (name, "no")),
            "list-max-listpack-size", "-2", "stream-node-max-entries", "100",
            "maxmemory", "0", "maxmemory-policy", "noeviction"]


def _lazyfreed(conn: RawConnection) -> int:
    """lazyfreed_objects once Redis's background thread has freed what it was given
    (it decrements the pending count just before it increments this one)."""
    deadline = time.time() + 5
    while True:
        info = conn.call("INFO", "memory")
        if _PENDING.search(info).group(1) == b"0":
            info = conn.call("INFO", "memory")
            return int(_LAZYFREED.search(info).group(1))
        assert time.time() < deadline, "lazyfree never done"
        time.sleep(0.002)


def _trace(port: int, protocol: int, settings: Sequence[str],
           commands: Sequence[Any]) -> List[Tuple[Any, bytes, int]]:
    """(command, reply, lazyfreed_objects growth) for each of ``commands`` on database
    9, after CONFIG SET ``settings`` and CONFIG RESETSTAT; a list of commands is sent
    as one pipeline (its replies joined). SameType and Unordered wrap random or
    unordered replies (SPOP, SUNION)."""
    conn = connect(port, protocol)
    admin = connect(port)
    try:
        conn.call("FLUSHALL", "SYNC")
        conn.call("SCRIPT", "FLUSH", "SYNC")
        conn.call("FUNCTION", "FLUSH", "SYNC")
        if settings:
            assert admin.call("CONFIG", "SET", *settings) == b"+OK\r\n"
        admin.call("CONFIG", "RESETSTAT")
        out = []
        for command in commands:
            before = _lazyfreed(admin)
            inner = command.command if isinstance(command, (SameType, Unordered)) \
                else command
            if inner and isinstance(inner[0], list):
                conn.send_raw(b"".join(encode_command(to_args(c)) for c in inner))
                raw: Any = b"".join(conn.read_raw() for _ in inner)
            else:
                raw = conn.call(*to_args(inner))
            if isinstance(command, SameType):
                raw = raw[:1]
            elif isinstance(command, Unordered):
                raw = canonical_unordered(raw)
            out.append((inner, raw, _lazyfreed(admin) - before))
        return out
    finally:
        admin.call("CONFIG", "SET", *_RESTORE)
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        admin.call("FLUSHALL", "SYNC")
        admin.close()
        conn.close()


def _compare(differ, commands: Sequence[Any], settings: Sequence[str] = ()) -> int:
    """Both servers grow lazyfreed_objects alike; returns the total growth."""
    for protocol in (2, 3):
        expected = _trace(differ.ports["redis"], protocol, settings, commands)
        actual = _trace(differ.ports["miniredis"], protocol, settings, commands)
        for want, got in zip(expected, actual):
            assert got == want, "RESP%d\nredis:     %r\nminiredis: %r" % (
                protocol, want, got)
    return sum(grown for _, _, grown in expected)


def _members(count: int, prefix: str = "m") -> List[str]:
    return ["%s%d" % (prefix, i) for i in range(count)]


def _pairs(count: int, prefix: str = "f") -> List[str]:
    return [item for i in range(count) for item in ("%s%d" % (prefix, i), "v")]


def _fill(key: str, kind: str, count: int) -> List[Any]:
    """Commands making ``key`` a value of ``count`` elements of ``kind``."""
    long = "x" * 100        # past every *-max-listpack-value: a hash table / skiplist
    if kind == "hashtable-set":
        return [["SADD", key, *_members(count)]]
    if kind == "intset":
        return [["SADD", key, *map(str, range(count))]]
    if kind == "listpack-hash":
        return [["HSET", key, *_pairs(count)]]
    if kind == "hashtable-hash":
        return [["HSET", key, long, "v", *_pairs(count - 1)]]
    if kind == "listpack-zset":
        return [["ZADD", key, *(x for i in range(count) for x in (str(i), "m%d" % i))]]
    if kind == "skiplist-zset":
        return [["ZADD", key, "0", long,
                 *(x for i in range(count - 1) for x in (str(i), "m%d" % i))]]
    if kind == "list":
        return [["RPUSH", key, *_members(count)]]
    raise AssertionError(kind)


# -- UNLINK: every type and encoding, small and big, and the threshold ------------------
def test_unlink_strings_and_compact_encodings_are_freed_at_once(differ):
    commands: List[Any] = [["SET", "s", "1"], ["UNLINK", "s"],
                           ["SET", "s", "x" * 10000], ["UNLINK", "s"],
                           ["SETBIT", "s", "100000", "1"], ["UNLINK", "s"],
                           ["PFADD", "h", *_members(1000)], ["UNLINK", "h"]]
    for kind in ("intset", "listpack-hash", "listpack-zset"):
        commands += _fill("k", kind, 120) + [["OBJECT", "ENCODING", "k"], ["UNLINK", "k"]]
    commands += [["RPUSH", "l", *_members(100)], ["UNLINK", "l"]]
    commands += _fill("k", "hashtable-set", 100) + [["UNLINK", "k"]]     # (a control)
    assert _compare(differ, commands) == 1


def test_unlink_counts_hash_tables_and_skiplists_past_64_elements(differ):
    commands: List[Any] = []
    for kind in ("hashtable-set", "hashtable-hash", "skiplist-zset"):
        for count in (1, 64, 65, 1000):
            commands += _fill("k", kind, count) + [["OBJECT", "ENCODING", "k"],
                                                   ["UNLINK", "k", "missing"]]
    assert _compare(differ, commands) == 6


def test_unlink_counts_hash_tables_shrunk_or_converted(differ):
    # A set or hash never converts back: its table is what counts, not its contents.
    commands = [["SADD", "s", *map(str, range(600))],        # past set-max-intset-entries
                ["SREM", "s", *map(str, range(500))], ["OBJECT", "ENCODING", "s"],
                ["UNLINK", "s"],
                ["SADD", "s", *map(str, range(600))],
                ["SREM", "s", *map(str, range(536))], ["UNLINK", "s"],
                ["HSET", "h", "x" * 100, "v", *_pairs(200)],
                ["HDEL", "h", "x" * 100, *("f%d" % i for i in range(135))],
                ["OBJECT", "ENCODING", "h"], ["UNLINK", "h"],
                ["ZADD", "z", *(x for i in range(200) for x in (str(i), "m%d" % i))],
                ["ZREMRANGEBYRANK", "z", "0", "134"], ["UNLINK", "z"],
                ["ZADD", "z", *(x for i in range(200) for x in (str(i), "m%d" % i))],
                ["ZREMRANGEBYRANK", "z", "0", "135"], ["UNLINK", "z"]]
    assert _compare(differ, commands) == 3


def test_unlink_counts_lists_by_quicklist_nodes(differ):
    element = "e" * 1000    # 8 per 8 KB node at list-max-listpack-size -2
    commands = [["RPUSH", "l", *[element] * 512], ["UNLINK", "l"],      # 64 nodes
                ["RPUSH", "l", *[element] * 513], ["UNLINK", "l"],      # 65 nodes
                ["LPUSH", "l", *[element] * 512], ["UNLINK", "l"],
                ["LPUSH", "l", *[element] * 513], ["UNLINK", "l"],
                ["RPUSH", "l", *_members(20000)], ["UNLINK", "l"],
                ["RPUSH", "l", *map(str, range(100000))], ["UNLINK", "l"],
                ["RPUSH", "l", *_members(30000, "longer-element-")], ["UNLINK", "l"]]
    assert _compare(differ, commands) == 3
    # 7 of 1019 bytes fill a node: an 8th would make 8195 bytes with quicklist's 8-byte
    # insertion estimate (8187 without it).
    element = "e" * 1019
    commands = [["RPUSH", "l", *[element] * 448], ["UNLINK", "l"],
                ["RPUSH", "l", *[element] * 449], ["UNLINK", "l"]]
    assert _compare(differ, commands) == 1


def test_unlink_list_nodes_of_integers(differ):
    # 13-digit integers are 10-byte listpack entries: 407 fill a 4 KB node.
    number = "1000000000000"
    commands = [["RPUSH", "l", *[number] * (407 * 64)], ["UNLINK", "l"],
                ["RPUSH", "l", *[number] * (407 * 64 + 1)], ["UNLINK", "l"],
                ["RPUSH", "l", *["x" * 13] * (407 * 64)], ["UNLINK", "l"]]
    assert _compare(differ, commands, ["list-max-listpack-size", "-1"]) == 2


def test_unlink_list_threshold_with_a_count_fill(differ):
    commands = [["RPUSH", "l", *_members(64)], ["UNLINK", "l"],
                ["RPUSH", "l", *_members(65)], ["UNLINK", "l"],
                ["RPUSH", "l", *_members(1000)], ["UNLINK", "l"]]
    assert _compare(differ, commands, ["list-max-listpack-size", "1"]) == 2
    commands = [["RPUSH", "l", *_members(320)], ["UNLINK", "l"],
                ["RPUSH", "l", *_members(325)], ["UNLINK", "l"]]
    assert _compare(differ, commands, ["list-max-listpack-size", "5"]) == 1


# -- streams: radix-tree nodes, groups, PELs ----------------------------------------------
def _xadds(count: int, key: str = "st") -> List[Any]:
    return [["XADD", key, "1-%d" % i, "f", "v"] for i in range(1, count + 1)]


def test_unlink_stream_with_all_types_of_metadata(differ):
    # unit/lazyfree: 1000 entries in nodes of 5, a group, a consumer, a deleted entry,
    # an acknowledged one (explicit IDs, so that both servers reply alike).
    commands: List[Any] = [[["XADD", "stream", "1-%d" % (j + 1),
                             "foo" if j % 10 else "bar", str(j)] for j in range(1000)]]
    commands += [["XGROUP", "CREATE", "stream", "mygroup", "0"],
                 ["XREADGROUP", "GROUP", "mygroup", "Alice", "COUNT", "2",
                  "STREAMS", "stream", ">"],
                 ["XDEL", "stream", "1-2"], ["XACK", "stream", "mygroup", "1-1"],
                 ["UNLINK", "stream"]]
    assert _compare(differ, commands, ["stream-node-max-entries", "5"]) == 1


def test_unlink_stream_with_deleted_cgroup(differ):
    # unit/lazyfree: a group created then destroyed leaves an empty group tree.
    commands = [["XADD", "s", "1-1", "a", "b"], ["XGROUP", "CREATE", "s", "bla", "$"],
                ["XGROUP", "DESTROY", "s", "bla"], ["UNLINK", "s"],
                # (a control: the same with the group kept and 100 entries pending)
                ["XADD", "s", "1-1", "a", "b"], ["XGROUP", "CREATE", "s", "bla", "0"],
                *_xadds(100, "s")[1:],
                ["XREADGROUP", "GROUP", "bla", "c", "STREAMS", "s", ">"], ["UNLINK", "s"]]
    assert _compare(differ, commands) == 1


def test_unlink_stream_threshold_in_tree_nodes(differ):
    # Nodes of one entry with IDs 1-1..1-n: the root, one branching node, n leaves.
    commands = _xadds(62) + [["XINFO", "STREAM", "st"], ["UNLINK", "st"]] + \
        _xadds(63) + [["UNLINK", "st"]] + _xadds(200) + [["UNLINK", "st"]] + \
        _xadds(100) + [["XTRIM", "st", "MAXLEN", "62"], ["UNLINK", "st"]]
    assert _compare(differ, commands, ["stream-node-max-entries", "1"]) == 2


def test_unlink_stream_threshold_in_groups_and_pels(differ):
    # One node (2 tree nodes) plus groups x (1 + the PEL of the first group by name).
    def case(pel: int, groups: Sequence[str] = ("g",), reads: str = "g") -> List[Any]:
        return _xadds(100) + \
            [["XGROUP", "CREATE", "st", name, "0"] for name in groups] + \
            [["XREADGROUP", "GROUP", reads, "c", "COUNT", str(pel), "STREAMS", "st", ">"],
             ["UNLINK", "st"]]
    commands = case(61) + case(62) + case(19, ("g", "h", "i")) + \
        case(20, ("g", "h", "i")) + case(100, ("b", "a"), reads="b") + \
        case(100, ("a", "b"), reads="a") + case(0, ())
    assert _compare(differ, commands) == 3


# -- DEL and lazyfree-lazy-user-del ---------------------------------------------------------
def test_del_frees_lazily_only_with_lazyfree_lazy_user_del(differ):
    commands = _fill("k", "hashtable-set", 100) + [["DEL", "k"]] + \
        _fill("k", "hashtable-set", 100) + [["GETDEL", "k"], ["DEL", "k"]]
    assert _compare(differ, commands) == 0
    commands = _fill("k", "hashtable-set", 100) + [["DEL", "k"]] + \
        _fill("k", "hashtable-set", 10) + [["DEL", "k"]] + \
        _fill("k", "list", 100) + [["DEL", "k"]] + \
        [["SET", "k", "v"], ["GETDEL", "k"]]
    assert _compare(differ, commands, ["lazyfree-lazy-user-del", "yes"]) == 1


# -- FLUSHALL / FLUSHDB -------------------------------------------------------------------
def _keys_in_two_dbs() -> List[Any]:
    return [["MSET", "a", "1", "b", "2", "c", "3"], _fill("big", "hashtable-set", 100)[0],
            ["SELECT", "8"], ["MSET", "x", "1", "y", "2"], ["SELECT", "9"]]


def test_flush_async_counts_every_key(differ):
    commands = _keys_in_two_dbs() + [["FLUSHDB", "ASYNC"], ["FLUSHDB", "ASYNC"],
                                      ["FLUSHALL", "ASYNC"]] + \
        _keys_in_two_dbs() + [["FLUSHALL", "SYNC"], ["FLUSHALL", "ASYNC"]] + \
        _keys_in_two_dbs() + [["FLUSHDB", "SYNC"], ["FLUSHDB"], ["FLUSHALL"],
                              ["FLUSHALL", "LAZY"], ["FLUSHDB", "ASYNC", "x"]]
    assert _compare(differ, commands) == 6


def test_flush_follows_lazyfree_lazy_user_flush(differ):
    commands = _keys_in_two_dbs() + [["FLUSHDB"], ["FLUSHALL"]] + \
        _keys_in_two_dbs() + [["FLUSHDB", "SYNC"], ["FLUSHALL", "SYNC"]] + \
        _keys_in_two_dbs() + [["FLUSHALL", "ASYNC"]]
    assert _compare(differ, commands, ["lazyfree-lazy-user-flush", "yes"]) == 12


def test_script_and_function_flush_async_count_big_tables(differ):
    def scripts(count: int) -> List[Any]:
        return [[["SCRIPT", "LOAD", "return %d" % i] for i in range(count)]]

    def library(count: int) -> List[Any]:
        body = "#!lua name=lib\n" + "".join(
            "redis.register_function('f%d', function() return 1 end)\n" % i
            for i in range(count))
        return [["FUNCTION", "LOAD", "REPLACE", body]]
    commands = scripts(64) + [["SCRIPT", "FLUSH", "ASYNC"]] + \
        scripts(65) + [["SCRIPT", "FLUSH", "SYNC"]] + \
        scripts(65) + [["SCRIPT", "FLUSH", "ASYNC"]] + \
        library(64) + [["FUNCTION", "FLUSH", "ASYNC"]] + \
        library(65) + [["FUNCTION", "FLUSH"]] + \
        library(66) + [["FUNCTION", "FLUSH", "ASYNC"]]
    assert _compare(differ, commands) == 65 + 66
    commands = scripts(70) + [["SCRIPT", "FLUSH"]] + library(70) + [["FUNCTION", "FLUSH"]]
    assert _compare(differ, commands, ["lazyfree-lazy-user-flush", "yes"]) == 140


def _tracking_flush(port: int, keys: Sequence[str], flush: Sequence[str]) -> int:
    """lazyfreed_objects growth of ``flush`` after a tracking client read ``keys``."""
    admin = connect(port)
    tracker = connect(port, 3)
    try:
        admin.call("FLUSHALL", "SYNC")      # (also empties the tracking table)
        assert tracker.call("CLIENT", "TRACKING", "ON") == b"+OK\r\n"
        tracker.call("MGET", *keys)
        tracker.call("GET", "other")
        before = _lazyfreed(admin)
        assert admin.call(*flush) == b"+OK\r\n"
        return _lazyfreed(admin) - before
    finally:
        tracker.close()
        admin.call("FLUSHALL", "SYNC")
        admin.close()


def test_async_flush_counts_a_big_tracking_table(differ):
    # The client-side caching table is a radix tree of the tracked keys: freed in the
    # background, counting its keys, past 64 nodes.
    # ("k0".."k60" and "other": the root, "k", its 10 children, 51 keys below them,
    # "other" and its chain head: 65 nodes; one key fewer: 64.)
    cases = [(_members(n, prefix), flush)
             for n, prefix in ((15, "k"), (16, "k"), (60, "k"), (61, "k"), (59, "key:"),
                               (60, "key:"), (100, "user:1000:")) for flush in
             (["FLUSHALL", "ASYNC"], ["FLUSHDB", "ASYNC"], ["FLUSHALL", "SYNC"])]
    cases.append(([str(i) for i in range(200)], ["FLUSHDB", "ASYNC"]))
    results = [[_tracking_flush(port, keys, flush) for keys, flush in cases]
               for port in (differ.ports["redis"], differ.ports["miniredis"])]
    assert results[1] == results[0]
    assert sum(results[0]) > 100


# -- overwrites and lazyfree-lazy-server-del ----------------------------------------------
def _overwrites() -> List[Any]:
    """Each case: a fresh big set at ``big`` (DEL frees it at once), then commands."""
    def case(*commands: Any) -> List[Any]:
        return [["DEL", "big"], _fill("big", "hashtable-set", 100)[0], *commands]
    return [
        *case(["SET", "big", "v"]),
        *case(["SET", "big", "v", "GET"]), *case(["GETSET", "big", "v"]),  # (WRONGTYPE)
        *case(["MSET", "big", "v", "other", "w"]),
        *case(["SET", "src", "v"], ["RENAME", "src", "big"]),    # the target is freed
        *case(["RENAME", "big", "dst"], ["DEL", "dst"]),          # the source is not
        *case(["MOVE", "big", "3"], ["SELECT", "3"], ["DEL", "big"], ["SELECT", "9"]),
        *case(["SET", "src", "v"], ["COPY", "src", "big", "REPLACE"]),
        _fill("a", "hashtable-set", 50)[0], _fill("b", "hashtable-set", 100)[0],
        *case(["SUNIONSTORE", "big", "a", "b"], ["SINTERSTORE", "big", "a", "missing"],
              ["SDIFFSTORE", "big", "b", "a"], ["SDIFFSTORE", "big", "a", "b"],
              ["SCARD", "big"]),
        Unordered(["SUNION", "a"]), Unordered(["SUNION", "a", "b"]),
        Unordered(["SINTER", "a", "b"]), Unordered(["SDIFF", "b", "a"]),
        Unordered(["SDIFF", "b", "big"]),
        *case(["SORT", "a", "ALPHA", "STORE", "big"], ["SORT", "missing", "STORE", "big"]),
        *case(Unordered(["SPOP", "big", "100"])),  # SUNION's result freed, the set deleted
        *case(SameType(["SPOP", "big", "30"]), SameType(["SPOP", "big", "55"])),  # kept
        *case(SameType(["SPOP", "big", "90"])),                   # rebuilt: old set freed
        *case(["ZUNIONSTORE", "big", "1", "missing"]),
        *case(["GEOADD", "g", "0", "0", "p"],
              ["GEORADIUS", "g", "0", "0", "1", "km", "STORE", "big"]),
        *case(["BITOP", "NOT", "big", "missing"]),
        *case(["EXPIRE", "big", "0"]), ["LPUSH", "ll", "a"], ["LPOP", "ll"],
        *case(["SREM", "big", *_members(100)]),                   # emptied: effort 0
    ]


def test_overwrites_follow_lazyfree_lazy_server_del(differ):
    assert _compare(differ, _overwrites()) == 0
    assert _compare(differ, _overwrites(), ["lazyfree-lazy-server-del", "yes"]) == 15


def test_restore_replace_with_lazyfree_lazy_server_del(differ):
    payload = RawConnection(differ.ports["redis"])
    try:
        payload.call("SELECT", "9")
        payload.call("SET", "src", "v")
        reply = payload.call("DUMP", "src")
        payload.call("DEL", "src")
    finally:
        payload.close()
    dump = reply.split(b"\r\n", 1)[1][:-2]
    big = _fill("big", "hashtable-set", 100)[0]
    commands = [big, ["RESTORE", "big", "0", dump, "REPLACE"], ["DEL", "big"],
                big, ["RESTORE", "big", "1", dump, "REPLACE", "ABSTTL"],
                ["EXISTS", "big"]]
    assert _compare(differ, commands) == 0
    assert _compare(differ, commands, ["lazyfree-lazy-server-del", "yes"]) == 2


def test_pipelined_sets_over_big_values(differ):
    # A run of SETs takes SET's own loop in miniredis; it must not skip the count.
    big = [_fill(key, "hashtable-set", 100)[0] for key in ("a", "b", "c")]
    commands = big + [[["SET", "a", "1"], ["SET", "b", "2"], ["SET", "c", "3"],
                       ["SET", "d", "4"]]]
    assert _compare(differ, commands) == 0
    assert _compare(differ, commands, ["lazyfree-lazy-server-del", "yes"]) == 3


# -- expiry and eviction ------------------------------------------------------------------
def _expiring() -> List[Any]:
    # TTLs of 10 ms, not 1: Redis's PEXPIRE reads its clock twice (the deadline, then
    # whether it is past) and deletes the key at once when a millisecond ends between
    # the readings -- on a loaded machine often enough to fail a full run.
    return [["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            _fill("big", "hashtable-set", 100)[0], ["PEXPIRE", "big", "10"],
            _fill("small", "hashtable-set", 10)[0], ["PEXPIRE", "small", "10"],
            ["DEBUG", "SLEEP", "0.05"], ["EXISTS", "big"], ["GET", "small"],
            _fill("big", "hashtable-set", 100)[0], ["EXPIRE", "big", "-1"],
            _fill("big", "hashtable-set", 100)[0], ["PEXPIREAT", "big", "1"],
            _fill("big", "list", 100)[0], ["PEXPIRE", "big", "10"],
            ["DEBUG", "SLEEP", "0.05"], ["DEL", "big"]]


def test_expiry_follows_lazyfree_lazy_expire(differ):
    assert _compare(differ, _expiring()) == 0
    assert _compare(differ, _expiring(), ["lazyfree-lazy-expire", "yes"]) == 3


def test_expired_keys_count_in_an_async_flush(differ):
    commands = [["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["SET", "a", "1", "PX", "1"],
                ["SET", "b", "1"], ["DEBUG", "SLEEP", "0.01"], ["DBSIZE"],
                ["FLUSHDB", "ASYNC"]]
    assert _compare(differ, commands) == 2


def _evicting() -> List[Any]:
    # Only volatile keys can go: the big set, then nothing more (an OOM error).
    # (CONFIG SET maxmemory may evict by itself: in the same step as the SET.)
    return [_fill("big", "hashtable-set", 100)[0], ["EXPIRE", "big", "1000"],
            ["SET", "keep", "v"],
            [["CONFIG", "SET", "maxmemory", "1"], ["SET", "x", "y"]],
            ["EXISTS", "big"], ["CONFIG", "SET", "maxmemory", "0"]]


def test_eviction_follows_lazyfree_lazy_eviction(differ):
    policy = ["maxmemory-policy", "volatile-lru"]
    assert _compare(differ, _evicting(), policy) == 0
    assert _compare(differ, _evicting(), policy + ["lazyfree-lazy-eviction", "yes"]) == 1


def test_resetstat_resets_lazyfreed_objects(differ):
    for port in differ.ports.values():
        conn = connect(port)
        try:
            conn.call("FLUSHALL", "SYNC")
            conn.call("SADD", "k", *_members(100))
            conn.call("UNLINK", "k")
            assert _lazyfreed(conn) >= 1
            assert conn.call("CONFIG", "RESETSTAT") == b"+OK\r\n"
            assert _lazyfreed(conn) == 0
            info = conn.call("INFO", "memory")
            assert b"lazyfree_pending_objects:0\r\n" in info
        finally:
            conn.close()


# -- a replica's flush before loading its master's data --------------------------------
def _replica_flush(replica: int, master: int, lazy: str) -> int:
    """lazyfreed_objects after ``replica``, holding 5 keys and 70 functions, fully
    synchronised with ``master`` (its data flushed first) under replica-lazy-flush."""
    from tests.test_replication_replica import call, link_up, wait_until
    conn = connect(replica)
    try:
        conn.call("MSET", "a", "1", "b", "2", "c", "3")
        conn.call("SADD", "big", *_members(100))
        conn.call("SELECT", "3")
        conn.call("SET", "d", "4")
        conn.call("FUNCTION", "LOAD", "#!lua name=lib\n" + "".join(
            "redis.register_function('f%d', function() return 1 end)\n" % i
            for i in range(70)))
        assert conn.call("CONFIG", "SET", "replica-lazy-flush", lazy) == b"+OK\r\n"
        conn.call("CONFIG", "RESETSTAT")
        call(replica, "REPLICAOF", "127.0.0.1", master)
        wait_until(lambda: link_up(replica), 20, "the replica's link")
        return _lazyfreed(conn)
    finally:
        conn.close()


def test_replica_full_sync_follows_replica_lazy_flush(tmp_path):
    from miniredis import Server
    from tests.harness import RedisProcess, redis_server_or_skip
    exe = redis_server_or_skip()
    master = RedisProcess(exe, ["--repl-diskless-sync-delay", "0"])
    servers: List[Any] = []
    try:
        master_conn = connect(master.port)
        master_conn.call("SET", "m", "1")
        master_conn.close()
        results = []
        for lazy in ("no", "yes"):
            real = RedisProcess(exe)
            mini = Server(port=0, dir=str(tmp_path))
            mini.start()
            servers += [real, mini]
            results.append((_replica_flush(real.port, master.port, lazy),
                            _replica_flush(mini.port, master.port, lazy)))
        assert results == [(0, 0), (75, 75)]       # 5 keys, 70 functions
    finally:
        for server in servers:
            server.stop()
        master.stop()


# -- long lists: decided between requests ------------------------------------------------
def test_a_long_list_is_walked_after_the_reply():
    """A list only a walk over its elements can size (here 250,000 one-byte elements:
    65 nodes of 8 KB) is not walked before UNLINK replies: it is pending (INFO
    lazyfree_pending_objects) until the server has walked it between requests, then
    counted, as Redis's background thread frees it after the reply."""
    from miniredis import Server
    with Server(port=0) as server:
        conn = connect(server.port)
        try:
            for _ in range(25):
                conn.call("RPUSH", "l", *["x"] * 10000)
            conn.call("CONFIG", "RESETSTAT")
            replies = [encode_command(["UNLINK", "l"]), encode_command(["INFO", "memory"])]
            conn.send_raw(b"".join(replies))
            assert conn.read_raw() == b":1\r\n"
            info = conn.read_raw()
            assert b"lazyfree_pending_objects:1\r\n" in info
            assert b"lazyfreed_objects:0\r\n" in info
            assert _lazyfreed(conn) == 1
            assert conn.call("RPUSH", "short", *["x"] * 100) == b":100\r\n"
            assert conn.call("UNLINK", "short") == b":1\r\n"
            assert _lazyfreed(conn) == 1      # 100 one-byte elements: one node
        finally:
            conn.close()
