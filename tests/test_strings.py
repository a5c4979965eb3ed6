"""String commands: differential tests of replies and errors, RESP2 and RESP3.

Every sequence goes to a real redis-server and to miniredis (see tests/harness.py);
the raw replies must be byte-identical. Lists (RPUSH) stand in for "another type".
"""
from __future__ import annotations

import random
from fractions import Fraction

import pytest

from miniredis.commands import load_all, lookup
from miniredis.longdouble import format_long_double, parse_long_double
from tests.harness import (assert_same_hits_and_misses, command_metadata,
                           configured, mini_signals, redis_signals)
ALL_STRING_COMMANDS = (
    "get set incr decr incrby decrby mget mset setnx setex psetex msetnx getset getdel "
    "getex append strlen getrange substr setrange incrbyfloat setbit getbit bitcount "
    "bitpos bitop bitfield bitfield_ro lcs").split()


@pytest.fixture
def small_bulk_len(differ):
    """proto-max-bulk-len at its 1 MB minimum on both servers, restored afterwards."""
    with configured(differ, ['proto-max-bulk-len', '1048576'],
                    ['proto-max-bulk-len', '536870912']):
        yield differ


# -- metadata -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_STRING_COMMANDS)
def test_command_metadata_matches_redis(differ, name):
    """Arity, flags, key positions, summary, since and group as Redis 7.0 has them."""
    assert command_metadata(differ.ports["miniredis"], name) == \
        command_metadata(differ.ports["redis"], name)


def test_every_command_is_registered():
    load_all()
    for name in ALL_STRING_COMMANDS:
        cmd = lookup(name.encode())
        assert cmd is not None and cmd.group in ("string", "bitmap"), name


# -- setters and getters -------------------------------------------------------------------
def test_set_family(differ):
    differ.check(
        "SETNX a 1", "SETNX a 2", "GET a", "SETEX b 100 v", "TTL b", "SETEX b 0 v",
        "SETEX b -1 v", "SETEX b x v", "PSETEX c 100000 v", "TTL c",
        "PSETEX c 0 v", "MSETNX d 1 e 2", "MSETNX e 3 f 4", "GET f", "MSETNX d", "MSETNX d 1 e",
        "GETSET a 9", "GETSET missing 1", "GET missing", "RPUSH l x", "GETSET l 1",
        "GETDEL a", "GETDEL a", "GETDEL l", "SETNX", "SETEX a 1")


def test_setnx_setex_psetex_edges(differ):
    differ.check(
        "SETNX", "SETNX a", "SETNX a b c", "SET a 1", "EXPIRE a 100", "SETNX a 2", "TTL a",
        "SETEX a 10", "SETEX a 10 v x", "SETEX a 9223372036854775807 v",
        "SETEX a 9223372036854775 v", "SETEX a 9223372036854776 v",
        "SETEX a 9223372036854775808 v", "SETEX a 1.5 v", "SETEX a '' v", "SETEX a +1 v",
        "SETEX a 01 v", "PSETEX a 9223372036854775807 v", "PSETEX a -5 v",
        "PSETEX a 9223372036854775806 v", "PSETEX a 1.0 v", "SETEX a 100 v", "GET a",
        "TTL a", "RPUSH l x", "SETEX l 100 v", "TYPE l", "RPUSH l2 x", "SETNX l2 v",
        "PSETEX l2 100000 v", "TYPE l2")


def test_msetnx_getset_getdel_edges(differ):
    differ.check(
        "MSETNX", "MSETNX a", "MSETNX a 1 b", "MSETNX a 1 a 2", "GET a", "MSETNX b 1 a 3",
        "GET b", "RPUSH l x", "MSETNX l 1", "MSETNX x 1 l 2", "GET x",
        "GETSET", "GETSET a", "GETSET a 1 2", "SET g v", "EXPIRE g 100", "GETSET g w",
        "TTL g", "GET g", "SETRANGE r 2 x", "GETSET r y", "GET r",
        "GETDEL", "GETDEL a b", "SET d v", "GETDEL d", "EXISTS d", "APPEND c x",
        "GETDEL c", "GETDEL c")


def test_set_options(differ):
    differ.check(
        "SET", "SET a", "SET a b c", "SET a b NX NX", "GET a", "SET a c XX XX",
        "SET a d NX XX", "SET a d XX NX", "SET a b GET GET", "SET a b EX 10 EX 20", "TTL a",
        "SET a b EX 10 PX 100", "SET a b KEEPTTL EX 10", "SET a b EX 10 KEEPTTL",
        "SET a b KEEPTTL KEEPTTL", "TTL a", "SET a b PERSIST", "SET a b EX", "SET a b EX 0",
        "SET a b EX -1", "SET a b EX x", "SET a b PX 0", "SET a b EXAT 0", "SET a b PXAT 0",
        "SET a b EX 9223372036854775", "SET a b EX 9223372036854776",
        "SET a b PX 9223372036854775807", "SET a b EXAT 9223372036854775",
        "SET a b PXAT 9223372036854775807", "PEXPIRETIME a", "SET a b PXAT 1", "GET a", "EXISTS a",
        "SET a b PXAT 1 GET", "SET a v", "SET a w PXAT 1 GET", "GET a", "SET a b nx GET",
        "SET a c NX GET", "GET a", "SET z c XX GET", "EXISTS z", "SET z c XX", "RPUSH l x",
        "SET l v NX", "SET l v XX", "TYPE l", "SET l v GET", "SET l v NX GET",
        "SET l v EX x GET", "SET l v EX 0 GET", "SET l v", "TYPE l", "SET a b ex 100 get",
        "SET a b Px 100000 NX", "SET a b FOO", "SET a b EX 10 FOO", "SET a b GET FOO",
        # (SET key value EX|PX n, as clients spell it, skips the option loop)
        "SET a b ex 100", "TTL a", "SET a b px 100000", "TTL a", "SET a b EX x",
        "SET a b px -5", "SET a b PX 9223372036854775807", "TTL a", "RPUSH q x",
        "SET q v EX 100", "TYPE q", "TTL q", "SET q w", "TTL q")


def test_counters(differ):
    differ.check(
        "INCR", "INCR a b", "SET a 9223372036854775806", "INCR a", "INCR a", "DECR a",
        "SET a -9223372036854775807", "DECR a", "DECR a", "INCRBY a 9223372036854775807",
        "INCRBY a -1", "SET a ' 1'", "INCR a", "SET a '1 '", "INCR a", "SET a 01", "INCR a",
        "SET a +1", "INCR a", "SET a -0", "INCR a", "SET a 1.0", "INCR a", "SET a ''",
        "INCR a", "SET a 99999999999999999999", "INCR a", "INCRBY a x", "INCRBY missing x",
        "INCRBY missing 9223372036854775808", "DECRBY missing -9223372036854775808",
        "DECRBY missing 9223372036854775807", "DECRBY missing2 -9223372036854775807",
        "INCRBY missing3 -9223372036854775808", "DECR missing3", "GET missing3", "SET t 5",
        "EXPIRE t 100", "INCR t", "TTL t", "DECRBY t 3", "TTL t", "RPUSH l x", "INCR l",
        "INCRBY l x", "DECRBY l 1", "DECR l")


