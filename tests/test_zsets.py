"""Sorted sets: differential tests of every command, option and error (RESP2 and RESP3).

Every sequence goes to a real redis-server and to miniredis (see tests/harness.py) and
the raw replies must be byte-identical. ZRANK/ZREVRANK WITHSCORE is Redis 7.2's (the
7.0 oracle refuses it), so it is checked with plain assertions; random replies
(ZRANDMEMBER) are compared by shape, and checked for their guarantees directly.
"""
from __future__ import annotations

import random
import time

import pytest

from miniredis.commands import COMMANDS, load_all, lookup
from miniredis.datatypes.zset import ZSet
from tests.harness import RawConnection, SameType, command_metadata, configured, parse_raw
load_all()
needs_multi = pytest.mark.skipif(
    b"multi" not in COMMANDS, reason="MULTI/EXEC come with the transactions issue")
needs_sets = pytest.mark.skipif(
    b"sadd" not in COMMANDS, reason="SADD comes with the hashes/sets issue")

ALL_ZSET_COMMANDS = (
    "zadd zincrby zrem zcard zcount zlexcount zscore zmscore zrank zrevrank zrange "
    "zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex zrevrange zrangestore "
    "zremrangebyrank zremrangebyscore zremrangebylex zpopmin zpopmax zmpop bzpopmin "
    "bzpopmax bzmpop zunion zinter zdiff zunionstore zinterstore zdiffstore zintercard "
    "zrandmember zscan").split()
# Redis 7.2 made ZRANK/ZREVRANK variadic for WITHSCORE (arity -3); 7.0 says 3.
_ARITY_72 = {"zrank": -3, "zrevrank": -3}


@pytest.fixture
def listpack_limits(differ):
    """Small listpack limits on both servers (restored afterwards)."""
    with configured(differ, ['zset-max-listpack-entries', '4', 'zset-max-listpack-value', '8'],
                    ['zset-max-listpack-entries', '128', 'zset-max-listpack-value', '64']):
        yield differ


