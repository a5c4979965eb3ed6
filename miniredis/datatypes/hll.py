"""HyperLogLog in Redis's own string format (sparse and dense), byte for byte.

A HyperLogLog is a plain Redis string, so GET, DUMP, RDB and AOF carry it as Redis
does, and a value made by either server counts the same in the other. The layout:

* a 16-byte header: ``HYLL``, the encoding (0 dense, 1 sparse), three unused bytes
  and the cached cardinality (8 bytes, little endian; the top bit of the last byte
  set means "stale");
* dense: 16384 registers of 6 bits, packed from the least significant bit of each
  byte (12288 bytes);
* sparse: run-length opcodes: ``00xxxxxx`` ZERO (1-64 zero registers), ``01xxxxxx
  yyyyyyyy`` XZERO (1-16384 zero registers), ``1vvvvvxx`` VAL (1-4 registers of value
  1-32).

The sparse form depends on the order of past updates (adjacent runs are merged only
within a few opcodes of the change), so updates follow Redis's editing steps exactly
rather than re-encoding. Bulk work (histograms, merges, conversions) is done on whole
byte strings: slicing by stride, ``bytes.translate`` tables and big-integer SWAR
arithmetic, never a Python loop over the 16384 registers.

Adding many elements at once is in ``hll_bulk.py``. Values handled here are
``bytearray`` objects edited in place; functions return -1 (or raise
:class:`Corrupted`) where Redis detects a corrupted value.
"""
from __future__ import annotations

import math
import re
import struct
from typing import Dict, List, Optional, Tuple, Union

HLL_P = 14
REGISTERS = 1 << HLL_P                     # 16384
_P_MASK = REGISTERS - 1
HLL_Q = 64 - HLL_P                         # 50
HEADER = 16
DENSE_SIZE = HEADER + REGISTERS * 6 // 8   # 12304
DENSE, SPARSE = 0, 1
_ALPHA_INF = 0.721347520444481703680       # 0.5 / ln(2)
_VAL_MAX_VALUE = 32
_VAL_MAX_LEN = 4
_ZERO_MAX_LEN = 64
_XZERO_MAX_LEN = 16384

_M = 0xc6a4a7935bd1e995
_MASK64 = (1 << 64) - 1
_SEED = 0xadc83b19

Buffer = Union[bytes, bytearray]


class Corrupted(Exception):
    """The value has a valid header but its registers do not decode."""


# -- hashing -------------------------------------------------------------------------
def murmur64a(data: bytes, seed: int = _SEED) -> int:
    """MurmurHash64A (the 64-bit MurmurHash2) as Redis computes it on any platform."""
    n = len(data)
    m = _M
    mask = _MASK64
    h = (seed ^ (n * m)) & mask
    blocks = n >> 3
    if blocks:
        for k in struct.unpack_from("<%dQ" % blocks, data):
            k = (k * m) & mask
            k ^= k >> 47
            h ^= (k * m) & mask
            h = (h * m) & mask
    if n & 7:
        h ^= int.from_bytes(data[blocks << 3:], "little")
        h = (h * m) & mask
    h ^= h >> 47
    h = (h * m) & mask
    return h ^ (h >> 47)


# element -> (register, run length): PFADD of known elements skips the hash.
_PATTERNS: Dict[bytes, Tuple[int, int]] = {}


def pattern_of_hash(h: int) -> Tuple[int, int]:
    """(register index, length of the 0...01 run after the index bits) of a hash."""
    rest = (h >> HLL_P) | (1 << HLL_Q)
    return h & _P_MASK, (rest & -rest).bit_length()


def pattern(element: bytes) -> Tuple[int, int]:
    """(register index, length of the 0...01 run) of ``element`` (hllPatLen)."""
    found = _PATTERNS.get(element)
    if found is not None:
        return found
    found = pattern_of_hash(murmur64a(element))
    if len(_PATTERNS) >= 16384:
        _PATTERNS.clear()
    _PATTERNS[bytes(element)] = found
    return found


# -- header and validity ---------------------------------------------------------------
def new_sparse() -> bytearray:
    """An empty HLL as PFADD creates it: sparse, one XZERO opcode, cached count 0."""
    value = bytearray(b"HYLL\x01" + bytes(11))
    aux = REGISTERS
    while aux:
        run = min(aux, _XZERO_MAX_LEN) - 1
        value.append(0x40 | (run >> 8))
        value.append(run & 0xff)
        aux -= run + 1
    return value


