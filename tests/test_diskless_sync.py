"""A diskless full synchronisation against redis-server: the master logs how many
replicas are still up when the child's pipe ends, and a replica that stops reading
in the middle of the transfer is dropped after repl-timeout ("Disconnecting timedout
replica (full sync)") instead of holding the child, and every later sync, for ever."""
from __future__ import annotations

import os
import time

from tests.harness import (ROOT, server_argv, RawConnection, start_process,
                           stop_process)




def _start(kind: str, directory: str, *options: str):
    return start_process(
        lambda port: server_argv(kind) + ["--port", str(port), "--bind", "127.0.0.1", "--dir",
                                    directory, "--save", "", "--logfile", "log.txt",
                                    "--enable-debug-command", "yes", *options],
        what=kind, cwd=ROOT)


def _call(port: int, *args: object) -> bytes:
    conn = RawConnection(port)
    try:
        return conn.call(*args)
    finally:
        conn.close()


def _log(directory: str) -> str:
    with open(os.path.join(directory, "log.txt")) as handle:
        return handle.read()


def _wait(condition, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline
        time.sleep(0.05)


def _stuck_replica(port: int):
    """A replica that asks for a full sync, then reads nothing (a tiny receive
    buffer, so the master's output backs up at once)."""
    import socket
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    for command in (b"*1\r\n$4\r\nPING\r\n",
                    b"*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n6380\r\n",
                    b"*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n"
                    b"$6\r\npsync2\r\n"):
        sock.sendall(command)
        sock.recv(64)
    sock.sendall(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
    return sock


def test_a_replica_that_stops_reading_is_dropped(tmp_path):
    outcomes = {}
    for kind in ("redis", "miniredis"):
        mdir = str(tmp_path / kind)
        os.mkdir(mdir)
        master, mport = _start(kind, mdir, "--repl-diskless-sync", "yes",
                               "--repl-diskless-sync-delay", "0", "--repl-timeout", "2")
        stuck = None
        try:
            _call(mport, "DEBUG", "POPULATE", "100000", "key", "100")
            stuck = _stuck_replica(mport)
            _wait(lambda: "Disconnecting timedout replica (full sync)" in _log(mdir))
            _wait(lambda: b"rdb_bgsave_in_progress:0" in _call(mport, "INFO", "persistence"))
            log = _log(mdir)
            outcomes[kind] = ("Diskless rdb transfer, last replica dropped, killing fork "
                              "child." in log, _call(mport, "INFO", "replication").count(
                                  b"slave0:"), _call(mport, "PING"))
        finally:
            if stuck is not None:
                stuck.close()
            stop_process(master, mdir)
    assert outcomes["miniredis"] == outcomes["redis"] == (True, 0, b"+PONG\r\n")
