"""What the scripts that run other projects' test suites against both servers share
(redis_test_suite.py, redis_py_suite.py, pytest_suite.py, node_suite.py): free ports, a fresh
redis-server or miniredis, and the comparison of each test's outcome on the two.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from typing import Dict, Mapping, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = (("redis", "redis-server"), ("mini", "miniredis"))


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_taken(port: int) -> bool:
    """Whether something accepts connections on ``port`` (a suite that wants 6379)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> bool:
    """Until ``proc`` accepts connections on ``port``; False if it exits or takes
    longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if port_taken(port):
            return True
        time.sleep(0.05)
    return False


def start_server(kind: str, port: int, directory: str,
                 options: Sequence[str] = ()) -> subprocess.Popen:
    """A fresh server of ``kind`` ("redis" or "mini") on ``port``, its files in
    ``directory``, DEBUG allowed, nothing saved; SystemExit if it does not start."""
    common = ["--port", str(port), "--save", "", "--appendonly", "no", "--dir",
              directory, "--enable-debug-command", "yes", *options]
    if kind == "redis":
        executable = shutil.which("redis-server")
        if executable is None:
            raise SystemExit("redis-server not found (Debian: redis-server)")
        command = [executable, *common]
    else:
        command = [sys.executable, "-m", "miniredis", *common]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    if not wait_for_port(port, server):
        server.terminate()
        server.wait()
        raise SystemExit("the %s server on port %d did not start" % (kind, port))
    return server


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait()


def run_with_server(kind: str, port: int, command: Sequence[str], cwd: str, log: str,
                    env: Optional[Mapping[str, str]] = None,
                    options: Sequence[str] = ()) -> None:
    """Run ``command`` in ``cwd`` (its output to the file ``log``) while a fresh server
    of ``kind`` listens on ``port`` (``options``: more of its options); the server and
    its files are gone afterwards."""
    directory = tempfile.mkdtemp(prefix="suite-%s-" % kind)
    server = start_server(kind, port, directory, options)
    try:
        with open(log, "w") as handle:
            subprocess.run(list(command), cwd=cwd, env=env, stdout=handle,
                           stderr=subprocess.STDOUT)
    finally:
        stop_server(server)
        shutil.rmtree(directory, ignore_errors=True)


def junit_outcomes(report: str) -> Dict[str, str]:
    """Each test case of a JUnit XML report (pytest's ``--junitxml``) with its outcome:
    pass, failure, error or skipped."""
    found = {}
    for case in ElementTree.parse(report).iter("testcase"):
        outcome = "pass"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
                break
        found["%s::%s" % (case.get("classname"), case.get("name"))] = outcome
    return found


def compare(results: Mapping[str, Dict[str, str]], where: str) -> int:
    """Print each server's totals and every test whose outcome differs (``results``:
    kind -> test -> outcome, "pass" for a pass); 1 if a test passes on redis-server
    only (the yardstick), else 0."""
    for kind, label in LABELS:
        counts: Dict[str, int] = {}
        for outcome in results[kind].values():
            counts[outcome] = counts.get(outcome, 0) + 1
        print("%-13s %s" % (label, ", ".join("%d %s" % (counts[k], k)
                                             for k in sorted(counts))))
    worse = better = 0
    for test in sorted(set(results["redis"]) | set(results["mini"])):
        real, mini = results["redis"].get(test), results["mini"].get(test)
        if real != mini:
            print("%-8s redis-server, %-8s miniredis: %s" % (real, mini, test))
            worse += real == "pass"
            better += mini == "pass"
    print("%d pass on redis-server only, %d on miniredis only (reports and logs: %s)"
          % (worse, better, where))
    return 1 if worse else 0
