"""String commands: differential tests of replies and errors, RESP2 and RESP3."""
from __future__ import annotations


def test_set_family(differ):
    differ.check(
        "SETNX a 1", "SETNX a 2", "GET a", "SETEX b 100 v", "TTL b", "SETEX b 0 v",
        "SETEX b -1 v", "SETEX b x v", "PSETEX c 100000 v", "TTL c",
        "PSETEX c 0 v", "MSETNX d 1 e 2", "MSETNX e 3 f 4", "GET f", "MSETNX d", "MSETNX d 1 e",
        "GETSET a 9", "GETSET missing 1", "GET missing", "RPUSH l x", "GETSET l 1",
        "GETDEL a", "GETDEL a", "GETDEL l", "SETNX", "SETEX a 1")


def test_getex(differ):
    differ.check(
        "SET a v", "GETEX a", "GETEX a EX 100", "TTL a", "GETEX a PX 200000", "TTL a",
        "GETEX a EXAT 4102444800", "EXPIRETIME a", "GETEX a PXAT 4102444800000",
        "GETEX a PERSIST", "TTL a", "GETEX a EX 1 PX 1", "GETEX a PERSIST EX 1",
        "GETEX a FOO", "GETEX a EX", "GETEX a EX 0", "GETEX a EX x", "GETEX missing EX 10",
        "GETEX a PXAT 1", "EXISTS a", "RPUSH l x", "GETEX l")


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


def test_incrbyfloat(differ):
    differ.check(
        "SET y 10.5", "INCRBYFLOAT y 0.1", "INCRBYFLOAT y -5", "INCRBYFLOAT y 1e3",
        "INCRBYFLOAT y 5.0e3", "INCRBYFLOAT y 0.0001", "INCRBYFLOAT new 3",
        "INCRBYFLOAT new -3", "GET new", "INCRBYFLOAT z 1e308", "INCRBYFLOAT x inf",
        "INCRBYFLOAT x -inf", "INCRBYFLOAT x abc", "INCRBYFLOAT x ''",
        "INCRBYFLOAT x ' 1'", "SET w ' 1'", "INCRBYFLOAT w 1", "SET h 0x10",
        "INCRBYFLOAT h 1", "SET e 1e5", "INCRBYFLOAT e 1", "INCRBYFLOAT e 1.5e-7",
        "INCRBYFLOAT e 3.0", "SET s abc", "INCRBYFLOAT s 1", "RPUSH l x",
        "INCRBYFLOAT l 1", "SET big 1e300", "INCRBYFLOAT big 1e300",
        "INCRBYFLOAT neg -0.5", "INCRBYFLOAT neg 0.5", "GET neg")


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


def test_bitop(differ):
    differ.check(
        "SET a \"\\x0f\\xff\"", "SET b \"\\xf0\"", "BITOP AND d a b", "GET d",
        "BITOP OR d a b", "GET d", "BITOP XOR d a b missing", "GET d", "BITOP NOT d a",
        "GET d", "BITOP NOT d a b", "BITOP FOO d a", "BITOP AND d missing1 missing2",
        "EXISTS d", "RPUSH l x", "BITOP AND d a l", "BITOP and d a", "GET d")


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


def test_lcs(differ):
    differ.check(
        "MSET a ohmytext b mynewtext", "LCS a b", "LCS a b LEN", "LCS a b IDX",
        "LCS a b IDX MINMATCHLEN 4", "LCS a b IDX WITHMATCHLEN", "LCS a b LEN IDX",
        "LCS a missing", "LCS missing1 missing2 IDX", "LCS a b FOO", "LCS a b MINMATCHLEN x",
        "RPUSH l x", "LCS a l", "SET c aaaa", "SET d aa", "LCS c d IDX WITHMATCHLEN",
        "LCS a b IDX MINMATCHLEN -1")


def test_wrongtype_everywhere(differ):
    differ.check(
        "RPUSH l x", "GET l", "SET l v GET", "INCR l", "DECRBY l 1", "MGET l missing",
        "SETRANGE l 1 x", "GETBIT l 0", "SETBIT l 0 1", "BITCOUNT l", "BITPOS l 1",
        "STRLEN l", "GETDEL l", "GETEX l")
