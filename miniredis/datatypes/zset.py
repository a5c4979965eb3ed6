"""The sorted set value: a dict (member -> score) plus a ScoreList of (score, member).

The dict answers ZSCORE and membership in O(1); the ScoreList (datatypes.scorelist:
chunks of flat score arrays, a Fenwick tree for ranks) keeps Redis's order (score,
then member bytes compared as memcmp does) so ranks, rank ranges and score ranges are
bisections, and a range costs only what it returns.

Redis keeps small sets in a *listpack* and converts them to a *skiplist* once they
exceed ``zset-max-listpack-entries`` members or hold a member longer than
``zset-max-listpack-value`` bytes, and never converts back (only the STORE commands
build a fresh value and choose its encoding from the result). The encoding is
visible through OBJECT ENCODING and in three behaviours we reproduce:

* a listpack stores a score as text, so ``-0`` comes back as ``0``;
* ZSCAN returns a listpack whole, with integral scores printed as integers;
* lexicographic ranges over members of *different* scores (order unspecified by the
  documentation) follow the listpack's linear walk, which we emulate exactly; for a
  skiplist we bisect, which is what Redis's skiplist walk gives for equal scores.

Memory follows the encoding too. A dict and a ScoreList cost about 2.5 KB for ten
members, where Redis's listpack costs 200 bytes; so a listpack-encoded set at rest is
one blob (datatypes.packedzset: a column of scores of the narrowest type, then the
members between separators, in order) and nothing else. The commonest commands work
on the blob in place, as Redis walks a listpack, with a few C calls and no object a
member: ZSCORE and ZRANK find the member and count the separators before it, ZCARD
reads the header, ranges by rank split the members as far as the range, ranges by
score and ZCOUNT bisect the score column, and ZADD, ZINCRBY, ZREM, pops and
ZREMRANGEBY{RANK,SCORE} splice the blob -- O(n) bytes copied within the listpack
limits, where building the structures and packing them again cost 15-20 us at 50
members (sets written in turn, more than stay hydrated). Any other access
*hydrates* the set (builds the dict and ScoreList, O(n) for n within the listpack
limits, as a listpack walk is O(n)); the most recently hydrated sets stay so
(``_hydrated_sets``, ``_KEEP_HYDRATED`` of them, per thread: embedded servers may run
in several threads of one process, and one never packs another's sets), and older
ones are packed again. A set a command hydrated stays so until the command returns
(it hydrates no other); the structures only ever change through the set's own
attributes, which rehydrate from the blob when needed.

Why a packed set cannot lose a write: a write to a packed set replaces its blob whole
(``_packed_put``, ``remove``); packing (``compact``) never changes the hydrated
structures, it only drops the set's references to them, and every write goes through
a ZSet method that fetches them through those properties at its start and hydrates no
other set before it returns. Code outside this module only reads them (``scores``,
``order``; ZADD's own loop reads ``_scores`` itself, ``score_of`` when that is None);
a reader holding them across the packing of its set still reads the same, unchanged
contents.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import packedzset
from .names import register_encoding, register_type
from .scorelist import ScoreList

# Listpack sets kept hydrated at once (see the module docstring). More than any one
# command touches and then writes to through a reference it already holds, and more
# than a workload usually turns over (rate limiters, leaderboards per user: with 16,
# a hundred sets written in turn were each unpacked and packed again by every ZADD,
# 11.6 us against SADD's 1.0); about 2.5 KB each while hydrated (a set of 10), so
# 640 KB at most.
_KEEP_HYDRATED = 256
_LOCAL = threading.local()


def _hydrated_sets() -> "Dict[ZSet, None]":
    """This thread's hydrated listpack sets, oldest first (a dict keeps insertion order)."""
    try:
        return _LOCAL.sets
    except AttributeError:
        _LOCAL.sets = {}
        return _LOCAL.sets


def _pack(order: ScoreList) -> bytes:
    """The blob of a hydrated listpack set (datatypes.packedzset)."""
    return packedzset.encode(*order.columns(0, len(order)))


