"""Request limits: huge counts, header edge cases, long inline lines, limits before AUTH,
and DEBUG refused before NOAUTH and MULTI, each byte for byte against redis-server."""
from __future__ import annotations

import resource
import socket
import time

import pytest

from miniredis import Server, errors
from tests.harness import (RawConnection, RedisProcess, encode_command, exchange,
                           redis_server_or_skip)


def _same(ports, data: bytes) -> bytes:
    replies = {name: exchange(port, data) for name, port in ports.items()}
    assert replies["miniredis"] == replies["redis"], replies
    return replies["redis"]


def _req(*args: bytes) -> bytes:
    return encode_command(list(args))


@pytest.mark.parametrize("data", [
    b"*2147483647\r\n$1\r\na\r\n",          # INT_MAX: accepted, waits for its arguments
    b"*2147483648\r\n$1\r\na\r\n",          # above: refused
    b"*3000000000\r\n",
    b"*99999999999999999999999\r\n",
    b"*2000000\r\n$4\r\nPING\r\n",          # above the old 1,048,576 cap: accepted
    b"*1\r\n*2147483647\r\n$1\r\na\r\n",    # nested aggregates: expected '$'
    b"*2\r\n$4\r\nECHO\r\n>2147483647\r\n",
    b"*2\r\n$4\r\nECHO\r\n~2147483647\r\n",
    b"*2\r\n$4\r\nECHO\r\n|2147483647\r\n",
    b"*2\r\n$4\r\nECHO\r\n%2147483647\r\n",
    b"PING\r\n*1\r\n*20000\r\n",
    b"*1\rX$4\r\nPING\r\n",                  # a header ends at '\r', whatever follows
    b"*1\r\n$4\rXPING\r\n",
    b"PING\x00\r\n",                          # a NUL hides the end of the line
    b"*1\x00\r\n$4\r\nPING\r\n",
    b"*-0\r\nPING\r\n", b"*-01\r\n", b"*1\r\n$-0\r\n", b"*01\r\n", b"*+1\r\n",
    b"*1\r\nX", b"*1\r\nX\r\n", b"*1\r\n$4\r\nPING\r\n*1\r\nX\r\n",
    b"*1\r\n$" + b"1" * 70000 + b"\r\n",
    b"*1" + b"1" * 70000,
    b"*2\r\n$4\r\nECHO\r\n$3\r\nabcXY*1\r\n$4\r\nPING\r\n",
])
def test_counts_and_headers(differ, data):
    _same(differ.ports, data)


@pytest.mark.parametrize("length", [60000, 70000, 100000, 200000])
def test_long_inline_lines(differ, length):
    """Redis reads 16 KB at a time: a line may end a little past 64 KB."""
    data = b"ECHO " + b"a" * (length - 5) + b"\r\n"
    reply = _same(differ.ports, data)
    assert reply.startswith(b"$" if length <= 70000 else b"-ERR Protocol error: too big")


def test_unterminated_inline_past_64k(differ):
    reply = _same(differ.ports, b"ECHO " + b"a" * 70000)
    assert reply.startswith(b"-ERR Protocol error: too big inline request")


# -- limits before AUTH ----------------------------------------------------------------
@pytest.fixture(scope="module")
def auth_ports(tmp_path_factory):
    executable = redis_server_or_skip()
    real = RedisProcess(executable, ["--requirepass", "pw"])
    mini = Server(port=0, requirepass="pw", dir=str(tmp_path_factory.mktemp("limits")))
    mini.start()
    yield {"redis": real.port, "miniredis": mini.port}
    mini.stop()
    real.stop()