def test_mget_mset(differ):
    differ.check(
        "MGET", "MGET a", "MSET a 1 b 2", "MGET a b c", "MSET a", "MSET a 1 b", "MSET",
        "RPUSH l x", "MGET l a", "MSET l 1", "TYPE l", "MSETNX a 1 l 1", "SET t v",
        "EXPIRE t 100", "MSET t w", "TTL t", "MSET x 1 x 2", "GET x", "MSETNX y 1 y 2",
        "GET y", ["MSET", b"bin\x00key", b"\x00\xff"], ["MGET", b"bin\x00key"])


def test_getex(differ):
    differ.check(
        "SET a v", "GETEX a", "GETEX a EX 100", "TTL a", "GETEX a PX 200000", "TTL a",
        "GETEX a EXAT 4102444800", "EXPIRETIME a", "GETEX a PXAT 4102444800000",
        "GETEX a PERSIST", "TTL a", "GETEX a EX 1 PX 1", "GETEX a PERSIST EX 1",
        "GETEX a FOO", "GETEX a EX", "GETEX a EX 0", "GETEX a EX x", "GETEX missing EX 10",
        "GETEX a PXAT 1", "EXISTS a", "RPUSH l x", "GETEX l")


def test_getex_option_rules(differ):
    """Options may repeat (last wins); the time is checked only for an existing string."""
    differ.check(
        "SET a v", "GETEX a EX 10 EX 20", "TTL a", "GETEX a ex 10", "GETEX a persist",
        "GETEX a PERSIST PERSIST", "GETEX a EX -1", "GETEX a PX -1", "GETEX a EXAT 0",
        "GETEX a PXAT 0", "GETEX a PXAT -1", "GETEX a EX 9223372036854775807",
        "GETEX a EX 9223372036854775", "GETEX a EX 9223372036854776",
        "GETEX a PX 9223372036854775807", "GETEX a EXAT 9223372036854775807",
        "GETEX a EXAT 9223372036854775", "GETEX a PXAT 9223372036854775807",
        "PEXPIRETIME a",
        "GETEX a KEEPTTL", "GETEX a NX", "GETEX a GET", "GETEX a EX 1.5", "GETEX a EX",
        "GETEX a PX", "GETEX a PERSIST 1", "GETEX missing PERSIST", "GETEX missing EX x",
        "GETEX missing EX 0", "GETEX missing FOO", "GETEX missing EX", "GETEX a EXAT 1",
        "GET a", "SET b v", "GETEX b EX 100 PERSIST", "GETEX b PX 100 EXAT 10", "GETEX",
        "GETEX b EX 100", "GETEX b", "TTL b", "RPUSH l x", "GETEX l EX x", "GETEX l FOO",
        "GETEX l PERSIST")


# -- APPEND, STRLEN, ranges ----------------------------------------------------------------
def test_append_strlen_ranges(differ):
    differ.check(
        "APPEND a hello", "APPEND a ' world'", "GET a", "STRLEN a", "STRLEN missing",
        "GETRANGE a 0 4", "GETRANGE a -5 -1", "GETRANGE a 6 100", "GETRANGE a 5 2",
        "GETRANGE a -100 2", "GETRANGE a -1 -5", "GETRANGE missing 0 -1",
        "GETRANGE a x 1", "SUBSTR a 1 3", "SETRANGE a 6 WORLD", "GET a",
        "SETRANGE a 15 !", "GET a", "SETRANGE new 3 abc", "GET new", "SETRANGE a -1 x",
        "SETRANGE a 536870912 x", "SETRANGE empty 5 ''", "EXISTS empty",
        "SETRANGE a 0 ''", "RPUSH l x", "APPEND l x", "STRLEN l", "GETRANGE l 0 1",
        "SETRANGE l 0 x", "SET n 1", "APPEND n 2", "INCR n", "GET n")


def test_append_strlen_edges(differ):
    differ.check(
        "APPEND", "APPEND a", "APPEND a b c", "APPEND a ''", "EXISTS a", "STRLEN a",
        "APPEND a x", "SET n 100", "APPEND n 0", "GET n", "OBJECT ENCODING n", "SET e ''",
        "APPEND e ''", "EXISTS e", "STRLEN", "STRLEN a b", "SET k 12345", "STRLEN k",
        "SET f 3.5", "STRLEN f", "EXPIRE n 100", "APPEND n 1", "TTL n",
        ["APPEND", "bin", b"\x00\xff\r\n"], ["APPEND", "bin", b"\x00"], "GET bin",
        "STRLEN bin")


def test_getrange_edges(differ):
    differ.check(
        "SET s 'This is a string'", "GETRANGE s 0 3", "GETRANGE s -3 -1", "GETRANGE s 0 -1",
        "GETRANGE s 10 100", "GETRANGE s 0 0", "GETRANGE s -1 0", "GETRANGE s -100 -100",
        "GETRANGE s -100 -50", "GETRANGE s 100 200", "GETRANGE s 15 16", "GETRANGE s 16 16",
        "GETRANGE s -9223372036854775808 9223372036854775807",
        "GETRANGE s 9223372036854775807 9223372036854775807", "GETRANGE s -1 -1",
        "GETRANGE s 5 -100", "GETRANGE s 1 x", "GETRANGE s 9223372036854775808 1",
        "GETRANGE s", "GETRANGE s 0", "GETRANGE s 0 1 2", "SET e ''", "GETRANGE e 0 -1",
        "GETRANGE e 0 0", "GETRANGE e -1 -1", "GETRANGE missing x y", "SUBSTR s 0 3",
        "SUBSTR s -3 -1", "SUBSTR s", "SUBSTR missing 0 1", "SET n 1234", "GETRANGE n 1 2",
        "GETRANGE s -5 3", "RPUSH l x", "GETRANGE l x 0", "SUBSTR l 0 1")


