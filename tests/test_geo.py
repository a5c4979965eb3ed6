"""GEO commands: differential tests against redis-server (RESP2 and RESP3).

Scores, distances and coordinates are compared as the exact texts Redis prints; the
randomized tests search random points with every option and compare whole replies,
order included (ties too: Redis's sorts are reproduced).
"""
from __future__ import annotations

import random

import pytest

from miniredis.commands import load_all, lookup
from tests.harness import Unordered, command_metadata, configured

load_all()

GEO_COMMANDS = ["geoadd", "geodist", "geohash", "geopos", "georadius", "georadius_ro",
                "georadiusbymember", "georadiusbymember_ro", "geosearch",
                "geosearchstore"]

SICILY = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"


@pytest.mark.parametrize("name", GEO_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_every_command_is_registered():
    for name in GEO_COMMANDS:
        cmd = lookup(name.encode())
        assert cmd is not None and cmd.group == "geo", name


def test_getkeys(differ):
    differ.check(
        "COMMAND GETKEYS GEOADD k 1 2 m", "COMMAND GETKEYS GEORADIUS k 1 2 3 km",
        "COMMAND GETKEYS GEORADIUS k 1 2 3 km STORE d",
        "COMMAND GETKEYS GEORADIUS k 1 2 3 km STOREDIST d",
        "COMMAND GETKEYS GEORADIUS k 1 2 3 km STORE d STOREDIST e",
        "COMMAND GETKEYS GEORADIUS k 1 2 3 km STOREDIST e store d STORE f",
        "COMMAND GETKEYS GEORADIUSBYMEMBER k m 3 km STOREDIST e WITHDIST",
        "COMMAND GETKEYS GEORADIUSBYMEMBER k m 3 km STORE d",
        "COMMAND GETKEYS GEOSEARCHSTORE d s FROMMEMBER m BYRADIUS 1 km",
        "COMMAND GETKEYS GEOSEARCH s FROMMEMBER m BYRADIUS 1 km")


# -- GEOADD ------------------------------------------------------------------------------
def test_geoadd(differ):
    differ.check(
        SICILY, "ZRANGE Sicily 0 -1 WITHSCORES", "GEOADD Sicily 13.361389 38.115556 Palermo",
        "GEOADD Sicily CH 13.5 38.1 Palermo 1 1 new", "GEOADD Sicily NX 0 0 Palermo 2 2 n2",
        "GEOADD Sicily XX 0 0 Palermo 3 3 n3", "GEOADD Sicily XX CH 5 5 Palermo",
        "GEOADD Sicily NX XX 1 1 a", "GEOADD Sicily xx nx 1 1 a", "GEOADD Sicily 1 1",
        "GEOADD Sicily 1 1 a 2", "GEOADD Sicily CH CH CH", "GEOADD Sicily GT 1 1 a",
        "GEOADD Sicily 200 10 a", "GEOADD Sicily 10 86 a", "GEOADD Sicily 10 -85.06 a",
        "GEOADD Sicily -180 -85.05112878 sw 180 85.05112878 ne 0 0 zero",
        "GEOADD Sicily abc 1 a", "GEOADD Sicily 1 abc a", "GEOADD Sicily inf 1 a",
        "GEOADD Sicily 1e400 1 a", "GEOADD Sicily ' 1' 1 a", "GEOADD Sicily 0x10 1 hex",
        "GEOADD Sicily 1 1 ok 200 200 bad", "ZRANGE Sicily 0 -1 WITHSCORES",
        "GEOADD Sicily -0 -0 negzero", "ZSCORE Sicily negzero", "OBJECT ENCODING Sicily",
        "SET str x", "GEOADD str 1 1 a", "TYPE Sicily")


def test_geoadd_skiplist_and_listpack(differ):
    with configured(differ, ["zset-max-listpack-entries", "4"],
                    ["zset-max-listpack-entries", "128"]):
        differ.check(
            "GEOADD g 1 1 a 2 2 b 3 3 c 4 4 d 5 5 e", "OBJECT ENCODING g",
            "GEORADIUS g 3 3 500 km WITHDIST", "GEOSEARCHSTORE d g FROMLONLAT 3 3 "
            "BYRADIUS 500 km", "OBJECT ENCODING d", "GEOSEARCHSTORE d2 g FROMLONLAT 3 3 "
            "BYRADIUS 300 km", "OBJECT ENCODING d2")


# -- GEODIST / GEOHASH / GEOPOS -------------------------------------------------------------
def test_geodist(differ):
    differ.check(
        SICILY, "GEODIST Sicily Palermo Catania", "GEODIST Sicily Palermo Catania km",
        "GEODIST Sicily Palermo Catania KM", "GEODIST Sicily Palermo Catania mi",
        "GEODIST Sicily Palermo Catania ft", "GEODIST Sicily Palermo Catania m",
        "GEODIST Sicily Palermo Catania yards", "GEODIST Sicily Palermo Catania km x",
        "GEODIST Sicily Palermo nosuch", "GEODIST nosuch a b", "GEODIST nosuch a b yards",
        "GEODIST Sicily Palermo Palermo", "SET s x", "GEODIST s a b",
        "GEOADD w 0 0 a 180 0 b -180 0 c 0.0000001 0 d 179.9999 85 e -179.9999 -85 f",
        "GEODIST w a b", "GEODIST w b c", "GEODIST w a d", "GEODIST w e f",
        "GEODIST w a f mi", ["GEODIST", "w", "a", "b", "km\x00x"])


def test_geohash_and_geopos(differ):
    differ.check(
        SICILY, "GEOHASH Sicily Palermo Catania nosuch", "GEOHASH nosuch a b",
        "GEOPOS Sicily Palermo Catania nosuch", "GEOPOS nosuch a", "GEOHASH Sicily",
        "GEOPOS Sicily",
        "GEOADD w -180 -85.05112878 sw 180 85.05112878 ne 0 0 zero 0.5 -0.5 q",
        "GEOHASH w sw ne zero q", "GEOPOS w sw ne zero q",
        "ZADD z -1 neg 0 zero 1 one 4503599627370495 top 4503599627370496 over "
        "1e30 huge 1.5 frac inf pinf -inf ninf 9.3e18 big",
        "GEOPOS z neg zero one top over huge frac pinf ninf big",
        "GEOHASH z neg zero one top over huge frac pinf ninf big",
        "GEODIST z neg huge", "LPUSH l a", "GEOHASH l a", "GEOPOS l a")


# -- searches ----------------------------------------------------------------------------------
def test_georadius_options(differ):
    differ.check(
        SICILY, "GEOADD Sicily 13.583333 37.316667 Agrigento",
        "GEORADIUS Sicily 15 37 200 km", "GEORADIUS Sicily 15 37 200 km ASC",
        "GEORADIUS Sicily 15 37 200 km DESC", "GEORADIUS Sicily 15 37 200 km WITHDIST",
        "GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH ASC",
        "GEORADIUS Sicily 15 37 200 km COUNT 1", "GEORADIUS Sicily 15 37 200 km COUNT 2 DESC",
        "GEORADIUS Sicily 15 37 200 km COUNT 1 ANY", "GEORADIUS Sicily 15 37 200 km ANY",
        "GEORADIUS Sicily 15 37 200 km COUNT 0", "GEORADIUS Sicily 15 37 200 km COUNT -1",
        "GEORADIUS Sicily 15 37 200 km COUNT x", "GEORADIUS Sicily 15 37 200 km COUNT",
        "GEORADIUS Sicily 15 37 200 km BOGUS", "GEORADIUS Sicily 15 37 -1 km",
        "GEORADIUS Sicily 15 37 x km", "GEORADIUS Sicily 15 37 200 parsecs",
        "GEORADIUS Sicily 200 37 200 km", "GEORADIUS Sicily x 37 200 km",
        "GEORADIUS Sicily 15 37 0 km", "GEORADIUS Sicily 15 37 200000 m",
        "GEORADIUS Sicily 15 37 124 mi WITHDIST", "GEORADIUS Sicily 15 37 656168 ft WITHDIST",
        "GEORADIUS nosuch 15 37 200 km", "GEORADIUS nosuch 15 37 200 km STORE d",
        "GEORADIUS Sicily 15 37 200 km STORE d", "ZRANGE d 0 -1 WITHSCORES",
        "GEORADIUS Sicily 15 37 200 km STOREDIST d COUNT 2", "ZRANGE d 0 -1 WITHSCORES",
        "GEORADIUS Sicily 15 37 200 km STORE d WITHDIST",
        "GEORADIUS Sicily 15 37 200 km STORE d STOREDIST e", "EXISTS d e",
        "GEORADIUS Sicily 15 37 1 km STORE e", "EXISTS e",
        "GEORADIUS nosuch 15 37 200 km STORE d", "EXISTS d",
        "GEORADIUS Sicily 15 37 200 km STORE", "GEORADIUS_RO Sicily 15 37 200 km STORE d",
        "GEORADIUS_RO Sicily 15 37 200 km WITHDIST DESC",
        "SET s x", "GEORADIUS s 15 37 200 km", "GEORADIUS Sicily 15 37 200 km STORE s",
        "TYPE s", "GEORADIUS s 500 37 200 km")


def test_georadiusbymember(differ):
    differ.check(
        SICILY, "GEOADD Sicily 13.583333 37.316667 Agrigento",
        "GEORADIUSBYMEMBER Sicily Agrigento 100 km",
        "GEORADIUSBYMEMBER Sicily Agrigento 200 km WITHDIST WITHCOORD DESC",
        "GEORADIUSBYMEMBER Sicily nosuch 100 km", "GEORADIUSBYMEMBER nosuch m 100 km",
        "GEORADIUSBYMEMBER nosuch m 100 km STORE d",
        "GEORADIUSBYMEMBER nosuch m 100 km WITHDIST STORE d",
        "GEORADIUSBYMEMBER nosuch m x km", "GEORADIUSBYMEMBER Sicily nosuch x km",
        "GEORADIUSBYMEMBER Sicily Palermo x km", "GEORADIUSBYMEMBER Sicily Palermo 1 lightyear",
        "GEORADIUSBYMEMBER Sicily Palermo 300 km STORE d COUNT 2 DESC",
        "ZRANGE d 0 -1 WITHSCORES",
        "GEORADIUSBYMEMBER_RO Sicily Palermo 300 km COUNT 2 DESC WITHHASH",
        "GEORADIUSBYMEMBER_RO Sicily Palermo 300 km STOREDIST d")


def test_geosearch_options_and_errors(differ):
    differ.check(
        SICILY, "GEOADD Sicily 13.583333 37.316667 Agrigento",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km DESC WITHDIST",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km WITHCOORD WITHHASH COUNT 2",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 ANY",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 ANY DESC",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ANY",
        "GEOSEARCH Sicily BYRADIUS 200 km ASC", "GEOSEARCH Sicily FROMLONLAT 15 37 ASC",
        "geosearch Sicily BYRADIUS 200 km ASC", "GeoSearch Sicily FROMLONLAT 15 37 ASC",
        "GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 km BYBOX 1 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1 1 km BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX -1 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1 -1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX x 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1 x km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX x x km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1 1 inches",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 1 1",
        "GEOSEARCH Sicily FROMMEMBER nosuch BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 500 1 BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 km STORE d",
        "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 km STOREDIST",
        "GEOSEARCH nosuch FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCH nosuch FROMMEMBER Palermo BYRADIUS 1 km WITHDIST",
        "GEOSEARCH nosuch FROMLONLAT 1 1 BYRADIUS 1 km",
        "GEOSEARCH nosuch FROMMEMBER m", "GEOSEARCH nosuch BYRADIUS 1 km",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST ANY COUNT 1",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 5 COUNT 1",
        "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC DESC",
        ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200",
         "km\x00junk", "asc\x00x"])


