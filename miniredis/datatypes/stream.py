"""The stream value: entries ordered by ID, consumer groups, pending entries lists.

Entries live in a plain dict keyed by ``(ms, seq)`` tuples: XADD only ever adds an ID
greater than all others, so the dict's order is ID order. An :class:`_Index` of the
same IDs (sorted chunks) finds the start of a range in O(log n). Redis stores entries
in listpack "nodes" (at most ``stream-node-max-entries`` entries or
``stream-node-max-bytes`` bytes each) indexed by a radix tree keyed by each node's
first ("master") ID; approximate trimming removes whole nodes only, and XINFO STREAM
reports the tree's key and node counts. Those are observable, so :class:`_Node` keeps
exactly the bookkeeping Redis's listpacks have (live and deleted counts, master
fields, encoded size) without storing the bytes.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import repeat
from typing import Dict, Iterator, List, Optional, Tuple

from sortedcontainers import SortedDict

from ..args import to_int
from .names import register_encoding, register_type

StreamID = Tuple[int, int]
U64_MAX = 2 ** 64 - 1
MIN_ID: StreamID = (0, 0)
MAX_ID: StreamID = (U64_MAX, U64_MAX)
INVALID_ENTRIES_READ = -1       # Redis's SCG_INVALID_ENTRIES_READ
LISTPACK_MAX_SIZE = 1 << 30     # STREAM_LISTPACK_MAX_SIZE


def format_id(stream_id: StreamID) -> bytes:
    """``ms-seq`` as Redis prints an ID."""
    return b"%d-%d" % stream_id


def incr_id(stream_id: StreamID) -> Optional[StreamID]:
    """The next possible ID, None past the last one (Redis's streamIncrID)."""
    ms, seq = stream_id
    if seq == U64_MAX:
        if ms == U64_MAX:
            return None
        return ms + 1, 0
    return ms, seq + 1


def decr_id(stream_id: StreamID) -> Optional[StreamID]:
    """The previous possible ID, None before 0-0 (Redis's streamDecrID)."""
    ms, seq = stream_id
    if seq == 0:
        if ms == 0:
            return None
        return ms - 1, U64_MAX
    return ms, seq - 1


# -- listpack size model -------------------------------------------------------------
# Only the sizes matter: a node is full once its listpack would reach
# stream-node-max-bytes, so we add up what each element would take in Redis.
def _backlen(size: int) -> int:
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def _int_size(value: int) -> int:
    """Bytes of an integer listpack element: encoding plus a one-byte back-length
    (every integer encoding is at most 9 bytes). XADD calls this several times per
    entry, so the common small values are answered first."""
    if 0 <= value <= 127:
        return 2
    if not -2 ** 63 <= value < 2 ** 63:
        value = (value + 2 ** 63) % 2 ** 64 - 2 ** 63    # stored as a C int64
    if -4096 <= value <= 4095:
        return 2 if 0 <= value <= 127 else 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -2 ** 31 <= value < 2 ** 31:
        return 6
    return 10


def _str_size(value: bytes) -> int:
    """Bytes of a string element; strings that read as integers are stored as such.
    (On XADD's path for every value: short words are answered without calls.)"""
    length = len(value)
    if length <= 20 and (value.isdigit() or value[:1] == b"-"):
        number = to_int(value)
        if number is not None:
            return _int_size(number)
    if length < 64:
        return length + 2          # 1-byte header, 1-byte back-length
    size = length + (2 if length < 4096 else 5)
    return size + _backlen(size)


# The same bytes for a list's quicklist nodes (miniredis.datatypes.lazyfree).
listpack_string_size = _str_size


_NOT_SIZED: StreamID = (-1, -1)   # below every ID: no entry of the node sized yet


def _entry_size(node: "_Node", stream_id: StreamID, pairs: List[bytes]) -> int:
    """Bytes of an entry in ``node``'s listpack: flags, ms and seq deltas from the
    master ID, the values (with the fields and their count if they differ from the
    master entry's), lp-count."""
    master = node.master
    size = 2 + _int_size(stream_id[0] - master[0]) + _int_size(stream_id[1] - master[1])
    fields = tuple(pairs[0::2])
    if fields == node.fields:
        items = pairs[1::2]
        size += _int_size(len(fields) + 3)
    else:
        items = pairs
        size += _int_size(len(fields)) + _int_size(2 * len(fields) + 4)
    for item in items:
        size += _str_size(item)
    return size


class _Node:
    """Bookkeeping of one Redis listpack node (no data: entries live in the stream).

    Only XADD's node-full test needs the exact size, and only when it is close: the
    entries after ``sized_to`` are counted in ``bound`` by an upper bound of their
    size (cheap to tell from their lengths) and in ``bytes`` only once :meth:`settle`
    runs, when the bound reaches stream-node-max-bytes. A deleted entry keeps its
    place in a listpack: :meth:`deleting` sizes it first if it was not yet.

    A node read from an RDB file or DUMP payload keeps the listpack it was read from
    in ``raw`` until it changes, so that writing it again gives Redis's bytes
    (tombstones included), as Redis writes the listpack it loaded.
    """

    __slots__ = ("master", "fields", "fields_length", "live", "deleted", "bytes",
                 "bound", "sized_to", "last", "raw")

    def __init__(self, master: StreamID, fields: List[bytes]) -> None:
        self.master = master
        # The master entry's field names, a tuple whatever the entry's pairs are (XADD
        # stores tuples, which the GC stops tracking; loaders may give lists).
        self.fields = tuple(fields)
        self.fields_length = sum(map(len, fields))     # (XADD's bound of an entry)
        self.live = 0
        self.deleted = 0                     # entries flagged deleted, still in place
        # lpBytes but for the live and deleted counts: the 6-byte header, the master
        # entry's field count, fields and terminating 0, the sized entries, the end.
        self.bytes = 9 + _int_size(len(fields)) + sum(_str_size(f) for f in fields)
        self.bound = 0                       # >= the bytes of entries not sized yet
        self.sized_to: StreamID = _NOT_SIZED  # entries up to this ID are in bytes
        self.last = master                   # last ID inserted (deleted or not)
        self.raw: Optional[bytes] = None     # the listpack as loaded, while unchanged

    def settle(self, stream: "Stream") -> None:
        """Count the unsized entries' exact bytes in ``bytes``."""
        if self.bound:
            entries = stream.entries
            sized_to = self.sized_to
            for stream_id in stream.index.irange(self.master, self.last, reverse=True):
                if stream_id <= sized_to:
                    break
                self.bytes += _entry_size(self, stream_id, entries[stream_id])
            self.sized_to = self.last
            self.bound = 0

    def deleting(self, stream_id: StreamID, pairs: List[bytes]) -> None:
        """An entry of this node is flagged deleted: its bytes stay, so size it if it
        was not. (Its bound stays in ``bound`` too, which remains an upper bound.)"""
        if stream_id > self.sized_to:
            self.bytes += _entry_size(self, stream_id, pairs)
        self.raw = None
        self.live -= 1
        self.deleted += 1

    def size(self) -> int:
        """lpBytes of the node (once settled; at most this before)."""
        return self.bytes + self.bound + _int_size(self.live) + _int_size(self.deleted)

    def copy(self) -> "_Node":
        node = _Node.__new__(_Node)
        for name in _Node.__slots__:
            setattr(node, name, getattr(self, name))
        return node


# -- consumer groups -------------------------------------------------------------------
class Nack:
    """A pending entry: delivered to ``consumer`` and not acknowledged yet."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: Optional["Consumer"], delivery_time: int,
                 delivery_count: int = 1) -> None:
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    """A named consumer of a group, with its own view of the group's PEL."""

    __slots__ = ("name", "seen_time", "active_time", "pel")

    def __init__(self, name: bytes, now: int) -> None:
        self.name = name
        self.seen_time = now        # last attempted interaction (XINFO idle)
        self.active_time = -1       # last successful one (Redis 7.2's inactive)
        self.pel: SortedDict = SortedDict()   # StreamID -> Nack (shared with group)


class Group:
    """A consumer group: last delivered ID, read counter, PEL and consumers."""

    __slots__ = ("name", "last_id", "entries_read", "pel", "consumers")

    def __init__(self, name: bytes, last_id: StreamID, entries_read: int) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel: SortedDict = SortedDict()   # StreamID -> Nack
        self.consumers: Dict[bytes, Consumer] = {}

    def consumer(self, name: bytes, now: int, refresh: bool = True) -> Consumer:
        """The consumer called ``name``, created if needed (its seen time refreshed)."""
        consumer = self.consumers.get(name)
        if consumer is None:
            consumer = self.consumers[name] = Consumer(name, now)
        elif refresh:
            consumer.seen_time = now
        return consumer

    def delete_consumer(self, consumer: Consumer) -> int:
        """Forget ``consumer`` and its pending entries; their number."""
        pending = len(consumer.pel)
        for stream_id in consumer.pel:
            del self.pel[stream_id]
        del self.consumers[consumer.name]
        return pending

    def sorted_consumers(self) -> List[Consumer]:
        # Redis keeps consumers in a radix tree: byte order of their names.
        return [self.consumers[name] for name in sorted(self.consumers)]


# -- the ID index ----------------------------------------------------------------------
_CHUNK = 512     # IDs per chunk of the index (chunks only ever shrink after that)


class _Index:
    """The stream's IDs in order, for range queries, XDEL and trimming.

    A list of sorted chunks plus the first ID of each (what a lookup bisects). XADD
    only ever adds an ID greater than all others, so it appends to the last chunk
    (a SortedDict insertion there was a fifth of XADD's time). Chunks never split and
    never merge: XDEL deletes inside one chunk, trimming takes from the head, and a
    chunk left empty goes. So a lookup is O(log n), XDEL O(log n + chunk), and a
    range O(log n + output).
    """

    __slots__ = ("chunks", "firsts")

    def __init__(self) -> None:
        self.chunks: List[List[StreamID]] = []
        self.firsts: List[StreamID] = []

    def copy(self) -> "_Index":
        other = _Index()
        other.chunks = [list(chunk) for chunk in self.chunks]
        other.firsts = list(self.firsts)
        return other

    def append(self, stream_id: StreamID) -> None:
        """Add an ID greater than every other."""
        chunks = self.chunks
        if chunks:
            last = chunks[-1]
            if len(last) < _CHUNK:
                last.append(stream_id)
                return
        chunks.append([stream_id])
        self.firsts.append(stream_id)

    def first(self) -> StreamID:
        return self.chunks[0][0]

    def last(self) -> StreamID:
        return self.chunks[-1][-1]

    def remove(self, stream_id: StreamID) -> None:
        """Remove an ID that is present."""
        firsts = self.firsts
        i = bisect_right(firsts, stream_id) - 1
        chunk = self.chunks[i]
        j = bisect_left(chunk, stream_id)
        del chunk[j]
        if not chunk:
            del self.chunks[i]
            del firsts[i]
        elif j == 0:
            firsts[i] = chunk[0]

    def remove_head(self, count: int) -> List[StreamID]:
        """Remove the ``count`` first IDs (there are as many); they are returned."""
        chunks, firsts = self.chunks, self.firsts
        gone: List[StreamID] = []
        whole = 0
        while whole < len(chunks) and len(gone) + len(chunks[whole]) <= count:
            gone += chunks[whole]
            whole += 1
        del chunks[:whole]
        del firsts[:whole]
        rest = count - len(gone)
        if rest:
            chunk = chunks[0]
            gone += chunk[:rest]
            del chunk[:rest]
            firsts[0] = chunk[0]
        return gone

    def irange(self, start: StreamID, end: StreamID,
               reverse: bool = False) -> Iterator[StreamID]:
        """IDs with start <= ID <= end, ascending (descending with ``reverse``)."""
        chunks, firsts = self.chunks, self.firsts
        if reverse:
            i = bisect_right(firsts, end) - 1
            if i < 0:
                return
            j = bisect_right(chunks[i], end) - 1
            while i >= 0:
                chunk = chunks[i]
                while j >= 0:
                    stream_id = chunk[j]
                    if stream_id < start:
                        return
                    yield stream_id
                    j -= 1
                i -= 1
                if i >= 0:
                    j = len(chunks[i]) - 1
        else:
            i = bisect_right(firsts, start) - 1
            if i < 0:
                i = 0
                j = 0
            else:
                j = bisect_left(chunks[i], start)
            count = len(chunks)
            while i < count:
                chunk = chunks[i]
                size = len(chunk)
                while j < size:
                    stream_id = chunk[j]
                    if stream_id > end:
                        return
                    yield stream_id
                    j += 1
                i += 1
                j = 0


# -- the stream --------------------------------------------------------------------------
class Stream:
    """A Redis stream (see the module docstring for the layout)."""

    __slots__ = ("entries", "index", "nodes", "tail", "last_id", "entries_added",
                 "max_deleted_id", "first_id", "groups")

    def __init__(self) -> None:
        # StreamID -> [field, value, ...]. IDs only ever grow on insertion, so the
        # dict's own order is ID order (AOF/RDB/embed iterate it as such).
        self.entries: Dict[StreamID, List[bytes]] = {}
        self.index = _Index()                     # the same IDs, for ranges
        self.nodes: SortedDict = SortedDict()     # master StreamID -> _Node
        self.tail: Optional[_Node] = None         # nodes' last value (XADD's node)
        self.last_id: StreamID = MIN_ID
        self.entries_added = 0
        self.max_deleted_id: StreamID = MIN_ID
        self.first_id: StreamID = MIN_ID
        self.groups: Dict[bytes, Group] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        # An empty stream still exists (unlike an empty list): never falsy.
        return True

    def copy(self) -> "Stream":
        """A deep, independent copy (COPY): groups, consumers and NACKs included."""
        other = Stream()
        other.entries = {k: list(v) for k, v in self.entries.items()}
        other.index = self.index.copy()
        other.nodes = SortedDict((k, n.copy()) for k, n in self.nodes.items())
        other._refresh_tail()
        other.last_id = self.last_id
        other.entries_added = self.entries_added
        other.max_deleted_id = self.max_deleted_id
        other.first_id = self.first_id
        for name, group in self.groups.items():
            twin = other.groups[name] = Group(name, group.last_id, group.entries_read)
            for cname, consumer in group.consumers.items():
                copy = twin.consumers[cname] = Consumer(cname, consumer.seen_time)
                copy.active_time = consumer.active_time
            for stream_id, nack in group.pel.items():
                owner = twin.consumers[nack.consumer.name] if nack.consumer else None
                new = Nack(owner, nack.delivery_time, nack.delivery_count)
                twin.pel[stream_id] = new
                if owner is not None:
                    owner.pel[stream_id] = new
        return other

    # -- IDs -----------------------------------------------------------------------------
    def last_valid_id(self) -> StreamID:
        """The ID of the last entry still present (streamLastValidID)."""
        return self.index.last() if self.entries else MIN_ID

    def first_entry_id(self) -> StreamID:
        """The ID of the first entry still present (MIN_ID when empty)."""
        return self.index.first() if self.entries else MIN_ID

    def _refresh_first(self) -> None:
        self.first_id = self.first_entry_id()

    def _refresh_tail(self) -> None:
        # Whenever nodes go: XADD appends to whatever node is now the last one.
        self.tail = self.nodes.peekitem(-1)[1] if self.nodes else None

    # -- adding ----------------------------------------------------------------------------
    def append(self, stream_id: StreamID, pairs: List[bytes], max_bytes: int,
               max_entries: int) -> None:
        """Add an entry (the caller checked that ``stream_id`` > last_id); the stream
        keeps ``pairs`` itself, so the caller hands over a list of its own."""
        node = self.tail
        items = len(pairs)
        if items == 2:          # (one pair: the commonest entry)
            total = len(pairs[0]) + len(pairs[1])
        else:
            total = 0           # (a loop beats sum(map(len, pairs)) for a few items)
            for item in pairs:
                total += len(item)
        if node is not None:
            count = node.live + node.deleted
            if max_entries and count >= max_entries:
                node = None
            else:
                if max_bytes == 0 or max_bytes > LISTPACK_MAX_SIZE:
                    max_bytes = LISTPACK_MAX_SIZE
                # Redis's test: lpBytes plus the new arguments' total length. Counts
                # below 128 take 2 bytes each; an upper bound of the size will do
                # until it reaches the limit.
                size = node.bytes + node.bound + 4 if count < 128 else node.size()
                if size + total >= max_bytes:
                    node.settle(self)
                    if node.size() + total >= max_bytes:
                        node = None
        if node is None:
            node = self.tail = _Node(stream_id, pairs[0::2])
            self.nodes[stream_id] = node
        elif node.raw is not None:
            node.raw = None
        # At most the bytes of the entry: an element takes at most its length + 2
        # bytes below 64 bytes (integers included), + 10 otherwise; flags 2, each ID
        # delta at most 10, the counts 2 each below 128 (at most 10 each). An entry
        # with the master entry's fields (the usual case) holds its values only, and
        # one count: bounding it so keeps a node of small entries from reaching the
        # byte limit by the bound alone, which would size every entry exactly.
        if total < 64 and items <= 123:
            fields = node.fields
            if (len(fields) == 1 and pairs[0] == fields[0]) if items == 2 \
                    else tuple(pairs[0::2]) == fields:
                node.bound += total - node.fields_length + items + 24
            else:
                node.bound += total + 2 * items + 26
        else:
            node.bound += total + 10 * items + 42
        node.live += 1
        node.last = stream_id
        entries = self.entries
        entries[stream_id] = pairs
        chunks = self.index.chunks      # (_Index.append's commonest case, inlined)
        if chunks and len(chunks[-1]) < _CHUNK:
            chunks[-1].append(stream_id)
        else:
            self.index.append(stream_id)
        self.last_id = stream_id
        self.entries_added += 1
        if len(entries) == 1:
            self.first_id = stream_id

    def append_run(self, ids: List[StreamID], field: bytes, values: List[bytes],
                   max_bytes: int, max_entries: int) -> int:
        """Add entries of one pair each, ``field`` and each of ``values``, with the IDs
        ``ids`` (ascending, past last_id), to the last node: as many as :meth:`append`
        would put there without looking at its size (all, or fewer up to the node's
        entry limit). Returns how many; 0 when :meth:`append` must decide (no node,
        other fields, a node that may be near its byte limit)."""
        node = self.tail
        if node is None or node.fields != (field,):
            return 0
        if max_entries:
            room = max_entries - node.live - node.deleted
            if room < len(values):
                if room < 2:
                    return 0
                ids = ids[:room]
                values = values[:room]
        longest = len(field) + max(map(len, values))
        # What append adds to the bound per short entry (the node's field, one value;
        # an upper bound of a longer one's bytes too), and append's byte test for the
        # last entry with the longest one: if it holds, it holds for all.
        added = sum(map(len, values)) + 26 * len(values)
        if max_bytes == 0 or max_bytes > LISTPACK_MAX_SIZE:
            max_bytes = LISTPACK_MAX_SIZE
        if node.bytes + node.bound + added + 4 + longest >= max_bytes:
            return 0
        node.raw = None
        node.bound += added
        node.live += len(values)
        node.last = last = ids[-1]
        entries = self.entries
        if not entries:
            self.first_id = ids[0]
        entries.update(zip(ids, zip(repeat(field), values)))
        chunks = self.index.chunks
        if chunks and len(chunks[-1]) + len(ids) <= _CHUNK:
            chunks[-1].extend(ids)
        else:
            for stream_id in ids:
                self.index.append(stream_id)
        self.last_id = last
        self.entries_added += len(values)
        return len(values)

    def load_node(self, master: StreamID, fields: List[bytes],
                  entries: List[Tuple[StreamID, List[bytes]]], deleted: int,
                  last: StreamID, raw: bytes) -> None:
        """Add a node read from a listpack ``raw`` (RDB/RESTORE): its live ``entries``
        in ID order, ``deleted`` tombstones, ``last`` its last ID (deleted or not).
        The caller checked that its IDs follow the stream's."""
        node = self.tail = _Node(master, fields)
        self.nodes[master] = node
        node.live = len(entries)
        node.deleted = deleted
        node.bytes = len(raw) - _int_size(node.live) - _int_size(deleted)
        node.last = node.sized_to = last
        node.raw = raw
        store = self.entries
        for stream_id, pairs in entries:
            store[stream_id] = pairs
            self.index.append(stream_id)

    # -- removing --------------------------------------------------------------------------
    def _node_of(self, stream_id: StreamID) -> _Node:
        index = self.nodes.bisect_right(stream_id) - 1
        return self.nodes.peekitem(index)[1]

    def delete(self, stream_id: StreamID) -> bool:
        """XDEL of one ID: True if it was there. A node left without entries goes."""
        pairs = self.entries.pop(stream_id, None)
        if pairs is None:
            return False
        self.index.remove(stream_id)
        node = self._node_of(stream_id)
        if node.live == 1:
            del self.nodes[node.master]
            if node is self.tail:
                self._refresh_tail()
        else:
            node.deleting(stream_id, pairs)
        return True

    def trim(self, maxlen: Optional[int], minid: Optional[StreamID], approx: bool,
             limit: int) -> int:
        """Redis's streamTrim: whole nodes from the head, then (exact mode only)
        entries inside the first node that must stay. Returns entries removed.

        Nodes go from the head, so the entries removed are always the stream's first
        ones (a node's live entries are the first ``live`` IDs once the nodes before
        it are gone)."""
        deleted = 0
        entries = self.entries
        index = self.index
        nodes = self.nodes
        while nodes:
            if maxlen is not None and len(entries) <= maxlen:
                break
            master, node = nodes.peekitem(0)
            live = node.live
            if limit and deleted + live > limit:
                break
            if maxlen is not None:
                remove_node = len(entries) - live >= maxlen
            else:
                remove_node = node.last < minid
            if remove_node:
                for stream_id in index.remove_head(live):
                    del entries[stream_id]
                del nodes[master]
                deleted += live
                continue
            if approx:
                break
            # Exact: the node's first entries, flagged deleted in its listpack.
            if maxlen is not None:
                count = len(entries) - maxlen
            else:
                count = 0
                for stream_id in index.irange(MIN_ID, minid):
                    if stream_id >= minid or count == live:
                        break
                    count += 1
            for stream_id in index.remove_head(count):
                node.deleting(stream_id, entries.pop(stream_id))
            deleted += count
            break
        self._refresh_first()
        if not nodes:       # only the head goes: the tail does when all nodes do
            self.tail = None
        return deleted

    def estimate_entries_read(self, stream_id: StreamID) -> int:
        """Redis's streamEstimateDistanceFromFirstEverEntry: how many entries were
        ever added up to ``stream_id`` (INVALID_ENTRIES_READ when unknowable)."""
        if not self.entries_added:
            return 0
        if not self.entries and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return INVALID_ENTRIES_READ
        if self.max_deleted_id == MIN_ID or self.max_deleted_id < self.first_id:
            if stream_id < self.first_id:
                return self.entries_added - len(self.entries)
            if stream_id == self.first_id:
                return self.entries_added - len(self.entries) + 1
        return INVALID_ENTRIES_READ

    # -- reading ---------------------------------------------------------------------------
    def range(self, start: StreamID, end: StreamID, count: int = 0,
              reverse: bool = False) -> Iterator[Tuple[StreamID, List[bytes]]]:
        """Entries with start <= ID <= end, at most ``count`` (0: all)."""
        if start > end:
            return
        entries = self.entries
        for n, stream_id in enumerate(self.index.irange(start, end, reverse)):
            if count and n >= count:
                return
            yield stream_id, entries[stream_id]

    # -- radix tree statistics (XINFO STREAM) ------------------------------------------
    def radix_tree_nodes(self) -> int:
        """rax->numnodes of Redis's tree of node keys (16-byte big-endian IDs).

        Redis's radix tree keeps every chain of single children compressed into one
        node, so the count follows from the keys alone: the root, one node per
        branching point and per child of a branching point, and one per key end.
        """
        keys = [ms.to_bytes(8, "big") + seq.to_bytes(8, "big") for ms, seq in self.nodes]
        if not keys:
            return 1
        return _rax_nodes(keys, 0)


def _rax_nodes(keys: List[bytes], depth: int) -> int:
    """Nodes of the (compressed) subtree at ``depth`` holding the sorted ``keys``."""
    if depth == 16:
        return 1
    first, last = keys[0], keys[-1]
    if first[depth] == last[depth]:
        # Sorted keys: they share as many bytes as the first and last share.
        common = depth
        while common < 16 and first[common] == last[common]:
            common += 1
        return 1 + _rax_nodes(keys, common)
    total = 1
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i][depth] != keys[start][depth]:
            total += _rax_nodes(keys[start:i], depth + 1)
            start = i
    return total


register_type(Stream, "stream")
register_encoding(Stream, lambda value, config: "stream")
