"""GET's lookup chain over a large key space, step by step (goal 3's analysis).

The keyspace maps a key to a slot ``int`` (``Keyspace.index``), and the slot to the
value (``_values``, a list) and to its access stamp (``access``, an ``array("I")``).
At a million keys every step of a random lookup may miss the caches. This times, per
lookup of a fresh key object (as the parser makes them), the chain cut after each
step, and the alternative of a dict from key to value directly:

    python benchmarks/lookup_chain.py [--keys 1000000] [--lookups 200000]

Plain Python over plain containers, no server: what the figures show is memory
latency, which the interpreter cannot overlap (a step's load is on the critical path
of the next few hundred instructions).
"""
from __future__ import annotations

import argparse
import gc
import random
import timeit
from array import array
from typing import Callable, Dict, List


def _chains(keys: int, lookups: int) -> Dict[str, Callable[[], list]]:
    rnd = random.Random(3)
    names = [b"key:%012d" % i for i in range(keys)]
    order = list(range(keys))
    rnd.shuffle(order)
    index: Dict[bytes, int] = {}
    values: List[bytes] = []
    direct: Dict[bytes, bytes] = {}
    for i in order:
        index[names[i]] = len(values)
        values.append(b"xxx%d" % i)
        direct[names[i]] = values[-1]
    access = array("I", [0]) * keys
    probe = [b"key:%012d" % rnd.randrange(keys) for _ in range(lookups)]
    gc.freeze()

    def to_slot() -> list:
        out: list = []
        add, get = out.append, index.get
        for key in probe:
            add(get(key))
        return out

    def slot_read() -> list:
        out: list = []
        add, get = out.append, index.get
        for key in probe:
            add(get(key) + 0)
        return out

    def value_pointer() -> list:
        out: list = []
        add, get = out.append, index.get
        for key in probe:
            add(values[get(key)])
        return out

    def with_stamp() -> list:
        out: list = []
        add, get = out.append, index.get
        for key in probe:
            slot = get(key)
            access[slot] = 7
            add(values[slot])
        return out

    def value_length() -> list:
        out: list = []
        add, get = out.append, index.get
        for key in probe:
            slot = get(key)
            access[slot] = 7
            add(len(values[slot]))
        return out

    def direct_pointer() -> list:
        out: list = []
        add, get = out.append, direct.get
        for key in probe:
            add(get(key))
        return out

    def direct_length() -> list:
        out: list = []
        add, get = out.append, direct.get
        for key in probe:
            add(len(get(key)))
        return out

    return {
        "key -> slot (dict)": to_slot,
        "+ the slot int read": slot_read,
        "+ values[slot]": value_pointer,
        "+ access[slot] = stamp": with_stamp,
        "+ the value read (len)": value_length,
        "key -> value (dict)": direct_pointer,
        "+ the value read (len) ": direct_length,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=1000000)
    parser.add_argument("--lookups", type=int, default=200000)
    options = parser.parse_args()
    for name, chain in _chains(options.keys, options.lookups).items():
        seconds = min(timeit.repeat(chain, number=1, repeat=5))
        print("%-26s %7.0f ns per lookup" % (name, seconds / options.lookups * 1e9))


if __name__ == "__main__":
    main()