@pytest.mark.parametrize("data", [
    _req(b"PING"),
    _req(*[b"a"] * 10),
    _req(*[b"a"] * 11),
    b"*11\r\n",
    b"*0\r\n*11\r\n",
    b"*-1\r\n" + _req(b"PING"),
    _req(b"SET", b"k", b"v" * 16384),
    _req(b"SET", b"k", b"v" * 16385),
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16385\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999999\r\n",
    b"*2147483648\r\n",
    b"ECHO " + b"a " * 100 + b"\r\n",        # inline: no argument limit
    b"ECHO " + b"a" * 60000 + b"\r\n",
    _req(b"AUTH", b"pw") + _req(b"SET", b"k", b"v" * 20000) + _req(*[b"DEL"] * 20),
    _req(b"AUTH", b"bad") + _req(b"SET", b"k", b"v" * 20000),
    b"AUTH pw\r\nSET k " + b"v" * 20000 + b"\r\nGET k\r\n",
    _req(b"AUTH", b"pw") + b"*2147483648\r\n",
    _req(b"AUTH", b"default", b"pw") + _req(*[b"x"] * 12),
    _req(b"AUTH", b"pw") + _req(b"DEL", b"k"),
    _req(b"DEBUG", b"SLEEP", b"0"),          # refused for DEBUG before NOAUTH
])
def test_limits_before_auth(auth_ports, data):
    _same(auth_ports, data)


def test_unauthenticated_big_bulk_costs_nothing(auth_ports):
    """A 200 MB bulk announced before AUTH is refused at its header."""
    for name, port in auth_ports.items():
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000000\r\n" + b"x" * 65536)
        sock.settimeout(5)
        reply = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except ConnectionResetError:
            pass
        assert reply == b"-%s\r\n" % errors.PROTO_UNAUTH_BULK.encode(), name
        sock.close()


# -- huge counts cost nothing and stall nobody -----------------------------------------
def test_huge_count_does_not_stall_or_allocate(mini):
    """Each huge announced count is a few bytes of pending input, not a 2^31 list."""
    other = RawConnection(mini.port)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    socks = []
    worst = 0.0
    for count in (2147483647, 2000000000, 1500000000, 100000000):
        sock = socket.create_connection(("127.0.0.1", mini.port))
        sock.sendall(b"*%d\r\n$1\r\na\r\n" % count)
        socks.append(sock)
        started = time.perf_counter()
        assert other.call("PING") == b"+PONG\r\n"
        worst = max(worst, time.perf_counter() - started)
    # Nested and RESP3 aggregates hiredis would also preallocate for.
    for data in (b"*1\r\n*2147483647\r\n", b"*2\r\n$1\r\na\r\n>2147483647\r\n",
                 b"*2\r\n$1\r\na\r\n~2147483647\r\n", b"*2\r\n$1\r\na\r\n|2147483647\r\n",
                 # hidden after the two bytes skipped after a bulk string's data:
                 b"*2\r\n$1\r\naXX*2147483647\r\n", b"*2\r\n$1\r\naXX>2147483647\r\n",
                 b"*3\r\n$1\r\naXX~2147483647\r\n"):
        sock = socket.create_connection(("127.0.0.1", mini.port))
        sock.sendall(data)
        socks.append(sock)
        started = time.perf_counter()
        assert other.call("PING") == b"+PONG\r\n"
        worst = max(worst, time.perf_counter() - started)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    for sock in socks:
        sock.close()
    other.close()
    assert worst < 0.5, worst          # a 2^31 list took seconds
    assert grown_kb < 50 * 1024, grown_kb


def test_big_request_arriving_slowly_is_served(mini):
    """A count above 1,048,576 is accepted and served once its arguments arrive."""
    count = 1100000
    conn = RawConnection(mini.port)
    conn.send_raw(b"*%d\r\n$5\r\nRPUSH\r\n$3\r\nbig\r\n" % (count + 2))
    chunk = b"$1\r\nx\r\n" * 100000
    sent = 0
    while sent < count:
        n = min(100000, count - sent)
        conn.send_raw(chunk if n == 100000 else b"$1\r\nx\r\n" * n)
        sent += n
    assert conn.read_raw() == b":%d\r\n" % count
    assert conn.call("DEL", "big") == b":1\r\n"
    conn.close()


