"""ScoreList: a sorted set's (score, member) entries in Redis's order, kept in chunks
of parallel flat arrays, with positions (ranks) from a Fenwick tree over chunk sizes.

Why not a ``SortedList`` of ``(score, member)`` tuples: at a million entries every
comparison of a bisection dereferences a tuple and a float scattered over hundreds of
megabytes, so a ZRANK or a ZADD that moves an entry costs about twenty cache misses
(8 microseconds here). Here the scores of a chunk are one ``array('d')`` (8 bytes
each, contiguous) and the chunks' last scores another, so a bisection reads a few
cache lines of doubles; members are only compared among entries of equal score.
There is no tuple per entry, which also saves 64 bytes per member.

Layout: chunk ``c`` holds ``_scores[c]`` (array of doubles) and ``_members[c]`` (list
of bytes), sorted by (score, member bytes) -- Redis's order: score, then memcmp of the
members. ``_maxes[c]`` is the last score of chunk ``c``. A chunk splits in two past
``_MAX`` entries and an emptied chunk goes away; tiny chunks merge with a neighbour,
so there are about n / 512 chunks. A rank is the size of the chunks before (the
Fenwick tree: O(log chunks)) plus the offset in the chunk (a bisection: O(log n) in
all, as a skiplist rank). Inserting or deleting moves at most ``_MAX`` array slots (a
memmove in C), like a listpack or sortedcontainers' own lists.

The tree is rebuilt (O(chunks)) only after a split or a merge, at the next use. A
size change is not walked into the tree when it happens: it waits in ``_pending``
(chunk -> change) until a position is next asked for, so a run of score updates that
move entries between chunks (ZADD, ZINCRBY) pays a dict update each instead of two
walks of the tree (a Python loop of ~log2(chunks) steps each: 5% of a live server's
time in ZADDs at a million members); many waiting changes rebuild the tree instead
(more than a quarter of the chunks: O(chunks), paid for by the updates that made
them). The tree is an ``array('q')``, one block of memory: a list's ints, each replaced
by an update, end up spread over the heap, a cache miss per step of a rank's walk.
Negative zero keeps its sign (it sorts as zero, as in Redis's skiplist).
"""
from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

_MAX = 1024         # a chunk splits in two past this many entries
_MIN = 64           # a chunk smaller than this merges with a neighbour

Entry = Tuple[float, bytes]


