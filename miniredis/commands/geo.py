"""GEO commands: GEOADD, GEODIST, GEOHASH, GEOPOS and the searches (GEOSEARCH,
GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms).

A GEO set is a sorted set (:class:`miniredis.datatypes.zset.ZSet`) whose scores are
52-bit geohashes (:mod:`miniredis.datatypes.geohash`). GEOADD is ZADD with computed
scores (Redis runs ZADD itself, so the keyspace event is ``zadd`` and the AOF gets
the ZADD). Searches walk the score ranges of nine geohash cells and filter by
distance, in Redis's order; the sort of the results reproduces Redis's too: a stable
sort for a full sort (glibc's merge sort) and Redis's partial quicksort (pqsort) when
COUNT keeps only the nearest few, so ties come out as in Redis.

Options are compared as C strings (``strcasecmp``): an argument is read up to its
first NUL byte.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from .. import errors
from ..args import to_int
from ..datatypes import geohash
from ..datatypes.geohash import CIRCLE, BOX, Shape
from ..datatypes.zset import ZSet
from ..errors import CommandError
from ..notify import notify
from ..protocol import NULL_ARRAY, Raw
from ..pqsort import pqsort
from . import command
from .zset_args import _parse_score as _string2d
from .zsets import zadd

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def _word(arg: bytes) -> bytes:
    """An option as strcasecmp sees it: up to the first NUL, lower case."""
    return arg.split(b"\x00", 1)[0].lower()


def _read_zset(client, key: bytes) -> Optional[ZSet]:
    """lookupKeyRead + checkType: counts a hit or miss, WRONGTYPE for other types."""
    value = client.db.get_read(key)
    if value is not None and value.__class__ is not ZSet:
        raise CommandError(errors.WRONGTYPE)
    return value


def _long_lat(args: List[bytes], at: int) -> Tuple[float, float]:
    """extractLongLatOrReply: two doubles, inside the area geohashes can encode."""
    longitude = _string2d(args[at])
    latitude = _string2d(args[at + 1])
    if longitude < geohash.LONG_MIN or longitude > geohash.LONG_MAX or \
            latitude < geohash.LAT_MIN or latitude > geohash.LAT_MAX:
        raise CommandError(errors.GEO_INVALID_PAIR.format(longitude, latitude))
    return longitude, latitude


def _unit(arg: bytes) -> float:
    """Metres per unit (m, km, ft, mi), else Redis's error."""
    factor = _UNITS.get(_word(arg))
    if factor is None:
        raise CommandError(errors.GEO_UNIT)
    return factor


def _radius(args: List[bytes], at: int) -> Tuple[float, float]:
    """extractDistanceOrReply: (radius, metres per unit)."""
    radius = _string2d(args[at], errors.GEO_NEED_RADIUS)
    if radius < 0:
        raise CommandError(errors.GEO_RADIUS_NEGATIVE)
    return radius, _unit(args[at + 1])


def _box(args: List[bytes], at: int) -> Tuple[float, float, float]:
    """extractBoxOrReply: (width, height, metres per unit)."""
    width = _string2d(args[at], errors.GEO_NEED_WIDTH)
    height = _string2d(args[at + 1], errors.GEO_NEED_HEIGHT)
    if height < 0 or width < 0:
        raise CommandError(errors.GEO_BOX_NEGATIVE)
    return width, height, _unit(args[at + 2])


def _coordinate(client, value: float) -> Any:
    """addReplyHumanLongDouble: a bulk string in RESP2, a RESP3 double, both printed
    as ``%.17Lf`` without trailing zeros."""
    text = geohash.format_coordinate(value)
    if client.resp == 3:
        return Raw(b",%s\r\n" % text)
    return text


# -- GEOADD ------------------------------------------------------------------------------
def geoadd_options(args: List[bytes]) -> List[bytes]:
    """GEOADD's leading options (NX, XX, CH), as strcasecmp reads them."""
    options = []
    for arg in args[2:]:
        word = _word(arg)
        if word not in (b"nx", b"xx", b"ch"):
            break
        options.append(word)
    return options


