"""Differential-testing harness: the same raw commands to miniredis and a real Redis.

``Differ.check(*commands)`` sends a command sequence to both servers over fresh raw
connections (RESP2, then again RESP3 after ``HELLO 3``), each after FLUSHALL, and
asserts that the raw reply bytes are identical. Wrap a command in ``Unordered(...)``
when Redis leaves the order of its reply unspecified (SMEMBERS, KEYS...), or in
``SameType(...)`` when only the reply's type is deterministic (PTTL, RANDOMKEY...).
"""
from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

Command = Union[str, bytes, Sequence[Union[str, bytes, int]]]


def free_port() -> int:
    """A port free now. Another process may take it before the server binds it: start
    servers with :func:`start_process` or check with :func:`wait_serving`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerExited(RuntimeError):
    """A server process ended before it listened (its port taken, a refused start)."""


def _listening_inodes(port: int) -> Optional[set]:
    """The inodes of the TCP sockets listening on ``port`` (None without /proc/net)."""
    inodes = set()
    found = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        found = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" \
                    and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes if found else None


def owns_listener(pid: int, port: int) -> Optional[bool]:
    """Whether process ``pid`` itself holds a socket listening on ``port`` (Linux's
    /proc); None where the system cannot tell."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return None
    if not inodes:
        return False
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def wait_serving(proc: subprocess.Popen, port: int, timeout: float = 20,
                 what: str = "server") -> None:
    """Wait until ``proc`` listens on ``port``.

    A successful connection proves nothing: between :func:`free_port` and the bind,
    another test's server (the other xdist worker's) can take the port, and a check
    that only connects then passes against that server while ours failed to start --
    a CI run once "lost" every acknowledged write of a crash test that way. Raises
    :class:`ServerExited` if the process ends first, RuntimeError after ``timeout``.
    """
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            detail = b""
            if proc.stderr is not None:
                try:
                    detail = proc.stderr.read()[-2000:]
                except (OSError, ValueError):
                    pass
            raise ServerExited("%s exited with status %s before listening on port %d: %s"
                               % (what, proc.returncode, port,
                                  detail.decode("utf-8", "replace")))
        owned = owns_listener(proc.pid, port)
        if owned is None:       # no /proc: connecting is all there is
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                pass
        elif owned:
            return
        if time.time() > deadline:
            raise RuntimeError("%s did not listen on port %d" % (what, port))
        time.sleep(0.02)


def start_process(argv_for: Any, port: Optional[int] = None, what: str = "server",
                  timeout: float = 20, **popen: Any) -> Tuple[subprocess.Popen, int]:
    """Start ``argv_for(port)`` (a free port unless one is given) and wait until the
    process listens there; a free port taken meanwhile is retried with another."""
    for attempt in range(4):
        chosen = port or free_port()
        proc = subprocess.Popen(argv_for(chosen), **popen)
        try:
            wait_serving(proc, chosen, timeout, what)
            return proc, chosen
        except ServerExited:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
            if port is not None or attempt == 3:
                raise
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    raise AssertionError("unreachable")


def encode_command(args: Sequence[Union[str, bytes, int]]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, int):
            arg = str(arg)
        if isinstance(arg, str):
            arg = arg.encode("utf-8", "surrogateescape")    # ("\udcff": the byte 0xff)
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def to_args(command: Command) -> List[bytes]:
    if isinstance(command, bytes):
        command = command.decode("latin-1")
    if isinstance(command, str):
        return [w.encode("latin-1") for w in shlex.split(command)]
    return [a if isinstance(a, bytes) else str(a).encode() for a in command]


# RESP type bytes, as RawConnection._skip tells replies apart.
_BULK = frozenset(b"$=!")
_SIMPLE = frozenset(b"+-:,#_(")
_AGGREGATE = frozenset(b"*~>%|")
_PAIRS = frozenset(b"%|")
_ATTRIBUTE = ord("|")


