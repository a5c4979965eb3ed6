"""Messages per second through a Redis list used as a queue, miniredis next to redis-server.

Producers LPUSH and consumers BRPOP at the same time (8 connections each by default),
both driven by ``redis-benchmark`` so the clients cost the same on both servers; the
rate is the number of messages divided by the time until every one was consumed.

    python benchmarks/queue.py [-n MESSAGES] [--producers 8] [--consumers 8]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import start_servers, stop_servers  # noqa: E402


def _redis_cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                          text=True, check=True).stdout.strip()


def queue_rate(port: int, messages: int, producers: int, consumers: int) -> float:
    """Messages/s: ``messages`` LPUSHed and BRPOPed concurrently on a fresh key."""
    _redis_cli(port, "DEL", "bench:queue")
    common = ["redis-benchmark", "-p", str(port), "-n", str(messages), "-q"]
    started = time.perf_counter()
    consume = subprocess.Popen(common + ["-c", str(consumers), "BRPOP", "bench:queue", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    produce = subprocess.Popen(common + ["-c", str(producers), "LPUSH", "bench:queue",
                                         "__rand_int__"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    produce.wait()
    consume.wait()
    elapsed = time.perf_counter() - started
    left = int(_redis_cli(port, "LLEN", "bench:queue"))
    if left:
        raise SystemExit("%d messages were not consumed on port %d" % (left, port))
    return messages / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=100000)
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--consumers", type=int, default=8)
    options = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if shutil.which(tool) is None:
            print("%s is required (Debian package redis-server / redis-tools)" % tool)
            return 1
    workdir = tempfile.mkdtemp(prefix="miniredis-queue-")
    ports, procs = start_servers(workdir)
    try:
        rates = {name: queue_rate(port, options.messages, options.producers,
                                  options.consumers) for name, port in ports.items()}
        print("queue (%d producers LPUSH, %d consumers BRPOP, %d messages)"
              % (options.producers, options.consumers, options.messages))
        print("  redis-server  %10.0f msg/s" % rates["redis-server"])
        print("  miniredis     %10.0f msg/s" % rates["miniredis"])
        print("  ratio         %10.0f%%" % (100.0 * rates["miniredis"] / rates["redis-server"]))
    finally:
        stop_servers(procs, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
