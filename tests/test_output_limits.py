"""client-output-buffer-limit for normal clients, against redis-server (Redis's
unit/obuf-limits): past the hard limit a client is closed without a byte of its
replies, pipelined requests after the crossing do not run, a transaction runs whole,
and a reply that could grow without end (a negative random count) stops."""
from __future__ import annotations

import socket
import time
from typing import Any, List

import pytest

from tests.harness import RawConnection, compare_scenario, received


def _drained(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection."""
    sock.settimeout(5)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return data
        if not chunk:
            return data
        data += chunk


def _connected(admin: RawConnection, name: bytes) -> bool:
    """Whether a client named ``name`` is still connected (the servers are shared with
    other tests: their named clients do not count)."""
    return b"name=" + name + b" " in admin.call("CLIENT", "LIST")


def _limited(admin: RawConnection, limit: str) -> None:
    admin.call("CONFIG", "SET", "client-output-buffer-limit", limit)


def _restore(admin: RawConnection) -> None:
    admin.call("CONFIG", "SET", "client-output-buffer-limit",
               "normal 0 0 0 pubsub 33554432 8388608 60")


def _single_big_reply(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    _limited(admin, "normal 100000 0 0")
    try:
        admin.call("DEL", "mylist")
        for _ in range(150):
            admin.call("LPUSH", "mylist", "x" * 1000)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"CLIENT SETNAME mybiglist\r\n")
        assert sock.recv(100) == b"+OK\r\n"
        sock.sendall(b"SELECT 9\r\nLRANGE mylist 0 -1\r\n")
        received = _drained(sock)
        sock.close()
        return [received, _connected(admin, b"mybiglist"), admin.call("PING")]
    finally:
        _restore(admin)


def _pipeline_crossing_the_limit(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    _limited(admin, "normal 100000 0 0")
    try:
        admin.call("SET", "bigkey", "x" * 10000)
        sock = socket.create_connection(("127.0.0.1", port))
        pipeline = b"SELECT 9\r\n" + b"".join(
            b"set %d %d\r\nget %d\r\ndel %d\r\nget bigkey\r\n" % (i, i, i, i)
            for i in range(15))
        admin.send("DEBUG", "SLEEP", "0.3")      # the pipeline arrives in one read
        time.sleep(0.05)
        sock.sendall(pipeline)
        assert admin.read_raw() == b"+OK\r\n"
        received = _drained(sock)
        sock.close()
        return [received, admin.call("PING"),
                admin.call("EXISTS", *[str(i) for i in range(15)])]
    finally:
        _restore(admin)


def _transaction_runs_whole(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    _limited(admin, "normal 100000 0 0")
    try:
        admin.call("DEL", "mylist2", "k1", "k2", "k3")
        for _ in range(150):
            admin.call("LPUSH", "mylist2", "x" * 1000)
        admin.call("SET", "k1", "v1")
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"SELECT 9\r\nMULTI\r\nSET k2 v2\r\nGET k2\r\nLRANGE mylist2 0 -1\r\n"
                     b"SET k3 v3\r\nDEL k1\r\nEXEC\r\n")
        received = _drained(sock)
        sock.close()
        return [received[:40], admin.call("MGET", "k1", "k2", "k3")]
    finally:
        _restore(admin)


def _endless_replies_stop(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    _limited(admin, "normal 1000000 0 0")
    try:
        admin.call("DEL", "myhash", "myset", "myzset")
        admin.call("HSET", "myhash", "a", "b")
        admin.call("SADD", "myset", "a")
        admin.call("ZADD", "myzset", "1", "a")
        outcomes = []
        for command in (b"HRANDFIELD myhash -999999999", b"SRANDMEMBER myset -999999999",
                        b"ZRANDMEMBER myzset -999999999 WITHSCORES",
                        b"HRANDFIELD myhash -999999999 WITHVALUES"):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"SELECT 9\r\n" + command + b"\r\n")
            outcomes.append(_drained(sock))
            sock.close()
        return outcomes + [admin.call("PING")]
    finally:
        _restore(admin)


def _long_keys(admin: RawConnection, count: int) -> None:
    """The admin's database emptied, then ``count`` keys named with 100 bytes and more."""
    admin.call("FLUSHDB")
    prefix = "long-key-name-prefix-of-100-chars" + "-" * 67
    for i in range(count):
        admin.call("SET", "%s%d" % (prefix, i), "v")


def _keys_past_the_limit(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    """KEYS whose reply passes the limit by more than the reply buffer's 16 KB."""
    _limited(admin, "normal 100000 0 0")
    try:
        _long_keys(admin, 1200)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"SELECT 9\r\nKEYS *\r\n")
        received = _drained(sock)
        sock.close()
        return [received, admin.call("PING")]
    finally:
        admin.call("FLUSHDB")
        _restore(admin)


def _deferred_length_replies(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    """Redis's unit/obuf-limits "KEYS stopped mid-run": a reply of about 112 KB against
    a 100,000-byte limit: KEYS (a deferred-length reply: none of it stays in the 16 KB
    reply buffer) closes the client. An LRANGE reply of 86 KB (its first 16 KB in the
    buffer) does not, nor do smaller deferred-length replies. (Sizes chosen away from
    the limit: Redis counts its reply list in 20 KB allocations, we in bytes.)"""
    _limited(admin, "normal 100000 0 0")
    try:
        _long_keys(admin, 1000)
        for _ in range(85):
            admin.call("RPUSH", "list", "x" * 1000)
        outcomes = []
        for command in (b"KEYS long*", b"LRANGE list 0 -1", b"KEYS long-key-name-prefix*9",
                        b"ZRANGEBYSCORE nosuchkey -inf +inf"):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"SELECT 9\r\nCLIENT SETNAME deferred\r\n" + command
                         + b"\r\nPING\r\n")
            time.sleep(0.2)
            outcomes.append([_connected(admin, b"deferred"), len(received(sock, 0.5))])
            sock.close()
        return outcomes + [admin.call("PING")]
    finally:
        admin.call("FLUSHDB")
        _restore(admin)


@pytest.mark.parametrize("scenario", [
    _single_big_reply, _pipeline_crossing_the_limit, _transaction_runs_whole,
    _endless_replies_stop, _keys_past_the_limit, _deferred_length_replies,
], ids=lambda scenario: scenario.__name__.strip("_"))
def test_normal_output_limit_as_redis(differ, scenario):
    compare_scenario(differ, scenario, protocols=(2,))


def _soft_limit_without_traffic(port: int, protocol: int, admin: RawConnection) -> List[Any]:
    """A subscriber that stopped reading, past its soft limit, is closed once the
    limit's seconds are over even if nothing more is published (clientsCron)."""
    import re
    _limited(admin, "pubsub 0 100000 1")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    try:
        sock.sendall(b"CLIENT SETNAME quiet\r\nSUBSCRIBE foo\r\n")
        time.sleep(0.1)
        omem = 0
        deadline = time.monotonic() + 20
        while omem <= 100000:
            assert time.monotonic() < deadline
            admin.call("PUBLISH", "foo", "x" * 50000)
            line = [entry for entry in admin.call("CLIENT", "LIST").split(b"\n")
                    if b"name=quiet" in entry]
            omem = int(re.search(rb"omem=(\d+)", line[0]).group(1)) if line else 0
        time.sleep(2.5)         # no traffic: the soft limit's second runs out
        return [b"name=quiet" in admin.call("CLIENT", "LIST")]
    finally:
        sock.close()
        _restore(admin)


def test_soft_limit_runs_out_without_traffic(differ):
    compare_scenario(differ, _soft_limit_without_traffic, protocols=(2,))
