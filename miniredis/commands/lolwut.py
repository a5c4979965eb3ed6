"""LOLWUT's art (no commands here: the LOLWUT handler lives in admin.py).

Version 5 draws Georg Nees's "Schotter" in braille characters, as Redis's lolwut5.c:
squares in a grid, rotated and shifted more and more randomly row after row (the first
two rows are never disturbed, so a grid of at most two rows is exactly Redis's). The
geometry keeps C's single-precision arithmetic so the pixels land where Redis puts them.
Any other version prints just the version line, as Redis 7.0 does for its own.
"""
from __future__ import annotations

import math
import random
import struct
from typing import List


_FLOAT = struct.Struct("f")


def _f32(value: float, _pack=_FLOAT.pack, _unpack=_FLOAT.unpack) -> float:
    """``value`` rounded to a C float."""
    return _unpack(_pack(value))[0]


def _c_round(value: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


# Braille dot of each pixel within its 2x4 cell, by (y % 4, x % 2) (lwTranslatePixelsGroup).
_DOT = {(0, 0): 1 << 0, (1, 0): 1 << 1, (2, 0): 1 << 2, (0, 1): 1 << 3, (1, 1): 1 << 4,
        (2, 1): 1 << 5, (3, 0): 1 << 6, (3, 1): 1 << 7}
_BRAILLE = [chr(0x2800 + byte) for byte in range(256)]
# Cells (2x4 pixels) a canvas may hold: Redis would render a 1000-column, 200-row grid
# of one square per row (a 2000 x 400000 canvas, ~300 MB of text); we stop drawing
# below this many cells instead of stalling the server.
MAX_CELLS = 4_000_000


class _Canvas:
    """A width x height 0/1 canvas stored directly as braille cells (2x4 pixels each),
    so drawing costs per pixel set and rendering per cell; outside pixels are ignored."""

    def __init__(self, width: int, height: int) -> None:
        self.cols = (width + 1) // 2
        rows = (height + 3) // 4
        if self.cols * rows > MAX_CELLS:
            rows = max(MAX_CELLS // self.cols, 1)
            height = min(height, rows * 4)
        self.width, self.height = width, height
        self.cells = [0] * (self.cols * rows)

    def set(self, x: int, y: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.cells[(y >> 2) * self.cols + (x >> 1)] |= _DOT[(y & 3, x & 1)]

    def line(self, x1: int, y1: int, x2: int, y2: int) -> None:
        """Bresenham, as lwDrawLine."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.set(x1, y1)
            if x1 == x2 and y1 == y2:
                break
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float) -> None:
        size = _f32(_c_round(_f32(size / 1.4142135623)))
        k = _f32(math.pi / 4 + angle)
        px, py = [], []
        for _ in range(4):
            px.append(_c_round(math.sin(k) * size + x))
            py.append(_c_round(math.cos(k) * size + y))
            k = _f32(k + math.pi / 2)
        for j in range(4):
            self.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4])

    def render(self) -> str:
        """renderCanvas: one character per cell, rows separated by newlines (and one
        after the last unless the canvas height is one more than a multiple of 4)."""
        cols = self.cols
        cells = self.cells
        braille = _BRAILLE
        rows = []
        for start in range(0, len(cells), cols):
            rows.append("".join([braille[c] for c in cells[start:start + cols]]))
        if not rows:
            return ""
        text = "\n".join(rows)
        last_y = (len(rows) - 1) * 4
        return text if last_y == self.height - 1 else text + "\n"


def schotter(cols: int, per_row: int, per_col: int) -> str:
    """lwDrawSchotter + renderCanvas."""
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = _f32((width - padding * 2) / per_row)
    height = int(_f32(_f32(side * per_col) + padding * 2))
    canvas = _Canvas(width, height)
    half = _f32(side / 2)
    for y in range(per_col):
        for x in range(per_row):
            sx = int(_f32(_f32(_f32(x * side) + half) + padding))
            sy = int(_f32(_f32(_f32(y * side) + half) + padding))
            angle = 0.0
            if y > 1:
                r1, r2, r3 = (_f32(random.random() / per_col * y) * random.choice((1, -1))
                              for _ in range(3))
                angle = r1
                sx = int(sx + _f32(r2 * side / 3))
                sy = int(sy + _f32(r3 * side / 3))
            canvas.square(sx, sy, side, angle)
    return canvas.render()


def _long(value: bytes) -> int:
    from ..args import parse_int
    return parse_int(value)


def render(version: int, args: List[bytes], redis_version: str) -> str:
    """LOLWUT's text for ``version`` with the version-specific ``args``."""
    if version == 5:
        cols = _long(args[0]) if len(args) > 0 else 66
        per_row = _long(args[1]) if len(args) > 1 else 8
        per_col = _long(args[2]) if len(args) > 2 else 12
        cols = min(max(cols, 1), 1000)
        per_row = min(max(per_row, 1), 200)
        per_col = min(max(per_col, 1), 200)
        return (schotter(cols, per_row, per_col)
                + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "
                + redis_version + "\n")
    return "Redis ver. %s\n" % redis_version