def test_setrange_edges(differ):
    differ.check(
        "SETRANGE", "SETRANGE a 0", "SETRANGE a 0 x y", "SETRANGE a x y", "SETRANGE a -1 ''",
        "SETRANGE missing -1 ''", "SETRANGE a 536870911 ''", "SETRANGE a 536870912 ''",
        "SETRANGE a 9223372036854775807 x", "SETRANGE a 9223372036854775808 x",
        "SETRANGE a 536870912 x", "SET a hello", "SETRANGE a 1 ''", "SETRANGE a 1 EY",
        "GET a", "SETRANGE a 100 ''", "STRLEN a", "SETRANGE a 7 x", "GET a", "SET n 10",
        "EXPIRE n 100", "SETRANGE n 0 2", "TTL n", "GET n", "OBJECT ENCODING n", "INCR n",
        "SETRANGE a 0 x FOO", "RPUSH l x", "SETRANGE l 0 ''", "SETRANGE l -1 x",
        "SETRANGE l 536870912 x")


def test_size_limits_follow_proto_max_bulk_len(small_bulk_len):
    small_bulk_len.check(
        "SETRANGE k 1048575 x", "SETRANGE k 1048575 xy", "SETRANGE k 1048576 ''", "STRLEN k",
        "APPEND k y", "SET j a", ["APPEND", "j", "x" * 1048575], "APPEND j ''",
        "SETBIT b 8388607 1", "SETBIT b 8388608 1", "GETBIT b 8388608", "GETBIT b 8388607",
        "BITFIELD b GET u8 8388600", "BITFIELD b GET u8 8388608",
        "BITFIELD b SET u8 8388607 1", "BITFIELD b SET i8 #1048575 1",
        "BITFIELD b SET i8 #1048576 1", "STRLEN b", "SETRANGE new 1048576 x", "EXISTS new")


# -- INCRBYFLOAT ---------------------------------------------------------------------------
def test_incrbyfloat(differ):
    differ.check(
        "SET y 10.5", "INCRBYFLOAT y 0.1", "INCRBYFLOAT y -5", "INCRBYFLOAT y 1e3",
        "INCRBYFLOAT y 5.0e3", "INCRBYFLOAT y 0.0001", "INCRBYFLOAT new 3",
        "INCRBYFLOAT new -3", "GET new", "INCRBYFLOAT z 1e308", "INCRBYFLOAT x inf",
        "INCRBYFLOAT x -inf", "INCRBYFLOAT x abc", "INCRBYFLOAT x ''",
        "INCRBYFLOAT x ' 1'", "SET w ' 1'", "INCRBYFLOAT w 1", "SET h 0x10",
        "INCRBYFLOAT h 1", "SET e 1e5", "INCRBYFLOAT e 1", "INCRBYFLOAT e 1.5e-7",
        "INCRBYFLOAT e 3.0", "SET s abc", "INCRBYFLOAT s 1", "RPUSH l x",
        "INCRBYFLOAT l 1", "INCRBYFLOAT l x", "SET big 1e300", "INCRBYFLOAT big 1e300",
        "INCRBYFLOAT neg -0.5", "INCRBYFLOAT neg 0.5", "GET neg", "INCRBYFLOAT",
        "INCRBYFLOAT a", "INCRBYFLOAT a 1 2")


def test_incrbyfloat_stores_an_embstr_even_when_integral(differ):
    # Redis stores INCRBYFLOAT's result as it formats it (createStringObjectFromLongDouble),
    # never as an integer: embstr (raw past 44 bytes) until the next write of the key;
    # RENAME, MOVE and COPY keep the object. A one-digit result is no exception (CPython
    # shares one object per byte value: a later SET of that digit is an int again).
    differ.check(
        "SET n 1", "INCRBYFLOAT n 1", "OBJECT ENCODING n", "OBJECT REFCOUNT n",
        "SET n 2", "OBJECT ENCODING n", "OBJECT REFCOUNT n", "INCRBYFLOAT n 0",
        "OBJECT ENCODING n", "INCR n", "OBJECT ENCODING n", "INCRBYFLOAT n 0.5",
        "OBJECT ENCODING n", "INCRBYFLOAT n 0.5", "OBJECT ENCODING n",
        "INCRBYFLOAT c 6", "RENAME c c2", "OBJECT ENCODING c2", "COPY c2 c3",
        "OBJECT ENCODING c3", "SET six 6", "OBJECT ENCODING six", "OBJECT ENCODING c2",
        "INCRBYFLOAT m -123456789012", "OBJECT ENCODING m", "GETEX m PERSIST",
        "OBJECT ENCODING m", "APPEND m 1", "OBJECT ENCODING m",
        "INCRBYFLOAT q 12345678901234567890", "OBJECT ENCODING q", "SET q 7",
        "OBJECT ENCODING q", "INCRBYFLOAT big 1e50", "OBJECT ENCODING big",
        "INCRBYFLOAT e 1e19", "OBJECT ENCODING e", "GET e")


def test_copy_of_a_shared_integer_is_a_private_one(differ):
    # COPY duplicates the value (dupStringObject): an integer of the shared range 0..9999
    # becomes an object of the new key's own (OBJECT REFCOUNT 1); the source stays
    # shared, RENAME keeps the copy private, the next write of the key shares again.
    differ.check(
        "SET a 7", "COPY a b", "OBJECT REFCOUNT a", "OBJECT REFCOUNT b", "OBJECT ENCODING b",
        "RENAME b c", "OBJECT REFCOUNT c", "SET c 7", "OBJECT REFCOUNT c",
        "SET x 1234", "COPY x y", "OBJECT REFCOUNT y", "INCR y", "OBJECT REFCOUNT y",
        "SET big 123456", "COPY big big2", "OBJECT REFCOUNT big2", "SET t abc",
        "COPY t t2", "OBJECT REFCOUNT t2", "INCRBYFLOAT f 3", "COPY f f2",
        "OBJECT ENCODING f2", "OBJECT REFCOUNT f2", "COPY a a2", "COPY a2 a3",
        "OBJECT REFCOUNT a3", "OBJECT REFCOUNT a")


def test_plain_texts_are_forgotten_once_no_key_holds_them():
    # The table that tells INCRBYFLOAT's results by identity holds them only while a
    # key does: a counter rewritten a million times does not grow it.
    from miniredis.datatypes import names
    before = len(names._MARKED)
    kept = [names.plain_text(b"%d" % i) for i in range(100, 150)]
    for i in range(20000):
        names.plain_text(b"%d" % (1000 + i))
    assert len(names._MARKED) < before + 2100
    assert all(names.marked(value) == "plain" for value in kept)
    one = names.plain_text(b"7")
    assert one == b"7" and one is not b"%d" % 7


