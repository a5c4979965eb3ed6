"""A compact list of bytes: the value class of Redis lists (like Redis's quicklist).

A Python ``bytes`` object costs ~40 bytes of overhead, so a list holding one object per
element costs 3-4 times Redis's memory. :class:`PackedList` keeps its elements in three
parts, in order::

    head (deque of bytes)  +  chunks (deque of packed chunks)  +  tail (deque of bytes)

The two ends are plain deques, so pushes and pops run at C speed, and a small list (a
few hundred elements) lives entirely in them. When an end reaches ``2 * CHUNK``
elements its inner ones are packed in whole chunks of ``CHUNK``, leaving ``CHUNK`` to
``2 * CHUNK - 1`` (several pushed at once leave no short chunk). A chunk is a
``(blob, count)`` pair where ``blob`` is the elements joined by ``\x00`` (the reserved
bytes escaped inside them: :func:`miniredis.datatypes.packed.escape`; one byte per
element besides its own), which ``bytes.split`` unpacks at C speed (~2 us for 128
short elements, as ``pickle.loads`` of the pickled list that chunks were before;
slicing them out of a joined blob by an offset array took ~15 us on this VM). A chunk
holds at most CHUNK elements and stops growing past 64 KB; reading a few elements near
one end of a chunk splits that end alone (LRANGE 0 9 or LINDEX 5 of lists read in
turn), else the chunk is unpacked (O(CHUNK), as a listpack is scanned). Popping
an end that is empty unpacks the nearest chunk into it, so push and pop are O(1)
amortised at both ends.
Chunks are immutable once built (a change replaces the chunk), so :meth:`copy` shares
them. A small list (never packed) keeps everything in the tail deque: its head and
chunks are the shared empty tuple until the first packing, so it costs one deque (an
empty deque is ~760 bytes) as the plain deque it replaces did.

A range of one end deque found to hold elements all of one length is remembered
(:meth:`read_range`) until that deque changes: a bulk reply
of them then needs no ``len`` of each (:func:`miniredis.protocol.bulk_run`), about
half of LRANGE 0 99's work. Nothing on the write paths pays for it: the deque's own
mutation check (an iterator made at the time raises RuntimeError once the deque has
changed) tells, and only item assignment escapes that check (:meth:`__setitem__`
forgets the range itself).

Positional access walks chunks from the nearer end (O(n / CHUNK) plus O(CHUNK)), as
Redis walks quicklist nodes; :meth:`slice` skips whole chunks before the start. The
class knows no commands: :mod:`miniredis.commands.lists` is its main user.
"""
from __future__ import annotations

from collections import deque
from itertools import islice, repeat, starmap
from sys import getsizeof
from typing import Any, Iterable, Iterator, List, Tuple

from .packed import LastUnpacked, escape, unescape

CHUNK = 128            # elements per packed chunk
_CHUNK_BYTES = 1 << 16  # ...or fewer once the chunk holds this many bytes
_LIMIT = 2 * CHUNK     # an end deque holding this many elements gets packed

Chunk = Tuple[bytes, int]


def _pack(items: List[bytes]) -> Chunk:
    joined = b"".join(items)   # (one memchr per reserved byte for all the elements)
    if 0 in joined or 1 in joined or 2 in joined:
        items = [escape(x) if 0 in x or 1 in x or 2 in x else x for x in items]
    return b"\x00".join(items), len(items)


def _unpack(chunk: Chunk) -> List[bytes]:
    blob = chunk[0]
    items = blob.split(b"\x00")
    if 2 in blob:
        items = [unescape(x) if 2 in x else x for x in items]
    return items


_LAST = LastUnpacked()      # the chunk read whole last (see _read)
_last_partial: Chunk = (b"", 0)