class RawConnection:
    """A socket speaking raw RESP: send requests, read back one whole raw reply."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *args: Union[str, bytes, int]) -> None:
        self.sock.sendall(encode_command(args))

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed by server")
        self.buf += data

    def _skip(self, pos: int) -> int:
        """Offset just past the reply starting at ``pos`` (reading more as needed).
        Iterative: a script's reply may nest thousands of levels deep. (Byte codes and
        local names: a reply of a million elements is read in well under a second.)"""
        remaining = 1                  # values still to skip
        buf = self.buf
        find = buf.find
        while remaining:
            remaining -= 1
            end = find(b"\r\n", pos)
            while end < 0:
                self._fill()
                buf = self.buf
                find = buf.find
                end = find(b"\r\n", pos)
            kind = buf[pos]
            if kind in _BULK:
                length = int(buf[pos + 1:end])
                if length < 0:
                    pos = end + 2
                    continue
                pos = end + length + 4
                while len(buf) < pos:
                    self._fill()
                    buf = self.buf
                    find = buf.find
            elif kind in _SIMPLE:
                pos = end + 2
            elif kind in _AGGREGATE:
                count = int(buf[pos + 1:end])
                pos = end + 2
                if count < 0:
                    continue
                if kind in _PAIRS:
                    count *= 2
                if kind == _ATTRIBUTE:   # an attribute precedes the real reply
                    count += 1
                remaining += count
            else:
                raise AssertionError("unparseable reply at %r" % buf[pos:pos + 50])
        return pos

    def read_raw(self) -> bytes:
        end = self._skip(0)
        raw, self.buf = self.buf[:end], self.buf[end:]
        return raw

    def call(self, *args: Union[str, bytes, int]) -> bytes:
        self.send(*args)
        return self.read_raw()

    def closed_by_peer(self, wait: float = 2.0) -> bool:
        """True once the server has closed the connection (reads EOF)."""
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except socket.timeout:
            return False
        except OSError:
            return True


def received(sock: socket.socket, wait: float, must_close: bool = False) -> bytes:
    """What the server sends on ``sock`` until it closes the connection or goes quiet
    for ``wait`` seconds; quiet with ``must_close`` is an AssertionError."""
    sock.settimeout(wait)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data
    except socket.timeout:
        if must_close:
            raise AssertionError("still connected; received %r" % data[:100]) from None
        return data


def exchange(port: int, data: bytes, wait: float = 0.3) -> bytes:
    """Send raw bytes on a new connection, then read until the server closes (marked
    ``<closed>``, also when it closed while we were still sending) or goes quiet for
    ``wait`` seconds."""
    sock = socket.create_connection(("127.0.0.1", port))
    out = b""
    try:
        sock.sendall(data)
        sock.settimeout(wait)
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


def parse_raw(raw: bytes) -> Any:
    """Decode one raw reply into nested Python values (for order-insensitive checks)."""
    value, _ = _parse(raw, 0)
    return value


def _parse(raw: bytes, pos: int) -> Tuple[Any, int]:
    end = raw.index(b"\r\n", pos)
    kind, body, nxt = raw[pos:pos + 1], raw[pos + 1:end], end + 2
    if kind in b"+-:,#_(":
        return (kind, body), nxt
    if kind in b"$=!":
        length = int(body)
        if length < 0:
            return (kind, None), nxt
        return (kind, raw[nxt:nxt + length]), nxt + length + 2
    count = int(body)
    if count < 0:
        return (kind, None), nxt
    items = []
    pos = nxt
    for _ in range(count * (2 if kind in b"%|" else 1)):
        item, pos = _parse(raw, pos)
        items.append(item)
    if kind == b"%":
        pairs = [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
        return (kind, tuple(sorted(pairs, key=repr))), pos
    return (kind, tuple(items)), pos


def canonical_unordered(raw: bytes) -> Any:
    """The reply with its top-level elements sorted (maps: its pairs)."""
    kind, items = parse_raw(raw)
    if isinstance(items, tuple):
        return kind, tuple(sorted(items, key=repr))
    return kind, items


class Unordered:
    """Compare this command's reply ignoring the order of its top-level elements."""

    def __init__(self, command: Command) -> None:
        self.command = command


class SameType:
    """Compare only the type of this command's reply (the value is not deterministic)."""

    def __init__(self, command: Command) -> None:
        self.command = command