FLOAT_TEXTS = [
    "10.5", "0.1", "-5", "1e3", "3.0e3", "1e-5", "5.0e3", "0.0001", "1.5e-7", "3.0",
    "1e308", "1.7976931348623157e308", "1e-300", "-1e-300",
    "123456789012345678901234567890", "0.1e1", ".5", "5.", "-.5", "+1", "+.1", "1e", "e1",
    "1e+2", "1E2", "0x10", "0X1p3", "0x.8", "0x8.", "0x", "0x1p", "1_0", "1 ", "nan", "NaN",
    "-nan", "inf", "+inf", "-inf", "Infinity", "-INFINITY", "infinit", "1e400", "-1e400",
    "1e-400", "4.9e-324", "1e4932", "1.18973149535723176502e+4932", "1e4933", "1e-4940",
    "1e-5000", "0e99999999999999999999", "00001", "-0", "0.0", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809", "1.00000000000000000001",
    "3.14159265358979323846264338327950288", "17179869184", "0.30000000000000004", "1e17",
    "1e18", "1e20", "12345678901234567", "1e-17", "1e-18", "5e-18", "-5e-18", "6e-18",
    "-6e-18", "0.000003814697265625", "0.000011444091796875", "0x1.0000000000000001p0",
    "0x1.00000000000000008p0", "0x1p-16445", "0x1p-16446", "0x1p16383", "0x1p16384",
    "1" * 120, "0." + "0" * 200 + "1"]


@pytest.mark.parametrize("chunk", range(0, len(FLOAT_TEXTS), 20))
def test_incrbyfloat_parsing_and_formatting(differ, chunk):
    """Each text as the increment and as the stored value, compared with Redis's
    strtold reading and its %.17Lf-with-trailing-zeros-trimmed output."""
    commands = []
    for text in FLOAT_TEXTS[chunk:chunk + 20]:
        commands += [["DEL", "k"], ["INCRBYFLOAT", "k", text], ["GET", "k"],
                     ["SET", "k", text], ["INCRBYFLOAT", "k", "0"],
                     ["INCRBYFLOAT", "k", "1.5"], ["GET", "k"]]
    differ.check(*commands, protocols=(2,))


def test_incrbyfloat_range_and_accumulation(differ):
    differ.check(
        "SET k 10.5", "INCRBYFLOAT k 0.1", "INCRBYFLOAT k 1e308", "INCRBYFLOAT k 1e308",
        "INCRBYFLOAT k 1e4932", "INCRBYFLOAT k -1.18973149535723176502e+4932", "GET k",
        "SET k 1e308", "INCRBYFLOAT k 1e308", "INCRBYFLOAT k 1e4000", "INCRBYFLOAT k 5e4931",
        "INCRBYFLOAT k 5e4931", "INCRBYFLOAT k 5e4931", "GET k",
        "SET k 1", "EXPIRE k 100", "INCRBYFLOAT k 1", "TTL k", "SET k 0.1",
        "INCRBYFLOAT k 0.2", "INCRBYFLOAT k 0.3", "INCRBYFLOAT k -0.6", "INCRBYFLOAT k 1e-20",
        "INCRBYFLOAT k 1e30", "INCRBYFLOAT k -1e30", "SET k inf", "INCRBYFLOAT k 1",
        "INCRBYFLOAT k -inf", "SET k nan", "INCRBYFLOAT k 1",
        ["SET", "k", b"1\x002"], "INCRBYFLOAT k 1", ["SET", "k", b"\x00"], "INCRBYFLOAT k 1",
        ["INCRBYFLOAT", "k2", b"\x00x"], ["INCRBYFLOAT", "k2", b"2\x00x"],
        protocols=(2,))


def test_incrbyfloat_length_limit(differ):
    """string2ld refuses 5 KB and more; longer results are still printed in full."""
    differ.check(
        "SET k " + "1" * 5000, "INCRBYFLOAT k 1", "SET k " + "1" * 5119, "INCRBYFLOAT k 1",
        "SET k " + "1" * 5120, "INCRBYFLOAT k 1", "INCRBYFLOAT k " + "1" * 5121,
        "INCRBYFLOAT k2 " + "1" * 5000, "INCRBYFLOAT k3 " + "9" * 4932,
        "INCRBYFLOAT k3 " + "9" * 4932, protocols=(2,))


def test_incrbyfloat_random_walk(differ):
    rng = random.Random(11)
    commands = []
    for _ in range(150):
        text = rng.choice([
            "%.*f" % (rng.randint(0, 20), rng.uniform(-1e6, 1e6)),
            "%.*e" % (rng.randint(0, 25), rng.uniform(-10, 10) * 10 ** rng.randint(-30, 30)),
            str(rng.randint(-10 ** 20, 10 ** 20))])
        commands.append(["INCRBYFLOAT", "walk", text])
    commands.append("GET walk")
    differ.check(*commands, protocols=(2,))


def test_long_double_helpers():
    m, e = parse_long_double(b"0.1")                          # m * 2**e
    assert Fraction(m) * Fraction(2) ** e != Fraction(1, 10)   # rounded to 64 bits
    assert abs(Fraction(m) * Fraction(2) ** e - Fraction(1, 10)) < Fraction(1, 10 ** 20)
    assert parse_long_double(b"1e99999999999") is None
    assert parse_long_double(b"-1e-99999999999") is None
    assert parse_long_double(b"inf") == float("inf")
    assert parse_long_double(b"nan") is None
    assert parse_long_double(b"1" * 6000) is None
    assert format_long_double((21, -1)) == b"10.5"
    assert format_long_double((-1, -60)) == b"0"              # -8.7e-19
    assert format_long_double((3000, 0)) == b"3000"
    assert format_long_double(parse_long_double(b"1e4932")).startswith(b"1000000000000000000006")


# -- bits ----------------------------------------------------------------------------------
def test_bits(differ):
    differ.check(
        "SETBIT b 7 1", "SETBIT b 7 0", "SETBIT b 100 1", "GET b", "GETBIT b 100",
        "GETBIT b 1000", "GETBIT missing 0", "SETBIT b -1 1", "SETBIT b 4294967296 1",
        "SETBIT b 1 2", "SETBIT b x 1", "GETBIT b x", "SET s foobar", "BITCOUNT s",
        "BITCOUNT s 0 0", "BITCOUNT s 1 1", "BITCOUNT s 1 -1", "BITCOUNT s -2 -1",
        "BITCOUNT s 5 30 BIT", "BITCOUNT s 0 -1 BIT", "BITCOUNT s -1 -5",
        "BITCOUNT s 0", "BITCOUNT s 0 1 FOO", "BITCOUNT s x 1", "BITCOUNT missing",
        "BITCOUNT s 0 1 BYTE extra",
        "SET p \"\\xff\\xf0\\x00\"", "BITPOS p 0", "BITPOS p 1 2", "BITPOS p 0 0 0",
        "BITPOS p 1 7 15 BIT", "BITPOS p 0 -1", "BITPOS p 2", "BITPOS p x",
        "BITPOS missing 0", "BITPOS missing 1", "SET ones \"\\xff\\xff\"", "BITPOS ones 0",
        "BITPOS ones 0 0", "BITPOS ones 0 0 -1", "BITPOS ones 0 0 -1 BIT",
        "BITPOS ones 1 5 1", "BITPOS p 1 0 -1 FOO")


