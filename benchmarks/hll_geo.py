"""HyperLogLog and GEO throughput: miniredis next to a real redis-server, same run.

Two parts:

* in process (no network): the cost of one PFADD register update on a sparse and on a
  dense HLL, of a PFCOUNT recount (dense, after one PFADD) and of a full recount;
* over the network with ``redis-benchmark`` (50 clients, then 1 client): PFADD of
  one random element, PFCOUNT of a dense HLL (cached), PFADD+PFCOUNT in one script
  (a recount each time), PFCOUNT of two dense HLLs (a merge each time), GEOADD,
  GEOSEARCH and GEODIST; requests per second of each server and their ratio.

    python benchmarks/hll_geo.py [-n REQUESTS]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.compare import (run_benchmark, start_servers, stop_servers,  # noqa: E402
                                tools_missing)
from miniredis.datatypes import hll  # noqa: E402
from tests.harness import RawConnection  # noqa: E402


def _timed(function, repeat: int) -> float:
    started = time.perf_counter()
    for i in range(repeat):
        function(i)
    return (time.perf_counter() - started) / repeat * 1e6


def in_process() -> None:
    sparse = hll.new_sparse()
    for i in range(1500):
        hll.add(sparse, b"seed:%d" % i, 3000)
    dense = hll.new_sparse()
    for i in range(50000):
        hll.add(dense, b"seed:%d" % i, 3000)
    copies = [bytearray(sparse) for _ in range(2000)]
    print("in process (microseconds per operation)")
    print("  murmur64a of a 12-byte element     %8.2f" % _timed(
        lambda i: hll.murmur64a(b"element:%04d" % i), 20000))
    print("  PFADD into a 2.4 KB sparse HLL     %8.2f" % _timed(
        lambda i: hll.add(copies[i], b"new:%d" % i, 3000), 2000))
    print("  PFADD into a dense HLL             %8.2f" % _timed(
        lambda i: hll.add(dense, b"new:%d" % i, 3000), 20000))
    print("  PFADD + recount of a dense HLL     %8.2f" % _timed(
        lambda i: (hll.add(dense, b"again:%d" % i, 3000), hll.count(dense)), 5000))
    print("  full recount of a dense HLL        %8.2f" % _timed(
        lambda i: (hll._HISTOGRAMS.clear(), hll.count(dense)), 200))
    print("  recount of a 2.4 KB sparse HLL     %8.2f" % _timed(
        lambda i: hll.count(sparse), 2000))


BENCHMARKS = [
    ("PFADD 1 random element", ["PFADD", "hll:bench", "element:__rand_int__"]),
    ("PFCOUNT dense (cached)", ["PFCOUNT", "hll:dense"]),
    ("PFADD+PFCOUNT (script)", ["EVAL", "redis.call('pfadd', KEYS[1], ARGV[1]); "
                                "return redis.call('pfcount', KEYS[1])", "1", "hll:dense",
                                "x:__rand_int__"]),
    ("PFCOUNT 2 dense (merge)", ["PFCOUNT", "hll:dense", "hll:dense2"]),
    ("GEOADD 1 point", ["GEOADD", "geo:bench", "13.36", "38.11", "m:__rand_int__"]),
    ("GEOSEARCH 10 km", ["GEOSEARCH", "geo:set", "FROMLONLAT", "13.4", "38.1", "BYRADIUS",
                         "10", "km", "ASC", "COUNT", "10"]),
    ("GEODIST", ["GEODIST", "geo:set", "p1", "p2", "km"]),
]


def _prepare(port: int) -> None:
    conn = RawConnection(port)
    try:
        conn.call("FLUSHALL")
        for key in ("hll:dense", "hll:dense2"):
            for start in range(0, 20000, 1000):
                conn.call("PFADD", key, *("%s:%d" % (key, i)
                                          for i in range(start, start + 1000)))
        points: List[str] = []
        for i in range(2000):
            points += ["%.5f" % (13.0 + (i % 50) * 0.02), "%.5f" % (37.8 + (i // 50) * 0.015),
                       "p%d" % i]
        conn.call("GEOADD", "geo:set", *points)
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=50000)
    options = parser.parse_args()
    in_process()
    if tools_missing(" for the network part"):
        return 1
    workdir = tempfile.mkdtemp(prefix="miniredis-bench-")
    ports, procs = start_servers(workdir)
    try:
        for port in ports.values():
            _prepare(port)
        print("\n%-12s %-26s %14s %14s %8s" % ("clients", "test", "redis-server",
                                               "miniredis", "ratio"))
        for label, extra, count in (("50 clients", ["-c", "50"], options.requests),
                                    ("1 client", ["-c", "1"], options.requests // 5)):
            for name, command in BENCHMARKS:
                args = extra + ["-r", "1000000"]
                rates = []
                for port in ports.values():
                    result = run_benchmark(port, count, "", args + command)
                    rates.append(next(iter(result.values())) if result else 0.0)
                print("%-12s %-26s %14.0f %14.0f %7.0f%%" % (
                    label, name, rates[0], rates[1], 100.0 * rates[1] / rates[0]))
    finally:
        stop_servers(procs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
