"""How much work Redis 7.0 would spend freeing a value, and so whether it would free it
in its background thread (src/lazyfree.c: ``lazyfreeGetFreeEffort``, ``freeObjAsync``).
Knows no commands: the keyspace asks it when a value leaves (UNLINK, the lazyfree-lazy-*
options), and INFO's ``lazyfreed_objects`` counts the values it says yes to.

Redis's effort is the number of allocations the value is made of, read from its
encoding: a list's quicklist nodes, a hash table's or skiplist's elements, a stream's
radix-tree nodes plus its consumer groups and their PELs, and 1 for everything held in
one allocation (strings, listpacks, intsets). A value whose effort exceeds
``LAZYFREE_THRESHOLD`` goes to the background thread and is counted; a smaller one is
freed at once and is not. Only the comparison with the threshold is observable, so
lists and large streams stop counting once past it.

The effort is computed from what Redis would hold: the encoding OBJECT ENCODING reports
(``hashtable``/``listpack``/``intset``/``skiplist`` flags our values keep) and, for
lists and streams, the node structure Redis would have built (see the helpers).
"""
from __future__ import annotations

from typing import Any, Iterator

LAZYFREE_THRESHOLD = 64           # lazyfree.c

# quicklist.c: optimization_level, SIZE_SAFETY_LIMIT, SIZE_ESTIMATE_OVERHEAD, and the
# bytes of an empty listpack (6-byte header + end byte).
_FILL_LEVELS = (4096, 8192, 16384, 32768, 65536)
_SIZE_SAFETY_LIMIT = 8192
_SIZE_ESTIMATE_OVERHEAD = 8
_EMPTY_LISTPACK = 7

# Bound on first use: these classes live in modules that import the keyspace.
_classes: Any = None


def _late() -> Any:
    global _classes
    from .packedlist import PackedList
    from .stream import Stream, listpack_string_size
    from .zset import ZSet
    _classes = (PackedList, ZSet, Stream, listpack_string_size)
    return _classes


def free_effort(value: Any, config: Any, packed_threshold: int) -> int:
    """Redis's lazyfreeGetFreeEffort for ``value``, except that past
    LAZYFREE_THRESHOLD a list or a stream may report any number above it, and a list
    of at most LAZYFREE_THRESHOLD elements reports its length (it has at most that many
    nodes). ``packed_threshold``: DEBUG QUICKLIST-PACKED-THRESHOLD's size."""
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        return 1
    hashtable = getattr(value, "hashtable", None)
    if hashtable is not None:           # hashes and sets: hashtable, else listpack/intset
        return len(value) if hashtable else 1
    packed_list, zset, stream, _ = _classes or _late()
    if isinstance(value, packed_list):
        return _quicklist_nodes(value, config["list-max-listpack-size"], packed_threshold)
    if isinstance(value, zset):
        return 1 if value.listpack else len(value)
    if isinstance(value, stream):
        return _stream_effort(value)
    if isinstance(value, (dict, set, frozenset)):  # plain containers: read the contents
        from .names import encoding_of
        return len(value) if encoding_of(value, config) == "hashtable" else 1
    return 1


def frees_lazily(value: Any, config: Any, packed_threshold: int) -> bool:
    """Whether Redis's freeObjAsync would hand ``value`` to its background thread
    (values are never shared here, so the refcount test is the caller's)."""
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        return False
    return free_effort(value, config, packed_threshold) > LAZYFREE_THRESHOLD


def _quicklist_nodes(items: Any, fill: int, packed_threshold: int) -> int:
    """ql->len: the nodes of the quicklist Redis would hold (see
    :func:`walk_list_nodes`), from the length where it decides, else by the walk."""
    known = list_nodes_known(items, fill)
    if known is not None:
        return known
    nodes = 0
    for nodes in walk_list_nodes(items, fill, packed_threshold):
        pass
    return nodes


def _fill_limit(fill: int) -> Any:
    """The byte limit of a node at ``fill`` (list-max-listpack-size), None for a
    count limit."""
    return _FILL_LEVELS[-fill - 1] if -len(_FILL_LEVELS) <= fill < 0 else None


