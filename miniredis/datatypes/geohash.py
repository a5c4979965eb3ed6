"""Redis's geohash: 52-bit interleaved scores, search areas, distances, number texts.

A GEO set is a sorted set whose scores are 52-bit geohashes (26 bits of latitude and
26 of longitude, interleaved, latitude in the even bits) over Redis's ranges
(longitude -180..180, latitude -85.05112878..85.05112878, the Web Mercator limits).
A radius or box search looks up the sorted set in the geohash cell holding the centre
and its eight neighbours, at a precision chosen from the search size, then filters by
distance (haversine on a sphere of radius 6372797.560856 m).

Every computation follows geohash.c / geohash_helper.c step by step in IEEE doubles
(libm's sin/cos/asin through :mod:`math`), so scores, cells, distances and the texts
replied are Redis's exactly.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

STEP_MAX = 26
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0
EARTH_RADIUS = 6372797.560856
MERCATOR_MAX = 20037726.37
_D_R = math.pi / 180.0
_BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"

CIRCLE, BOX = 1, 2

# (min, max) of (longitude, latitude): Redis's ranges and the standard ones (GEOHASH).
RANGES = ((LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX))
STANDARD_RANGES = ((-180.0, 180.0), (-90.0, 90.0))

_U64 = (1 << 64) - 1


def _interleave(xlo: int, ylo: int) -> int:
    """Bits of ``xlo`` in the even positions, bits of ``ylo`` in the odd ones."""
    x, y = xlo, ylo
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        x = (x | (x << shift)) & mask
        y = (y | (y << shift)) & mask
    return x | (y << 1)


def _deinterleave(bits: int) -> Tuple[int, int]:
    """(even bits, odd bits) of a 64-bit number, each as a 32-bit number."""
    x, y = bits, bits >> 1
    for shift, mask in ((0, 0x5555555555555555), (1, 0x3333333333333333),
                        (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):
        x = (x | (x >> shift)) & mask
        y = (y | (y >> shift)) & mask
    return x, y


def encode(longitude: float, latitude: float, step: int,
           ranges=RANGES) -> Optional[int]:
    """geohashEncode: the ``2*step``-bit hash of a point, or None outside the
    supported area."""
    (long_min, long_max), (lat_min, lat_max) = ranges
    if longitude > LONG_MAX or longitude < LONG_MIN or \
            latitude > LAT_MAX or latitude < LAT_MIN:
        return None
    if latitude < lat_min or latitude > lat_max or \
            longitude < long_min or longitude > long_max:
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min) * float(1 << step)
    long_offset = (longitude - long_min) / (long_max - long_min) * float(1 << step)
    return _interleave(int(lat_offset) & 0xffffffff, int(long_offset) & 0xffffffff)


def score_of(longitude: float, latitude: float) -> int:
    """The 52-bit sorted-set score GEOADD stores for a point."""
    return encode(longitude, latitude, STEP_MAX)


class Area:
    """A geohash cell: its hash and step, and its longitude/latitude bounds."""

    __slots__ = ("bits", "step", "long_min", "long_max", "lat_min", "lat_max")

    def __init__(self, bits: int, step: int) -> None:
        self.bits = bits
        self.step = step
        lat_bits, long_bits = _deinterleave(bits)
        lat_scale = LAT_MAX - LAT_MIN
        long_scale = LONG_MAX - LONG_MIN
        cells = float(1 << step)
        self.lat_min = LAT_MIN + (lat_bits * 1.0 / cells) * lat_scale
        self.lat_max = LAT_MIN + ((lat_bits + 1) * 1.0 / cells) * lat_scale
        self.long_min = LONG_MIN + (long_bits * 1.0 / cells) * long_scale
        self.long_max = LONG_MIN + ((long_bits + 1) * 1.0 / cells) * long_scale


def _to_uint64(score: float) -> int:
    """C's ``(uint64_t)score`` as x86-64 code computes it (for any stored score)."""
    # Below 2^63: cvttsd2si (out of range or NaN: 2^63). From 2^63: cvttsd2si of
    # score - 2^63, top bit flipped (so 2^64 and above, +inf included, give 0).
    if math.isnan(score):
        return 1 << 63
    if score >= 9223372036854775808.0:
        if score >= 18446744073709551616.0:
            return 0
        return int(score) & _U64
    if score <= -9223372036854775808.0:
        return 1 << 63
    return int(score) & _U64


