"""LZF compression (persistence/lzf.py) gives liblzf's bytes: compared here with a
transcription of lzf_compress that walks the input byte by byte, as liblzf does,
on strings of every kind (random, repetitive, listpack-like, long runs) and with every
output limit near the compressed size (where "does not fit" is decided)."""
from __future__ import annotations

import random
from typing import Optional

from miniredis.persistence import lzf
from miniredis.persistence.rdb import lzf_decompress

_HSIZE = 1 << 16
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)
_MASK32 = 0xFFFFFFFF


def _idx(h: int) -> int:
    return ((h >> 8) - h * 5) & (_HSIZE - 1)


def _literal(out: bytearray, op: int, lit: int, byte: int) -> tuple:
    """One literal byte out; a full run gets its header and the next one's reserved."""
    lit += 1
    out[op] = byte
    op += 1
    if lit == _MAX_LIT:
        out[op - lit - 1] = lit - 1
        lit = 0
        op += 1
    return op, lit


def _reference(data: bytes, out_len: int) -> Optional[bytes]:
    """lzf_compress, byte by byte (the implementation before the skipping one)."""
    in_len = len(data)
    if not in_len or not out_len:
        return None
    ip = data
    htab = {}
    out = bytearray(out_len + 64)
    op = 0
    in_end = in_len
    pos = 0
    lit = 0
    op += 1                                          # start run
    hval = ((ip[0] << 8) | ip[1]) if in_len > 1 else 0
    while pos < in_end - 2:
        hval = ((hval << 8) | ip[pos + 2]) & _MASK32
        slot = _idx(hval)
        ref = htab.get(slot)
        htab[slot] = pos
        if (ref is not None and ref < pos and pos - ref - 1 < _MAX_OFF and ref > 0
                and ip[ref + 2] == ip[pos + 2] and ip[ref] == ip[pos]
                and ip[ref + 1] == ip[pos + 1]):
            off = pos - ref - 1
            length = 2
            maxlen = in_end - pos - length
            if maxlen > _MAX_REF:
                maxlen = _MAX_REF
            if op + 3 + 1 >= out_len and op - (0 if lit else 1) + 3 + 1 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF      # stop run
            if not lit:
                op -= 1                              # undo run if length is zero
            done = False
            if maxlen > 16:
                for _ in range(16):
                    length += 1
                    if ip[ref + length] != ip[pos + length]:
                        done = True
                        break
            if not done:
                while True:
                    length += 1
                    if not (length < maxlen and ip[ref + length] == ip[pos + length]):
                        break
            length -= 2                              # now #octets - 1
            pos += 1
            if length < 7:
                out[op] = ((off >> 8) + (length << 5)) & 0xFF
                op += 1
            else:
                out[op] = ((off >> 8) + (7 << 5)) & 0xFF
                out[op + 1] = (length - 7) & 0xFF
                op += 2
            out[op] = off & 0xFF
            op += 1
            lit = 0
            op += 1                                  # start run
            pos += length + 1
            if pos >= in_end - 2:
                break
            pos -= 2
            hval = (ip[pos] << 8) | ip[pos + 1]
            hval = ((hval << 8) | ip[pos + 2]) & _MASK32
            htab[_idx(hval)] = pos
            pos += 1
            hval = ((hval << 8) | ip[pos + 2]) & _MASK32
            htab[_idx(hval)] = pos
            pos += 1
        else:
            if op >= out_len:
                return None
            op, lit = _literal(out, op, lit, ip[pos])
            pos += 1
    if op + 3 > out_len:
        return None
    while pos < in_end:
        op, lit = _literal(out, op, lit, ip[pos])
        pos += 1
    out[op - lit - 1] = (lit - 1) & 0xFF             # end run
    if not lit:
        op -= 1
    return bytes(out[:op])


def _samples():
    rng = random.Random(7)
    yield from (b"", b"a", b"ab", b"abc", b"aaaa", b"abcabc", b"\0" * 300)
    for size in list(range(1, 80)) + [100, 150, 200, 300, 600, 1000, 3000, 9000]:
        for alphabet in (b"ab", b"abcd", b"0123456789:field", bytes(range(256))):
            yield bytes(rng.choice(alphabet) for _ in range(size))
    for _ in range(300):          # pieces repeated at random distances and lengths
        words = [bytes(rng.choice(b"abcdefgh") for _ in range(rng.randint(1, 30)))
                 for _ in range(rng.randint(1, 8))]
        yield b"".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
    for i in range(200):          # listpack-like hashes of 10 fields
        yield b"".join(b"\x86field%d\x07\x8cvalue:%d:%d\x0d" % (j, i * 31, j)
                       for j in range(10))
    # runs near the end of the input (liblzf's unrolled first 16 comparisons)
    for tail in range(0, 24):
        yield b"xyz" + b"q" * 40 + b"xyz" + b"q" * tail
    yield bytes(rng.getrandbits(8) for _ in range(10000)) * 2  # offsets past 8 KB


def _outcome(data: bytes, limit: int) -> Optional[bytes]:
    got = lzf.compress(data, limit)
    assert got == _reference(data, limit), (data, limit)
    return got


def test_compress_matches_liblzf_transcription():
    compressed = 0
    for data in _samples():
        full = _outcome(data, len(data) + 64)
        if full is None:
            continue
        compressed += 1
        assert lzf_decompress(full, len(data)) == data
        for limit in range(max(1, len(full) - 6), len(full) + 6):
            _outcome(data, limit)
        _outcome(data, len(data) - 4)          # what rdbSaveRawString allows
    assert compressed > 500