class ScoreList:
    """Sorted (score, member) entries; see the module docstring."""

    __slots__ = ("_scores", "_members", "_maxes", "_len", "_tree", "_pending")

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._scores: List[array] = []
        self._members: List[List[bytes]] = []
        self._maxes = array("d")
        self._len = 0
        self._tree: Optional[array] = None
        self._pending: Dict[int, int] = {}     # chunk -> size change not in the tree
        items = sorted(entries)
        if items:
            self._load_sorted(items)

    @classmethod
    def from_sorted(cls, entries: List[Entry]) -> "ScoreList":
        """A ScoreList of ``entries``, already in order (no sort)."""
        order = cls()
        if entries:
            order._load_sorted(entries)
        return order

    @classmethod
    def from_columns(cls, scores: List[float], members: List[bytes]) -> "ScoreList":
        """A ScoreList of ``scores[i], members[i]``, already in order: chunks cut from
        the two lists by slicing, with no step per entry (a listpack set's hydration)."""
        order = cls()
        half = _MAX // 2
        for start in range(0, len(members), half):
            order._scores.append(array("d", scores[start:start + half]))
            order._members.append(members[start:start + half])
            order._maxes.append(order._scores[-1][-1])
        order._len = len(members)
        return order

    def _load_sorted(self, entries: List[Entry]) -> None:
        half = _MAX // 2
        for start in range(0, len(entries), half):
            part = entries[start:start + half]
            self._scores.append(array("d", [score for score, _ in part]))
            self._members.append([member for _, member in part])
            self._maxes.append(part[-1][0])
        self._len = len(entries)
        self._tree = None

    # -- positions --------------------------------------------------------------------
    def _fenwick(self) -> array:
        self._pending.clear()
        tree = array("q", [0])
        tree.extend(map(len, self._members))
        size = len(tree)
        for i in range(1, size):
            j = i + (i & -i)
            if j < size:
                tree[j] += tree[i]
        self._tree = tree
        return tree

    def _before(self, chunk: int) -> int:
        """How many entries lie in the chunks before ``chunk``."""
        if not chunk:
            return 0
        tree = self._tree
        if tree is None or self._pending:
            tree = self._tree_now()
        total = 0
        while chunk:
            total += tree[chunk]
            chunk &= chunk - 1
        return total

    def _locate(self, position: int) -> Tuple[int, int]:
        """(chunk, offset) of the entry at ``position`` (0 <= position < len)."""
        members = self._members
        first = len(members[0])
        if position < first:
            return 0, position
        # Ranges by rank mostly start at either end (ZRANGE key 0 9, ZREVRANGE key 0 9):
        # the last chunk is found without the tree as well.
        last = len(members) - 1
        tail = self._len - len(members[last])
        if position >= tail:
            return last, position - tail
        tree = self._tree
        if tree is None or self._pending:
            tree = self._tree_now()
        size = len(tree) - 1
        chunk = 0
        bit = 1 << (size.bit_length() - 1)
        while bit:
            step = chunk + bit
            if step <= size and tree[step] <= position:
                chunk = step
                position -= tree[step]
            bit >>= 1
        return chunk, position

    def _grow(self, chunk: int, delta: int) -> None:
        """``chunk`` gained ``delta`` entries: noted for the tree, if there is one."""
        if self._tree is not None:
            pending = self._pending
            pending[chunk] = pending.get(chunk, 0) + delta

    def _tree_now(self) -> array:
        """The tree, built if there is none, with the waiting size changes walked in
        (or rebuilt, when that costs less: a walk is ~log2(chunks) steps, a rebuild ~1
        per chunk). Its callers test ``_tree is None or _pending`` first."""
        tree = self._tree
        pending = self._pending
        if tree is None or len(pending) * 4 > len(tree):
            return self._fenwick()
        size = len(tree)
        for chunk, delta in pending.items():
            if delta:
                chunk += 1
                while chunk < size:
                    tree[chunk] += delta
                    chunk += chunk & -chunk
        pending.clear()
        return tree

    # -- finding ----------------------------------------------------------------------
    def _find(self, score: float, member: bytes) -> Tuple[int, int]:
        """(chunk, offset) where (score, member) is or would be inserted (the first
        entry not below it); chunk may be len(chunks) - 1 with offset at its end."""
        maxes = self._maxes
        chunk = bisect_left(maxes, score)
        last = len(maxes) - 1
        if chunk > last:
            chunk = last
        elif maxes[chunk] == score:
            members = self._members
            while chunk < last and maxes[chunk] == score and members[chunk][-1] < member:
                chunk += 1
        scores = self._scores[chunk]
        low = bisect_left(scores, score)
        if low < len(scores) and scores[low] == score:
            # Members are compared among the entries of this score only. Most scores
            # are held once: the run's end is bisected for only when the next entry
            # has the same score too.
            high = low + 1
            if high < len(scores) and scores[high] == score:
                high = bisect_right(scores, score, high)
            low = bisect_left(self._members[chunk], member, low, high)
        return chunk, low

    def _find_present(self, score: float, member: bytes) -> Tuple[int, int]:
        """(chunk, offset) of (score, member), which must be present (its set's dict
        holds that score): as :meth:`_find`, but a score held once is found without
        reading any member (a cache miss each at a million entries)."""
        maxes = self._maxes
        chunk = bisect_left(maxes, score)
        try:
            if maxes[chunk] == score:   # the score may go on in the next chunk
                return self._find(score, member)
        except IndexError:              # absent after all (move's ValueError)
            return self._find(score, member)
        scores = self._scores[chunk]
        low = bisect_left(scores, score)
        high = low + 1
        if high < len(scores) and scores[high] == score:
            high = bisect_right(scores, score, high)
            return chunk, bisect_left(self._members[chunk], member, low, high)
        return chunk, low

    def position(self, score: float, member: bytes) -> int:
        """The rank of (score, member), which must be present (see _find_present)."""
        chunk, offset = self._find_present(score, member)
        return self._before(chunk) + offset

    def rank(self, score: float, member: bytes) -> int:
        """The position (score, member) has, or would have once inserted."""
        if not self._len:
            return 0
        chunk, offset = self._find(score, member)
        return self._before(chunk) + offset

    def score_left(self, score: float) -> int:
        """The first position whose score is >= ``score``."""
        maxes = self._maxes
        chunk = bisect_left(maxes, score)
        if chunk >= len(maxes):
            return self._len
        return self._before(chunk) + bisect_left(self._scores[chunk], score)

    def score_right(self, score: float) -> int:
        """The first position whose score is > ``score``."""
        maxes = self._maxes
        chunk = bisect_right(maxes, score)
        if chunk >= len(maxes):
            return self._len
        return self._before(chunk) + bisect_right(self._scores[chunk], score)

    # -- changing ---------------------------------------------------------------------
    def add(self, entry: Entry) -> None:
        """Insert (score, member), which must not be present."""
        score, member = entry
        if not self._len:
            self._scores = [array("d", (score,))]
            self._members = [[member]]
            self._maxes = array("d", (score,))
            self._len = 1
            self._tree = None
            return
        chunk, offset = self._find(score, member)
        scores = self._scores[chunk]
        members = self._members[chunk]
        scores.insert(offset, score)
        members.insert(offset, member)
        if offset == len(members) - 1:
            self._maxes[chunk] = score
        self._len += 1
        if len(members) > _MAX:
            self._split(chunk)
        else:
            self._grow(chunk, 1)

    def move(self, score: float, member: bytes, new: float) -> bytes:
        """Give the entry (score, member) the score ``new`` (!= score): what
        ``add((new, remove((score, member))))`` does, with both places found before
        anything moves. When the entry stays in its chunk, or leaves one that keeps
        at least _MIN entries for one with room, no chunk is split, merged or
        dropped, so the chunk lists and (within one chunk) the tree stay as they
        are. The entry must be present: its set's dict holds ``score`` for
        ``member``, so a score held by one entry alone is that member's and no
        member is read to find it (:meth:`_find_present`, written out: ZADD's
        score update at a million members is mostly cache misses and calls).
        Returns the stored member object; ValueError if no entry has ``score``."""
        maxes = self._maxes
        chunk = bisect_left(maxes, score)
        if chunk < len(maxes) and maxes[chunk] != score:
            scores = self._scores[chunk]
            members = self._members[chunk]
            offset = bisect_left(scores, score)
            high = offset + 1
            if high < len(scores) and scores[high] == score:
                offset = bisect_left(members, member, offset,
                                     bisect_right(scores, score, high))
                if offset >= len(members) or members[offset] != member:
                    raise ValueError("%r not in list" % ((score, member),))
            elif scores[offset] != score:
                raise ValueError("%r not in list" % ((score, member),))
        else:       # the score may go on in the next chunk, or is past the last
            chunk, offset = self._find(score, member)
            members = self._members[chunk]
            scores = self._scores[chunk]
            if offset >= len(members) or members[offset] != member \
                    or scores[offset] != score:
                raise ValueError("%r not in list" % ((score, member),))
        # Where (new, member) goes in the list as it is: a valid place still once the
        # old entry has gone (positions after it, in its chunk, shift down by one).
        target, position = self._find(new, member)
        if target == chunk:
            stored = members.pop(offset)
            del scores[offset]
            if position > offset:
                position -= 1
            members.insert(position, stored)
            scores.insert(position, new)
            self._maxes[chunk] = scores[-1]
            return stored
        target_members = self._members[target]
        if len(target_members) >= _MAX or len(members) <= _MIN:
            stored = self.remove((score, member))   # a split or a merge: the long way
            self.add((new, stored))
            return stored
        stored = members.pop(offset)
        del scores[offset]
        self._maxes[chunk] = scores[-1]
        target_scores = self._scores[target]
        target_members.insert(position, stored)
        target_scores.insert(position, new)
        if position == len(target_members) - 1:
            self._maxes[target] = new
        if self._tree is not None:     # (_grow, twice, written out)
            pending = self._pending
            pending[chunk] = pending.get(chunk, 0) - 1
            pending[target] = pending.get(target, 0) + 1
        return stored

    def _split(self, chunk: int) -> None:
        scores = self._scores[chunk]
        members = self._members[chunk]
        half = len(members) >> 1
        self._scores[chunk:chunk + 1] = [scores[:half], scores[half:]]
        self._members[chunk:chunk + 1] = [members[:half], members[half:]]
        self._maxes[chunk:chunk + 1] = array("d", (scores[half - 1], scores[-1]))
        self._tree = None

    def remove(self, entry: Entry) -> bytes:
        """Delete (score, member); ValueError if it is not present. Returns the member
        object that was stored (equal to ``member``, not always the same object: a
        score update reinserts the stored one, so the set keeps one copy per member)."""
        score, member = entry
        if self._len:
            chunk, offset = self._find(score, member)
            members = self._members[chunk]
            if offset < len(members) and members[offset] == member \
                    and self._scores[chunk][offset] == score:
                stored = members.pop(offset)
                del self._scores[chunk][offset]
                self._len -= 1
                self._shrunk(chunk, 1)
                return stored
        raise ValueError("%r not in list" % (entry,))

    def _shrunk(self, chunk: int, removed: int) -> None:
        """After ``removed`` entries left ``chunk``: refresh its max, drop or merge it."""
        members = self._members[chunk]
        if not members:
            del self._scores[chunk], self._members[chunk], self._maxes[chunk]
            self._tree = None
            return
        self._maxes[chunk] = self._scores[chunk][-1]
        if len(members) < _MIN and len(self._members) > 1:
            neighbour = chunk - 1 if chunk else chunk + 1
            first = min(chunk, neighbour)
            self._scores[first] += self._scores[first + 1]
            self._members[first] += self._members[first + 1]
            self._maxes[first] = self._maxes[first + 1]
            del self._scores[first + 1], self._members[first + 1], self._maxes[first + 1]
            self._tree = None
            if len(self._members[first]) > _MAX:
                self._split(first)
            return
        self._grow(chunk, -removed)

    def __delitem__(self, index: Any) -> None:
        if not isinstance(index, slice):
            index = slice(index, index + 1 if index != -1 else None)
        start, stop, step = index.indices(self._len)
        if step != 1:
            raise ValueError("step not supported")
        while start < stop:
            chunk, offset = self._locate(start)
            members = self._members[chunk]
            end = min(len(members), offset + stop - start)
            del members[offset:end]
            del self._scores[chunk][offset:end]
            self._len -= end - offset
            stop -= end - offset
            self._shrunk(chunk, end - offset)

    def clear(self) -> None:
        self._scores, self._members, self._maxes = [], [], array("d")
        self._len = 0
        self._tree = None

    # -- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[Entry]:
        for scores, members in zip(self._scores, self._members):
            yield from zip(scores, members)

    def __reversed__(self) -> Iterator[Entry]:
        for scores, members in zip(reversed(self._scores), reversed(self._members)):
            yield from zip(reversed(scores), reversed(members))

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step != 1:
                return list(self)[index]
            return self.take(start, stop - start)
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("list index out of range")
        chunk, offset = self._locate(index)
        return self._scores[chunk][offset], self._members[chunk][offset]

    def member_at(self, index: int) -> bytes:
        """The member at ``index`` (0 <= index < len)."""
        chunk, offset = self._locate(index)
        return self._members[chunk][offset]

    def take(self, start: int, count: int) -> List[Entry]:
        """Up to ``count`` entries from position ``start`` on, ascending."""
        if count <= 0 or start >= self._len:
            return []
        chunk, offset = self._locate(start)
        scores, members = self._scores, self._members
        taken = list(zip(scores[chunk][offset:offset + count],
                         members[chunk][offset:offset + count]))
        chunk += 1
        while len(taken) < count and chunk < len(members):
            need = count - len(taken)
            taken += zip(scores[chunk][:need], members[chunk][:need])
            chunk += 1
        return taken

    def columns(self, start: int, count: int) -> Tuple[List[float], List[bytes]]:
        """:meth:`take` as two lists, scores and members (no tuple per entry)."""
        if count <= 0 or start >= self._len:
            return [], []
        chunk, offset = self._locate(start)
        scores, members = self._scores, self._members
        taken_scores = scores[chunk][offset:offset + count].tolist()
        taken = members[chunk][offset:offset + count]
        chunk += 1
        while len(taken) < count and chunk < len(members):
            need = count - len(taken)
            taken_scores += scores[chunk][:need].tolist()
            taken += members[chunk][:need]
            chunk += 1
        return taken_scores, taken

    def score_columns(self, low: float, low_ex: bool, high: float, high_ex: bool,
                      limit: int, reverse: bool = False) -> Tuple[List[float], List[bytes]]:
        """:meth:`columns` of the first ``limit`` entries (< 0: all) whose score is
        within low..high (ends open when ``*_ex``), descending when ``reverse``,
        found and read chunk by chunk as Redis walks its skiplist from
        zslFirstInRange (zslLastInRange): no position is computed, so the Fenwick
        tree is not consulted either way."""
        if reverse:
            return self._score_columns_reverse(low, low_ex, high, high_ex, limit)
        maxes = self._maxes
        find_low = bisect_right if low_ex else bisect_left
        chunk = find_low(maxes, low)
        all_scores, all_members = self._scores, self._members
        chunks = len(all_members)
        if chunk >= chunks or not limit:
            return [], []
        find_high = bisect_left if high_ex else bisect_right
        offset = find_low(all_scores[chunk], low)
        taken_scores: List[float] = []
        taken: List[bytes] = []
        while True:
            scores = all_scores[chunk]
            end = find_high(scores, high, offset)
            if limit >= 0 and end - offset > limit - len(taken):
                end = offset + limit - len(taken)
            taken_scores += scores[offset:end].tolist()
            taken += all_members[chunk][offset:end]
            chunk += 1
            if end < len(scores) or chunk == chunks or len(taken) == limit:
                return taken_scores, taken
            offset = 0

    def score_members(self, low: float, low_ex: bool, high: float, high_ex: bool,
                      limit: int) -> List[bytes]:
        """The members :meth:`score_columns` returns ascending, without the scores
        (ZRANGEBYSCORE without WITHSCORES): when the first ``limit`` entries from
        where the range starts lie in one chunk and the last of them is within the
        range, no second bisection is needed."""
        maxes = self._maxes
        find_low = bisect_right if low_ex else bisect_left
        chunk = find_low(maxes, low)
        all_members = self._members
        if chunk >= len(all_members) or not limit:
            return []
        scores = self._scores[chunk]
        offset = find_low(scores, low)
        end = offset + limit
        if 0 < limit and end <= len(scores):
            last = scores[end - 1]
            if last < high or (last == high and not high_ex):
                return all_members[chunk][offset:end]
        return self.score_columns(low, low_ex, high, high_ex, limit)[1]

    def _score_columns_reverse(self, low: float, low_ex: bool, high: float,
                               high_ex: bool, limit: int) -> Tuple[List[float], List[bytes]]:
        all_scores, all_members = self._scores, self._members
        chunks = len(all_members)
        if not chunks or not limit:
            return [], []
        find_high = bisect_left if high_ex else bisect_right
        chunk = find_high(self._maxes, high)    # the first chunk reaching past high
        if chunk >= chunks:
            chunk = chunks - 1
            end = len(all_members[chunk])
        else:
            end = find_high(all_scores[chunk], high)
        find_low = bisect_right if low_ex else bisect_left
        taken_scores: List[float] = []
        taken: List[bytes] = []
        while True:
            scores = all_scores[chunk]
            start = find_low(scores, low, 0, end)
            if limit >= 0 and end - start > limit - len(taken):
                start = end - (limit - len(taken))
            part_scores = scores[start:end].tolist()
            part_scores.reverse()
            part = all_members[chunk][start:end]
            part.reverse()
            taken_scores += part_scores
            taken += part
            if start or not chunk or len(taken) == limit:
                return taken_scores, taken
            chunk -= 1
            end = len(all_members[chunk])

    def walk(self, start: int, reverse: bool = False) -> Iterator[Entry]:
        """Entries from position ``start`` (which must exist) onwards, or backwards."""
        chunk, offset = self._locate(start)
        scores, members = self._scores, self._members
        if reverse:
            while chunk >= 0:
                chunk_scores, chunk_members = scores[chunk], members[chunk]
                for i in range(offset, -1, -1):
                    yield chunk_scores[i], chunk_members[i]
                chunk -= 1
                if chunk >= 0:
                    offset = len(members[chunk]) - 1
        else:
            while chunk < len(members):
                yield from zip(scores[chunk][offset:], members[chunk][offset:])
                chunk += 1
                offset = 0

    # -- SortedList compatibility (geohash.collect, tests) ----------------------------
    def _bisect(self, key: tuple, right: bool) -> int:
        score = key[0]
        if len(key) == 1:                       # (score,): below every member
            return self.score_left(score)
        member = key[1]
        if member.__class__ is not bytes:       # (score, TOP): above every member
            return self.score_right(score)
        position = self.rank(score, member)
        if right and position < self._len and self[position] == (score, member):
            position += 1
        return position

    def bisect_left(self, key: tuple) -> int:
        return self._bisect(key, False)

    def bisect_right(self, key: tuple) -> int:
        return self._bisect(key, True)

    def irange(self, minimum: Optional[tuple] = None, maximum: Optional[tuple] = None,
               inclusive: Tuple[bool, bool] = (True, True),
               reverse: bool = False) -> Iterator[Entry]:
        """Entries between two keys, as SortedList.irange."""
        start = 0 if minimum is None else (
            self.bisect_left(minimum) if inclusive[0] else self.bisect_right(minimum))
        stop = self._len if maximum is None else (
            self.bisect_right(maximum) if inclusive[1] else self.bisect_left(maximum))
        return self.islice(start, stop, reverse)

    def islice(self, start: Optional[int] = None, stop: Optional[int] = None,
               reverse: bool = False) -> Iterator[Entry]:
        start, stop, _ = slice(start, stop).indices(self._len)
        if start >= stop:
            return iter(())
        count = stop - start
        if reverse:
            walked = self.walk(stop - 1, True)
        else:
            walked = self.walk(start)
        return _first(walked, count)

    def update(self, entries: Iterable[Entry]) -> None:
        items = sorted(entries)
        if not self._len:
            if items:
                self._load_sorted(items)
            return
        for entry in items:
            self.add(entry)

    def __repr__(self) -> str:
        return "ScoreList(%r)" % list(self)


def _first(iterator: Iterator[Entry], count: int) -> Iterator[Entry]:
    for entry in iterator:
        yield entry
        count -= 1
        if not count:
            return