def test_pipelined_requests_with_many_arguments_still_parsed(mini):
    """Counts of 1000+ whose arguments are all in the buffer go to hiredis as before."""
    conn = RawConnection(mini.port)
    members = [b"m%d" % i for i in range(3000)]
    conn.send_raw(encode_command([b"SADD", b"many"] + members) * 3 +
                  encode_command([b"SCARD", b"many"]))
    assert [conn.read_raw() for _ in range(4)] == [b":3000\r\n", b":0\r\n", b":0\r\n",
                                                    b":3000\r\n"]
    conn.call("DEL", "many")
    conn.close()


# -- DEBUG refused before NOAUTH and MULTI ---------------------------------------------
def test_debug_refused_inside_multi(differ):
    """Refused when queued: the transaction is doomed, as for any rejected command."""
    configured = {}
    with Server(port=0, enable_debug_command="no") as server:
        executable = redis_server_or_skip()
        real = RedisProcess(executable, ["--enable-debug-command", "no"])
        try:
            data = (_req(b"CONFIG", b"RESETSTAT") + _req(b"MULTI") +
                    _req(b"DEBUG", b"SLEEP", b"0") + _req(b"PING") +
                    _req(b"EXEC") + _req(b"INFO", b"commandstats"))
            for name, port in (("redis", real.port), ("miniredis", server.port)):
                reply = exchange(port, data)
                head, stats = reply.split(b"# Commandstats")
                configured[name] = head.rsplit(b"$", 1)[0] + b"".join(
                    line for line in stats.split(b"\n") if line.startswith(b"cmdstat_debug"))
        finally:
            real.stop()
    assert configured["miniredis"] == configured["redis"]
    assert b"EXECABORT" in configured["redis"]
    assert b"cmdstat_debug:calls=0" in configured["redis"]


@pytest.mark.parametrize("data", [
    b"*1\r\n+PING\r\n", b"*2\r\n$4\r\nECHO\r\n+hi\r\n", b"*2\r\n$4\r\nECHO\r\n=5\r\ntxt:a\r\n",
    b"*2\r\n$4\r\nECHO\r\n(123\r\n", b"*2\r\n$4\r\nECHO\r\n:1\r\n", b"*2\r\n$4\r\nECHO\r\n_\r\n",
    b"*2\r\n$4\r\nECHO\r\n,1.5\r\n", b"*2\r\n$4\r\nECHO\r\n#t\r\n", b"*2\r\n$4\r\nECHO\r\n-x\r\n",
    b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n", b"*2\r\n$4\r\nECHO\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"*2\r\n$4\r\nECHO\r\n$5\r\na\n+bc\r\n",   # looks odd, but only bulk data
    # hiredis parses these whole; what it returned is kept only if canonical:
    b"*2\r\n$4\r\nECHO\r\n$4\r\n+inf\r\n*2\r\n$4\r\nECHO\r\n+hi\r\n",
    b"*2\r\n$4\r\nECHO\r\n$2\r\n(1\r\n*0\r\n*0\r\n*2\r\n$4\r\nECHO\r\n(12\r\n",
    b"*0\r\n*2\r\n$4\r\nECHO\r\n$1\r\n+\r\n*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$02\r\n+x\r\n", b"*2\r\n$4\r\nECHO\r\n$+2\r\n+x\r\n",
    b"*02\r\n$4\r\nECHO\r\n$2\r\n+x\r\n", b"*2\r\n$4\r\nECHO\r\n=2\r\n+x\r\n",
    b"*3\r\n$4\r\nECHO\r\n$2\r\n+x\r\n+y\r\n",
    # After a bulk string's data both skip two bytes unseen: a RESP3 string (or an
    # aggregate) may follow them on the same line.
    b"*2\r\n$3\r\nGETXX+foo\r\n", b"*2\r\n$4\r\nECHOXX=foo\r\n",
    b"*2\r\n$4\r\nECHOXX(12\r\n", b"*2\r\n$3\r\nGETXX$3\r\nfoo\r\n",
    b"*3\r\n$3\r\nSETXX+foo\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHOXX+foo\r\n",
    b"*2\r\n$4\r\nECHOXX*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    # One request per read, with bytes the quick path must look closer at:
    b"*2\r\n$4\r\nECHO\r\n$4\r\n+inf\r\n", b"*2\r\n$4\r\nECHO\r\n$3\r\na=b\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\n(1)\r\n", b"*2\r\n$4\r\nECHO\r\n$3\r\n>~|\r\n",
    b"*2\r\n$4\r\nECHO\r\n$1\r\n%\r\n", b"*2\r\n$4\r\nECHO\r\n$1\r\n*\r\n",
    b"*2\r\n$4\r\nECHO\r\n$5\r\n*1234\r\n", b"*2\r\n$4\r\nECHOXX*1\r\n$1\r\na\r\n",
    b"*2\r\n$4\r\nECHO\r\n*2\r\n$1\r\na\r\n:1\r\n",
    b"*3\r\n$4\r\nECHO\r\n$2\r\n+x\r\n", b"*1\r\n$4\r\nPING\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$-1\r\n", b"*2\r\n$4\r\nECHO\r\n$1\r\nab\r\n",
    # A pipeline whose first request is well formed (the quick path's reader goes on
    # with the rest): what follows is judged as in any other read.
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n:1\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$-1\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n+hi\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\na\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*0\r\n*2\r\n$4\r\nECHO\r\n$3\r\nab",
    b"*2\r\n$4\r\nECHO\r\n$1\r\na\r\n*2\r\n$4\r\nECHO\r\n$1\r\nab\r\n",
])
def test_only_bulk_strings_are_arguments(differ, data):
    """Redis takes only '$' bulk strings as arguments; hiredis reads RESP3 types too."""
    _same(differ.ports, data)