def _compact_table(odd: int) -> bytes:
    """For every byte, its even (or odd) bits packed into 4 bits."""
    return bytes(sum(((value >> (2 * bit + odd)) & 1) << bit for bit in range(4))
                 for value in range(256))


_EVEN8 = _compact_table(0)
_ODD8 = _compact_table(1)

# score -> (longitude, latitude): searches decode the same stored scores again and
# again. A memo of a pure function; bounded by clearing.
_DECODED: dict = {}


def decode_score(score: float) -> Tuple[float, float]:
    """(longitude, latitude) of the centre of the cell a score names, clamped to the
    supported area (geohashDecodeToLongLatWGS84 of a 26-step hash)."""
    found = _DECODED.get(score)
    if found is not None:
        return found
    b0, b1, b2, b3, b4, b5, b6, b7 = _to_uint64(score).to_bytes(8, "little")
    even, odd = _EVEN8, _ODD8
    lat_bits = (even[b0] | even[b1] << 4 | even[b2] << 8 | even[b3] << 12 |
                even[b4] << 16 | even[b5] << 20 | even[b6] << 24 | even[b7] << 28)
    long_bits = (odd[b0] | odd[b1] << 4 | odd[b2] << 8 | odd[b3] << 12 |
                 odd[b4] << 16 | odd[b5] << 20 | odd[b6] << 24 | odd[b7] << 28)
    cells = 67108864.0                       # 2^26
    lat_scale = LAT_MAX - LAT_MIN
    lat_min = LAT_MIN + (lat_bits * 1.0 / cells) * lat_scale
    lat_max = LAT_MIN + ((lat_bits + 1) * 1.0 / cells) * lat_scale
    long_min = LONG_MIN + (long_bits * 1.0 / cells) * 360.0
    long_max = LONG_MIN + ((long_bits + 1) * 1.0 / cells) * 360.0
    longitude = (long_min + long_max) / 2
    if longitude > LONG_MAX:
        longitude = LONG_MAX
    if longitude < LONG_MIN:
        longitude = LONG_MIN
    latitude = (lat_min + lat_max) / 2
    if latitude > LAT_MAX:
        latitude = LAT_MAX
    if latitude < LAT_MIN:
        latitude = LAT_MIN
    if len(_DECODED) >= 32768:
        _DECODED.clear()
    found = _DECODED[score] = (longitude, latitude)
    return found


def geohash_string(score: float) -> bytes:
    """GEOHASH's 11 characters: the point re-encoded over the standard latitude
    range (-90..90); the 11th character stands for bits Redis does not have."""
    longitude, latitude = decode_score(score)
    bits = encode(longitude, latitude, STEP_MAX, STANDARD_RANGES) or 0
    out = bytearray()
    for i in range(10):
        out.append(_BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1f])
    out.append(_BASE32[0])
    return bytes(out)


# -- neighbours ---------------------------------------------------------------------
def _move_x(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & 0xaaaaaaaaaaaaaaaa
    y = bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _U64
    else:
        x = ((x | zz) - (zz + 1)) & _U64
    x &= 0xaaaaaaaaaaaaaaaa >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & 0xaaaaaaaaaaaaaaaa
    y = bits & 0x5555555555555555
    zz = 0xaaaaaaaaaaaaaaaa >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _U64
    else:
        y = ((y | zz) - (zz + 1)) & _U64
    y &= 0x5555555555555555 >> (64 - step * 2)
    return x | y


# The eight neighbours in the order Redis searches them, as (dx, dy).
_NEIGHBOURS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0),
               "north_east": (1, 1), "north_west": (-1, 1), "south_east": (1, -1),
               "south_west": (-1, -1)}
_SEARCH_ORDER = ("north", "south", "east", "west", "north_east", "north_west",
                 "south_east", "south_west")


def _neighbours(bits: int, step: int) -> dict:
    return {name: _move_y(_move_x(bits, step, dx), step, dy)
            for name, (dx, dy) in _NEIGHBOURS.items()}


