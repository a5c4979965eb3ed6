"""Server CPU time per request under redis-benchmark, for several miniredis trees.

On a shared two-core machine redis-benchmark's requests per second mostly measure
scheduling (the benchmark client, the server and other work take turns on two
CPUs); the CPU time the server process itself spends per request (utime + stime
from ``/proc/<pid>/stat``) is far steadier. This starts redis-server and one
miniredis per ``--tree`` (a source tree, e.g. ``git archive main | tar -x -C DIR``;
default: this one), fills the 1,000,000-member sorted set of ``zset_scale.py`` in
each, then runs each test with ``redis-benchmark -c 50 -r MEMBERS`` (servers taking
turns, ``--rounds`` times) and prints, per server, the best requests per second and
the lowest CPU microseconds per request. ``--floor`` adds ``floor.py`` (the leanest
server the rules allow; not for the sorted-set tests).

    python benchmarks/server_cpu.py [--tree DIR ...] [--members 1000000] [-n 50000]
        [--rounds 2] [--pipeline 1] [--tests zadd,zrank,zscore,zrangebyscore,get]
        [--tests set,get,incr,hset,lpush,lrange_100] [--floor]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.compare import free_port, wait_for  # noqa: E402
from benchmarks.zset_scale import KEY, fill  # noqa: E402

TESTS = {
    "zadd": ["ZADD", KEY, "__rand_int__", "member:__rand_int__"],
    "zrank": ["ZRANK", KEY, "member:__rand_int__"],
    "zscore": ["ZSCORE", KEY, "member:__rand_int__"],
    "zrangebyscore": ["ZRANGEBYSCORE", KEY, "__rand_int__", "+inf", "LIMIT", "0", "10"],
    "zrangebyscore-inf": ["ZRANGEBYSCORE", KEY, "__rand_int__", "inf", "LIMIT", "0", "10"],
    "get": ["GET", "key:__rand_int__"],
    # redis-benchmark's own tests, spelled as it sends them (lrange_100 reads the list
    # lpush filled: list them in that order)
    "set": ["SET", "key:__rand_int__", "xxx"],
    "incr": ["INCR", "counter:__rand_int__"],
    "hset": ["HSET", "myhash", "element:__rand_int__", "xxx"],
    "lpush": ["LPUSH", "mylist", "xxx"],
    "lrange_100": ["LRANGE", "mylist", "0", "99"],
}


def _cpu_seconds(pid: int) -> float:
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", default=[])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("-n", "--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pipeline", type=int, default=1)
    parser.add_argument("--tests", default="zadd,zrank,zscore,zrangebyscore")
    parser.add_argument("--floor", action="store_true",
                        help="also run benchmarks/floor.py (not the z* tests)")
    options = parser.parse_args()
    trees = options.tree or [ROOT]
    workdir = tempfile.mkdtemp(prefix="server-cpu-")
    servers: List[Tuple[str, int, subprocess.Popen]] = []
    try:
        port = free_port()
        servers.append(("redis-server", port, subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        for tree in trees:
            port = free_port()
            servers.append(("mini:" + os.path.basename(tree.rstrip("/")), port,
                            subprocess.Popen(
                [sys.executable, "-m", "miniredis", "--port", str(port), "--loglevel",
                 "warning", "--save", "", "--dir", workdir], cwd=tree,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        if options.floor:
            port = free_port()
            servers.append(("floor", port, subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "benchmarks", "floor.py"), str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        for _, port, proc in servers:
            wait_for(port, proc)
        tests = options.tests.split(",")
        if any(t.startswith("z") for t in tests):
            for name, port, _ in servers:
                if name != "floor":
                    print("filling %s: %.1f s" % (name, fill(port, options.members)),
                          flush=True)
        best: Dict[Tuple[str, str], Tuple[float, float]] = {}
        for round_no in range(options.rounds):
            order = servers if round_no % 2 == 0 else servers[::-1]
            for test in tests:
                for name, port, proc in order:
                    if name == "floor" and test.startswith("z"):
                        continue
                    before = _cpu_seconds(proc.pid)
                    rps = _bench(port, TESTS[test], options)
                    used = _cpu_seconds(proc.pid) - before
                    per = used / options.requests * 1e6
                    old = best.get((test, name), (0.0, float("inf")))
                    best[(test, name)] = (max(old[0], rps), min(old[1], per))
        names = [name for name, _, _ in servers]
        print("%-20s" % "test" + "".join("%26s" % n[:26] for n in names))
        for test in tests:
            print("%-20s" % test + "".join(
                "%14.0f rps %5.1f us" % best[(test, n)] if (test, n) in best
                else "%26s" % "-" for n in names))
        return 0
    finally:
        for _, _, proc in servers:
            proc.terminate()
        for _, _, proc in servers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def _bench(port: int, args: List[str], options: argparse.Namespace) -> float:
    import csv
    import io
    argv = ["redis-benchmark", "-p", str(port), "-n", str(options.requests), "-c", "50",
            "-r", str(options.members), "--csv"]
    if options.pipeline > 1:
        argv += ["-P", str(options.pipeline)]
    output = subprocess.run(argv + args, capture_output=True, text=True,
                            check=True).stdout
    for row in csv.reader(io.StringIO(output)):
        if len(row) >= 2 and row[0] != "test":
            return float(row[1])
    raise SystemExit("no result from redis-benchmark: %r" % output)


if __name__ == "__main__":
    sys.exit(main())
