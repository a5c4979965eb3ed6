"""Bytes per value in this process (tracemalloc): small hashes and sorted sets as the
commands build them, in each encoding, next to what redis-server's listpack costs.

The listpack encodings (datatypes.packedhash, datatypes.zset) keep a small hash or
sorted set in one blob; this prints what one value costs, without the key's own
overhead (benchmarks/memory.py measures whole keys as RSS growth, side by side with
Redis).

    python benchmarks/value_sizes.py [--count 5000] [--sizes 1,10,100,128,129]
"""
from __future__ import annotations

import argparse
import sys
import tracemalloc
from typing import Any, Callable, Dict, List

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from miniredis.commands import load_all  # noqa: E402
from miniredis.commands.hashes import build_hash  # noqa: E402
from miniredis.datatypes import zset as zset_module  # noqa: E402
from miniredis.datatypes.zset import ZSet  # noqa: E402

load_all()
_CONFIG = {"hash-max-listpack-entries": 128, "hash-max-listpack-value": 64}
_LIMITS = (128, 64)


def make_hash(size: int) -> Any:
    """A hash of ``size`` fields f0.. with values v0.., as HSET leaves it."""
    return build_hash([(b"f%d" % i, b"v%d" % i) for i in range(size)], _CONFIG)


def make_zset(size: int) -> Any:
    """A sorted set of ``size`` members member:0.. scored 0.., as ZADD leaves it."""
    value = ZSet()
    for i in range(size):
        value.insert(b"member:%d" % i, float(i), _LIMITS)
    return value


def _encoding(value: Any) -> str:
    if isinstance(value, ZSet):
        return "listpack" if value.listpack else "skiplist"
    return "hashtable" if getattr(value, "hashtable", False) else "listpack"


def measure(make: Callable[[int], Any], size: int, count: int) -> Dict[str, Any]:
    """Mean traced bytes of ``count`` values of ``size`` elements (a list slot each
    excluded), with sets packed at rest as they are between commands."""
    tracemalloc.start()
    values: List[Any] = [make(size) for _ in range(count)]
    for value in list(zset_module._hydrated_sets()):
        value.compact()
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"size": size, "bytes": used / count - 8, "encoding": _encoding(values[0])}


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--sizes", default="1,10,100,128,129")
    options = parser.parse_args(argv)
    sizes = [int(x) for x in options.sizes.split(",")]
    print("%-6s %6s %-10s %10s" % ("type", "size", "encoding", "B/value"))
    for name, make in (("hash", make_hash), ("zset", make_zset)):
        for size in sizes:
            row = measure(make, size, options.count)
            print("%-6s %6d %-10s %10.0f" % (name, size, row["encoding"], row["bytes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