# -- metadata ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_ZSET_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    """Arity, flags, ACL categories, key positions, summary, since and group as Redis
    7.0 reports them (ZRANK/ZREVRANK arity as 7.2, for WITHSCORE)."""
    mine = command_metadata(differ.ports["miniredis"], name)
    theirs = command_metadata(differ.ports["redis"], name)
    if name in _ARITY_72:                   # (name, arity, ...)
        assert mine[1] == _ARITY_72[name]
        mine, theirs = mine[:1] + mine[2:], theirs[:1] + theirs[2:]
    assert mine == theirs


def test_every_command_is_registered():
    for name in ALL_ZSET_COMMANDS:
        cmd = lookup(name.encode())
        assert cmd is not None and cmd.group == "sorted-set", name


def test_getkeys(differ):
    differ.check(
        "COMMAND GETKEYS ZUNIONSTORE d 2 a b WEIGHTS 1 2",
        "COMMAND GETKEYS ZINTER 3 a b c", "COMMAND GETKEYS ZMPOP 2 a b MIN",
        "COMMAND GETKEYS BZMPOP 0 2 a b MAX COUNT 2", "COMMAND GETKEYS BZPOPMIN a b 0",
        "COMMAND GETKEYS ZRANGESTORE d s 0 -1", "COMMAND GETKEYS ZINTERCARD 2 a b",
        "COMMAND GETKEYS ZDIFFSTORE d 1 a")


# -- ZADD / ZINCRBY ------------------------------------------------------------------------
def test_zadd_basics_and_flags(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c", "ZADD z 1 a", "ZADD z 5 a 1 d", "ZRANGE z 0 -1 WITHSCORES",
        "ZADD z NX 10 a 10 e", "ZADD z XX 20 a 20 f", "ZADD z XX CH 20 a 21 b 3 c",
        "ZADD z CH 1 a 1 b 1 g", "ZADD z GT 0 a 30 b", "ZADD z GT CH 0 a 31 b 7 h",
        "ZADD z LT CH 100 a 0 b 8 i", "ZADD z XX GT CH 50 a 60 zz", "ZADD z xx lt ch 1 c",
        "ZRANGE z 0 -1 WITHSCORES", "ZADD z nx xx 1 a", "ZADD z gt lt 1 a",
        "ZADD z nx gt 1 a", "ZADD z nx lt 1 a", "ZADD z xx gt lt 1 a",
        "ZADD z incr 1 a 2 b", "ZADD z 1", "ZADD z 1 a 2", "ZADD z abc a", "ZADD z ch",
        "ZADD z nx xx", "ZADD z foo 1 a", "ZADD z 1 a ch", "ZADD z INCR", "ZADD z NX 1",
        "ZADD missing XX 1 a", "EXISTS missing", "ZADD missing XX INCR 1 a",
        "ZADD z 1 dup 2 dup 3 dup", "ZSCORE z dup", "ZCARD z", "ZCARD missing")


def test_zadd_incr_and_zincrby(differ):
    differ.check(
        "ZADD z INCR 1.5 a", "ZADD z INCR 1.5 a", "ZINCRBY z 2 a", "ZINCRBY z -10 b",
        "ZADD z NX INCR 1 a", "ZADD z XX INCR 1 nobody", "ZADD z GT INCR -1 a",
        "ZADD z LT INCR 1 a", "ZADD z LT INCR -1 a", "ZADD z GT INCR 0 a",
        "ZADD z CH INCR 0 a", "ZADD z INCR inf a", "ZADD z INCR -inf a",
        "ZINCRBY z -inf a", "ZINCRBY z +inf a", "ZSCORE z a", "ZINCRBY z abc a",
        "ZINCRBY z nan a", "ZINCRBY z '' a", "ZINCRBY z 1", "ZINCRBY z 1 a b",
        "ZINCRBY z nx a", "ZINCRBY z xx a", "ZINCRBY z 0.1 c", "ZINCRBY z 0.2 c",
        "ZINCRBY missing 1e20 m", "ZRANGE z 0 -1 WITHSCORES", "ZRANGE missing 0 -1 WITHSCORES")


SCORE_CORPUS = [
    "0", "-0", "+0", "1", "-1", "+1", "0.1", "-0.1", "1e20", "1E20", "1.5e-7", "1e17",
    "1e16", "123456789012345678", "4.6e18", "4611686018427387904", "1e19", "2.5",
    "inf", "-inf", "+inf", "Infinity", "-INFINITY", "iNf", ".5", "5.", "0x10", "0x1p3",
    "-0x1.8p1", "0X.8", "1e400", "-1e400", "1e-400", "0e-400", "0e400", "1e-310",
    "4.9e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "0x1p-1080",
    "0x1p2000", "nan", "-nan", "NaN", "", " 1", "1 ", "1_0", "1e", "1e+", "0x", "0x1p",
    "abc", "1\x00", "--1", "+-1", "1.2.3", "infinit", "infinityy", "0.30000000000000004",
    "100000000000000000000000000000000000000000000000000", "9007199254740993",
    "-4.7e18", "3.14159265358979323846",
]


def test_score_parsing_and_formatting(differ):
    """Which score texts Redis accepts (string2d) and how each is stored and printed."""
    commands = []
    for i, text in enumerate(SCORE_CORPUS):
        commands += [["ZADD", "z", text, "m%d" % i], ["ZSCORE", "z", "m%d" % i],
                     ["ZINCRBY", "zi", text, "m%d" % i]]
    commands += ["ZRANGE z 0 -1 WITHSCORES", "ZSCAN z 0", "ZSCAN zi 0"]
    differ.check(*commands)


def test_scores_in_a_skiplist(listpack_limits):
    """A skiplist keeps -0 and ZSCAN prints %.17g; a listpack loses the sign of zero."""
    commands = [["ZADD", "big", text, "m%d" % i]
                for i, text in enumerate(SCORE_CORPUS)]
    commands += ["OBJECT ENCODING big", "ZSCORE big m1", "ZRANGE big 0 -1 WITHSCORES",
                 "ZADD big INCR -0 m1",
                 "ZINCRBY big 0 m1", "ZADD small -0 a", "ZSCORE small a",
                 "ZADD small INCR -0 new", "ZSCORE small new", "ZINCRBY small2 -0 a",
                 "ZUNION 1 big WEIGHTS -1 WITHSCORES", "ZUNIONSTORE u 1 small WEIGHTS -1",
                 "ZSCORE u a", "ZUNIONSTORE u2 1 big", "OBJECT ENCODING u2",
                 "ZRANGESTORE r big 0 1", "OBJECT ENCODING r", "ZRANGE r 0 -1 WITHSCORES"]
    listpack_limits.check(*commands)


def test_encodings(listpack_limits):
    differ = listpack_limits
    differ.check(
        "ZADD z 1 a 2 b 3 c 4 d", "OBJECT ENCODING z", "ZADD z 5 e", "OBJECT ENCODING z",
        "ZREM z a b c d", "OBJECT ENCODING z", "ZADD y 1 123456789", "OBJECT ENCODING y",
        "ZADD x 1 12345678", "ZADD x 2 12345678", "OBJECT ENCODING x",
        "ZADD x 1 a 1 b 1 c", "ZADD x 9 a", "OBJECT ENCODING x", "ZADD x 1 e",
        "OBJECT ENCODING x", "ZADD w 1 a 2 b 3 c 4 d 5 e 6 f", "OBJECT ENCODING w",
        "ZUNIONSTORE u 1 w", "OBJECT ENCODING u", "ZRANGESTORE r w 0 2",
        "OBJECT ENCODING r", "ZRANGESTORE r2 w 0 -1", "OBJECT ENCODING r2",
        "ZINTERSTORE i 2 w z", "OBJECT ENCODING i", "ZDIFFSTORE df 1 y",
        "OBJECT ENCODING df", "COPY w wc", "OBJECT ENCODING wc", "ZPOPMIN w 5",
        "OBJECT ENCODING w", "ZINCRBY nz 1 123456789", "OBJECT ENCODING nz",
        "CONFIG SET zset-max-listpack-entries 0", "ZADD zero 1 a", "OBJECT ENCODING zero",
        "ZUNIONSTORE zu 1 x", "OBJECT ENCODING zu")


# -- reads and removal ---------------------------------------------------------------------------
def test_zrem_zscore_zmscore_zrank(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c 3 d", "ZSCORE z a", "ZSCORE z nobody", "ZSCORE missing a",
        "ZMSCORE z a nobody c", "ZMSCORE missing a b", "ZMSCORE z", "ZRANK z a",
        "ZRANK z d", "ZREVRANK z a", "ZREVRANK z d", "ZRANK z nobody",
        "ZRANK missing a", "ZREVRANK missing a", "ZRANK z", "ZREM z a nobody a",
        "ZREM z", "ZREM missing a", "ZREM z b c d", "EXISTS z", "ZCARD z", "SET s x",
        "ZSCORE s a", "ZMSCORE s a", "ZRANK s a", "ZREVRANK s a", "ZREM s a", "ZCARD s",
        "ZADD s 1 a", "ZINCRBY s 1 a")


def _mini(mini, *args):
    conn = RawConnection(mini.port)
    try:
        conn.call("SELECT", "9")
        return conn.call(*args)
    finally:
        conn.close()


def _mini3(mini, commands):
    conn = RawConnection(mini.port)
    try:
        conn.call("HELLO", "3")
        conn.call("SELECT", "9")
        return [conn.call(*c.split()) for c in commands]
    finally:
        conn.close()


def test_zrank_withscore_redis72(mini):
    """ZRANK/ZREVRANK WITHSCORE as Redis 7.2 documents it (the 7.0 oracle lacks it)."""
    conn = RawConnection(mini.port)
    try:
        conn.call("SELECT", "9")
        conn.call("DEL", "wz", "ws")
        conn.call("ZADD", "wz", "1.5", "a", "2", "b", "3", "c")
        conn.call("SET", "ws", "x")
        assert conn.call("ZRANK", "wz", "b", "WITHSCORE") == b"*2\r\n:1\r\n$1\r\n2\r\n"
        assert conn.call("ZREVRANK", "wz", "a", "withscore") == \
            b"*2\r\n:2\r\n$3\r\n1.5\r\n"
        assert conn.call("ZRANK", "wz", "nobody", "WITHSCORE") == b"*-1\r\n"
        assert conn.call("ZRANK", "nokey", "a", "WITHSCORE") == b"*-1\r\n"
        assert conn.call("ZRANK", "wz", "nobody") == b"$-1\r\n"
        assert conn.call("ZRANK", "wz", "a", "WITHSCORES") == b"-ERR syntax error\r\n"
        assert conn.call("ZRANK", "wz", "a", "WITHSCORE", "x") == \
            b"-ERR wrong number of arguments for 'zrank' command\r\n"
        assert conn.call("ZREVRANK", "wz", "a", "WITHSCORE", "x") == \
            b"-ERR wrong number of arguments for 'zrevrank' command\r\n"
        assert conn.call("ZRANK", "ws", "a", "WITHSCORE").startswith(b"-WRONGTYPE")
        conn.call("HELLO", "3")
        assert conn.call("ZRANK", "wz", "c", "WITHSCORE") == b"*2\r\n:2\r\n,3\r\n"
        assert conn.call("ZREVRANK", "wz", "c", "WITHSCORE") == b"*2\r\n:0\r\n,3\r\n"
        assert conn.call("ZRANK", "wz", "nobody", "WITHSCORE") == b"_\r\n"
        assert conn.call("ZRANK", "nokey", "a") == b"_\r\n"
    finally:
        conn.call("DEL", "wz", "ws")
        conn.close()


def test_zcount_zlexcount_and_range_parsing(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c 4 d -inf ninf inf pinf", "ZCOUNT z 1 3", "ZCOUNT z (1 3",
        "ZCOUNT z (1 (3", "ZCOUNT z -inf +inf", "ZCOUNT z (-inf (inf", "ZCOUNT z 3 1",
        "ZCOUNT z (1 (1", "ZCOUNT z 1 1", "ZCOUNT z ( 1", "ZCOUNT z '' 2",
        "ZCOUNT z ' 1' 2", "ZCOUNT z '1 ' 2", "ZCOUNT z '  ' 2", "ZCOUNT z 1e400 inf",
        "ZCOUNT z -1e400 0", "ZCOUNT z 1e-400 2", "ZCOUNT z a 1", "ZCOUNT z (a 1",
        "ZCOUNT z nan 1", "ZCOUNT z (nan 1", "ZCOUNT z 0 nan", "ZCOUNT z 0x1 0x3",
        "ZCOUNT z 1e 3", "ZCOUNT z (( 3", ["ZCOUNT", "z", "1\x00junk", "2"],
        ["ZCOUNT", "z", "\x00", "2"], ["ZCOUNT", "z", " \x00", "2"],
        "ZCOUNT missing a b", "ZCOUNT missing 0 1",
        "ZADD l 0 a 0 b 0 c 0 d 0 e", "ZLEXCOUNT l - +", "ZLEXCOUNT l [b [d",
        "ZLEXCOUNT l (b (d", "ZLEXCOUNT l (b [d", "ZLEXCOUNT l [d [b", "ZLEXCOUNT l - -",
        "ZLEXCOUNT l + +", "ZLEXCOUNT l + -", "ZLEXCOUNT l [a [a", "ZLEXCOUNT l (a [a",
        "ZLEXCOUNT l [ +", "ZLEXCOUNT l ( +", "ZLEXCOUNT l a b", "ZLEXCOUNT l - a",
        "ZLEXCOUNT l +a +", "ZLEXCOUNT l '' +", ["ZLEXCOUNT", "l", "-", "+\x00x"],
        "ZLEXCOUNT missing - +", "ZLEXCOUNT missing a b", "SET s x", "ZCOUNT s 0 1",
        "ZCOUNT s a b", "ZLEXCOUNT s - +", "ZLEXCOUNT s a b")


def test_zrange_by_rank(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZRANGE z 0 -1", "ZRANGE z 0 -1 WITHSCORES",
        "ZRANGE z 1 2 withscores", "ZRANGE z -2 -1", "ZRANGE z -100 100", "ZRANGE z 3 1",
        "ZRANGE z 5 10", "ZRANGE z 0 0 REV", "ZRANGE z 0 1 REV WITHSCORES",
        "ZRANGE z -1 -1 rev", "ZREVRANGE z 0 -1", "ZREVRANGE z 1 3 WITHSCORES",
        "ZREVRANGE z 0 1 rev", "ZRANGE z 0 -1 LIMIT 0 1", "ZRANGE z 0 -1 LIMIT 1 -1",
        "ZRANGE z 0 -1 LIMIT 0 -2", "ZRANGE z x 1", "ZRANGE z 0 y",
        "ZRANGE z 0 1 foo", "ZRANGE z 0 1 REV REV", "ZRANGE z 0 1 byscore bylex",
        "ZRANGE z 0 1 withscores withscores", "ZRANGE missing 0 -1", "ZRANGE missing a b",
        "ZREVRANGE missing 0 1 WITHSCORES", "ZRANGE z 0 -1 LIMIT 0", "SET s x",
        "ZRANGE s 0 1", "ZRANGE s a b", "ZREVRANGE s 0 1", "ZRANGE z 0",
        "ZRANGE z 9223372036854775807 -9223372036854775808",
        "ZRANGE z -9223372036854775808 9223372036854775807")


def test_range_scores_as_replies_and_in_scripts(differ):
    """Scores of every shape (fractions, -0, infinities, past 1e17) in range replies,
    in both protocols and as a script sees them under either (RESP2 sends a score as
    a bulk string, which the range commands make themselves), at both encodings."""
    script = "redis.setresp(tonumber(ARGV[1])) return redis.call(unpack(ARGV, 2))"
    commands = []
    for size in (3, 200):     # a listpack, then a skiplist
        commands += ["DEL z", "ZADD z 0.1 a -0 b 1e17 c 1e18 d -inf e inf f 2.5 g "
                     "99999999999999984 h 3 i",
                     "ZADD z " + " ".join("%d m%d" % (i, i) for i in range(size)),
                     "ZRANGE z 0 -1 WITHSCORES", "ZRANGE z 0 5", "ZREVRANGE z 0 4 WITHSCORES",
                     "ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 12",
                     "ZRANGE z (0 +inf BYSCORE WITHSCORES LIMIT 1 4", "ZSCORE z b",
                     "ZCARD z"]
        for resp in ("2", "3"):
            commands += [["EVAL", script, "0", resp, "zrange", "z", "0", "-1", "withscores"],
                         ["EVAL", script, "0", resp, "zrangebyscore", "z", "-inf", "+inf",
                          "WITHSCORES", "LIMIT", "0", "9"],
                         ["EVAL", script, "0", resp, "zrange", "z", "0", "3"]]
    differ.check(*commands)


def test_zrange_by_score(differ):
    differ.check(
        "ZADD z 1 a 2 b 2 bb 3 c 4 d 5 e -inf n inf p",
        "ZRANGEBYSCORE z -inf +inf WITHSCORES", "ZRANGEBYSCORE z (1 3",
        "ZRANGEBYSCORE z 2 2", "ZRANGEBYSCORE z (2 (3", "ZRANGEBYSCORE z 3 1",
        "ZRANGEBYSCORE z 1 5 LIMIT 1 2", "ZRANGEBYSCORE z 1 5 LIMIT 1 -1",
        "ZRANGEBYSCORE z 1 5 LIMIT 0 0", "ZRANGEBYSCORE z 1 5 LIMIT -1 2",
        "ZRANGEBYSCORE z 1 5 LIMIT 10 2", "ZRANGEBYSCORE z 1 5 LIMIT 7 2",
        "ZRANGEBYSCORE z -inf inf LIMIT 7 5", "ZRANGEBYSCORE z 1 5 LIMIT 1 -5 WITHSCORES",
        "ZRANGEBYSCORE z 1 5 WITHSCORES LIMIT 1 2 WITHSCORES",
        "ZREVRANGEBYSCORE z +inf -inf", "ZREVRANGEBYSCORE z 5 1 WITHSCORES",
        "ZREVRANGEBYSCORE z (5 (1", "ZREVRANGEBYSCORE z 1 5",
        "ZREVRANGEBYSCORE z 5 1 LIMIT 1 2", "ZREVRANGEBYSCORE z 5 1 LIMIT 3 10",
        "ZREVRANGEBYSCORE z 5 1 LIMIT 10 1", "ZREVRANGEBYSCORE z inf -inf LIMIT 2 -1",
        "ZRANGE z 1 3 BYSCORE", "ZRANGE z (1 3 BYSCORE WITHSCORES",
        "ZRANGE z 5 1 BYSCORE REV LIMIT 1 2", "ZRANGE z 1 5 BYSCORE REV",
        "ZRANGE z -inf inf byscore limit 2 3 withscores", "ZRANGEBYSCORE z 1 2 limit",
        "ZRANGEBYSCORE z 1 2 limit 0", "ZRANGEBYSCORE z 1 2 limit 0 1 2",
        "ZRANGEBYSCORE z 1 2 limit a b", "ZRANGEBYSCORE z 1 2 bar",
        "ZRANGEBYSCORE z 1 2 rev", "ZRANGEBYSCORE z 1 2 byscore", "ZRANGEBYSCORE z a b",
        "ZRANGEBYSCORE z (1 b", "ZRANGE z a b byscore", "ZRANGE z nan 1 byscore",
        "ZRANGEBYSCORE missing 1 2", "ZRANGEBYSCORE missing a b",
        "ZRANGEBYSCORE missing 1 2 LIMIT a 1", "SET s x", "ZRANGEBYSCORE s 1 2",
        "ZRANGEBYSCORE s a b", "ZRANGE s 0 1 BYSCORE", "ZREVRANGEBYSCORE s 2 1",
        "ZRANGEBYSCORE z 1 5 LIMIT 1 2 LIMIT 0 1", "ZRANGE z 0 -1 byscore limit 0 -1")


def test_zrange_by_lex(differ):
    differ.check(
        "ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 ab 0 ''", "ZRANGEBYLEX l - +",
        "ZRANGEBYLEX l [b [d", "ZRANGEBYLEX l (b (d", "ZRANGEBYLEX l [a (b",
        "ZRANGEBYLEX l - [c LIMIT 1 2", "ZRANGEBYLEX l - + LIMIT 2 -1",
        "ZRANGEBYLEX l - + LIMIT -1 2", "ZRANGEBYLEX l - + LIMIT 8 2",
        "ZRANGEBYLEX l - + LIMIT 0 0", "ZRANGEBYLEX l [ +", "ZRANGEBYLEX l ( +",
        "ZRANGEBYLEX l (a (+", "ZRANGEBYLEX l + -", "ZRANGEBYLEX l - -",
        "ZRANGEBYLEX l [d [b", "ZRANGEBYLEX l [c [c", "ZRANGEBYLEX l (c [c",
        "ZREVRANGEBYLEX l + -", "ZREVRANGEBYLEX l [d [b", "ZREVRANGEBYLEX l (d (b",
        "ZREVRANGEBYLEX l + - LIMIT 1 3", "ZREVRANGEBYLEX l - +",
        "ZRANGE l [b [e BYLEX", "ZRANGE l [e [b BYLEX REV LIMIT 1 2",
        "ZRANGE l - + BYLEX LIMIT 1 1", "ZRANGEBYLEX l - + WITHSCORES",
        "ZRANGE l - + BYLEX WITHSCORES", "ZRANGEBYLEX l a b", "ZRANGEBYLEX l - a",
        "ZRANGEBYLEX l +a -", "ZRANGEBYLEX l '' +", "ZRANGEBYLEX l - + LIMIT 1",
        "ZRANGEBYLEX missing - +", "ZRANGEBYLEX missing a b", "SET s x",
        "ZRANGEBYLEX s - +", "ZRANGEBYLEX s a b", "ZREVRANGEBYLEX s + -",
        ["ZRANGEBYLEX", "l", "[\x00", "[b\xff"], ["ZRANGEBYLEX", "l", "-\x00", "+"])


def test_lex_ranges_over_mixed_scores(listpack_limits):
    """Members of different scores: unspecified order, but a listpack's walk is
    deterministic and miniredis reproduces it."""
    differ = listpack_limits
    differ.check(
        "ZADD m 1 d 2 a 3 c 4 b", "ZRANGEBYLEX m - +", "ZRANGEBYLEX m [a [c",
        "ZRANGEBYLEX m [b [z", "ZRANGEBYLEX m (c +", "ZRANGEBYLEX m [a [c LIMIT 1 5",
        "ZRANGEBYLEX m - [c LIMIT 1 5", "ZREVRANGEBYLEX m [c [a", "ZREVRANGEBYLEX m + (b",
        "ZREVRANGEBYLEX m [c - LIMIT 1 5", "ZLEXCOUNT m [a [c", "ZLEXCOUNT m - [b",
        "ZLEXCOUNT m [e +", "ZREMRANGEBYLEX m [d [e", "ZRANGE m 0 -1",
        "ZREMRANGEBYLEX m [a [b", "ZRANGE m 0 -1")


def test_zrangestore(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c 4 d", "ZRANGESTORE d z 0 1", "ZRANGE d 0 -1 WITHSCORES",
        "ZRANGESTORE d z (1 +inf BYSCORE LIMIT 1 1", "ZRANGE d 0 -1 WITHSCORES",
        "ZRANGESTORE d z +inf -inf BYSCORE REV LIMIT 0 2", "ZRANGE d 0 -1",
        "ZADD l 0 a 0 b 0 c", "ZRANGESTORE d l [b + BYLEX", "ZRANGE d 0 -1",
        "ZRANGESTORE d z 5 10", "EXISTS d", "SET d x", "ZRANGESTORE d z 0 0",
        "TYPE d", "SET d x", "ZRANGESTORE d missing 0 -1", "EXISTS d",
        "ZRANGESTORE d z 0 -1 WITHSCORES", "ZRANGESTORE d z 0 -1 LIMIT 0 1",
        "ZRANGESTORE d z a b", "ZRANGESTORE d z a b BYSCORE", "SET s x",
        "ZRANGESTORE d s 0 -1", "ZRANGESTORE d z", "ZRANGESTORE z z 1 2", "ZRANGE z 0 -1",
        "ZRANGESTORE d z 0 -1 REV", "ZRANGE d 0 -1")


def test_zremrange(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYRANK z -1 -1",
        "ZREMRANGEBYRANK z 5 10", "ZREMRANGEBYRANK z 2 1", "ZRANGE z 0 -1",
        "ZREMRANGEBYSCORE z (2 3", "ZREMRANGEBYSCORE z 5 1", "ZRANGE z 0 -1",
        "ZREMRANGEBYSCORE z -inf +inf", "EXISTS z", "ZADD l 0 a 0 b 0 c 0 d",
        "ZREMRANGEBYLEX l [b (d", "ZRANGE l 0 -1", "ZREMRANGEBYLEX l + -",
        "ZREMRANGEBYLEX l - +", "EXISTS l", "ZREMRANGEBYRANK missing 0 -1",
        "ZREMRANGEBYSCORE missing 0 1", "ZREMRANGEBYLEX missing - +",
        "ZREMRANGEBYRANK z a 1", "ZREMRANGEBYSCORE z a 1", "ZREMRANGEBYLEX z a b",
        "ZREMRANGEBYRANK missing a 1", "ZREMRANGEBYSCORE missing a 1",
        "ZREMRANGEBYLEX missing a b", "SET s x", "ZREMRANGEBYRANK s 0 1",
        "ZREMRANGEBYSCORE s 0 1", "ZREMRANGEBYLEX s - +", "ZREMRANGEBYRANK s a 1",
        "ZADD r 1 a 2 b 3 c", "ZREMRANGEBYRANK r -100 100", "EXISTS r")


# -- popping -------------------------------------------------------------------------------
def test_zpop_and_zmpop(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZPOPMIN z", "ZPOPMAX z", "ZPOPMIN z 1",
        "ZPOPMAX z 2", "ZPOPMIN z 0", "ZPOPMIN z -1", "ZPOPMIN z x", "ZPOPMIN z 1 2",
        "ZPOPMIN z 10", "EXISTS z", "ZPOPMIN missing", "ZPOPMAX missing 2",
        "ZPOPMIN missing 0", "ZPOPMIN missing -1", "SET s x", "ZPOPMIN s", "ZPOPMAX s 0",
        "ZPOPMIN s -1", "ZADD m1 1 a 2 b 3 c", "ZADD m2 9 x", "ZMPOP 1 m1 MIN",
        "ZMPOP 2 missing m1 max COUNT 5", "EXISTS m1", "ZMPOP 2 m1 m2 MIN COUNT 1",
        "ZMPOP 1 missing MIN", "ZMPOP 2 missing s MIN", "ZADD m3 1 a", "ZMPOP 2 m3 s MIN",
        "ZMPOP 2 s m3 MIN", "ZMPOP 0 m3 MIN", "ZMPOP -1 m3 MIN", "ZMPOP abc m3 MIN",
        "ZMPOP 5 m3 MIN", "ZMPOP 1 m3 LEFT", "ZMPOP 1 m3 MIN COUNT 0",
        "ZMPOP 1 m3 MIN COUNT -1", "ZMPOP 1 m3 MIN COUNT x", "ZMPOP 1 m3 MIN COUNT",
        "ZMPOP 1 m3 MIN COUNT 1 COUNT 2", "ZMPOP 1 m3 MIN foo", "ZMPOP 1 m3",
        "ZADD p 1.5 a -0 b", "ZPOPMIN p 2")


def test_blocking_immediate_and_errors(differ):
    differ.check(
        "ZADD z 1 a 2 b 3 c", "BZPOPMIN z 0", "BZPOPMAX missing z 1",
        "BZPOPMIN missing 0.01", "BZPOPMIN z -1", "BZPOPMIN z abc", "BZPOPMIN z inf",
        "BZPOPMIN z 1e400", "SET s x", "BZPOPMIN s 0", "BZPOPMIN missing s 0",
        "BZPOPMIN z s 0", "ZADD z 1 a 2 b 3 c", "BZMPOP 0 1 z MAX",
        "BZMPOP 0 2 missing z MIN COUNT 10", "BZMPOP 0.01 1 missing MIN",
        "BZMPOP -1 1 z MIN", "BZMPOP x 1 z MIN", "BZMPOP 0 0 z MIN",
        "BZMPOP 0 1 z MIN COUNT 0", "BZMPOP 0 1 z UP", "BZMPOP 0 2 missing s MIN",
        "BZMPOP 0 1 s MIN", "BZPOPMAX z",
        # the timeout is read after the rest, as in Redis
        "BZMPOP nan 1 z UP", "BZMPOP -1 1 z MIN x", "BZMPOP x 0 z MIN", "BZMPOP x 1 z MIN")


# -- several connections -------------------------------------------------------------------
def _both(differ):
    return [("redis", differ.ports["redis"]), ("miniredis", differ.ports["miniredis"])]


def _conn(port, protocol=2):
    conn = RawConnection(port)
    if protocol == 3:
        conn.call("HELLO", "3")
    conn.call("SELECT", "9")
    return conn


def _compare(differ, scenario, protocols=(2, 3)):
    for protocol in protocols:
        results = {}
        for name, port in _both(differ):
            admin = _conn(port, protocol)
            admin.call("FLUSHALL")
            try:
                results[name] = scenario(port, protocol, admin)
            finally:
                admin.close()
        assert results["miniredis"] == results["redis"], (protocol, results)


def _wait_blocked(admin, count):
    deadline = time.time() + 5
    while time.time() < deadline:
        if b"blocked_clients:%d\r\n" % count in admin.call("INFO", "clients"):
            return
        time.sleep(0.005)
    raise AssertionError("clients did not block")


def test_blocked_waiters_served_oldest_first(differ):
    def scenario(port, protocol, admin):
        waiters = [_conn(port, protocol) for _ in range(3)]
        waiters[0].send("BZPOPMIN", "q", "0")
        _wait_blocked(admin, 1)
        waiters[1].send("BZPOPMAX", "other", "q", "0")
        _wait_blocked(admin, 2)
        waiters[2].send("BZMPOP", "0", "2", "other", "q", "MAX", "COUNT", "5")
        _wait_blocked(admin, 3)
        replies = [admin.call("ZADD", "q", "1", "a", "2", "b", "3", "c", "4", "d")]
        replies += [w.read_raw() for w in waiters]
        replies.append(admin.call("EXISTS", "q"))
        for conn in waiters:
            conn.close()
        return replies
    _compare(differ, scenario)


def test_blocked_waiters_woken_by_every_kind_of_write(differ):
    def scenario(port, protocol, admin):
        replies = []
        waiter = _conn(port, protocol)
        admin.call("ZADD", "src", "5", "x", "6", "y")
        for write in (["ZINCRBY", "q", "1", "m"], ["ZUNIONSTORE", "q", "1", "src"],
                      ["ZRANGESTORE", "q", "src", "0", "0"], ["ZADD", "q", "INCR", "2", "n"],
                      ["ZINTERSTORE", "q", "2", "src", "src"],
                      ["ZDIFFSTORE", "q", "1", "src"]):
            admin.call("DEL", "q")
            waiter.send("BZPOPMIN", "q", "0")
            _wait_blocked(admin, 1)
            replies += [admin.call(*write), waiter.read_raw(), admin.call("ZCARD", "q")]
        # A write that adds nothing does not wake the waiter; a wrong type is skipped.
        admin.call("DEL", "q")
        waiter.send("BZPOPMAX", "q", "0")
        _wait_blocked(admin, 1)
        replies += [admin.call("ZADD", "q", "XX", "1", "a"), admin.call("RPUSH", "q", "v"),
                    admin.call("DEL", "q"), admin.call("ZADD", "q", "7", "z"),
                    waiter.read_raw()]
        waiter.close()
        return replies
    _compare(differ, scenario)


def test_blocking_timeout(differ):
    def scenario(port, protocol, admin):
        waiter = _conn(port, protocol)
        started = time.time()
        waiter.send("BZPOPMIN", "q", "0.2")
        first = waiter.read_raw()
        waiter.send("BZMPOP", "0.1", "1", "q", "MIN")
        second = waiter.read_raw()
        elapsed = time.time() - started
        waiter.close()
        return [first, second, 0.25 < elapsed < 2.0]
    _compare(differ, scenario)


@needs_multi
def test_blocking_inside_multi_returns_at_once(differ):
    differ.check("MULTI", "BZPOPMIN q 0", "BZPOPMAX q 0", "BZMPOP 0 1 q MIN", "EXEC")


def test_frozen_clock_fires_blocking_timeouts(tmp_path):
    """On a server of its own: advancing the clock leaves that server 6 s ahead, which
    would skew the shared server's TTLs against redis-server in later tests."""
    from miniredis import Server
    with Server(port=0, dir=str(tmp_path)) as server:
        _frozen_clock_fires_blocking_timeouts(server)


