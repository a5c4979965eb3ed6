"""Cost of ACL checks: SET/GET under a restricted user next to the default user.

Starts redis-server and miniredis, creates on both a user limited to the keys
redis-benchmark uses (``on >benchpw ~key:* +@all``), then runs ``redis-benchmark`` with
50 clients (SET and GET) as the default user and as that user, alternating rounds so
both see the same machine load, and prints the median requests per second of each and
the ratio restricted / default (the target for miniredis: within 10%). Throughput on a
shared machine is noisy, so it also prints the server's own CPU time per request
(utime + stime from /proc, Linux only), which other processes disturb far less.

    python benchmarks/acl.py [-n REQUESTS] [--rounds N] [--pipeline P]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import run_benchmark, start_servers, stop_servers  # noqa: E402

USER = ["ACL", "SETUSER", "bench", "on", ">benchpw", "~key:*", "+@all"]


def send(port: int, args: List[str]) -> bytes:
    """One command over a raw socket (no client library needed)."""
    payload = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; 0 where /proc is absent."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipeline", type=int, default=1, help="redis-benchmark -P")
    options = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print("%s is required (Debian package redis-server / redis-tools)" % tool)
            return 1
    workdir = tempfile.mkdtemp(prefix="miniredis-acl-bench-")
    ports, procs = start_servers(workdir)
    try:
        for port in ports.values():
            assert send(port, USER) == b"+OK\r\n"
        extra = ["-c", "50"] + (["-P", str(options.pipeline)] if options.pipeline > 1 else [])
        users = {"default": [], "bench ~key:*": ["--user", "bench", "-a", "benchpw"]}
        samples: Dict[tuple, List[float]] = {}
        pids = dict(zip(ports, (proc.pid for proc in procs)))
        for _ in range(options.rounds):
            for server, port in ports.items():
                for user, auth in users.items():
                    before = cpu_seconds(pids[server])
                    result = run_benchmark(port, options.requests, "set,get", extra + auth)
                    used = cpu_seconds(pids[server]) - before
                    samples.setdefault((server, "cpu", user), []).append(
                        used / (2 * options.requests) * 1e6)
                    for test, rps in result.items():
                        samples.setdefault((server, test, user), []).append(rps)
        print("%-14s %-22s %14s %14s %8s" % ("server", "measure (median)", "default user",
                                            "bench ~key:*", "ratio"))
        for server in ports:
            for test, label in (("SET", "SET requests/s"), ("GET", "GET requests/s"),
                                ("cpu", "server CPU us/request")):
                base = statistics.median(samples[(server, test, "default")])
                restricted = statistics.median(samples[(server, test, "bench ~key:*")])
                print("%-14s %-22s %14.1f %14.1f %7.1f%%" % (
                    server, label, base, restricted,
                    100.0 * restricted / base if base else 0.0))
    finally:
        stop_servers(procs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