class RedisProcess:
    """A real redis-server on a free port, in a temporary directory."""

    def __init__(self, executable: str, extra: Sequence[str] = ()) -> None:
        self.dir = tempfile.mkdtemp(prefix="real-redis-")
        self.proc, self.port = start_process(
            lambda port: [executable, "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", self.dir,
                          "--enable-debug-command", "yes", *extra],
            what="redis-server", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        stop_process(self.proc, self.dir)


def stop_process(proc: subprocess.Popen, directory: str) -> None:
    """Terminate a server process (killed if it lingers) and remove its directory."""
    terminate(proc)
    shutil.rmtree(directory, ignore_errors=True)


def terminate(proc: subprocess.Popen, wait: float = 5) -> None:
    """Stop a server process: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def redis_server_or_skip() -> str:
    """The redis-server a differential test runs against. Without one the test is
    skipped, except under ``CI=true``, where a missing oracle is a failure."""
    executable = find_redis_server()
    if executable is None:
        import pytest
        message = ("redis-server not found: differential tests are SKIPPED "
                   "(install the Debian package redis-server)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return executable


# The repository's root: where ``python -m miniredis`` finds the package.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def server_argv(kind: str) -> List[str]:
    """The command that starts a server of ``kind`` ("redis" or "miniredis") from the
    command line (run it with ``cwd=ROOT``), for tests that compare the two processes."""
    if kind == "redis":
        return [redis_server_or_skip()]
    import sys
    return [sys.executable, "-m", "miniredis"]


def find_redis_server() -> Optional[str]:
    return os.environ.get("REDIS_SERVER") or shutil.which("redis-server")


class Differ:
    """Runs command sequences on both servers and compares the raw replies."""

    def __init__(self, real_port: int, mini_port: int) -> None:
        self.ports = {"redis": real_port, "miniredis": mini_port}
        # per port: how the last replies() moved INFO's keyspace_hits/keyspace_misses
        self.lookups: Dict[int, Optional[Tuple[int, int]]] = {}

    def replies(self, port: int, commands: Sequence[Any], protocol: int,
                db: int = 9) -> List[bytes]:
        before = _lookup_counts(port)
        conn = RawConnection(port)
        try:
            if protocol == 3:
                conn.call("HELLO", "3")
            conn.call("SELECT", str(db))
            conn.call("FLUSHALL")
            out = []
            for command in commands:
                inner = command.command if isinstance(command, (Unordered, SameType)) \
                    else command
                raw = conn.call(*to_args(inner))
                if isinstance(command, Unordered):
                    out.append(canonical_unordered(raw))
                elif isinstance(command, SameType):
                    out.append(raw[:1])
                else:
                    out.append(raw)
            after = _lookup_counts(port)
            self.lookups[port] = None if before is None or after is None else (
                after[0] - before[0], after[1] - before[1])
            return out
        finally:
            conn.close()

    def check(self, *commands: Any, protocols: Sequence[int] = (2, 3)) -> List[bytes]:
        """Assert both servers answer ``commands`` identically; returns Redis's replies."""
        result: List[bytes] = []
        for protocol in protocols:
            expected = self.replies(self.ports["redis"], commands, protocol)
            actual = self.replies(self.ports["miniredis"], commands, protocol)
            for i, (want, got) in enumerate(zip(expected, actual)):
                cmd = commands[i]
                shown = cmd.command if isinstance(cmd, (Unordered, SameType)) else cmd
                assert got == want, (
                    "RESP%d reply #%d to %r differs:\n  redis:     %r\n  miniredis: %r"
                    % (protocol, i, shown, want, got))
            self.check_lookups(commands, protocol)
            if protocol == protocols[0]:
                result = expected
        return result

    def check_lookups(self, commands: Sequence[Any], protocol: int) -> None:
        """Assert the last :meth:`replies` on each server moved keyspace_hits and
        keyspace_misses alike: reads that look a key up count, even ones refused after
        the lookup, as Redis does (skipped for a sequence that runs CONFIG RESETSTAT)."""
        want = self.lookups.get(self.ports["redis"])
        got = self.lookups.get(self.ports["miniredis"])
        if want is None or got is None or _resets_stats(commands):
            return
        assert got == want, (
            "RESP%d keyspace (hits, misses) after %r differ:\n  redis:     %r\n"
            "  miniredis: %r" % (protocol, commands, want, got))


def _resets_stats(commands: Sequence[Any]) -> bool:
    """Whether a sequence runs CONFIG RESETSTAT (its lookups are then not a delta)."""
    return any(b"RESETSTAT" in b" ".join(to_args(
        command.command if isinstance(command, (Unordered, SameType)) else command)).upper()
        for command in commands)


def _lookup_counts(port: int) -> Optional[Tuple[int, int]]:
    """INFO's (keyspace_hits, keyspace_misses) of the server at ``port``, or None when
    it cannot say (stopped, or refusing a new connection's INFO)."""
    try:
        conn = RawConnection(port)
        try:
            info = conn.call("INFO", "stats").decode(errors="replace")
        finally:
            conn.close()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])
    except (OSError, KeyError, ValueError, ConnectionError):
        return None