def test_setbit_getbit_edges(differ):
    differ.check(
        "SETBIT", "SETBIT k", "SETBIT k 0", "SETBIT k 0 1 1", "SETBIT k 0 01", "SETBIT k 0 -0",
        "SETBIT k 0 -1", "SETBIT k 0 ''", "SETBIT k 0 +1", "SETBIT k 01 1", "SETBIT k +1 1",
        "SETBIT k '' 1", "SETBIT k # 1", "SETBIT k #1 1", "SETBIT k 4294967296 0",
        "SETBIT k x y", "SETBIT k -1 y",
        "SETBIT k 9223372036854775807 1", "SETBIT k 9223372036854775808 1",
        "GETBIT k 4294967295", "GETBIT k 4294967296", "GETBIT k -1", "GETBIT k #1",
        "GETBIT", "GETBIT k", "GETBIT k 1 2", "SET n 5", "SETBIT n 1 1", "GET n",
        "SET e ''", "GETBIT e 0", "SETBIT e 3 1", "GET e", "SET t v", "EXPIRE t 100",
        "SETBIT t 100 1", "TTL t", "RPUSH l x", "SETBIT l 0 x", "SETBIT l x 0",
        "SETBIT l 0 1", "GETBIT l x", "GETBIT l 0", "GETBIT missing x")


def test_bitcount_edges(differ):
    """Redis 7.0 looks the key up before reading the range: a missing key counts 0
    whatever follows, a wrong type wins over argument errors."""
    differ.check(
        "SET s foobar", "BITCOUNT", "BITCOUNT s 0", "BITCOUNT s 0 1 2",
        "BITCOUNT s 0 1 BIT extra", "BITCOUNT missing 0", "BITCOUNT missing x y",
        "BITCOUNT missing 0 1 FOO", "BITCOUNT s x y FOO", "BITCOUNT s 0 y FOO",
        "BITCOUNT s 0 1 FOO", "BITCOUNT s 0 1 bit", "BITCOUNT s 0 1 byte",
        "BITCOUNT s -100 -200", "BITCOUNT s -200 -100", "BITCOUNT s -100 -200 BIT",
        "BITCOUNT s 0 -100", "BITCOUNT s -100 100", "BITCOUNT s 5 5", "BITCOUNT s 6 6",
        "BITCOUNT s 47 47 BIT", "BITCOUNT s 48 48 BIT", "BITCOUNT s 3 12 BIT",
        "BITCOUNT s 1 1 BIT", "BITCOUNT s 1 2 BIT",
        "BITCOUNT s 9223372036854775807 9223372036854775807",
        "BITCOUNT s -9223372036854775808 9223372036854775807",
        "BITCOUNT s -9223372036854775808 9223372036854775807 BIT",
        "BITCOUNT s 0 9223372036854775808", "SET e ''", "BITCOUNT e", "BITCOUNT e 0 -1",
        "BITCOUNT e 0 0 BIT", "SET n 12345", "BITCOUNT n", "BITCOUNT n 1 2", "RPUSH l x",
        "BITCOUNT l", "BITCOUNT l 0", "BITCOUNT l x y", "BITCOUNT s 0 -1 BIT",
        "BITCOUNT s -5 -1 BIT", "BITCOUNT s -9 -2 BIT")


def test_bitpos_edges(differ):
    differ.check(
        "SET p \"\\xff\\xf0\\x00\"", "SET ones \"\\xff\\xff\\xff\"", "SET z \"\\x00\\x00\\x00\"",
        "SET e ''", "BITPOS", "BITPOS p", "BITPOS p 2", "BITPOS p -1", "BITPOS p 01",
        "BITPOS p x", "BITPOS p 1 x", "BITPOS p 1 0 x", "BITPOS p 1 0 1 x", "BITPOS p 1 0 x FOO",
        "BITPOS p 1 0 1 BIT x", "BITPOS missing 1 x", "BITPOS missing 0 x y z w",
        "BITPOS missing 2", "BITPOS missing x", "BITPOS ones 0", "BITPOS ones 0 1",
        "BITPOS ones 0 -1", "BITPOS ones 0 1 -1", "BITPOS ones 0 0 -1 BYTE",
        "BITPOS ones 0 0 -1 BIT", "BITPOS ones 0 3 -1 BIT", "BITPOS ones 0 5",
        "BITPOS ones 0 100", "BITPOS ones 0 -100", "BITPOS ones 1 5", "BITPOS ones 1 -1",
        "BITPOS z 1", "BITPOS z 0", "BITPOS z 1 1", "BITPOS z 1 0 -1 BIT",
        "BITPOS z 0 5 10 BIT", "BITPOS e 0", "BITPOS e 1", "BITPOS e 0 0", "BITPOS e 0 0 0",
        "BITPOS e 0 0 -1 BIT", "BITPOS p 0 0 -1 BIT", "BITPOS p 1 12 23 BIT",
        "BITPOS p 0 3 10 BIT", "BITPOS p 0 9 11 BIT", "BITPOS p 0 12 12 BIT",
        "BITPOS p 0 11 11 BIT", "BITPOS p 1 11 12 BIT", "BITPOS p 1 0 -1 bit",
        "BITPOS p 1 -10 -1 BIT", "BITPOS p 0 -100 -90 BIT", "BITPOS p 1 5 3 BIT",
        "BITPOS p 0 2", "BITPOS p 0 2 2", "BITPOS p 1 2", "BITPOS p 0 1 1",
        "BITPOS p 1 -9223372036854775808 9223372036854775807",
        "BITPOS p 0 -9223372036854775808 9223372036854775807 BIT",
        "BITPOS p 1 0 -1 BYTE extra", "SET n 12", "BITPOS n 1", "BITPOS n 0 0 0", "RPUSH l x",
        "BITPOS l 1", "BITPOS l x", "BITPOS l 1 x", "BITPOS l 2",
        "SET mix \"\\xff\\x00\\xff\"", "BITPOS mix 0 0 0", "BITPOS mix 0 2",
        "BITPOS mix 0 1 15 BIT", "BITPOS mix 1 4 20 BIT", "BITPOS ones 0 1 7 BIT",
        "BITPOS ones 0 1 23 BIT", "BITPOS ones 0 20 23 BIT")


