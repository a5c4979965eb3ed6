"""PFADD of many elements at once into a HyperLogLog (see ``hll.py`` for the layout).

Adding elements one by one re-scans the sparse opcodes each time; here a sparse value is
decoded once into an opcode list, edited with the same steps Redis's
hllSparseSet takes (so the bytes come out identical), and written back once.
"""
from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import List, Optional

from .hll import (_SPAN, _VAL_MAX_LEN, _VAL_MAX_VALUE, _ZERO_MAX_LEN, HEADER, REGISTERS,
                  SPARSE, Buffer, _promote, _val, _xzero_pairs, add, pattern)


class _SparseOps:
    """A valid sparse value as a list of opcodes, for PFADD of many elements.

    ``ops`` holds one int per opcode (its byte, or ``0x10000 | first << 8 | second``
    for an XZERO) and ``starts`` the first register of each. An update replaces one
    opcode by others covering the same registers and merges cover unions, so
    ``starts`` only changes where the opcodes do: the opcode of a register is a
    bisection, and the edits are the byte editor's (:func:`sparse_set`) step for step,
    giving the same bytes once joined back."""

    __slots__ = ("ops", "starts", "size", "changed")

    def __init__(self, ops: List[int], starts: List[int], size: int) -> None:
        self.ops = ops
        self.starts = starts
        self.size = size            # length of the value in bytes, header included
        self.changed = False

    @classmethod
    def parse(cls, value: Buffer) -> Optional["_SparseOps"]:
        """The opcodes of ``value``, or None unless they cover exactly 16384
        registers with no XZERO cut short (then the byte editor is used)."""
        body = bytes(value[HEADER:])
        pairs = _xzero_pairs(body)
        if pairs and pairs[-1] + 1 >= len(body):
            return None
        ops = list(body)
        spans = list(body.translate(_SPAN))
        for q in reversed(pairs):
            ops[q:q + 2] = [0x10000 | body[q] << 8 | body[q + 1]]
            spans[q:q + 2] = [((body[q] & 63) << 8 | body[q + 1]) + 1]
        ends = list(accumulate(spans))
        if not ends or ends[-1] != REGISTERS:
            return None
        return cls(ops, [0] + ends[:-1], len(value))

    def body(self) -> bytes:
        ops = self.ops
        if not any(op > 0xff for op in ops):
            return bytes(ops)
        out = bytearray()
        for op in ops:
            if op > 0xff:
                out.append((op >> 8) & 0xff)
                out.append(op & 0xff)
            else:
                out.append(op)
        return bytes(out)

    def set(self, index: int, count: int, max_bytes: int) -> int:
        """Like :func:`sparse_set` on the bytes: 1 changed, 0 not, -2 must promote."""
        if count > _VAL_MAX_VALUE:
            return -2
        ops, starts = self.ops, self.starts
        k = bisect_right(starts, index) - 1
        op = ops[k]
        first = starts[k]
        prev = k - 1 if k else None
        if op > 0xff:
            span = (op & 0x3fff) + 1
        elif op < 0x40:
            span = op + 1
        else:
            span = (op & 3) + 1
        if op >= 0x80 and op <= 0xff:
            current = ((op >> 2) & 31) + 1
            if current >= count:
                return 0
            if span == 1:
                ops[k] = _val(count, 1)
                self._merge(prev)
                return 1
        elif op < 0x40 and span == 1:
            ops[k] = _val(count, 1)
            self._merge(prev)
            return 1
        last = first + span - 1
        new_ops: List[int] = []
        new_starts: List[int] = []
        added = 0
        if op >= 0x80 and op <= 0xff:
            if index != first:
                new_ops.append(_val(current, index - first))
                new_starts.append(first)
            new_ops.append(_val(count, 1))
            new_starts.append(index)
            if index != last:
                new_ops.append(_val(current, last - index))
                new_starts.append(index + 1)
            added = len(new_ops)
        else:
            if index != first:
                zeros = _zero_op(index - first)
                new_ops.append(zeros)
                new_starts.append(first)
                added += 2 if zeros > 0xff else 1
            new_ops.append(_val(count, 1))
            new_starts.append(index)
            added += 1
            if index != last:
                zeros = _zero_op(last - index)
                new_ops.append(zeros)
                new_starts.append(index + 1)
                added += 2 if zeros > 0xff else 1
        delta = added - (2 if op > 0xff else 1)
        if delta > 0 and self.size + delta > max_bytes:
            return -2
        ops[k:k + 1] = new_ops
        starts[k:k + 1] = new_starts
        self.size += delta
        self._merge(prev)
        return 1

    def _merge(self, prev: Optional[int]) -> None:
        """Step 4 of hllSparseSet on the opcode list."""
        ops, starts = self.ops, self.starts
        p = 0 if prev is None else prev
        scan = 5
        while p < len(ops) and scan:
            scan -= 1
            b = ops[p]
            if b < 0x80 or b > 0xff:
                p += 1
                continue
            if p + 1 < len(ops):
                c = ops[p + 1]
                if 0x80 <= c <= 0xff and ((b ^ c) & 0x7c) == 0:
                    run = (b & 3) + (c & 3) + 2
                    if run <= _VAL_MAX_LEN:
                        ops[p] = (c & 0xfc) | (run - 1)
                        del ops[p + 1]
                        del starts[p + 1]
                        self.size -= 1
                        continue
            p += 1
        self.changed = True


def _zero_op(run: int) -> int:
    if run > _ZERO_MAX_LEN:
        run -= 1
        return 0x10000 | (0x40 | (run >> 8)) << 8 | (run & 0xff)
    return run - 1


def add_many(value: bytearray, elements: List[bytes], max_bytes: int) -> int:
    """PFADD's loop: :func:`add` of each element in turn (how many changed the
    registers, -1 at a corrupted value, which keeps the updates made before it). A
    sparse value is edited as an opcode list (:class:`_SparseOps`)."""
    updated = 0
    i = 0
    n = len(elements)
    if value[4] == SPARSE and n >= 32:
        editor = _SparseOps.parse(value)
        if editor is not None:
            while i < n:
                index, count = pattern(elements[i])
                i += 1
                result = editor.set(index, count, max_bytes)
                if result == -2:
                    value[HEADER:] = editor.body()
                    if editor.changed:
                        value[15] |= 0x80
                    if _promote(value, index, count) < 0:
                        return -1
                    updated += 1        # (the promoted element changed a register)
                    break
                updated += result
            else:
                value[HEADER:] = editor.body()
                if editor.changed:
                    value[15] |= 0x80
                return updated
    while i < n:
        result = add(value, elements[i], max_bytes)
        i += 1
        if result < 0:
            return -1
        updated += result
    return updated