def _read(chunk: Chunk) -> List[bytes]:
    """The elements of ``chunk``, for reading only: the chunk read last stays unpacked
    (a range polled again and again -- LRANGE 0 99 of a queue, LINDEX in a loop --
    would otherwise unpack it per request: a third of LRANGE_100's work). Chunks are
    immutable and the memo holds its chunk, so identity tells it is the same."""
    return _LAST.read(chunk, _unpack)


def _read_slice(chunk: Chunk, start: int, stop: int) -> List[bytes]:
    """``_read(chunk)[start:stop]`` (0 <= start < stop <= its count). A few elements
    near one end of a chunk not read last are split off that end alone (LRANGE 0 9
    or LINDEX 5 of lists read in turn: no object for the rest of the chunk); a chunk
    read so twice in a row is read whole, and stays so (a loop over one chunk)."""
    global _last_partial
    last = _LAST.last
    if last[0] is chunk:
        return last[1][start:stop]
    blob, count = chunk
    if _last_partial is not chunk and 4 * (stop - start) <= count:
        _last_partial = chunk
        if 2 * stop <= count:
            items = blob.split(b"\x00", stop)[start:stop]
        elif 2 * start >= count:
            items = blob.rsplit(b"\x00", count - start)[1:stop - start + 1]
        else:
            return _read(chunk)[start:stop]
        if 2 in blob:
            items = [unescape(x) if 2 in x else x for x in items]
        return items
    return _read(chunk)[start:stop]


def _item(chunk: Chunk, index: int) -> bytes:
    return _read_slice(chunk, index, index + 1)[0]


def _pack_all(items: List[bytes]) -> List[Chunk]:
    """``items`` as successive chunks (each at most CHUNK elements / ~_CHUNK_BYTES)."""
    if not items:
        return []
    count = len(items)
    if count <= CHUNK:
        # The usual case: one chunk. When the first element says they are likely to
        # fit, the blob is made first: it is at least a separator per element but one
        # longer than the elements together, so a short one proves they fit without a
        # len() of each. Long elements are measured first (a blob too long for one
        # chunk would be made for nothing); either way the loop below decides the rest.
        if len(items[0]) * count < _CHUNK_BYTES // 2:
            chunk = _pack(items)
            if len(chunk[0]) - (count - 1) < _CHUNK_BYTES:
                return [chunk]
        elif count == 1 or sum(map(len, items[:-1])) < _CHUNK_BYTES:
            return [_pack(items)]
    chunks = []
    start = 0
    while start < len(items):
        stop, size = start, 0
        while stop < len(items) and stop - start < CHUNK and size < _CHUNK_BYTES:
            size += len(items[stop])
            stop += 1
        chunks.append(_pack(items[start:stop]))
        start = stop
    return chunks


