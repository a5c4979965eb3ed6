"""Helpers for the replication tests: a miniredis master (and a redis-server one to
compare with), real redis-server replicas of it, waiting for them to catch up, and a
raw-socket replica that reads the stream."""
from __future__ import annotations

import shutil
import socket
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple

import hiredis
import redis

from miniredis import Server
from tests.harness import RedisProcess, redis_server_or_skip


def wait_until(condition: Callable[[], Any], timeout: float = 20.0,
               message: str = "condition") -> Any:
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for %s" % message)
        time.sleep(0.02)


class Master:
    """A miniredis master on a free port (diskless-sync delay 0, as Redis's tests set)."""

    def __init__(self, diskless: bool = True, **options: Any) -> None:
        self.dir = tempfile.mkdtemp(prefix="mini-repl-")
        self.server = Server(port=0, dir=self.dir, **options)
        self.server.start()
        self.port = self.server.port
        self.r = redis.Redis(port=self.port)
        self.r.config_set("repl-diskless-sync", "yes" if diskless else "no")
        self.r.config_set("repl-diskless-sync-delay", "0")

    @property
    def state(self) -> Any:
        return self.server.state

    def info(self, section: str = "replication") -> Dict[str, Any]:
        return self.r.info(section)

    def stop(self) -> None:
        self.r.close()
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RealMaster:
    """A redis-server master, read as :class:`Master` is: the oracle's side of a test
    that compares a real replica of each."""

    def __init__(self) -> None:
        self.proc = RedisProcess(redis_server_or_skip())
        self.port = self.proc.port
        self.r = redis.Redis(port=self.port)

    def info(self, section: str = "replication") -> Dict[str, Any]:
        return self.r.info(section)

    def stop(self) -> None:
        self.r.close()
        self.proc.stop()


class Replica:
    """A real redis-server replicating from ``port``."""

    def __init__(self, port: int, *extra: str) -> None:
        self.proc = RedisProcess(redis_server_or_skip(),
                                 ["--replicaof", "127.0.0.1", str(port), *extra])
        self.port = self.proc.port
        self.r = redis.Redis(port=self.port)

    def info(self, section: str = "replication") -> Dict[str, Any]:
        return self.r.info(section)

    def wait_up(self, timeout: float = 30.0) -> None:
        wait_until(lambda: self.info().get("master_link_status") == "up", timeout,
                   "the replica's link to come up")

    def stop(self) -> None:
        self.r.close()
        self.proc.stop()


def wait_caught_up(master: Master, replica: Replica, timeout: float = 30.0) -> None:
    """Until the replica has applied every byte the master produced (and acked it)."""
    def caught_up() -> bool:
        offset = master.info()["master_repl_offset"]
        info = replica.info()
        return info.get("master_link_status") == "up" \
            and info["master_repl_offset"] == offset
    wait_until(caught_up, timeout, "the replica to catch up")


class RawReplica:
    """A replica spoken by hand: PSYNC/SYNC, the RDB, then the stream as requests."""

    def __init__(self, port: int, capa_eof: bool = False, listening_port: int = 0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.port = port
        if listening_port:
            self.call(b"REPLCONF", b"listening-port", b"%d" % listening_port)
        if capa_eof:
            self.call(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")
        self.reader = hiredis.Reader()
        self.rdb = b""
        self.replid = ""
        self.offset = -1

    def call(self, *args: bytes) -> bytes:
        self.sock.sendall(_encode(args))
        return self.line()

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("closed by the master")
        self.buf += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _line_skipping_newlines(self) -> bytes:
        while True:
            while self.buf.startswith(b"\n"):
                self.buf = self.buf[1:]
            if not self.buf:
                self._fill()
                continue
            return self.line()

    def psync(self, replid: str = "?", offset: int = -1) -> bytes:
        """Send PSYNC; returns its reply line (+FULLRESYNC or +CONTINUE); for a full
        resync the RDB is read into ``self.rdb``."""
        self.sock.sendall(_encode([b"PSYNC", replid.encode(), b"%d" % offset]))
        reply = self._line_skipping_newlines()
        if reply.startswith(b"+FULLRESYNC"):
            _, replid_b, offset_b = reply.split()
            self.replid, self.offset = replid_b.decode(), int(offset_b)
            self.read_rdb()
        return reply

    def sync(self) -> None:
        self.sock.sendall(b"SYNC\r\n")
        self.read_rdb()

    def read_rdb(self) -> None:
        header = self._line_skipping_newlines()
        assert header.startswith(b"$"), header
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            assert len(mark) == 40
            while mark not in self.buf:
                self._fill()
            self.rdb, _, self.buf = self.buf.partition(mark)
        else:
            size = int(header[1:])
            while len(self.buf) < size:
                self._fill()
            self.rdb, self.buf = self.buf[:size], self.buf[size:]

    def ack(self, offset: int) -> None:
        self.sock.sendall(_encode([b"REPLCONF", b"ACK", b"%d" % offset]))

    def raw(self, size: int, timeout: float = 10.0) -> bytes:
        """Exactly ``size`` stream bytes."""
        deadline = time.time() + timeout
        while len(self.buf) < size:
            assert time.time() < deadline, "stream too short: %r" % self.buf
            self._fill()
        data, self.buf = self.buf[:size], self.buf[size:]
        return data

    def commands(self, count: int, timeout: float = 10.0) -> List[List[bytes]]:
        """The next ``count`` requests of the stream."""
        out: List[List[bytes]] = []
        deadline = time.time() + timeout
        while len(out) < count:
            if self.buf:
                self.reader.feed(self.buf)
                self.buf = b""
            item = self.reader.gets()
            while item is not False and len(out) < count:
                out.append(item)
                item = self.reader.gets() if len(out) < count else False
            if len(out) >= count:
                break
            assert time.time() < deadline, "stream ended early: %r" % out
            self._fill()
        return out

    def close(self) -> None:
        self.sock.close()


def _encode(args: Any) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def sync_stats(master: Master) -> Tuple[int, int, int]:
    stats = master.info("stats")
    return stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]


def redis_master(*extra: str) -> Tuple[RedisProcess, redis.Redis]:
    proc = RedisProcess(redis_server_or_skip(), ["--repl-diskless-sync-delay", "0", *extra])
    return proc, redis.Redis(port=proc.port)
