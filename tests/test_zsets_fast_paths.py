"""Sorted sets of several chunks against redis-server: the paths taken by ZADD score
updates (ScoreList.move), ZRANK without WITHSCORE (ScoreList.position) and
ZRANGEBYSCORE with no option or ``LIMIT 0 count`` (ScoreList.score_members), with
the edge cases each takes a shortcut around."""
from __future__ import annotations

import random


def _fill(count: int, key: str = "big") -> list:
    """ZADDs giving ``key`` members m00000.. scored by their number (chunks of about
    512 entries once past the listpack limit, as the set grows at its end)."""
    return ["ZADD %s " % key + " ".join("%d m%05d" % (i, i)
                                        for i in range(j, min(count, j + 500)))
            for j in range(0, count, 500)]


def test_score_updates_within_and_across_chunks(differ):
    """ZADD moving members: a small step (often within the member's chunk), a jump to
    another chunk, onto a score another member holds (ties ordered by member bytes),
    to and from 0, -0, -inf and inf, by a plain-digits score (ZADD's one-pair path) and
    by any other spelling; many moves into one score region (its chunk splits) and out
    of another (its chunk shrinks and merges). Every reply, every rank and the whole
    order afterwards must be Redis's."""
    rand = random.Random(11)
    commands = _fill(5000)
    for _ in range(300):
        number = rand.randrange(5000)
        score = rand.choice([
            str(number + rand.choice([1, 2, 7])), "%s" % (number - rand.choice([0.5, 3])),
            str(rand.randrange(5000)), str(rand.randrange(0, 50) * 100), "0", "-0",
            "-inf", "+inf", "%d.25" % rand.randrange(5000), str(number)])
        commands.append("ZADD big %s m%05d" % (score, number))
        if rand.random() < 0.2:
            commands.append("ZRANK big m%05d" % number)
    # Into one region until its chunk splits, then out of another until it merges.
    commands += ["ZADD big %d.5 m%05d" % (2000 + i % 7, i) for i in range(3000, 3800)]
    commands += ["ZADD big %d m%05d" % (-1 - i, i) for i in range(1000, 1480)]
    commands += ["ZRANK big m%05d" % rand.randrange(5000) for _ in range(150)]
    commands += ["ZRANGE big 0 -1 WITHSCORES", "ZCARD big", "OBJECT ENCODING big"]
    differ.check(*commands, protocols=(2,))


def test_zrank_over_ties_and_chunk_ends(differ):
    """ZRANK of members whose score is held once, by several members in one chunk, and
    by a run of members spanning chunks (a score equal to a chunk's last one); of
    missing members and keys; in a listpack set; ZREVRANK (the long way still; and
    WITHSCORE, Redis 7.2's, is tested in test_zsets.py)."""
    commands = _fill(3000)
    commands += ["ZADD big " + " ".join("1500 t%04d" % i for i in range(0, 1500, 3))]
    commands += ["ZADD big " + " ".join("2999 u%04d" % i for i in range(30))]
    commands += ["ZADD small 1 a 1 b 2 c", "SET str x"]
    ranks = ["m00000", "m00001", "m01499", "m01500", "m01501", "m02999", "t0000",
             "t0003", "t1497", "u0000", "u0029", "m00511", "m00512", "m00513",
             "m01023", "m01024", "absent", "t0001"]
    commands += ["ZRANK big %s" % member for member in ranks]
    commands += ["ZREVRANK big %s" % member for member in ranks[:6]]
    commands += ["ZRANK small a", "ZRANK small b", "ZRANK small c", "ZRANK small x",
                 "ZRANK missing a", "ZRANK str a", "ZRANK big"]
    differ.check(*commands)