class PackedList:
    """A list of bytes with O(1) amortised push/pop at both ends and compact storage.

    API (a subset of ``collections.deque`` plus bulk helpers): ``append``,
    ``appendleft``, ``extend``, ``extendleft``, ``pop``, ``popleft``, ``pop_many``,
    ``len``, iteration both ways, ``[i]`` get/set (int index, negative allowed),
    ``insert``, ``index``, ``slice``, ``clear``, ``copy``; ``layout``, ``loose`` and
    ``packed_bytes`` for size estimates.

    ``head`` and ``tail`` are the end deques (``head`` is ``()`` while the list is
    small): an own loop pops from one directly while it holds two elements or more,
    which is exactly what ``pop``/``popleft`` would do (two calls fewer per RPOP).
    """

    __slots__ = ("head", "_chunks", "tail", "_middle", "_uniform")

    def __init__(self, items: Iterable[bytes] = ()) -> None:
        # () while small (everything in the tail); deques from the first packing on.
        self.head: Any = ()
        self._chunks: Any = ()
        self.tail: deque = deque()
        self._middle = 0   # elements held in chunks
        self._uniform: Any = None  # (deque, its iterator, first, stop, width): see below
        iterator = iter(items)
        while True:        # in batches, so a long iterator never sits all unpacked
            batch = list(islice(iterator, 4096))
            if not batch:
                break
            self.extend(batch)

    # -- size and iteration -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.head) + self._middle + len(self.tail)

    def __bool__(self) -> bool:
        return bool(self.head or self._middle or self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield from self.head
        for chunk in self._chunks:
            yield from _unpack(chunk)
        yield from self.tail

    def __reversed__(self) -> Iterator[bytes]:
        yield from reversed(self.tail)
        for chunk in reversed(self._chunks):
            yield from reversed(_unpack(chunk))
        yield from reversed(self.head)

    def __repr__(self) -> str:
        return "PackedList(%r)" % list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedList):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # -- the ends -----------------------------------------------------------------------
    def append(self, item: bytes) -> None:
        tail = self.tail
        tail.append(item)
        if len(tail) >= _LIMIT:
            self._pack_tail()

    def appendleft(self, item: bytes) -> None:
        head = self.head
        if head.__class__ is tuple:      # small: the tail deque holds everything
            head = self.tail
            head.appendleft(item)
            if len(head) >= _LIMIT:
                self._pack_tail()
            return
        head.appendleft(item)
        if len(head) >= _LIMIT:
            self._pack_head()

    def extend(self, items: Iterable[bytes]) -> int:
        """Append every item; returns the new length (RPUSH's reply, saving a call)."""
        tail = self.tail
        tail.extend(items)
        if len(tail) >= _LIMIT:
            self._pack_tail()
        return len(self.head) + self._middle + len(tail)

    def extendleft(self, items: Iterable[bytes]) -> int:
        """Like deque.extendleft: each item pushed in turn, so they end up reversed.
        Returns the new length (LPUSH's reply)."""
        head = self.head
        if head.__class__ is tuple:      # small: the tail deque holds everything
            tail = self.tail
            tail.extendleft(items)
            if len(tail) >= _LIMIT:
                self._pack_tail()
            return len(self.head) + self._middle + len(tail)
        head.extendleft(items)
        if len(head) >= _LIMIT:
            self._pack_head()
        return len(head) + self._middle + len(self.tail)

    def _pack_tail(self) -> None:
        # Pack the tail's leftmost elements (just after the chunks) in whole CHUNKs
        # until CHUNK to 2 * CHUNK - 1 remain (several pushed at once would otherwise
        # leave a short chunk behind).
        if self.head.__class__ is tuple:
            self.head = deque()
            self._chunks = deque()
        tail = self.tail
        count = len(tail) - CHUNK - (len(tail) - CHUNK) % CHUNK
        # Popped one by one, in a C loop (a clear and an extend of what stays left
        # the heap fragmented: +60% RSS per item).
        items = list(starmap(tail.popleft, repeat((), count)))
        for chunk in _pack_all(items):
            self._chunks.append(chunk)
        self._middle += len(items)

    def _pack_head(self) -> None:
        head = self.head
        keep = CHUNK + (len(head) - CHUNK) % CHUNK
        items = list(starmap(head.pop, repeat((), len(head) - keep)))   # (as above)
        items.reverse()
        for chunk in reversed(_pack_all(items)):
            self._chunks.appendleft(chunk)
        self._middle += len(items)

    def pop(self) -> bytes:
        """Remove and return the last element (IndexError when empty)."""
        tail = self.tail
        if tail:
            return tail.pop()
        if not self._chunks:
            return (self.head or tail).pop()   # IndexError when empty
        chunk = self._chunks.pop()
        self._middle -= chunk[1]
        tail.extend(_unpack(chunk))
        return tail.pop()

    def popleft(self) -> bytes:
        """Remove and return the first element (IndexError when empty)."""
        head = self.head
        if head:
            return head.popleft()
        if not self._chunks:
            return self.tail.popleft()
        chunk = self._chunks.popleft()
        self._middle -= chunk[1]
        head.extend(_unpack(chunk))
        return head.popleft()

    def pop_many(self, count: int, left: bool, keep: bool = True) -> List[bytes]:
        """Remove up to ``count`` elements from one end; return them in pop order (an
        empty list when ``keep`` is false: whole chunks are then dropped unread)."""
        count = min(count, len(self))
        out: List[bytes] = []
        head = self.tail if self.head.__class__ is tuple else self.head
        if left:
            near, far = head, self.tail
        else:
            near, far = self.tail, head
        pop = near.popleft if left else near.pop
        while count:
            if near:
                n = min(count, len(near))
                if keep:
                    out += [pop() for _ in range(n)]
                else:
                    for _ in range(n):
                        pop()
                count -= n
            elif self._chunks:
                chunk_len = (self._chunks[0] if left else self._chunks[-1])[1]
                chunk = self._chunks.popleft() if left else self._chunks.pop()
                if not keep and chunk_len <= count:
                    self._middle -= chunk_len
                    count -= chunk_len
                    continue
                self._middle -= chunk_len
                near.extend(_unpack(chunk))
            else:
                far_pop = far.popleft if left else far.pop
                if keep:
                    out += [far_pop() for _ in range(count)]
                else:
                    for _ in range(count):
                        far_pop()
                count = 0
        return out

    def clear(self) -> None:
        self._uniform = None
        self.head = ()
        self._chunks = ()
        self.tail.clear()
        self._middle = 0

    def copy(self) -> "PackedList":
        """An independent copy (chunks are immutable, so they are shared)."""
        other = PackedList()
        if self.head.__class__ is not tuple:
            other.head = self.head.copy()
            other._chunks = self._chunks.copy()
        other.tail = self.tail.copy()
        other._middle = self._middle
        return other

    # -- positional access --------------------------------------------------------------
    def _locate(self, index: int) -> Tuple[int, int]:
        """Chunk number and offset in it of middle index ``index`` (0 <= index <
        _middle), walking from the nearer end."""
        chunks = self._chunks
        if index < self._middle // 2:
            for number, chunk in enumerate(chunks):
                size = chunk[1]
                if index < size:
                    return number, index
                index -= size
        else:
            index = self._middle - 1 - index   # distance from the middle's last element
            last = len(chunks) - 1
            for number, chunk in enumerate(reversed(chunks)):
                size = chunk[1]
                if index < size:
                    return last - number, size - 1 - index
                index -= size
        raise IndexError("PackedList index out of range")  # pragma: no cover

    def _normalise(self, index: int) -> int:
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("PackedList index out of range")
        return index

    def __getitem__(self, index: int) -> bytes:
        index = self._normalise(index)
        head = len(self.head)
        if index < head:
            return self.head[index]
        index -= head
        if index >= self._middle:
            return self.tail[index - self._middle]
        number, offset = self._locate(index)
        return _item(self._chunks[number], offset)

    def __setitem__(self, index: int, item: bytes) -> None:
        index = self._normalise(index)
        self._uniform = None    # (assigning an item does not count as a deque change)
        head = len(self.head)
        if index < head:
            self.head[index] = item
            return
        index -= head
        if index >= self._middle:
            self.tail[index - self._middle] = item
            return
        number, offset = self._locate(index)
        items = _unpack(self._chunks[number])
        items[offset] = item
        self._replace_chunk(number, items)

    def _replace_chunk(self, number: int, items: List[bytes]) -> None:
        chunks = self._chunks
        old = chunks[number][1]
        new = _pack_all(items)
        if len(new) == 1:
            chunks[number] = new[0]
        else:
            del chunks[number]
            for chunk in reversed(new):
                chunks.insert(number, chunk)
        self._middle += len(items) - old

    def insert(self, index: int, item: bytes) -> None:
        """Insert ``item`` before position ``index`` (0 <= index <= len)."""
        head = len(self.head)
        if index <= head and self.head.__class__ is not tuple:
            self.head.insert(index, item)
            if head + 1 >= _LIMIT:
                self._pack_head()
            return
        index -= head
        if index >= self._middle:
            self.tail.insert(index - self._middle, item)
            if len(self.tail) >= _LIMIT:
                self._pack_tail()
            return
        number, offset = self._locate(index)
        items = _unpack(self._chunks[number])
        items.insert(offset, item)
        self._replace_chunk(number, items)

    def index(self, item: bytes) -> int:
        """Position of the first element equal to ``item`` (ValueError when absent)."""
        for position, value in enumerate(self):
            if value == item:
                return position
        raise ValueError("item not in list")

    def slice(self, start: int, stop: int) -> List[bytes]:
        """Elements ``start`` to ``stop - 1`` (0 <= start <= stop <= len)."""
        return self.read_range(start, stop)[0]

    def read_range(self, start: int, stop: int) -> Tuple[List[bytes], int]:
        """Elements ``start`` to ``stop - 1`` (0 <= start <= stop <= len), and the
        length they all have (-1: several, or none). Whole chunks before ``start`` are
        skipped, so the cost is O(start / CHUNK + stop - start). A range of one end
        deque found to hold one length stays known until that deque changes (see the
        module), which spares a bulk reply of it a ``len`` per element."""
        out: List[bytes] = []
        if start >= stop:
            return out, -1
        head = self.head
        at, until = start, stop
        if at < len(head):
            out += islice(head, at, min(until, len(head)))
        at -= len(head)
        until -= len(head)
        middle = self._middle
        if until > 0 and at < middle:
            position, first = 0, 0
            if at > middle // 2:    # find the first chunk from the nearer end
                position = middle
                first = len(self._chunks)
                for chunk in reversed(self._chunks):
                    if position <= at:
                        break
                    position -= chunk[1]
                    first -= 1
            for chunk in islice(self._chunks, first, None):
                size = chunk[1]
                if position + size > at:
                    out += _read_slice(chunk, max(at - position, 0),
                                       min(until - position, size))
                position += size
                if position >= until:
                    break
        at -= middle
        until -= middle
        if until > 0:
            out += islice(self.tail, max(at, 0), until)
        known = self._uniform
        if known is not None:
            end, probe, first, last, width = known
            # (the range in that deque's positions; -1: not in it)
            low, high = (start, stop) if end is head else \
                (at, until) if end is self.tail else (-1, -1)
            if first <= low and high <= last:
                try:
                    next(probe, None)   # RuntimeError once the deque has changed
                    return out, width
                except RuntimeError:
                    self._uniform = None
        width = len(out[0])
        if width != len(out[-1]) or list(map(len, out)).count(width) != len(out):
            return out, -1
        if stop <= len(head):
            self._uniform = (head, iter(head), start, stop, width)
        elif at >= 0:
            tail = self.tail
            self._uniform = (tail, iter(tail), at, until, width)
        return out, width

    def layout(self) -> Tuple[int, int, int]:
        """(loose elements, packed elements, chunks): for size estimates."""
        return len(self.head) + len(self.tail), self._middle, len(self._chunks)

    def containers_size(self) -> int:
        """Bytes of this object and its deques (sys.getsizeof), chunks apart."""
        size = getsizeof(self) + getsizeof(self.tail)
        if self.head.__class__ is not tuple:
            size += getsizeof(self.head) + getsizeof(self._chunks)
        return size

    def packed_bytes(self) -> int:
        """Total length of the chunks' blobs: the packed elements with their
        separators (O(chunks))."""
        return sum(len(blob) for blob, _ in self._chunks)

    def loose(self) -> Iterator[bytes]:
        """The elements held unpacked, one bytes object each (at both ends)."""
        yield from self.head
        yield from self.tail



# Registered here so any module creating lists (RDB loading, SORT STORE) has the type.
from .names import register_encoding, register_type  # noqa: E402

register_type(PackedList, "list")
register_encoding(PackedList, lambda value, config: "quicklist")  # Redis 7.0: always
