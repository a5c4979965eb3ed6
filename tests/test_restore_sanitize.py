"""RESTORE of damaged payloads under sanitize-dump-payload, against redis-server 7.0:
the shallow checks Redis always runs (a listpack's or intset's header, duplicate set,
sorted set, consumer and hash-table members, empty quicklist nodes) and the deep ones
it runs when sanitizing (back lengths, header counts, duplicate fields in listpacks,
a stream node's layout and lp-count, PEL entries without a consumer). Payloads are
built here entry by entry; replies are compared raw, then the reason Redis logs at
verbose level ("... integrity check failed") is looked for in both logs."""
from __future__ import annotations

import struct

import pytest

from miniredis import Server
from tests.harness import Differ, RawConnection, RedisProcess, redis_server_or_skip
from tests.test_rdb_legacy import _length, _string
from tests.test_rdb_legacy import payload as _payload


def _backlen(size: int) -> bytes:
    if size < 128:
        return bytes([size])
    return bytes([size >> 7, (size & 127) | 128])


def _entry(value: object) -> bytes:
    """A listpack entry: small ints as 7-bit or 16-bit integers, the rest as strings."""
    if isinstance(value, int):
        body = bytes([value]) if 0 <= value < 128 else b"\xf1" + struct.pack("<h", value)
    else:
        data = bytes(value)
        assert len(data) < 64
        body = bytes([0x80 | len(data)]) + data
    return body + _backlen(len(body))


def listpack(values: list, count: int = -1, size_delta: int = 0) -> bytes:
    body = b"".join(_entry(v) for v in values)
    count = len(values) if count < 0 else count
    return struct.pack("<IH", 7 + len(body) + size_delta, count) + body + b"\xff"


def payload(kind: int, body: bytes) -> bytes:
    return _payload(kind, body, 10)


def _stream_node(lp_count: int = 4) -> list:
    """One node of two entries: master fields [f], one entry with the same fields, one
    with its own; ``lp_count`` the first entry's (4 when right)."""
    return [2, 0, 1, b"f", 0,                         # count, deleted, fields, 0
            2, 0, 1, b"v1", lp_count,                 # same fields: flags 2, ID +0-1
            0, 0, 2, 1, b"g", b"v2", 6]               # own fields: flags 0, ID +0-2


def stream(node: bytes, groups: bytes = b"\x00") -> bytes:
    """A type 19 stream of one node keyed 1-0, last ID 1-2."""
    return payload(19, _length(1) + _string(struct.pack(">QQ", 1, 0)) + _string(node)
                   + _length(2) + _length(1) + _length(2) + _length(1) + _length(1)
                   + _length(0) + _length(0) + _length(2) + groups)


def _group(pel: list, consumers: list) -> bytes:
    """One group "g" at 1-2; ``pel``: its IDs' seqs; ``consumers``: (name, seqs)."""
    out = _length(1) + _string(b"g") + _length(1) + _length(2) + _length(2)
    out += _length(len(pel)) + b"".join(
        struct.pack(">QQ", 1, seq) + struct.pack("<q", 1000) + _length(1) for seq in pel)
    out += _length(len(consumers))
    for name, seqs in consumers:
        out += _string(name) + struct.pack("<q", 1000) + _length(len(seqs))
        out += b"".join(struct.pack(">QQ", 1, seq) for seq in seqs)
    return out


def _intset(members: list) -> bytes:
    return struct.pack("<II", 2, len(members)) + struct.pack("<%dh" % len(members), *members)


_GOOD_NODE = listpack(_stream_node())
_BAD_BACKLEN = bytearray(_GOOD_NODE)
_BAD_BACKLEN[14] = 0x05         # the master field's back length (2 when right; not
#                                  the first entry's: Redis's lpFirst would assert)