def is_valid(value: Buffer) -> bool:
    """isHLLObjectOrReply's test: magic, a known encoding, the dense size exact."""
    if len(value) < HEADER or value[:4] != b"HYLL":
        return False
    encoding = value[4]
    if encoding > SPARSE:
        return False
    return encoding != DENSE or len(value) == DENSE_SIZE


def invalidate_cache(value: bytearray) -> None:
    """Mark the cached cardinality stale (HLL_INVALIDATE_CACHE)."""
    value[15] |= 0x80


def cached_count(value: Buffer) -> Optional[int]:
    """The cached cardinality, or None if it is stale."""
    if value[15] & 0x80:
        return None
    return int.from_bytes(value[8:16], "little")


def store_count(value: bytearray, count: int) -> None:
    """Cache a freshly computed cardinality (valid: top bit clear)."""
    value[8:16] = (count & _MASK64).to_bytes(8, "little")


# -- byte tables for packing/unpacking 6-bit registers ----------------------------------
def _table(function) -> bytes:
    return bytes(function(b) & 0xff for b in range(256))


_LOW6 = _table(lambda b: b & 63)
_SHR6 = _table(lambda b: b >> 6)
_SHR4 = _table(lambda b: b >> 4)
_SHR2 = _table(lambda b: b >> 2)
_LOW4_SHL2 = _table(lambda b: (b & 15) << 2)
_LOW2_SHL4 = _table(lambda b: (b & 3) << 4)
_LOW2_SHL6 = _table(lambda b: (b & 3) << 6)
_LOW4_SHL4 = _table(lambda b: (b & 15) << 4)
_R_SHR2 = _table(lambda b: (b & 63) >> 2)
_R_SHR4 = _table(lambda b: (b & 63) >> 4)
_R_SHL2 = _table(lambda b: (b & 63) << 2)

# Sparse opcode bytes: registers covered by a one-byte opcode (ZERO, VAL), and the
# byte sets of each kind, for bulk scans.
_SPAN = _table(lambda b: b + 1 if b < 0x40 else ((b & 3) + 1 if b >= 0x80 else 0))
_NOT_XZERO = bytes(b for b in range(256) if not 0x40 <= b < 0x80)
_NOT_ZERO = bytes(range(0x40, 256))
_NOT_VAL = bytes(range(0x80))
_BLOCK = 64
_XZERO_BYTE = re.compile(rb"[\x40-\x7f]")


def _bytewise_or(a: bytes, b: bytes) -> bytes:
    """a | b byte by byte, for strings whose bytes share no set bit (one addition)."""
    return (int.from_bytes(a, "little") + int.from_bytes(b, "little")).to_bytes(
        len(a), "little")


def _dense_quarters(value: Buffer) -> Tuple[bytes, bytes, bytes, bytes]:
    """Registers 4k, 4k+1, 4k+2, 4k+3 of a dense value, one byte each."""
    regs = bytes(value[HEADER:DENSE_SIZE])
    b0, b1, b2 = regs[0::3], regs[1::3], regs[2::3]
    return (b0.translate(_LOW6),
            _bytewise_or(b0.translate(_SHR6), b1.translate(_LOW4_SHL2)),
            _bytewise_or(b1.translate(_SHR4), b2.translate(_LOW2_SHL4)),
            b2.translate(_SHR2))


def dense_registers(value: Buffer) -> bytes:
    """All 16384 registers of a dense value, one byte each, in order."""
    raw = bytearray(REGISTERS)
    for i, quarter in enumerate(_dense_quarters(value)):
        raw[i::4] = quarter
    return bytes(raw)