def test_geosearchstore(differ):
    differ.check(
        SICILY, "GEOADD Sicily 13.583333 37.316667 Agrigento",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km",
        "ZRANGE d 0 -1 WITHSCORES", "TTL d",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST COUNT 2 DESC",
        "ZRANGE d 0 -1 WITHSCORES",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY STOREDIST",
        "ZRANGE d 0 -1 WITHSCORES", "SET d x EX 100",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km", "TTL d",
        "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 1 m", "EXISTS d",
        "GEOSEARCHSTORE d nosuch FROMLONLAT 15 37 BYRADIUS 1 m",
        "GEOSEARCHSTORE Sicily Sicily FROMLONLAT 15 37 BYRADIUS 100 km",
        "ZRANGE Sicily 0 -1", "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37",
        "GEOSEARCHSTORE d Sicily BYRADIUS 1 km", "SET src x",
        "GEOSEARCHSTORE d src FROMLONLAT 15 37 BYRADIUS 1 km")


def test_same_position_ties_keep_redis_order(differ):
    """Members at one point tie on distance: the order of a full sort and of a
    partial one (COUNT) is Redis's, for listpack and skiplist sets."""
    members = []
    for i in range(60):
        members += ["2.3", "48.8", "m%02d" % i] if i % 3 else ["2.31", "48.81", "m%02d" % i]
    for extra in ([], ["zset-max-listpack-entries", "4"]):
        commands = [["GEOADD", "p", *members]]
        for count in (1, 3, 7, 8, 20, 41, 50, 59, 60):
            commands += ["GEOSEARCH p FROMLONLAT 2.3 48.8 BYRADIUS 50 km ASC COUNT %d" % count,
                         "GEOSEARCH p FROMLONLAT 2.3 48.8 BYRADIUS 50 km DESC COUNT %d" % count,
                         "GEORADIUS p 2.3 48.8 50 km COUNT %d ANY" % count]
        commands += ["GEOSEARCH p FROMLONLAT 2.3 48.8 BYRADIUS 50 km ASC",
                     "GEOSEARCH p FROMLONLAT 2.3 48.8 BYRADIUS 50 km DESC",
                     "GEOSEARCH p FROMLONLAT 2.3 48.8 BYRADIUS 50 km"]
        if extra:
            with configured(differ, extra, ["zset-max-listpack-entries", "128"]):
                differ.check(*commands, protocols=(2,))
        else:
            differ.check(*commands, protocols=(2,))


