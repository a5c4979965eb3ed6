"""A write flood against a maxmemory limit, miniredis next to redis-server.

Starts both servers with the same ``maxmemory`` and policy, pipelines ``-n`` SETs of
distinct keys with ``--size``-byte values into each, and reports per server: how many
SETs were accepted or refused (OOM), keys left and evicted, evictions per second, the
server's final and peak RSS (from /proc) and their ratio to the limit, and
used_memory as the server reports it.

    python benchmarks/maxmemory.py [-n 200000] [--size 1024] [--maxmemory 50mb]
                                   [--policy allkeys-lru]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import ROOT, free_port, stop_servers, wait_for  # noqa: E402

BATCH = 1000


def _start(workdir: str, maxmemory: str, policy: str) -> Tuple[Dict[str, int], List[Any]]:
    ports = {"redis-server": free_port(), "miniredis": free_port()}
    common = ["--save", "", "--dir", workdir, "--maxmemory", maxmemory,
              "--maxmemory-policy", policy]
    procs = [
        subprocess.Popen(["redis-server", "--port", str(ports["redis-server"]),
                          "--appendonly", "no", *common],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "miniredis", "--port", str(ports["miniredis"]),
                          "--loglevel", "warning", *common], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    for proc, port in zip(procs, ports.values()):
        wait_for(port, proc)
    return ports, procs


def _rss(pid: int) -> Tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in bytes."""
    fields = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(rest.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def _read_replies(sock: socket.socket, count: int, buf: bytearray) -> Tuple[int, int]:
    """Read ``count`` simple replies; (ok, oom) counts."""
    ok = oom = 0
    while count:
        end = buf.find(b"\r\n")
        if end < 0:
            data = sock.recv(1 << 16)
            if not data:
                raise SystemExit("server closed the connection")
            buf += data
            continue
        line = bytes(buf[:end])
        del buf[:end + 2]
        if line == b"+OK":
            ok += 1
        elif line.startswith(b"-OOM"):
            oom += 1
        else:
            raise SystemExit("unexpected reply %r" % line)
        count -= 1
    return ok, oom


def _command(sock: socket.socket, *args: bytes) -> bytes:
    sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a)
                                                   for a in args))
    time.sleep(0.05)
    return sock.recv(1 << 20)


def _info(sock: socket.socket, section: bytes) -> Dict[str, str]:
    text = _command(sock, b"INFO", section).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def flood(port: int, pid: int, requests: int, size: int) -> Dict[str, float]:
    sock = socket.create_connection(("127.0.0.1", port))
    value = b"x" * size
    buf = bytearray()
    ok = oom = 0
    started = time.perf_counter()
    for first in range(0, requests, BATCH):
        count = min(BATCH, requests - first)
        sock.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                              % (len(key), key, size, value)
                              for key in (b"key:%d" % i for i in range(first, first + count))))
        done_ok, done_oom = _read_replies(sock, count, buf)
        ok += done_ok
        oom += done_oom
    elapsed = time.perf_counter() - started
    stats = _info(sock, b"stats")
    memory = _info(sock, b"memory")
    keyspace = _info(sock, b"keyspace")
    rss, peak = _rss(pid)
    sock.close()
    keys = int(keyspace.get("db0", "keys=0").split(",")[0].split("=")[1])
    evicted = int(stats["evicted_keys"])
    return {"ok": ok, "oom": oom, "keys": keys, "evicted": evicted, "seconds": elapsed,
            "sets_per_sec": requests / elapsed, "evictions_per_sec": evicted / elapsed,
            "rss": rss, "peak_rss": peak, "used_memory": int(memory["used_memory"]),
            "maxmemory": int(memory["maxmemory"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=200000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--maxmemory", default="50mb")
    parser.add_argument("--policy", default="allkeys-lru")
    options = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="miniredis-maxmemory-")
    ports, procs = _start(workdir, options.maxmemory, options.policy)
    try:
        results = {name: flood(port, proc.pid, options.requests, options.size)
                   for (name, port), proc in zip(ports.items(), procs)}
    finally:
        stop_servers(procs, workdir)
    mb = 1024 * 1024
    print("%d SETs of %d bytes, maxmemory %s, %s" % (options.requests, options.size,
                                                   options.maxmemory, options.policy))
    print("%-13s %8s %8s %8s %8s %9s %9s %9s %9s %9s %6s %6s" % (
        "server", "ok", "oom", "keys", "evicted", "sets/s", "evict/s", "used MB",
        "rss MB", "peak MB", "rss/x", "peak/x"))
    for name, r in results.items():
        print("%-13s %8d %8d %8d %8d %9.0f %9.0f %9.1f %9.1f %9.1f %6.2f %6.2f" % (
            name, r["ok"], r["oom"], r["keys"], r["evicted"], r["sets_per_sec"],
            r["evictions_per_sec"], r["used_memory"] / mb, r["rss"] / mb,
            r["peak_rss"] / mb, r["rss"] / r["maxmemory"], r["peak_rss"] / r["maxmemory"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
