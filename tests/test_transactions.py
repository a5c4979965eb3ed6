"""MULTI/EXEC/DISCARD/WATCH/UNWATCH, compared raw with a real redis-server."""
from __future__ import annotations

import time

import pytest

from tests.harness import compare_scenario, connect


def test_exec_runs_queued_commands(differ):
    differ.check("MULTI", "SET a 1", "INCR a", "GET a", "LPUSH l x y", "LRANGE l 0 -1",
                 "EXEC", "GET a")


def test_empty_transaction(differ):
    differ.check("MULTI", "EXEC", "MULTI", "DISCARD")


def test_runtime_errors_stay_in_place(differ):
    differ.check("SET s text", "MULTI", "SET a 1", "INCR s", "LPUSH s x", "SET b 2",
                 "EXEC", "MGET a b s")


def test_queue_errors_abort(differ):
    differ.check("MULTI", "SET a 1", "NOSUCHCOMMAND x", "SET b 2", "EXEC", "MGET a b")
    differ.check("MULTI", "SET a 1", "GET", "EXEC", "EXISTS a")
    differ.check("MULTI", "SET a 1", "CONFIG NOSUCH", "EXEC", "EXISTS a")
    differ.check("MULTI", "SHUTDOWN", "SET a 1", "EXEC", "EXISTS a")


def test_misplaced_commands(differ):
    differ.check("EXEC", "DISCARD", "MULTI", "MULTI", "SET a 1", "EXEC", "GET a")
    differ.check("MULTI", "WATCH a", "SET a 1", "EXEC", "GET a")
    differ.check("MULTI", "UNWATCH", "PING", "EXEC")
    differ.check("MULTI extra", "EXEC extra", "DISCARD extra", "WATCH", "UNWATCH x")
    differ.check("MULTI", "SET a 1", "EXEC x", "EXEC", "GET a")


def test_refusals_in_errorstats(differ):
    differ.check("CONFIG RESETSTAT", "MULTI", "NOSUCH", "GET", "EXEC x", "EXEC",
                 "INFO errorstats")


def test_exec_before_auth():
    from miniredis import Server
    from tests.harness import RawConnection
    with Server(port=0, requirepass="pw") as server:
        conn = RawConnection(server.port)
        assert conn.call("EXEC") == (b"-EXECABORT Transaction discarded because of: "
                                     b"NOAUTH Authentication required.\r\n")
        assert conn.call("MULTI") == b"-NOAUTH Authentication required.\r\n"
        conn.close()


def test_discard(differ):
    differ.check("MULTI", "SET a 1", "DISCARD", "GET a", "EXEC")


def test_select_and_nested_types_inside_exec(differ):
    differ.check("MULTI", "SELECT 10", "SET a 1", "CONFIG GET maxmemory-policy",
                 "PING", "ECHO hi", "EXEC", "GET a", "SELECT 9", "GET a")


def test_reset_leaves_multi(differ):
    differ.check("MULTI", "SET a 1", "RESET", "EXEC", "GET a")


def test_pipelined_transaction(differ):
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        conn.send_raw(b"MULTI\r\nSET k v\r\nINCR n\r\nGET k\r\nEXEC\r\nGET n\r\n")
        replies = [conn.read_raw() for _ in range(6)]
        conn.close()
        return replies
    compare_scenario(differ, scenario)


def _watch_scenario(setup, interfere, watched=("k",), own=False):
    """WATCH keys, let another client (or the watcher itself) act, then MULTI/EXEC."""
    def scenario(port, protocol, admin):
        replies = [admin.call(*cmd.split()) for cmd in setup]
        watcher = connect(port, protocol)
        replies.append(watcher.call("WATCH", *watched))
        actor = watcher if own else admin
        for cmd in interfere:
            if cmd == "sleep":
                time.sleep(0.15)
            else:
                replies.append(actor.call(*cmd.split()))
        replies += [watcher.call("MULTI"), watcher.call("SET", "k", "mine"),
                    watcher.call("EXEC"), admin.call("GET", "k")]
        watcher.close()
        return replies
    return scenario