def _frozen_clock_fires_blocking_timeouts(mini) -> None:
    clock = mini.state.clock
    conn = _conn(mini.port)
    clock.freeze()
    try:
        conn.send("BZPOPMIN", "frozen-z", "5")
        time.sleep(0.2)
        conn.sock.settimeout(0.2)
        with pytest.raises(OSError):
            conn.sock.recv(10)
        clock.advance(6)
        conn.sock.settimeout(5)
        assert conn.read_raw() == b"*-1\r\n"
    finally:
        clock.unfreeze()
        conn.close()


# -- set operations ------------------------------------------------------------------------
def test_union_inter_diff(differ):
    differ.check(
        "ZADD a 1 x 2 y 3 w", "ZADD b 3 y 4 z 1 w", "ZUNION 2 a b",
        "ZUNION 2 a b WITHSCORES", "ZUNION 2 a b WEIGHTS 2 3 AGGREGATE MAX WITHSCORES",
        "ZUNION 2 a b aggregate min withscores", "ZUNION 2 a missing WITHSCORES",
        "ZINTER 2 a b WITHSCORES", "ZINTER 2 a b", "ZINTER 2 a b WEIGHTS 1 inf WITHSCORES",
        "ZINTER 2 a a WEIGHTS inf -inf WITHSCORES",
        "ZINTER 2 a a WEIGHTS inf -inf AGGREGATE MIN WITHSCORES",
        "ZINTER 2 a a WEIGHTS inf -inf AGGREGATE MAX WITHSCORES",
        "ZINTER 2 a b WEIGHTS 0 inf WITHSCORES", "ZUNION 2 a b WEIGHTS 0 inf WITHSCORES",
        "ZUNION 2 a a WEIGHTS inf -inf WITHSCORES", "ZINTER 2 a missing",
        "ZDIFF 2 a b", "ZDIFF 2 a b WITHSCORES", "ZDIFF 2 a a", "ZDIFF 2 missing a",
        "ZDIFF 3 a missing b WITHSCORES", "ZINTERCARD 2 a b", "ZINTERCARD 2 a b LIMIT 1",
        "ZINTERCARD 2 a b LIMIT 0", "ZINTERCARD 2 a missing", "ZINTERCARD 1 a",
        "ZUNION 1 a WITHSCORES WITHSCORES",
        "ZUNION 2 a b WEIGHTS 1 2 WEIGHTS 3 4 WITHSCORES",
        "ZUNION 2 a b AGGREGATE min AGGREGATE max WITHSCORES",
        "ZUNION 2 a b WEIGHTS -1 -1 WITHSCORES", "ZUNION 1 a WEIGHTS 0x10 WITHSCORES",
        "ZADD n -inf m inf o", "ZUNION 2 n n WITHSCORES", "ZINTER 2 n n WITHSCORES",
        "ZUNION 2 n n WEIGHTS 1 -1 WITHSCORES")