def zadd_arguments(args: List[bytes]) -> List[bytes]:
    """The ZADD that GEOADD runs (and Redis propagates): options as given, then a
    score and a member per point; the errors GEOADD checks first."""
    options = geoadd_options(args)
    index = 2 + len(options)
    if (len(args) - index) % 3 or (b"nx" in options and b"xx" in options):
        raise CommandError(errors.SYNTAX)
    argv = [b"ZADD", args[1]] + list(args[2:index])
    for at in range(index, len(args), 3):
        longitude, latitude = _long_lat(args, at)
        argv.append(b"%d" % geohash.score_of(longitude, latitude))
        argv.append(args[at + 2])
    return argv


@command("geoadd", -5, "write denyoom", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Add one or more geospatial items in the geospatial index represented "
         "using a sorted set")
def geoadd(client, args: List[bytes]):
    argv = zadd_arguments(args)
    options = geoadd_options(args)
    # ZADD reads its options again: spelled here as GEOADD read them (a NUL ends one).
    return zadd(client, argv[:2] + options + argv[2 + len(options):])


# -- GEODIST / GEOHASH / GEOPOS -------------------------------------------------------------
@command("geodist", -4, "readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Returns the distance between two members of a geospatial index")
def geodist(client, args: List[bytes]):
    to_meter = 1.0
    if len(args) == 5:
        to_meter = _unit(args[4])
    elif len(args) > 5:
        raise CommandError(errors.SYNTAX)
    zset = _read_zset(client, args[1])
    if zset is None:
        return None
    first = zset.scores.get(args[2])
    second = zset.scores.get(args[3])
    if first is None or second is None:
        return None
    lon1, lat1 = geohash.decode_score(first)
    lon2, lat2 = geohash.decode_score(second)
    return geohash.format_distance(geohash.distance(lon1, lat1, lon2, lat2) / to_meter)


@command("geohash", -2, "readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Returns members of a geospatial index as standard geohash strings")
def geohash_(client, args: List[bytes]):
    zset = _read_zset(client, args[1])
    scores = zset.scores if zset is not None else {}
    out: List[Any] = []
    for member in args[2:]:
        score = scores.get(member)
        out.append(None if score is None else geohash.geohash_string(score))
    return out