# -- search shapes ------------------------------------------------------------------
class Shape:
    """A search area (GeoShape): a circle (radius) or a box (width, height) around
    ``xy``, in a unit of ``conversion`` metres."""

    __slots__ = ("kind", "xy", "conversion", "radius", "width", "height")

    def __init__(self) -> None:
        self.kind = 0
        self.xy = (0.0, 0.0)
        self.conversion = 0.0
        self.radius = 0.0
        self.width = 0.0
        self.height = 0.0


def _deg_rad(angle: float) -> float:
    return angle * _D_R


def _rad_deg(angle: float) -> float:
    return angle / _D_R


def estimate_step(range_meters: float, latitude: float) -> int:
    """geohashEstimateStepsByRadius: the precision whose cells cover the radius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return max(1, min(26, step))


def bounding_box(shape: Shape) -> Tuple[float, float, float, float]:
    """(min longitude, min latitude, max longitude, max latitude) of a shape."""
    longitude, latitude = shape.xy
    if shape.kind == CIRCLE:
        height = shape.conversion * shape.radius
        width = shape.conversion * shape.radius
    else:
        height = shape.conversion * (shape.height / 2)
        width = shape.conversion * (shape.width / 2)
    lat_delta = _rad_deg(height / EARTH_RADIUS)
    long_delta_top = _rad_deg(width / EARTH_RADIUS / math.cos(_deg_rad(latitude + lat_delta)))
    long_delta_bottom = _rad_deg(width / EARTH_RADIUS /
                                 math.cos(_deg_rad(latitude - lat_delta)))
    if latitude < 0:
        return (longitude - long_delta_bottom, latitude - lat_delta,
                longitude + long_delta_bottom, latitude + lat_delta)
    return (longitude - long_delta_top, latitude - lat_delta,
            longitude + long_delta_top, latitude + lat_delta)


def search_cells(shape: Shape) -> List[Tuple[int, int]]:
    """The (hash, step) cells to scan for a search, centre first then the useful
    neighbours in Redis's order (geohashCalculateAreasByShapeWGS84); a neighbour
    equal to the cell scanned just before it is skipped, as membersOfAllNeighbors
    does for huge radii."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(shape)
    longitude, latitude = shape.xy
    if shape.kind == CIRCLE:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt((shape.width / 2) * (shape.width / 2) +
                                  (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion
    step = estimate_step(radius_meters, latitude)
    bits = encode(longitude, latitude, step) or 0
    neighbours = _neighbours(bits, step)
    area = Area(bits, step)
    north = Area(neighbours["north"], step)
    south = Area(neighbours["south"], step)
    east = Area(neighbours["east"], step)
    west = Area(neighbours["west"], step)
    if step > 1 and (north.lat_max < max_lat or south.lat_min > min_lat or
                     east.long_max < max_lon or west.long_min > min_lon):
        step -= 1
        bits = encode(longitude, latitude, step) or 0
        neighbours = _neighbours(bits, step)
        area = Area(bits, step)
    excluded = set()
    if step >= 2:
        if area.lat_min < min_lat:
            excluded.update(("south", "south_west", "south_east"))
        if area.lat_max > max_lat:
            excluded.update(("north", "north_east", "north_west"))
        if area.long_min < min_lon:
            excluded.update(("west", "south_west", "north_west"))
        if area.long_max > max_lon:
            excluded.update(("east", "south_east", "north_east"))
    # Redis compares a neighbour with the last one scanned (never with the centre:
    # its "last processed" index starts at 0, which means none).
    cells: List[Optional[Tuple[int, int]]] = [(bits, step)] + [
        None if name in excluded else (neighbours[name], step) for name in _SEARCH_ORDER]
    out: List[Tuple[int, int]] = []
    last = 0
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        if last and cell == cells[last]:
            continue
        out.append(cell)
        last = i
    return out


def score_range(bits: int, step: int) -> Tuple[int, int]:
    """[min, max) of the 52-bit scores inside a cell."""
    shift = 52 - step * 2
    return bits << shift, (bits + 1) << shift


# -- distances ------------------------------------------------------------------------
def lat_distance(lat1: float, lat2: float) -> float:
    return EARTH_RADIUS * abs(_deg_rad(lat2) - _deg_rad(lat1))


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: haversine in metres (NaN where C's asin would give it)."""
    lon1r = _deg_rad(lon1)
    lon2r = _deg_rad(lon2)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = _deg_rad(lat1)
    lat2r = _deg_rad(lat2)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    root = math.sqrt(a)
    if root > 1.0:
        return math.nan
    return 2.0 * EARTH_RADIUS * math.asin(root)


def within(shape: Shape, longitude: float, latitude: float) -> Optional[float]:
    """The distance from the shape's centre if the point is inside, else None."""
    x1, y1 = shape.xy
    if shape.kind == CIRCLE:
        d = distance(x1, y1, longitude, latitude)
        if d > shape.radius * shape.conversion:
            return None
        return d
    width = shape.width * shape.conversion
    height = shape.height * shape.conversion
    if lat_distance(latitude, y1) > height / 2:
        return None
    if distance(longitude, latitude, x1, latitude) > width / 2:
        return None
    return distance(x1, y1, longitude, latitude)


def collect(order, shape: Shape, limit: int) -> List[tuple]:
    """membersOfAllNeighbors over a sorted set's SortedList of (score, member): the
    (longitude, latitude, distance, score, member) of every point inside ``shape``,
    cell by cell in Redis's order, each cell in score order; stops once ``limit``
    points are found (0: no limit).

    The hot loop of every search: the decoding memo and, for circles, the distance
    are inlined (the same operations in the same order as :func:`distance`, so the
    same doubles)."""
    found: List[tuple] = []
    append = found.append
    memo = _DECODED
    decode = decode_score
    circle = shape.kind == CIRCLE
    x1, y1 = shape.xy
    radius = shape.radius * shape.conversion
    sin, cos, sqrt, asin = math.sin, math.cos, math.sqrt, math.asin
    d_r = _D_R
    lon1r = x1 * d_r
    lat1r = y1 * d_r
    cos1 = cos(lat1r)
    two_r = 2.0 * EARTH_RADIUS
    nan = math.nan
    # A point whose latitude alone puts it beyond the radius is out whatever the
    # haversine rounds to (a generous margin). Only for radii far below half the
    # globe, where no candidate is near antipodal (Redis keeps those, as NaN).
    band = radius * (1 + 1e-9) + 1e-6 if circle and radius < 1e6 else math.inf
    band_rad = band / EARTH_RADIUS
    for bits, step in search_cells(shape):
        if found and limit and len(found) >= limit:
            break
        low, high = score_range(bits, step)
        for score, member in order.irange((low,), (high,), inclusive=(True, False)):
            position = memo.get(score)
            if position is None:
                position = decode(score)
            longitude, latitude = position
            if circle:
                if abs(latitude * d_r - lat1r) > band_rad:
                    continue
                v = sin((longitude * d_r - lon1r) / 2)
                if v == 0.0:
                    d = EARTH_RADIUS * abs(latitude * d_r - lat1r)
                else:
                    lat2r = latitude * d_r
                    u = sin((lat2r - lat1r) / 2)
                    root = sqrt(u * u + cos1 * cos(lat2r) * v * v)
                    d = nan if root > 1.0 else two_r * asin(root)
                if not d > radius:
                    append((longitude, latitude, d, score, member))
            else:
                d = within(shape, longitude, latitude)
                if d is not None:
                    append((longitude, latitude, d, score, member))
            if found and limit and len(found) >= limit:
                break
    return found


# -- texts ---------------------------------------------------------------------------
def format_distance(value: float) -> bytes:
    """addReplyDoubleDistance: four decimals after rounding to nearest even
    (fixedpoint_d2string with llrint)."""
    if value == 0:
        return b"0.0000"
    scaled_value = value * 10000.0
    if not -9223372036854775808.0 <= scaled_value < 9223372036854775808.0:
        scaled = -(1 << 63)               # llrint out of range (or NaN): LLONG_MIN
    else:
        scaled = round(scaled_value)      # exact half-to-even, as llrint
    sign = b""
    if scaled < 0:
        sign = b"-"
        scaled = -scaled
    return b"%s%d.%04d" % (sign, scaled // 10000, scaled % 10000)


def format_coordinate(value: float) -> bytes:
    """addReplyHumanLongDouble's text: ``%.17Lf`` without trailing zeros."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    text = b"%.17f" % value
    if b"." in text:
        text = text.rstrip(b"0")
        if text.endswith(b"."):
            text = text[:-1]
    if text == b"-0":
        text = b"0"
    return text
