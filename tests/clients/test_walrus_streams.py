"""walrus's streams API (consumer groups, stream containers, TimeSeries) on miniredis.

Each scenario drives walrus the way an application would and records what every call
returned (or raised). It runs once against a miniredis started for this module on a
free port and once against the real redis-server, over RESP2 and RESP3, and the two
records must be equal; the scenarios also assert the values walrus documents, so a
server that answered both wrongly in the same way would still fail. IDs are explicit
(or datetimes), and times (idle, time since delivery) are masked before comparing.

walrus speaks RESP2 only: its per-stream reads (``Stream.read``,
``ConsumerGroupStream.read``) and ``TimeSeries.read`` index XREAD's reply as a list,
which redis-py gives as a dict under RESP3 (they fail the same way on redis-server).
The raw stream commands are compared under RESP3 by test_state_machine_streams.
"""
from __future__ import annotations

import datetime
import threading
import time
from typing import Any, Callable, List

import pytest
import walrus
import walrus.streams

from miniredis import Server

PROTOCOLS = [2]
_TIME_KEYS = {"idle", "time_since_delivered", "seen-time"}


@pytest.fixture(scope="module")
def mini_port():
    """A miniredis of its own (walrus flushes and reconfigures freely)."""
    server = Server(port=0)
    server.start()
    yield server.port
    server.stop()


def _database(port: int, protocol: int) -> Any:
    db = walrus.Database(host="127.0.0.1", port=port, db=15, protocol=protocol)
    db.flushdb()
    return db


def _mask(value: Any) -> Any:
    """``value`` with the times in it replaced (their presence is still compared).
    XINFO CONSUMERS' ``inactive`` (Redis 7.2; the 7.0 oracle lacks it) is dropped."""
    if isinstance(value, dict):
        named = {(k.decode() if isinstance(k, bytes) else k): (k, v) for k, v in value.items()}
        return {k: ("<time>" if name in _TIME_KEYS else _mask(v))
                for name, (k, v) in named.items() if name != "inactive"}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask(v) for v in value)
    if isinstance(value, walrus.streams.Message):
        return ("Message", value.stream, value.message_id, value.data, value.timestamp,
                value.sequence)
    return value


class Recorder:
    """Calls walrus and keeps what each call returned or raised."""

    def __init__(self) -> None:
        self.log: List[Any] = []

    def __call__(self, label: str, fn: Callable[[], Any],
                 mask: Callable[[Any], Any] = _mask) -> Any:
        try:
            result = fn()
        except Exception as exc:   # an error reply is an observation like any other
            self.log.append((label, "raised", type(exc).__name__, str(exc)))
            return exc
        self.log.append((label, mask(result)))
        return result


def _mask_ts_pending(rows: Any) -> Any:
    """TimeSeriesStream.pending's (id, consumer, idle, deliveries) rows, idle masked."""
    return [(row[0], row[1], "<time>", row[3]) for row in rows]


def _compare(scenario: Callable[[Any, Recorder, int], None], mini_port: int,
             real_port: int, protocol: int) -> List[Any]:
    logs = {}
    for name, port in (("redis", real_port), ("miniredis", mini_port)):
        db = _database(port, protocol)
        rec = Recorder()
        try:
            scenario(db, rec, protocol)
        finally:
            db.close()
        logs[name] = rec.log
    for want, got in zip(logs["redis"], logs["miniredis"]):
        assert got == want, "walrus saw different results:\n  redis:     %r\n  miniredis: %r" \
            % (want, got)
    assert len(logs["miniredis"]) == len(logs["redis"])
    return logs["miniredis"]


def _read_map(resp: Any, protocol: int) -> dict:
    """ConsumerGroup.read's reply as {stream: [(id, data), ...]} (redis-py gives a
    list of pairs under RESP2 and a dict of one-element lists under RESP3)."""
    if not resp:
        return {}
    if protocol == 3:
        return {k: v[0] for k, v in resp.items()}
    return {k: v for k, v in resp}


