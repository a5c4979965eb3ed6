"""Compact (listpack) values: the conversion boundaries at Redis's default limits, at
runtime-changed limits, and across DEBUG RELOAD and DUMP/RESTORE, compared with a real
redis-server; plus the in-process form of a listpack value (one packed blob).

No timing or memory figures are asserted here: benchmarks/memory.py measures those.
"""
from __future__ import annotations

import pytest

from miniredis.datatypes import packedzset
from miniredis.datatypes.packedhash import PackedHash, blob_length
from tests.harness import Unordered, configured


def _fields(count: int, start: int = 0) -> str:
    return " ".join("f%d v%d" % (i, i) for i in range(start, start + count))


# -- the packed blobs ---------------------------------------------------------------------
@pytest.mark.parametrize("items", [
    [], [b""], [b"a", b"", b"\x00\xff" * 3], [b"x" * 255, b"y" * 256, b"z" * 70000],
    [bytes([i % 256]) * i for i in range(300)],
])
def test_packed_zset_members_round_trip(items):
    """Members of any bytes (empty, the reserved bytes, long), any count (the header
    holds a count from 255 in five bytes) come back as they went in."""
    members = sorted(set(items))
    blob = packedzset.encode([0.0] * len(members), members)
    assert blob.__class__ is bytes and packedzset.count(blob) == len(members)
    assert packedzset.columns(blob) == ([0.0] * len(members), members)
    assert packedzset.flat(blob) == [x for member in members for x in (member, 0)]
    for index, member in enumerate(members):
        assert packedzset.rank(blob, member) == index
        assert packedzset.score_of(blob, member) == 0.0
    assert packedzset.score_of(blob, b"absent") is None


def test_packed_zset_layout():
    """The documented blob: the column's type, the count, the scores (narrowest
    type), then the members between separators, reserved bytes escaped."""
    assert packedzset.encode([], []) == b"\x00\x00\x00"
    assert packedzset.encode([1.0, 2.0], [b"a", b"\x00"]) == \
        b"\x00\x02\x01\x02\x00a\x00\x02\x03\x00"
    assert packedzset.encode([-0.0, 300.0], [b"", b"\x02"]) == \
        b"\x01\x02\x00\x00\x2c\x01\x00\x00\x02\x05\x00"
    assert packedzset.encode([0.5], [b"m"])[:2] == b"\x04\x01"
    big = packedzset.encode([0.0] * 300, [b"%03d" % i for i in range(300)])
    assert big[:6] == b"\x00\xff" + (300).to_bytes(4, "little")


# A score just inside and just outside every column type: (score, code).
_SCORE_CODES = [
    (0.0, 0), (-0.0, 0), (127.0, 0), (128.0, 1), (-128.0, 0), (-129.0, 1),
    (32767.0, 1), (32768.0, 2), (-32768.0, 1), (-32769.0, 2),
    (2.0 ** 31 - 1, 2), (2.0 ** 31, 3), (-2.0 ** 31, 2), (-2.0 ** 31 - 1, 3),
    (2.0 ** 53 - 1, 3), (2.0 ** 53, 4), (-2.0 ** 53 + 1, 3), (-2.0 ** 53, 4),
    (2.0 ** 53 + 2, 4), (0.5, 4), (-1e-300, 4), (1e300, 4), (float("inf"), 4),
    (float("-inf"), 4)]


@pytest.mark.parametrize("score,code", _SCORE_CODES)
def test_packed_zset_score_types_round_trip(score, code):
    """Each column type's boundaries: the narrowest type is chosen, the score reads
    back exactly (as a float; ints when integral within 2**53 for DUMP), and a set
    widens to take it and narrows back once it is removed (the blob is canonical)."""
    blob = packedzset.encode([score], [b"m"])
    assert blob[0] == code
    stored = 0.0 if score == 0 else score        # (-0 is stored as 0, as a listpack)
    assert packedzset.columns(blob) == ([stored], [b"m"])
    assert str(packedzset.score_of(blob, b"m")) == str(stored)
    compact = int(stored) if code < 4 else stored
    assert packedzset.flat(blob) == [b"m", compact]
    assert type(packedzset.flat(blob)[1]) is type(compact)
    small = packedzset.encode([1.0, 2.0], [b"a", b"b"])
    wide = packedzset.put(small, b"m", score, False)
    assert wide[0] == max(code, 0)
    assert wide == packedzset.encode(*_sorted_columns({b"a": 1.0, b"b": 2.0, b"m": stored}))
    assert packedzset.remove(wide, b"m") == small
    assert packedzset.put(wide, b"m", 1.5, True)[0] == 4
    assert packedzset.put(packedzset.put(wide, b"m", 1.5, True), b"m", 3.0, True) == \
        packedzset.encode([1.0, 2.0, 3.0], [b"a", b"b", b"m"])


def _sorted_columns(model):
    """(scores, members) of a dict member -> score, in Redis's order."""
    entries = sorted((score, member) for member, score in model.items())
    return [score for score, _ in entries], [member for _, member in entries]