def test_zrangebyscore_pages(differ):
    """``ZRANGEBYSCORE key min max [LIMIT 0 count]``: a page within one chunk (the last
    entry checked against max, closed or open), a page reaching max before its end, a
    page crossing a chunk, count 0, negative and larger than the set; min and max as
    digits, ``(``, +inf, -inf, decimals, empty ranges (min above max, equal and open),
    ranges above every score; and the errors in Redis's order (the count before the
    range before the key, WRONGTYPE last), LIMIT spelt in any case; the replies as a
    script and a transaction get them."""
    rand = random.Random(5)
    commands = _fill(3000) + ["ZADD big 0 zero -0 nzero 1500 t1 1500 t2", "SET str x"]
    pages = [("0", "+inf", "10"), ("100", "109", "10"), ("100", "(109", "10"),
             ("100", "108", "10"), ("505", "+inf", "20"), ("1020", "1030", "50"),
             ("0", "+inf", "0"), ("7", "+inf", "-1"), ("7", "20", "-5"),
             ("2990", "+inf", "100"), ("3000", "+inf", "10"), ("(2999", "+inf", "10"),
             ("-inf", "+inf", "3"), ("(0", "5", "4"), ("-0", "0", "4"), ("0", "-0", "9"),
             ("5", "4", "10"), ("(5", "5", "10"), ("5", "(5", "10"), ("5", "5", "10"),
             ("1499.5", "1500", "10"), ("1500", "1500", "2"), ("(1499", "+inf", "3"),
             ("-inf", "-inf", "10"), ("+inf", "+inf", "10"), ("-5", "(0", "10")]
    for low, high, count in pages:
        commands.append("ZRANGEBYSCORE big %s %s LIMIT 0 %s" % (low, high, count))
        commands.append("ZRANGEBYSCORE big %s %s limit 0 %s" % (low, high, count))
    for _ in range(40):
        low = rand.randrange(-10, 3010)
        commands.append("ZRANGEBYSCORE big %d %s LIMIT 0 %d" % (
            low, rand.choice(["+inf", str(low + rand.randrange(40)), "(%d" % (low + 9)]),
            rand.choice([1, 10, 600])))
    commands += ["ZRANGEBYSCORE big 10 20", "ZRANGEBYSCORE big (10 (20",
                 "ZRANGEBYSCORE big 2995 +inf", "ZRANGEBYSCORE big 4000 +inf",
                 "ZRANGEBYSCORE missing 0 1", "ZRANGEBYSCORE missing 0 1 LIMIT 0 1",
                 "ZRANGEBYSCORE str 0 1", "ZRANGEBYSCORE str 0 1 LIMIT 0 5",
                 "ZRANGEBYSCORE str x 1 LIMIT 0 5", "ZRANGEBYSCORE big x 1 LIMIT 0 5",
                 "ZRANGEBYSCORE big 0 x LIMIT 0 5", "ZRANGEBYSCORE big x 1 LIMIT 0 y",
                 "ZRANGEBYSCORE big 0 1 LIMIT 0 99999999999999999999",
                 "ZRANGEBYSCORE big 0 1 LIMIT 00 5", "ZRANGEBYSCORE big 0 1 LIMIT 1 5",
                 "ZRANGEBYSCORE big 0 1 LIMIT 0", "ZRANGEBYSCORE big 0 1 LIMIT 0 5 x",
                 "ZRANGEBYSCORE big 0 1 LIMTI 0 5", "ZRANGEBYSCORE big 0 1 WITHSCORES",
                 "ZRANGEBYSCORE big 0 1 LIMIT 0 +5", "ZRANGEBYSCORE big nan 1",
                 "ZRANGEBYSCORE big 0 1 LIMIT 0 -0", "ZRANGEBYSCORE small 0 5 LIMIT 0 2"]
    commands += ["ZADD small 1 a 2 b 3 c", "ZRANGEBYSCORE small 0 5 LIMIT 0 2",
                 "ZRANGEBYSCORE small (1 5", "ZRANGEBYSCORE small 4 5 LIMIT 0 2"]
    # The reply as a script sees it, and inside a transaction.
    commands += [["EVAL", "return redis.call('ZRANGEBYSCORE', KEYS[1], '10', '+inf', "
                  "'LIMIT', '0', '3')", "1", "big"],
                 ["EVAL", "return redis.call('ZRANGEBYSCORE', KEYS[1], '5', '4')", "1",
                  "big"],
                 "MULTI", "ZRANGEBYSCORE big 10 +inf LIMIT 0 2", "ZRANGEBYSCORE big 5 7",
                 "EXEC"]
    differ.check(*commands)