# -- consumer groups ---------------------------------------------------------------------
def _consumer_group_scenario(db: Any, rec: Recorder, protocol: int) -> None:
    cg = db.consumer_group("grp", ["sa", "sb"])
    assert rec("create", cg.create) == {"sa": True, "sb": True}
    assert rec("create again", cg.create) == {"sa": False, "sb": False}
    assert rec("type", lambda: db.type("sa")) == b"stream"
    sa, sb = db.Stream("sa"), db.Stream("sb")
    for i in range(1, 5):
        rec("add a%d" % i, lambda i=i: sa.add({"n": i}, id="%d-0" % i))
    rec("add b", lambda: sb.add({"k": "v", "x": ""}, id="7-1"))

    first = _read_map(rec("read count 2", lambda: cg.read(count=2)), protocol)
    assert [m[0] for m in first[b"sa"]] == [b"1-0", b"2-0"]
    assert first[b"sb"] == [(b"7-1", {b"k": b"v", b"x": b""})]
    rest = _read_map(rec("read rest", cg.read), protocol)
    assert [m[0] for m in rest[b"sa"]] == [b"3-0", b"4-0"]
    assert not rec("read nothing new", cg.read)
    assert rec("history", lambda: cg.sa.read(last_id="0")) == \
        [(b"%d-0" % i, {b"n": b"%d" % i}) for i in range(1, 5)]

    summary = rec("xpending", lambda: db.xpending("sa", "grp"))
    assert summary["pending"] == 4 and summary["min"] == b"1-0" and summary["max"] == b"4-0"
    pending = rec("pending", cg.sa.pending)
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending] == \
        [(b"%d-0" % i, b"grp.c1", 2) for i in range(1, 5)]
    rec("pending range", lambda: cg.sa.pending(start="2-0", stop="3-0", count=1))
    rec("pending of consumer", lambda: cg.sa.pending(consumer="grp.c1"))
    rec("pending of nobody", lambda: cg.sa.pending(consumer="nobody"))

    assert rec("ack", lambda: cg.sa.ack("1-0", "2-0", "9-9")) == 2
    assert rec("ack again", lambda: cg.sa.ack("1-0")) == 0

    worker = cg.consumer("worker2")
    claimed = rec("claim", lambda: worker.sa.claim("3-0", "1-0"))
    assert claimed == [(b"3-0", {b"n": b"3"})]
    rec("claim min idle", lambda: worker.sa.claim("4-0", min_idle_time=3600000))
    rec("autoclaim", lambda: cg.sa.autoclaim("worker3", 0, start_id="0-0", count=1))
    rec("autoclaim justid", lambda: cg.sa.autoclaim("worker3", 0, justid=True))
    rec("pending after claims", cg.sa.pending)

    consumers = rec("consumers info", cg.sa.consumers_info)
    assert sorted(c["name"] for c in consumers) == [b"grp.c1", b"worker2", b"worker3"]
    assert all(set(c) - {"inactive"} == {"name", "pending", "idle"} for c in consumers)
    rec("groups info", lambda: sa.groups_info())
    rec("stream info", cg.stream_info)
    rec("stream consumers info", lambda: sa.consumers_info("grp"))

    assert rec("set id", lambda: cg.set_id("2-0")) == {"sa": True, "sb": True}
    again = _read_map(rec("read after set id", lambda: cg.read(count=1)), protocol)
    assert [m[0] for m in again[b"sa"]] == [b"3-0"]
    rec("stream set id", lambda: cg.sb.set_id("$"))
    rec("reset", cg.reset)
    rec("read after reset", lambda: cg.read(count=10))
    rec("groups info after reset", lambda: sb.groups_info())

    rec("delete consumer", lambda: cg.sa.delete_consumer("worker2"))
    rec("delete default consumer", cg.sa.delete_consumer)
    rec("delete missing consumer", lambda: cg.sa.delete_consumer("nobody"))
    rec("consumers after delete", cg.sa.consumers_info)

    assert rec("destroy", cg.destroy) == {"sa": 1, "sb": 1}
    rec("destroy again", cg.destroy)
    rec("read destroyed", cg.read)
    rec("pending destroyed", cg.sa.pending)

    db.set("plain", "x")
    bad = db.consumer_group("g2", ["plain"])
    rec("create on a string", bad.create)
    rec("create mkstream", lambda: db.consumer_group("g3", {"fresh": "$"}).create(
        ensure_keys_exist=False, mkstream=True))
    rec("xinfo fresh", lambda: db.xinfo_stream("fresh"))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_consumer_group_lifecycle(mini_port, real_redis, protocol):
    _compare(_consumer_group_scenario, mini_port, real_redis.port, protocol)


