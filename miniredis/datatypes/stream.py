"""The stream value: entries ordered by ID, consumer groups, pending entries lists.

Entries live in an :class:`_Index`: sorted chunks of IDs (each ``(ms, seq)`` kept as
one int) with each entry's field/value pairs alongside. XADD only ever adds an ID
greater than all others, so it appends; a lookup or the start of a range is found in
O(log n). Redis stores entries in listpack "nodes" (at most
``stream-node-max-entries`` entries or ``stream-node-max-bytes`` bytes each) indexed by
a radix tree keyed by each node's first ("master") ID; approximate trimming removes
whole nodes only, and XINFO STREAM reports the tree's key and node counts. Those are observable, so :class:`_Node` keeps
exactly the bookkeeping Redis's listpacks have (live and deleted counts, master
fields, encoded size) without storing the bytes.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import islice, repeat
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

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
            sized_to = self.sized_to
            for stream_id, pairs in stream.index.items(self.master, self.last, True):
                if stream_id <= sized_to:
                    break
                self.bytes += _entry_size(self, stream_id, pairs)
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
_CHUNK = 512     # entries per chunk of the index (chunks only ever shrink after that)

Pairs = Sequence[bytes]     # an entry's field, value, field, value...
_SEQS = 1 << 64             # an ID's key is ms * _SEQS + seq: divmod by it gives the ID


class _Index:
    """The stream's entries in ID order: sorted chunks of keys (an ID ``(ms, seq)`` as
    the one int ``ms << 64 | seq``, in the same order), each entry's pairs in chunks
    alongside (same positions), and the first key of each chunk (what a lookup
    bisects). IDs come in and go out as tuples; ranges turn keys back into IDs in C
    (``divmod``).

    XADD only ever adds an ID greater than all others, so it appends to the last
    chunks: two list appends, where a dict keyed by ID tuples took a hash and a cache
    miss per entry (a sixth of a pipelined XADD's time). A chunk whose entries all
    have one pair with one field (a producer's usual entries) keeps that field once,
    in ``fields``, and only each entry's value. So a producer's entry costs no tuple
    (neither ID nor pair) to allocate, keep and have the garbage collector visit: a
    run of XADDs hands in its keys as a range of ints, and the tuples are made when
    read, in C (about 5% more per entry an XRANGE reads, 7% less per entry a
    pipelined XADD adds; 48 bytes less per entry). An entry of another shape turns
    the chunk into pairs, once. Chunks never split and never merge: XDEL deletes
    inside one chunk, trimming takes from the head, and a chunk left empty goes. So a
    lookup is O(log n), XDEL O(log n + chunk), and a range O(log n + output).
    """

    __slots__ = ("chunks", "pairs", "fields", "firsts")

    def __init__(self) -> None:
        self.chunks: List[List[int]] = []
        # Per chunk: its entries' pairs, or their values when ``fields`` holds the
        # chunk's one field (None: pairs).
        self.pairs: List[list] = []
        self.fields: List[Optional[bytes]] = []
        self.firsts: List[int] = []

    def copy(self) -> "_Index":
        """An independent copy (the pairs are shared: nothing changes them in place)."""
        other = _Index()
        other.chunks = [list(chunk) for chunk in self.chunks]
        other.pairs = [list(chunk) for chunk in self.pairs]
        other.fields = list(self.fields)
        other.firsts = list(self.firsts)
        return other

    def _as_pairs(self, i: int) -> None:
        """Chunk ``i`` keeps pairs from now on (an entry of another shape comes)."""
        field = self.fields[i]
        self.pairs[i] = [(field, value) for value in self.pairs[i]]
        self.fields[i] = None

    def append(self, stream_id: StreamID, pairs: Pairs) -> None:
        """Add an entry whose ID is greater than every other."""
        key = (stream_id[0] << 64) | stream_id[1]
        chunks = self.chunks
        if chunks and len(chunks[-1]) < _CHUNK:
            chunks[-1].append(key)
            field = self.fields[-1]
            if field is not None:
                if len(pairs) == 2 and pairs[0] == field:
                    self.pairs[-1].append(pairs[1])
                    return
                self._as_pairs(len(chunks) - 1)
            self.pairs[-1].append(pairs)
            return
        chunks.append([key])
        self.firsts.append(key)
        if len(pairs) == 2:
            self.pairs.append([pairs[1]])
            self.fields.append(pairs[0])
        else:
            self.pairs.append([pairs])
            self.fields.append(None)

    def extend(self, ms: int, seq: int, field: bytes, values: List[bytes]) -> None:
        """Add entries of one pair each, ``field`` and each of ``values``, with the
        IDs ``ms-seq``, ``ms-seq+1``... (greater than every other)."""
        chunks = self.chunks
        if chunks and len(chunks[-1]) + len(values) <= _CHUNK and self.fields[-1] == field:
            first = (ms << 64) | seq
            chunks[-1].extend(range(first, first + len(values)))
            self.pairs[-1].extend(values)
        else:
            for value in values:
                self.append((ms, seq), (field, value))
                seq += 1

    def first(self) -> StreamID:
        return divmod(self.chunks[0][0], _SEQS)

    def last(self) -> StreamID:
        return divmod(self.chunks[-1][-1], _SEQS)

    def _position(self, stream_id: StreamID) -> Tuple[int, int]:
        """(chunk, place) of an ID that is present; (-1, -1) if it is not."""
        key = (stream_id[0] << 64) | stream_id[1]
        i = bisect_right(self.firsts, key) - 1
        if i >= 0:
            chunk = self.chunks[i]
            j = bisect_left(chunk, key)
            if j < len(chunk) and chunk[j] == key:
                return i, j
        return -1, -1

    def get(self, stream_id: StreamID) -> Optional[Pairs]:
        """The pairs of the entry ``stream_id``, None if there is none."""
        i, j = self._position(stream_id)
        if i < 0:
            return None
        field = self.fields[i]
        return self.pairs[i][j] if field is None else (field, self.pairs[i][j])

    def pop(self, stream_id: StreamID) -> Optional[Pairs]:
        """Remove the entry ``stream_id`` and return its pairs (None if there is none)."""
        i, j = self._position(stream_id)
        if i < 0:
            return None
        field = self.fields[i]
        chunk = self.chunks[i]
        del chunk[j]
        pairs = self.pairs[i].pop(j)
        if not chunk:
            del self.chunks[i]
            del self.pairs[i]
            del self.fields[i]
            del self.firsts[i]
        elif j == 0:
            self.firsts[i] = chunk[0]
        return pairs if field is None else (field, pairs)

    def remove_head(self, count: int) -> None:
        """Remove the ``count`` first entries (there are as many)."""
        chunks, pairs, firsts = self.chunks, self.pairs, self.firsts
        whole = removed = 0
        while whole < len(chunks) and removed + len(chunks[whole]) <= count:
            removed += len(chunks[whole])
            whole += 1
        del chunks[:whole]
        del pairs[:whole]
        del self.fields[:whole]
        del firsts[:whole]
        rest = count - removed
        if rest:
            del chunks[0][:rest]
            del pairs[0][:rest]
            firsts[0] = chunks[0][0]

    def items(self, start: StreamID, end: StreamID,
              reverse: bool = False) -> Iterator[Tuple[StreamID, Pairs]]:
        """(ID, pairs) with start <= ID <= end, ascending (descending with ``reverse``).
        Both ends are bisected, so the walk between them runs in C."""
        if start > end:
            return
        chunks, pairs, fields, firsts = self.chunks, self.pairs, self.fields, self.firsts
        end_key = (end[0] << 64) | end[1]
        last = bisect_right(firsts, end_key) - 1        # the chunk holding the end
        if last < 0:
            return
        stop = bisect_right(chunks[last], end_key)      # (at least 1: first <= end)
        start_key = (start[0] << 64) | start[1]
        first = bisect_right(firsts, start_key) - 1     # the chunk holding the start
        if first < 0:
            first, begin = 0, 0
        else:
            begin = bisect_left(chunks[first], start_key)
        seqs = repeat(_SEQS)
        if reverse:
            i, high = last, stop
            while True:
                low = begin if i == first else 0
                skip = len(chunks[i]) - high
                entries = islice(reversed(pairs[i]), skip, skip + high - low)
                if fields[i] is not None:
                    entries = zip(repeat(fields[i]), entries)
                keys = islice(reversed(chunks[i]), skip, skip + high - low)
                yield from zip(map(divmod, keys, seqs), entries)
                if i == first:
                    return
                i -= 1
                high = len(chunks[i])
        else:
            i, low = first, begin
            while True:
                high = stop if i == last else len(chunks[i])
                entries = islice(pairs[i], low, high)
                if fields[i] is not None:
                    entries = zip(repeat(fields[i]), entries)
                yield from zip(map(divmod, islice(chunks[i], low, high), seqs), entries)
                if i == last:
                    return
                i += 1
                low = 0


# -- the stream --------------------------------------------------------------------------
class Stream:
    """A Redis stream (see the module docstring for the layout)."""

    __slots__ = ("length", "index", "nodes", "tail", "last_id", "entries_added",
                 "max_deleted_id", "first_id", "groups")

    def __init__(self) -> None:
        self.length = 0                           # entries present
        self.index = _Index()                     # the entries, in ID order
        self.nodes: SortedDict = SortedDict()     # master StreamID -> _Node
        self.tail: Optional[_Node] = None         # nodes' last value (XADD's node)
        self.last_id: StreamID = MIN_ID
        self.entries_added = 0
        self.max_deleted_id: StreamID = MIN_ID
        self.first_id: StreamID = MIN_ID
        self.groups: Dict[bytes, Group] = {}

    def __len__(self) -> int:
        return self.length

    def __bool__(self) -> bool:
        # An empty stream still exists (unlike an empty list): never falsy.
        return True

    def copy(self) -> "Stream":
        """A deep, independent copy (COPY): groups, consumers and NACKs included."""
        other = Stream()
        other.length = self.length
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
        return self.index.last() if self.length else MIN_ID

    def first_entry_id(self) -> StreamID:
        """The ID of the first entry still present (MIN_ID when empty)."""
        return self.index.first() if self.length else MIN_ID

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
        self.index.append(stream_id, pairs)
        self.last_id = stream_id
        self.entries_added += 1
        self.length += 1
        if self.length == 1:
            self.first_id = stream_id

    def append_run(self, ms: int, seq: int, field: bytes, values: List[bytes],
                   max_bytes: int, max_entries: int) -> int:
        """Add entries of one pair each, ``field`` and each of ``values``, with the IDs
        ``ms-seq``, ``ms-seq+1``... (past last_id; the caller checked that the last
        sequence fits), to the last node: as many as :meth:`append` would put there
        without looking at its size (all, or fewer up to the node's entry limit).
        Returns how many; 0 when :meth:`append` must decide (no node, other fields, a
        node that may be near its byte limit)."""
        node = self.tail
        if node is None or node.fields != (field,):
            return 0
        if max_entries:
            room = max_entries - node.live - node.deleted
            if room < len(values):
                if room < 2:
                    return 0
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
        count = len(values)
        node.raw = None
        node.bound += added
        node.live += count
        node.last = self.last_id = (ms, seq + count - 1)
        if not self.length:
            self.first_id = (ms, seq)
        self.index.extend(ms, seq, field, values)
        self.entries_added += count
        self.length += count
        return count

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
        for stream_id, pairs in entries:
            self.index.append(stream_id, pairs)
        self.length += len(entries)

    # -- removing --------------------------------------------------------------------------
    def _node_of(self, stream_id: StreamID) -> _Node:
        index = self.nodes.bisect_right(stream_id) - 1
        return self.nodes.peekitem(index)[1]

    def delete(self, stream_id: StreamID) -> bool:
        """XDEL of one ID: True if it was there. A node left without entries goes."""
        pairs = self.index.pop(stream_id)
        if pairs is None:
            return False
        self.length -= 1
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
        index = self.index
        nodes = self.nodes
        while nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            master, node = nodes.peekitem(0)
            live = node.live
            if limit and deleted + live > limit:
                break
            if maxlen is not None:
                remove_node = self.length - live >= maxlen
            else:
                remove_node = node.last < minid
            if remove_node:
                index.remove_head(live)
                self.length -= live
                del nodes[master]
                deleted += live
                continue
            if approx:
                break
            # Exact: the node's first entries, flagged deleted in its listpack.
            if maxlen is not None:
                count = self.length - maxlen
            else:
                count = 0
                for stream_id, _ in index.items(MIN_ID, minid):
                    if stream_id >= minid or count == live:
                        break
                    count += 1
            for stream_id, pairs in list(islice(index.items(MIN_ID, MAX_ID), count)):
                node.deleting(stream_id, pairs)
            index.remove_head(count)
            self.length -= count
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
        if not self.length and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return INVALID_ENTRIES_READ
        if self.max_deleted_id == MIN_ID or self.max_deleted_id < self.first_id:
            if stream_id < self.first_id:
                return self.entries_added - self.length
            if stream_id == self.first_id:
                return self.entries_added - self.length + 1
        return INVALID_ENTRIES_READ

    # -- reading ---------------------------------------------------------------------------
    def range(self, start: StreamID, end: StreamID, count: int = 0,
              reverse: bool = False) -> Iterator[Tuple[StreamID, List[bytes]]]:
        """Entries with start <= ID <= end, at most ``count`` (0: all)."""
        entries = self.index.items(start, end, reverse)
        return islice(entries, max(count, 0)) if count else entries

    def items(self) -> Iterator[Tuple[StreamID, Pairs]]:
        """Every entry, in ID order (AOF, RDB, DEBUG DIGEST, the embedding API)."""
        return self.index.items(MIN_ID, MAX_ID)

    def get(self, stream_id: StreamID) -> Optional[Pairs]:
        """The pairs of the entry ``stream_id`` (None if there is none)."""
        return self.index.get(stream_id)

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