# (name, payload, reads) refused whatever the mode (Redis's shallow checks)
_ALWAYS = [
    ("stream lp size", stream(listpack(_stream_node(), size_delta=2))),
    ("stream lp end byte", stream(_GOOD_NODE[:-1] + b"\x00")),
    ("duplicate consumers", stream(_GOOD_NODE, _group([], [(b"c", []), (b"c", [])])))
    ,
    ("consumer PEL not in the group's", stream(_GOOD_NODE, _group([1], [(b"c", [2])]))),
    ("duplicate global PEL", stream(_GOOD_NODE, _group([1, 1], [(b"c", [1])]))),
    ("set duplicate", payload(2, _length(3) + _string(b"a") + _string(b"b")
                              + _string(b"a"))),
    ("zset duplicate", payload(5, _length(2) + _string(b"a") + struct.pack("<d", 1)
                               + _string(b"a") + struct.pack("<d", 2))),
    ("zset NaN", payload(5, _length(1) + _string(b"a") + struct.pack("<d", float("nan")))),
    ("quicklist empty plain node", payload(18, _length(1) + _length(1) + _string(b""))),
    ("quicklist container 3", payload(18, _length(1) + _length(3)
                                      + _string(listpack([b"a"])))),
    ("quicklist lp size", payload(18, _length(1) + _length(2)
                                  + _string(listpack([b"a"], size_delta=1)))),
    ("hash lp end byte", payload(16, _string(listpack([b"a", b"1"])[:-1] + b"\x00"))),
    ("intset size", payload(11, _string(_intset([1, 2, 3]) + b"\x00\x00"))),
    ("intset empty", payload(11, _string(_intset([])))),
    ("hash table duplicate", payload(4, _length(3) + _string(b"a") + _string(b"x" * 70)
                                     + _string(b"b") + _string(b"1") + _string(b"a")
                                     + _string(b"2"))),
    ("zipmap empty", payload(9, _string(b"\x00\xff"))),
]

