"""LOLWUT's art (no commands here: the LOLWUT handler lives in admin.py).

Version 5 draws Georg Nees's "Schotter" in braille characters, as Redis's lolwut5.c:
squares in a grid, rotated and shifted more and more randomly row after row (the first
two rows are never disturbed, so a grid of at most two rows is exactly Redis's). The
geometry keeps C's single-precision arithmetic so the pixels land where Redis puts them.
Version 6 draws lolwut6.c's skyline of random buildings with the same geometry and
random draws; Redis seeds C's rand() from the clock and its pid, so no two skylines
match, on either server. Any other version prints just the version line, as Redis 7.0
does for its own.
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


# Version 6: a city skyline in the four grays of the Game Boy, one terminal cell per
# pixel, each drawn as a space with its foreground and background colors set.
_GRAYS = ["\033[%s \033[0m" % code
          for code in ("0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m")]


def _rand() -> int:
    """A non-negative int like C's rand() (Redis seeds rand() from the clock and pid,
    so its skylines are never reproducible either)."""
    return random.getrandbits(31)


class _Skyline:
    """lolwut6.c's canvas: ``height`` rows of ``width`` gray levels (0 black..3 white),
    white at first; drawing outside it is ignored, reading outside it gives black."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = [[3] * width for _ in range(height)]

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.rows[y][x]
        return 0

    def skyscraper(self, xoff: int, width: int, height: int, windows: bool,
                   color: int) -> None:
        """A building standing on the bottom row; its roof row is four pixels
        narrower, and the windows (two pixels wide, one tall, on every other row
        and pair of columns, away from the walls) are one of the two grays."""
        starty = self.height - 1
        endy = starty - height + 1
        for y in range(starty, endy - 1, -1):
            if not 0 <= y < self.height:
                continue
            row = self.rows[y]
            left, right = (xoff + 2, xoff + width - 2) if y == endy else \
                (xoff, xoff + width)
            left, right = max(left, 0), min(right, self.width)
            if left < right:
                row[left:right] = [color] * (right - left)
            rely = y - (endy + 1)
            if not windows or not endy + 1 < y < starty - 1 or not rely % 2:
                continue
            for x in range(xoff + 2, xoff + width - 2):
                relx = x - (xoff + 1)
                if (relx // 2) % 2:
                    pixel = 1 + _rand() % 2
                    while pixel == color:
                        pixel = 1 + _rand() % 2
                    if relx % 2:
                        pixel = self.get(x - 1, y)   # the window's left half
                    if 0 <= x < self.width:
                        row[x] = pixel

    def render(self) -> str:
        grays = _GRAYS
        return "\n".join("".join([grays[pixel] for pixel in row]) for row in self.rows)


def skyline(cols: int, rows: int) -> str:
    """generateSkyline + renderCanvas: two passes of window-less buildings (the
    lighter gray behind), then black ones with windows in front."""
    canvas = _Skyline(cols, rows)
    for color in (2, 1):
        offset = -10
        while offset < cols:
            offset += _rand() % 8
            width = 10 + _rand() % 9
            if color == 2:
                height = rows // 2 + (_rand() % rows) // 2
            else:
                height = rows // 2 + (_rand() % rows) // 3
            canvas.skyscraper(offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < cols:
        offset += _rand() % 8
        width = 5 + _rand() % 14
        if width % 4:
            width += width % 3
        height = rows // 3 + (_rand() % rows) // 2
        canvas.skyscraper(offset, width, height, True, 0)
        offset += width + 5
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
    if version == 6:
        cols = _long(args[0]) if len(args) > 0 else 80
        rows = _long(args[1]) if len(args) > 1 else 20
        return (skyline(min(max(cols, 1), 1000), min(max(rows, 1), 1000))
                + "\nDedicated to the 8 bit game developers of past and present.\n"
                "Original 8 bit image from Plaguemon by hikikomori. Redis ver. "
                + redis_version + "\n")
    return "Redis ver. %s\n" % redis_version