def test_bitpos_bitcount_random(differ):
    rng = random.Random(3)
    commands = []
    for round_ in range(6):
        data = bytes(rng.choice([0, 0xFF, rng.randrange(256)]) for _ in range(rng.randint(1, 40)))
        commands.append(["SET", "r", data])
        for _ in range(40):
            start, end = rng.randint(-350, 350), rng.randint(-350, 350)
            unit = rng.choice([[], ["BYTE"], ["BIT"]])
            bit = str(rng.randint(0, 1))
            commands.append(["BITCOUNT", "r", str(start), str(end)] + unit)
            commands.append(["BITPOS", "r", bit, str(start), str(end)] + unit)
            commands.append(["BITPOS", "r", bit, str(start)])
    differ.check(*commands, protocols=(2,))


def test_bitpos_long_runs(differ):
    """Whole bytes are skipped in bulk; the answer must still land on the right bit."""
    differ.check(
        "SETBIT a 80001 1", "BITPOS a 1", "BITPOS a 1 5000", "BITPOS a 1 0 -1 BIT",
        "BITPOS a 1 80002 -1 BIT", "BITPOS a 0 10000", "BITCOUNT a", "BITCOUNT a 3 80001 BIT",
        "SET b \"\\xff\"", "BITOP NOT z a", "BITPOS z 0", "BITPOS z 0 0 -1 BIT",
        "BITPOS z 1 10000", "BITPOS z 0 10000", "BITPOS z 0 10000 -1", protocols=(2,))


def test_bitop(differ):
    differ.check(
        "SET a \"\\x0f\\xff\"", "SET b \"\\xf0\"", "BITOP AND d a b", "GET d",
        "BITOP OR d a b", "GET d", "BITOP XOR d a b missing", "GET d", "BITOP NOT d a",
        "GET d", "BITOP NOT d a b", "BITOP FOO d a", "BITOP AND d missing1 missing2",
        "EXISTS d", "RPUSH l x", "BITOP AND d a l", "BITOP and d a", "GET d")


def test_bitop_edges(differ):
    differ.check(
        "SET a \"\\x0f\\xff\"", "SET b \"\\xf0\"", "BITOP", "BITOP AND", "BITOP AND d",
        "BITOP NOT d", "BITOP NOT d a b", "BITOP NOT d missing", "EXISTS d", "BITOP NOT d a",
        "GET d", "BITOP XOR d a a", "GET d", "BITOP Or d a b b a", "GET d", "BITOP ANDX d a",
        "BITOP AND d a", "GET d", "EXPIRE d 100", "BITOP AND d a b", "TTL d", "SET e ''",
        "BITOP OR d e", "EXISTS d", "BITOP NOT d e", "SET n 7", "BITOP NOT d n", "GET d",
        "RPUSH l x", "BITOP NOT d l", "BITOP AND l a", "TYPE l", "BITOP AND d missing l",
        "BITOP FOO d l", "BITOP NOT d l l", "SET d x", "BITOP AND d missing missing2",
        "EXISTS d", "BITOP AND d a d", "GET d")


# -- BITFIELD ------------------------------------------------------------------------------
def test_bitfield(differ):
    differ.check(
        ["BITFIELD", "k", "SET", "u8", "#1", "300", "GET", "u8", "8", "INCRBY", "i5",
         "100", "1", "OVERFLOW", "SAT", "INCRBY", "i5", "100", "1", "OVERFLOW", "FAIL",
         "INCRBY", "i5", "100", "1"],
        "BITFIELD k GET i64 0 GET u63 1 GET i1 3", "BITFIELD k INCRBY u2 0 1",
        "BITFIELD k GET", "BITFIELD k GET i65 0", "BITFIELD k GET u64 0",
        "BITFIELD k OVERFLOW foo", "BITFIELD k GET i8 -1", "BITFIELD k GET i8 x",
        "BITFIELD k SET i8 0 x", "BITFIELD k FOO", "BITFIELD k", "GET k",
        "BITFIELD_RO k GET u4 0 GET i4 #1", "BITFIELD_RO k SET i8 0 1",
        "BITFIELD missing GET u8 0", "EXISTS missing", "BITFIELD k SET i8 0 -128",
        "BITFIELD k INCRBY i8 0 -1", "BITFIELD k OVERFLOW SAT INCRBY i8 0 -300",
        "BITFIELD k OVERFLOW FAIL SET u4 0 16", "BITFIELD k OVERFLOW SAT SET u4 0 16",
        "BITFIELD k SET u4 0 17", "BITFIELD k INCRBY i64 0 9223372036854775807",
        "BITFIELD k INCRBY u63 100 9223372036854775807", "BITFIELD k SET i1 0 -1",
        "RPUSH l x", "BITFIELD l GET u8 0", "BITFIELD_RO l GET u8 0")