# refused by the deep checks only; unsanitized, both servers load them
_DEEP = [
    ("stream back length", stream(bytes(_BAD_BACKLEN)), ["XLEN", "k"]),
    ("stream lp-count", stream(listpack(_stream_node(lp_count=7))),
     ["XRANGE", "k", "-", "+"]),
    ("stream PEL without consumer", stream(_GOOD_NODE, _group([1, 2], [(b"c", [1])])),
     ["XLEN", "k"]),             # (Redis's XPENDING would crash on it)
    ("hash lp duplicate", payload(16, _string(listpack([b"a", b"b", b"a", b"d"]))),
     ["HGET", "k", "a"]),
    ("hash lp count", payload(16, _string(listpack([b"a", b"b"], count=4))),
     ["HGET", "k", "a"]),
    ("zset lp odd", payload(17, _string(listpack([b"a", 1, b"b"]))),
     ["ZSCORE", "k", "a"]),
    ("plain hash duplicate", payload(4, _length(2) + _string(b"a") + _string(b"b")
                                     + _string(b"a") + _string(b"d")),
     ["HGET", "k", "a"]),
    ("intset order", payload(11, _string(_intset([3, 1, 2]))), ["SCARD", "k"]),
    ("quicklist lp back length", payload(18, _length(1) + _length(2) + _string(
        listpack([b"a"])[:8] + b"\x05" + b"\xff")), ["LLEN", "k"]),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    logs = tmp_path_factory.mktemp("logs")
    real = RedisProcess(redis_server_or_skip(), ["--loglevel", "verbose", "--logfile",
                                                 str(logs / "redis.log")])
    mini = Server(port=0, loglevel="verbose", logfile=str(logs / "mini.log"),
                  quiet=False)
    mini.start()
    try:
        yield Differ(real.port, mini.port), logs
    finally:
        mini.stop()
        real.stop()


def _configure(differ: Differ, *pairs: str) -> None:
    for port in differ.ports.values():
        conn = RawConnection(port)
        conn.call("CONFIG", "SET", *pairs)
        conn.close()


@pytest.fixture
def differ(servers):
    differ, _ = servers
    yield differ
    _configure(differ, "sanitize-dump-payload", "no")


@pytest.mark.parametrize("sanitize", ["no", "yes", "clients"])
def test_shallow_checks_refuse_whatever_the_mode(differ, sanitize):
    _configure(differ, "sanitize-dump-payload", sanitize)
    commands = []
    for name, data in _ALWAYS:
        commands += [["RESTORE", "k", "0", data, "REPLACE"], ["EXISTS", "k"]]
    replies = differ.check(*commands, protocols=(2,))
    assert replies[0::2] == [b"-ERR Bad data format\r\n"] * len(_ALWAYS)


@pytest.mark.parametrize("sanitize", ["no", "yes", "clients"])
def test_deep_checks_only_when_sanitizing(differ, sanitize):
    _configure(differ, "sanitize-dump-payload", sanitize)
    commands = []
    for name, data, read in _DEEP:
        commands += [["RESTORE", "k", "0", data, "REPLACE"], read]
    replies = differ.check(*commands, protocols=(2,))
    refused = [reply == b"-ERR Bad data format\r\n" for reply in replies[0::2]]
    assert refused == [sanitize != "no"] * len(_DEEP)


def test_clients_mode_spares_skip_sanitize_payload_users(differ):
    """sanitize-dump-payload clients: a user with skip-sanitize-payload is trusted, the
    default user is not."""
    _configure(differ, "sanitize-dump-payload", "clients")
    replies = {}
    for kind, port in differ.ports.items():
        admin = RawConnection(port)
        admin.call("ACL", "SETUSER", "trusted", "on", "nopass", "~*", "+@all",
                   "skip-sanitize-payload")
        conn = RawConnection(port)
        conn.call("AUTH", "trusted", "x")
        replies[kind] = [conn.call("RESTORE", "t%d" % i, "0", data, "REPLACE")
                         for i, (_, data, _) in enumerate(_DEEP)]
        conn.close()
        replies[kind].append(admin.call("RESTORE", "u", "0", _DEEP[0][1]))  # (default user)
        admin.call("ACL", "DELUSER", "trusted")
        admin.call("FLUSHALL")
        admin.close()
    assert replies["miniredis"] == replies["redis"] == [b"+OK\r\n"] * len(_DEEP) + [
        b"-ERR Bad data format\r\n"]


def test_hash_table_duplicate_unsanitized(differ):
    """More fields than a listpack holds: the duplicate is found in the hash table."""
    _configure(differ, "hash-max-listpack-entries", "1")
    try:
        data = payload(4, _length(2) + _string(b"a") + _string(b"b") + _string(b"a")
                       + _string(b"d"))
        differ.check(["RESTORE", "k", "0", data], ["EXISTS", "k"], protocols=(2,))
    finally:
        _configure(differ, "hash-max-listpack-entries", "128")


def test_reasons_logged_at_verbose_level(servers):
    """RESTORE logs rdbReportError's line at verbose level: both logs hold the reasons
    (Redis's suite greps them)."""
    differ, logs = servers
    _configure(differ, "sanitize-dump-payload", "yes")
    try:
        cases = [("Stream listpack integrity check failed.", _DEEP[0][1]),
                 ("Duplicate stream consumer detected.", _ALWAYS[2][1]),
                 ("Hash listpack integrity check failed.", _DEEP[3][1]),
                 ("Duplicate set members detected", _ALWAYS[5][1]),
                 ("Zset with NAN score detected", _ALWAYS[7][1]),
                 ("Intset integrity check failed.", _DEEP[7][1]),
                 ("Quicklist integrity check failed.", _ALWAYS[9][1]),
                 ("Zipmap integrity check failed.", _ALWAYS[15][1]),
                 ("Stream CG PEL entry without consumer", _DEEP[2][1])]
        for port in differ.ports.values():
            conn = RawConnection(port)
            for _, data in cases:
                conn.call("RESTORE", "k", "0", data, "REPLACE")
            conn.close()
        for name in ("redis.log", "mini.log"):
            text = (logs / name).read_text()
            for reason, _ in cases:
                assert any(line.endswith("-> " + reason) and
                           "Internal error in RDB reading offset 0, function at rdb.c:"
                           in line for line in text.splitlines()), (name, reason)
    finally:
        _configure(differ, "sanitize-dump-payload", "no")


def test_unsanitized_orphan_pel_entries_are_safe(servers):
    """Unsanitized, Redis loads a PEL entry without a consumer and XPENDING then
    crashes it; miniredis drops the entry: later commands answer."""
    differ, logs = servers
    conn = RawConnection(differ.ports["miniredis"])
    try:
        data = stream(_GOOD_NODE, _group([1, 2], [(b"c", [1])]))
        assert conn.call("RESTORE", "k", "0", data, "REPLACE") == b"+OK\r\n"
        assert conn.call("XPENDING", "k", "g").startswith(b"*4\r\n:1\r\n")
        assert conn.call("XINFO", "STREAM", "k", "FULL").startswith(b"*")
    finally:
        conn.close()
    assert "Traceback" not in (logs / "mini.log").read_text()


def test_unsanitized_listpack_duplicates_redis_would_panic_on(servers):
    """A hash listpack with a duplicate field that Redis converts to a hash table on
    load (more fields than hash-max-listpack-entries): Redis panics ("listpack with
    dup elements"); miniredis refuses it, saying so."""
    differ, logs = servers
    conn = RawConnection(differ.ports["miniredis"])
    try:
        conn.call("CONFIG", "SET", "hash-max-listpack-entries", "1")
        data = payload(16, _string(listpack([b"a", b"b", b"a", b"d"])))
        assert conn.call("RESTORE", "k", "0", data, "REPLACE") == \
            b"-ERR Bad data format\r\n"
        assert conn.call("PING") == b"+PONG\r\n"
    finally:
        conn.call("CONFIG", "SET", "hash-max-listpack-entries", "128")
        conn.close()
    assert "listpack with dup elements" in (logs / "mini.log").read_text()
