"""LZF compression as Redis's bundled liblzf compresses (HLOG 16, VERY_FAST), so the
strings a DUMP compresses are the same bytes Redis would write.

Pure Python (a few MB/s): callers compress only moderately sized strings. One
difference is unavoidable: Redis's hash table is not initialised between calls
(INIT_HTAB 0), so in rare cases a stale slot makes Redis pick another, equally valid
back-reference; this implementation always starts from an empty table.
"""
from __future__ import annotations

from typing import Optional

_HSIZE = 1 << 16
_MAX_LIT = 1 << 5
_MAX_OFF = 1 << 13
_MAX_REF = (1 << 8) + (1 << 3)
_MASK32 = 0xFFFFFFFF


def _idx(h: int) -> int:
    return ((h >> 8) - h * 5) & (_HSIZE - 1)


_PRECHECK = 4096


def _repeats(data: bytes) -> int:
    """How many positions start 3 bytes that occurred at an earlier position: a
    back-reference of L bytes (2 or 3 bytes of output) needs L - 2 such positions, and
    the first byte is a literal (one header byte at least), so no compression of
    ``data`` is shorter than ``len(data) - _repeats(data) + 1``. Checked at C speed,
    it spares the compressor most short strings it would fail on (listpacks...)."""
    return len(data) - 2 - len(set(zip(data, data[1:], data[2:])))


def compress(data: bytes, out_len: int) -> Optional[bytes]:
    """``data`` compressed into at most ``out_len`` bytes, or None when it does not fit
    (lzf_compress returning 0)."""
    in_len = len(data)
    if not in_len or not out_len:
        return None
    if 3 <= in_len <= _PRECHECK and in_len - _repeats(data) + 1 > out_len:
        return None                                  # (it could not fit: see _repeats)
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
            lit += 1
            out[op] = ip[pos]
            op += 1
            pos += 1
            if lit == _MAX_LIT:
                out[op - lit - 1] = lit - 1
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while pos < in_end:
        lit += 1
        out[op] = ip[pos]
        op += 1
        pos += 1
        if lit == _MAX_LIT:
            out[op - lit - 1] = lit - 1
            lit = 0
            op += 1
    out[op - lit - 1] = (lit - 1) & 0xFF             # end run
    if not lit:
        op -= 1
    return bytes(out[:op])
