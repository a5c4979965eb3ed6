"""How long an embedded miniredis takes to start and stop (the test fixtures' cost).

Each round times, in this process:

* ``Server(port=0).start()``: construction (configuration, databases) and the start
  of the serving thread, until ``start()`` returns (it waits for the listener);
* until a client is served: a new TCP connection sends PING and reads +PONG, timed
  from the same origin, so this is what a fixture costs before its first command;
* ``stop()``: closing listeners and clients and joining the thread.

The first start in a process also imports every command module; it is reported
apart and not counted. For scale, ``--redis-server`` (default on when one is found)
times a real redis-server process from spawn to first PONG, and its shutdown.

    python benchmarks/embed_start.py [--rounds 50] [--no-redis-server]
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from miniredis import Server  # noqa: E402


def _ping(port: int, timeout: float = 10.0) -> None:
    """Connect (retrying while refused) and wait for +PONG."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16) == b"+PONG\r\n":
                    return
        except (ConnectionRefusedError, ConnectionResetError):
            pass
        if time.perf_counter() > deadline:
            raise TimeoutError("no PONG from port %d" % port)
        time.sleep(0.001)


def _miniredis_round() -> Dict[str, float]:
    begin = time.perf_counter()
    server = Server(port=0).start()
    started = time.perf_counter()
    _ping(server.port)
    served = time.perf_counter()
    server.stop()
    stopped = time.perf_counter()
    return {"start()": started - begin, "start() to first PONG": served - begin,
            "stop()": stopped - served}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_server_round(executable: str) -> Dict[str, float]:
    port = _free_port()
    begin = time.perf_counter()
    proc = subprocess.Popen([executable, "--port", str(port), "--save", "",
                             "--appendonly", "no", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _ping(port)
    served = time.perf_counter()
    proc.terminate()
    proc.wait()
    return {"spawn to first PONG": served - begin, "SIGTERM to exit": time.perf_counter()
            - served}


def _percentile(values: List[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _report(title: str, rounds: List[Dict[str, float]]) -> None:
    print(title)
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        print("  %-24s median %7.2f ms   p95 %7.2f ms   max %7.2f ms" % (
            name, 1000 * _percentile(values, 0.5), 1000 * _percentile(values, 0.95),
            1000 * max(values)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--no-redis-server", action="store_true",
                        help="skip the redis-server comparison")
    args = parser.parse_args()
    first = _miniredis_round()
    print("first start in this process (imports the command modules): "
          "%.1f ms to first PONG" % (1000 * first["start() to first PONG"]))
    _report("miniredis Server(port=0), %d rounds" % args.rounds,
            [_miniredis_round() for _ in range(args.rounds)])
    executable = None if args.no_redis_server else shutil.which("redis-server")
    if executable:
        _report("redis-server process (%s), %d rounds" % (executable, args.rounds),
                [_redis_server_round(executable) for _ in range(args.rounds)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
