"""CPU used by a server while thousands of clients sit blocked in BRPOP.

Opens N connections (10,000 by default) to miniredis and to redis-server, parks each in
``BRPOP`` with a timeout longer than the measurement, and reads the server process's
CPU time (user + system, from /proc) over the measurement window. Idle waiters should
cost nothing: no polling, one timer each.

    python benchmarks/idle_blocked.py [--clients 10000] [--seconds 30]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import start_servers, stop_servers  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def blocked_clients(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"INFO clients\r\n")
        data = b""
        while b"blocked_clients:" not in data or not data.endswith(b"\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    for line in data.split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    return -1


def park(port: int, clients: int, timeout: int) -> list:
    """Open ``clients`` connections, each blocked in BRPOP on its own key."""
    socks = []
    for i in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"BRPOP idle:%d %d\r\n" % (i, timeout))
        socks.append(sock)
    deadline = time.time() + 60
    while blocked_clients(port) < clients and time.time() < deadline:
        time.sleep(0.2)
    return socks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=30.0)
    options = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is required (Debian package redis-server)")
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * options.clients + 200
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    workdir = tempfile.mkdtemp(prefix="miniredis-idle-")
    ports, procs = start_servers(workdir, maxclients=options.clients + 100)
    try:
        print("%d clients blocked in BRPOP for %.0f s" % (options.clients, options.seconds))
        for (name, port), proc in zip(ports.items(), procs):
            socks = park(port, options.clients, int(options.seconds) + 60)
            blocked = blocked_clients(port)
            before = cpu_seconds(proc.pid)
            time.sleep(options.seconds)
            used = cpu_seconds(proc.pid) - before
            print("  %-13s blocked_clients=%d  CPU %.2f s = %.2f%% of one core"
                  % (name, blocked, used, 100.0 * used / options.seconds))
            for sock in socks:
                sock.close()
    finally:
        stop_servers(procs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
