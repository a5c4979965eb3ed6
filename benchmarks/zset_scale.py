"""Sorted sets at scale: a 1,000,000-member set in redis-server and in miniredis.

Starts both servers on free ports, fills one sorted set with ``--members`` members
(``member:%012d`` scored by their number, as redis-benchmark's ``__rand_int__`` spells
them) through pipelined ZADDs, then runs ``redis-benchmark`` with 50 clients against
each for ZADD (random members, so mostly score updates that move entries), ZRANK,
ZSCORE and ZRANGEBYSCORE with LIMIT 0 10, and prints requests per second side by side
with the ratio miniredis / redis-server. The target for miniredis is 20,000 ops/s each.

    python benchmarks/zset_scale.py [--members 1000000] [-n 100000] [-c 50]
"""
from __future__ import annotations

import argparse
import csv
import io
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from benchmarks.compare import start_servers  # noqa: E402

KEY = "zscale"
TESTS = [
    ("ZADD", ["ZADD", KEY, "__rand_int__", "member:__rand_int__"]),
    ("ZRANK", ["ZRANK", KEY, "member:__rand_int__"]),
    ("ZSCORE", ["ZSCORE", KEY, "member:__rand_int__"]),
    ("ZRANGEBYSCORE LIMIT 0 10",
     ["ZRANGEBYSCORE", KEY, "__rand_int__", "+inf", "LIMIT", "0", "10"]),
]
TARGET = 20000.0


def _encode(args: List[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def fill(port: int, members: int, batch: int = 1000, window: int = 20) -> float:
    """Add ``members`` members with pipelined ZADDs; returns the seconds it took.

    Every reply is one integer line, so counting CRLFs counts replies; at most
    ``window`` commands are in flight."""
    started = time.time()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(600)
    tail = b""

    def drain(down_to: int, pending: int) -> int:
        nonlocal tail
        while pending > down_to:
            data = tail + sock.recv(1 << 16)
            pending -= data.count(b"\r\n")
            tail = data[-1:] if data.endswith(b"\r") else b""
        return pending

    try:
        sock.sendall(_encode([b"DEL", KEY.encode()]))
        pending = 1
        for start in range(0, members, batch):
            args = [b"ZADD", KEY.encode()]
            for i in range(start, min(start + batch, members)):
                args += [b"%d" % i, b"member:%012d" % i]
            sock.sendall(_encode(args))
            pending = drain(window, pending + 1)
        drain(0, pending)
        sock.sendall(_encode([b"ZCARD", KEY.encode()]))
        reply = sock.recv(100)
        if reply != b":%d\r\n" % members:
            raise SystemExit("fill failed on port %d: ZCARD %r" % (port, reply))
    finally:
        sock.close()
    return time.time() - started


def bench(port: int, args: List[str], requests: int, clients: int, members: int) -> float:
    output = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(requests), "-c", str(clients),
         "-r", str(members), "--csv", *args],
        capture_output=True, text=True, check=True).stdout
    for row in csv.reader(io.StringIO(output)):
        if len(row) >= 2 and row[0] != "test":
            return float(row[1])
    raise SystemExit("no result from redis-benchmark: %r" % output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("-n", "--requests", type=int, default=100_000)
    parser.add_argument("-c", "--clients", type=int, default=50)
    options = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print("%s not found" % tool, file=sys.stderr)
            return 1
    workdir = tempfile.mkdtemp(prefix="zset-scale-")
    ports, procs = start_servers(workdir)
    try:
        for name, port in ports.items():
            print("filling %s with %d members: %.1f s"
                  % (name, options.members, fill(port, options.members)), flush=True)
        results: Dict[str, Dict[str, float]] = {}
        for label, args in TESTS:
            results[label] = {name: bench(port, args, options.requests, options.clients,
                                          options.members)
                              for name, port in ports.items()}
        print()
        print("%-26s %14s %14s %7s  %s" % ("test (-c %d)" % options.clients,
                                           "redis-server", "miniredis", "ratio",
                                           "target"))
        ok = True
        for label, _ in TESTS:
            real, mini = results[label]["redis-server"], results[label]["miniredis"]
            met = mini >= TARGET
            ok = ok and met
            print("%-26s %14.0f %14.0f %7.2f  %s" % (label, real, mini, mini / real,
                                                     "ok" if met else "BELOW %d" % TARGET))
        return 0 if ok else 2
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