# -- stream containers ------------------------------------------------------------------
def _stream_scenario(db: Any, rec: Recorder, protocol: int) -> None:
    stream = db.Stream("events")
    for i in range(1, 11):
        rec("add", lambda i=i: stream.add({"i": i, "sq": i * i}, id="100-%d" % i))
    assert rec("len", lambda: len(stream)) == 10
    assert rec("range", stream.range)[0] == (b"100-1", {b"i": b"1", b"sq": b"1"})
    rec("range bounds", lambda: stream.range("100-3", "100-5"))
    rec("range count", lambda: stream.range(count=2))
    rec("revrange", lambda: stream.revrange(count=3))
    rec("slice", lambda: stream["100-8":])
    rec("slice step", lambda: stream[:"100-4":2])
    assert rec("get", lambda: stream.get("100-7")) == (b"100-7", {b"i": b"7", b"sq": b"49"})
    assert rec("get missing", lambda: stream.get("5-5")) is None
    rec("getitem", lambda: stream["100-2"])
    rec("iterate", lambda: [m[0] for m in stream])
    rec("read from", lambda: stream.read(count=2, last_id="100-8"))
    rec("read all", lambda: stream.read())
    rec("read past end", lambda: stream.read(last_id="100-10"))

    assert rec("delete", lambda: stream.delete("100-1", "100-2", "1-1")) == 2
    rec("delitem", lambda: stream.__delitem__("100-3"))
    rec("delitem list", lambda: stream.__delitem__(["100-4", "100-5"]))
    assert rec("len after delete", lambda: len(stream)) == 5

    assert rec("trim exact", lambda: stream.trim(4, approximate=False)) == 1
    rec("trim approximate", lambda: stream.trim(1))
    rec("trim minid", lambda: stream.trim(minid="100-9", approximate=False))
    rec("trim minid limit", lambda: stream.trim(minid="100-10", approximate=True, limit=5))
    rec("after trims", stream.range)
    rec("info", stream.info)

    rec("add maxlen", lambda: stream.add({"i": 11}, id="100-11", maxlen=1,
                                         approximate=False))
    assert rec("len after maxlen", lambda: len(stream)) == 1
    rec("add too small", lambda: stream.add({"i": 0}, id="100-1"))
    rec("set id", lambda: stream.set_id("200-0"))
    rec("set id too small", lambda: stream.set_id("1-0"))
    rec("add after set id", lambda: stream.add({"i": 12}, id="150-0"))
    rec("add star seq", lambda: stream.add({"i": 13}, id="200-*"))
    rec("info after", stream.info)
    rec("groups none", stream.groups_info)
    rec("missing info", lambda: db.Stream("nope").info())
    rec("missing len", lambda: len(db.Stream("nope")))
    rec("missing range", lambda: db.Stream("nope").range())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stream_container(mini_port, real_redis, protocol):
    _compare(_stream_scenario, mini_port, real_redis.port, protocol)


# -- TimeSeries -----------------------------------------------------------------------------
BASE = datetime.datetime(2021, 6, 1, 12, 0, 0)


