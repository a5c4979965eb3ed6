"""Streams throughput of miniredis next to a real redis-server, in the same run.

Two measurements, each on both servers (started side by side on free ports):

* XADD throughput: ``redis-benchmark ... XADD bench:s * field value`` with 50 clients
  unpipelined and with ``-P 16``: requests per second and the ratio.
* A stream task queue: producer processes XADD messages (one round trip each) while
  consumer processes loop on ``XREADGROUP GROUP g cN COUNT 10 BLOCK 100 STREAMS
  bench:q >`` and XACK what they got. The same redis-py driver runs against both
  servers; the rate is the number of messages divided by the time from the moment
  every process is connected until the last message is acknowledged. Afterwards the
  run checks that each message was acknowledged exactly once and nothing is pending.

    python benchmarks/streams.py [-n MESSAGES] [--producers 4] [--consumers 4]
                                 [--xadd-requests N] [--quick]
"""
from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict

# benchmarks/queue.py would shadow the standard library's queue module (which redis-py
# imports): take this directory off the path and load compare.py by its file name.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
_spec = importlib.util.spec_from_file_location("_bench_compare",
                                               os.path.join(_HERE, "compare.py"))
_compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_compare)  # type: ignore[union-attr]
start_servers = _compare.start_servers

STREAM = b"bench:q"
GROUP = b"g"
XADD_CONFIGURATIONS = [("50 clients", ["-c", "50"]), ("50 clients -P 16", ["-c", "50", "-P", "16"])]


# -- XADD with redis-benchmark ---------------------------------------------------------
def xadd_rate(port: int, requests: int, extra: list) -> float:
    """Requests/s of ``XADD bench:s * field value`` (redis-benchmark, CSV output)."""
    subprocess.run(["redis-cli", "-p", str(port), "DEL", "bench:s"], check=True,
                   capture_output=True)
    output = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(requests), "--csv", *extra,
         "XADD", "bench:s", "*", "field", "value"],
        capture_output=True, text=True, check=True).stdout
    # The last CSV row is the result: "XADD bench:s * field value","<rps>",...
    row = [line for line in output.splitlines() if line.strip()][-1]
    return float(row.split('","')[1].strip('"'))


# -- the stream queue ---------------------------------------------------------------------
def _producer(port: int, first: int, count: int, start: Any) -> None:
    """XADD ``count`` messages, one round trip each."""
    import redis
    client = redis.Redis(port=port)
    client.ping()
    start.wait()
    payload = b"x" * 32
    for number in range(first, first + count):
        client.xadd(STREAM, {b"task": number, b"payload": payload})
    client.close()


def _consumer(port: int, name: bytes, total: int, start: Any, acked: Any,
              finished: Any) -> None:
    """XREADGROUP COUNT 10 BLOCK 100 and XACK until every message is acknowledged."""
    import redis
    client = redis.Redis(port=port)
    client.ping()
    start.wait()
    streams = {STREAM: b">"}
    while acked.value < total:
        reply = client.xreadgroup(GROUP, name, streams, count=10, block=100)
        if not reply:
            continue
        ids = [message_id for message_id, _ in reply[0][1]]
        client.xack(STREAM, GROUP, *ids)
        with acked.get_lock():
            acked.value += len(ids)
            if acked.value >= total and finished.value == 0.0:
                finished.value = time.perf_counter()
    client.close()


def queue_rate(port: int, messages: int, producers: int, consumers: int) -> float:
    """Messages/s through a consumer group on a fresh stream (see the module doc)."""
    import redis
    admin = redis.Redis(port=port)
    admin.delete(STREAM)
    admin.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    start = context.Barrier(producers + consumers + 1)
    acked = context.Value("q", 0)
    finished = context.Value("d", 0.0)
    share, extra = divmod(messages, producers)
    workers = []
    first = 0
    for i in range(producers):
        count = share + (1 if i < extra else 0)
        workers.append(context.Process(target=_producer, args=(port, first, count, start)))
        first += count
    for i in range(consumers):
        workers.append(context.Process(target=_consumer, args=(
            port, b"c%d" % (i + 1), messages, start, acked, finished)))
    for worker in workers:
        worker.start()
    start.wait()                       # every process is connected: go
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    if acked.value != messages:
        raise SystemExit("port %d: %d messages acknowledged, expected %d"
                         % (port, acked.value, messages))
    pending = admin.xpending(STREAM, GROUP)["pending"]
    length = admin.xlen(STREAM)
    admin.delete(STREAM)
    admin.close()
    if pending or length != messages:
        raise SystemExit("port %d: %d pending, %d in the stream (expected 0, %d)"
                         % (port, pending, length, messages))
    return messages / (finished.value - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--messages", type=int, default=100000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--xadd-requests", type=int, default=200000)
    parser.add_argument("--quick", action="store_true",
                        help="20,000 messages and 50,000 XADD requests")
    options = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if shutil.which(tool) is None:
            print("%s is required (Debian package redis-server / redis-tools)" % tool)
            return 1
    messages = 20000 if options.quick else options.messages
    requests = 50000 if options.quick else options.xadd_requests
    workdir = tempfile.mkdtemp(prefix="miniredis-streams-")
    ports, procs = start_servers(workdir)
    try:
        print("%-28s %14s %14s %8s" % ("XADD bench:s * field value", "redis-server",
                                       "miniredis", "ratio"))
        for label, extra in XADD_CONFIGURATIONS:
            count = requests * 4 if "-P" in extra else requests
            rates: Dict[str, float] = {name: xadd_rate(port, count, extra)
                                       for name, port in ports.items()}
            print("%-28s %14.0f %14.0f %7.0f%%" % (
                label, rates["redis-server"], rates["miniredis"],
                100.0 * rates["miniredis"] / rates["redis-server"]))
        rates = {name: queue_rate(port, messages, options.producers, options.consumers)
                 for name, port in ports.items()}
        print()
        print("stream queue (%d producers XADD, %d consumers XREADGROUP COUNT 10 BLOCK 100 "
              "+ XACK, %d messages)" % (options.producers, options.consumers, messages))
        print("  redis-server  %10.0f msg/s" % rates["redis-server"])
        print("  miniredis     %10.0f msg/s" % rates["miniredis"])
        print("  ratio         %10.0f%%" % (100.0 * rates["miniredis"] / rates["redis-server"]))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
