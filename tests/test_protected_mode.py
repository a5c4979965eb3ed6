"""Protected mode and DEBUG gating, seen from a real non-loopback address.

Each test runs a driver inside a private network namespace (``unshare -n``; we are
root): it brings ``lo`` up, adds 10.11.12.13/32 to it (only there, only on lo), starts
miniredis and redis-server bound to 0.0.0.0 in the namespace and connects to them from
10.11.12.13, from 127.0.0.1 and from 127.0.0.2 (loopback, yet not "local" to Redis,
which compares the peer address with 127.0.0.1 and ::1 only). The driver prints what
each server answered; the test compares the two servers byte for byte. Skipped, with
the reason, where namespaces cannot be made.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from miniredis import errors
from tests.harness import find_redis_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE = "10.11.12.13"

DRIVER = textwrap.dedent(r'''
    import json, os, socket, subprocess, sys, time

    def sh(*cmd):
        subprocess.run(cmd, check=True)

    sh("ip", "link", "set", "lo", "up")
    sh("ip", "addr", "add", "%(outside)s/32", "dev", "lo")

    def talk(port, source, data, wait=0.3):
        """Connect from ``source``, send ``data``, read until closed or quiet."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.connect((source if source != "127.0.0.2" else "127.0.0.1", port))
        out = b""
        try:
            sock.settimeout(wait)
            if data:
                sock.sendall(data)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    out += b"<closed>"
                    break
                out += chunk
        except socket.timeout:
            pass
        except ConnectionResetError:
            out += b"<closed>"
        sock.close()
        return out.decode("latin-1")

    def talk_unix(path, data, wait=0.3):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(data)
        sock.settimeout(wait)
        try:
            out = sock.recv(65536)
        except socket.timeout:
            out = b""
        sock.close()
        return out.decode("latin-1")

    def req(*args):
        return b"*%%d\r\n" %% len(args) + b"".join(
            b"$%%d\r\n%%s\r\n" %% (len(a), a) for a in args)

    def wait_port(port):
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("server on %%d did not start" %% port)

    scenario = json.loads(sys.argv[1])
    servers = {
        "miniredis": [sys.executable, "-m", "miniredis", "--save", ""],
        "redis": [scenario["redis"], "--save", "", "--appendonly", "no"],
    }
    results = {}
    for name, argv in servers.items():
        if name == "redis" and not scenario["redis"]:
            continue
        port = 7000 if name == "miniredis" else 7001
        unix = "/tmp/protected-%%s-%%d.sock" %% (name, os.getpid())
        argv = argv + ["--port", str(port), "--bind", "0.0.0.0", "--unixsocket", unix,
                       "--dir", scenario["dir"]] + scenario["options"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            seen = []
            for source, data in scenario["steps"]:
                data = data.encode("latin-1")
                if source == "unix":
                    seen.append(talk_unix(unix, data))
                else:
                    seen.append(talk(port, source, data))
            results[name] = seen
        finally:
            proc.terminate()
            proc.wait(10)
    print(json.dumps(results))
''') % {"outside": OUTSIDE}


def _namespaces_usable() -> str:
    """Empty if ``unshare -n`` and ``ip`` work here, else the reason they do not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (iproute2) not installed"
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "cannot create a network namespace: %s" % probe.stderr.strip()
    return ""


def _run(tmp_path, steps, options=(), compare=True):
    reason = _namespaces_usable()
    if reason:
        print("SKIPPED protected-mode namespace test:", reason)
        pytest.skip(reason)
    redis = find_redis_server() if compare else None
    scenario = {"steps": [(src, data.decode("latin-1")) for src, data in steps],
                "options": list(options), "redis": redis or "", "dir": str(tmp_path)}
    out = subprocess.run(["unshare", "-n", sys.executable, "-c", DRIVER,
                          json.dumps(scenario)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    results = {name: [_comparable(r.encode("latin-1")) for r in seen]
               for name, seen in results.items()}
    if compare and redis:
        assert results["miniredis"] == results["redis"]
    return results["miniredis"]


def _comparable(reply: bytes) -> bytes:
    """INFO stats reduced to the connection counters both servers must agree on."""
    if b"# Stats" not in reply:
        return reply
    return b"".join(line + b"\r\n" for line in reply.split(b"\r\n")
                    if line.startswith((b"rejected_connections:",
                                        b"total_connections_received:")))


def _req(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


DENIED = b"-" + errors.PROTECTED_MODE_DENIED.encode() + b"\r\n<closed>"
PING = _req(b"PING")


def test_denied_from_outside_served_on_loopback(tmp_path):
    seen = _run(tmp_path, [
        (OUTSIDE, b""),                 # told at once, before sending anything
        (OUTSIDE, PING),
        ("127.0.0.1", PING),
        ("127.0.0.2", PING),            # not 127.0.0.1 or ::1: Redis refuses it too
        ("unix", PING),
        ("127.0.0.1", _req(b"CONFIG", b"GET", b"protected-mode")),
        ("127.0.0.1", _req(b"INFO", b"stats")),
    ])
    assert seen[0] == DENIED
    assert seen[1] == DENIED
    assert seen[2] == b"+PONG\r\n"
    assert seen[3] == DENIED
    assert seen[4] == b"+PONG\r\n"
    assert seen[5] == b"*2\r\n$14\r\nprotected-mode\r\n$3\r\nyes\r\n"
    assert seen[6] == b"total_connections_received:5\r\nrejected_connections:3\r\n"


def test_config_set_protected_mode_at_run_time(tmp_path):
    seen = _run(tmp_path, [
        ("127.0.0.1", _req(b"CONFIG", b"SET", b"protected-mode", b"no")),
        (OUTSIDE, PING),
        (OUTSIDE, _req(b"CONFIG", b"SET", b"protected-mode", b"yes")),
        (OUTSIDE, PING),
    ])
    assert seen == [b"+OK\r\n", b"+PONG\r\n", b"+OK\r\n", DENIED]


def test_password_lifts_protected_mode(tmp_path):
    seen = _run(tmp_path, [
        (OUTSIDE, PING),
        (OUTSIDE, _req(b"AUTH", b"secret") + PING),
        ("127.0.0.1", PING),
    ], options=["--requirepass", "secret"])
    assert seen == [b"-NOAUTH Authentication required.\r\n", b"+OK\r\n+PONG\r\n",
                    b"-NOAUTH Authentication required.\r\n"]


def test_protected_mode_off_from_the_command_line(tmp_path):
    seen = _run(tmp_path, [(OUTSIDE, PING)], options=["--protected-mode", "no"])
    assert seen == [b"+PONG\r\n"]


def test_debug_local_only_from_loopback_and_unix(tmp_path):
    debug = _req(b"DEBUG", b"SLEEP", b"0")
    refused = b"-" + errors.DEBUG_NOT_ALLOWED.encode() + b"\r\n"
    seen = _run(tmp_path, [
        (OUTSIDE, debug),
        ("127.0.0.1", debug),
        ("unix", debug),
        ("127.0.0.2", debug),
        ("127.0.0.1", _req(b"CONFIG", b"SET", b"enable-debug-command", b"yes")),
    ], options=["--protected-mode", "no", "--enable-debug-command", "local"])
    assert seen[:4] == [refused, b"+OK\r\n", b"+OK\r\n", refused]
    assert seen[4].startswith(b"-ERR CONFIG SET failed") and b"immutable" in seen[4]


def test_debug_refused_by_default_on_the_command_line(tmp_path):
    debug = _req(b"DEBUG", b"SLEEP", b"0")
    refused = b"-" + errors.DEBUG_NOT_ALLOWED.encode() + b"\r\n"
    seen = _run(tmp_path, [("127.0.0.1", debug), ("unix", debug)])
    assert seen == [refused, refused]
