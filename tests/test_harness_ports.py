"""The harness never mistakes another process's server for the one it started.

Tests run in two xdist workers, each starting servers on ports from ``free_port()``;
between that call and the bind the other worker's server can take the port. A start-up
check that only connects then passes against the wrong server (a crash test once read
an empty list from it and reported every acknowledged write lost).
"""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests import harness
from tests.harness import ServerExited, owns_listener, start_process
from tests.aofutil import ROOT


def _mini(port: int):
    return [sys.executable, "-m", "miniredis", "--port", str(port), "--save", "",
            "--loglevel", "warning"]


@pytest.fixture
def squatter():
    """Someone else's listener: (socket, its port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    yield sock, sock.getsockname()[1]
    sock.close()


def test_a_taken_port_is_not_taken_for_a_started_server(squatter):
    sock, port = squatter
    if owns_listener(1, port) is None:
        pytest.skip("no /proc/net/tcp: only connecting can tell, and it cannot")
    with pytest.raises(ServerExited):
        start_process(_mini, port, "miniredis", cwd=ROOT, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE)


def test_a_free_port_taken_meanwhile_is_retried(squatter, monkeypatch):
    sock, taken = squatter
    if owns_listener(1, taken) is None:
        pytest.skip("no /proc/net/tcp: only connecting can tell, and it cannot")
    ports = [taken]
    real_free_port = harness.free_port
    monkeypatch.setattr(harness, "free_port",
                        lambda: ports.pop() if ports else real_free_port())
    proc, port = start_process(_mini, None, "miniredis", cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert port != taken
        assert owns_listener(proc.pid, port)
        assert not owns_listener(proc.pid, taken)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()