def _timeseries_scenario(db: Any, rec: Recorder, protocol: int) -> None:
    ts = db.time_series("tsgroup", ["temp", "hum"])
    rec("create", ts.create)
    for minute in range(5):
        when = BASE + datetime.timedelta(minutes=minute)
        added = rec("add temp", lambda when=when, m=minute: ts.temp.add(
            {"c": 20 + m}, id=when))
        assert added == (when, 0)
    rec("add hum seq", lambda: ts.hum.add({"rh": "55"}, id=(BASE, 3)))
    rec("add hum", lambda: ts.hum.add({"rh": "60"}, id=BASE + datetime.timedelta(minutes=2)))

    window = rec("range", lambda: ts.temp.range(BASE + datetime.timedelta(minutes=1),
                                                BASE + datetime.timedelta(minutes=3)))
    assert [m.data for m in window] == [{"c": "21"}, {"c": "22"}, {"c": "23"}]
    assert [m.timestamp for m in window] == [BASE + datetime.timedelta(minutes=i)
                                             for i in (1, 2, 3)]
    rec("range count", lambda: ts.temp.range(count=2))
    got = rec("get", lambda: ts.temp.get(BASE + datetime.timedelta(minutes=4)))
    assert got.data == {"c": "24"} and got.sequence == 0

    messages = rec("read", lambda: ts.read(count=2))
    # Both streams, merged by message ID.
    assert [(m.stream, m.message_id) for m in messages] == sorted(
        [(m.stream, m.message_id) for m in messages], key=lambda p: p[1])
    assert {m.stream for m in messages} == {"temp", "hum"}
    rec("read stream", lambda: ts.temp.read(count=10))
    rec("read nothing", lambda: ts.read())

    pending = rec("pending", ts.temp.pending, _mask_ts_pending)
    assert [(p[0][0], p[1], p[3]) for p in pending] == [
        (BASE + datetime.timedelta(minutes=i), "tsgroup.c1", 1) for i in range(5)]
    assert rec("ack", lambda: ts.temp.ack(BASE, messages[0])) >= 1
    rec("ack tuple", lambda: ts.hum.ack((BASE, 3)))
    other = ts.consumer("other")
    claimed = rec("claim", lambda: other.temp.claim(BASE + datetime.timedelta(minutes=4)))
    assert [m.data for m in claimed] == [{"c": "24"}]
    rec("pending after", ts.temp.pending, _mask_ts_pending)
    rec("pending of other", lambda: ts.temp.pending(consumer="other"), _mask_ts_pending)
    rec("delete", lambda: ts.temp.delete(BASE + datetime.timedelta(minutes=1)))
    rec("set id", lambda: ts.set_id(BASE + datetime.timedelta(minutes=2)))
    rec("read after set id", lambda: ts.read())
    rec("stream set id", lambda: ts.hum.set_id(BASE))
    rec("read hum", lambda: ts.hum.read())
    rec("destroy", ts.destroy)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_time_series(mini_port, real_redis, protocol):
    _compare(_timeseries_scenario, mini_port, real_redis.port, protocol)


# -- blocking reads -----------------------------------------------------------------------
def _later(port: int, delay: float, *command: Any) -> threading.Thread:
    """Run ``command`` from another client after ``delay`` seconds."""
    def run() -> None:
        time.sleep(delay)
        other = walrus.Database(host="127.0.0.1", port=port, db=15)
        other.execute_command(*command)
        other.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _blocking_scenario(port: int, protocol: int) -> List[Any]:
    db = _database(port, protocol)
    out: List[Any] = []
    try:
        cg = db.consumer_group("bg", ["q1", "q2"])
        cg.create()
        # Nothing to read: the block times out with no messages.
        started = time.monotonic()
        out.append(("timeout", _read_map(cg.read(count=1, block=150), protocol)))
        elapsed = time.monotonic() - started
        assert 0.12 <= elapsed < 2.0, elapsed
        # A message added while blocked wakes the reader at once.
        producer = _later(port, 0.2, "XADD", "q2", "5-5", "job", "1")
        started = time.monotonic()
        out.append(("woken", _read_map(cg.read(count=1, block=5000), protocol)))
        elapsed = time.monotonic() - started
        producer.join()
        assert 0.1 <= elapsed < 3.0, elapsed
        # COUNT limits what a reader that did not block takes.
        for i in range(1, 4):
            db.xadd("q1", {"i": i}, id="6-%d" % i)
        out.append(("count", _read_map(cg.read(count=2, block=1000), protocol)))
        out.append(("rest", _read_map(cg.consumer("c2").read(count=5, block=1000),
                                      protocol)))
        # One stream of the group, blocking: ConsumerGroupStream.read.
        producer = _later(port, 0.2, "XADD", "q1", "7-0", "late", "yes")
        out.append(("stream block", cg.q1.read(count=1, block=5000)))
        producer.join()
        # TimeSeries.read blocks the same way.
        ts = db.time_series("tsb", ["tq"])
        ts.create()
        when = datetime.datetime(2022, 1, 1)
        producer = _later(port, 0.2, "XADD", "tq", walrus.streams.datetime_to_id(when),
                          "v", "1")
        messages = ts.read(count=1, block=5000)
        producer.join()
        out.append(("timeseries", _mask(messages)))
        assert [m.timestamp for m in messages] == [when]
        out.append(("pending", _mask(cg.q1.pending())))
    finally:
        db.close()
    return out


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_blocking_reads(mini_port, real_redis, protocol):
    want = _blocking_scenario(real_redis.port, protocol)
    got = _blocking_scenario(mini_port, protocol)
    assert got == want
    assert got[0] == ("timeout", {})
    assert got[1] == ("woken", {b"q2": [(b"5-5", {b"job": b"1"})]})
    assert [m[0] for m in got[2][1][b"q1"]] == [b"6-1", b"6-2"]
