"""Estimates of the memory a key and its value hold in this process (no commands here).

The figures model CPython's own layout, so that ``used_memory`` follows what the
process really spends on the dataset (checked against RSS by benchmarks/maxmemory.py):

* an object of n bytes costs its allocator's rounding: pymalloc hands out multiples of
  16 bytes up to 512, larger blocks come from malloc with an 8-byte header, 16-aligned;
* every key also costs its entries in the database's tables (the value dict, the
  access-time dict, the SCAN slot index and its slot number, the size array):
  ``KEY_OVERHEAD``, measured at about 190 bytes on CPython 3.11;
* a key with a TTL adds its entry in the expiry dict and heap: ``EXPIRE_OVERHEAD``.

Collections are sized as Redis's MEMORY USAGE sizes them (objectComputeSize): the
container's own structure exactly (``sys.getsizeof`` is O(1) for the built-in
containers) plus the element count times the average size of the first ``samples``
elements (0 = all of them). Each estimate is therefore O(samples), never O(n).
"""
from __future__ import annotations

import sys
from itertools import chain, islice
from typing import Any, Callable, Dict, Iterable

# A key's share of the keyspace's tables: its index dict entry (with the table's
# slack), its slot number, and a word or less in each flat table (values, SCAN slots,
# access stamps, sizes). Measured: a million SET string:N value:N grow the resident set
# by about 195 bytes a key, 96 of them the key's and the value's objects.
KEY_OVERHEAD = 100
EXPIRE_OVERHEAD = 176       # expiry dict entry, heap tuple, deadline int
DEFAULT_SAMPLES = 5         # OBJ_COMPUTE_SIZE_DEF_SAMPLES

_getsizeof = sys.getsizeof
_FLOAT = _getsizeof(0.5)
_STREAM_KEY = _getsizeof(1 << 105)     # an ID in a stream's index (ms << 64 | seq)


def alloc(size: int) -> int:
    """What the allocator really hands out for an object of ``size`` bytes."""
    if size <= 512:
        return (size + 15) & ~15
    return (size + 23) & ~15


def bytes_size(value: Any) -> int:
    """A bytes or bytearray object, allocation included."""
    if value.__class__ is bytes:
        return alloc(33 + len(value))
    return alloc(_getsizeof(value))


def _sampled(container_bytes: int, count: int, items: Iterable[Any],
             each: Callable[[Any], int], samples: int) -> int:
    """The container plus ``count`` times the mean size of the first sampled items."""
    if not count:
        return container_bytes
    if samples <= 0 or samples >= count:
        return container_bytes + sum(each(item) for item in items)
    total = 0
    taken = 0
    for item in islice(items, samples):
        total += each(item)
        taken += 1
    if not taken:
        return container_bytes
    return container_bytes + int(total / taken * count)


def _list_size(value: Any, samples: int) -> int:
    # A PackedList: loose bytes objects at both ends (plus a deque slot each), packed
    # elements (their bytes and a separator each but one a chunk: packedlist._pack),
    # and per chunk a blob, a tuple and a deque slot. SAMPLES 0 sums the real
    # lengths; otherwise the mean length of the first few elements stands for all.
    loose, packed, chunks = value.layout()
    fixed = value.containers_size() + chunks * (alloc(33) + 56 + 8)
    count = loose + packed
    if samples <= 0 or samples >= count:
        return fixed + sum(bytes_size(item) + 8 for item in value.loose()) + \
            value.packed_bytes()
    sample = list(islice(value.loose(), samples)) or list(islice(value, samples))
    mean = sum(map(len, sample)) / len(sample)
    return int(fixed + loose * (alloc(33 + int(mean)) + 8) + packed * (mean + 1)
               - chunks)    # (a separator between elements: one fewer than them)


def _hash_size(value: Dict[bytes, bytes], samples: int) -> int:
    return _sampled(_getsizeof(value), len(value), value.items(),
                    lambda pair: bytes_size(pair[0]) + bytes_size(pair[1]), samples)


def _set_size(value: set, samples: int) -> int:
    return _sampled(_getsizeof(value), len(value), value, bytes_size, samples)


def _zset_size(value: Any, samples: int) -> int:
    # member -> score dict plus a ScoreList: per member a float (the dict's), a
    # double and a list slot in the ScoreList's chunks, and the member itself.
    packed = value.listpack_size()
    if packed is not None:              # the object (5 slots) and its blob at rest
        return 80 + alloc(packed)
    scores = value.scores
    per_member = _FLOAT + 16
    return _sampled(_getsizeof(scores) + 64 * (1 + len(scores) // 1000), len(scores),
                    scores, lambda member: bytes_size(member) + per_member, samples)


def _stream_size(value: Any, samples: int) -> int:
    # Per entry its key (an int) and two slots in the index, and its value (in a chunk
    # of entries of one field) or pairs (a tuple); the nodes; consumer groups' PELs.
    per_entry = _STREAM_KEY + 16

    def entry(item: Any) -> int:
        if item.__class__ is bytes:
            return per_entry + bytes_size(item)
        return per_entry + _getsizeof(item) + sum(bytes_size(f) for f in item)

    size = _sampled(64 * len(value.nodes), len(value),
                    chain.from_iterable(value.index.pairs), entry, samples)
    for group in value.groups.values():
        size += 256 + len(group.pel) * 160 + len(group.consumers) * 200
    return size


_SIZERS: Dict[type, Callable[[Any, int], int]] = {
    dict: _hash_size,
    set: _set_size,
}


def register_sizer(cls: type, function: Callable[[Any, int], int]) -> None:
    """Declare how values of class ``cls`` are sized (sorted sets, streams...)."""
    _SIZERS[cls] = function


def _sizer(cls: type) -> Callable[[Any, int], int]:
    for attempt in range(2):
        for base in cls.__mro__:
            function = _SIZERS.get(base)
            if function is not None:
                _SIZERS[cls] = function
                return function
        _register_late()
    raise TypeError("no size estimate for %r" % cls)


def value_size(value: Any, samples: int = DEFAULT_SAMPLES) -> int:
    """The estimated bytes of a stored value (``samples`` 0: look at every element)."""
    cls = value.__class__
    if cls is bytes:
        return alloc(33 + len(value))
    if cls is bytearray:
        return alloc(_getsizeof(value))
    function = _SIZERS.get(cls)
    if function is None:
        function = _sizer(cls)
    return function(value, samples)


def key_size(key: bytes, value: Any, samples: int = DEFAULT_SAMPLES) -> int:
    """A key's whole cost: its name, its value and its table entries (MEMORY USAGE)."""
    return alloc(33 + len(key)) + value_size(value, samples) + KEY_OVERHEAD


def _register_late() -> None:
    # ZSet and Stream live in sibling modules that import the keyspace (which imports
    # this module): bound on first use instead of at import.
    from .packedlist import PackedList
    from .stream import Stream
    from .zset import ZSet
    register_sizer(PackedList, _list_size)
    register_sizer(ZSet, _zset_size)
    register_sizer(Stream, _stream_size)