def _random_point(rng: random.Random, centre=None, spread=5.0):
    if centre is None:
        return rng.uniform(-180, 180), rng.uniform(-85.05, 85.05)
    lon = max(-180.0, min(180.0, centre[0] + rng.uniform(-spread, spread)))
    lat = max(-85.05, min(85.05, centre[1] + rng.uniform(-spread, spread)))
    return lon, lat


@pytest.mark.parametrize("seed", range(12))
def test_random_searches(differ, seed):
    rng = random.Random(seed)
    centre = _random_point(rng)
    if seed % 4 == 0:
        centre = (rng.uniform(-180, 180), rng.choice([84.0, -84.0, 70.0, -70.0]))
    if seed % 4 == 1:
        centre = (rng.choice([179.9, -179.9]), rng.uniform(-60, 60))
    spread = rng.choice([0.01, 0.5, 5.0, 40.0])
    members = []
    for i in range(rng.choice([10, 80, 200])):
        lon, lat = _random_point(rng, centre, spread)
        members += ["%.6f" % lon, "%.6f" % lat, "p%d" % i]
    commands = [["GEOADD", "g", *members]]
    units = ["m", "km", "mi", "ft"]
    for _ in range(12):
        unit = rng.choice(units)
        scale = {"m": 1000.0, "km": 1.0, "mi": 0.62, "ft": 3280.0}[unit]
        radius = "%.3f" % (rng.choice([1, 10, 100, 500, 3000, 9000]) * scale)
        lon, lat = _random_point(rng, centre, spread)
        opts = rng.sample(["WITHDIST", "WITHCOORD", "WITHHASH"], rng.randrange(4))
        sort = rng.choice([[], ["ASC"], ["DESC"]])
        count = rng.choice([[], ["COUNT", str(rng.randrange(1, 30))]])
        if count and rng.random() < 0.3:
            count = count + ["ANY"]
        member = "p%d" % rng.randrange(len(members) // 3)
        by = rng.choice([["BYRADIUS", radius, unit],
                         ["BYBOX", radius, "%.3f" % (float(radius) * rng.uniform(0.2, 3)),
                          unit]])
        commands += [
            ["GEOSEARCH", "g", "FROMLONLAT", "%.6f" % lon, "%.6f" % lat, *by, *opts,
             *sort, *count],
            ["GEOSEARCH", "g", "FROMMEMBER", member, *by, *opts, *sort, *count],
            ["GEORADIUS", "g", "%.6f" % lon, "%.6f" % lat, radius, unit, *opts, *sort,
             *count],
            ["GEORADIUSBYMEMBER_RO", "g", member, radius, unit, *opts, *sort, *count],
            ["GEOSEARCHSTORE", "d", "g", "FROMMEMBER", member, *by, *sort, *count,
             *rng.choice([[], ["STOREDIST"]])],
            "ZRANGE d 0 -1 WITHSCORES",
            ["GEODIST", "g", member, "p0", unit],
        ]
    commands += [Unordered("GEOPOS g " + " ".join("p%d" % i for i in range(20))),
                 "GEOHASH g " + " ".join("p%d" % i for i in range(20))]
    differ.check(*commands)


def test_keyspace_hits_and_misses(differ):
    from tests.harness import assert_same_hits_and_misses
    assert_same_hits_and_misses(differ, [SICILY], [
        "GEOPOS Sicily Palermo", "GEOPOS nosuch a", "GEOHASH Sicily a", "GEODIST x a b",
        "GEODIST Sicily Palermo Catania", "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 1 km",
        "GEOSEARCHSTORE d Sicily FROMMEMBER Palermo BYRADIUS 1 km",
        "GEORADIUS Sicily 15 37 10 km", "GEOADD Sicily 1 1 x"])


def test_notifications(differ):
    from tests.harness import compare_scenario, connect
    from tests.harness import parse_raw

    def scenario(port, protocol, admin):
        admin.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        listener = connect(port, protocol)
        try:
            listener.call("PSUBSCRIBE", "__key*@9__:*")
            admin.call(*SICILY.split())
            admin.call("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo")
            admin.call("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d")
            admin.call("GEOSEARCHSTORE", "e", "Sicily", "FROMLONLAT", "15", "37",
                       "BYRADIUS", "200", "km")
            admin.call("GEOSEARCHSTORE", "e", "Sicily", "FROMLONLAT", "15", "37",
                       "BYRADIUS", "1", "m")
            admin.call("GEORADIUS", "nosuch", "15", "37", "200", "km", "STORE", "d")
            admin.call("SET", "done", "1")
            seen = []
            while True:
                message = parse_raw(listener.read_raw())
                seen.append(message)
                if b"done" in repr(message).encode():
                    break
            return seen[:-1]
        finally:
            admin.call("CONFIG", "SET", "notify-keyspace-events", "")
            listener.close()
    compare_scenario(differ, scenario)


def test_from_scripts_and_transactions(differ):
    """Coordinates reach Lua as doubles in RESP3 and as strings in RESP2; queued in
    MULTI they are encoded as the command runs."""
    differ.check(
        SICILY,
        "EVAL \"return redis.call('geopos', KEYS[1], 'Palermo', 'x')\" 1 Sicily",
        "EVAL \"redis.setresp(3); return redis.call('geopos', KEYS[1], 'Palermo', 'x')\" "
        "1 Sicily",
        "EVAL \"redis.setresp(3); return redis.call('geosearch', KEYS[1], 'FROMLONLAT', "
        "15, 37, 'BYRADIUS', 200, 'km', 'WITHCOORD', 'WITHDIST', 'ASC')\" 1 Sicily",
        "EVAL \"return redis.call('geodist', KEYS[1], 'Palermo', 'Catania')\" 1 Sicily",
        "EVAL_RO \"return redis.call('georadius', KEYS[1], 15, 37, 200, 'km')\" 1 Sicily",
        "EVAL_RO \"return redis.call('georadius_ro', KEYS[1], 15, 37, 200, 'km')\" 1 Sicily",
        "MULTI", "GEOPOS Sicily Palermo", "GEOADD Sicily 1 1 x", "GEOHASH Sicily x",
        "EXEC")
