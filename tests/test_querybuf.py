"""The query buffer's life cycle as CLIENT LIST shows it (qbuf, qbuf-free, argv-mem,
rbs, tot-mem), differential against redis-server over time: 16 KB of room after a
command, the room freed once the client idles for more than 2 s, a buffer sized to a
big argument, shrunk back by the clients cron when the peak drops, the reply buffer
shrinking to 1 KB (Redis's tests/unit/querybuf.tcl and more).

Timing: figures are compared either right after a command, with ``hz`` at 1 so that
the clients cron (which needs two runs to shrink a buffer) cannot interfere, or once
both servers reached the expected state, polled with generous deadlines.
"""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List

import pytest

from miniredis import querybuf
from tests.harness import RawConnection, encode_command, parse_raw

FIELDS = ("qbuf", "qbuf-free", "argv-mem", "rbs", "tot-mem")


def _fields(admin: RawConnection, name: str) -> Dict[str, int]:
    listing = parse_raw(admin.call("CLIENT", "LIST"))[1].decode()
    for line in listing.split("\n"):
        if " name=%s " % name in line:
            return {key: int(value) for key, value in re.findall(r"([a-z-]+)=(\d+)", line)
                    if key in FIELDS + ("idle",)}
    raise AssertionError("client %s not listed" % name)


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("condition not reached in %.0f s" % timeout)
        time.sleep(0.05)


@contextmanager
def _clients(ports: List[int], hz: int = 10) -> Iterator[List[Dict[str, RawConnection]]]:
    """Per server: an admin connection and a client named ``qb`` (db 9)."""
    out = []
    for port in ports:
        admin, client = RawConnection(port), RawConnection(port)
        admin.call("CONFIG", "SET", "hz", str(hz))
        client.call("SELECT", "9")
        assert client.call("CLIENT", "SETNAME", "qb") == b"+OK\r\n"
        out.append({"admin": admin, "client": client})
    try:
        yield out
    finally:
        for pair in out:
            pair["admin"].call("CONFIG", "SET", "hz", "10")
            pair["client"].close()
            pair["admin"].close()


@pytest.fixture
def ports(mini, real_redis) -> List[int]:
    return [real_redis.port, mini.port]


def _same(pairs, *keys: str) -> List[Dict[str, int]]:
    got = [{k: v for k, v in _fields(p["admin"], "qb").items() if k in keys} for p in pairs]
    assert got[1] == got[0]
    return got


def test_room_after_a_command_then_freed_when_idle(ports):
    with _clients(ports) as pairs:
        got = _same(pairs, "qbuf", "qbuf-free")
        assert 16384 <= got[0]["qbuf"] + got[0]["qbuf-free"] < 32768
        # The clients cron frees the room of a client idle for more than 2 seconds;
        # the reply buffer shrinks to 1 KB meanwhile.
        for pair in pairs:
            _wait_for(lambda: _fields(pair["admin"], "qb")["qbuf-free"] == 0)
            _wait_for(lambda: _fields(pair["admin"], "qb")["rbs"] == 1024)
        got = _same(pairs, *FIELDS)
        assert got[0]["tot-mem"] < 4096
        assert all(_fields(p["admin"], "qb")["idle"] >= 3 for p in pairs)
        # One more command: 16 KB of room again.
        for pair in pairs:
            assert pair["client"].call("PING") == b"+PONG\r\n"
        _same(pairs, *FIELDS)


def test_big_argument_buffer_and_shrinking(ports):
    value = "A" * 400000
    with _clients(ports, hz=1) as pairs:
        for pair in pairs:
            assert pair["client"].call("SET", "x", value) == b"+OK\r\n"
        got = _same(pairs, "qbuf", "qbuf-free")
        assert got[0]["qbuf-free"] == querybuf.sds_alloc(400002) > 32768
        for pair in pairs:
            pair["admin"].call("CONFIG", "SET", "hz", "10")
        # Small commands lower the peak: the cron shrinks the buffer (before the
        # client could count as idle), to no less than the recent peak.
        for pair in pairs:
            def shrunk(pair=pair) -> bool:
                pair["client"].call("SET", "x", "A" * 100)
                return 0 < _fields(pair["admin"], "qb")["qbuf-free"] < got[0]["qbuf-free"]
            _wait_for(shrunk, 5)
        for pair in pairs:
            pair["client"].call("SET", "x", "A" * 100)
        _same(pairs, "qbuf", "qbuf-free")


def test_arguments_crossing_32k_in_one_write_and_pipelines(ports):
    pipeline = b"".join(encode_command(["SET", "k%d" % i, "v" * 1000]) for i in range(100))
    with _clients(ports, hz=1) as pairs:
        for pair in pairs:
            assert pair["client"].call("SET", "x", "B" * 40000) == b"+OK\r\n"
        got = _same(pairs, "qbuf", "qbuf-free")
        assert got[0]["qbuf-free"] == querybuf.sds_alloc(40002)
        for pair in pairs:
            pair["admin"].call("CONFIG", "SET", "hz", "10")
            _wait_for(lambda: _fields(pair["admin"], "qb")["qbuf-free"] == 0, 5)
            pair["admin"].call("CONFIG", "SET", "hz", "1")
            pair["client"].send_raw(pipeline)
            for _ in range(100):
                assert pair["client"].read_raw() == b"+OK\r\n"
        _same(pairs, "qbuf", "qbuf-free")


