"""Data-structure commands in-process: CPU nanoseconds per request, no network.

``redis-benchmark`` figures on a shared two-core machine move by 10-50% between runs;
the cost of one command's handler and data structure is a few microseconds at most,
so before/after comparisons of that work are made here instead. Like
``dispatch.py`` this feeds prepared input to ``Client.process`` (hiredis parsing,
``run_requests``, the reply handed to a socket that takes everything) and reads this
thread's CPU time; each figure is the best of ``--repeat`` timings.

Workloads are those of issue 17: the pipelined tests of ``redis-benchmark -P 16``
(16 requests per read, keys spelled as redis-benchmark sends them without ``-r``),
PING_MBULK as the floor every request pays, the sorted-set tests of
``zset_scale.py`` on a set of ``--members`` members (random members, one request per
read: that benchmark runs unpipelined), and GET over 1,000 against ``--keys`` keys.

    python benchmarks/commands_cpu.py [--rounds 4000] [--repeat 7] [--only NAME,...]
        [--members 1000000] [--keys 1000000] [--pythonpath SRC]

``--pythonpath`` imports miniredis from another source tree (before/after figures of
one run: ``git archive main | tar -x -C DIR``).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Callable, Dict, List, Tuple

from inprocess import NullSocket, check_open, encode


R = b"__rand_int__"   # redis-benchmark leaves the placeholder as is without -r

# name: (one request, requests per read, setup requests sent once before timing)
PIPELINED: Dict[str, Tuple[bytes, List[bytes]]] = {
    "PING_MBULK": (encode(b"PING"), []),
    "SET": (encode(b"SET", b"key:" + R, b"xxx"), []),
    "GET": (encode(b"GET", b"key:" + R), [encode(b"SET", b"key:" + R, b"xxx")]),
    "INCR": (encode(b"INCR", b"counter:" + R), []),
    "LPUSH": (encode(b"LPUSH", b"mylist", b"xxx"), []),
    "RPOP": (encode(b"RPOP", b"mylist"), []),       # refilled: see _refill
    "SADD": (encode(b"SADD", b"myset", b"element:" + R), []),
    "HSET": (encode(b"HSET", b"myhash", b"element:" + R, b"xxx"), []),
    "ZADD": (encode(b"ZADD", b"myzset", b"0", b"element:" + R), []),
    "LRANGE_100": (encode(b"LRANGE", b"mylist100", b"0", b"99"),
                   [encode(b"LPUSH", b"mylist100", *[b"xxx"] * 100)]),
    "MSET": (encode(b"MSET", *[b"key:" + R, b"xxx"] * 10), []),
    "XADD": (encode(b"XADD", b"mystream", b"*", b"field", b"value"), []),
}


def _rescored(request: bytes, shift: int, members: int) -> bytes:
    """A ``ZADD zscale score member`` request with ``(score + shift) % members``."""
    words = request.split(b"\r\n")[2::2]
    score = (int(words[2]) + shift) % members
    return encode(words[0], words[1], b"%d" % score, words[3])


def _zset_requests(members: int, count: int) -> Dict[str, List[bytes]]:
    rand = random.Random(17)
    picks = [rand.randrange(members) for _ in range(count)]
    return {
        # (each timing sends new scores: sent again, a ZADD would find its member at
        # the score it gives and move nothing -- see single())
        "big ZADD": [encode(b"ZADD", b"zscale", b"%d" % rand.randrange(members),
                             b"member:%012d" % p) for p in picks],
        "big ZRANK": [encode(b"ZRANK", b"zscale", b"member:%012d" % p) for p in picks],
        "big ZSCORE": [encode(b"ZSCORE", b"zscale", b"member:%012d" % p) for p in picks],
        "big ZRANGEBYSCORE": [encode(b"ZRANGEBYSCORE", b"zscale", b"%d" % p, b"+inf",
                                      b"LIMIT", b"0", b"10") for p in picks],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4000, help="reads per timing")
    parser.add_argument("--repeat", type=int, default=7, help="timings per figure")
    parser.add_argument("--only", default="", help="comma-separated workload names")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--pythonpath", default=os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    options = parser.parse_args()
    sys.path.insert(0, options.pythonpath)
    from miniredis import Server
    from miniredis.connection import Client

    only = {name.strip() for name in options.only.split(",") if name.strip()}
    server = Server()
    state = server.state
    client = Client(state, NullSocket(), "127.0.0.1:1", "127.0.0.1:6379")
    process = client.process
    clock = time.thread_time
    timings: Dict[str, Callable[[], float]] = {}

    def pipelined(name: str, request: bytes, setup: List[bytes]) -> None:
        for data in setup:
            process(data)
        batch = request * 16

        def run() -> float:
            if name == "RPOP":   # keep the list long, outside the timing
                process(encode(b"LPUSH", b"mylist", *[b"xxx"] * (16 * options.rounds)))
            started = clock()
            for _ in range(options.rounds):
                process(batch)
            return (clock() - started) / (16 * options.rounds)
        timings[name] = run

    for name, (request, setup) in PIPELINED.items():
        if not only or name in only:
            pipelined(name, request, setup)

    def single(name: str, requests: List[bytes]) -> None:
        # ZADDs timed again with the same scores would move nothing: each timing
        # after the first sends the scores of the one before, shifted by 1..members-1
        # (a new score for every member, still within the set's range).
        turn = [0]

        def run() -> float:
            timed = requests
            if name == "big ZADD" and turn[0]:
                shift = 1 + (turn[0] * 7919) % (options.members - 1)
                timed = [_rescored(data, shift, options.members) for data in requests]
            turn[0] += 1
            started = clock()
            for data in timed:
                process(data)
            return (clock() - started) / len(timed)
        timings[name] = run

    zset_names = [n for n in ("big ZADD", "big ZRANK", "big ZSCORE", "big ZRANGEBYSCORE")
                  if not only or n in only]
    if zset_names:
        batch = 1000
        for start in range(0, options.members, batch):
            args = [b"ZADD", b"zscale"]
            for i in range(start, min(start + batch, options.members)):
                args += [b"%d" % i, b"member:%012d" % i]
            process(encode(*args))
        requests = _zset_requests(options.members, options.rounds)
        requests["PING (1 per read)"] = [encode(b"PING")] * options.rounds
        for name in ["PING (1 per read)"] + zset_names:
            single(name, requests[name])

    if not only or "GET 1k" in only or "GET 1M" in only:
        for db, size in ((2, 1000), (3, options.keys)):
            process(encode(b"SELECT", b"%d" % db))
            for start in range(0, size, 1000):
                args = [b"MSET"]
                for i in range(start, min(start + 1000, size)):
                    args += [b"key:%012d" % i, b"xxx"]
                process(encode(*args))
        rand = random.Random(3)
        for label, db, size in (("GET 1k", 2, 1000), ("GET 1M", 3, options.keys)):
            gets = [b"".join(encode(b"GET", b"key:%012d" % rand.randrange(size))
                             for _ in range(16)) for _ in range(options.rounds)]
            select = encode(b"SELECT", b"%d" % db)

            def run(gets: List[bytes] = gets, select: bytes = select) -> float:
                process(select)
                started = clock()
                for data in gets:
                    process(data)
                return (clock() - started) / (16 * len(gets))
            timings[label] = run
        process(encode(b"SELECT", b"0"))

    best: Dict[str, float] = {}
    for _ in range(options.repeat):
        for name, run in timings.items():
            best[name] = min(best.get(name, float("inf")), run())
    check_open(client)
    print("%-20s %10s" % ("ns/request (CPU)", "best"))
    for name, value in best.items():
        print("%-20s %10.0f" % (name, value * 1e9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
