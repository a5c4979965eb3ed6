"""The wire: inline commands, pipelining, split reads, malformed and oversized input."""
from __future__ import annotations

import socket
import time

import pytest

from tests.harness import RawConnection, encode_command, received


def _exchange(port: int, data: bytes, wait: float = 0.3) -> bytes:
    """Send raw bytes, then read everything until the server closes or goes quiet."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(data)
    out = received(sock, wait)
    sock.close()
    return out


def _same_raw(differ, data: bytes) -> bytes:
    replies = {name: _exchange(port, data) for name, port in differ.ports.items()}
    assert replies["miniredis"] == replies["redis"], replies
    return replies["redis"]


@pytest.mark.parametrize("data", [
    b"PING\r\n", b"PING\n", b"ECHO hello\r\n", b"ECHO \"a b\\n\"\r\n", b"ECHO 'it''s'\r\n",
    b"ECHO \"\\x41\\x4\"\r\n", b"\r\n\r\nPING\r\n", b"   \r\nECHO   spaced    out  \r\n",
    b"ECHO \"unbalanced\r\n", b"ECHO 'x'y\r\n", b"SET inl \"v v\"\r\nGET inl\r\nDEL inl\r\n",
])
def test_inline_commands(differ, data):
    _same_raw(differ, data)


_MSET_6 = encode_command(["MSET"] + [w for i in range(6)
                                    for w in ("split:%d" % i, "v%d" % i)])


@pytest.mark.parametrize("data", [
    b"*abc\r\n", b"*1\r\nfoo\r\n", b"*1\r\n$x\r\n", b"*1\r\n$-5\r\n", b"*2000000\r\n",
    b"*1\r\n$600000000\r\n", b"*1\r\n$3\r\nabcd\r\n", b"*0\r\nPING\r\n", b"*-1\r\nPING\r\n",
    b"*1\r\n:5\r\n", b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n", b"PING\r\n*x\r\n",
    b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n",
    # Ten arguments or more (a two-digit count takes the same short path as one digit):
    # canonical, and each byte hiredis could misread or overspend on, as an argument
    # or in one.
    _MSET_6, _MSET_6 + _MSET_6, b"*11\r\n" + b"$1\r\n+\r\n" * 11, _MSET_6[:-9],
    _MSET_6.replace(b"$2\r\nv3", b"+v3"), _MSET_6.replace(b"$2\r\nv3", b":33"),
    _MSET_6.replace(b"$2\r\nv3", b"(33"), _MSET_6.replace(b"$2\r\nv3", b"=v3"),
    _MSET_6.replace(b"$2\r\nv3", b"*1\r\n$1\r\na"), _MSET_6.replace(b"$2\r\nv3", b"%1"),
    _MSET_6.replace(b"$2\r\nv3", b"~9"), _MSET_6.replace(b"$2\r\nv3", b">2"),
    _MSET_6.replace(b"$2\r\nv3", b"|1"), _MSET_6 + b"*99999999\r\n",
    _MSET_6.replace(b"$2\r\nv3", b"*99999999"), b"*-10\r\nPING\r\n", b"*1a\r\n",
    b"*\r\n\r\n", b"*10\r\n", b"*12\r\n$4\r\nMSET\r\n", b"*10\r\n$3\r\nSET\r\n" * 2,
    b"*01\r\n$4\r\nPING\r\n", b"*00\r\nPING\r\n",
    # One request whose RESP3 strings hiredis would take for arguments: a '+' or '('
    # line is shorter than its bulk string, a verbatim one ('=') longer; four of the
    # first and three of the second make the request as long as its canonical
    # encoding would be.
    b"*3\r\n$4\r\nECHO\r\n$2\r\nhi\r\n+inf\r\n", b"*2\r\n$4\r\nECHO\r\n(123\r\n",
    b"*2\r\n$4\r\nECHO\r\n=7\r\ntxt:abc\r\n",
    b"*8\r\n$3\r\nDEL\r\n" + b"+ab\r\n" * 4 + b"=6\r\ntxt:ab\r\n" * 3,
    b"*8\r\n$3\r\nDEL\r\n" + b"=6\r\ntxt:ab\r\n" * 3 + b"(12\r\n" * 4,
    b"*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$4\r\n+inf\r\n$5\r\n=7:ab\r\n",
    # (parsing._only_bulks counts CRLFs: arguments holding some, canonical or not; a
    # bulk string's data ending in CR whose two skipped bytes make a CRLF with it)
    b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n+v\r\n", b"*2\r\n$4\r\nECHO\r\n$6\r\n+a\r\nbc\r\n",
    b"*3\r\n$3\r\nSET\r\n$2\r\nk\r\nX+v\r\n", b"*3\r\n$3\r\nSET\r\n$2\r\nk\r\n\n+v\r\n",
    b"*3\r\n$3\r\nSET\r\n$4\r\n\r\n\r\n\r\n(1\r\n", b"*2\r\n$4\r\nECHO\r\n$3\r\n(\r\r\n",
])
def test_malformed_input(differ, data):
    _same_raw(differ, data)


_PING = b"*1\r\n$4\r\nPING\r\n"
_ECHO = b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"


@pytest.mark.parametrize("tail", [
    b"", _ECHO * 5, b"*0\r\n" + _ECHO + b"*0\r\n*0\r\n" + _PING, b"*1\r\n:5\r\n" + _PING,
    b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n", _ECHO + b"+OK\r\n" + _PING,
    b"$3\r\nfoo\r\n" + _PING, b"*1\r\n$-1\r\n", b"*1\r\n$0\r\n\r\n" + _PING, b":5\r\n",
    b"$0\r\n\r\n" + _PING, b"*-1\r\n" + _PING, b"_\r\n", b"#t\r\n", b",1.5\r\n",
    b"-ERR x\r\n" + _PING, b"!3\r\nerr\r\n", _ECHO + b"*1\r\n$4\r\nPI",
    b"*2\r\n$4\r\nECHO\r\n$1\r\n", b"*1\r\n+PING\r\n", _ECHO + b"*1\r\n(5\r\n",
    b"*2\r\n$4\r\nECHO\r\n$2\r\nhiXX" + _PING, _ECHO + b"*1\r\n$4\r\nPING\r\n\r\n" + _PING,
    b"*2\r\n$4\r\nECHO\r\n_\r\n", b"*2\r\n$4\r\nECHO\r\n#f\r\n", b"PING\r\n" + _ECHO,
])
def test_pipeline_tail_after_a_whole_first_request(differ, tail):
    """A read whose first request came whole (the parser's commonest case) and what
    may follow it in the same read: valid requests, empty ones, RESP3 replies at the
    top level or as arguments, inline commands, bad lengths, a cut-off request."""
    _same_raw(differ, _PING + tail)


# A request whose encoding is two copies of the same bytes (ECHO's argument holds the
# header again): a read of two of them repeats a unit that is no whole request.
_HALF = b"*2\r\n$4\r\nECHO\r\n$41\r\n" + b"x" * 10 + b"\r\n"


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("data", [
    _PING * 16, _PING * 2, _ECHO * 3, _PING * 7 + _PING.replace(b"G", b"H") + _PING * 8,
    _PING * 16 + _PING[:5], _PING * 15 + _PING[:-3] + b"H\r\n",
    encode_command(["INCR", "repeated:n"]) * 16, encode_command(["XADD", "x"]) * 4,
    encode_command(["GET", "repeated:missing"]) * 16,
    (encode_command(["GET", "repeated:a"]) + encode_command(["SET", "repeated:a", "1"])) * 8,
    b"*2\r\n$4\r\nECHO\r\n$4\r\n+inf\r\n" * 4, b"*2\r\n$4\r\nECHO\r\n+inf\r\n" * 4,
    b"*2\r\n$4\r\nECHO\r\n(123\r\n" * 2, b"*2\r\n$4\r\nECHO\r\n=7\r\ntxt:abc\r\n" * 3,
    b"*2\r\n$4\r\nECHO\r\n$7\r\n=7:abc\r\r\n" * 3, (b"*0\r\n" + _PING) * 4,
    b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n" * 3, _HALF * 4, _HALF * 2,
    encode_command(["ZRANGEBYSCORE", "repeated:z", "-inf", "+inf"]) * 5,
    # Hostile: a unit of four bytes repeated over 16 KB (headers nested without end),
    # a command named '*'.
    b"*1\r\n" * 4096, encode_command(["*"]) * 8,
])
def test_repeated_requests_in_one_read(differ, data, protocol):
    """A read repeating one request (parsed once: parsing._repeats), or bytes
    that repeat without being one whole request each: two requests in turn, a cut-off
    copy, RESP3 strings hiredis would take for arguments, an aggregate argument, a
    request that is two copies of the same bytes; in RESP2 and, after a HELLO 3 read
    on its own, RESP3."""
    replies = {}
    for name, port in differ.ports.items():
        sock = socket.create_connection(("127.0.0.1", port))
        if protocol == 3:
            sock.sendall(encode_command(["HELLO", "3"]))
            received(sock, 0.2)     # (the servers describe themselves differently)
        sock.sendall(data)
        replies[name] = received(sock, 0.3)
        sock.close()
    assert replies["miniredis"] == replies["redis"], replies


@pytest.mark.parametrize("request_words", [
    ["INFO", "stats"], ["EVAL", "return redis.call('info', 'stats')", "0"],
])
def test_repeated_requests_that_count_the_ones_before(differ, request_words):
    """INFO (in a script too) in a read repeating it: each one sees the requests before
    it counted in total_commands_processed (Client.requests_before finds a request's
    place by identity: such requests are never one shared list)."""
    data = encode_command(request_words) * 4
    steps = {}
    for name, port in differ.ports.items():
        counts = [int(line.split(b":")[1]) for line in _exchange(port, data).split(b"\r\n")
                  if line.startswith(b"total_commands_processed:")]
        steps[name] = [later - earlier for earlier, later in zip(counts, counts[1:])]
    assert steps["miniredis"] == steps["redis"] and len(steps["redis"]) == 3, steps


def test_pipeline_of_ten_thousand(mini):
    conn = RawConnection(mini.port)
    conn.call("DEL", "pipe")
    conn.send_raw(encode_command(["INCR", "pipe"]) * 10000)
    for i in range(1, 10001):
        assert conn.read_raw() == b":%d\r\n" % i
    conn.call("DEL", "pipe")
    conn.close()


def test_request_split_at_every_byte(mini):
    request = encode_command(["SET", "split", "value with\r\nnewline"]) + \
        encode_command(["GET", "split"]) + b"ECHO inline\r\n" + _MSET_6 + \
        encode_command(["MGET"] + ["split:%d" % i for i in (0, 5, 1, 4, 2, 3, 5, 0, 1, 9, 2)])
    expected = b"+OK\r\n$19\r\nvalue with\r\nnewline\r\n$6\r\ninline\r\n+OK\r\n" \
        b"*11\r\n" + b"".join(b"$2\r\nv%d\r\n" % i for i in (0, 5, 1, 4, 2, 3, 5, 0, 1)) \
        + b"$-1\r\n$2\r\nv2\r\n"
    conn = RawConnection(mini.port)
    conn.call("DEL", "split:9")     # (the server is shared with other tests)
    conn.close()
    for cut in range(1, len(request)):
        sock = socket.create_connection(("127.0.0.1", mini.port))
        sock.sendall(request[:cut])
        time.sleep(0.002)
        sock.sendall(request[cut:])
        sock.settimeout(5)
        got = b""
        while len(got) < len(expected):
            got += sock.recv(65536)
        assert got == expected, cut
        sock.close()


def test_byte_by_byte(mini):
    sock = socket.create_connection(("127.0.0.1", mini.port))
    for byte in encode_command(["ECHO", "slow"]):
        sock.sendall(bytes([byte]))
    sock.settimeout(5)
    assert sock.recv(100) == b"$4\r\nslow\r\n"
    sock.close()


def test_disconnect_mid_request_leaves_others_alone(mini):
    other = RawConnection(mini.port)
    for partial in (b"*3\r\n$3\r\nSET", b"*1\r\n$100\r\nabc", b"ECHO unfinished"):
        sock = socket.create_connection(("127.0.0.1", mini.port))
        sock.sendall(partial)
        sock.close()
    assert other.call("PING") == b"+PONG\r\n"
    other.close()


def test_encoder_bulk_runs_match_item_by_item_encoding():
    """Arrays of plain bytes take a joined fast path: same bytes as item by item,
    whatever the lengths (the head table's end included) and in both protocols."""
    from miniredis.protocol import RESP2, RESP3, Bulks, Set

    def slow(items):
        return b"*%d\r\n" % len(items) + b"".join(
            b"$%d\r\n%s\r\n" % (len(item), item) for item in items)

    # Items of one length share a head (a 1024+ byte length is formatted); equal
    # first and last lengths around a different one must not take that path.
    cases = [[b"x" * n for n in range(12)], [b"a" * 1023, b"b" * 1024] * 6,
             [b""] * 9, [b"v%d" % i for i in range(500)], [b"xxx"] * 100,
             [b"k%02d" % i for i in range(1, 60)], [b"y" * 5000] * 10,
             [b"ab"] * 8 + [b"abc"] + [b"ab"] * 8, [b"ab", b""] + [b"cd"] * 9,
             [b"\r\n$3\r\n"] * 10, [b"one"]]
    for items in cases:
        assert RESP2.encode(items) == slow(items)
        assert RESP3.encode(items) == slow(items)
        assert RESP3.encode(tuple(items)) == slow(items)
        assert RESP2.encode(Bulks(items)) == slow(items)
    mixed = [b"a"] * 9 + [7, None, [b"n"], bytearray(b"ba")]
    assert RESP2.encode(mixed) == b"*13\r\n" + b"$1\r\na\r\n" * 9 + \
        b":7\r\n$-1\r\n*1\r\n$1\r\nn\r\n$2\r\nba\r\n"
    members = Set([b"m%d" % i for i in range(10)])
    assert RESP3.encode(members).startswith(b"~10\r\n$2\r\nm")


def test_subclass_with_its_own_flush_never_takes_the_inline_write():
    """Client._serve_read writes replies itself; a subclass that replaces flush() or
    process() (the replica's master client drops its replies) must not be served so."""
    from miniredis.connection import Client

    class Quiet(Client):
        def flush(self) -> None:
            self.out = []

    class Plain(Client):
        pass

    class Parsing(Plain):
        def process(self, data: bytes) -> None:
            pass

    assert Client._plain_io and Plain._plain_io
    assert not Quiet._plain_io and not Parsing._plain_io


def test_a_flush_replaced_on_the_instance_is_what_a_batch_calls():
    """A replica's client gets its own flush (its bytes count as replication output):
    the batch's write (send_batched) must go through it, not write around it."""
    from benchmarks.inprocess import NullSocket
    from miniredis import Server
    from miniredis.connection import Client

    server = Server()
    plain = Client(server.state, NullSocket(), "127.0.0.1:1", "127.0.0.1:6379")
    replica = Client(server.state, NullSocket(), "127.0.0.1:2", "127.0.0.1:6379")
    calls = []
    replica.flush = lambda: calls.append(replica.out[:]) or replica.out.clear()
    replica._plain_io = False           # (as the master marks it: _add_link)
    for client in (plain, replica):
        client.out.append(b"+stream\r\n")
        client.send_batched()
    assert calls == [[b"+stream\r\n"]] and not replica.out and not plain.out
    assert server.state.stats.total_net_output_bytes == len(b"+stream\r\n")


def test_bulk_replies_are_pieces_that_never_share_a_stored_bytearray():
    """A bulk reply of bytes leaves as three pieces (head, value, CRLF) joined at the
    write, which for a batch of clients comes after the others ran: a string stored as
    a bytearray (grown in place by APPEND) must be copied into its reply, or an APPEND
    by a later client of the batch would change a reply already given. Both sides of
    the 1024-byte head table, through GET's own loop, the dispatcher and the encoder."""
    from benchmarks.inprocess import NullSocket
    from miniredis import Server
    from miniredis.connection import Client
    from miniredis.protocol import RESP2

    server = Server()
    client = Client(server.state, NullSocket(), "127.0.0.1:1", "127.0.0.1:6379")
    for size in (3, 1023, 1024, 5000):
        key = b"k%d" % size
        client.run_requests([[b"SET", key, b"a" * size], [b"APPEND", key, b"b"],
                             [b"SET", b"plain", b"p" * size]])
        stored = client.db.get(key)
        assert stored.__class__ is bytearray
        client.out = []
        # A run of GETs (the own loop), then one GET after another command (the
        # dispatcher), then the encoder's own bulk path.
        client.run_requests([[b"GET", key]] * 3 + [[b"PING"], [b"GET", key],
                                                   [b"GET", b"plain"]])
        RESP2.encode_into(stored, client.out)
        pieces = client.out
        assert not any(piece is stored for piece in pieces)
        stored += b"changed later"
        expected = b"$%d\r\n%s\r\n" % (size + 1, b"a" * size + b"b")
        assert b"".join(pieces) == expected * 3 + b"+PONG\r\n" + expected + \
            b"$%d\r\n%s\r\n" % (size, b"p" * size) + expected


def test_integer_runs_match_reply_by_reply_encoding():
    """protocol.integer_run (the replies of a run of pushes or counts applied
    together) gives the bytes of each integer reply in turn: up and down, inside one
    thousand, across thousands, from negatives, near 64-bit limits, one reply."""
    from miniredis.protocol import integer_run

    starts = [-1500, -1001, -999, -5, -3, -2, -1, 0, 1, 9, 998, 999, 1000, 1001, 1984,
              1999, 2000, 9960, 9984, 9999, 10000, 10001, 10016, 123456, 999999, 1000000,
              2 ** 63 - 40, -2 ** 63 + 40]
    for first in starts:
        for count in (1, 2, 3, 16, 17, 40):
            for step in (1, -1):
                expected = b"".join(b":%d\r\n" % (first + step * i) for i in range(count))
                assert integer_run(first, count, step) == expected, (first, count, step)


def test_integer_runs_counting_up_through_thousands():
    """A counter counted up run by run (redis-benchmark's INCR, a list's lengths under
    LPUSH): from the second run in one thousand its replies are slices of the whole
    thousand joined (protocol._thousand); each run gives each reply's bytes, through
    thousands of every width, runs of every length, two counters in turn."""
    from miniredis.protocol import integer_run

    def expected(first, count):
        return b"".join(b":%d\r\n" % (first + i) for i in range(count))

    for start in (1000, 9990, 99000, 999_000, 10 ** 12 - 2000, 2 ** 63 - 3000):
        value = start
        for count in [1, 16, 7, 16, 2, 999, 3] * 8:
            if value + count - 1 > 2 ** 63 - 1:
                break
            assert integer_run(value, count, 1) == expected(value, count), (value, count)
            value += count
    # Two counters in turn, in one thousand and in two.
    for other in (5000, 7000):
        first, second = 5000, other + 500
        for count in (16, 16, 1, 16, 999, 16):
            for value in (first, second):
                assert integer_run(value, count, 1) == expected(value, count)
            first, second = first + count, second + count