@pytest.mark.parametrize("setup,interfere", [
    ([], []),                                       # untouched: runs
    (["SET k 1"], ["GET k", "EXISTS k", "TTL k"]),  # reads do not count
    (["SET k 1"], ["SET k 1"]),                     # same value still counts
    ([], ["SET k 1"]),                              # created
    (["SET k 1"], ["DEL k"]),
    ([], ["DEL k"]),                                # deleting nothing is no change
    (["SET k 1"], ["EXPIRE k 100"]),
    (["SET k 1"], ["PERSIST k"]),                   # nothing to persist: no change
    (["SET k 1"], ["APPEND k x"]),
    (["SET k 1"], ["INCR k"]),
    (["RPUSH k a"], ["LPOP k"]),
    (["SET k 1"], ["RENAME k other"]),
    (["SET other 1"], ["RENAME other k"]),
    (["SET k 1"], ["MOVE k 10"]),
    (["SET k 1"], ["FLUSHDB"]),
    ([], ["FLUSHDB"]),                              # empty: nothing changed
    (["SET k 1"], ["FLUSHALL"]),
    (["SET k 1"], ["SWAPDB 9 10"]),
    (["SET k 1"], ["PEXPIRE k 50", "sleep", "GET k"]),  # expired and deleted
    (["SET k 1"], ["PEXPIRE k 50", "sleep"]),       # expired, not yet reclaimed
    (["SET k 1"], ["SELECT 10", "SET k 2"]),        # another database's k
])
def test_watch_by_other_client(differ, setup, interfere):
    compare_scenario(differ, _watch_scenario(setup, interfere))


@pytest.mark.parametrize("k_in_0,k_in_9,interfere", [
    ("expired", None, "FLUSHDB"),        # an expired key deleted: no logical change
    ("expired", None, "FLUSHALL"),
    ("live", None, "FLUSHDB"),
    ("expired", None, "SWAPDB 0 9"),     # replaced by nothing
    ("expired", "expired", "SWAPDB 0 9"),    # by an expired key: still expired
    ("expired", "live", "SWAPDB 0 9"),
    (None, "expired", "SWAPDB 0 9"),     # nothing replaced by an expired key
    (None, "live", "SWAPDB 0 9"),
    ("live", None, "SWAPDB 9 0"),
    ("live", "expired", "SWAPDB 0 9"),
])
def test_watch_of_flushed_and_swapped_databases(differ, k_in_0, k_in_9, interfere):
    """FLUSHDB/FLUSHALL/SWAPDB touch watched keys as touchAllWatchedKeysInDb does: a
    key expired when watched that is then absent or expired again is unchanged (Redis's
    multi suite: "FLUSHDB while watching stale keys should not fail EXEC")."""
    def put(admin, db, state):
        if state is not None:
            admin.call("SELECT", db)
            admin.call("SET", "k", db, *(("PX", "1") if state == "expired" else ()))
    def scenario(port, protocol, admin):
        admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        try:
            put(admin, "9", k_in_9)
            put(admin, "0", k_in_0)
            admin.call("SELECT", "0")
            time.sleep(0.01)
            watcher = connect(port, protocol)
            replies = [watcher.call("WATCH", "k"), admin.call(*interfere.split()),
                       watcher.call("MULTI"), watcher.call("PING"), watcher.call("EXEC")]
            watcher.close()
            return replies
        finally:
            admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            admin.call("FLUSHALL")
    compare_scenario(differ, scenario)


@pytest.mark.parametrize("interfere", [["SET k 2"], ["UNWATCH", "SET k 2"], ["GET k"]])
def test_watch_own_changes(differ, interfere):
    compare_scenario(differ, _watch_scenario(["SET k 1"], interfere, own=True))


def test_watch_several_keys_and_unwatch(differ):
    compare_scenario(differ, _watch_scenario(["SET a 1"], ["SET b 2"], watched=("a", "b")))
    compare_scenario(differ, _watch_scenario(["SET a 1"], ["SET c 2"], watched=("a", "b")))


def test_discard_and_exec_unwatch(differ):
    def scenario(port, protocol, admin):
        watcher = connect(port, protocol)
        replies = [watcher.call("WATCH", "k"), watcher.call("MULTI"),
                   watcher.call("DISCARD"), admin.call("SET", "k", "1"),
                   watcher.call("MULTI"), watcher.call("SET", "k", "2"),
                   watcher.call("EXEC")]
        replies += [watcher.call("WATCH", "k"), watcher.call("MULTI"), watcher.call("EXEC"),
                    admin.call("SET", "k", "3"), watcher.call("MULTI"),
                    watcher.call("GET", "k"), watcher.call("EXEC")]
        watcher.close()
        return replies
    compare_scenario(differ, scenario)