# Fields and values that try to confuse the blob's layout: its three reserved bytes
# alone and in escape-like pairs, a field's whole encoding as a value, digits like the
# count that closes the blob, and the empty string.
_HOSTILE = [b"", b"a", b"b", b"1", b"12", b"\x00", b"\x01", b"\x02", b"\x02\x03",
            b"\x02\x04", b"\x02\x05", b"\x02\x02", b"\x00a\x01", b"a\x01", b"\x00a",
            b"\x01\x00", b"\x00\x01b\x00", b"\x03", b"\xff\x00\x02"]


def test_packed_hash_layout():
    """The documented blob: separators around each field, the count last; the three
    reserved bytes escaped inside fields and values."""
    assert bytes(PackedHash()) == b"\x000" and not PackedHash() and len(PackedHash()) == 0
    assert bytes(PackedHash([(b"f", b"v"), (b"g", b"")])) == b"\x00f\x01v\x00g\x01\x002"
    assert bytes(PackedHash([(b"\x00\x01", b"\x02")])) == \
        b"\x00\x02\x03\x02\x04\x01\x02\x05\x001"
    assert bytes(PackedHash().put(b"\x02", b"\x00")[0]) == b"\x00\x02\x05\x01\x02\x03\x001"


def test_packed_hash_matches_a_dict_under_random_writes():
    """Every operation the commands use, on hostile fields and values, against a dict
    doing the same; each write makes a new hash, and every older one still reads as
    it did (they are immutable: the keyspace and snapshots share them)."""
    import random
    rng = random.Random(7)
    versions = [(PackedHash(), {})]
    for step in range(4000):
        packed, plain = versions[-1] if rng.random() < 0.7 else rng.choice(versions)
        plain = dict(plain)
        op = rng.random()
        if op < 0.45:
            field, value = rng.choice(_HOSTILE), rng.choice(_HOSTILE)
            new, added = packed.put(field, value)
            assert added == (field not in plain)
            assert (new is packed) == (plain.get(field) == value)
            plain[field] = value
        elif op < 0.7:
            pairs = [rng.choice(_HOSTILE) for _ in range(2 * rng.choice((1, 2, 4, 5, 9)))]
            new, added = packed.updated(pairs)
            before = len(plain)
            for i in range(0, len(pairs), 2):
                plain[pairs[i]] = pairs[i + 1]
            assert added == len(plain) - before
        else:
            fields = [rng.choice(_HOSTILE) for _ in range(rng.choice((1, 2, 3)))]
            new, deleted = packed.without(fields)
            count = 0
            for field in fields:
                if not plain:
                    break
                if field in plain:
                    del plain[field]
                    count += 1
            assert deleted == count and (new is packed) == (not count)
        assert new.__class__ is PackedHash
        versions.append((new, plain))
        for hash_, model in ((new, plain), rng.choice(versions)):
            assert hash_.items() == list(model.items())
            assert len(hash_) == len(model) and bool(hash_) == bool(model)
            assert hash_.keys() == list(model) and list(hash_) == list(model)
            assert hash_.values() == list(model.values())
            assert hash_.flat() == [x for pair in model.items() for x in pair]
            asked = rng.sample(_HOSTILE, 3)
            assert hash_.get_many(asked) == [model.get(field) for field in asked]
            for field in asked:
                assert hash_.get(field, b"-") == model.get(field, b"-")
                assert (field in hash_) == (field in model)
            # (HSET's short cut: a blob of at most 2n + 2 bytes has at most n fields)
            assert 2 * len(model) + 2 <= blob_length(hash_)
    assert max(len(plain) for _, plain in versions) == len(_HOSTILE)