def test_security_settings_at_run_time(differ):
    """protected-mode is settable at run time; the enable-* options are not."""
    differ.check("CONFIG GET protected-mode", "CONFIG SET protected-mode no",
                 "CONFIG GET protected-mode", "CONFIG SET protected-mode maybe",
                 "CONFIG SET protected-mode yes", "CONFIG GET protected-mode",
                 "CONFIG SET enable-protected-configs yes",
                 "CONFIG SET enable-debug-command no", "CONFIG SET enable-module-command yes")


def test_debug_defaults_of_the_embedded_server():
    """Embedded: "local", so loopback clients and Server.execute may use DEBUG."""
    with Server(port=0) as server:
        assert server.config["enable-debug-command"] == "local"
        assert server.execute("DEBUG", "SLEEP", "0") == b"OK"
        conn = RawConnection(server.port)
        assert conn.call("DEBUG", "SLEEP", "0") == b"+OK\r\n"
        conn.close()
    with Server(port=0, enable_debug_command="no") as server:
        with pytest.raises(Exception, match="DEBUG command not allowed"):
            server.execute("DEBUG", "SLEEP", "0")


def _in_two_reads(port: int, first: bytes, second: bytes) -> bytes:
    """Send ``first``, let the server read it alone, then ``second``; every reply."""
    sock = socket.create_connection(("127.0.0.1", port))
    out = b""
    try:
        sock.sendall(first)
        time.sleep(0.1)
        sock.sendall(second)
        sock.settimeout(0.3)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                out += b"<closed>"
                break
            out += chunk
    except socket.timeout:
        pass
    except (ConnectionResetError, BrokenPipeError):
        out += b"<closed>"
    sock.close()
    return out