def pack_dense(raw: bytes) -> bytes:
    """The 12288 register bytes of a dense value holding ``raw`` (values < 64)."""
    r0, r1, r2, r3 = (raw[i::4] for i in range(4))
    out = bytearray(REGISTERS * 6 // 8)
    out[0::3] = _bytewise_or(r0.translate(_LOW6), r1.translate(_LOW2_SHL6))
    out[1::3] = _bytewise_or(r1.translate(_R_SHR2), r2.translate(_LOW4_SHL4))
    out[2::3] = _bytewise_or(r2.translate(_R_SHR4), r3.translate(_R_SHL2))
    return bytes(out)


# -- sparse decoding ---------------------------------------------------------------------
def _opcodes(value: Buffer):
    """(kind, run length, register value) of each sparse opcode; kind is 'z', 'Z' or
    'v'. An XZERO cut by the end reads a zero byte, as Redis reads the terminator."""
    end = len(value)
    p = HEADER
    while p < end:
        b = value[p]
        if b < 0x40:
            yield "z", (b & 63) + 1, 0
            p += 1
        elif b < 0x80:
            low = value[p + 1] if p + 1 < end else 0
            yield "Z", ((b & 63) << 8 | low) + 1, 0
            p += 2
        else:
            yield "v", (b & 3) + 1, ((b >> 2) & 31) + 1
            p += 1


def sparse_registers(value: Buffer) -> Optional[bytearray]:
    """The registers of a sparse value, one byte each, or None unless its runs cover
    exactly 16384 registers (hllSparseToDense's and hllMerge's test)."""
    raw = bytearray(REGISTERS)
    idx = 0
    for kind, run, reg in _opcodes(value):
        if idx + run > REGISTERS:
            # Redis 7.0.15 as shipped (with the CVE-2025-32023 fix) refuses any run
            # past the last register, of zeros as well as of values.
            return None
        if kind == "v":
            raw[idx:idx + run] = bytes((reg,)) * run
        idx += run
    return raw if idx == REGISTERS else None


def registers(value: Buffer) -> bytes:
    """Registers of a valid HLL of either encoding; :class:`Corrupted` if sparse and
    not decodable."""
    if value[4] == DENSE:
        return dense_registers(value)
    raw = sparse_registers(value)
    if raw is None:
        raise Corrupted()
    return bytes(raw)


def decode_sparse(value: Buffer) -> bytes:
    """PFDEBUG DECODE's text: ``z:<len>``, ``Z:<len>``, ``v:<value>,<len>``."""
    parts = []
    for kind, run, reg in _opcodes(value):
        parts.append(b"v:%d,%d" % (reg, run) if kind == "v" else b"%s:%d" % (
            kind.encode(), run))
    return b" ".join(parts)


def to_dense(value: bytearray) -> bool:
    """Convert a sparse value to dense in place (header kept, encoding byte 0);
    False, leaving it untouched, if it does not decode. A dense value is left as is."""
    if value[4] == DENSE:
        return True
    raw = sparse_registers(value)
    if raw is None:
        return False
    header = bytearray(value[:HEADER])
    header[4] = DENSE
    value[:] = header + pack_dense(bytes(raw))
    return True


# -- adding ------------------------------------------------------------------------------
def dense_set(value: bytearray, index: int, count: int) -> int:
    """Raise register ``index`` of a dense value to ``count``: 1 if it changed."""
    bit = index * 6
    pos = HEADER + (bit >> 3)
    fb = bit & 7
    b0 = value[pos]
    last = pos + 1 >= len(value)
    b1 = 0 if last else value[pos + 1]
    if count <= ((b0 >> fb) | (b1 << (8 - fb))) & 63:
        return 0
    value[pos] = (b0 & ~(63 << fb) | (count << fb)) & 0xff
    if not last:
        fb8 = 8 - fb
        value[pos + 1] = (b1 & ~(63 >> fb8) | (count >> fb8)) & 0xff
    if _HISTOGRAMS:
        entry = _HISTOGRAMS.get(id(value))
        if entry is not None and entry[0] is value:
            _follow(entry, pos, fb, count)
    return 1


# Histograms of dense values counted lately: id -> (value, copy of the value when the
# histogram was right, histogram). dense_set applies each change to the copy and the
# histogram alike, so PFCOUNT after a few PFADDs skips the full count; the copy being
# equal to the value proves the histogram is current (SETRANGE & co. break equality).
_HISTOGRAMS: Dict[int, Tuple[bytearray, bytearray, List[int]]] = {}
_HISTOGRAMS_MAX = 32


def _follow(entry: Tuple[bytearray, bytearray, List[int]], pos: int, fb: int,
            count: int) -> None:
    """Set the register at (pos, fb) of the copy to ``count``, histogram alike."""
    copy, hist = entry[1], entry[2]
    b0 = copy[pos]
    last = pos + 1 >= len(copy)
    b1 = 0 if last else copy[pos + 1]
    old = ((b0 >> fb) | (b1 << (8 - fb))) & 63
    hist[old] -= 1
    hist[count] += 1
    copy[pos] = (b0 & ~(63 << fb) | (count << fb)) & 0xff
    if not last:
        fb8 = 8 - fb
        copy[pos + 1] = (b1 & ~(63 >> fb8) | (count >> fb8)) & 0xff


def _dense_histogram(value: Buffer) -> List[int]:
    entry = _HISTOGRAMS.get(id(value))
    if entry is not None and entry[0] is value and entry[1] == value:
        return list(entry[2])
    hist = histogram_of_registers(b"".join(_dense_quarters(value)))
    if value.__class__ is bytearray:
        if len(_HISTOGRAMS) >= _HISTOGRAMS_MAX:
            del _HISTOGRAMS[next(iter(_HISTOGRAMS))]
        _HISTOGRAMS[id(value)] = (value, bytearray(value), list(hist))
    return hist


def _val(reg: int, run: int) -> int:
    return 0x80 | ((reg - 1) << 2) | (run - 1)


def _zeros(run: int) -> bytes:
    if run > _ZERO_MAX_LEN:
        run -= 1
        return bytes((0x40 | (run >> 8), run & 0xff))
    return bytes((run - 1,))


class SparseCursor:
    """Where the previous update of a sparse value stopped, for PFMERGE, which sets
    registers in increasing order: ``trail`` holds (position, first register) of the
    opcodes passed so far. An update only edits the opcode it lands on and merges
    from the one before it, so that one and all earlier ones keep their place, and
    the next scan resumes there instead of at the first opcode."""

    __slots__ = ("trail",)

    def __init__(self) -> None:
        self.trail: List[Tuple[int, int]] = []


def _scan(value: bytearray, index: int, cursor: Optional[SparseCursor]):
    """Step 1 of hllSparseSet: (position, first register, span, previous opcode's
    position or None) of the opcode covering ``index``; span 0 or a position at the
    end mean a corrupted value."""
    end = len(value)
    span = 0
    if cursor is None:
        p, first, prev = HEADER, 0, None
        block_end = 0
        while p < end:
            if p >= block_end and p + _BLOCK <= end:
                # 64 one-byte opcodes (no XZERO byte among them) are skipped whole
                # when they end before ``index``: two translations and a sum in C.
                block = value[p:p + _BLOCK]
                if not block.translate(None, _NOT_XZERO):
                    covered = sum(block.translate(_SPAN))
                    if first + covered <= index:
                        first += covered
                        prev = p + _BLOCK - 1
                        p += _BLOCK
                        continue
                block_end = p + _BLOCK
            b = value[p]
            if b < 0x40:
                span = b + 1
                oplen = 1
            elif b >= 0x80:
                span = (b & 3) + 1
                oplen = 1
            else:
                span = ((b & 63) << 8 | (value[p + 1] if p + 1 < end else 0)) + 1
                oplen = 2
            if index < first + span:
                break
            prev = p
            p += oplen
            first += span
        return p, first, span, prev
    trail = cursor.trail
    if trail:
        p, first = trail.pop()
        prev = trail[-1][0] if trail else None
    else:
        p, first, prev = HEADER, 0, None
    while p < end:
        b = value[p]
        if b < 0x40:
            span = b + 1
            oplen = 1
        elif b >= 0x80:
            span = (b & 3) + 1
            oplen = 1
        else:
            span = ((b & 63) << 8 | (value[p + 1] if p + 1 < end else 0)) + 1
            oplen = 2
        if index < first + span:
            break
        trail.append((p, first))
        prev = p
        p += oplen
        first += span
    return p, first, span, prev


def sparse_set(value: bytearray, index: int, count: int, max_bytes: int,
               cursor: Optional[SparseCursor] = None) -> int:
    """hllSparseSet: raise register ``index`` of a sparse value to ``count``.

    1 if it changed, 0 if not, -1 if the value is corrupted. Promotes the value to
    dense (in place) when ``count`` is above 32 or the edit would grow the value past
    ``max_bytes`` (hll-sparse-max-bytes)."""
    if count > _VAL_MAX_VALUE:
        return _promote(value, index, count)
    p, first, span, prev = _scan(value, index, cursor)
    end = len(value)
    if span == 0 or p >= end:
        return -1
    b = value[p]
    is_val = b >= 0x80
    is_xzero = 0x40 <= b < 0x80
    if is_val:
        current = ((b >> 2) & 31) + 1
        if current >= count:
            return 0
        if span == 1:
            value[p] = _val(count, 1)
            _merge_around(value, prev, end)
            return 1
    elif not is_xzero and span == 1:
        value[p] = _val(count, 1)
        _merge_around(value, prev, end)
        return 1
    last = first + span - 1
    seq = bytearray()
    if is_val:
        if index != first:
            seq.append(_val(current, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(current, last - index))
    else:
        if index != first:
            seq += _zeros(index - first)
        seq.append(_val(count, 1))
        if index != last:
            seq += _zeros(last - index)
    oldlen = 2 if is_xzero else 1
    delta = len(seq) - oldlen
    if delta > 0 and end + delta > max_bytes:
        return _promote(value, index, count)
    if p + oldlen < end:
        value[p:p + oldlen] = seq
    else:
        # The last opcode (possibly an XZERO cut short): the length moves by delta.
        new_len = end + delta
        value[p:] = seq
        del value[new_len:]
    _merge_around(value, prev, len(value))
    return 1


def _merge_around(value: bytearray, prev: Optional[int], end: int) -> None:
    """Step 4 of hllSparseSet: from the opcode before the change, look at up to five
    opcodes and merge adjacent VALs of equal value while the run fits in one; then
    mark the cached count stale."""
    p = HEADER if prev is None else prev
    scan = 5
    while p < end and scan:
        scan -= 1
        b = value[p]
        if b < 0x40:
            p += 1
            continue
        if b < 0x80:
            p += 2
            continue
        if p + 1 < end:
            c = value[p + 1]
            if c >= 0x80 and ((b ^ c) & 0x7c) == 0:
                run = (b & 3) + (c & 3) + 2
                if run <= _VAL_MAX_LEN:
                    value[p + 1] = (c & 0xfc) | (run - 1)
                    del value[p]
                    end -= 1
                    continue
        p += 1
    value[15] |= 0x80


def _promote(value: bytearray, index: int, count: int) -> int:
    """Convert to dense, then set the register there (it always changes)."""
    if not to_dense(value):
        return -1
    dense_set(value, index, count)
    return 1


def add(value: bytearray, element: bytes, max_bytes: int) -> int:
    """hllAdd: 1 if the estimate may have changed, 0 if not, -1 if corrupted."""
    index, count = pattern(element)
    return add_pattern(value, index, count, max_bytes)


def add_pattern(value: bytearray, index: int, count: int, max_bytes: int) -> int:
    """:func:`add` of an element already hashed to (register, run length)."""
    encoding = value[4]
    if encoding == DENSE:
        return dense_set(value, index, count)
    if encoding == SPARSE:
        return sparse_set(value, index, count, max_bytes)
    return -1


# -- counting ----------------------------------------------------------------------------
def histogram_of_registers(raw: bytes) -> List[int]:
    """How many registers hold each value 0..63 (counting stops once all are seen)."""
    hist = [0] * 64
    left = len(raw)
    for v in range(64):
        n = raw.count(v)
        if n:
            hist[v] = n
            left -= n
            if not left:
                break
    return hist


def histogram(value: Buffer) -> Tuple[List[int], bool]:
    """(register histogram, valid) of a dense or sparse value (hllCount's first step:
    a sparse value not covering exactly 16384 registers is invalid)."""
    if value[4] == DENSE:
        return _dense_histogram(value), True
    return _sparse_histogram(value)


def _xzero_pairs(body: bytes) -> List[int]:
    """Offsets in ``body`` (a sparse value without its header) of its XZERO opcodes:
    in order, every byte 0x40-0x7f is one unless it is the second byte of the one
    just found (all other opcodes are one byte long)."""
    found: List[int] = []
    if not body.translate(None, _NOT_XZERO):
        return found
    after = 0
    for match in _XZERO_BYTE.finditer(body):
        q = match.start()
        if q >= after:
            found.append(q)
            after = q + 2
    return found


def _sparse_histogram(value: Buffer) -> Tuple[List[int], bool]:
    """The register histogram of a sparse value by bulk operations: XZERO pairs are
    taken out first, then ZERO and VAL bytes are counted by kind."""
    body = bytes(value[HEADER:])
    hist = [0] * 64
    total = 0
    pairs = _xzero_pairs(body)
    if pairs:
        pieces = []
        previous = 0
        for q in pairs:
            pieces.append(body[previous:q])
            low = body[q + 1] if q + 1 < len(body) else 0
            total += ((body[q] & 63) << 8 | low) + 1
            previous = q + 2
        pieces.append(body[previous:])
        body = b"".join(pieces)
    zeros = body.translate(None, _NOT_ZERO)
    total += sum(zeros) + len(zeros)
    hist[0] = total
    vals = body.translate(None, _NOT_VAL)
    for b in set(vals):
        run = ((b & 3) + 1) * vals.count(b)
        hist[((b >> 2) & 31) + 1] += run
        total += run
    return hist, total == REGISTERS


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        d = 1 - x
        z -= d * d * y
        if previous == z:
            return z / 3


def estimate(hist: List[int]) -> int:
    """The cardinality from a register histogram (Ertl's estimator, as hllCount),
    as the unsigned 64-bit number Redis stores."""
    m = float(REGISTERS)
    z = m * _tau((m - hist[HLL_Q + 1]) / m)
    for j in range(HLL_Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    if z == 0:
        # alpha*m*m/0 is +inf; llroundl(inf) gives LLONG_MIN on x86-64, which the
        # conversion to uint64 leaves as 2^63.
        return 1 << 63
    e = _ALPHA_INF * m * m / z
    if not e < 9223372036854775807.5:
        return 1 << 63                 # beyond long long: llroundl's LLONG_MIN again
    whole = math.floor(e)
    if e - whole >= 0.5:               # llroundl: halves away from zero
        whole += 1
    return int(whole) & _MASK64


def count(value: Buffer) -> int:
    """hllCount of a valid value; :class:`Corrupted` for an undecodable sparse one."""
    hist, valid = histogram(value)
    if not valid:
        raise Corrupted()
    return estimate(hist)


def merge_max(current: Optional[int], raw: bytes) -> int:
    """Register-wise maximum of two register arrays held as little-endian integers
    (one byte per register, values < 128), by SWAR arithmetic on big integers."""
    other = int.from_bytes(raw, "little")
    if current is None:
        return other
    high = _HIGH_BITS
    # Per byte: (a | 0x80) - b keeps 0x80 exactly when a >= b, never borrowing.
    keep = (((current | high) - other) & high) >> 7
    mask = keep * 0xff
    return (current & mask) | (other & ~mask & _ALL_BYTES)


_HIGH_BITS = int.from_bytes(b"\x80" * REGISTERS, "little")
_ALL_BYTES = (1 << (8 * REGISTERS)) - 1


def int_to_registers(merged: Optional[int]) -> bytes:
    if merged is None:
        return bytes(REGISTERS)
    return merged.to_bytes(REGISTERS, "little")


def merge_into(merged: Optional[int], value: Buffer) -> int:
    """hllMerge: fold a valid HLL into ``merged``; :class:`Corrupted` if it does not
    decode (a sparse run past the last register stops the walk, as in Redis)."""
    return merge_max(merged, registers(value))


def write_registers(value: bytearray, raw: bytes, max_bytes: int) -> None:
    """PFMERGE's last step: raise each register of ``value`` to ``raw`` in increasing
    order, as Redis does register by register, so a sparse value's opcodes come out
    exactly as Redis's. Once the value is (or turns) dense, the rest is a register-wise
    maximum, which is what the remaining single updates would give."""
    if value[4] == SPARSE:
        cursor = SparseCursor()
        for match in _NONZERO.finditer(raw):
            index = match.start()
            if sparse_set(value, index, raw[index], max_bytes, cursor) == -1:
                return
            if value[4] == DENSE:
                break
        else:
            return
    current = dense_registers(value)
    merged = int_to_registers(merge_max(int.from_bytes(current, "little"), raw))
    value[HEADER:DENSE_SIZE] = pack_dense(merged)


_NONZERO = re.compile(rb"[^\x00]")