def test_packed_hash_behaves_as_an_ordered_dict():
    """Every dict operation the commands use, against a dict doing the same."""
    packed, plain = PackedHash([(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]), {}
    plain.update([(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    assert packed.items() == list(plain.items())
    before = packed
    packed, added = packed.updated([b"c", b"4", b"a", b"5", b"1", b"a"])
    assert added == 2 and before.items() == [(b"a", b"3"), (b"b", b"2")]   # immutable
    plain.update({b"c": b"4", b"a": b"5", b"1": b"a"})
    packed, deleted = packed.without([b"b", b"zz", b"b"])
    assert deleted == 1
    del plain[b"b"]
    packed, added = packed.updated([b"b", b"6"] + [b"a", b"5"] * 5)   # indexed path
    plain[b"b"] = b"6"
    assert added == 1 and packed.items() == list(plain.items())
    assert packed.keys() == list(plain) and packed.values() == list(plain.values())
    assert len(packed) == 4 and bool(packed) and b"a" in packed and b"5" not in packed
    assert packed.get(b"1") == b"a" and packed.get(b"a") == b"5" and packed.get(b"v") is None
    assert packed.get(b"c") == b"4" and list(packed) == list(plain)
    emptied, deleted = packed.without([b"a", b"c", b"1", b"b", b"a"])
    assert deleted == 4 and not emptied and len(emptied) == 0
    assert packed.without([b"zz"]) == (packed, 0) and packed.copy() is packed


# -- hashes -------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [127, 128, 129])
def test_hash_entries_boundary(differ, count):
    differ.check("HSET h " + _fields(count), "OBJECT ENCODING h", "HLEN h", "HGET h f0",
                 "HGETALL h" if count <= 128 else Unordered("HGETALL h"),
                 "HSCAN h 0" if count <= 128 else "HLEN h",
                 "HSET h f0 new", "HSET h extra 1", "OBJECT ENCODING h", "HDEL h extra",
                 "OBJECT ENCODING h", "HGET h f0")


def test_hash_entries_boundary_one_by_one(differ):
    commands = ["HSET h f%d v" % i for i in range(128)]
    differ.check(*commands, "OBJECT ENCODING h", "HSETNX h f0 x", "HINCRBY h f127 1",
                 "OBJECT ENCODING h", "HINCRBY h f128 1", "OBJECT ENCODING h",
                 "HGET h f128")


@pytest.mark.parametrize("length", [64, 65])
def test_hash_value_length_boundary(differ, length):
    long = "x" * length
    differ.check("HSET a f %s" % long, "OBJECT ENCODING a", "HGET a f",
                 "HSET b %s v" % long, "OBJECT ENCODING b", "HGETALL b",
                 "HSET c f v g w", "HSETNX c f %s" % long, "OBJECT ENCODING c",
                 "HSETNX c n %s" % long, "OBJECT ENCODING c", "HGETALL c" if length == 64
                 else Unordered("HGETALL c"), "HSET d f 1", "HINCRBYFLOAT d f 0.1",
                 "HINCRBY d %s 1" % long, "OBJECT ENCODING d")


def test_hash_limits_changed_at_runtime(differ):
    with configured(differ, ["hash-max-listpack-entries", "3", "hash-max-listpack-value", "5"],
                    ["hash-max-listpack-entries", "512", "hash-max-listpack-value", "64"]):
        differ.check("HSET h a 1 b 2 c 3", "OBJECT ENCODING h", "HSET h d 4",
                     "OBJECT ENCODING h", "HSET s a 1", "HSET s b 123456",
                     "OBJECT ENCODING s", "HSET big a 1 b 2", "CONFIG SET "
                     "hash-max-listpack-entries 1", "OBJECT ENCODING big", "HGET big b",
                     "HSET big b 3", "OBJECT ENCODING big", Unordered("HGETALL big"))


def test_hash_encodings_survive_reload_and_restore(differ):
    small = _fields(5)
    differ.check("HSET small " + small, "HSET large " + _fields(200),
                 "HSET long f " + "y" * 100, "HSET shrunk " + _fields(129),
                 "HDEL shrunk " + " ".join("f%d" % i for i in range(1, 129)),
                 "OBJECT ENCODING shrunk", "DUMP small", "DUMP long", "DUMP shrunk",
                 "DEBUG RELOAD", "OBJECT ENCODING small", "OBJECT ENCODING large",
                 "OBJECT ENCODING long", "OBJECT ENCODING shrunk", "HGETALL small",
                 "HGETALL shrunk", "HLEN large", "HGET large f150", "HSET small z 1",
                 "HGETALL small")


def test_listpack_hash_with_reserved_bytes_as_redis(differ):
    """Fields and values holding the bytes PackedHash's layout reserves, escape-like
    pairs of them, and one field's whole packed form as another's value: read,
    written, scanned, dumped and reloaded as in Redis."""
    hostile = [b"\x00", b"\x01", b"\x02", b"\x02\x03", b"\x02\x05", b"\x00a\x01", b"a",
               b"a\x01", b"", b"12", b"\x00\x01\x02"]
    pairs = [w for i, field in enumerate(hostile)
             for w in (field, hostile[(i + 3) % len(hostile)])]
    commands: list = [["HSET", "h", *pairs], "HLEN h", "HGETALL h", "HKEYS h", "HVALS h",
                      "HSCAN h 0", "HRANDFIELD h 100 WITHVALUES", "OBJECT ENCODING h"]
    for field in hostile + [b"\x02\x04", b"\x01\x00", b"\x00a"]:
        commands += [["HGET", "h", field], ["HEXISTS", "h", field], ["HSTRLEN", "h", field]]
    commands += [["HMGET", "h", *hostile, b"\x02\x04"], ["HSET", "h", b"\x02\x03", b"\x00"],
                 ["HSET", "h", b"\x00", b"\x02\x03"], ["HSETNX", "h", b"\x02\x04", b"\x01"],
                 ["HSET", "h", b"a", b"\x00a\x01"], "HGETALL h",
                 ["HDEL", "h", b"\x02\x05", b"\x00a\x01", b"zz"], "HGETALL h",
                 ["HINCRBY", "h", b"\x01\x00", "5"], ["HINCRBYFLOAT", "h", b"12", "1.5"],
                 ["HINCRBY", "h", b"\x00\x01\x02", "1"], "DUMP h", "DEBUG RELOAD", "HGETALL h",
                 "OBJECT ENCODING h", ["HDEL", "h", *hostile, b"\x02\x04", b"\x01\x00"],
                 "EXISTS h"]
    differ.check(*commands)


def test_hash_restore_of_both_encodings(differ):
    """A DUMP payload from Redis, restored into both servers, keeps its encoding rules."""
    from tests.harness import RawConnection, parse_raw
    conn = RawConnection(differ.ports["redis"])
    try:
        conn.call("FLUSHALL")
        conn.call("HSET", "a", *("f%d v" % i for i in range(3)))
        conn.call("HSET", "b", *[x for i in range(300) for x in ("f%d" % i, "v")])
        payloads = [parse_raw(conn.call("DUMP", key)) for key in ("a", "b")]
    finally:
        conn.close()
    differ.check(["RESTORE", "a", "0", payloads[0]], ["RESTORE", "b", "0", payloads[1]],
                 "OBJECT ENCODING a", "OBJECT ENCODING b", "HGETALL a", "HLEN b",
                 "DUMP a", "HSET a f9 v", "HGETALL a", "HLEN a")


def test_listpack_hash_is_one_packed_value(mini):
    """In-process form: a listpack hash is a PackedHash, a converted one a dict."""
    from tests.harness import RawConnection
    conn = RawConnection(mini.port)
    try:
        # (Redis 7.0's own default is 512; other tests may have left another value)
        conn.call("CONFIG", "SET", "hash-max-listpack-entries", "128")
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        conn.call("HSET", "small", "a", "1", "b", "2")
        conn.call("HSET", "large", *[x for i in range(129) for x in ("f%d" % i, "v")])
        db = mini.state.dbs[9]
        assert db.data[b"small"].__class__ is PackedHash
        assert isinstance(db.data[b"large"], dict)
        conn.call("DEBUG", "RELOAD")
        db = mini.state.dbs[9]
        assert db.data[b"small"].__class__ is PackedHash
        assert isinstance(db.data[b"large"], dict)
    finally:
        conn.call("CONFIG", "SET", "hash-max-listpack-entries", "512")
        conn.close()


# -- sorted sets --------------------------------------------------------------------------
def _members(count: int, start: int = 0) -> str:
    return " ".join("%d m%d" % (i % 7, i) for i in range(start, start + count))


@pytest.mark.parametrize("count", [127, 128, 129])
def test_zset_entries_boundary(differ, count):
    differ.check("ZADD z " + _members(count), "OBJECT ENCODING z", "ZCARD z",
                 "ZRANGE z 0 -1 WITHSCORES", "ZSCORE z m5", "ZRANK z m5",
                 "ZSCAN z 0" if count <= 128 else "ZCARD z", "ZADD z 1.5 extra",
                 "OBJECT ENCODING z", "ZREM z extra", "OBJECT ENCODING z",
                 "ZRANGEBYSCORE z 2 3 LIMIT 1 5", "ZRANGEBYLEX z - + LIMIT 0 3")


@pytest.mark.parametrize("length", [64, 65])
def test_zset_member_length_boundary(differ, length):
    long = "x" * length
    differ.check("ZADD a 1 %s" % long, "OBJECT ENCODING a", "ZSCORE a %s" % long,
                 "ZADD b 1 a 2 b", "ZINCRBY b 1 %s" % long, "OBJECT ENCODING b",
                 "ZRANGE b 0 -1 WITHSCORES", "ZADD c 1 a", "GEOADD c 1 1 %s" % long,
                 "OBJECT ENCODING c", "ZADD d -0 a 3.25 b inf c", "ZSCAN d 0",
                 "ZRANGE d 0 -1 WITHSCORES")


def test_zset_limits_changed_at_runtime(differ):
    with configured(differ, ["zset-max-listpack-entries", "3", "zset-max-listpack-value", "5"],
                    ["zset-max-listpack-entries", "128", "zset-max-listpack-value", "64"]):
        differ.check("ZADD z 1 a 2 b 3 c", "OBJECT ENCODING z", "ZADD z 4 d",
                     "OBJECT ENCODING z", "ZADD s 1 a", "ZADD s 2 123456",
                     "OBJECT ENCODING s", "ZADD big 1 a 2 b", "CONFIG SET "
                     "zset-max-listpack-entries 1", "OBJECT ENCODING big", "ZSCORE big b",
                     "ZADD big 3 b", "OBJECT ENCODING big", "ZADD big 4 c",
                     "OBJECT ENCODING big", "ZRANGE big 0 -1 WITHSCORES",
                     "ZUNIONSTORE u 1 big", "OBJECT ENCODING u")


def test_zset_encodings_survive_reload_and_restore(differ):
    differ.check("ZADD small " + _members(5), "ZADD large " + _members(200),
                 "ZADD long 1 " + "y" * 100, "ZADD frac 0.1 a -2.5e-7 b 1e300 c -inf d",
                 "DUMP small", "DUMP frac", "DEBUG RELOAD", "OBJECT ENCODING small",
                 "OBJECT ENCODING large", "OBJECT ENCODING long", "OBJECT ENCODING frac",
                 "ZRANGE small 0 -1 WITHSCORES", "ZRANGE frac 0 -1 WITHSCORES",
                 "ZCARD large", "ZSCORE large m150", "DUMP small", "DUMP frac")


def test_many_small_zsets_stay_correct_when_packed_at_rest(differ):
    """More sets than stay hydrated: each is packed and rebuilt between commands."""
    from miniredis.datatypes.zset import _KEEP_HYDRATED
    keys = ["z%d" % i for i in range(_KEEP_HYDRATED + 24)]
    writes = ["ZADD %s %d a %d.5 b -%d c" % (key, i, i, i) for i, key in enumerate(keys)]
    reads = [command for key in keys for command in (
        "ZRANGE %s 0 -1 WITHSCORES" % key, "ZINCRBY %s 1 a" % key, "ZREM %s c" % key,
        "ZSCORE %s b" % key)]
    differ.check(*writes, *reads, "ZUNIONSTORE u %d " % len(keys) + " ".join(keys),
                 "ZRANGE u 0 -1 WITHSCORES", *("ZCARD %s" % key for key in keys),
                 "DEBUG DIGEST-VALUE z3 %s" % keys[-1], "ZPOPMIN z0",
                 "ZPOPMAX %s 5" % keys[-1], "EXISTS %s" % keys[-1])


@pytest.mark.parametrize("scores", [
    [], [0.0, 1.0, 255.0, 256.0, 70000.0], [-0.0, 0.0, 2.0 ** 53 - 1, -(2.0 ** 53) + 1],
    [1.0, 2.0 ** 53, 2.0 ** 60], [float("-inf"), 1.0, float("inf")], [0.5, 1.0, 2.5],
    [float(i) for i in range(1500)]])
def test_zset_packs_and_hydrates_column_wise(scores):
    """A listpack set is packed and rebuilt a column at a time (one ``map(int)`` for
    integral scores): the blob must give back what the pickle it replaced held (ints
    for integral scores within 2**53, else floats: DUMP writes from it), and the
    rebuilt order the same entries, across chunk boundaries (1,500 members: a raised
    listpack limit)."""
    from miniredis.datatypes.scorelist import ScoreList
    from miniredis.datatypes.zset import ZSet

    def compact(score):
        if score.is_integer() and -2.0 ** 53 < score < 2.0 ** 53:
            return int(score)
        return score
    members = [b"m%05d" % i for i in range(len(scores))]
    entries = sorted(zip(scores, members))
    expected = [x for score, member in entries for x in (member, compact(score))]
    flat = packedzset.flat(packedzset.encode(*ScoreList.from_sorted(entries).columns(
        0, len(entries))))
    assert flat == expected
    assert [type(x) for x in flat] == [type(x) for x in expected]
    rebuilt = ScoreList.from_columns([score for score, _ in entries],
                                     [member for _, member in entries])
    assert list(rebuilt) == entries and len(rebuilt) == len(entries)
    if entries:
        assert rebuilt.rank(*entries[-1]) == len(entries) - 1
    zset = ZSet.build({m: s for s, m in entries}, (2000, 64))
    zset.compact()
    assert zset.packed() == [x if type(x) is bytes or x != 0 else 0 for x in expected]
    assert zset.member_scores() == [(m, 0.0 if s == 0 else s) for s, m in entries]
    assert list(zset.order) == [(0.0 if s == 0 else s, m) for s, m in entries]


# Members and scores that try to confuse a packed set: the reserved bytes alone and in
# escape-like pairs, the empty member, a 64-byte member (the listpack limit), bytes
# that look like a count or a column; scores at every column type's boundaries.
_ZSET_MEMBERS = _HOSTILE + [b"m%d" % i for i in range(8)] + [
    b"x" * 64, b"\x02\x03" * 32, b"\x7f\x00\x00\x00", b"\xff" * 3]
# Members of one length as the blob holds them (three bytes, escapes included): the
# separators of a set of them are evenly spaced, which the blob's reads use.
_ZSET_EVEN = [b"aaa", b"abc", b"zzz", b"012", b"\x00a", b"\x01b", b"\x02c", b"a\x00",
              b"q\x02", b"\x7f\xff\x7f", b"aab", b"ab"]
_ZSET_SCORES = [score for score, _ in _SCORE_CODES] + [
    1.0, 2.0, 3.0, -1.0, 5.0, 5.0, 100.0, -7.5, 2.0 ** 53 - 2, -(2.0 ** 53 - 2)]


def test_packed_zset_matches_a_model_under_random_writes():
    """A set packed at rest, written thousands of times in place (inserts, updates,
    removals, removals of ranges by rank and by score, pops at both ends) with hostile
    members and scores, against a dict and a sorted list doing the same: after every
    write the blob is what packing the model anew gives (canonical: memory estimates
    rely on it), the set is still packed, and every read -- score, rank, ranges by
    rank and by score (forwards, backwards, limited), counts, size -- agrees. Some
    sets hold members of one length only (evenly spaced separators), some start with
    250-260 members (the count's two header forms)."""
    import random
    from miniredis.datatypes.zset import ZSet
    rng = random.Random(58)
    limits = (1 << 20, 1 << 20)
    steps = 0
    while steps < 6000:
        # (some sets start with 250-260 members: the count's header crosses 255)
        model: dict = {b"p%03d" % i: float(rng.randrange(-3, 300))
                       for i in range(rng.choice((0, 0, rng.randrange(250, 260))))}
        zset = ZSet.build(model, limits)
        zset.compact()
        pool = _ZSET_EVEN if rng.random() < 0.3 else _ZSET_MEMBERS
        for _ in range(rng.randrange(50, 400)):
            steps += 1
            member = rng.choice(pool)
            score = rng.choice(_ZSET_SCORES)
            stored = 0.0 if score == 0 else score
            entries = sorted((s, m) for m, s in model.items())
            op = rng.random()
            if op < 0.4:
                current = zset.score_of(member)
                assert current == model.get(member)
                if current is None:
                    zset.insert(member, score, limits)
                elif stored != current:
                    zset.update(member, score, current)
                model[member] = stored
            elif op < 0.6:
                assert zset.remove(member) == (member in model)
                model.pop(member, None)
            elif op < 0.7 and entries:
                start = rng.randrange(len(entries))
                stop = start + rng.choice((1, 1, 2, 3, len(entries)))
                assert zset.remove_slice(start, stop) == len(entries[start:stop])
                for _, gone in entries[start:stop]:
                    del model[gone]
            elif op < 0.8 and entries:
                low, high = sorted(rng.sample(_ZSET_SCORES, 2))
                start, stop = zset.score_span(low, False, high, True)
                zset.remove_slice(start, stop)
                for s, gone in entries:
                    if low <= s < high:
                        del model[gone]
            elif entries:
                highest = rng.random() < 0.5
                count = rng.choice((1, 1, 2, 5))
                taken = zset.pop(count, highest)
                want = entries[::-1][:count] if highest else entries[:count]
                assert taken == want
                for _, gone in want:
                    del model[gone]
            _check_packed_zset(rng, zset, model)


def _check_packed_zset(rng, zset, model) -> None:
    """Every read of the packed ``zset`` against ``model`` (member -> score)."""
    entries = sorted((s, m) for m, s in model.items())
    scores = [s for s, _ in entries]
    members = [m for _, m in entries]
    blob = zset._blob
    assert blob is not None and blob == packedzset.encode(scores, members)
    assert len(zset) == len(model) and bool(zset) == bool(model)
    assert zset.packed_size() == zset.listpack_size() == 33 + len(blob)
    for member in rng.sample(_ZSET_MEMBERS, 6) + rng.sample(_ZSET_EVEN, 2):
        assert zset.score_of(member) == model.get(member)
        assert (member in zset) == (member in model)
        assert zset.rank(member) == (members.index(member) if member in model else None)
    size = len(entries)
    start = rng.randrange(size + 2)
    stop = rng.randrange(start, size + 3)
    assert zset.members(start, stop) == members[start:stop]
    assert zset.columns(start, stop) == (scores[start:stop], members[start:stop])
    assert zset.slice(start, stop, True) == entries[start:stop][::-1]
    low, high = sorted(rng.sample(_ZSET_SCORES, 2))
    low_ex, high_ex = rng.random() < 0.5, rng.random() < 0.5
    inside = [(s, m) for s, m in entries if (low < s if low_ex else low <= s)
              and (s < high if high_ex else s <= high)]
    limit = rng.choice((-1, 0, 1, 3))
    reverse = rng.random() < 0.5
    want = inside[::-1] if reverse else inside
    want = want if limit < 0 else want[:limit]
    assert zset.score_columns(low, low_ex, high, high_ex, limit, reverse) == \
        ([s for s, _ in want], [m for _, m in want])
    assert zset.score_members(low, low_ex, high, high_ex, limit) == \
        [m for _, m in (inside if limit < 0 else inside[:limit])]
    first, stop = zset.score_span(low, low_ex, high, high_ex)
    assert max(0, stop - first) == len(inside)
    assert zset.score_start(low, low_ex) == first and zset.score_stop(high, high_ex) == stop
    assert zset.packed() == [x for s, m in entries for x in (
        m, int(s) if s.is_integer() and abs(s) < 2.0 ** 53 else s)]
    assert zset.member_scores() == [(m, s) for s, m in entries]


def test_packed_zsets_written_in_place_as_redis(differ):
    """Sets packed at rest are read and written without being rebuilt (ZADD, ZINCRBY,
    ZREM, ZRANK, ranges by rank and by score, removals of ranges, pops on the blob):
    random writes over more sets than stay hydrated, with equal scores (members
    ordered by their bytes), infinities, -0 and growth past zset-max-listpack-entries,
    against Redis."""
    import random
    from miniredis.datatypes.zset import _KEEP_HYDRATED
    rng = random.Random(11)
    keys = ["z%d" % i for i in range(_KEEP_HYDRATED + 30)]
    scores = ["0", "-0", "1", "1", "2.5", "-3", "inf", "-inf", "7", "1e300", "42"]
    members = ["a", "b", "ab", "", "b\x00", "m%d", "zz", "a\x01"]
    with configured(differ, ["zset-max-listpack-entries", "6"],
                    ["zset-max-listpack-entries", "128"]):
        commands: list = [["ZADD", key, "1", "a", "2", "b"] for key in keys]
        for _ in range(900):
            key = rng.choice(keys)
            member = rng.choice(members)
            if "%d" in member:
                member = member % rng.randrange(5)
            kind = rng.random()
            if kind < 0.35:
                commands.append(["ZADD", key, rng.choice(scores), member])
            elif kind < 0.5:
                commands.append(["ZINCRBY", key, rng.choice(["1", "-1", "0", "2.5"]), member])
            elif kind < 0.6:
                commands.append(["ZREM", key, member, rng.choice(members)])
            elif kind < 0.7:
                commands.append(["ZRANK", key, member])
            elif kind < 0.8:
                commands.append(["ZSCORE", key, member])
            elif kind < 0.85:
                commands.append(["ZRANGE", key, "0", "-1", "WITHSCORES"])
            elif kind < 0.9:
                commands.append(["ZREVRANGE", key, "1", "3", "WITHSCORES"])
            else:
                ends = ["-inf", "0", "(0", "1", "(1", "2.5", "7", "(7", "+inf"]
                low, high = sorted(rng.sample(ends, 2), key=lambda x: float(x.strip("(")))
                commands.append(rng.choice([
                    ["ZCOUNT", key, low, high], ["ZRANGEBYSCORE", key, low, high],
                    ["ZRANGEBYSCORE", key, low, high, "LIMIT", "0", "2"],
                    ["ZRANGEBYSCORE", key, low, high, "WITHSCORES", "LIMIT", "1", "2"],
                    ["ZREVRANGEBYSCORE", key, high, low, "LIMIT", "0", "2"],
                    ["ZREMRANGEBYSCORE", key, low, high], ["ZREMRANGEBYRANK", key, "0", "0"],
                    ["ZPOPMIN", key], ["ZPOPMAX", key, "2"], ["ZCARD", key]]))
        commands += [["ZRANGE", key, "0", "-1", "WITHSCORES"] for key in keys]
        commands += [["OBJECT", "ENCODING", key] for key in keys[:40]]
        differ.check(*commands)


def test_packed_zset_sizes_and_plain_rank_ranges_as_redis(differ):
    """A packed set's size is kept after its pickle (one byte under 255 members, five
    from 255): ZCARD and the ends of ``ZRANGE key start stop`` (its own short path,
    members read without scores) read it, across that boundary, as sets grow and
    shrink packed (more sets than stay hydrated), against Redis."""
    from miniredis.datatypes.zset import _KEEP_HYDRATED
    sizes = [0, 1, 2, 253, 254, 255, 256, 300, 600]
    keys = ["p%d" % size for size in sizes if size]
    ranges = [["0", "9"], ["-3", "-1"], ["5", "2"], ["0", "-1"], ["250", "260"],
              ["-1000", "1"], ["1000", "2000"], ["254", "254"], ["-255", "-254"]]
    with configured(differ, ["zset-max-listpack-entries", "1000"],
                    ["zset-max-listpack-entries", "128"]):
        commands: list = [["SET", "str", "x"]]
        for size in sizes[1:]:
            commands.append(["ZADD", "p%d" % size] +
                            [x for i in range(size) for x in (str(i % 7), "m%04d" % i)])
        # (pushes every p set out of the hydrated few: they are packed at rest)
        commands += [["ZADD", "w%d" % i, "1", "a"] for i in range(_KEEP_HYDRATED + 4)]
        for key in keys + ["missing"]:
            commands.append(["ZCARD", key])
            commands += [["ZRANGE", key] + bounds for bounds in ranges]
        commands += [["ZRANGE", "str", "0", "1"], ["ZRANGE", "str", "x", "1"],
                     ["ZRANGE", "missing", "x", "1"], ["ZRANGE", "p2", "0", "1.5"],
                     ["ZRANGE", "p2", "0", "99999999999999999999"]]
        # Shrink across the boundary and grow back, packed throughout.
        for key, removals in (("p255", ["m0000"]), ("p256", ["m0000", "m0001"]),
                              ("p254", ["m0003"])):
            commands.append(["ZREM", key] + removals)
            commands += [["ZCARD", key], ["ZRANGE", key, "250", "260"]]
        commands += [["ZADD", "p254", "3", "new"], ["ZCARD", "p254"],
                     ["ZRANGE", "p254", "-2", "-1"], ["ZPOPMIN", "p600", "346"],
                     ["ZCARD", "p600"], ["ZRANGE", "p600", "250", "256"],
                     ["ZREMRANGEBYRANK", "p300", "0", "44"], ["ZCARD", "p300"],
                     ["ZRANGE", "p300", "-2", "-1"], ["DEBUG", "RELOAD"]]
        commands += [["ZCARD", key] for key in keys]
        commands += [["ZRANGE", key, "0", "-1"] for key in keys]
        commands += [["OBJECT", "ENCODING", key] for key in keys]
        differ.check(*commands)


def test_listpack_zset_is_packed_at_rest(mini):
    from miniredis.datatypes.zset import _KEEP_HYDRATED, ZSet
    from tests.harness import RawConnection
    conn = RawConnection(mini.port)
    try:
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        for i in range(40):
            conn.call("ZADD", "z%d" % i, "1", "a", "2", "b")
        conn.call("ZADD", "large", *[x for i in range(129) for x in (str(i), "m%d" % i)])
        for i in range(_KEEP_HYDRATED + 8):     # (pushes the z sets out of the few kept)
            conn.call("ZADD", "w%d" % i, "1", "a")
        db = mini.state.dbs[9]
        packed = [db.data[b"z%d" % i].packed_size() is not None for i in range(40)]
        assert all(packed)
        assert db.data[b"large"].packed_size() is None
        assert conn.call("ZRANGE", "z0", "0", "-1", "WITHSCORES") == \
            b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
        assert isinstance(db.data[b"z0"], ZSet)
    finally:
        conn.close()


def test_string_commands_refuse_listpack_hashes(differ):
    """A listpack hash is held as a bytes subclass: every string, bit and HLL command
    must still see a hash (WRONGTYPE), as in Redis."""
    differ.check("HSET h a 1", "GET h", "SET h x GET", "APPEND h x", "STRLEN h",
                 "GETRANGE h 0 -1", "SETRANGE h 0 x", "INCR h", "INCRBYFLOAT h 1",
                 "GETDEL h", "GETEX h", "BITCOUNT h", "GETBIT h 0", "SETBIT h 0 1",
                 "BITPOS h 1", "BITFIELD h GET u8 0", "PFADD h x", "PFCOUNT h",
                 "LCS h h", "MGET h", "TYPE h", "OBJECT ENCODING h",
                 "OBJECT REFCOUNT h", "DEBUG DIGEST-VALUE h", "SORT h",
                 "LPUSH h x", "SADD h x", "ZADD h 1 x", "XADD h * a 1", "HGETALL h",
                 "SET h x", "TYPE h", "GET h")


@pytest.mark.parametrize("seed", [1, 2])
def test_packed_zsets_at_score_type_boundaries_as_redis(differ, seed):
    """Random writes and reads over more packed sets than stay hydrated, with scores
    at every boundary of the packed score column's types (int8/16/32, 2**53 and past
    it, fractions, infinities, -0), members holding the separator and escape bytes or
    past zset-max-listpack-value, at a listpack limit of 4, 8 or 128, then DEBUG
    RELOAD: against Redis. (No lexicographic ranges over mixed scores, no ZSCAN of a
    skiplist set: Redis's answers there depend on its skiplist's random levels and its
    dict's order.)"""
    import random
    from miniredis.datatypes.zset import _KEEP_HYDRATED
    rng = random.Random(1000 + seed)
    keys = ["z%d" % i for i in range(_KEEP_HYDRATED + 20)]
    scores = ["0", "-0", "1", "2.5", "-3", "inf", "-inf", "127", "128", "-128", "-129",
              "32767", "32768", "-32769", "2147483648", "-2147483649",
              "9007199254740992", "9007199254740993", "0.5", "-1e-300", "1e300"]
    members = ["a", "b", "ab", "", "b\x00", "m%d", "zz", "a\x01", "\x02", "\x02\x03",
               "\x00\x00", "a\x00b", "x" * 64, "x" * 65]

    def member() -> str:
        chosen = rng.choice(members)
        return chosen % rng.randrange(8) if "%d" in chosen else chosen

    limit = rng.choice(["4", "8", "128"])
    with configured(differ, ["zset-max-listpack-entries", limit],
                    ["zset-max-listpack-entries", "128"]):
        commands: list = [["ZADD", key, "1", "a", "2", "b"] for key in keys]
        ends = ["-inf", "0", "(0", "1", "(1", "2.5", "127", "(128", "+inf"]
        for _ in range(1500):
            key = rng.choice(keys)
            kind = rng.random()
            if kind < 0.3:
                commands.append(["ZADD", key, rng.choice(scores), member()] +
                                rng.choice([[], [rng.choice(scores), member()]]))
            elif kind < 0.4:
                commands.append(["ZINCRBY", key, rng.choice(["1", "-1", "2.5", "1e300"]),
                                 member()])
            elif kind < 0.5:
                commands.append(["ZREM", key, member(), member()])
            elif kind < 0.65:
                commands.append([rng.choice(["ZRANK", "ZREVRANK", "ZSCORE"]), key, member()])
            elif kind < 0.7:
                commands.append(["ZMSCORE", key, member(), "a", "zz"])
            elif kind < 0.8:
                low, high = str(rng.randrange(-5, 6)), str(rng.randrange(-5, 6))
                commands.append(rng.choice([
                    ["ZRANGE", key, low, high], ["ZRANGE", key, low, high, "WITHSCORES"],
                    ["ZREVRANGE", key, low, high], ["ZREMRANGEBYRANK", key, low, high]]))
            else:
                low, high = sorted(rng.sample(ends, 2), key=lambda x: float(x.strip("(")))
                commands.append(rng.choice([
                    ["ZCOUNT", key, low, high], ["ZRANGEBYSCORE", key, low, high],
                    ["ZRANGEBYSCORE", key, low, high, "WITHSCORES", "LIMIT", "1", "2"],
                    ["ZREVRANGEBYSCORE", key, high, low, "LIMIT", "0", "2"],
                    ["ZREMRANGEBYSCORE", key, low, high], ["ZPOPMIN", key],
                    ["ZPOPMAX", key, "2"], ["ZCARD", key], ["OBJECT", "ENCODING", key]]))
        commands += [["ZRANGE", key, "0", "-1", "WITHSCORES"] for key in keys]
        commands += [["DEBUG", "RELOAD"]]
        commands += [["ZRANGE", key, "0", "-1", "WITHSCORES"] for key in keys[:60]]
        differ.check(*commands)
