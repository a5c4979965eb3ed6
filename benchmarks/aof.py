"""SET throughput with the append-only file on, miniredis next to redis-server.

For each fsync policy (``--policies``, default off, everysec, always) starts a real
redis-server and miniredis with the same persistence settings (``appendonly yes``,
``appendfsync <policy>``, ``aof-use-rdb-preamble no``, each in its own temporary
directory on the same file system), runs ``redis-benchmark -t set`` against each (50
clients unpipelined, and 50 clients with -P 16), and prints requests per second and
the ratio miniredis / redis-server. Same run, same machine: compare the ratios.

    python benchmarks/aof.py [-n REQUESTS] [--policies everysec,always] [--dir DIR]

``--dir`` chooses where the files go (default: a temporary directory under /tmp);
``always`` measures that file system's fsync as much as either server.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import free_port, wait_for  # noqa: E402

CONFIGURATIONS = [("50 clients", ["-c", "50"]), ("50 clients -P 16", ["-c", "50", "-P", "16"])]


def _persistence(policy: str) -> List[str]:
    if policy == "off":
        return ["--appendonly", "no"]
    return ["--appendonly", "yes", "--appendfsync", policy, "--aof-use-rdb-preamble", "no",
            "--auto-aof-rewrite-percentage", "0"]


def _start(name: str, policy: str, workdir: str) -> subprocess.Popen:
    port = free_port()
    folder = os.path.join(workdir, "%s-%s" % (name, policy))
    os.makedirs(folder)
    options = ["--port", str(port), "--dir", folder, "--save", ""] + _persistence(policy)
    if name == "redis-server":
        command = ["redis-server"] + options
    else:
        command = [sys.executable, "-m", "miniredis", "--loglevel", "warning"] + options
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    proc.port = port  # type: ignore[attr-defined]
    wait_for(port, proc)
    return proc


def _set_rps(port: int, requests: int, extra: List[str]) -> float:
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n",
                           str(requests), "-r", "100000", "--csv", *extra],
                          capture_output=True, text=True, timeout=600)
    rows = list(csv.reader(io.StringIO(done.stdout)))
    for row in rows:
        if row and row[0] == "SET":
            return float(row[1])
    raise SystemExit("redis-benchmark gave no SET result: %s %s" % (done.stdout, done.stderr))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50000, help="requests per test")
    parser.add_argument("--policies", default="off,everysec,always")
    parser.add_argument("--dir", default=None, help="where the AOF files go")
    args = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is required" % tool)
    workdir = tempfile.mkdtemp(prefix="aof-bench-", dir=args.dir)
    results: Dict[str, Dict[str, float]] = {}
    try:
        print("%-10s %-18s %14s %14s %7s" % ("fsync", "clients", "redis-server",
                                            "miniredis", "ratio"))
        for policy in args.policies.split(","):
            procs = {name: _start(name, policy, workdir)
                     for name in ("redis-server", "miniredis")}
            try:
                for label, extra in CONFIGURATIONS:
                    rps = {name: _set_rps(proc.port, args.n, extra)  # type: ignore
                           for name, proc in procs.items()}
                    results["%s %s" % (policy, label)] = rps
                    print("%-10s %-18s %14.0f %14.0f %7.2f" % (
                        policy, label, rps["redis-server"], rps["miniredis"],
                        rps["miniredis"] / rps["redis-server"]))
                    sys.stdout.flush()
            finally:
                for proc in procs.values():
                    proc.terminate()
                    proc.wait(30)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
