"""CPU per propagated SET: a miniredis master's own CPU time per SET with one real
redis-server replica attached, against the same master with none.

Throughput on a shared 2-core machine swings with the load; the master process's CPU
time (user + system, from /proc) per request does much less, so the difference
"with a replica - without" is the cost of propagation itself (encoding, backlog,
replica output and its writes). ``--tree`` runs another source tree's miniredis (a
checkout of an older commit) with this interpreter, to compare two versions.

    python benchmarks/replication_cpu.py [-n REQUESTS] [--repeat 3] [--tree DIR ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
import redis  # noqa: E402
sys.path.insert(0, HERE)
from compare import free_port, wait_for  # noqa: E402

CONFIGURATIONS = [("50 clients", ["-c", "50"]), ("50 clients -P 16", ["-c", "50", "-P", "16"])]
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _start(command: List[str], cwd: str, workdir: str, *extra: str) -> subprocess.Popen:
    port = free_port()
    folder = tempfile.mkdtemp(dir=workdir)
    proc = subprocess.Popen(command + ["--port", str(port), "--dir", folder, "--save", "",
                                       "--appendonly", "no", *extra],
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.port = port  # type: ignore[attr-defined]
    wait_for(port, proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cpu_per_set(proc: subprocess.Popen, requests: int, extra: List[str]) -> float:
    """Microseconds of the master's CPU per SET over one redis-benchmark run."""
    before = _cpu(proc.pid)
    subprocess.run(["redis-benchmark", "-p", str(proc.port), "-t", "set", "-n",
                    str(requests), "-r", "100000", "-q", *extra],
                   capture_output=True, check=True, timeout=600)
    return (_cpu(proc.pid) - before) * 1e6 / requests


def _synced(master: int, replica: int) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        info = redis.Redis(port=replica).info("replication")
        if info.get("master_link_status") == "up" and info["master_repl_offset"] == \
                redis.Redis(port=master).info("replication")["master_repl_offset"]:
            return
        time.sleep(0.02)
    raise SystemExit("the replica did not sync")


def measure(tree: str, workdir: str, requests: int, repeat: int) -> None:
    master = _start([sys.executable, "-m", "miniredis", "--loglevel", "warning"], tree,
                    workdir)
    try:
        alone = [min(_cpu_per_set(master, requests, extra) for _ in range(repeat))
                 for _, extra in CONFIGURATIONS]
        replica = _start(["redis-server"], ROOT, workdir, "--replicaof", "127.0.0.1",
                         str(master.port))
        try:
            _synced(master.port, replica.port)
            attached = [min(_cpu_per_set(master, requests, extra) for _ in range(repeat))
                        for _, extra in CONFIGURATIONS]
            _synced(master.port, replica.port)
        finally:
            _stop(replica)
    finally:
        _stop(master)
    for (label, _), before, after in zip(CONFIGURATIONS, alone, attached):
        print("%-40s %-18s %8.2f %8.2f %8.2f" % (tree[-40:], label, before, after,
                                                after - before), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100000, help="SET requests per run")
    parser.add_argument("--repeat", type=int, default=3, help="least of N runs")
    parser.add_argument("--tree", action="append", help="source trees (default: this)")
    args = parser.parse_args()
    print("master CPU per SET, microseconds (least of %d runs)" % args.repeat)
    print("%-40s %-18s %8s %8s %8s" % ("tree", "clients", "alone", "replica", "cost"))
    workdir = tempfile.mkdtemp(prefix="repl-cpu-")
    for tree in args.tree or [ROOT]:
        measure(os.path.abspath(tree), workdir, args.n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