Entry = Tuple[float, bytes]


class _Top:
    """Sorts after every bytes member: ``(score, TOP)`` follows all entries of score."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __le__(self, other: object) -> bool:
        return other is self

    def __ge__(self, other: object) -> bool:
        return True


TOP = _Top()


class LexBound:
    """One end of a ZRANGEBYLEX interval: ``-``, ``+`` or a string, open or closed.

    ``kind`` is -1 for ``-`` (below everything), 1 for ``+`` (above everything) and 0
    for a string ``value``. Redis marks ``-`` and ``+`` exclusive, which matters only
    for the emptiness test of ``- -`` and ``+ +``.
    """

    __slots__ = ("kind", "value", "exclusive")

    def __init__(self, kind: int, value: bytes, exclusive: bool) -> None:
        self.kind = kind
        self.value = value
        self.exclusive = exclusive

    def below(self, member: bytes) -> bool:
        """As a minimum: does ``member`` lie at or above it (zzlLexValueGteMin)?"""
        if self.kind:
            return self.kind < 0
        return member > self.value if self.exclusive else member >= self.value

    def above(self, member: bytes) -> bool:
        """As a maximum: does ``member`` lie at or below it (zzlLexValueLteMax)?"""
        if self.kind:
            return self.kind > 0
        return member < self.value if self.exclusive else member <= self.value


def lex_interval_empty(low: LexBound, high: LexBound) -> bool:
    """Redis's early test: min above max, or equal with an open end."""
    if low.kind == high.kind and low.kind:
        cmp = 0
    elif low.kind < 0 or high.kind > 0:
        cmp = -1
    elif low.kind > 0 or high.kind < 0:
        cmp = 1
    else:
        cmp = (low.value > high.value) - (low.value < high.value)
    return cmp > 0 or (cmp == 0 and (low.exclusive or high.exclusive))


class _ScanSlots:
    """Stable positions for ZSCAN over a large (skiplist) set.

    Built on the first ZSCAN and kept up to date afterwards: every member owns a slot
    for as long as it is in the set; a removed member leaves a hole that the next new
    member reuses. A cursor is a slot number, so a member present for a whole scan is
    returned exactly once however the set changes meanwhile. The table never grows
    beyond the largest size the set has had.
    """

    __slots__ = ("slots", "slot_of", "free")

    def __init__(self, members: Iterator[bytes]) -> None:
        self.slots: List[Optional[bytes]] = list(members)
        self.slot_of: Dict[bytes, int] = {m: i for i, m in enumerate(self.slots)}
        self.free: List[int] = []

    def add(self, member: bytes) -> None:
        if self.free:
            slot = self.free.pop()
            self.slots[slot] = member
        else:
            slot = len(self.slots)
            self.slots.append(member)
        self.slot_of[member] = slot

    def remove(self, member: bytes) -> None:
        slot = self.slot_of.pop(member)
        self.slots[slot] = None
        self.free.append(slot)


