"""Start and stop the servers the benchmarks compare, each on a free port.

Four kinds: ``redis-server`` (the reference, required), ``miniredis`` (this
project, run from this source tree), and two peers used only where they are
installed:

* ``alicebob`` -- github.com/alicebob/miniredis (Go), through the small program in
  benchmarks/peers/alicebob (``build.sh`` builds it); found at ``$ALICEBOB_MINIREDIS``
  or benchmarks/peers/alicebob/alicebob-miniredis.
* ``fakeredis`` -- fakeredis's ``TcpFakeServer`` (``pip install fakeredis``, part of
  the ``bench`` extra), run in a child interpreter.

Every server gets its own port and working directory; ``Server.rss()`` reads the
process's resident set from /proc, which memory.py uses.
"""
from __future__ import annotations

import importlib.util
import threading
import os
import shutil
import socket
import subprocess
import sys
import time
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
ALICEBOB_DEFAULT = os.path.join(HERE, "peers", "alicebob", "alicebob-miniredis")
KINDS = ("redis-server", "miniredis", "alicebob", "fakeredis")
PEERS = ("alicebob", "fakeredis")
LABELS = {"redis-server": "redis-server", "miniredis": "miniredis",
          "alicebob": "alicebob/miniredis (Go)", "fakeredis": "fakeredis TCP"}

_FAKEREDIS_MAIN = (
    "import sys, fakeredis\n"
    "server = fakeredis.TcpFakeServer(('127.0.0.1', int(sys.argv[1])))\n"
    "server.daemon_threads = True\n"
    "server.serve_forever()\n")


def log(*args: object) -> None:
    """Progress lines: flushed at once, so a piped ``make bench`` shows them live."""
    print(*args, flush=True)


def free_port() -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alicebob_binary() -> Optional[str]:
    path = os.environ.get("ALICEBOB_MINIREDIS") or ALICEBOB_DEFAULT
    return path if os.access(path, os.X_OK) else None


def missing(kind: str) -> Optional[str]:
    """Why ``kind`` cannot run here, or None when it can."""
    if kind == "redis-server":
        return None if shutil.which("redis-server") else "redis-server not on PATH"
    if kind == "miniredis":
        return None
    if kind == "alicebob":
        return None if alicebob_binary() else (
            "no binary (run benchmarks/peers/alicebob/build.sh; needs Go)")
    if kind == "fakeredis":
        return None if importlib.util.find_spec("fakeredis") else (
            "fakeredis not installed (pip install -e '.[bench]')")
    raise ValueError(kind)


def available_peers(wanted: Optional[List[str]] = None) -> List[str]:
    return [kind for kind in (wanted if wanted is not None else PEERS)
            if missing(kind) is None]


class Server:
    """One running server process: its kind, port, pid and resident memory."""

    def __init__(self, kind: str, workdir: str, maxclients: int = 10000) -> None:
        self.kind = kind
        self.port = free_port()
        self.workdir = os.path.join(workdir, "%s-%d" % (kind, self.port))
        os.makedirs(self.workdir, exist_ok=True)
        port = str(self.port)
        if kind == "redis-server":
            argv = ["redis-server", "--port", port, "--save", "", "--appendonly", "no",
                    "--dir", self.workdir, "--maxclients", str(maxclients)]
        elif kind == "miniredis":
            argv = [sys.executable, "-m", "miniredis", "--port", port, "--loglevel",
                    "warning", "--save", "", "--dir", self.workdir,
                    "--maxclients", str(maxclients)]
        elif kind == "alicebob":
            argv = [alicebob_binary() or ALICEBOB_DEFAULT, "-addr", "127.0.0.1:" + port]
        elif kind == "fakeredis":
            argv = [sys.executable, "-c", _FAKEREDIS_MAIN, port]
        else:
            raise ValueError(kind)
        env = None
        cwd = self.workdir
        if kind == "miniredis":
            # MINIREDIS_PYTHONPATH: run another source tree (git archive main | tar x)
            cwd = os.environ.get("MINIREDIS_PYTHONPATH") or ROOT
            env = dict(os.environ, PYTHONPATH=cwd)
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self._wait_ready()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _wait_ready(self) -> None:
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start-up" % self.kind)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not start on port %d" % (self.kind, self.port))

    def command(self, *args: str) -> bytes:
        """Send one command, return the raw reply (enough for FLUSHALL, DBSIZE)."""
        payload = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=120) as sock:
            sock.sendall(payload)
            return sock.recv(1 << 16)

    def rss(self) -> int:
        """Resident set size of the server process in bytes (VmRSS)."""
        with open("/proc/%d/status" % self.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS for pid %d" % self.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def resp(*args: str) -> bytes:
    """One command in RESP, as redis-cli --pipe reads it."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def pipe_load(port: int, path: str, kind: str = "redis-server") -> None:
    """Send a file of RESP commands with ``redis-cli --pipe``; fail on any error reply.

    redis-cli --pipe sends an empty line before its closing ECHO, which Redis skips but
    the peers do not (alicebob/miniredis closes the connection, fakeredis replies with
    an error), so peers are fed by socket_load instead."""
    if kind in PEERS:
        socket_load(port, path)
        return
    with open(path, "rb") as data:
        proc = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=data,
                              capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or "errors: 0," not in proc.stdout:
        raise RuntimeError("redis-cli --pipe to port %d failed: %s %s"
                           % (port, proc.stdout[-300:], proc.stderr[-300:]))


def socket_load(port: int, path: str) -> None:
    """What redis-cli --pipe does, in Python: a thread streams the file while this one
    reads the replies (hiredis), up to a final ECHO; fail on any error reply."""
    import hiredis

    magic = b"end-of-load-%d" % os.getpid()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(600)

    def send() -> None:
        with open(path, "rb") as data:
            while True:
                chunk = data.read(1 << 16)
                if not chunk:
                    break
                sock.sendall(chunk)
        sock.sendall(resp("ECHO", magic.decode()))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    reader = hiredis.Reader()
    errors = 0
    try:
        while True:
            data = sock.recv(1 << 16)
            if not data:
                raise RuntimeError("port %d closed the connection during the load" % port)
            reader.feed(data)
            reply = reader.gets()
            while reply is not False:
                if isinstance(reply, hiredis.ReplyError):
                    errors += 1
                elif reply == magic:
                    if errors:
                        raise RuntimeError("%d error replies loading %s" % (errors, path))
                    return
                reply = reader.gets()
    finally:
        sender.join(5)
        sock.close()
