"""Throughput of miniredis next to a real redis-server, in the same run.

Starts both servers on free ports, runs ``redis-benchmark`` with the same settings
against each (50 clients unpipelined, 50 clients with -P 16, 1 client) and prints
requests per second and the ratio miniredis / redis-server for every test.

    python benchmarks/compare.py [-n REQUESTS] [--tests ping,set,get,incr,mset] [--quick]
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGURATIONS = [("50 clients", ["-c", "50"]), ("50 clients -P 16", ["-c", "50", "-P", "16"]),
                  ("1 client", ["-c", "1"])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 15
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server on port %d exited at start-up" % port)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server on port %d did not start" % port)


def start_servers(workdir: str, maxclients: int = 10000
                  ) -> Tuple[Dict[str, int], List[subprocess.Popen]]:
    ports = {"redis-server": free_port(), "miniredis": free_port()}
    procs = [
        subprocess.Popen(["redis-server", "--port", str(ports["redis-server"]), "--save", "",
                          "--appendonly", "no", "--dir", workdir,
                          "--maxclients", str(maxclients)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "miniredis", "--port",
                          str(ports["miniredis"]), "--loglevel", "warning",
                          "--save", "", "--dir", workdir,
                          "--maxclients", str(maxclients)], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    for proc, port in zip(procs, ports.values()):
        wait_for(port, proc)
    return ports, procs


def stop_servers(procs: List[subprocess.Popen], workdir: str) -> None:
    for proc in procs:
        proc.terminate()
        proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)


def tools_missing(what: str = "") -> bool:
    """True (and says so) when redis-server or redis-benchmark is not installed."""
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print("%s is required%s (Debian package redis-server / redis-tools)"
                  % (tool, what))
            return True
    return False


def run_benchmark(port: int, requests: int, tests: str, extra: List[str]) -> Dict[str, float]:
    output = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(requests), "-t", tests, "--csv",
         *extra], capture_output=True, text=True, check=True).stdout
    results = {}
    for row in csv.reader(io.StringIO(output)):
        if len(row) >= 2 and row[0] != "test":
            results[row[0]] = float(row[1])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=100000)
    parser.add_argument("--tests", default="ping,set,get,incr,mset,lpush,rpush,lpop,rpop,lrange_100")
    parser.add_argument("--quick", action="store_true", help="20000 requests per test")
    options = parser.parse_args()
    if tools_missing():
        return 1
    requests = 20000 if options.quick else options.requests
    workdir = tempfile.mkdtemp(prefix="miniredis-bench-")
    ports, procs = start_servers(workdir)
    try:
        print("%-18s %-16s %14s %14s %8s" % ("configuration", "test", "redis-server",
                                              "miniredis", "ratio"))
        for label, extra in CONFIGURATIONS:
            # One client cannot go far: fewer requests keep the run short.
            count = requests if extra != ["-c", "1"] else max(requests // 5, 1000)
            count = count * 4 if "-P" in extra else count
            real = run_benchmark(ports["redis-server"], count, options.tests, extra)
            mini = run_benchmark(ports["miniredis"], count, options.tests, extra)
            for test, real_rps in real.items():
                mini_rps = mini.get(test, 0.0)
                print("%-18s %-16s %14.0f %14.0f %7.0f%%" % (
                    label, test, real_rps, mini_rps, 100.0 * mini_rps / real_rps))
    finally:
        stop_servers(procs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