@needs_sets
def test_plain_sets_as_inputs(differ):
    differ.check(
        "ZADD a 1 x 2 y 3 w", "ZADD b 3 y 4 z 1 w", "SADD s x v",
        "ZUNION 3 a b s WITHSCORES", "ZINTER 3 a b s", "ZINTER 2 a s WEIGHTS 1 inf WITHSCORES",
        "ZUNION 2 a s WEIGHTS 0 inf WITHSCORES", "ZDIFF 3 a b s WITHSCORES",
        "ZDIFF 1 s WITHSCORES", "ZINTERCARD 3 a b s", "ZINTERCARD 1 s",
        "ZUNIONSTORE d 2 a s AGGREGATE MAX", "ZRANGE d 0 -1 WITHSCORES",
        "ZDIFFSTORE d 2 a s", "ZRANGE d 0 -1 WITHSCORES", "ZUNIONSTORE d 1 s", "TYPE d",
        "ZRANGE d 0 -1 WITHSCORES", "ZRANDMEMBER s", "ZSCAN s 0", "ZMPOP 1 s MIN")


def test_plain_sets_as_inputs_in_process(mini):
    """Until SADD exists here: a plain Python set stored directly counts as scores 1."""
    db = mini.state.dbs[9]
    mini.call(lambda: db.set(b"plain-set", {b"x", b"v"}))
    conn = _conn(mini.port)
    try:
        conn.call("ZADD", "zs-a", "1", "x", "2", "y")
        assert conn.call("ZUNION", "2", "zs-a", "plain-set", "WEIGHTS", "1", "3",
                         "WITHSCORES") == (b"*6\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nv\r\n"
                                           b"$1\r\n3\r\n$1\r\nx\r\n$1\r\n4\r\n")
        assert conn.call("ZINTER", "2", "plain-set", "zs-a") == b"*1\r\n$1\r\nx\r\n"
        assert conn.call("ZDIFF", "1", "plain-set", "WITHSCORES") == \
            b"*4\r\n$1\r\nv\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n1\r\n"
        assert conn.call("ZINTERCARD", "2", "plain-set", "zs-a") == b":1\r\n"
        assert conn.call("ZDIFFSTORE", "zs-d", "2", "plain-set", "zs-a") == b":1\r\n"
        assert conn.call("ZRANGE", "zs-d", "0", "-1") == b"*1\r\n$1\r\nv\r\n"
        assert conn.call("ZRANDMEMBER", "plain-set").startswith(b"-WRONGTYPE")
        assert conn.call("ZMPOP", "1", "plain-set", "MIN").startswith(b"-WRONGTYPE")
    finally:
        conn.call("DEL", "plain-set", "zs-a", "zs-d")
        conn.close()