@command("geopos", -2, "readonly", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Returns longitude and latitude of members of a geospatial index")
def geopos(client, args: List[bytes]):
    zset = _read_zset(client, args[1])
    scores = zset.scores if zset is not None else {}
    out: List[Any] = []
    for member in args[2:]:
        score = scores.get(member)
        if score is None:
            out.append(NULL_ARRAY)
            continue
        longitude, latitude = geohash.decode_score(score)
        out.append([_coordinate(client, longitude), _coordinate(client, latitude)])
    return out


# -- searches --------------------------------------------------------------------------------
_COORDS, _MEMBER, _NOSTORE, _SEARCH, _SEARCHSTORE = 1, 2, 4, 8, 16
_ASC, _DESC = 1, 2


class _Point:
    """A search hit (geoPoint)."""

    __slots__ = ("longitude", "latitude", "dist", "score", "member")

    def __init__(self, longitude: float, latitude: float, dist: float, score: float,
                 member: bytes) -> None:
        self.longitude = longitude
        self.latitude = latitude
        self.dist = dist
        self.score = score
        self.member = member


def _member_position(zset: ZSet, member: bytes) -> Tuple[float, float]:
    score = zset.scores.get(member)
    if score is None:
        raise CommandError(errors.GEO_MEMBER)
    return geohash.decode_score(score)


def _points_in(zset: ZSet, shape: Shape, limit: int) -> List[_Point]:
    """The search hits (see :func:`miniredis.datatypes.geohash.collect`)."""
    return [_Point(*hit) for hit in geohash.collect(zset.order, shape, limit)]


def _compare_asc(a: _Point, b: _Point) -> int:
    if a.dist > b.dist:
        return 1
    if a.dist == b.dist:
        return 0
    return -1


def _compare_desc(a: _Point, b: _Point) -> int:
    return -_compare_asc(a, b)


def _search(client, args: List[bytes], source_at: int, flags: int):
    """georadiusGeneric: every search command, with Redis's order of checks."""
    db = client.db
    zset = _read_zset(client, args[source_at])
    store_key: Optional[bytes] = None
    store_dist = False
    shape = Shape()
    if flags & _COORDS:
        base = 6
        shape.kind = CIRCLE
        shape.xy = _long_lat(args, 2)
        shape.radius, shape.conversion = _radius(args, base - 2)
    elif flags & _MEMBER and zset is None:
        base = 5
    elif flags & _MEMBER:
        base = 5
        shape.kind = CIRCLE
        shape.xy = _member_position(zset, args[2])
        shape.radius, shape.conversion = _radius(args, base - 2)
    else:
        base = 2
        if flags & _SEARCHSTORE:
            base = 3
            store_key = args[1]
    with_dist = with_hash = with_coords = False
    from_member = from_loc = by_radius = by_box = False
    sort = 0
    any_ = False
    count = 0
    remaining = len(args) - base
    i = 0
    while i < remaining:
        arg = _word(args[base + i])
        more = remaining - i - 1           # arguments after this one
        search = flags & _SEARCH
        if arg == b"withdist":
            with_dist = True
        elif arg == b"withhash":
            with_hash = True
        elif arg == b"withcoord":
            with_coords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = _ASC
        elif arg == b"desc":
            sort = _DESC
        elif arg == b"count" and more >= 1:
            value = to_int(args[base + i + 1])
            if value is None:
                raise CommandError(errors.NOT_INTEGER)
            if value <= 0:
                raise CommandError(errors.GEO_COUNT)
            count = value
            i += 1
        elif arg in (b"store", b"storedist") and more >= 1 and \
                not flags & _NOSTORE and not search:
            store_key = args[base + i + 1]
            store_dist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and search and flags & _SEARCHSTORE:
            store_dist = True
        elif arg == b"frommember" and more >= 1 and search and not from_loc:
            if zset is not None:
                shape.xy = _member_position(zset, args[base + i + 1])
            from_member = True
            i += 1
        elif arg == b"fromlonlat" and more >= 2 and search and not from_member:
            shape.xy = _long_lat(args, base + i + 1)
            from_loc = True
            i += 2
        elif arg == b"byradius" and more >= 2 and search and not by_box:
            shape.radius, shape.conversion = _radius(args, base + i + 1)
            shape.kind = CIRCLE
            by_radius = True
            i += 2
        elif arg == b"bybox" and more >= 3 and search and not by_radius:
            shape.width, shape.height, shape.conversion = _box(args, base + i + 1)
            shape.kind = BOX
            by_box = True
            i += 3
        else:
            raise CommandError(errors.SYNTAX)
        i += 1

    if store_key is not None and (with_dist or with_hash or with_coords):
        raise CommandError(errors.GEO_STORE_OPTIONS.format(
            "GEOSEARCHSTORE" if flags & _SEARCHSTORE else "STORE option in GEORADIUS"))
    name = args[0].split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")
    if flags & _SEARCH and not (from_member or from_loc):
        raise CommandError(errors.GEO_FROM.format(name))
    if flags & _SEARCH and not (by_radius or by_box):
        raise CommandError(errors.GEO_BY.format(name))
    if any_ and not count:
        raise CommandError(errors.GEO_ANY)

    if zset is None:
        if store_key is not None:
            if db.delete_stored(store_key):
                client.state.dirty += 1
                notify(db, "g", b"del", store_key)
            return 0
        return []
    if count and not sort and not any_:
        sort = _ASC
    points = _points_in(zset, shape, count if any_ else 0)
    if not points and store_key is None:
        return []
    total = len(points)
    returned = total if count == 0 or total < count else count
    if sort:
        if returned == total:
            points.sort(key=lambda p: p.dist, reverse=sort == _DESC)
        else:
            pqsort(points, _compare_asc if sort == _ASC else _compare_desc,
                    0, returned - 1)
    conversion = shape.conversion
    if store_key is None:
        out: List[Any] = []
        options = with_dist or with_hash or with_coords
        for point in points[:returned]:
            point.dist /= conversion
            if not options:
                out.append(point.member)
                continue
            item: List[Any] = [point.member]
            if with_dist:
                item.append(geohash.format_distance(point.dist))
            if with_hash:
                item.append(int(point.score))
            if with_coords:
                item.append([_coordinate(client, point.longitude),
                             _coordinate(client, point.latitude)])
            out.append(item)
        return out
    if not returned:
        if db.delete_stored(store_key):
            client.state.dirty += 1
            notify(db, "g", b"del", store_key)
        return 0
    scores = {}
    for point in points[:returned]:
        point.dist /= conversion
        scores[point.member] = point.dist if store_dist else point.score
    values = client.state.config.values
    db.set(store_key, ZSet.build(scores, (values["zset-max-listpack-entries"],
                                          values["zset-max-listpack-value"])))
    client.state.dirty += returned
    notify(db, "z", b"geosearchstore" if flags & _SEARCH else b"georadiusstore", store_key)
    return returned


def _store_keys(start: int) -> Callable[[List[bytes]], List[int]]:
    """The key specs of GEORADIUS/GEORADIUSBYMEMBER: the source, then the key after
    the first STORE, then the key after the first STOREDIST, searched from the
    options' position ``start``."""
    def keys(args: List[bytes]) -> List[int]:
        found = [1]
        for keyword in (b"store", b"storedist"):
            for i in range(start, len(args) - 1):
                if _word(args[i]) == keyword:
                    found.append(i + 1)
                    break
        return found
    return keys


@command("georadius", -6, "write denyoom", keys=(1, 1, 1), group="geo", since="3.2.0",
         summary="Query a sorted set representing a geospatial index to fetch members "
         "matching a given maximum distance from a point", key_finder=_store_keys(6))
def georadius(client, args: List[bytes]):
    return _search(client, args, 1, _COORDS)


@command("georadius_ro", -6, "readonly", keys=(1, 1, 1), group="geo", since="3.2.10",
         summary="A read-only variant for GEORADIUS")
def georadius_ro(client, args: List[bytes]):
    return _search(client, args, 1, _COORDS | _NOSTORE)


@command("georadiusbymember", -5, "write denyoom", keys=(1, 1, 1), group="geo",
         since="3.2.0", summary="Query a sorted set representing a geospatial index to "
         "fetch members matching a given maximum distance from a member",
         key_finder=_store_keys(5))
def georadiusbymember(client, args: List[bytes]):
    return _search(client, args, 1, _MEMBER)


@command("georadiusbymember_ro", -5, "readonly", keys=(1, 1, 1), group="geo",
         since="3.2.10", summary="A read-only variant for GEORADIUSBYMEMBER")
def georadiusbymember_ro(client, args: List[bytes]):
    return _search(client, args, 1, _MEMBER | _NOSTORE)


@command("geosearch", -7, "readonly", keys=(1, 1, 1), group="geo", since="6.2.0",
         summary="Query a sorted set representing a geospatial index to fetch members "
         "inside an area of a box or a circle.")
def geosearch(client, args: List[bytes]):
    return _search(client, args, 1, _SEARCH)


@command("geosearchstore", -8, "write denyoom", keys=(1, 2, 1), group="geo",
         since="6.2.0", summary="Query a sorted set representing a geospatial index to "
         "fetch members inside an area of a box or a circle, and store the result in "
         "another key.")
def geosearchstore(client, args: List[bytes]):
    return _search(client, args, 2, _SEARCH | _SEARCHSTORE)
