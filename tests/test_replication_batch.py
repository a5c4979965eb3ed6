"""The replication stream is batched per event-loop iteration (replication/feed.py:
the offset moves at once, backlog and replica outputs once per iteration). These
tests pipeline writes with what must see them on the same connection, so the reads
and the replica changes happen while the writes are still pending: the backlog,
INFO and every replica must see exactly the unbatched stream."""
from __future__ import annotations

import os
import socket

import hiredis
import pytest
import redis

from tests.replutil import Master, RawReplica, wait_until


def _resp(*args: bytes) -> bytes:
    return hiredis.pack_command(tuple(args))


@pytest.fixture
def master():
    m = Master(diskless=False)
    yield m
    m.stop()


def _attached(master: Master) -> RawReplica:
    """A raw replica past its full sync, with the stream on database 0 already."""
    raw = RawReplica(master.port)
    assert raw.psync().startswith(b"+FULLRESYNC")
    wait_until(lambda: master.info()["connected_slaves"] == 1)
    master.r.set("warm", "1")
    assert raw.commands(2) == [[b"SELECT", b"0"], [b"SET", b"warm", b"1"]]
    return raw


def _pipeline(port: int, payload: bytes, expect: bytes) -> tuple:
    """Send ``payload`` in one write and read until ``expect`` (the replies' start);
    returns the socket and what was read."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(payload)
    got = b""
    while not got.startswith(expect):
        assert len(got) < len(expect) or got[:len(expect)] == expect, got
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    return sock, got


def _replies(port: int, payload: bytes, count: int) -> list:
    """Send ``payload`` in one write; the first ``count`` replies."""
    reader = hiredis.Reader()
    replies: list = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        while len(replies) < count:
            chunk = sock.recv(65536)
            assert chunk, replies
            reader.feed(chunk)
            reply = reader.gets()
            while reply is not False:
                replies.append(reply)
                reply = reader.gets()
    return replies


def test_psync_inside_a_batch_continues_mid_batch(master):
    """PSYNC asking for the offset between two SETs of the same loop iteration: the
    backlog already holds the first (+CONTINUE, not a full resync) and the new replica
    gets the second exactly once."""
    raw = _attached(master)
    try:
        replid = master.info()["master_replid"]
        offset = master.info()["master_repl_offset"]
        first, second = _resp(b"SET", b"k1", b"v1"), _resp(b"SET", b"k2", b"v2")
        start = offset + len(first) + 1
        # CLIENT REPLY OFF: PSYNC is refused with replies pending (as Redis does).
        payload = _resp(b"CLIENT", b"REPLY", b"OFF") + first + second + \
            _resp(b"PSYNC", replid.encode(), b"%d" % start)
        sock, got = _pipeline(master.port, payload, b"+CONTINUE\r\n")
        try:
            master.r.set("k3", "v3")
            third = _resp(b"SET", b"k3", b"v3")
            want = second + third
            while len(got) < len(b"+CONTINUE\r\n") + len(want):
                chunk = sock.recv(65536)
                assert chunk, got
                got += chunk
            assert got == b"+CONTINUE\r\n" + want
            assert raw.raw(len(first + second + third)) == first + second + third
            assert master.info()["master_repl_offset"] == offset + len(
                first + second + third)
            assert master.info("stats")["sync_partial_ok"] == 1
        finally:
            sock.close()
    finally:
        raw.close()


def test_full_sync_inside_a_batch_skips_what_the_snapshot_holds(master):
    """PSYNC ? -1 after two SETs of the same loop iteration: its RDB has them, so its
    stream must not (+FULLRESYNC's offset is after them)."""
    raw = _attached(master)
    try:
        offset = master.info()["master_repl_offset"]
        first, second = _resp(b"SET", b"a", b"1"), _resp(b"SET", b"b", b"2")
        newcomer = RawReplica(master.port)
        newcomer.sock.sendall(_resp(b"CLIENT", b"REPLY", b"OFF") + first + second +
                              _resp(b"PSYNC", b"?", b"-1"))
        reply = newcomer._line_skipping_newlines()
        assert reply.startswith(b"+FULLRESYNC")
        assert int(reply.split()[2]) == offset + len(first + second)
        newcomer.read_rdb()
        try:
            assert b"a" in newcomer.rdb and b"b" in newcomer.rdb
            wait_until(lambda: master.info()["connected_slaves"] == 2)
            wait_until(lambda: master.info()["slave1"]["state"] == "online")
            master.r.set("c", "3")
            assert newcomer.commands(2) == [[b"SELECT", b"0"], [b"SET", b"c", b"3"]]
            assert raw.raw(len(first + second)) == first + second
            # a new full sync re-selects for everyone (Redis's slaveseldb = -1)
            assert raw.commands(2) == [[b"SELECT", b"0"], [b"SET", b"c", b"3"]]
        finally:
            newcomer.close()
    finally:
        raw.close()


def test_info_inside_a_batch_sees_every_byte(master):
    """INFO (and the backlog it reports) right after writes of the same iteration."""
    raw = _attached(master)
    try:
        before = master.info()
        writes = [_resp(b"SET", b"k%d" % i, b"v" * i) for i in range(50)]
        replies = _replies(master.port, b"".join(writes) + _resp(b"INFO", b"replication"),
                           51)
        assert replies[:50] == [b"OK"] * 50
        reply = replies[50]
        fields = dict(line.split(":", 1) for line in reply.decode().split("\r\n")
                      if ":" in line)
        grown = sum(map(len, writes))
        assert int(fields["master_repl_offset"]) == before["master_repl_offset"] + grown
        assert int(fields["repl_backlog_histlen"]) == \
            before["repl_backlog_histlen"] + grown
        assert int(fields["repl_backlog_first_byte_offset"]) + \
            int(fields["repl_backlog_histlen"]) - 1 == int(fields["master_repl_offset"])
        assert raw.raw(grown) == b"".join(writes)
    finally:
        raw.close()


def test_a_batch_larger_than_the_backlog_keeps_its_newest_bytes(master):
    """One iteration writing more than repl-backlog-size: the replica gets all of it
    in order; the backlog keeps what the replica has not read yet (Redis 7.0's shared
    replication buffer), then, once it has, exactly the newest bytes."""
    master.r.config_set("repl-backlog-size", "16384")
    raw = _attached(master)
    try:
        writes = [_resp(b"SET", b"key%d" % i, b"x" * 1000) for i in range(40)]
        stream = b"".join(writes)
        assert _replies(master.port, stream, 40) == [b"OK"] * 40
        assert raw.raw(len(stream)) == stream
        last = _resp(b"SET", b"last", b"1")      # (trimmed at the next write)
        assert _replies(master.port, last, 1) == [b"OK"]
        assert raw.raw(len(last)) == last
        stream += last
        info = master.info()
        assert info["repl_backlog_histlen"] == 16384
        assert info["repl_backlog_first_byte_offset"] + 16384 - 1 == \
            info["master_repl_offset"]
        backlog = master.state.repl_feed.backlog
        assert bytes(backlog.data) == stream[-16384:]
    finally:
        raw.close()


# -- the lane: plain writes wait unencoded until the settle (replication/feed.py) ------
def test_lane_keeps_the_order_of_databases_effects_and_transactions(master):
    """One pipeline mixing plain writes (the lane), rewritten effects (SET EX as PXAT),
    other databases and a transaction: the stream holds them in order, with the
    SELECTs Redis would emit, and the offset read in the middle is exact."""
    raw = _attached(master)
    try:
        before = master.info()["master_repl_offset"]
        payload = b"".join([
            _resp(b"SET", b"a", b"1"), _resp(b"SELECT", b"3"), _resp(b"SET", b"b", b"2"),
            _resp(b"SET", b"c", b"3", b"EX", b"100"), _resp(b"INCR", b"n"),
            _resp(b"INFO", b"replication"),
            _resp(b"MULTI"), _resp(b"SET", b"d", b"4"), _resp(b"LPUSH", b"l", b"x"),
            _resp(b"EXEC"), _resp(b"SELECT", b"0"), _resp(b"SET", b"e", b"5")])
        replies = _replies(master.port, payload, 12)
        got = raw.commands(11)
        pxat = got[3][4]
        assert got == [
            [b"SET", b"a", b"1"], [b"SELECT", b"3"], [b"SET", b"b", b"2"],
            [b"SET", b"c", b"3", b"PXAT", pxat], [b"INCR", b"n"],
            [b"MULTI"], [b"SET", b"d", b"4"], [b"LPUSH", b"l", b"x"], [b"EXEC"],
            [b"SELECT", b"0"], [b"SET", b"e", b"5"]]
        # The INFO came after the first five effects: its offset counts exactly them.
        fields = dict(line.split(":", 1) for line in replies[5].decode().split("\r\n")
                      if ":" in line)
        assert int(fields["master_repl_offset"]) == before + len(b"".join(
            _resp(*argv) for argv in got[:5]))
    finally:
        raw.close()


def test_wait_counts_a_write_still_in_the_lane(master):
    """WAIT right after a write of the same iteration waits for that write's offset:
    an acknowledgement of the earlier offset does not count."""
    raw = _attached(master)
    try:
        offset = master.info()["master_repl_offset"]
        raw.ack(offset)
        wait_until(lambda: master.info()["slave0"]["offset"] == offset)
        # (The first write of an iteration opens the lane; the second waits there.)
        first, second = _resp(b"SET", b"j", b"v"), _resp(b"SET", b"k", b"v")
        sock = socket.create_connection(("127.0.0.1", master.port), timeout=10)
        try:
            sock.sendall(first + second + _resp(b"WAIT", b"1", b"1000"))
            assert raw.commands(2) == [[b"SET", b"j", b"v"], [b"SET", b"k", b"v"]]
            raw.ack(offset + len(first))        # the first write only: not enough
            got = b""
            while got.count(b"\r\n") < 3:
                got += sock.recv(65536)
            assert got == b"+OK\r\n+OK\r\n:0\r\n"
        finally:
            sock.close()
        sock = socket.create_connection(("127.0.0.1", master.port), timeout=10)
        try:
            sock.sendall(_resp(b"SET", b"j2", b"v2") + _resp(b"SET", b"k2", b"v2") +
                         _resp(b"WAIT", b"1", b"5000"))
            seen = [argv for argv in raw.commands(4) if argv[:2] != [b"REPLCONF", b"GETACK"]]
            assert seen == [[b"SET", b"j2", b"v2"], [b"SET", b"k2", b"v2"]]
            raw.ack(master.info()["master_repl_offset"])
            reader = hiredis.Reader()
            replies: list = []
            while len(replies) < 3:
                reader.feed(sock.recv(65536))
                reply = reader.gets()
                while reply is not False:
                    replies.append(reply)
                    reply = reader.gets()
            assert replies == [b"OK", b"OK", 1]
        finally:
            sock.close()
    finally:
        raw.close()


def test_appendonly_turned_on_mid_pipeline_keeps_the_stream_in_order(master):
    """CONFIG SET appendonly yes between plain writes of one pipeline closes the lane
    (the AOF wants the effects from then on): the replica gets every write in order,
    and the AOF (its base and increment) holds the ones after it."""
    raw = _attached(master)
    try:
        payload = _resp(b"SET", b"w", b"0") + _resp(b"SET", b"x", b"1") + \
            _resp(b"CONFIG", b"SET", b"appendonly", b"yes") + _resp(b"SET", b"y", b"2")
        assert _replies(master.port, payload, 4) == [b"OK"] * 4
        assert raw.commands(3) == [[b"SET", b"w", b"0"], [b"SET", b"x", b"1"],
                                   [b"SET", b"y", b"2"]]
        wait_until(lambda: master.info("persistence")["aof_rewrite_in_progress"] == 0)
        master.r.set("z", "3")
        assert raw.commands(1) == [[b"SET", b"z", b"3"]]
        folder = os.path.join(master.dir, "appendonlydir")
        logged = b"".join(open(os.path.join(folder, name), "rb").read()
                          for name in os.listdir(folder) if ".incr." in name)
        assert _resp(b"SET", b"z", b"3") in logged
        assert _resp(b"SET", b"y", b"2") in logged or master.info(
            "persistence")["aof_base_size"] > 0 and b"y" in b"".join(
            open(os.path.join(folder, name), "rb").read()
            for name in os.listdir(folder) if ".base." in name)
    finally:
        master.r.config_set("appendonly", "no")
        raw.close()