def test_set_operation_errors(differ):
    differ.check(
        "ZADD a 1 x", "SET str v", "ZUNION 0 a", "ZUNION -1 a", "ZUNION x a",
        "ZUNION 3 a b", "ZUNION 1 a WEIGHTS", "ZUNION 1 a WEIGHTS x",
        "ZUNION 1 a WEIGHTS 1 2", "ZUNION 2 a b WEIGHTS 1", "ZUNION 1 a AGGREGATE foo",
        "ZUNION 1 a AGGREGATE", "ZUNION 1 a foo", "ZUNION 1 a WEIGHTS 1e400",
        "ZUNION 1 a WEIGHTS (1", "ZUNION 1 a WEIGHTS nan", "ZUNION 1 a WEIGHTS ' 1'",
        "ZUNIONSTORE d 0 a", "ZUNIONSTORE d -1 a", "ZUNIONSTORE d 3 a b",
        "ZUNIONSTORE d 1 a WITHSCORES", "ZINTERSTORE d 0 a", "ZDIFFSTORE d 0 a",
        "ZDIFF 1 a WEIGHTS 1", "ZDIFF 1 a AGGREGATE SUM", "ZDIFF 0 a", "ZINTER 0 a",
        "ZINTERCARD 0 a", "ZINTERCARD 2 a", "ZINTERCARD 1 a LIMIT",
        "ZINTERCARD 1 a LIMIT -1", "ZINTERCARD 1 a LIMIT x", "ZINTERCARD 1 a foo 1",
        "ZINTERCARD 1 a WITHSCORES", "ZINTERCARD 1 a WEIGHTS 1", "ZUNION 2 a str",
        "ZUNION 2 str missing", "ZINTER 2 missing str", "ZDIFF 2 missing str",
        "ZINTERCARD 2 missing str", "ZUNION 2 a str foo", "ZUNIONSTORE d 2 a str",
        "ZUNION 9223372036854775807 a", "ZUNION 2147483648 a", "ZINTERCARD 2147483648 a",
        "ZUNION 9223372036854775808 a", "ZUNION", "ZUNIONSTORE d 1")