class ZSet:
    """A Redis sorted set (see the module docstring)."""

    __slots__ = ("_scores", "_order", "listpack", "_scan", "_blob")

    def __init__(self) -> None:
        self._scores: Optional[Dict[bytes, float]] = {}
        self._order: Optional[ScoreList] = ScoreList()
        self.listpack = True          # the encoding Redis would use (False: skiplist)
        self._scan: Optional[_ScanSlots] = None
        self._blob: Optional[bytes] = None   # a packed listpack set (then no _scores)
        _hydrated(self)

    # -- packed at rest (see the module docstring) ------------------------------------
    @property
    def scores(self) -> Dict[bytes, float]:
        """member -> score."""
        scores = self._scores
        if scores is None:
            self._hydrate()
            scores = self._scores
        return scores                     # type: ignore[return-value]

    @scores.setter
    def scores(self, value: Dict[bytes, float]) -> None:
        if self._scores is None:
            self._hydrate()
        self._scores = value

    @property
    def order(self) -> ScoreList:
        """(score, member) in Redis's order."""
        order = self._order
        if order is None:
            self._hydrate()
            order = self._order
        return order

    @order.setter
    def order(self, value: ScoreList) -> None:
        if self._scores is None:
            self._hydrate()
        self._order = value

    def _hydrate(self) -> None:
        scores, members = packedzset.columns(self._blob)  # type: ignore[arg-type]
        self._scores = dict(zip(members, scores))
        self._order = ScoreList.from_columns(scores, members)
        self._blob = None
        _hydrated(self)

    def compact(self) -> None:
        """Pack a hydrated listpack set into its blob (a skiplist set stays as is)."""
        if not self.listpack or self._scores is None:
            return
        self._blob = _pack(self._order)                   # type: ignore[arg-type]
        self._scores = self._order = None
        _hydrated_sets().pop(self, None)

    def packed_size(self) -> Optional[int]:
        """The bytes of the blob object when packed at rest, else None."""
        return None if self._blob is None else 33 + len(self._blob)

    def listpack_size(self) -> Optional[int]:
        """The bytes of the blob object a listpack set has at rest, packed now or not
        (None for a skiplist set): memory estimates must not change when a set is
        merely hydrated or packed again, or used_memory would drift from them."""
        if self._blob is not None:
            return 33 + len(self._blob)
        if not self.listpack:
            return None
        return 33 + len(_pack(self._order))               # type: ignore[arg-type]

    def frozen(self) -> Any:
        """A copy for a snapshot, cheap to take: the (immutable) blob of a packed set,
        else a list of (member, score); :func:`frozen_items` reads either."""
        if self._blob is not None:
            return self._blob
        return list(self._scores.items())                 # type: ignore[union-attr]

    def packed(self) -> Optional[List[Any]]:
        """A packed set's [member, score...] (scores as ints when integral within
        2**53, else floats: what DUMP writes from), else None."""
        return None if self._blob is None else packedzset.flat(self._blob)

    def member_scores(self) -> List[Tuple[bytes, float]]:
        """(member, score) pairs in order, read without hydrating a packed set."""
        if self._blob is not None:
            scores, members = packedzset.columns(self._blob)
            return list(zip(members, scores))
        return [(member, score) for score, member in self._order]  # type: ignore

    def __len__(self) -> int:
        if self._blob is not None:        # answered from the blob: no hydration
            return packedzset.count(self._blob)
        return len(self._scores)                          # type: ignore[arg-type]

    def __bool__(self) -> bool:
        if self._blob is not None:
            return self._blob[1] != 0          # (the count: see datatypes.packedzset)
        return bool(self._scores)

    def __contains__(self, member: bytes) -> bool:
        return self.score_of(member) is not None

    def score_of(self, member: bytes) -> Optional[float]:
        """``member``'s score or None; a packed set is searched without hydrating it
        (ZSCORE on many small sets must not rebuild each one)."""
        if self._blob is not None:
            return packedzset.score_of(self._blob, member)
        return self._scores.get(member)                   # type: ignore[union-attr]

    def __repr__(self) -> str:
        return "ZSet(%r)" % list(self.order)

    # -- building ---------------------------------------------------------------------
    @classmethod
    def build(cls, scores: Dict[bytes, float], limits: Tuple[int, int]) -> "ZSet":
        """A new set holding ``scores``, encoded as a STORE command's result would be."""
        zset = cls()
        entries, value_limit = limits
        zset.listpack = len(scores) <= entries and all(
            len(member) <= value_limit for member in scores)
        if zset.listpack:
            scores = {m: (0.0 if s == 0 else s) for m, s in scores.items()}
        zset._scores = scores
        zset._order = ScoreList((s, m) for m, s in scores.items())
        return zset

    def copy(self) -> "ZSet":
        """An independent copy with the same encoding (COPY); a packed set shares its
        blob, which is immutable."""
        other = ZSet()
        other.listpack = self.listpack
        if self._blob is not None:
            other._blob = self._blob
            other._scores = other._order = None
        else:
            other._scores = dict(self._scores)          # type: ignore[arg-type]
            other._order = ScoreList.from_sorted(list(self._order))
        return other

    def to_skiplist(self) -> None:
        """Take the skiplist encoding (as SORT's zsetConvert), unpacked for good."""
        if self._scores is None:
            self._hydrate()
        self.listpack = False

    # -- single members ---------------------------------------------------------------
    def insert(self, member: bytes, score: float, limits: Tuple[int, int]) -> None:
        """Add a member that is not in the set yet, converting to skiplist as Redis
        does before an insertion that would exceed the listpack limits."""
        if self.listpack:
            if len(self) + 1 > limits[0] or len(member) > limits[1]:
                self.listpack = False
            elif score == 0:
                score = 0.0           # stored as text "0": the sign of zero is lost
            if self._blob is not None and self.listpack:
                self._packed_put(member, score, False)
                return
        self.scores[member] = score
        self.order.add((score, member))
        if self._scan is not None:
            self._scan.add(member)

    def update(self, member: bytes, score: float, current: float) -> None:
        """Give an existing member a new (different) score; ``current`` is the score
        it has (the caller looked it up: not looked up again)."""
        if self.listpack and score == 0:
            score = 0.0
        scores = self._scores
        if scores is None:                # packed: written as it is
            self._packed_put(member, score, True)
            return
        self._order.move(current, member, score)   # type: ignore[union-attr]
        scores[member] = score

    def _packed_put(self, member: bytes, score: float, present: bool) -> None:
        """Give ``member`` (in the set when ``present``) the score ``score`` in the
        blob of a packed set, without hydrating it: the pair is cut out and spliced in
        at its place (datatypes.packedzset.put) -- O(n), as a listpack write is."""
        self._blob = packedzset.put(self._blob, member, score,  # type: ignore[arg-type]
                                    present)

    def remove(self, member: bytes) -> bool:
        """Remove ``member``; False if it was not there."""
        if self._blob is not None:        # packed: written as it is
            blob = packedzset.remove(self._blob, member)
            if blob is None:
                return False
            self._blob = blob
            return True
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        if self._scan is not None:
            self._scan.remove(member)
        return True

    def rank(self, member: bytes) -> Optional[int]:
        """0-based position of ``member`` in ascending order, or None."""
        scores = self._scores
        if scores is None:                # packed: read as it is (the blob is in order)
            index = packedzset.rank(self._blob, member)  # type: ignore[arg-type]
            return None if index < 0 else index
        score = scores.get(member)
        if score is None:
            return None
        return self._order.position(score, member)    # type: ignore[union-attr]

    # -- positions and ranges ---------------------------------------------------------
    def entry(self, index: int) -> Entry:
        return self.order[index]

    def slice(self, start: int, stop: int, reverse: bool = False) -> List[Entry]:
        """Entries at positions ``start <= i < stop``, descending when ``reverse``."""
        if start >= stop:
            return []
        if self._blob is not None:        # packed: read as it is
            scores, members = self.columns(start, stop)
            taken = list(zip(scores, members))
        else:
            taken = self.order.take(start, stop - start)
        if reverse:
            taken.reverse()
        return taken

    def columns(self, start: int, stop: int,
                reverse: bool = False) -> Tuple[List[float], List[bytes]]:
        """(scores, members) at positions ``start <= i < stop`` as two lists,
        descending when ``reverse``: no tuple per entry (the range replies)."""
        if start >= stop:
            return [], []
        blob = self._blob
        if blob is not None:              # packed: read as it is
            stop = min(stop, packedzset.count(blob))
            if start >= stop:
                return [], []
            scores = packedzset.scores(blob, start, stop)
            members = packedzset.members(blob, start, stop)
        else:
            scores, members = self.order.columns(start, stop - start)
        if reverse:
            scores.reverse()
            members.reverse()
        return scores, members

    def members(self, start: int, stop: int) -> List[bytes]:
        """The members at positions ``start <= i < stop``, ascending (ZRANGE's reply
        without scores: none converted)."""
        if start >= stop:
            return []
        if self._blob is not None:        # packed: read as it is
            return packedzset.members(self._blob, start, stop)
        return self.order.columns(start, stop - start)[1]

    def score_columns(self, low: float, low_ex: bool, high: float, high_ex: bool,
                      limit: int = -1,
                      reverse: bool = False) -> Tuple[List[float], List[bytes]]:
        """:meth:`columns` of the entries with low <= score <= high (ends open when
        ``*_ex``), ascending (descending when ``reverse``), at most ``limit`` of them
        (< 0: all)."""
        if self._blob is not None:        # packed: positions by bisection, then read
            start, stop = self.score_span(low, low_ex, high, high_ex, reverse, 0, limit)
            return self.columns(start, stop, reverse)
        return self.order.score_columns(low, low_ex, high, high_ex, limit, reverse)

    def score_members(self, low: float, low_ex: bool, high: float, high_ex: bool,
                      limit: int = -1) -> List[bytes]:
        """The members of :meth:`score_columns` (ascending), without their scores."""
        if self._blob is not None:
            start, stop = self.score_span(low, low_ex, high, high_ex, False, 0, limit)
            return packedzset.members(self._blob, start, stop) if start < stop else []
        return self.order.score_members(low, low_ex, high, high_ex, limit)

    def remove_slice(self, start: int, stop: int) -> int:
        """Remove the entries at positions ``start <= i < stop``; how many."""
        if start >= stop:
            return 0
        blob = self._blob
        if blob is not None:              # packed: written as it is
            stop = min(stop, packedzset.count(blob))
            if start >= stop:
                return 0
            self._blob = packedzset.remove_range(blob, start, stop)
            return stop - start
        order = self.order
        removed = order[start:stop]
        del order[start:stop]
        scores = self.scores
        scan = self._scan
        for _, member in removed:
            del scores[member]
            if scan is not None:
                scan.remove(member)
        return len(removed)

    def score_start(self, low: float, exclusive: bool) -> int:
        """First position whose score is >= low (> low when ``exclusive``)."""
        if self._blob is not None:        # packed: the blob's scores are in order
            return packedzset.score_index(self._blob, low, exclusive)
        if exclusive:
            return self.order.score_right(low)
        return self.order.score_left(low)

    def score_range(self, low: float, low_ex: bool, high: float, high_ex: bool,
                    reverse: bool = False, offset: int = 0,
                    limit: int = -1) -> List[Entry]:
        """Entries with low <= score <= high (ends open when ``*_ex``), descending
        when ``reverse``, skipping ``offset`` and taking at most ``limit`` (< 0: all):
        two bisections, then a slice of what is returned."""
        start, stop = self.score_span(low, low_ex, high, high_ex, reverse, offset, limit)
        return self.slice(start, stop, reverse)

    def score_span(self, low: float, low_ex: bool, high: float, high_ex: bool,
                   reverse: bool = False, offset: int = 0,
                   limit: int = -1) -> Tuple[int, int]:
        """The positions [start, stop) :meth:`score_range` returns (reversed when
        ``reverse``); start >= stop when there are none."""
        if self._blob is not None:        # packed: both ends from one column read
            first, stop = packedzset.score_span(self._blob, low, low_ex, high, high_ex)
        else:
            first = self.score_start(low, low_ex)
            stop = self.score_stop(high, high_ex)
        if reverse:
            stop -= offset
            return (first if limit < 0 else max(first, stop - limit)), stop
        first += offset
        return first, (stop if limit < 0 else min(stop, first + limit))

    def score_stop(self, high: float, exclusive: bool) -> int:
        """One past the last position whose score is <= high (< high when exclusive)."""
        if self._blob is not None:        # packed: the blob's scores are in order
            return packedzset.score_index(self._blob, high, not exclusive)
        if exclusive:
            return self.order.score_left(high)
        return self.order.score_right(high)

    def lex_first(self, low: LexBound, high: LexBound) -> Optional[int]:
        """Where a forward lex walk starts (zzlFirstInLexRange), or None."""
        n = len(self.order)
        if not n or lex_interval_empty(low, high):
            return None
        order = self.order
        if not low.below(order[-1][1]) or not high.above(order[0][1]):
            return None
        if self.listpack:
            index = next((i for i, (_, m) in enumerate(order) if low.below(m)), None)
            if index is None:
                return None
        else:
            index = self._bisect_members(lambda m: low.below(m))
        return index if index < n and high.above(order[index][1]) else None

    def lex_last(self, low: LexBound, high: LexBound) -> Optional[int]:
        """Where a backward lex walk starts (zzlLastInLexRange), or None."""
        n = len(self.order)
        if not n or lex_interval_empty(low, high):
            return None
        order = self.order
        if not low.below(order[-1][1]) or not high.above(order[0][1]):
            return None
        if self.listpack:
            index = next((n - 1 - i for i, (_, m) in
                          enumerate(order.islice(reverse=True)) if high.above(m)), None)
            if index is None:
                return None
        else:
            index = self._bisect_members(lambda m: not high.above(m)) - 1
        return index if index >= 0 and low.below(order[index][1]) else None

    def _bisect_members(self, past) -> int:
        """First position whose member satisfies ``past`` (members assumed sorted)."""
        order = self.order
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if past(order.member_at(mid)):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def lex_walk(self, start: int, low: LexBound, high: LexBound, reverse: bool,
                 offset: int = 0, limit: int = -1) -> List[Entry]:
        """Redis's walk from ``start``: skip ``offset`` entries unconditionally, then
        take entries while they stay on the far side's bound (``limit`` < 0: all)."""
        order = self.order
        n = len(order)
        taken: List[Entry] = []
        if offset >= n:
            return taken
        if reverse:
            if start - offset < 0:
                return taken
            walked = order.walk(start - offset, reverse=True)
            ok = low.below
        else:
            if start + offset >= n:
                return taken
            walked = order.walk(start + offset)
            ok = high.above
        for entry in walked:
            if limit == 0:
                break
            if not ok(entry[1]):
                break
            taken.append(entry)
            limit -= 1
        return taken

    def pop(self, count: int, highest: bool) -> List[Entry]:
        """Remove and return up to ``count`` entries from the low or high end."""
        n = len(self)
        count = min(count, n)
        if highest:
            taken = self.slice(n - count, n, reverse=True)
            self.remove_slice(n - count, n)
        else:
            taken = self.slice(0, count)
            self.remove_slice(0, count)
        return taken

    def entries(self) -> Iterator[Entry]:
        """Every (score, member) in ascending order."""
        return iter(self.order)

    # -- ZSCAN ----------------------------------------------------------------------------
    def scan(self, cursor: int, count: int) -> Tuple[int, List[bytes]]:
        """Walk about ``count`` member slots from ``cursor``: (next cursor, members).

        Only meaningful for a skiplist-encoded set (a listpack is returned whole)."""
        if self._scan is None:
            self._scan = _ScanSlots(iter(self.scores))
        slots = self._scan.slots
        found: List[bytes] = []
        position = cursor
        budget = max(count, 1) * 10   # bound the holes walked per call too
        walked = 0
        while position < len(slots) and walked < count and budget:
            member = slots[position]
            position += 1
            budget -= 1
            if member is not None:
                walked += 1
                found.append(member)
        return (0 if position >= len(slots) else position), found


def frozen_items(frozen: Any) -> List[Tuple[bytes, float]]:
    """The (member, score) pairs of a :meth:`ZSet.frozen` copy."""
    if frozen.__class__ is bytes:
        scores, members = packedzset.columns(frozen)
        return list(zip(members, scores))
    return frozen


def _hydrated(zset: ZSet) -> None:
    """Note a set just hydrated (or created); pack the oldest beyond the few kept."""
    hydrated = _hydrated_sets()
    hydrated.pop(zset, None)            # to the newest end
    hydrated[zset] = None
    if len(hydrated) > _KEEP_HYDRATED:
        oldest = next(iter(hydrated))
        del hydrated[oldest]
        oldest.compact()


register_type(ZSet, "zset")
register_encoding(ZSet, lambda value, config: "listpack" if value.listpack else "skiplist")
