"""Many small collections in turn: hashes, sorted sets, lists and sets at 1,000 keys.

The goal tests hit one key (redis-benchmark without ``-r``), so a collection stays hot
in whatever form the server keeps it. Applications spread their writes instead: a
hash per user or job, a sorted set per rate-limited client, a list per feed. This
fills 1,000 of each in redis-server and in miniredis -- hashes of 200 fields and
sorted sets of 50 members (both listpacks in Redis), lists of 300 elements, sets of
50 -- then runs ``redis-benchmark -r 1000`` against both, keys named by
``__rand_int__``, and prints requests per second side by side with the ratio
miniredis / redis-server. A test whose ratio falls far below the goal tests' shows a
form that is slow to reach or to change when it is not the one just used.

    python benchmarks/many_keys.py [-n 100000] [-c 50] [-P 16] [--keys 1000]
"""
from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from typing import Dict, List

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from benchmarks.compare import start_servers, stop_servers, tools_missing  # noqa: E402
from benchmarks.zset_scale import bench  # noqa: E402

FIELDS, MEMBERS, ELEMENTS, SET_MEMBERS = 200, 50, 300, 50
TESTS = [
    ("SET (reference)", ["SET", "k:__rand_int__", "__rand_int__"]),
    ("HSET a field", ["HSET", "h:__rand_int__", "f:000000000100", "__rand_int__"]),
    ("HGET", ["HGET", "h:__rand_int__", "f:__rand_int__"]),
    ("HINCRBY", ["HINCRBY", "h:__rand_int__", "counter", "1"]),
    ("HGETALL", ["HGETALL", "h:__rand_int__"]),
    ("ZADD a member", ["ZADD", "z:__rand_int__", "__rand_int__", "m:000000000007"]),
    ("ZINCRBY", ["ZINCRBY", "z:__rand_int__", "1", "m:000000000007"]),
    ("ZSCORE", ["ZSCORE", "z:__rand_int__", "m:000000000007"]),
    ("ZRANGE 0 9", ["ZRANGE", "z:__rand_int__", "0", "9"]),
    ("ZRANGEBYSCORE", ["ZRANGEBYSCORE", "z:__rand_int__", "10", "50", "LIMIT", "0", "5"]),
    ("ZCOUNT", ["ZCOUNT", "z:__rand_int__", "10", "50"]),
    ("ZCARD", ["ZCARD", "z:__rand_int__"]),
    ("RPUSH", ["RPUSH", "l:__rand_int__", "__rand_int__"]),
    ("LRANGE 0 9", ["LRANGE", "l:__rand_int__", "0", "9"]),
    ("LINDEX 5", ["LINDEX", "l:__rand_int__", "5"]),
    ("SADD", ["SADD", "s:__rand_int__", "__rand_int__"]),
    ("SISMEMBER", ["SISMEMBER", "s:__rand_int__", "7"]),
    ("LLEN", ["LLEN", "l:__rand_int__"]),
    ("EXISTS", ["EXISTS", "h:__rand_int__"]),
    ("TTL", ["TTL", "z:__rand_int__"]),
]


def _encode(args: List[bytes]) -> bytes:
    return b"".join([b"*%d\r\n" % len(args)] +
                    [b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args])


def fill(port: int, keys: int) -> None:
    """The collections, one command each, pipelined; every reply is one line."""
    commands = []
    for k in range(keys):
        commands.append([b"HSET", b"h:%012d" % k] + [
            w for i in range(FIELDS) for w in (b"f:%012d" % i, b"%d" % (i * 7919 % 1000))])
        commands.append([b"ZADD", b"z:%012d" % k] + [
            w for i in range(MEMBERS) for w in (b"%d" % (i * 37 % 100), b"m:%012d" % i)])
        commands.append([b"RPUSH", b"l:%012d" % k] + [b"%d" % i for i in range(ELEMENTS)])
        commands.append([b"SADD", b"s:%012d" % k] + [b"%d" % i for i in range(SET_MEMBERS)])
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(120)
    try:
        for start in range(0, len(commands), 100):
            batch = commands[start:start + 100]
            sock.sendall(b"".join(map(_encode, batch)))
            replies = b""
            while replies.count(b"\r\n") < len(batch):
                data = sock.recv(1 << 16)
                if not data:
                    raise SystemExit("fill: port %d closed the connection" % port)
                replies += data
            if b"-" in replies[:1] or b"\r\n-" in replies:
                raise SystemExit("fill failed on port %d: %r" % (port, replies[:200]))
    finally:
        sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--requests", type=int, default=100_000)
    parser.add_argument("-c", "--clients", type=int, default=50)
    parser.add_argument("-P", "--pipeline", type=int, default=16)
    parser.add_argument("--keys", type=int, default=1000)
    options = parser.parse_args()
    if tools_missing():
        return 1
    workdir = tempfile.mkdtemp(prefix="many-keys-")
    ports, procs = start_servers(workdir)
    try:
        for port in ports.values():
            fill(port, options.keys)
        results: Dict[str, Dict[str, float]] = {}
        for label, args in TESTS:
            # (-r over the keys; -P before the command's words, as an option)
            results[label] = {name: bench(port, ["-P", str(options.pipeline), *args],
                                          options.requests, options.clients, options.keys)
                              for name, port in ports.items()}
        print("%-18s %14s %14s %7s   (-c %d -P %d, %d keys of each type)"
              % ("test", "redis-server", "miniredis", "ratio", options.clients,
                 options.pipeline, options.keys))
        for label, _ in TESTS:
            real, mini = results[label]["redis-server"], results[label]["miniredis"]
            print("%-18s %14.0f %14.0f %7.2f" % (label, real, mini, mini / real))
        return 0
    finally:
        stop_servers(procs, workdir)


if __name__ == "__main__":
    sys.exit(main())