# -- scenarios over several connections ------------------------------------------------
# A scenario is ``scenario(port, protocol, admin) -> list of observations``, run once on
# each server (after FLUSHALL, on database 9) with its own connections; the lists must
# be equal. Used where one connection's replies depend on another's (blocking, WATCH,
# pub/sub).
def replies_until(conn: RawConnection, marker: bytes) -> List[bytes]:
    """The raw replies (pushes, messages) ``conn`` reads before the first holding
    ``marker``, which is read and dropped."""
    seen = []
    while True:
        raw = conn.read_raw()
        if marker in raw:
            return seen
        seen.append(raw)


def connect(port: int, protocol: int = 2) -> RawConnection:
    """A raw connection on database 9, switched to RESP3 when ``protocol`` is 3."""
    conn = RawConnection(port)
    if protocol == 3:
        conn.call("HELLO", "3")
    conn.call("SELECT", "9")
    return conn


def run_scenario(port: int, protocol: int, scenario: Any) -> Any:
    admin = connect(port, protocol)
    admin.call("FLUSHALL")
    try:
        return scenario(port, protocol, admin)
    finally:
        admin.close()


def compare_scenario(differ: "Differ", scenario: Any, protocols: Sequence[int] = (2, 3)) -> None:
    """Run ``scenario`` on redis-server and miniredis; assert equal observations."""
    for protocol in protocols:
        results = {name: run_scenario(port, protocol, scenario)
                   for name, port in differ.ports.items()}
        assert results["miniredis"] == results["redis"], (protocol, results)


def same_in_lockstep(real_port: int, mini_port: int, steps: Sequence[Command]) -> List[bytes]:
    """Run each step on redis-server, then at once on miniredis (one connection each),
    and assert equal replies; OBJECT IDLETIME, whose seconds the two reads may straddle,
    within one. For replies that follow the wall clock (LRU and LFU fields). Returns
    miniredis's replies."""
    conns = [RawConnection(real_port), RawConnection(mini_port)]
    replies = []
    try:
        for step in steps:
            want, got = (conn.call(*to_args(step)) for conn in conns)
            if to_args(step)[1:2] == [b"IDLETIME"] and want[:1] == b":" == got[:1]:
                assert abs(int(want[1:-2]) - int(got[1:-2])) <= 1, (step, want, got)
            else:
                assert got == want, (step, want, got)
            replies.append(got)
    finally:
        for conn in conns:
            conn.close()
    return replies


def wait_blocked(admin: RawConnection, count: int) -> None:
    """Wait until ``count`` clients are blocked (both servers report it in INFO)."""
    deadline = time.time() + 5
    while time.time() < deadline:
        info = admin.call("INFO", "clients")
        if b"blocked_clients:%d\r\n" % count in info:
            return
        time.sleep(0.005)
    raise AssertionError("clients did not block")


@contextmanager
def configured(differ: "Differ", settings: Sequence[str],
               restore: Sequence[str]) -> Iterator["Differ"]:
    """CONFIG SET ``settings`` (name, value, ...) on both servers for the block, and
    ``restore`` afterwards: encodings and limits tested against small thresholds."""
    def set_all(pairs: Sequence[str]) -> None:
        for port in differ.ports.values():
            conn = RawConnection(port)
            try:
                assert conn.call("CONFIG", "SET", *pairs) == b"+OK\r\n", pairs
            finally:
                conn.close()
    set_all(settings)
    try:
        yield differ
    finally:
        set_all(restore)


def _hits_and_misses(port: int, setup: Sequence[Command], command: str) -> Tuple[str, str]:
    conn = RawConnection(port)
    try:
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        for args in setup:
            conn.call(*to_args(args))
        conn.call("CONFIG", "RESETSTAT")
        conn.call(*command.split())
        info = conn.call("INFO", "stats").decode()
    finally:
        conn.close()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    return fields["keyspace_hits"], fields["keyspace_misses"]


def assert_same_hits_and_misses(differ: "Differ", setup: Sequence[Command],
                                cases: Sequence[str]) -> None:
    """Each command of ``cases``, run after ``setup`` in an empty database, moves
    INFO's keyspace_hits and keyspace_misses as on Redis (reads count a hit or a miss,
    writes neither)."""
    for command in cases:
        assert _hits_and_misses(differ.ports["miniredis"], setup, command) == \
            _hits_and_misses(differ.ports["redis"], setup, command), command