def test_store_commands(differ):
    differ.check(
        "ZADD a 1 x 2 y", "ZADD b 3 y 4 z", "ZUNIONSTORE d 2 a b",
        "ZRANGE d 0 -1 WITHSCORES", "ZINTERSTORE d 2 a b WEIGHTS 2 3",
        "ZRANGE d 0 -1 WITHSCORES", "ZDIFFSTORE d 2 a b", "ZRANGE d 0 -1 WITHSCORES",
        "ZUNIONSTORE d 2 a b AGGREGATE MAX", "ZRANGE d 0 -1 WITHSCORES",
        "ZINTERSTORE d 2 a missing", "EXISTS d", "SET str v", "ZINTERSTORE str 2 a b",
        "TYPE str", "ZUNIONSTORE a 2 a b", "ZRANGE a 0 -1 WITHSCORES",
        "ZDIFFSTORE a 2 a a", "EXISTS a", "EXPIRE b 100", "ZUNIONSTORE b 1 b", "TTL b")


def test_set_operation_scores_are_aggregated_in_cardinality_order(differ):
    """Floating-point sums depend on the order Redis adds the inputs in."""
    differ.check(
        "ZADD a 1e16 m", "ZADD b 1 m 1 n", "ZADD c 1 m 1 n 1 o",
        "ZUNION 3 c b a WITHSCORES", "ZUNION 3 a b c WITHSCORES",
        "ZINTER 3 c b a WITHSCORES", "ZINTER 3 a c b WITHSCORES",
        "ZADD d 0.1 m", "ZADD e 0.2 m 1 x", "ZADD f 0.3 m 1 x 1 y",
        "ZUNION 3 f e d WITHSCORES", "ZINTER 3 f d e WITHSCORES")


# -- ZRANDMEMBER ---------------------------------------------------------------------------
def test_zrandmember_deterministic_cases_and_errors(differ):
    differ.check(
        "ZRANDMEMBER missing", "ZRANDMEMBER missing 5", "ZRANDMEMBER missing 5 WITHSCORES",
        "ZADD r 1 a", "ZRANDMEMBER r", "ZRANDMEMBER r 1 WITHSCORES",
        "ZRANDMEMBER r -2 WITHSCORES", "ZRANDMEMBER r 0 WITHSCORES", "ZRANDMEMBER r 0",
        "ZRANDMEMBER r -9223372036854775808", "ZRANDMEMBER r -9223372036854775807 WITHSCORES",
        "ZRANDMEMBER r -4611686018427387904 WITHSCORES",
        "ZRANDMEMBER r 4611686018427387904 WITHSCORES",
        "ZRANDMEMBER r 9223372036854775807 WITHSCORES", "ZRANDMEMBER r 1 WITHSCORES x",
        "ZRANDMEMBER r 1 foo", "ZRANDMEMBER r x", "ZRANDMEMBER missing x",
        "ZRANDMEMBER missing 1 foo", "ZRANDMEMBER missing -9223372036854775807 WITHSCORES",
        "ZRANDMEMBER r 1 WITHSCORES WITHSCORES", "ZADD big 1 a 2 b 3 c",
        "ZRANDMEMBER big 3 WITHSCORES", "ZRANDMEMBER big 10", "SET s x", "ZRANDMEMBER s",
        "ZRANDMEMBER s 0", "ZRANDMEMBER s 1 WITHSCORES", "ZRANDMEMBER s x",
        SameType("ZRANDMEMBER big"), SameType("ZRANDMEMBER big 2"))


def test_zrandmember_guarantees(mini):
    conn = _conn(mini.port)
    try:
        conn.call("DEL", "rz")
        members = [b"m%d" % i for i in range(20)]
        args = []
        for i, m in enumerate(members):
            args += [str(i), m]
        conn.call("ZADD", "rz", *args)
        distinct = parse_raw(conn.call("ZRANDMEMBER", "rz", "7"))[1]
        names = [item[1] for item in distinct]
        assert len(names) == 7 == len(set(names)) and set(names) <= set(members)
        for _ in range(10):   # a small sample of a listpack comes in ascending order
            sample = [item[1] for item in parse_raw(conn.call("ZRANDMEMBER", "rz", "6"))[1]]
            assert sample == sorted(sample, key=members.index)
        seen = set()
        for _ in range(30):
            seen.add(parse_raw(conn.call("ZRANDMEMBER", "rz"))[1])
        assert len(seen) > 5
        repeated = parse_raw(conn.call("ZRANDMEMBER", "rz", "-50", "WITHSCORES"))[1]
        assert len(repeated) == 100
        for i in range(0, 100, 2):
            member, score = repeated[i][1], repeated[i + 1][1]
            assert score == b"%d" % members.index(member)
    finally:
        conn.call("DEL", "rz")
        conn.close()


