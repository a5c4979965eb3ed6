"""Helpers shared by the AOF tests: dataset dumps, file replay, server processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import redis

from tests.harness import RawConnection, free_port, parse_raw, start_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def aof_files(directory: str, dirname: str = "appendonlydir",
              prefix: str = "appendonly.aof") -> List[str]:
    """The paths the manifest names, in load order."""
    folder = os.path.join(directory, dirname)
    with open(os.path.join(folder, prefix + ".manifest")) as handle:
        lines = [line.split() for line in handle if line.strip()]
    base = [os.path.join(folder, w[1]) for w in lines if w[5] == "b"]
    incrs = [os.path.join(folder, w[1]) for w in lines if w[5] == "i"]
    return base + incrs


def pipe_into(port: int, paths: List[str]) -> str:
    """Replay files into a server with ``redis-cli --pipe``; its summary line."""
    data = b"".join(open(path, "rb").read() for path in paths)
    done = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                          capture_output=True, timeout=60)
    text = done.stdout.decode()
    assert done.returncode == 0 and "errors: 0" in text, text + done.stderr.decode()
    return text


def _plain(tagged: Any) -> Any:
    """parse_raw's tagged values as plain ones (RESP2: bulk, integer, array, null)."""
    kind, body = tagged
    if body is None:
        return None
    if kind == b":":
        return int(body)
    if kind == b"*":
        return [_plain(item) for item in body]
    return body


def _stream_state(port: int, db: int, key: bytes) -> Any:
    conn = RawConnection(port)
    try:
        conn.call("SELECT", db)
        info = _plain(parse_raw(conn.call("XINFO", "STREAM", key, "FULL")))
    finally:
        conn.close()
    info = dict(zip(info[0::2], info[1::2]))
    groups = []
    for group in info[b"groups"]:
        group = dict(zip(group[0::2], group[1::2]))
        consumers = []
        for consumer in group[b"consumers"]:
            consumer = dict(zip(consumer[0::2], consumer[1::2]))
            consumers.append((consumer[b"name"], consumer[b"pel-count"],
                              [tuple(p) for p in consumer[b"pending"]]))
        groups.append((group[b"name"], group[b"last-delivered-id"],
                       group[b"entries-read"], group[b"pel-count"],
                       [tuple(p) for p in group[b"pending"]], sorted(consumers)))
    entries = [(i, tuple(f)) for i, f in info[b"entries"]]
    return (info[b"length"], info[b"last-generated-id"], info[b"max-deleted-entry-id"],
            info[b"entries-added"], entries, sorted(groups))


def dump(port: int, databases: int = 16) -> Dict[Tuple[int, bytes], Any]:
    """Every key of every database: (type, value, absolute expiry in ms or None)."""
    out: Dict[Tuple[int, bytes], Any] = {}
    for db in range(databases):
        r = redis.Redis(port=port, db=db)
        now = int(r.execute_command("TIME")[0]) * 1000
        keys = r.keys("*")
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.pttl(key)
        answers = pipe.execute()
        kinds = [kind.decode() for kind in answers[0::2]]
        pttls = answers[1::2]
        pipe = r.pipeline(transaction=False)
        for key, kind in zip(keys, kinds):
            if kind == "string":
                pipe.get(key)
            elif kind == "list":
                pipe.lrange(key, 0, -1)
            elif kind == "hash":
                pipe.hgetall(key)
            elif kind == "set":
                pipe.smembers(key)
            elif kind == "zset":
                pipe.zrange(key, 0, -1, withscores=True)
            else:
                pipe.exists(key)
        values = pipe.execute()
        for key, kind, pttl, value in zip(keys, kinds, pttls, values):
            if kind == "set":
                value = sorted(value)
            elif kind == "stream":
                value = _stream_state(port, db, key)
            elif kind not in ("string", "list", "hash", "zset"):  # pragma: no cover
                raise AssertionError(kind)
            out[(db, key)] = (kind, value, now + pttl if pttl >= 0 else None)
        r.close()
    return out


def assert_same(left: Dict, right: Dict, ttl_tolerance_ms: int = 3000) -> None:
    """Same keys, types and values; absolute expiries within the tolerance."""
    assert sorted(left) == sorted(right), (sorted(set(left) ^ set(right)))
    for key in left:
        lkind, lvalue, lwhen = left[key]
        rkind, rvalue, rwhen = right[key]
        assert (lkind, lvalue) == (rkind, rvalue), (key, left[key], right[key])
        assert (lwhen is None) == (rwhen is None), (key, lwhen, rwhen)
        if lwhen is not None:
            assert abs(lwhen - rwhen) <= ttl_tolerance_ms, (key, lwhen, rwhen)


class MiniProcess:
    """``python -m miniredis`` as a separate process (so it can be SIGKILLed)."""

    def __init__(self, directory: str, *options: str, port: Optional[int] = None) -> None:
        self.dir = directory
        self.log = os.path.join(directory, "miniredis.log")
        # (The port is checked to be this process's own before the first PING: see
        # harness.wait_serving.)
        self.proc, self.port = start_process(
            lambda port: [sys.executable, "-m", "miniredis", "--port", str(port), "--dir",
                          directory, "--logfile", self.log, *options],
            port, "miniredis", cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while True:         # listening; answering once the data is loaded
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError("miniredis exited: %s"
                                       % self.proc.stderr.read().decode())
                if time.time() > deadline:
                    raise RuntimeError("miniredis did not start")
                time.sleep(0.02)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stderr.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stderr.close()


def run_mini(directory: str, *options: str, timeout: float = 20) -> subprocess.CompletedProcess:
    """Run miniredis expecting it to exit by itself (a refused start-up; on a port,
    as port 0 would mean: listen nowhere)."""
    return subprocess.run([sys.executable, "-m", "miniredis", "--port", str(free_port()),
                           "--dir", directory, *options], cwd=ROOT, capture_output=True,
                          timeout=timeout)


def wait_rewrite_done(r: redis.Redis, timeout: float = 30) -> Dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        info = r.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return info
        assert time.time() < deadline, "rewrite did not finish"
        time.sleep(0.02)