def test_partial_big_argument(ports):
    header = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$50000\r\n"
    with _clients(ports) as pairs:
        for pair in pairs:
            pair["client"].send_raw(header + b"C" * 1000)
        # Sized to the argument at once, trimmed to exactly it by the next cron run.
        for pair in pairs:
            _wait_for(lambda: _fields(pair["admin"], "qb")["qbuf-free"] == 49000, 5)
            _wait_for(lambda: _fields(pair["admin"], "qb")["rbs"] == 1024, 5)
        got = _same(pairs, "qbuf", "qbuf-free", "argv-mem", "tot-mem")
        assert got[0]["argv-mem"] == 4
        for pair in pairs:
            pair["admin"].call("CONFIG", "SET", "hz", "1")
            pair["client"].send_raw(b"C" * 49000 + b"\r\n")
            assert pair["client"].read_raw() == b"+OK\r\n"
        # The buffer became the argument; a new one of the same size replaces it.
        got = _same(pairs, "qbuf", "qbuf-free", "argv-mem")
        assert got[0]["qbuf-free"] == querybuf.sds_alloc(50002)


def test_caller_and_recent_max_input_buffer(ports):
    with _clients(ports) as pairs:
        lines = []
        for pair in pairs:
            me = parse_raw(pair["admin"].call("CLIENT", "INFO"))[1].decode()
            lines.append({k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", me)
                          if k in ("qbuf", "qbuf-free", "argv-mem")})
        assert lines[1] == lines[0]
        for pair in pairs:
            pair["client"].call("SET", "x", "D" * 100000)

        def recent(pair) -> int:
            info = parse_raw(pair["admin"].call("INFO", "clients"))[1].decode()
            return int(re.search(r"client_recent_max_input_buffer:(\d+)", info).group(1))
        for pair in pairs:
            _wait_for(lambda: recent(pair) >= querybuf.malloc_size(
                querybuf.sds_alloc(100002)), 5)


def test_size_classes():
    """jemalloc's classes as Redis's figures reveal them (checked above against the
    real server): 16 KB of room is a 20 KB block, 400 KB a 448 KB one."""
    assert querybuf.sds_alloc(16384) == 20474
    assert querybuf.sds_alloc(400002) == 458742
    assert querybuf.malloc_size(0) == 8
    assert [querybuf.jemalloc_size(n) for n in (1, 9, 17, 129, 1025, 4097)] == [
        8, 16, 32, 160, 1280, 5120]


@pytest.mark.parametrize("hold", ["blocked", "paused"])
def test_blocked_and_paused_clients_keep_their_input_unparsed(ports, hold):
    """While a client is blocked (BLPOP) or held by CLIENT PAUSE, Redis parses nothing
    more: CLIENT LIST shows the waiting command's arguments (argv-mem, tot-mem) and
    every byte sent after it, complete requests or not, as qbuf."""
    first = ["BLPOP", "qb:list", "0"] if hold == "blocked" else ["SET", "qb:key", "value"]
    with _clients(ports, hz=1) as pairs:
        for pair in pairs:
            if hold == "paused":
                pair["admin"].call("CLIENT", "PAUSE", "100000", "WRITE")
            pair["client"].send_raw(encode_command(first) + encode_command(["GET", "qb:key"]))
        time.sleep(0.2)
        try:
            _same(pairs, *FIELDS)
            for pair in pairs:
                pair["client"].send_raw(encode_command(["LPUSH", "qb:other", "x" * 100]))
                pair["client"].send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$3\r\nab")
            time.sleep(0.2)
            _same(pairs, *FIELDS)
        finally:
            for pair in pairs:
                pair["admin"].call("CLIENT", "UNPAUSE")
                pair["admin"].call("SELECT", "9")
                pair["admin"].call("RPUSH", "qb:list", "x")
                pair["client"].send_raw(b"c\r\n")
        replies = [[p["client"].read_raw() for _ in range(4)] for p in pairs]
        assert replies[1] == replies[0]
        for pair in pairs:
            pair["admin"].call("DEL", "qb:list", "qb:key", "qb:other", "x")


def test_a_blocked_client_past_the_query_buffer_limit_is_closed(ports):
    """Redis keeps a blocked client's input in its query buffer, whose limit closes
    it; miniredis, which parses it into held requests, must not hold more."""
    chunk = encode_command(["PING"]) * 10000
    seen = []
    for port in ports:
        admin, client = RawConnection(port), RawConnection(port)
        admin.call("CONFIG", "SET", "client-query-buffer-limit", "1mb")
        try:
            client.send("BLPOP", "qb:never", "0")
            time.sleep(0.1)
            try:
                for _ in range(40):     # 5.6 MB
                    client.send_raw(chunk)
            except OSError:
                pass                    # (closed while sending)
            seen.append(client.closed_by_peer())
        finally:
            admin.call("CONFIG", "SET", "client-query-buffer-limit", "1gb")
            admin.close()
            client.close()
    assert seen == [True, True]
