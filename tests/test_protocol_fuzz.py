"""Protocol fuzz: 100,000+ malformed and adversarial frames against one server process.

A seeded generator builds, for each of many "bad" connections, a run of adversarial
frames whose replies it knows (odd but valid requests, unknown commands, empty and
negative counts, RESP3 lines at the top level, inline quoting, binary arguments, big
counts that arrive whole, DEBUG while it is refused...), then one terminal frame:
either a protocol error (bad count, huge count, negative or oversized length, bad
'$', nested aggregates, RESP3 string types as arguments, unbalanced quotes, oversized
inline, and, before AUTH, more than 10 arguments or a bulk over 16 KB), which must get
Redis's exact error and a closed connection, or an incomplete frame (truncated,
announcing a huge count or length) that must get nothing. Half the connections
authenticate first (the server has a password), half do not.

Meanwhile well-behaved clients SET and GET with verification and measure latency,
connections that announce huge counts or lengths stay open, and the server's RSS and
address space are sampled from /proc. Random binary garbage is also sent to both
miniredis and redis-server and the replies compared byte for byte.

Bounds stated here: RSS grows by less than RSS_BOUND_MB, the address space by less
than VSZ_BOUND_MB (a 2^31-slot list would be 16 GB), and no well-behaved request waits
longer than LATENCY_BOUND_S (a loaded 2-core machine: generous on purpose).
"""
from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from typing import List, Optional, Tuple

import pytest

from miniredis import errors
from tests.harness import RedisProcess, exchange, redis_server_or_skip, free_port, \
    wait_serving

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20260207
BAD_CONNECTIONS = 420
FRAMES_PER_CONNECTION = 250
GARBAGE_CONNECTIONS = 240
WORKERS = 8
RSS_BOUND_MB = 80
VSZ_BOUND_MB = 512
LATENCY_BOUND_S = 2.0
PASSWORD = b"fuzzpw"

NOAUTH = b"-NOAUTH Authentication required.\r\n"


def _err(text: str) -> bytes:
    return b"-" + text.encode() + b"\r\n"


