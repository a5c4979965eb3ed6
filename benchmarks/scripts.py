"""Lua scripts (EVAL, EVALSHA, FCALL): miniredis next to a real redis-server, same run.

Job queues and locks run their steps as scripts (arq, dramatiq, walrus, redis-py's
Lock), so a script's fixed cost -- finding it, the sandbox around its run, the
crossing into Lua and back for each redis.call -- is what such clients feel. Two parts:

* in process (no network): microseconds per request of a few script shapes, read 16
  at a time by ``Client.process`` (parsing, dispatch, the run and its reply);
* over the network with ``redis-benchmark``: the same shapes with 50 clients, with 50
  clients and ``-P 16``, and with one client; requests per second of each server and
  the ratio miniredis / redis-server.

    python benchmarks/scripts.py [-n REQUESTS]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from typing import List, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.compare import (run_benchmark, start_servers, stop_servers,  # noqa: E402
                                tools_missing)
from tests.harness import RawConnection  # noqa: E402

GET_ONE = "return redis.call('get', KEYS[1])"
INCR_GET = "redis.call('incr', KEYS[1]) return redis.call('get', KEYS[1])"
TEN_KEYS = ("local n = 0 for i = 1, #KEYS do "
            "if redis.call('exists', KEYS[i]) == 1 then n = n + 1 end end return n")
# One redis.call of 200 arguments (a script that pushes or reads a batch at once, as
# limits' moving window does with 5,000): lupa's per-argument cost grows with the count.
MGET_200 = ("local a = {} for i = 1, 200 do a[i] = KEYS[1] end "
            "return #redis.call('mget', unpack(a))")
LIBRARY = ("#!lua name=bench\n"
           "redis.register_function('getter', function(keys) "
           "return redis.call('get', keys[1]) end)")

# (name, request) as redis-benchmark sends it; EVALSHA's digest is filled in later.
SHAPES: List[Tuple[str, List[str]]] = [
    ("EVAL return 1", ["EVAL", "return 1", "0"]),
    ("EVAL one GET", ["EVAL", GET_ONE, "1", "bench:key"]),
    ("EVALSHA INCR+GET", ["EVALSHA", INCR_GET, "1", "bench:counter"]),
    ("EVAL 10 EXISTS", ["EVAL", TEN_KEYS, "10"] + ["bench:k%d" % i for i in range(10)]),
    ("FCALL one GET", ["FCALL", "getter", "1", "bench:key"]),
    ("EVAL MGET of 200", ["EVAL", MGET_200, "1", "bench:key"]),
]


def _prepare(port: int) -> str:
    """Keys and the library the shapes read; the SHA1 of INCR_GET (SCRIPT LOAD)."""
    conn = RawConnection(port)
    try:
        conn.call("FLUSHALL")
        conn.call("FUNCTION", "FLUSH")
        conn.call("SET", "bench:key", "value")
        conn.call("MSET", *[w for i in range(0, 10, 2) for w in ("bench:k%d" % i, "x")])
        conn.call("FUNCTION", "LOAD", LIBRARY)
        reply = conn.call("SCRIPT", "LOAD", INCR_GET)
        return reply.split(b"\r\n")[1].decode()
    finally:
        conn.close()


def _requests(sha: str) -> List[Tuple[str, List[str]]]:
    return [(name, [sha if word == INCR_GET else word for word in request])
            for name, request in SHAPES]


def _encode(words: List[str]) -> bytes:
    data = [w.encode() for w in words]
    return b"*%d\r\n" % len(data) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in data)


def in_process(reads: int) -> None:
    from benchmarks.inprocess import NullSocket
    from miniredis import Server, connection
    server = Server()
    client = connection.Client(server.state, NullSocket(), "127.0.0.1:1", "127.0.0.1:6379")
    client.process(_encode(["SET", "bench:key", "value"]))
    client.process(_encode(["FUNCTION", "LOAD", LIBRARY]))
    client.process(_encode(["SCRIPT", "LOAD", INCR_GET]))
    client.out.clear()
    sha = hashlib.sha1(INCR_GET.encode()).hexdigest()
    print("in process (microseconds per request, reads of 16)")
    for name, request in _requests(sha):
        data = _encode(request) * 16
        for _ in range(20):
            client.process(data)
            client.out.clear()
        started = time.perf_counter()
        for _ in range(reads):
            client.process(data)
            client.out.clear()
        print("  %-20s %8.2f" % (name, (time.perf_counter() - started) / reads / 16 * 1e6))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=50000)
    options = parser.parse_args()
    in_process(200)
    if tools_missing(" for the network part"):
        return 1
    workdir = tempfile.mkdtemp(prefix="miniredis-bench-")
    ports, procs = start_servers(workdir)
    try:
        shas = {name: _prepare(port) for name, port in ports.items()}
        print("\n%-16s %-20s %14s %14s %7s" % ("clients", "test", "redis-server",
                                               "miniredis", "ratio"))
        for label, extra, count in (("50", ["-c", "50"], options.requests),
                                    ("50 -P 16", ["-c", "50", "-P", "16"],
                                     options.requests * 2),
                                    ("1", ["-c", "1"], options.requests // 5)):
            for index, (name, _) in enumerate(SHAPES):
                rates = []
                for server, port in ports.items():
                    request = _requests(shas[server])[index][1]
                    result = run_benchmark(port, count, "", extra + request)
                    rates.append(next(iter(result.values())) if result else 0.0)
                print("%-16s %-20s %14.0f %14.0f %7.2f" % (
                    label, name, rates[0], rates[1], rates[1] / rates[0] if rates[0] else 0))
    finally:
        stop_servers(procs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
