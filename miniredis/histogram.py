"""Per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats), as Redis 7.0.

Redis keeps, per command, an HdrHistogram of call durations in nanoseconds (the
duration measured in microseconds, times 1000, held between 1 ns and 1 s) with two
significant digits, and reads it back two ways: LATENCY HISTOGRAM walks it in
power-of-two steps from 1024 ns and INFO latencystats asks for percentiles. Both answers
are functions of the HdrHistogram's *cells* (ranges of equivalent values), so this module
keeps counts that map onto the same cells and reproduces those two readings; the cell
arithmetic is HdrHistogram's for the configuration Redis uses (lowest discernible value
1, so unit magnitude 0, and 256 sub-buckets per bucket).

Recording must cost next to nothing: the dispatcher (``Client.run_requests``) counts a
call with one list increment, ``cmd.hist[floor(seconds * 1000000)] += 1``. ``hist`` is a list of
``SMALL`` counts indexed by whole microseconds (each microsecond below 256 is a cell of
its own), or the shared empty tuple while the command has no histogram; either way a
duration that does not fit raises IndexError and lands in :func:`record_overflow`, which
creates the list or counts a long call in ``hist_big`` (cell's lowest value in ns ->
count, a few thousand cells at most, whatever the durations).
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

SMALL = 256                 # microseconds counted in the list (cells of their own)
NO_HISTOGRAM: Tuple[int, ...] = ()   # ``hist`` of a command without one
_MAX_NS = 1_000_000_000     # LATENCY_HISTOGRAM_MAX_VALUE
_SUB_BUCKET_BITS = 8        # 256 sub-buckets: two significant digits
_FIRST_LEVEL = 1024         # LATENCY HISTOGRAM's first reporting level (ns)
_LEVELS = 20                # levels 1024 << 0..19 stay inside the tracked range
_LAST_CELL_TOP = (1 << 30) - 1   # highest value of the histogram's last cell


def _cell(ns: int) -> Tuple[int, int]:
    """The HdrHistogram cell holding ``ns``: (its lowest value, its width)."""
    shift = (ns | 255).bit_length() - _SUB_BUCKET_BITS
    return (ns >> shift) << shift, 1 << shift


def _ns(usec: int) -> int:
    """A duration as Redis records it: microseconds as nanoseconds within [1, 1 s]."""
    return min(usec * 1000, _MAX_NS) if usec > 0 else 1


def record_overflow(cmd: Any, seconds: float) -> None:
    """A call the dispatcher's list increment could not count (see the module doc)."""
    record(cmd, int(seconds * 1_000_000))


def record(cmd: Any, usec: int, calls: int = 1) -> None:
    """Count ``calls`` calls of ``cmd`` lasting ``usec`` microseconds each."""
    if cmd.hist is NO_HISTOGRAM:
        cmd.hist = [0] * SMALL
    if 0 <= usec < SMALL:
        cmd.hist[usec] += calls
        return
    big = cmd.hist_big
    if big is None:
        big = cmd.hist_big = {}
    low = _cell(_ns(max(usec, 0)))[0]
    big[low] = big.get(low, 0) + calls


def reset(cmd: Any) -> None:
    """Drop the histogram (CONFIG RESETSTAT): the command has none until called again."""
    cmd.hist = NO_HISTOGRAM
    cmd.hist_big = None


def has_histogram(cmd: Any) -> bool:
    return cmd.hist is not NO_HISTOGRAM


def _cells(cmd: Any) -> List[Tuple[int, int]]:
    """(cell's lowest ns, count) for every cell with calls, in ascending order."""
    cells: Dict[int, int] = {}
    for usec, count in enumerate(cmd.hist):
        if count:
            low = _cell(_ns(usec))[0]
            cells[low] = cells.get(low, 0) + count
    if cmd.hist_big:
        for low, count in cmd.hist_big.items():
            cells[low] = cells.get(low, 0) + count
    return sorted(cells.items())


def distribution(cmd: Any) -> Tuple[int, List[Tuple[int, int]]]:
    """LATENCY HISTOGRAM's view: (calls, [(bucket in us, calls so far)]).

    As Redis's log-iteration from 1024 ns doubling: the bucket of level L counts every
    cell up to the one starting at L and is named after that cell's highest value in
    whole microseconds; past the last level, whatever remains is named after the
    histogram's last cell. Levels adding nothing are left out, and the walk ends once
    every call is counted.
    """
    cells = _cells(cmd)
    total = sum(count for _, count in cells)
    buckets: List[Tuple[int, int]] = []
    seen = 0
    position = 0
    for level in _levels():
        if level is None:
            limit, name = None, _LAST_CELL_TOP // 1000
        else:
            width = _cell(level)[1]
            limit, name = level + width, (level + width - 1) // 1000
        before = seen
        while position < len(cells) and (limit is None or cells[position][0] < limit):
            seen += cells[position][1]
            position += 1
        if seen > before:
            buckets.append((name, seen))
        if seen >= total:
            break
    return total, buckets


def _levels() -> Iterator[Any]:
    for step in range(_LEVELS):
        yield _FIRST_LEVEL << step
    yield None


def percentiles(cmd: Any, wanted: List[float]) -> List[float]:
    """hdr_value_at_percentile for each of ``wanted``, in microseconds (INFO)."""
    cells = _cells(cmd)
    total = sum(count for _, count in cells)
    values = []
    for percentile in wanted:
        rank = int(min(percentile, 100.0) / 100 * total + 0.5)
        rank = max(rank, 1)
        seen = 0
        value = 0
        for low, count in cells:
            seen += count
            if seen >= rank:
                value = low
                break
        if percentile != 0.0:
            value += _cell(value)[1] - 1     # the cell's highest equivalent value
        values.append(value / 1000.0)
    return values