def test_bitfield_errors_and_edges(differ):
    differ.check(
        "BITFIELD", "BITFIELD k", "EXISTS k", "BITFIELD k GET", "BITFIELD k GET u8",
        "BITFIELD k SET u8 0", "BITFIELD k INCRBY u8 0", "BITFIELD k OVERFLOW",
        "BITFIELD k GET I8 0", "BITFIELD k GET U8 0", "BITFIELD k get u8 0",
        "BITFIELD k GET u0 0", "BITFIELD k GET i0 0", "BITFIELD k GET u63 0",
        "BITFIELD k GET u64 0", "BITFIELD k GET i64 0", "BITFIELD k GET i65 0",
        "BITFIELD k GET u08 0", "BITFIELD k GET u 0", "BITFIELD k GET x8 0",
        "BITFIELD k GET u-1 0", "BITFIELD k GET '' 0", ["BITFIELD", "k", "GET", b"u8\x00z", "0"],
        "BITFIELD k GET u8 #", "BITFIELD k GET u8 #0", "BITFIELD k GET u8 #-1",
        "BITFIELD k GET u8 ##1", "BITFIELD k GET u8 4294967295", "BITFIELD k GET u8 4294967296",
        "BITFIELD k GET u8 #536870911", "BITFIELD k GET u8 #536870912",
        "BITFIELD k GET i64 #67108863", "BITFIELD k GET i64 #67108864",
        "BITFIELD k GET u8 #2305843009213693953", "BITFIELD k GET u8 0 SET u8 0 x",
        "BITFIELD k SET x8 0 x", "BITFIELD k SET u8 x x", "BITFIELD k SET u8 0 1.5",
        "BITFIELD k SET u8 0 9223372036854775808",
        "BITFIELD k OVERFLOW wrap GET u8 0 OVERFLOW bad", "BITFIELD k OVERFLOW SAT",
        "BITFIELD k OVERFLOW FAIL OVERFLOW WRAP SET u8 0 300", "EXISTS k",
        "BITFIELD k GET u8 0 FOO", "BITFIELD k SET u8 0 1 GET", "EXISTS k", "DEL k",
        "BITFIELD new OVERFLOW FAIL SET u8 100 1000", "STRLEN new", "EXISTS new",
        "BITFIELD new2 OVERFLOW FAIL INCRBY u8 7 1000 GET u8 0", "STRLEN new2",
        "BITFIELD k OVERFLOW SAT SET u8 0 -1", "BITFIELD k GET u8 0",
        "BITFIELD k OVERFLOW SAT SET u8 0 -1000", "BITFIELD k OVERFLOW WRAP SET u8 0 -1",
        "BITFIELD k OVERFLOW FAIL SET u8 0 -1", "BITFIELD k OVERFLOW SAT SET u63 0 -1",
        "BITFIELD k GET u63 0", "BITFIELD k OVERFLOW WRAP SET u63 0 -1", "BITFIELD k GET u63 0",
        "BITFIELD k OVERFLOW SAT SET i64 0 -9223372036854775808",
        "BITFIELD k OVERFLOW SAT INCRBY i64 0 -1", "BITFIELD k OVERFLOW WRAP INCRBY i64 0 -1",
        "BITFIELD k OVERFLOW FAIL INCRBY i64 0 -1", "BITFIELD k OVERFLOW FAIL INCRBY i64 0 1",
        "BITFIELD k OVERFLOW SAT INCRBY u63 0 -9223372036854775808",
        "BITFIELD k OVERFLOW WRAP INCRBY u63 0 -9223372036854775808",
        "BITFIELD k OVERFLOW SAT INCRBY u1 3 5",
        "BITFIELD k SET i3 5 3 GET i3 5 INCRBY i3 5 1 INCRBY i3 5 -8",
        "BITFIELD k OVERFLOW SAT INCRBY i3 5 -100 INCRBY i3 5 100", "GET k", "STRLEN k",
        "BITFIELD_RO", "BITFIELD_RO k", "BITFIELD_RO k GET u8 0 OVERFLOW SAT",
        "BITFIELD_RO k OVERFLOW FOO", "BITFIELD_RO k INCRBY u8 0 1", "BITFIELD_RO k SET x8 0 1",
        "BITFIELD_RO missing GET u8 0", "BITFIELD_RO k GET i8 #2", "SET n 12345",
        "BITFIELD n GET u8 0 GET i16 8", "BITFIELD n INCRBY u8 0 1", "GET n", "RPUSH l x",
        "BITFIELD l GET u8 0", "BITFIELD l SET u8 0 1", "BITFIELD_RO l SET u8 0 1",
        "BITFIELD l GET x8 0", "BITFIELD_RO l GET u8 0", "BITFIELD l OVERFLOW FAIL")


def test_bitfield_random(differ):
    rng = random.Random(5)
    commands = []
    for _ in range(8):
        commands.append(["SET", "r", bytes(rng.randrange(256) for _ in range(9))])
        for _ in range(25):
            parts = ["BITFIELD", "r"]
            for _ in range(rng.randint(1, 4)):
                op = rng.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
                if op == "OVERFLOW":
                    parts += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
                    continue
                sign = rng.choice("iu")
                bits = rng.randint(1, 64 if sign == "i" else 63)
                offset = rng.choice([str(rng.randint(0, 90)), "#%d" % rng.randint(0, 5)])
                parts += [op, "%s%d" % (sign, bits), offset]
                if op != "GET":
                    parts.append(str(rng.choice([
                        rng.randint(-300, 300), rng.randint(-2 ** 63, 2 ** 63 - 1),
                        2 ** 63 - 1, -2 ** 63, 0, 1, -1])))
            commands.append(parts)
        commands.append("GET r")
    differ.check(*commands, protocols=(2,))


# -- LCS -----------------------------------------------------------------------------------
def test_lcs(differ):
    differ.check(
        "MSET a ohmytext b mynewtext", "LCS a b", "LCS a b LEN", "LCS a b IDX",
        "LCS a b IDX MINMATCHLEN 4", "LCS a b IDX WITHMATCHLEN", "LCS a b LEN IDX",
        "LCS a missing", "LCS missing1 missing2 IDX", "LCS a b FOO", "LCS a b MINMATCHLEN x",
        "RPUSH l x", "LCS a l", "SET c aaaa", "SET d aa", "LCS c d IDX WITHMATCHLEN",
        "LCS a b IDX MINMATCHLEN -1")


def test_lcs_edges(differ):
    differ.check(
        "MSET a ohmytext b mynewtext", "LCS", "LCS a", "LCS a b c", "LCS a b LEN LEN",
        "LCS a b IDX IDX LEN", "LCS a b MINMATCHLEN", "LCS a b MINMATCHLEN 2 IDX",
        "LCS a b IDX MINMATCHLEN 9223372036854775807",
        "LCS a b IDX MINMATCHLEN -9223372036854775808 WITHMATCHLEN", "LCS a b WITHMATCHLEN",
        "LCS a b LEN WITHMATCHLEN MINMATCHLEN 3", "LCS a b idx withmatchlen minmatchlen 1",
        "RPUSH l x", "LCS a l FOO", "LCS l missing", "LCS missing l IDX",
        "LCS a b MINMATCHLEN x FOO", "LCS a b FOO MINMATCHLEN x", "LCS a a IDX WITHMATCHLEN",
        "LCS a missing IDX", "SET e ''", "LCS e a IDX", "SET n 12345", "SET m 2345",
        "LCS n m IDX WITHMATCHLEN", "LCS b a IDX", ["SET", "x", b"\x00\xff\x00"],
        ["SET", "y", b"\xff\x00"], "LCS x y", "LCS x y IDX")


def test_lcs_random(differ):
    """Random pairs, including ties in the table: the walk back must choose as Redis."""
    rng = random.Random(7)
    commands = []
    for _ in range(40):
        alphabet = rng.choice(["ab", "abc", "abcd", "xyzw01"])
        x = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        y = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        commands += [["SET", "x", x], ["SET", "y", y], "LCS x y", "LCS x y LEN",
                     "LCS x y IDX WITHMATCHLEN", "LCS y x IDX MINMATCHLEN 2"]
    differ.check(*commands)


def test_lcs_large_and_memory_limit(small_bulk_len):
    rng = random.Random(9)
    first = "".join(rng.choice("acgt") for _ in range(3000))
    second = "".join(rng.choice("acgt") for _ in range(3000))
    small_bulk_len.check(
        ["SET", "x", first[:499]], ["SET", "y", second[:499]], "LCS x y LEN",
        "LCS x y IDX MINMATCHLEN 4 WITHMATCHLEN", ["SET", "y", second[:500]], "LCS x y LEN",
        "LCS x y IDX", "CONFIG SET proto-max-bulk-len 536870912", ["SET", "x", first],
        ["SET", "y", second], "LCS x y", "LCS x y IDX MINMATCHLEN 6 WITHMATCHLEN")