def test_watch_key_expired_before_watch(differ):
    """A key already expired (not yet reclaimed) when watched: its deletion is no change."""
    def scenario(port, protocol, admin):
        replies = [admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
                   admin.call("SET", "k", "1", "PX", "20")]
        time.sleep(0.08)
        watcher = connect(port, protocol)
        replies += [watcher.call("WATCH", "k"), admin.call("GET", "k"),
                    watcher.call("MULTI"), watcher.call("SET", "k", "2"),
                    watcher.call("EXEC"), admin.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")]
        watcher.close()
        return replies
    compare_scenario(differ, scenario)


def test_disconnected_watcher_is_forgotten(mini):
    import redis
    client = redis.Redis(port=mini.port)
    watcher = connect(mini.port)
    watcher.call("WATCH", "forgotten")
    state = mini.state
    watcher.close()
    deadline = time.time() + 2
    while time.time() < deadline and state.watches.by_key:
        time.sleep(0.01)
    assert not state.watches.by_key
    assert state.on_key_modified is None
    client.set("forgotten", 1)
    client.close()


def test_redis_py_pipelines_and_optimistic_locking(mini):
    import redis
    client = redis.Redis(port=mini.port, db=3)
    client.flushdb()
    with client.pipeline() as pipe:
        pipe.set("x", 1).incr("x").get("x")
        assert pipe.execute() == [True, 2, b"2"]
    with client.pipeline() as pipe:
        pipe.set("y", "text").incr("y").set("z", 1)
        with pytest.raises(redis.ResponseError):
            pipe.execute()
    assert client.get("z") == b"1"

    def increment(pipe):
        value = int(pipe.get("counter") or 0)
        pipe.multi()
        pipe.set("counter", value + 1)
    for _ in range(5):
        client.transaction(increment, "counter")
    assert client.get("counter") == b"5"

    other = redis.Redis(port=mini.port, db=3)
    with client.pipeline() as pipe:
        pipe.watch("counter")
        other.set("counter", 100)
        pipe.multi()
        pipe.set("counter", 0)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get("counter") == b"100"
    other.close()
    client.close()


def test_keys_do_not_expire_during_exec(differ):
    """EXEC judges TTLs at its start (Redis's call() caches the time for the outermost
    command): a 1 ms key is still there after DEBUG SLEEP in the same transaction and
    gone after it; a script inside judges at its own, later start."""
    differ.check("FLUSHALL", "MULTI", "SET k v PX 1", "DEBUG SLEEP 0.01", "EXISTS k",
                 "GET k", "PTTL k", "EXEC", "EXISTS k")
    differ.check("FLUSHALL", "MULTI", "SET k v PX 1", "DEBUG SLEEP 0.01", "EXISTS k",
                 "EVAL \"return redis.call('EXISTS', KEYS[1])\" 1 k", "EXISTS k",
                 "EXEC", "EXISTS k")


def test_client_list_flags_of_watching_subscribed_and_blocked_clients(differ):
    """CLIENT LIST's flags in Redis's order (P, x, b, t, d...): d once a watched key
    changed, until EXEC, DISCARD, UNWATCH or RESET; and, as Redis, a client made dirty
    watches nothing more (tot-mem drops, a later WATCH adds nothing)."""
    import re
    from tests.harness import parse_raw

    def scenario(port, protocol, admin):
        watcher, other = connect(port, protocol), connect(port, 3)
        watcher_id = int(parse_raw(watcher.call("CLIENT", "ID"))[1])
        other_id = int(parse_raw(other.call("CLIENT", "ID"))[1])

        def fields(client_id, memory=True):
            listing = parse_raw(admin.call("CLIENT", "LIST", "ID", str(client_id)))[1]
            return re.findall(rb"flags=\S+|multi=\S+|multi-mem=\S+" +
                              (rb"|tot-mem=\S+" if memory else b""), listing)
        seen = [watcher.call("WATCH", "k", "k2", "k3"), fields(watcher_id)]
        seen += [admin.call("SET", "k", "1"), fields(watcher_id),
                 watcher.call("WATCH", "k4", "k5"), fields(watcher_id)]
        seen += [watcher.call("UNWATCH"), fields(watcher_id)]
        seen += [watcher.call("WATCH", "k"), admin.call("DEL", "k"), admin.call("SET", "k", "2"),
                 watcher.call("MULTI"), fields(watcher_id), watcher.call("EXEC"),
                 fields(watcher_id)]
        seen += [watcher.call("WATCH", "k"), admin.call("FLUSHDB"), fields(watcher_id),
                 watcher.call("RESET"), fields(watcher_id)]
        # RESP3: subscribed, in MULTI, then blocked with tracking on
        seen += [other.call("CLIENT", "TRACKING", "ON", "BCAST"),
                 other.call("SUBSCRIBE", "ch"), other.call("WATCH", "w"),
                 admin.call("SET", "w", "1"), other.read_raw(),   # (the invalidation)
                 other.call("MULTI"), fields(other_id),
                 other.call("DISCARD"), fields(other_id)]
        other.send("BLPOP", "list", "0")
        time.sleep(0.1)
        # (not its tot-mem: by now either server's cron may have shrunk its reply
        # buffer, or not yet)
        seen += [fields(other_id, memory=False), admin.call("RPUSH", "list", "x"),
                 other.read_raw()]
        watcher.close()
        other.close()
        return seen
    compare_scenario(differ, scenario)
