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


def _f32(value: float) -> float:
    """``value`` rounded to a C float."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _c_round(value: float) -> int:
    """C's round(): halves away from zero."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


class _Canvas:
    """A width x height grid of 0/1 pixels; drawing outside it is ignored."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(width * height)

    def set(self, x: int, y: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = 1

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

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
        """Braille: each character shows a 2x4 block of pixels."""
        rows: List[str] = []
        get = self.get
        for y in range(0, self.height, 4):
            chars = []
            for x in range(0, self.width, 2):
                byte = (get(x, y) | get(x, y + 1) << 1 | get(x, y + 2) << 2
                        | get(x + 1, y) << 3 | get(x + 1, y + 1) << 4
                        | get(x + 1, y + 2) << 5 | get(x, y + 3) << 6
                        | get(x + 1, y + 3) << 7)
                chars.append(chr(0x2800 + byte))
            rows.append("".join(chars))
            if y != self.height - 1:
                rows.append("\n")
        return "".join(rows)


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