@pytest.mark.parametrize("first, second", [
    # A whole request, then what hiredis would hold inside itself at the end of the read
    # (a type byte, an aggregate header, a map header, a request's first arguments):
    # the rest, read next, must be judged as Redis judges it.
    (b"*1\r\n$4\r\nPING\r\n$", b"3\r\nfoo\r\n"),
    (b"*1\r\n$4\r\nPING\r\n%1\r\n", b"$1\r\na\r\n$1\r\nb\r\n"),
    (b"*1\r\n$4\r\nPING\r\n*2\r\n", b"$4\r\nECHO\r\n$2\r\nhi\r\n"),
    (b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n", b"$2\r\nhi\r\n"),
    (b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n", b"*1\r\n$4\r\nPING\r\n"),
    (b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n", b"$99999999999\r\n"),
    (b"*2\r\n$4\r\nECHO\r\n", b"$2\r\nhi\r\n"),
    (b"*2\r\n$4\r\nECHO\r\n", b"+hi\r\n"),
    (b"*", b"1\r\n$4\r\nPING\r\n"),
    (b"*1\r\n$4\r\nPING\r\n*0\r\n", b"*1\r\n$4\r\nPING\r\n"),
    (b"*1\r\n$4\r\nPING\r\n+", b"OK\r\n"),
    (b"*2\r\n$4\r\nECHO\r\n$4\r\n+inf\r\n*2\r\n$4\r\nECHO\r\n", b"+hi\r\n"),
    (b"*2\r\n$4\r\nECHO\r\n$4\r\n+inf\r\n*2\r\n$4\r\nECHO\r\n+h", b"i\r\n"),
    (b"*2\r\n$4\r\nECHO\r\n+inf\r\n*1\r\n", b"$4\r\nPING\r\n"),
])
def test_read_ending_inside_hiredis(differ, first, second):
    replies = {name: _in_two_reads(port, first, second)
               for name, port in differ.ports.items()}
    assert replies["miniredis"] == replies["redis"], replies


def _replies_in_pieces(port: int, data: bytes, piece: int, count: int) -> list:
    """Send ``data`` in ``piece``-byte writes a moment apart (each read of the server
    stops inside some request) and read ``count`` replies."""
    conn = RawConnection(port)
    try:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(data), piece):
            conn.sock.sendall(data[start:start + piece])
            time.sleep(0.001)
        return [conn.read_raw() for _ in range(count)]
    finally:
        conn.close()


@pytest.mark.parametrize("piece", [65536, 7919, 1021])
def test_pipelines_split_anywhere_with_big_elements_and_counts(differ, piece):
    """Reads that end inside a request after thousands of complete ones: the parser
    finds where hiredis stopped from the requests' sizes (wire.requests_length), with
    elements of 10,000 bytes and more and a request of 10,001 arguments (its C loops'
    tables stop there), as redis-server answers the same bytes."""
    commands = [["SET", "k%d" % i, "v" * (i % 50)] for i in range(3000)]
    commands += [["SET", "big", "x" * 12000], ["STRLEN", "big"], ["SET", "edge", "y" * 9999],
                 ["SET", "edge2", "z" * 10000], ["RPUSH", "l", *["e"] * 10000],
                 ["LLEN", "l"], ["DEL", "l"]]
    commands += [["GET", "k%d" % i] for i in range(0, 3000, 7)]
    data = b"".join(encode_command(c) for c in commands)
    results = []
    for port in (differ.ports["redis"], differ.ports["miniredis"]):
        RawConnection(port).call("FLUSHALL")
        results.append(_replies_in_pieces(port, data, piece, len(commands)))
    assert results[1] == results[0]


_ODD_HEADERS = [b"$01\r\nx\r\n", b"$-0\r\n", b"$-1\r\n", b"$ 1\r\nx\r\n",
                b"$1\x00\r\nx\r\n", b"$1\rXx\r\n", b"$0\r\n\r\n", b"$12345678901\r\n",
                b"$" + b"9" * 25 + b"\r\n", b"+1\r\n", b"$1\r\nxy\r\n"]


def _sadd_request(count: int, odd: bytes = b"") -> bytes:
    """SADD s 0 1 2... (``count`` members), ``odd`` in place of the 100th from the end."""
    head = b"*%d\r\n$4\r\nSADD\r\n$1\r\ns\r\n" % (count + 2)
    members = [b"$%d\r\n%d\r\n" % (len(b"%d" % i), i) for i in range(count)]
    if odd:
        members[-100] = odd
    return head + b"".join(members)


@pytest.mark.parametrize("count, odd", [(3000, odd) for odd in _ODD_HEADERS]
                         + [(120000, _ODD_HEADERS[0]), (120000, _ODD_HEADERS[5]),
                            (120000, _ODD_HEADERS[6])])
def test_long_requests_arriving_in_pieces_with_an_odd_header(differ, count, odd):
    """A request of thousands of arguments arrives over several reads, its headers
    checked as they come (the usual "$<digits>" header a shorter way than the
    others), with one odd header deep inside: both servers answer alike (an error
    and a close, or nothing yet)."""
    data = _sadd_request(count, odd)
    replies = {name: _everything_in_pieces(port, data, 65536)
               for name, port in differ.ports.items()}
    assert replies["miniredis"] == replies["redis"], replies


@pytest.mark.parametrize("count", [3000, 120000])
def test_long_requests_arriving_in_pieces(differ, count):
    """The same with usual headers only (past 1 MB: copied straight out of the
    buffer), then a SCARD."""
    data = _sadd_request(count) + _req(b"SCARD", b"s") + _req(b"DEL", b"s")
    replies = {name: _replies_in_pieces(port, data, 65536, 3)
               for name, port in differ.ports.items()}
    assert replies["miniredis"] == replies["redis"], replies


_RUN_BREAKERS = [b"$7\r\n1234567\r\n", b"$9\r\n123456789\r\n", b"$8\rX12345678\r\n",
                 b"$8\r\n1234567\r\n", b"$08\r\n12345678\r\n", b"$8\r\n12345678XY",
                 b"$80\r\n" + b"8" * 80 + b"\r\n"]


@pytest.mark.parametrize("breaker", _RUN_BREAKERS)
def test_runs_of_one_length_broken_anywhere(differ, breaker):
    """Arguments of one length are checked many at a time (wire._same_headers): an
    argument of another length, an odd header or a bad one anywhere in such a run, in
    a request read whole, in small pieces, and past 1 MB (hiredis, or the loop), gets
    redis-server's answers."""
    for count, offsets, piece in ((600, (2, 3, 4, 5, 6, 9, 13, 14, 29, 30, 61, 125, 253,
                                         598, 599), 1021),
                                  (600, (7, 300), 65536),
                                  (70000, (3, 60000, 69999), 65536)):
        for offset in offsets:
            members = [b"$8\r\n%08d\r\n" % i for i in range(count)]
            members[offset] = breaker
            data = b"*%d\r\n$4\r\nSADD\r\n$1\r\ns\r\n" % (count + 2) + b"".join(members)
            data += _req(b"SCARD", b"s") + _req(b"DEL", b"s") + _req(b"ECHO", b"the end")
            replies = {name: _everything_in_pieces(port, data, piece, b"the end\r\n")
                       for name, port in differ.ports.items()}
            assert replies["miniredis"] == replies["redis"], (count, offset, replies)


def _everything_in_pieces(port: int, data: bytes, piece: int, last: bytes = b"") -> bytes:
    """Send ``data`` in ``piece``-byte writes a moment apart; every byte answered
    until the server closes, stays silent for 0.3 seconds, or answers ``last``.

    A server that closes after a protocol error may do so before the last pieces are
    sent (the sooner, the more likely): a write then fails, but what it answered
    before closing is still queued here and is read all the same (whether a write
    fails is a race between the two processes, not an answer)."""
    sock = socket.create_connection(("127.0.0.1", port))
    out = b""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for start in range(0, len(data), piece):
                sock.sendall(data[start:start + piece])
                time.sleep(0.001)
        except (ConnectionResetError, BrokenPipeError):
            pass
        sock.settimeout(0.3)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out + b"<closed>"
            out += chunk
            if last and out.endswith(last):
                return out
    except socket.timeout:
        return out
    except (ConnectionResetError, BrokenPipeError):
        return out + b"<closed>"
    finally:
        sock.close()