# -- ZSCAN ----------------------------------------------------------------------------------
def test_zscan_listpack_and_errors(differ):
    differ.check(
        "ZADD z 1 a 2 b 1.5 c 0x10 d", "ZSCAN z 0", "ZSCAN z 0 COUNT 1", "ZSCAN z 5",
        "ZSCAN z 0 MATCH [ab]", "ZSCAN z 0 MATCH *", "ZSCAN z 0 COUNT 0",
        "ZSCAN z 0 COUNT x", "ZSCAN z 0 TYPE zset", "ZSCAN z 0 MATCH", "ZSCAN z x",
        "ZSCAN z -1", "ZSCAN z ''", "ZSCAN missing 0", "ZSCAN missing 0 COUNT 0",
        "ZSCAN missing x", "SET s x", "ZSCAN s 0", "ZSCAN s x", "ZSCAN z 0 foo bar")


def _scan_all(conn, key, count=10, match=None):
    cursor = b"0"
    found = []
    while True:
        extra = ["MATCH", match] if match else []
        reply = parse_raw(conn.call("ZSCAN", key, cursor, "COUNT", str(count), *extra))
        cursor = reply[1][0][1]
        items = [item[1] for item in reply[1][1][1]]
        found += list(zip(items[::2], items[1::2]))
        if cursor == b"0":
            return found


def test_zscan_skiplist_complete_and_stable(differ):
    for name, port in _both(differ):
        conn = _conn(port)
        try:
            conn.call("FLUSHALL")
            args = []
            for i in range(300):
                args += [str(i), "m%d" % i]
            conn.call("ZADD", "big", *args)
            assert conn.call("OBJECT", "ENCODING", "big") == b"$8\r\nskiplist\r\n"
            found = _scan_all(conn, "big", 17)
            assert sorted(found) == sorted((b"m%d" % i, b"%d" % i) for i in range(300))
            matched = _scan_all(conn, "big", 50, "m1?")
            assert sorted(m for m, _ in matched) == sorted(b"m1%d" % i for i in range(10))
        finally:
            conn.close()


def test_zscan_skiplist_scores_match_redis(listpack_limits):
    """ZSCAN prints a skiplist's scores with %.17g (keeping -0)."""
    results = {}
    for name, port in _both(listpack_limits):
        conn = _conn(port)
        try:
            conn.call("FLUSHALL")
            for i, text in enumerate(SCORE_CORPUS):
                conn.call("ZADD", "big", text, "m%d" % i)
            conn.call("ZADD", "big", "-0", "negzero")
            results[name] = sorted(_scan_all(conn, "big", 7))
        finally:
            conn.close()
    assert (b"negzero", b"-0") in results["redis"]
    assert results["miniredis"] == results["redis"]


def test_zscan_guarantee_under_modification(mini):
    """Members present for the whole scan are returned; churn does not lose them."""
    conn = _conn(mini.port)
    try:
        conn.call("DEL", "churn")
        args = []
        for i in range(400):
            args += [str(i), "keep%d" % i]
        conn.call("ZADD", "churn", *args)
        cursor = b"0"
        seen = set()
        step = 0
        while True:
            reply = parse_raw(conn.call("ZSCAN", "churn", cursor, "COUNT", "25"))
            cursor = reply[1][0][1]
            items = [item[1] for item in reply[1][1][1]]
            seen.update(items[::2])
            step += 1
            conn.call("ZADD", "churn", "1", "new%d" % step, "2", "new%d" % (step + 1000))
            conn.call("ZREM", "churn", "new%d" % (step - 1))
            if cursor == b"0":
                break
        assert {b"keep%d" % i for i in range(400)} <= seen
    finally:
        conn.call("DEL", "churn")
        conn.close()


# -- type errors, WATCH signals, unit checks -------------------------------------------------------
def test_wrongtype_everywhere(differ):
    differ.check(
        "RPUSH l a", "ZADD l 1 a", "ZINCRBY l 1 a", "ZREM l a", "ZCARD l", "ZCOUNT l 0 1",
        "ZLEXCOUNT l - +", "ZSCORE l a", "ZMSCORE l a", "ZRANK l a", "ZREVRANK l a",
        "ZRANGE l 0 1", "ZRANGEBYSCORE l 0 1", "ZREVRANGEBYSCORE l 1 0",
        "ZRANGEBYLEX l - +", "ZREVRANGEBYLEX l + -", "ZREVRANGE l 0 1",
        "ZRANGESTORE d l 0 1", "ZREMRANGEBYRANK l 0 1", "ZREMRANGEBYSCORE l 0 1",
        "ZREMRANGEBYLEX l - +", "ZPOPMIN l", "ZPOPMAX l 2", "ZMPOP 1 l MIN",
        "BZPOPMIN l 0", "BZPOPMAX l 0", "BZMPOP 0 1 l MIN", "ZUNION 1 l", "ZINTER 1 l",
        "ZDIFF 1 l", "ZUNIONSTORE d 1 l", "ZINTERSTORE d 1 l", "ZDIFFSTORE d 1 l",
        "ZINTERCARD 1 l", "ZRANDMEMBER l", "ZSCAN l 0", "ZADD z 1 a", "LPUSH z x",
        "GET z", "TYPE z", "LRANGE l 0 -1")


