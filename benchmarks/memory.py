"""Memory per key: RSS growth of miniredis and redis-server (and peers) per dataset.

For every dataset each server starts fresh; its resident set (VmRSS in
/proc/<pid>/status) is read once it answers, the dataset goes in through
``redis-cli --pipe``, and the resident set is read again. The growth divided by the
number of keys (or list items) is the figure; the ratio miniredis / redis-server is
issue 17's goal 4: <= 1.8x per small string key, <= 2x per small hash, set, sorted set
and list item.

Datasets (``--scale 0.1`` loads a tenth of each, as ``--quick`` does):

* strings: 1,000,000 ``SET string:%07d value:%07d``
* hashes: 100,000 hashes of 10 small fields (``HSET hash:%06d f0 v0 ... f9 v9``)
* sets: 100,000 sets of 10 small members (``SADD set:%06d member:0 ... member:9``)
* zsets: 100,000 sorted sets of 10 members (``ZADD zset:%06d 0 member:0 ... 9 member:9``)
* list: one list of 1,000,000 items (``RPUSH list item:%07d ...``, 100 per command)

Peers are loaded by socket_load (they reject the empty line redis-cli --pipe sends),
fakeredis with a fifth of each dataset.

    python benchmarks/memory.py [--quick | --scale F] [--datasets strings,hashes]
        [--no-peers] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import servers  # noqa: E402
from benchmarks.servers import Server, resp  # noqa: E402


def _strings(count: int) -> Iterator[bytes]:
    for i in range(count):
        yield b"*3\r\n$3\r\nSET\r\n$14\r\nstring:%07d\r\n$13\r\nvalue:%07d\r\n" % (i, i)


def _hashes(count: int) -> Iterator[bytes]:
    fields = []
    for f in range(10):
        fields += ["f%d" % f, "v%d" % f]
    for i in range(count):
        yield resp("HSET", "hash:%06d" % i, *fields)


def _sets(count: int) -> Iterator[bytes]:
    members = ["member:%d" % m for m in range(10)]
    for i in range(count):
        yield resp("SADD", "set:%06d" % i, *members)


def _zsets(count: int) -> Iterator[bytes]:
    pairs = []
    for m in range(10):
        pairs += [str(m), "member:%d" % m]
    for i in range(count):
        yield resp("ZADD", "zset:%06d" % i, *pairs)


def _list(count: int) -> Iterator[bytes]:
    for start in range(0, count, 100):
        yield resp("RPUSH", "list", *["item:%07d" % i
                                      for i in range(start, min(start + 100, count))])


# name: (unit, full-size count, command generator, goal for miniredis / redis-server)
DATASETS: Dict[str, Tuple[str, int, Callable[[int], Iterator[bytes]], float]] = {
    "strings": ("string key", 1_000_000, _strings, 1.8),
    "hashes": ("hash of 10 fields", 100_000, _hashes, 2.0),
    "sets": ("set of 10 members", 100_000, _sets, 2.0),
    "zsets": ("sorted set of 10", 100_000, _zsets, 2.0),
    "list": ("list item", 1_000_000, _list, 2.0),
}


# fakeredis loads about 5,000 keys a second: it gets a fifth of each dataset (its
# figure is still per key; the table marks it with *).
PEER_SHARE = {"fakeredis": 0.2}


def write_dataset(name: str, count: int, path: str) -> None:
    with open(path, "wb") as out:
        batch: List[bytes] = []
        for command in DATASETS[name][2](count):
            batch.append(command)
            if len(batch) >= 10000:
                out.write(b"".join(batch))
                batch = []
        out.write(b"".join(batch))


def measure(kind: str, workdir: str, path: str) -> Dict[str, float]:
    """Start ``kind`` fresh, load ``path``; RSS before and after, and the load time."""
    with Server(kind, workdir) as server:
        time.sleep(0.2)
        before = server.rss()
        started = time.time()
        servers.pipe_load(server.port, path, kind)
        seconds = time.time() - started
        time.sleep(0.2)
        after = server.rss()
    return {"before": before, "after": after, "seconds": seconds}


def run(options: argparse.Namespace, log=servers.log) -> dict:
    scale = options.scale if options.scale else (0.1 if options.quick else 1.0)
    kinds = ["redis-server", "miniredis"]
    if not options.no_peers:
        kinds += servers.available_peers()
    workdir = tempfile.mkdtemp(prefix="miniredis-memory-")
    results: Dict[str, dict] = {}
    try:
        for name in options.datasets.split(","):
            unit, full, _, goal = DATASETS[name]
            count = max(int(full * scale), 100)
            path = os.path.join(workdir, name + ".resp")
            results[name] = {"unit": unit, "count": count, "goal": goal, "servers": {}}
            written = 0
            for kind in sorted(kinds, key=lambda k: -PEER_SHARE.get(k, 1.0)):
                own = max(int(count * PEER_SHARE.get(kind, 1.0)), 100)
                if own != written:
                    write_dataset(name, own, path)
                    written = own
                sample = measure(kind, workdir, path)
                sample["count"] = own
                sample["per_key"] = (sample["after"] - sample["before"]) / own
                results[name]["servers"][kind] = sample
                log("  memory %-8s %-13s %8.1f bytes per %s (load %.1f s)"
                    % (name, kind, sample["per_key"], unit, sample["seconds"]))
            os.unlink(path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"scale": scale, "datasets": results}


def report(results: dict) -> Dict[str, bool]:
    """Print the table (bytes per key, ratio, goal); returns {"4": met}."""
    peers = sorted({kind for data in results["datasets"].values()
                    for kind in data["servers"] if kind in servers.PEERS},
                   key=servers.KINDS.index)
    print("\nMemory: RSS growth per key (bytes), loading with redis-cli --pipe%s"
          % ("" if results["scale"] == 1 else "; datasets scaled x%g" % results["scale"]))
    head = "%-8s %-19s %9s %12s %10s %6s %5s %4s" % (
        "dataset", "per", "count", "redis-server", "miniredis", "ratio", "goal", "g4")
    for peer in peers:
        head += " %12s" % peer
    print(head)
    met = True
    for name, data in results["datasets"].items():
        per = data["servers"]
        real, mini = per["redis-server"]["per_key"], per["miniredis"]["per_key"]
        ratio = mini / real if real > 0 else float("inf")
        ok = ratio <= data["goal"]
        met = met and ok
        line = "%-8s %-19s %9d %12.1f %10.1f %6.2f %5s %4s" % (
            name, data["unit"], data["count"], real, mini, ratio,
            "<=%g" % data["goal"], "yes" if ok else "NO")
        for peer in peers:
            value = per.get(peer)
            line += " %12s" % ("-" if value is None else "%.1f%s" % (
                value["per_key"], "*" if value.get("count", data["count"]) != data["count"]
                else ""))
        print(line)
    if any(value.get("count", data["count"]) != data["count"]
           for data in results["datasets"].values() for value in data["servers"].values()):
        print("* measured on a %g share of the dataset (a slow loader)"
              % min(PEER_SHARE.values()))
    return {"4": met}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every dataset")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--json", help="write the results here")
    options = parser.parse_args(argv)
    results = run(options)
    goals = report(results)
    if options.json:
        with open(options.json, "w") as out:
            json.dump(results, out, indent=1)
    return 0 if all(goals.values()) else 2


if __name__ == "__main__":
    sys.exit(main())