def _req(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _unknown(name: bytes, args: List[bytes]) -> bytes:
    shown = "".join("'%s' " % a.decode() for a in args)
    return _err(errors.UNKNOWN_COMMAND.format(name.decode(), shown))


class Generator:
    """Frames with the replies Redis gives them, for one connection."""

    def __init__(self, rng: random.Random, authenticated: bool) -> None:
        self.rng = rng
        self.auth = authenticated

    def _served(self, reply: bytes) -> bytes:
        return reply if self.auth else NOAUTH

    def benign(self) -> Tuple[bytes, bytes]:
        rng = self.rng
        kind = rng.randrange(14)
        if kind == 0:
            return _req(b"PING"), self._served(b"+PONG\r\n")
        if kind == 1:
            return rng.choice([b"PING\r\n", b"PING\n", b"ping\r\n", b"  PING  \r\n"]), \
                self._served(b"+PONG\r\n")
        if kind == 2:
            value = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
            return _req(b"ECHO", value), self._served(_bulk(value))
        if kind == 3:
            return rng.choice([b"*0\r\n", b"*-1\r\n", b"*-42\r\n", b"\r\n", b"\n",
                               b"   \r\n"]), b""
        if kind == 4:
            name = b"FZ%d" % rng.randrange(10 ** 6)
            args = [b"a%d" % rng.randrange(100) for _ in range(rng.randrange(4))]
            return _req(name, *args), _unknown(name, args)
        if kind == 5:
            return _req(b"ECHO"), _err(errors.WRONG_ARITY.format("echo"))
        if kind == 6:   # RESP types at the top level are inline words
            word = rng.choice([b":1", b"+OK", b"$4", b"-ERR", b"%2", b">3", b"~1", b"_",
                               b"#t", b",1.5", b"(12", b"=5"])
            return word + b"\r\n", _unknown(word, [])
        if kind == 7:
            word = b"x y\tz" if rng.random() < 0.5 else b"\\x41\\n"
            value = b"x y\tz" if word == b"x y\tz" else b"A\n"
            return b'ECHO "' + word + b'"\r\n', self._served(_bulk(value))
        if kind == 8:
            return b"ECHO 'it\\'s'\r\n", self._served(_bulk(b"it's"))
        if kind == 9:
            return _req(b"DEBUG", b"SLEEP", b"0"), _err(errors.DEBUG_NOT_ALLOWED)
        if kind == 10 and self.auth and rng.random() < 0.05:
            # A count of 1000+ whose arguments all came: parsed as usual.
            keys = [b"fz:%d" % i for i in range(1000 + rng.randrange(500))]
            return _req(b"EXISTS", *keys), b":0\r\n"
        if kind == 11:
            value = b"v" * rng.choice([1, 100, 3000])
            return _req(b"ECHO", value), self._served(_bulk(value))
        if kind == 12:   # data that looks like RESP3 lines, inside a bulk
            value = rng.choice([b"a\r\n+b", b"\r\n*99999\r\n", b"x\n=5", b"\n(1", b"\r\n>7"])
            return _req(b"ECHO", value), self._served(_bulk(value))
        return _req(b"PING", b"hi"), self._served(_bulk(b"hi"))

    def terminal(self) -> Tuple[bytes, Optional[bytes]]:
        """The last frame and Redis's error for it (None: incomplete, no reply)."""
        rng = self.rng
        errors_common = [
            (b"*abc\r\n", errors.PROTO_INVALID_MULTIBULK),
            (b"*2147483648\r\n", errors.PROTO_INVALID_MULTIBULK),
            (b"*99999999999999999999\r\n", errors.PROTO_INVALID_MULTIBULK),
            (b"*-0\r\n", errors.PROTO_INVALID_MULTIBULK),
            (b"*01\r\n", errors.PROTO_INVALID_MULTIBULK),
            (b"*1\r\n$-5\r\n", errors.PROTO_INVALID_BULK),
            (b"*1\r\n$x\r\n", errors.PROTO_INVALID_BULK),
            (b"*1\r\n$600000000\r\n", errors.PROTO_INVALID_BULK),
            (b"*2\r\n$4\r\nECHO\r\nX\r\n", errors.PROTO_EXPECTED_DOLLAR.format("X")),
            (b"*2\r\n$4\r\nECHO\r\n+hi\r\n", errors.PROTO_EXPECTED_DOLLAR.format("+")),
            (b"*2\r\n$4\r\nECHO\r\n:1\r\n", errors.PROTO_EXPECTED_DOLLAR.format(":")),
            (b"*1\r\n*2147483647\r\n", errors.PROTO_EXPECTED_DOLLAR.format("*")),
            (b"*2\r\n$4\r\nECHO\r\n>2147483647\r\n", errors.PROTO_EXPECTED_DOLLAR.format(">")),
            (b"*2\r\n$4\r\nECHO\r\n%3\r\n", errors.PROTO_EXPECTED_DOLLAR.format("%")),
            (b'ECHO "unbalanced\r\n', errors.PROTO_UNBALANCED_QUOTES),
            (b"ECHO 'x'y\r\n", errors.PROTO_UNBALANCED_QUOTES),
        ]
        if not self.auth:
            errors_common += [
                (b"*11\r\n", errors.PROTO_UNAUTH_MULTIBULK),
                (_req(*[b"a"] * 12), errors.PROTO_UNAUTH_MULTIBULK),
                (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16385\r\n", errors.PROTO_UNAUTH_BULK),
                (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000000\r\n" + b"x" * 1000,
                 errors.PROTO_UNAUTH_BULK),
            ]
        pending = [
            b"*2147483647\r\n$1\r\na\r\n" if self.auth else b"*10\r\n$1\r\na\r\n",
            b"*2000000000\r\n" if self.auth else b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16384\r\n",
            b"*1\r\n$100000000\r\n" + b"x" * 1000 if self.auth else b"*1\r\n$16000\r\nxx",
            b"*3\r\n$3\r\nSET\r\n$1\r\n",
            b"*2\r\n$4\r\nECHO\r\n",
        ]
        roll = rng.random()
        if roll < 0.6:
            frame, text = rng.choice(errors_common)
            return frame, _err(text)
        if roll < 0.9:
            if rng.random() < 0.5:
                return rng.choice(pending), None
            full = _req(b"SET", b"fz:t", b"v" * rng.randrange(1, 50))
            return full[:rng.randrange(1, len(full) - 1)], None
        big = rng.choice([b"ECHO " + b"a" * 66000, b"*" + b"1" * 66000])
        text = errors.PROTO_BIG_INLINE if big[:1] == b"E" else errors.PROTO_BIG_MBULK
        return big, _err(text)


def _read_exact(sock: socket.socket, size: int) -> bytes:
    out = b""
    while len(out) < size:
        chunk = sock.recv(max(65536, size - len(out)))
        if not chunk:
            break
        out += chunk
    return out


def _read_to_close(sock: socket.socket) -> Tuple[bytes, bool]:
    """Everything until the server closes; (bytes, whether it closed with a reset)."""
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out, False
            out += chunk
    except ConnectionResetError:
        return out, True


def _bad_connection(port: int, seed: int, failures: List[str]) -> int:
    rng = random.Random(seed)
    gen = Generator(rng, authenticated=rng.random() < 0.5)
    frames, expected = [], []
    if gen.auth:
        frames.append(_req(b"AUTH", PASSWORD))
        expected.append(b"+OK\r\n")
    for _ in range(FRAMES_PER_CONNECTION):
        frame, reply = gen.benign()
        frames.append(frame)
        expected.append(reply)
    terminal, error = gen.terminal()
    want = b"".join(expected)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(20)
    try:
        sock.sendall(b"".join(frames))
        got = _read_exact(sock, len(want))
        if got != want:
            failures.append("seed %d: replies differ at byte %d" % (
                seed, next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                           min(len(got), len(want)))))
            return len(frames)
        try:
            sock.sendall(terminal)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if error is None:
            sock.settimeout(0.02)
            try:
                extra = sock.recv(100)
                failures.append("seed %d: incomplete frame got %r" % (seed, extra))
            except socket.timeout:
                pass
        else:
            got, reset = _read_to_close(sock)
            # An oversized frame may still be arriving when the server closes: the
            # kernel then resets the connection and the error may be lost (Redis too).
            if got != error and not (reset and error.startswith(got)):
                failures.append("seed %d: terminal %r got %r, want %r" % (
                    seed, terminal[:30], got[:80], error))
    finally:
        sock.close()
    return len(frames) + 1


def _garbage(rng: random.Random) -> bytes:
    """Random bytes with some RESP shape; no real command name but PING/ECHO."""
    if rng.random() < 0.5:
        return _mutated(rng)
    tokens = [b"*", b"$", b"\r\n", b"\n", b"\r", b"\0", b"1", b"2", b"10", b"-1",
              b"99999", b"PING", b"ECHO", b" ", b'"', b"'", b"\\x4", b"+", b":", b"%",
              b"~", b">", b"|", b"_", b"a", b"\xff"]
    parts = []
    for _ in range(rng.randrange(1, 60)):
        if rng.random() < 0.15:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8))))
        else:
            parts.append(rng.choice(tokens))
    return b"".join(parts)