def test_writes_signal_modifications(mini):
    """Every write that changes a set calls signal_modified (what WATCH relies on);
    reads and no-op writes do not."""
    seen = []
    state = mini.state
    previous = state.on_key_modified

    def hook(database, key):
        seen.append(key)
        if previous is not None:
            previous(database, key)
    conn = _conn(mini.port)
    try:
        conn.call("DEL", "sig", "sig2")
        conn.call("ZADD", "sig", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
        state.on_key_modified = hook
        cases = [
            (["ZADD", "sig", "1", "a"], False), (["ZADD", "sig", "9", "a"], True),
            (["ZADD", "sig", "NX", "1", "a"], False), (["ZINCRBY", "sig", "1", "a"], True),
            (["ZSCORE", "sig", "a"], False), (["ZRANGE", "sig", "0", "-1"], False),
            (["ZREM", "sig", "nobody"], False), (["ZREM", "sig", "a"], True),
            (["ZREMRANGEBYSCORE", "sig", "100", "200"], False),
            (["ZREMRANGEBYRANK", "sig", "0", "0"], True), (["ZPOPMIN", "sig"], True),
            (["ZPOPMAX", "sig", "0"], False), (["ZMPOP", "1", "sig", "MAX"], True),
            (["ZUNIONSTORE", "sig2", "1", "sig"], True),
            (["ZRANGESTORE", "sig2", "nokey", "0", "-1"], True),
            (["ZRANGESTORE", "sig2", "nokey", "0", "-1"], False),
        ]
        for command, signalled in cases:
            seen.clear()
            conn.call(*command)
            assert bool(seen) == signalled, command
    finally:
        state.on_key_modified = previous
        conn.call("DEL", "sig", "sig2")
        conn.close()


def test_zset_value_class_unit():
    limits = (3, 4)
    zset = ZSet()
    for i, member in enumerate([b"b", b"a", b"c"]):
        zset.insert(member, float(i % 2), limits)
    assert [m for _, m in zset.entries()] == [b"b", b"c", b"a"]
    assert zset.rank(b"a") == 2 and zset.rank(b"zz") is None
    assert zset.listpack
    zset.insert(b"d", -0.0, limits)          # fourth member: past the entries limit
    assert not zset.listpack
    assert str(zset.scores[b"d"]) == "-0.0"
    zset.update(b"d", 5.0, zset.scores[b"d"])
    assert zset.pop(1, highest=True) == [(5.0, b"d")]
    copy = zset.copy()
    copy.remove(b"a")
    assert b"a" in zset and b"a" not in copy and not copy.listpack
    assert zset.remove_slice(0, 2) == 2 and len(zset) == 1
    built = ZSet.build({b"x": -0.0, b"y": 1.0}, limits)
    assert built.listpack and str(built.scores[b"x"]) == "0.0"
    assert not ZSet.build({b"long-member": 1.0}, limits).listpack


def test_random_ranges_against_redis(differ):
    """Random members and scores (many ties), random range queries of every kind."""
    rng = random.Random(1234)
    members = ["m%02d" % i for i in range(40)]
    commands = []
    for member in members:
        commands.append(["ZADD", "r", str(rng.choice([0, 1, 1.5, 2, -3, 7])), member])
    commands.append(["ZADD", "lx"] + [x for m in members for x in ("0", m)])
    bounds = ["-inf", "+inf", "0", "(0", "1", "(1", "1.5", "(2", "-3", "(7", "7", "3"]
    lex = ["-", "+", "[m05", "(m05", "[m2", "(m33", "[m", "[n", "(m00"]
    for _ in range(60):
        lo, hi = rng.choice(bounds), rng.choice(bounds)
        a, b = rng.choice(lex), rng.choice(lex)
        limit = ["LIMIT", str(rng.randint(-1, 12)), str(rng.randint(-2, 12))] \
            if rng.random() < 0.5 else []
        commands += [
            ["ZRANGEBYSCORE", "r", lo, hi, "WITHSCORES"] + limit,
            ["ZREVRANGEBYSCORE", "r", hi, lo] + limit, ["ZCOUNT", "r", lo, hi],
            ["ZRANGEBYLEX", "lx", a, b] + limit, ["ZREVRANGEBYLEX", "lx", b, a] + limit,
            ["ZLEXCOUNT", "lx", a, b],
            ["ZRANGE", "r", str(rng.randint(-45, 45)), str(rng.randint(-45, 45))],
            ["ZREVRANGE", "r", str(rng.randint(-45, 45)), str(rng.randint(-45, 45)),
             "WITHSCORES"],
            ["ZRANK", "r", rng.choice(members)], ["ZREVRANK", "r", rng.choice(members)]]
    differ.check(*commands, protocols=(2,))


def test_keyspace_hits_and_misses(differ):
    """Read commands count a keyspace hit or miss per key looked up; writes do not."""
    commands = [
        "ZADD z 1 a 2 b", "SET s x", "ZSCORE z a", "ZSCORE missing a", "ZCARD z",
        "ZMSCORE missing a", "ZRANK z a", "ZREVRANK missing a", "ZCOUNT z 0 1",
        "ZLEXCOUNT missing - +", "ZRANGE z 0 -1", "ZRANGEBYSCORE missing 0 1",
        "ZRANGEBYLEX z - +", "ZRANGESTORE d z 0 -1", "ZRANGESTORE d missing 0 -1",
        "ZUNION 2 z missing", "ZINTERSTORE d 2 z missing", "ZINTERCARD 2 z z",
        "ZRANDMEMBER z", "ZRANDMEMBER missing 2", "ZSCAN z 0", "ZSCAN missing 0",
        "ZSCORE s a", "ZRANGE s 0 1", "ZADD z 3 c", "ZINCRBY z 1 a", "ZREM z nobody",
        "ZPOPMIN missing", "ZREMRANGEBYRANK z 5 6", "ZMPOP 1 missing MIN",
        "BZPOPMIN z 0", "ZCOUNT z a b"]
    found = {}
    for name, port in _both(differ):
        conn = _conn(port)
        try:
            conn.call("FLUSHALL")
            conn.call("CONFIG", "RESETSTAT")
            for command in commands:
                conn.call(*command.split())
            info = conn.call("INFO", "stats").decode()
            found[name] = [line for line in info.split("\r\n")
                           if line.startswith(("keyspace_hits:", "keyspace_misses:"))]
        finally:
            conn.close()
    assert found["miniredis"] == found["redis"]


def test_score_range_paths_agree_with_brute_force():
    """ZSet.score_range walks (short skips) or uses positions (long skips): both must
    give what a plain filter of the ordered entries gives."""
    rng = random.Random(7)
    zset = ZSet()
    for i in range(300):
        zset.insert(b"m%03d" % i, float(rng.choice([-1.5, 0, 1, 2, 2, 3, 10])), (0, 0))
    ordered = list(zset.entries())
    ends = [-float("inf"), -1.5, 0.0, 1.0, 2.0, 2.5, 3.0, 10.0, float("inf")]
    for _ in range(400):
        low, high = rng.choice(ends), rng.choice(ends)
        low_ex, high_ex = rng.random() < 0.5, rng.random() < 0.5
        reverse = rng.random() < 0.5
        offset, limit = rng.choice([0, 1, 5, 63, 64, 65, 100, 250]), rng.randint(-1, 80)
        inside = [e for e in ordered
                  if (e[0] > low if low_ex else e[0] >= low)
                  and (e[0] < high if high_ex else e[0] <= high)]
        if reverse:
            inside.reverse()
        want = inside[offset:] if limit < 0 else inside[offset:offset + limit]
        got = zset.score_range(low, low_ex, high, high_ex, reverse, offset, limit)
        assert got == want, (low, low_ex, high, high_ex, reverse, offset, limit)


def test_zrange_by_score_from_the_start_over_many_chunks(differ):
    """A score range without an offset is read from where it starts (its top end when
    reversed), chunk by chunk (ScoreList.score_columns): bounds inside, between and across chunks, equal
    scores spanning chunks, open ends, limits within one chunk and across several;
    and ranges by rank at either end and in between."""
    rand = random.Random(7)
    members = ["%d %s" % (i // 3 - 500, "m%05d" % i) for i in range(6000)]
    commands = ["ZADD big " + " ".join(members[i:i + 500]) for i in range(0, 6000, 500)]
    commands += ["ZADD big 0 zero -0 negzero -inf low inf high"]
    # 2,000 members of one score: that score spans several chunks.
    commands += ["ZADD big " + " ".join("700 s%04d" % i for i in range(j, j + 500))
                 for j in range(0, 2000, 500)]
    bounds = ["-inf", "+inf", "inf", "0", "(0", "-500", "(-500", "1499", "(1499", "1500",
              "-501", "170", "(170", "171.5", "(-0", "-0", "700", "(700", "699", "(701"]
    for _ in range(80):
        low, high = rand.choice(bounds), rand.choice(bounds)
        if rand.random() < 0.6:
            low, high = str(rand.randrange(-520, 1520)), str(rand.randrange(-520, 1520))
            if rand.random() < 0.3:
                low = "(" + low
            if rand.random() < 0.3:
                high = "(" + high
        tail = rand.choice(["", " LIMIT 0 %d" % rand.choice([0, 1, 10, 700, 3000, -1]),
                            " WITHSCORES", " WITHSCORES LIMIT 0 %d" % rand.randrange(2000)])
        commands.append("ZRANGEBYSCORE big %s %s%s" % (low, high, tail))
        commands.append("ZRANGE big %s %s BYSCORE%s" % (low, high, tail))
        commands.append("ZREVRANGEBYSCORE big %s %s%s" % (high, low, tail))
        commands.append("ZRANGE big %s %s BYSCORE REV%s" % (high, low, tail))
    # Chunks split and merged by writes in between, then read again.
    commands += ["ZREMRANGEBYSCORE big 100 900", "ZADD big " + " ".join(
        "%d n%05d" % (rand.randrange(-600, 1600), i) for i in range(2000))]
    commands += ["ZRANGEBYSCORE big %d +inf LIMIT 0 %d" % (rand.randrange(-600, 1600),
                                                           rand.choice([5, 600, 2500]))
                 for _ in range(30)]
    commands += ["ZREVRANGEBYSCORE big %d -inf LIMIT 0 %d" % (rand.randrange(-600, 1600),
                                                              rand.choice([5, 600, 2500]))
                 for _ in range(30)]
    # Ranges by rank: the first and last chunks are found without the Fenwick tree.
    commands += ["ZRANGE big 0 9", "ZREVRANGE big 0 9 WITHSCORES", "ZRANGE big -10 -1",
                 "ZREVRANGE big -3 -1"]
    for _ in range(30):
        start = rand.randrange(-9000, 9000)
        commands.append(rand.choice(["ZRANGE", "ZREVRANGE"]) + " big %d %d" % (
            start, start + rand.choice([0, 1, 5, 700])))
    differ.check(*commands)