# -- types, encodings, modification signals --------------------------------------------------
def test_wrongtype_everywhere(differ):
    differ.check(
        "RPUSH l x", "GET l", "SET l v GET", "INCR l", "DECRBY l 1", "MGET l missing",
        "SETRANGE l 1 x", "GETBIT l 0", "SETBIT l 0 1", "BITCOUNT l", "BITPOS l 1",
        "STRLEN l", "GETDEL l", "GETEX l", "GETSET l v", "APPEND l v", "GETRANGE l 0 -1",
        "SUBSTR l 0 -1", "INCRBYFLOAT l 1", "BITFIELD l GET u8 0", "BITFIELD_RO l GET u8 0",
        "BITOP NOT d l", "LCS l l", "SETNX l v", "MSETNX l v", "TYPE l")


def test_encodings_after_in_place_changes(differ):
    """Mutating commands turn int/embstr strings into raw ones, as Redis does, even
    when nothing changes; reads leave them alone."""
    commands = []
    for mutation in ["SETBIT n 0 0", "BITFIELD n GET u8 0", "BITFIELD n SET u8 0 53",
                     "SETRANGE n 0 5", "SETRANGE n 0 ''", "APPEND n ''",
                     "BITFIELD n OVERFLOW FAIL INCRBY u8 0 1000", "BITFIELD_RO n GET u8 0",
                     "GETRANGE n 0 0", "SETBIT n 100 0", "GETBIT n 3"]:
        commands += ["SET n 5", mutation, "OBJECT ENCODING n", "GET n"]
    for creation in ["APPEND k 12", "APPEND k hello", "SETRANGE k 0 12", "SETBIT k 1 1",
                     "BITFIELD k SET u8 0 49", "BITFIELD k OVERFLOW FAIL SET u8 0 1000",
                     "SETNX k 12", "SETEX k 10 12", "MSETNX k 12", "GETSET k 12", "INCR k",
                     "INCRBYFLOAT k 1.5", "BITOP NOT k missing", "BITOP NOT k n",
                     "BITOP AND k n n", "BITOP OR k n missing", "GETEX n EX 100"]:
        commands += ["DEL k", "SET n 12", creation, "OBJECT ENCODING k", "GET k"]
    differ.check(*commands)


SIGNAL_CASES = [
    ("SETBIT", "k", "1", "1"), ("SETBIT", "k", "0", "0"), ("SETBIT", "k", "0", "1"),
    ("SETBIT", "k", "100", "0"), ("SETRANGE", "k", "0", "h"), ("SETRANGE", "k", "0", ""),
    ("SETRANGE", "k", "9", "x"), ("APPEND", "k", ""), ("APPEND", "k", "x"),
    ("BITFIELD", "k", "SET", "u8", "0", "104"), ("BITFIELD", "k", "SET", "u8", "0", "105"),
    ("BITFIELD", "k", "GET", "u8", "0"), ("BITFIELD", "k", "INCRBY", "u8", "0", "0"),
    ("BITFIELD", "k", "INCRBY", "u8", "0", "1"), ("BITFIELD", "k", "SET", "u8", "48", "0"),
    ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"),
    ("GETEX", "k", "PERSIST"), ("GETEX", "k", "EX", "100"), ("GETEX", "k"),
    ("GETDEL", "k"), ("GETSET", "k", "x"), ("INCRBYFLOAT", "k", "1"), ("SETNX", "k", "v"),
    ("MSETNX", "k", "v"), ("BITOP", "NOT", "k", "k"), ("BITOP", "AND", "k", "missing"),
    ("GETRANGE", "k", "0", "1"), ("LCS", "k", "k"),
]


@pytest.mark.parametrize("command", SIGNAL_CASES, ids=" ".join)
def test_modification_signals_match_watch(mini, real_redis, command):
    """Redis invalidates WATCH exactly when a command really changes the key; miniredis
    signals the same set of changes (compared through its on_key_modified hook)."""
    setup = [("SET", "k", "hello")]
    if command[0] == "INCRBYFLOAT":
        setup = [("SET", "k", "1")]
    assert mini_signals(mini, setup, command) == \
        redis_signals(real_redis.port, setup, command)


STATS_CASES = [
    "GET k", "GET m", "SET k v GET", "SET m v GET", "SET k v", "SET k v NX", "SETNX k v",
    "INCR n", "INCR m", "INCRBY n 2", "DECR n", "INCRBYFLOAT n 1", "INCRBYFLOAT m 1",
    "MGET k m n", "MSET k 1", "MSETNX m 1", "GETSET k v", "GETSET m v", "GETDEL k",
    "GETDEL m", "GETEX k", "GETEX m", "GETEX k EX 10", "APPEND k x", "APPEND m x",
    "STRLEN k", "STRLEN m", "GETRANGE k 0 1", "GETRANGE m 0 1", "SUBSTR k 0 1",
    "SETRANGE k 0 x", "SETRANGE m 0 x", "SETBIT k 0 1", "SETBIT m 0 1", "GETBIT k 0",
    "GETBIT m 0", "BITCOUNT k", "BITCOUNT m", "BITPOS k 1", "BITPOS m 1", "BITOP AND d k m",
    "BITFIELD k GET u8 0", "BITFIELD m GET u8 0", "BITFIELD k SET u8 0 1",
    "BITFIELD m SET u8 0 1", "BITFIELD_RO k GET u8 0", "LCS k m", "LCS k k", "SETEX k 10 v",
    "PSETEX m 100 v"]


def test_keyspace_hits_and_misses(differ):
    """Read lookups count a hit or a miss; write lookups (INCR, APPEND, SETRANGE, SETBIT,
    BITFIELD with writes...) count neither, as in Redis."""
    assert_same_hits_and_misses(differ, ['SET k hello', 'SET n 5'], STATS_CASES)


def test_replies_are_snapshots_of_mutable_strings(mini):
    """A string grown in place is a bytearray; replies must not change with it later
    (a reply may be encoded after further commands, as in MULTI/EXEC)."""
    from types import SimpleNamespace

    from miniredis.commands.bitmaps import setbit
    from miniredis.commands.strings import get, mget, set_

    db = mini.state.dbs[8]
    client = SimpleNamespace(db=db, state=mini.state)

    def run():
        db.flush()
        setbit(client, [b"setbit", b"k", b"7", b"1"])
        replies = [get(client, [b"get", b"k"]), mget(client, [b"mget", b"k"])[0],
                   set_(client, [b"set", b"k", b"x", b"NX", b"GET"])]
        setbit(client, [b"setbit", b"k", b"6", b"1"])
        db.flush()
        return replies
    assert mini.call(run) == [b"\x01", b"\x01", b"\x01"]