def _mutated(rng: random.Random) -> bytes:
    """A few valid PING/ECHO requests with bytes flipped, inserted or dropped."""
    data = bytearray(b"".join(
        _req(b"ECHO", bytes(rng.randrange(256) for _ in range(rng.randrange(12))))
        if rng.random() < 0.6 else _req(b"PING") for _ in range(rng.randrange(1, 6))))
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(len(data))
        action = rng.randrange(3)
        if action == 0:
            data[at] = rng.choice(b"*$\r\n0123456789-+:%~>|_ \0xa")
        elif action == 1:
            data.insert(at, rng.choice(b"*$\r\n0123456789-+ \0"))
        else:
            del data[at]
    return bytes(data)


def _exchange(port: int, data: bytes) -> bytes:
    """``data`` after AUTH on a new connection; what came back (see harness.exchange)."""
    return exchange(port, _req(b"AUTH", PASSWORD) + data, wait=0.25)


class Sampler(threading.Thread):
    """Peak RSS and address space of a process, from /proc, every few ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.rss = self.vsz = 0

    def read(self) -> Tuple[int, int]:
        with open("/proc/%d/status" % self.pid) as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmSize"].split()[0])

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                rss, vsz = self.read()
            except (OSError, KeyError, ValueError):
                return
            self.rss, self.vsz = max(self.rss, rss), max(self.vsz, vsz)
            time.sleep(0.01)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "miniredis", "--port", str(port), "--save", "",
         "--dir", str(tmp_path_factory.mktemp("fuzz")), "--requirepass", PASSWORD.decode(),
         "--loglevel", "warning"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_serving(proc, port, 15, "miniredis")
    yield port, proc
    proc.terminate()
    proc.wait(10)


def test_fuzz_frames(server):
    port, proc = server
    sampler = Sampler(proc.pid)
    base_rss, base_vsz = sampler.read()
    sampler.start()
    failures: List[str] = []
    frames = [0]
    lock = threading.Lock()
    done = threading.Event()

    # Connections that announce huge counts or lengths and then wait, throughout.
    holders = []
    for i in range(40):
        sock = socket.create_connection(("127.0.0.1", port))
        if i % 2:
            sock.sendall(_req(b"AUTH", PASSWORD))
        sock.sendall(HOLDERS[i % len(HOLDERS)])
        holders.append(sock)

    # Well-behaved clients: their data must stay intact, their requests prompt.
    latencies: List[float] = []
    written = {}

    def good_client(index: int) -> None:
        rng = random.Random(SEED + 1000 + index)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.settimeout(20)
        sock.sendall(_req(b"AUTH", PASSWORD))
        _read_exact(sock, 5)
        i = 0
        while not done.is_set():
            key = b"good:%d:%d" % (index, i % 200)
            value = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            started = time.perf_counter()
            sock.sendall(_req(b"SET", key, value) + _req(b"GET", key))
            got = _read_exact(sock, 5 + len(_bulk(value)))
            latencies.append(time.perf_counter() - started)
            if got != b"+OK\r\n" + _bulk(value):
                failures.append("good client %d: %r" % (index, got[:60]))
                return
            written[key] = value
            i += 1
        sock.close()

    goods = [threading.Thread(target=good_client, args=(i,)) for i in range(3)]
    for thread in goods:
        thread.start()

    def worker(first: int) -> None:
        for n in range(first, BAD_CONNECTIONS, WORKERS):
            count = _bad_connection(port, SEED + n, failures)
            with lock:
                frames[0] += count

    started = time.time()
    workers = [threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.time() - started
    done.set()
    for thread in goods:
        thread.join()

    # The server is up, and every key the good clients wrote is intact.
    check = socket.create_connection(("127.0.0.1", port))
    check.settimeout(20)
    check.sendall(_req(b"AUTH", PASSWORD))
    assert _read_exact(check, 5) == b"+OK\r\n"
    for key, value in written.items():
        check.sendall(_req(b"GET", key))
        assert _read_exact(check, len(_bulk(value))) == _bulk(value), key
    check.close()
    for sock in holders:
        sock.close()
    sampler.stop.set()
    sampler.join()

    print("fuzz: %d frames over %d connections in %.1f s; %d good requests, worst "
          "latency %.0f ms; RSS %d -> %d kB, VSZ %d -> %d kB" % (
              frames[0], BAD_CONNECTIONS, elapsed, len(latencies),
              1000 * max(latencies or [0]), base_rss, sampler.rss, base_vsz, sampler.vsz))
    assert not failures, failures[:10]
    assert frames[0] >= 100000
    assert latencies and max(latencies) < LATENCY_BOUND_S
    assert sampler.rss - base_rss < RSS_BOUND_MB * 1024
    assert sampler.vsz - base_vsz < VSZ_BOUND_MB * 1024
    assert proc.poll() is None


# What the connections held open throughout announce, then wait on.
HOLDERS = [b"*2147483647\r\n$1\r\na\r\n", b"*2\r\n$4\r\nECHO\r\n$500000000\r\nxx",
           b"*1\r\n$16384\r\nx", b"*2000000000\r\n$3\r\nSET\r\n"]


def test_garbage_same_as_redis(server):
    """Random garbage: the same bytes back from miniredis and redis-server."""
    executable = redis_server_or_skip()
    port, proc = server
    real = RedisProcess(executable, ["--requirepass", PASSWORD.decode(),
                                     "--enable-debug-command", "no"])
    rng = random.Random(SEED)
    cases = [_garbage(rng) for _ in range(GARBAGE_CONNECTIONS)]
    results = {}

    def run(name: int, target: int, chunk: List[bytes], out: dict) -> None:
        for data in chunk:
            out[(name, data)] = _exchange(target, data)

    try:
        threads = []
        for name, target in (("mini", port), ("redis", real.port)):
            for w in range(6):
                thread = threading.Thread(target=run, args=(name, target, cases[w::6], results))
                thread.start()
                threads.append(thread)
        for thread in threads:
            thread.join()
    finally:
        real.stop()
    differ = [(data, results[("mini", data)], results[("redis", data)]) for data in cases
              if results[("mini", data)] != results[("redis", data)]]
    assert not differ, differ[:3]
    assert proc.poll() is None