def list_nodes_known(items: Any, fill: int) -> Any:
    """The node count when the length decides it (a list of at most
    LAZYFREE_THRESHOLD elements has at most that many nodes; one too long for
    LAZYFREE_THRESHOLD nodes of the most elements a node can hold has more), else None:
    only :func:`walk_list_nodes` can tell."""
    count = len(items)
    if count <= LAZYFREE_THRESHOLD:
        return count
    limit = _fill_limit(fill)
    if limit is None:
        # A count limit (or none: fill below -5 lets one element in per node), under
        # the size safety limit; every element takes at least 2 bytes.
        per_node = max(1, fill) if fill > 0 else 1
    else:
        per_node = (limit - _EMPTY_LISTPACK - _SIZE_ESTIMATE_OVERHEAD) // 2 + 1
    if -(-count // per_node) > LAZYFREE_THRESHOLD:
        return LAZYFREE_THRESHOLD + 1
    return None


# The walk yields after this many elements (about a millisecond), so that the server
# can serve clients between its slices (miniredis/lazyfree.py).
WALK_SLICE = 1000


def walk_list_nodes(items: Any, fill: int, packed_threshold: int) -> Iterator[Any]:
    """The nodes of the quicklist Redis would hold for ``items``, modelled as
    successive RPUSHes of the elements build it (_quicklistNodeAllowInsert; elements of
    ``packed_threshold`` bytes or more get a plain node each), as DUMP models it;
    stops at the first node past LAZYFREE_THRESHOLD. A generator: yields None after
    every WALK_SLICE elements, and the node count last. Redis answers in O(1) (it keeps
    its nodes); the walk reads up to LAZYFREE_THRESHOLD + 1 nodes' elements (~250,000
    one-byte ones at the default fill), about a microsecond each, so the server runs it
    in slices between requests. Approximation: a list shaped by other edits (LINSERT,
    LSET, LREM, LTRIM merging nodes) may have a few nodes more or less in Redis."""
    limit = _fill_limit(fill)
    entry_size = (_classes or _late())[3]
    nodes = in_node = 0
    size = -1                           # the open node's listpack bytes; -1: none/plain
    seen = 0
    for item in items:
        seen += 1
        if seen == WALK_SLICE:
            seen = 0
            yield None
        length = len(item)
        if length >= packed_threshold:
            nodes += 1
            size = -1
        else:
            if size >= 0:
                new_size = size + length + _SIZE_ESTIMATE_OVERHEAD
                if limit is not None:
                    allowed = new_size <= limit
                else:
                    allowed = new_size <= _SIZE_SAFETY_LIMIT and in_node < fill
                if allowed:
                    size += entry_size(item)
                    in_node += 1
                    continue
            nodes += 1
            size = _EMPTY_LISTPACK + entry_size(item)
            in_node = 1
        if nodes > LAZYFREE_THRESHOLD:
            break
    yield nodes


def lazy_verdict(value: Any, config: Any, packed_threshold: int) -> Any:
    """:func:`frees_lazily` without the walk: True or False, or None for a list whose
    node count only :func:`walk_list_nodes` can tell (the caller walks it later)."""
    packed_list = (_classes or _late())[0]
    if value.__class__ is packed_list and \
            list_nodes_known(value, config["list-max-listpack-size"]) is None:
        return None
    return frees_lazily(value, config, packed_threshold)


def _stream_effort(stream: Any) -> int:
    """The stream's radix-tree nodes, plus its consumer groups times (1 + the PEL
    size of the first group in the tree's byte order), as Redis estimates it. The tree
    has at least one node per key plus the root, so a stream of LAZYFREE_THRESHOLD
    listpack nodes or more is past the threshold without counting."""
    keys = len(stream.nodes)
    if keys >= LAZYFREE_THRESHOLD:
        return keys + 1
    effort = stream.radix_tree_nodes()
    groups = stream.groups
    if groups:
        effort += len(groups) * (1 + len(groups[min(groups)].pel))
    return effort


def lazily_freed_entries(entries: int) -> int:
    """What an asynchronous SCRIPT FLUSH or FUNCTION FLUSH adds to lazyfreed_objects
    for a table of ``entries`` scripts or functions: Redis's freeLuaScriptsAsync and
    freeFunctionsAsync hand a table of more than LAZYFREE_THRESHOLD entries to the
    background thread, counting each entry, and free a smaller one at once."""
    return entries if entries > LAZYFREE_THRESHOLD else 0


def rax_node_count(keys: Any) -> int:
    """rax->numnodes of a Redis radix tree holding ``keys`` (byte strings), as built by
    insertions: the tree keeps every chain of single children in one compressed node,
    so a node stands at the root, at each key, at each branching point and at each
    child of one. (After removals Redis's tree may keep a chain split in two: not
    modelled.) O(n log n): for flushes of the client-side caching table."""
    ordered = sorted(keys)
    positions = {b""}
    positions.update(ordered)
    for first, second in zip(ordered, ordered[1:]):
        common = 0
        for a, b in zip(first, second):
            if a != b:
                break
            common += 1
        if common < len(first):         # they part ways here: a branching point
            positions.add(first[:common])
            positions.add(first[:common + 1])
            positions.add(second[:common + 1])
    return len(positions)


def tracking_table_freed(keys: Any) -> int:
    """What an asynchronous flush adds to lazyfreed_objects for the client-side
    caching table of ``keys`` (freeTrackingRadixTreeAsync: its tracked keys, when the
    tree has more than LAZYFREE_THRESHOLD nodes; 0 when it is freed at once)."""
    count = len(keys)
    if 4 * count - 1 <= LAZYFREE_THRESHOLD:
        return 0        # n keys make at most 4n - 1 nodes: n keys, n - 1 branching
        #                 points, 2n - 1 chain heads below them, the root
    return count if rax_node_count(keys) > LAZYFREE_THRESHOLD else 0
