"""Snapshots: SAVE and BGSAVE (and BGREWRITEAOF) time, and the longest stall a client
sees during the background ones, miniredis next to redis-server.

For each dataset (``keys``: 1,000,000 small strings loaded with ``redis-cli --pipe``;
``bigstring``: ``SETBIT k 1016301586 0``, a 127 MB string; ``collections``: ``keys``
/ 10 each of small hashes, sets of integers, lists and sorted sets, plus one hash,
set, list and sorted set of ``keys`` / 5 elements each) both servers are started
with no save points, each in its own temporary directory on the same file system:

- SAVE: the time of the command (every client waits that long, on both servers);
- BGSAVE / BGREWRITEAOF: the time until INFO says the child is done, and meanwhile
  a second connection sends PING in a loop: the longest single PING round trip is
  the longest stall any client saw.

    python benchmarks/snapshot.py [--keys 1000000] [--datasets keys,bigstring]
                                  [--pythonpath DIR]   (datasets: keys, bigstring,
                                                        collections)

``--pythonpath`` runs miniredis from another source tree (e.g. an older checkout)
for before/after figures. Same run, same machine: compare the ratios.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import free_port, wait_for  # noqa: E402


class Conn:
    """A minimal RESP client (one request at a time) on a blocking socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(600)
        self.buf = b""

    def call(self, *args: str) -> bytes:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self) -> bytes:
        line = self._line()
        if line[:1] == b"$" and int(line[1:]) >= 0:
            size = int(line[1:])
            while len(self.buf) < size + 2:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            data, self.buf = self.buf[:size], self.buf[size + 2:]
            return data
        if line[:1] == b"-":
            raise RuntimeError(line.decode())
        return line

    def info(self, field: str) -> str:
        for line in self.call("INFO", "persistence").decode().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1]
        raise KeyError(field)

    def close(self) -> None:
        self.sock.close()


def _start(name: str, workdir: str, pythonpath: Optional[str]) -> subprocess.Popen:
    port = free_port()
    folder = os.path.join(workdir, name)
    os.makedirs(folder)
    options = ["--port", str(port), "--dir", folder, "--save", "", "--appendonly", "no"]
    env = dict(os.environ)
    if name == "redis-server":
        command = ["redis-server"] + options
    else:
        command = [sys.executable, "-m", "miniredis", "--loglevel", "warning"] + options
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen(command, cwd=pythonpath or ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    proc.port = port  # type: ignore[attr-defined]
    wait_for(port, proc)
    return proc


def _load_keys(port: int, count: int) -> None:
    _pipe(port, [[b"SET", b"key:%d" % i, b"value:%d" % i] for i in range(count)])


def _pipe(port: int, commands: List[List[bytes]]) -> None:
    lines = []
    for argv in commands:
        lines.append(b"*%d\r\n" % len(argv))
        lines += [b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in argv]
    done = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=b"".join(lines),
                          capture_output=True, timeout=1200)
    if done.returncode != 0 or b"errors: 0" not in done.stdout:
        raise SystemExit("loading failed: %r" % done.stdout[-300:])


def _collection_commands(keys: int) -> List[List[bytes]]:
    """Small collections (listpack, intset, quicklist encodings) and four big ones
    (hashtable, skiplist, a quicklist of many nodes)."""
    out = []
    for i in range(keys // 10):
        n = b"%d" % i
        out += [[b"HSET", b"h:" + n, b"a", n, b"b", b"field:" + n],
                [b"SADD", b"s:" + n, b"1", b"2", n],
                [b"RPUSH", b"l:" + n, b"a", b"item:" + n, n],
                [b"ZADD", b"z:" + n, b"1", b"a", b"2.5", b"member:" + n]]
    big = keys // 5
    for start in range(0, big, 100):
        span = range(start, min(big, start + 100))
        out += [[b"HSET", b"bighash"] + [x for i in span for x in (b"f%d" % i, b"v%d" % i)],
                [b"SADD", b"bigset"] + [b"m%d" % i for i in span],
                [b"RPUSH", b"biglist"] + [b"item:%d" % i for i in span],
                [b"ZADD", b"bigzset"] + [x for i in span for x in (b"%d" % i, b"m%d" % i)]]
    return out


def _load(port: int, dataset: str, keys: int) -> None:
    if dataset == "keys":
        _load_keys(port, keys)
    elif dataset == "collections":
        _pipe(port, _collection_commands(keys))
    else:
        Conn(port).call("SETBIT", "k", "1016301586", "0")


def _timed_save(port: int) -> float:
    conn = Conn(port)
    started = time.perf_counter()
    conn.call("SAVE")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _background(port: int, command: str) -> Dict[str, float]:
    """Run BGSAVE or BGREWRITEAOF with a client pinging meanwhile."""
    field = "rdb_bgsave_in_progress" if command == "BGSAVE" else "aof_rewrite_in_progress"
    control = Conn(port)
    pinger = Conn(port)
    stop = threading.Event()
    worst: List[float] = [0.0]
    pings: List[int] = [0]

    def ping_loop() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            pinger.call("PING")
            worst[0] = max(worst[0], time.perf_counter() - started)
            pings[0] += 1

    thread = threading.Thread(target=ping_loop, daemon=True)
    thread.start()
    time.sleep(0.2)
    worst[0] = 0.0
    started = time.perf_counter()
    control.call(command)
    while control.info(field) != "0":
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    control.close()
    pinger.close()
    return {"seconds": elapsed, "stall": worst[0], "pings": pings[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1000000)
    parser.add_argument("--datasets", default="keys,bigstring")
    parser.add_argument("--pythonpath", default=None,
                        help="run miniredis from this source tree")
    parser.add_argument("--dir", default=None, help="where the files go")
    args = parser.parse_args()
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is required" % tool)
    workdir = tempfile.mkdtemp(prefix="snapshot-bench-", dir=args.dir)
    try:
        print("%-10s %-22s %14s %14s %9s" % ("dataset", "measure", "redis-server",
                                            "miniredis", "ratio"))
        for dataset in args.datasets.split(","):
            results: Dict[str, Dict[str, float]] = {}
            for name in ("redis-server", "miniredis"):
                proc = _start(name, os.path.join(workdir, dataset), args.pythonpath)
                port = proc.port  # type: ignore[attr-defined]
                try:
                    _load(port, dataset, args.keys)
                    row = {"SAVE s": _timed_save(port)}
                    for command in ("BGSAVE", "BGREWRITEAOF"):
                        result = _background(port, command)
                        row["%s s" % command] = result["seconds"]
                        row["%s max stall ms" % command] = result["stall"] * 1000
                    results[name] = row
                finally:
                    proc.terminate()
                    proc.wait(60)
            for measure in results["redis-server"]:
                real, mini = results["redis-server"][measure], results["miniredis"][measure]
                print("%-10s %-22s %14.3f %14.3f %9.2f" % (
                    dataset, measure, real, mini, mini / real if real else float("nan")))
            sys.stdout.flush()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