def command_metadata(port: int, name: str) -> Tuple[Any, ...]:
    """What COMMAND INFO and COMMAND DOCS say of ``name``: its name, arity, flags, key
    range, ACL categories, and the summary, since and group of its docs (compared
    between the servers by every module's metadata test)."""
    conn = RawConnection(port)
    try:
        info = parse_raw(conn.call("COMMAND", "INFO", name))
        docs = parse_raw(conn.call("COMMAND", "DOCS", name))
    finally:
        conn.close()
    entry = info[1][0][1]
    flags = sorted(item[1] for item in entry[2][1])
    keys = tuple(field[1] for field in entry[3:6])
    categories = sorted(item[1] for item in entry[6][1])
    pairs = docs[1][1][1]
    doc = {pairs[i][1]: pairs[i + 1][1] for i in range(0, len(pairs), 2)
           if pairs[i + 1][0] in (b"$", b"+")}
    return (entry[0][1], int(entry[1][1]), flags, keys, categories,
            doc[b"summary"], doc[b"since"], doc[b"group"])


def redis_signals(port: int, setup: Sequence[Command], command: Command) -> bool:
    """Whether ``command`` (from another client, after ``setup`` in an empty database 9)
    invalidates a WATCH on ``k`` in redis-server."""
    watcher, other = RawConnection(port), RawConnection(port)
    try:
        watcher.call("SELECT", "9")
        other.call("SELECT", "9")
        watcher.call("FLUSHDB")
        for item in setup:
            watcher.call(*to_args(item))
        watcher.call("WATCH", "k")
        other.call(*to_args(command))
        watcher.call("MULTI")
        watcher.call("PING")
        return watcher.call("EXEC") == b"*-1\r\n"
    finally:
        watcher.close()
        other.close()


def mini_signals(mini: Any, setup: Sequence[Command], command: Command) -> bool:
    """Whether ``command`` (after ``setup`` in an empty database 9) makes the in-process
    miniredis ``mini`` signal ``k`` as modified (seen through its on_key_modified hook,
    the one WATCH uses): compared with :func:`redis_signals`."""
    conn = RawConnection(mini.port)
    seen: List[bytes] = []
    state = mini.state
    try:
        conn.call("SELECT", "9")
        conn.call("FLUSHDB")
        for item in setup:
            conn.call(*to_args(item))
        previous = state.on_key_modified

        def hook(db: Any, key: bytes) -> None:
            seen.append(key)
            if previous is not None:
                previous(db, key)
        mini.call(setattr, state, "on_key_modified", hook)
        try:
            conn.call(*to_args(command))
        finally:
            mini.call(setattr, state, "on_key_modified", previous)
        return b"k" in seen
    finally:
        conn.close()


def command_info_and_docs(port: int, name: str) -> Tuple[list, tuple]:
    """COMMAND INFO's raw reply for ``name`` (RESP3) and its COMMAND DOCS summary, since
    and group; unlike :func:`command_metadata`, ``name`` may be ``parent|sub``."""
    conn = RawConnection(port)
    try:
        conn.call("HELLO", "3")
        info = parse_raw(conn.call("COMMAND", "INFO", name))[1][0][1]
        parent, _, sub = name.partition("|")
        docs = dict(parse_raw(conn.call("COMMAND", "DOCS", parent))[1])
        doc = dict(docs[(b"$", parent.encode())][1])
        if sub:
            doc = dict(dict(doc[(b"$", b"subcommands")][1])[(b"$", name.encode())][1])
        fields = tuple(doc[(b"$", key)] for key in (b"summary", b"since", b"group"))
    finally:
        conn.close()
    return info, fields


def child_pids(pid: int) -> List[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def on_both_kinds(tmp_path: Any, scenario: Any) -> Any:
    """``scenario(kind, directory)`` for "redis" then "miniredis", each in its own
    directory under ``tmp_path``; asserts equal outcomes and returns miniredis's."""
    outcomes: List[Any] = []
    for kind in ("redis", "miniredis"):
        directory = tmp_path / kind
        directory.mkdir()
        outcomes.append(scenario(kind, directory))
    assert outcomes[0] == outcomes[1], "redis: %r\nminiredis: %r" % tuple(outcomes)
    return outcomes[1]
