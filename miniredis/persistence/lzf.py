"""LZF compression as Redis's bundled liblzf compresses (HLOG 16, VERY_FAST), so the
strings a DUMP compresses are the same bytes Redis would write.

Pure Python: callers compress only moderately sized strings. One difference is
unavoidable: Redis's hash table is not initialised between calls (INIT_HTAB 0), so in
rare cases a stale slot makes Redis pick another, equally valid back-reference; this
implementation always starts from an empty table.

The walk is liblzf's, position by position, made cheaper where Python is slow: the
hash slots of all positions are computed up front in one comprehension, literal runs
are copied as slices when a back-reference ends them, a back-reference's length is
read from the XOR of the two spans, and liblzf's room checks are made once per run
(each implies those before it). tests/test_lzf.py compares the output and every
"does not fit" with a byte-by-byte transcription of lzf_compress.
"""
from __future__ import annotations

import sys
from array import array
from typing import Dict, List, Optional, Tuple

_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)

_BIG_ENDIAN = sys.byteorder == "big"


def _bigrams(data: bytes) -> Tuple[array, array]:
    """The 2-byte words (first byte high) at the even positions and at the odd ones."""
    size = len(data)
    even = array("H", data[:size & ~1])
    odd = array("H", data[1:1 + ((size - 1) & ~1)])
    if not _BIG_ENDIAN:
        even.byteswap()
        odd.byteswap()
    return even, odd


def _slots(size: int, even: array, odd: array) -> List[int]:
    """liblzf's hash table slot of the 3 bytes at each position: IDX(h) =
    ((h >> 8) - h * 5) & 0xffff of h = the 3 bytes, which is the 2-byte word there
    minus 5 times the next one, modulo 2**16."""
    words = [0] * (size - 1)
    words[0::2] = even
    words[1::2] = odd
    return [(word - 5 * after) & 0xFFFF for word, after in zip(words, words[1:])]


def _literals(out: bytearray, data: bytes, start: int, stop: int) -> None:
    """data[start:stop] as literal runs of at most 32 bytes, each after its header."""
    while stop - start > _MAX_LIT:
        out.append(_MAX_LIT - 1)
        out += data[start:start + _MAX_LIT]
        start += _MAX_LIT
    if stop > start:
        out.append(stop - start - 1)
        out += data[start:stop]


def compress(data: bytes, out_len: int) -> Optional[bytes]:
    """``data`` compressed into at most ``out_len`` bytes, or None when it does not fit
    (lzf_compress returning 0)."""
    size = len(data)
    if not size or not out_len:
        return None
    end = size - 2                       # positions hashed and matched: [0, end)
    if size < 3:
        return (bytes((size - 1,)) + data) if out_len >= 4 else None
    # A back-reference of L bytes (2 or 3 bytes of output) starts L - 2 positions
    # whose 3 bytes (so whose 2 first bytes) occurred before, and the first byte is a
    # literal: when too few positions repeat, the output cannot fit. A check at C
    # speed that spares the compressor most short strings (listpacks...).
    view = memoryview(data)
    distinct = set(view[:size & ~1].cast("H"))
    distinct.update(view[1:1 + ((size - 1) & ~1)].cast("H"))
    if len(distinct) + 2 > out_len:       # (size - repeats + 1)
        return None
    even, odd = _bigrams(data)
    slots = _slots(size, even, odd)
    htab: Dict[int, int] = {}
    get = htab.get
    out = bytearray()
    op = 1               # liblzf's output position (a literal run's header reserved)
    start = 0            # the current literal run, data[start:pos]
    pos = 0
    while pos < end:
        slot = slots[pos]
        ref = get(slot)
        htab[slot] = pos
        if (ref is None or not ref or pos - ref - 1 >= _MAX_OFF
                or data[ref:ref + 3] != data[pos:pos + 3]):
            pos += 1
            continue
        # a back-reference: liblzf's room checks before each literal are implied by
        # the one it makes here
        lit = pos - start
        op += lit + lit // _MAX_LIT
        if op - (0 if lit % _MAX_LIT else 1) + 3 + 1 >= out_len:
            return None
        if lit:
            _literals(out, data, start, pos)
        if not lit % _MAX_LIT:
            op -= 1                      # the reserved header unused
        cap = size - pos - 2
        if cap > _MAX_REF:
            cap = _MAX_REF
        # liblzf's first 16 steps check no limit: near the end a reference can reach
        # 19 bytes where the limit says 17 or 18; it is 3 bytes at least
        if 16 < cap < 19:
            cap = 19
        elif cap < 3:
            cap = 3
        diff = (int.from_bytes(data[ref:ref + cap], "big")
                ^ int.from_bytes(data[pos:pos + cap], "big"))
        length = (cap * 8 - diff.bit_length()) >> 3     # (the first byte differing)
        off = pos - ref - 1
        if length < 9:
            out.append((off >> 8) + ((length - 2) << 5))
            op += 3                      # (2, and the next run's header)
        else:
            out.append((off >> 8) + (7 << 5))
            out.append(length - 9)
            op += 4
        out.append(off & 0xFF)
        pos += length
        start = pos
        if pos >= end:
            break
        htab[slots[pos - 2]] = pos - 2
        htab[slots[pos - 1]] = pos - 1
    # the literals left: liblzf's check before those the main loop met implies the
    # one before each
    main = max(0, min(pos, end) - start)
    if op + main + main // _MAX_LIT + 3 > out_len:
        return None
    _literals(out, data, start, size)
    return bytes(out)
