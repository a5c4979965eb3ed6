"""``make bench``: every goal of issue 17, side by side with redis-server, one run.

Runs, in order:

1. throughput.py -- goal 1 (50 clients -P 16 >= 0.6x), goal 3 (GET with 1M keys >=
   0.95x GET with 1k keys), goal 5 (peers), goal 6 (one client's p50 <= 1.1x, no
   regression at 50 clients against the committed benchmarks/latest.json);
2. goal 2 -- a 1,000,000-member sorted set (zset_scale.py's fill): ZADD, ZRANK and
   ZRANGEBYSCORE ... LIMIT 0 10 with ``-c 50 -r 1000000`` >= 0.6x;
3. memory.py -- goal 4, bytes per key of each dataset;

then prints a summary of the goals, writes the figures as JSON and draws the chart
(chart.py). ``--quick`` (about 3 minutes) uses fewer requests, a 200,000-key GET test,
a 100,000-member sorted set and a tenth of each memory dataset: the goals are then
checked at that scale. Without ``--publish`` the output goes to benchmarks/results/
(not committed); ``--publish`` writes benchmarks/latest.json and benchmarks/chart.png.

    python benchmarks/bench.py [--quick] [--publish] [--only throughput,zset,memory]
        [--no-peers] [--rounds 2] [--baseline FILE] [--pythonpath SRC]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from benchmarks import memory, servers, throughput  # noqa: E402
from benchmarks.servers import Server  # noqa: E402
from benchmarks.throughput import turns  # noqa: E402
from benchmarks.zset_scale import TESTS as ZSET_TESTS, bench as zset_bench, fill  # noqa: E402

PUBLISHED = os.path.join(HERE, "latest.json")
GOAL_ZSET = 0.6
ZSET_GOAL_TESTS = ["ZADD", "ZRANK", "ZRANGEBYSCORE LIMIT 0 10"]


def run_zset(members: int, requests: int, rounds: int, log=servers.log) -> dict:
    """Goal 2: both servers hold one ``members``-member sorted set; alternating rounds."""
    workdir = tempfile.mkdtemp(prefix="miniredis-zset-")
    running: Dict[str, Server] = {}
    results: Dict[str, Dict[str, float]] = {}
    try:
        for kind in ("redis-server", "miniredis"):
            running[kind] = Server(kind, workdir)
            log("  filled %s with %d members: %.1f s"
                % (kind, members, fill(running[kind].port, members)))
        for round_no in range(rounds):
            for kind in turns(list(running), round_no):
                for label, args in ZSET_TESTS:
                    rps = zset_bench(running[kind].port, args, requests, 50, members)
                    per = results.setdefault(label, {})
                    per[kind] = max(per.get(kind, 0.0), rps)
    finally:
        for server in running.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"members": members, "requests": requests, "results": results}


def report_zset(zset: dict) -> Dict[str, bool]:
    print("\nSorted set of %d members, 50 clients, -r %d (requests per second; goal 2: "
          ">= %.1f)" % (zset["members"], zset["members"], GOAL_ZSET))
    print("%-26s %12s %12s %6s  %s" % ("test", "redis-server", "miniredis", "ratio", "g2"))
    met = True
    for label, per in zset["results"].items():
        ratio = per["miniredis"] / per["redis-server"]
        mark = ""
        if label in ZSET_GOAL_TESTS:
            ok = ratio >= GOAL_ZSET
            met = met and ok
            mark = "yes" if ok else "NO"
        print("%-26s %12.0f %12.0f %6.2f  %s" % (label, per["redis-server"],
                                                per["miniredis"], ratio, mark))
    return {"2": met}


GOAL_TEXT = {
    "1": "50 clients -P 16 >= 0.6x redis-server on every test",
    "2": "1M-member sorted set: ZADD, ZRANK, ZRANGEBYSCORE >= 0.6x",
    "3": "GET with 1M keys >= 0.95x GET with 1k keys",
    "4": "memory per key <= 1.8x (strings), <= 2x (hash, set, zset, list item)",
    "5 alicebob": "ahead of alicebob/miniredis at 50 clients, with and without -P 16",
    "5 fakeredis": ">= 10x fakeredis TCP at 50 clients, with and without -P 16",
    "6 latency": "1 client p50 latency <= 1.1x redis-server",
    "6 no regression": "50 clients ratio >= 0.9x the baseline's (benchmarks/latest.json)",
}


def _meta(options: argparse.Namespace, peers: List[str]) -> dict:
    def version(argv: List[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    source = os.environ.get("MINIREDIS_PYTHONPATH") or os.path.dirname(HERE)
    commit = version(["git", "-C", os.path.dirname(HERE), "log", "-1", "--format=%h %s"])
    if os.environ.get("MINIREDIS_PYTHONPATH"):
        stamp = os.path.join(source, "COMMIT")  # written next to a git archive
        commit = "miniredis from %s%s" % (
            source, " (%s)" % open(stamp).read().strip() if os.path.exists(stamp) else "")
    return {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "quick": bool(options.quick), "rounds": options.rounds,
        "python": platform.python_version(),
        # (which build: Debian's links libpython in and is PGO/LTO-built, a default
        # source build's shared libpython is 6-13% slower -- see the README)
        "python_executable": os.path.realpath(sys.executable),
        "python_libpython_shared": _libpython_shared(),
        "redis_server": version(["redis-server", "--version"]),
        "commit": commit, "cpus": os.cpu_count(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "peers": peers,
        "missing_peers": {kind: servers.missing(kind) for kind in servers.PEERS
                          if servers.missing(kind)},
    }


def _libpython_shared() -> Optional[bool]:
    """Whether this interpreter runs from a shared libpython (None: no /proc)."""
    try:
        with open("/proc/self/maps") as maps:
            return "libpython" in maps.read()
    except OSError:
        return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--publish", action="store_true",
                        help="write benchmarks/latest.json and benchmarks/chart.png")
    parser.add_argument("--only", default="throughput,zset,memory")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("-n", "--requests", type=int, default=None)
    parser.add_argument("--pythonpath", default=None,
                        help="run miniredis from this source tree (e.g. git archive main)")
    parser.add_argument("--baseline", default=None,
                        help="earlier results for goal 6 (default benchmarks/latest.json)")
    options = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every server started so far is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if options.pythonpath:
        os.environ["MINIREDIS_PYTHONPATH"] = os.path.abspath(options.pythonpath)
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if shutil.which(tool) is None:
            print("%s is required (Debian packages redis-server, redis-tools)" % tool)
            return 1
    parts = options.only.split(",")
    peers = [] if options.no_peers else servers.available_peers()
    results: dict = {"meta": _meta(options, peers)}
    servers.log("miniredis benchmarks%s: redis-server, miniredis%s" % (
        " (quick)" if options.quick else "", "".join(", " + p for p in peers)))
    for kind, why in results["meta"]["missing_peers"].items():
        print("  peer %s not run: %s" % (kind, why))
    started = time.time()
    baseline_path = options.baseline or (PUBLISHED if os.path.exists(PUBLISHED) else None)
    baseline = json.load(open(baseline_path)) if baseline_path else None
    goals: Dict[str, bool] = {}
    if "throughput" in parts:
        options.keys = None
        results.update(throughput.run(options))
        goals.update(throughput.report(results, baseline))
    if "zset" in parts:
        members = 100_000 if options.quick else 1_000_000
        results["zset"] = run_zset(members, 10_000 if options.quick else 100_000,
                                   options.rounds)
        goals.update(report_zset(results["zset"]))
    if "memory" in parts:
        options.scale = None
        options.datasets = ",".join(memory.DATASETS)
        results["memory"] = memory.run(options)
        goals.update(memory.report(results["memory"]))
    results["goals"] = goals
    results["meta"]["seconds"] = round(time.time() - started)
    print("\nGoals (issue 17)%s, %d s:" % (" at --quick scale" if options.quick else "",
                                          results["meta"]["seconds"]))
    for goal, met in sorted(goals.items()):
        print("  %-16s %-4s %s" % (goal, "met" if met else "NOT", GOAL_TEXT.get(goal, "")))
    out_dir = HERE if options.publish else os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    json_path = PUBLISHED if options.publish else os.path.join(out_dir, "results.json")
    with open(json_path, "w") as out:
        json.dump(results, out, indent=1)
    print("figures: %s" % os.path.relpath(json_path))
    try:
        from benchmarks import chart
    except ImportError as exc:  # matplotlib missing: the tables are still printed
        print("no chart (%s): pip install -e '.[bench]'" % exc)
        return 0
    png = os.path.join(out_dir, "chart.png")
    chart.draw(results, png)
    print("chart:   %s" % os.path.relpath(png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
