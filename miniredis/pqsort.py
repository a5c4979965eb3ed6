"""Redis's partial quicksort (pqsort.c), for the commands whose output depends on how
it orders equal elements: GEOSEARCH ... COUNT and SORT ... BY ... LIMIT."""
from __future__ import annotations

from functools import cmp_to_key
from typing import Any, Callable, List


class _TooSlow(Exception):
    pass


def pqsort(items: List[Any], cmp: Callable[[Any, Any], int], low: int,
           high: int) -> None:
    """:func:`_pqsort` within a budget of comparisons: crafted input can make any
    quicksort quadratic, which Redis pays in C; past 8 n log n comparisons the list
    is sorted stably instead (positions ``low..high`` sorted all the same, equal
    elements perhaps in another order than Redis's)."""
    size = len(items)
    budget = 8 * size * max(size.bit_length(), 1) + 64
    calls = 0

    def counted(a: Any, b: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > budget:
            raise _TooSlow
        return cmp(a, b)

    try:
        _pqsort(items, counted, low, high)
    except _TooSlow:
        items.sort(key=cmp_to_key(cmp))


def _pqsort(items: List[Any], cmp: Callable[[Any, Any], int], low: int,
            high: int) -> None:
    """Redis's pqsort: Bentley-McIlroy quicksort that only recurses into the parts
    overlapping positions ``low..high``, so those end up sorted as Redis's do (equal
    elements included)."""
    def swap(i: int, j: int) -> None:
        items[i], items[j] = items[j], items[i]

    def med3(a: int, b: int, c: int) -> int:
        if cmp(items[a], items[b]) < 0:
            if cmp(items[b], items[c]) < 0:
                return b
            return c if cmp(items[a], items[c]) < 0 else a
        if cmp(items[b], items[c]) > 0:
            return b
        return a if cmp(items[a], items[c]) < 0 else c

    def overlaps(start: int, size: int) -> bool:
        end = start + size
        return not ((low < start and high < start) or (low >= end and high >= end))

    # The parts left to sort: an own stack where pqsort.c recurses into the first
    # part (the parts are disjoint, so the order they are sorted in is irrelevant),
    # since crafted input can make that recursion as deep as the list is long.
    todo = [(0, len(items))]
    while todo:
        base, n = todo.pop()
        while True:
            if n < 7:
                for pm in range(base + 1, base + n):
                    pl = pm
                    while pl > base and cmp(items[pl - 1], items[pl]) > 0:
                        swap(pl, pl - 1)
                        pl -= 1
                break
            pm = base + n // 2
            if n > 7:
                pl = base
                pn = base + n - 1
                if n > 40:
                    d = n // 8
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(base, pm)
            pa = pb = base + 1
            pc = pd = base + n - 1
            while True:
                while pb <= pc:
                    result = cmp(items[pb], items[base])
                    if result > 0:
                        break
                    if result == 0:
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc:
                    result = cmp(items[pc], items[base])
                    if result < 0:
                        break
                    if result == 0:
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                pb += 1
                pc -= 1
            pn = base + n
            r = min(pa - base, pb - pa)
            for k in range(r):
                swap(base + k, pb - r + k)
            r = min(pd - pc, pn - pd - 1)
            for k in range(r):
                swap(pb + k, pn - r + k)
            r = pb - pa
            if r > 1 and overlaps(base, r):
                todo.append((base, r))
            r = pd - pc
            if r > 1:
                base, n = pn - r, r
                if overlaps(base, n):
                    continue
            break
