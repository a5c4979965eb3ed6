"""The dispatch hot path in-process: nanoseconds per SET and GET, no network.

``redis-benchmark`` figures on a shared two-core machine move by several percent from
run to run, too much to see a change of a few percent in the dispatcher. This times
``Client.process`` (hiredis parsing, ``run_requests``, the reply joined and handed to a
socket that swallows it) on prepared input in this process: a pipeline of 16 SETs or
GETs per read, and single requests, in this thread's CPU time. Each figure is the best of ``--repeat`` runs, and
the configurations asked for (``--config name=value``, repeatable, e.g.
``latency-tracking=no``) run interleaved so drift in machine load hits them alike.

    python benchmarks/dispatch.py [--rounds 20000] [--repeat 15] \
        [--config latency-tracking=yes --config latency-tracking=no]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from miniredis import Server  # noqa: E402
from miniredis.connection import Client  # noqa: E402
from inprocess import NullSocket, check_open, encode  # noqa: E402


def _workloads() -> Dict[str, Tuple[bytes, int]]:
    """name: (one read's bytes, requests in it)."""
    sets = b"".join(encode(b"SET", b"key:%04d" % i, b"xxx") for i in range(16))
    gets = b"".join(encode(b"GET", b"key:%04d" % i) for i in range(16))
    return {"SET -P 16": (sets, 16), "GET -P 16": (gets, 16),
            "SET": (encode(b"SET", b"key:0000", b"xxx"), 1),
            "GET": (encode(b"GET", b"key:0000"), 1)}


def _time(client: Client, data: bytes, rounds: int) -> float:
    process = client.process
    clock = time.thread_time      # CPU time: the other jobs on the machine do not count
    started = clock()
    for _ in range(rounds):
        process(data)
    return clock() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20000, help="reads per timing")
    parser.add_argument("--repeat", type=int, default=15, help="timings per figure")
    parser.add_argument("--config", action="append", default=[],
                        help="name=value; each one is a configuration to compare")
    options = parser.parse_args()
    configs: List[Tuple[str, str]] = [tuple(item.split("=", 1))  # type: ignore[misc]
                                      for item in options.config] or [("", "")]
    server = Server()
    client = Client(server.state, NullSocket(), "127.0.0.1:1", "127.0.0.1:6379")
    workloads = _workloads()
    best: Dict[Tuple[str, str], float] = {}
    for _ in range(options.repeat):
        for name, value in configs:
            if name:
                server.state.config.set(name, value)
            for label, (data, count) in workloads.items():
                rounds = options.rounds // count * (4 if count > 1 else 1)
                per = _time(client, data, rounds) / (rounds * count) * 1e9
                key = (label, "%s=%s" % (name, value) if name else "default")
                best[key] = min(best.get(key, float("inf")), per)
    check_open(client)
    labels = [("%s=%s" % c) if c[0] else "default" for c in configs]
    print("%-12s" % "ns/request" + "".join("%28s" % label for label in labels))
    for workload in workloads:
        row = [best[(workload, label)] for label in labels]
        cells = "".join("%28.0f" % value for value in row[:1])
        cells += "".join("%20.0f (%+5.1f%%)" % (value, 100.0 * (value / row[0] - 1))
                         for value in row[1:])
        print("%-12s" % workload + cells)
    return 0


if __name__ == "__main__":
    sys.exit(main())
