#!/usr/bin/env python3
"""Run a Node.js project's own Redis tests against redis-server and against miniredis,
and compare: the client ioredis, the job queues BullMQ and Bull, or socket.io's Redis
adapter.

The source tree (``git archive v5.9.3`` of github.com/redis/ioredis, ``v5.81.3`` of
github.com/taskforcesh/bullmq, ``v4.15.0`` of github.com/OptimalBits/bull, ``8.3.0`` of
github.com/socketio/socket.io-redis-adapter; never copied into this repository) is
recognised by its package.json. They test
against a Redis on 127.0.0.1:6379, which their tests spell out.
This script installs the tree's npm packages once (no install scripts), starts a fresh
redis-server on 6379, runs the tests, stops it, does the same with a fresh miniredis,
and prints the totals and every test whose outcome differs. The yardstick: no test
passes on redis-server and fails on miniredis. Needs ``node`` and ``npm``; port 6379
must be free.

* ioredis: ``test/functional`` with mocha (ioredis's own helpers end each test with
  FLUSHALL, SCRIPT FLUSH and CLIENT KILL NORMAL); about 20 s a server.
* BullMQ: its vitest suite (queues, workers, flows, schedulers, rate limits: its Lua
  scripts and blocking commands), after generating its scripts as its ``pretest``
  does; about 9 minutes a server.
* Bull: its mocha suite (queues, workers, repeatable and delayed jobs, rate limits,
  pause, sandboxed processes: ioredis 5 and its Lua scripts), after generating its
  scripts; about 2 minutes a server.
* @socket.io/redis-adapter: its runner (three socket.io servers sharing rooms and
  acknowledgements through pub/sub, over ioredis and node-redis 4 and 3, the sharded
  adapter's SSUBSCRIBE/SPUBLISH); about 3 minutes a server.

    python scripts/node_suite.py /path/to/ioredis
    python scripts/node_suite.py /path/to/ioredis -- --grep scripting
    python scripts/node_suite.py /path/to/bullmq -- tests/queue.test.ts
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Sequence

from suiteservers import compare, port_taken, run_with_server

PORT = 6379


class _Ioredis:
    """ioredis: mocha over its functional tests, a JSON report."""

    def prepare(self, source: str) -> None:
        _npm(source, "ci")

    def command(self, source: str, report: str) -> List[str]:
        return [os.path.join(source, "node_modules", ".bin", "mocha"),
                "--no-experimental-strip-types", "test/helpers/*.ts",
                "test/functional/**/*.ts", "--reporter", "json",
                "--reporter-option", "output=" + report]

    def environment(self) -> Dict[str, str]:
        return {"TS_NODE_TRANSPILE_ONLY": "true", "NODE_ENV": "test"}

    def outcomes(self, report: str) -> Dict[str, str]:
        with open(report) as handle:
            data = json.load(handle)
        found: Dict[str, str] = {}
        for test in data["tests"]:
            name = "%s: %s" % (os.path.basename(test.get("file") or "?"),
                               test["fullTitle"])
            # (the report lists each test again under passes, failures or pending:
            # equal objects, not the same ones; a hook's failure has no test)
            outcome = next((kind for kind, listed in (("failure", data["failures"]),
                                                      ("pending", data["pending"]),
                                                      ("pass", data["passes"]))
                            if test in listed), "failure")
            _add(found, name, outcome)
        return found


class _SocketIoAdapter(_Ioredis):
    """@socket.io/redis-adapter: mocha over its runner (ioredis, node-redis 4 and 3,
    sharded pub/sub), a JSON report; ``--exit``: its cluster clients, with no cluster
    to reach, would keep mocha alive."""

    def prepare(self, source: str) -> None:
        _npm(source, "ci" if os.path.exists(os.path.join(source, "package-lock.json"))
             else "install")

    def command(self, source: str, report: str) -> List[str]:
        return [os.path.join(source, "node_modules", ".bin", "mocha"), "--require",
                "ts-node/register", "test/test-runner.ts", "--exit", "--timeout", "5000",
                "--reporter", "json", "--reporter-option", "output=" + report]

    def environment(self) -> Dict[str, str]:
        return {}


class _Bullmq:
    """BullMQ: vitest over its suite, a JSON report."""

    def prepare(self, source: str) -> None:
        _npm(source, "install")
        _generate_scripts(source, os.path.join("src", "scripts"))

    def command(self, source: str, report: str) -> List[str]:
        return [os.path.join(source, "node_modules", ".bin", "vitest"), "run",
                "--no-file-parallelism", "--reporter=json", "--outputFile=" + report]

    def environment(self) -> Dict[str, str]:
        return {}

    def outcomes(self, report: str) -> Dict[str, str]:
        with open(report) as handle:
            data = json.load(handle)
        found: Dict[str, str] = {}
        for test_file in data["testResults"]:
            for test in test_file["assertionResults"]:
                name = "%s: %s" % (os.path.basename(test_file["name"]), test["fullName"])
                status = test["status"]
                _add(found, name, {"passed": "pass", "failed": "failure"}.get(
                    status, status))
        return found


class _Bull(_Ioredis):
    """Bull (BullMQ's predecessor): mocha 8 over its tests, whose JSON report goes to
    standard output (that mocha has no report file option)."""

    def prepare(self, source: str) -> None:
        _npm(source, "install")
        _generate_scripts(source, os.path.join("lib", "scripts"))

    def command(self, source: str, report: str) -> List[str]:
        mocha = os.path.join(source, "node_modules", ".bin", "mocha")
        return ["sh", "-c", 'exec "$0" "$@" > ' + shlex.quote(report), mocha,
                "test/test_*", "--recursive", "--exit", "--reporter", "json"]

    def outcomes(self, report: str) -> Dict[str, str]:
        with open(report) as handle:
            text = handle.read()
        # (anything a test printed comes before the report)
        start = text.find('{\n  "stats"')
        with open(report, "w") as handle:
            handle.write(text[start:])
        return super().outcomes(report)


SUITES = {"ioredis": _Ioredis, "bullmq": _Bullmq, "bull": _Bull,
          "@socket.io/redis-adapter": _SocketIoAdapter}


def _generate_scripts(source: str, scripts: str) -> None:
    """Generate the Lua scripts' JavaScript modules into ``scripts`` (relative to
    ``source``) as the project's ``pretest`` does, once."""
    if not os.path.isdir(os.path.join(source, scripts)):
        for script in ("clean:scripts", "generate:raw:scripts", "transform:commands"):
            subprocess.run(["npm", "run", script], cwd=source, check=True,
                           stdout=subprocess.DEVNULL)


def _npm(source: str, how: str) -> None:
    """``npm ci`` or ``npm install`` in ``source``, once (no install scripts)."""
    if os.path.isdir(os.path.join(source, "node_modules")):
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm not found (Debian: npm)")
    subprocess.run(["npm", how, "--ignore-scripts", "--no-audit", "--no-fund"],
                   cwd=source, check=True)


def _add(found: Dict[str, str], name: str, outcome: str) -> None:
    """Record a test; a title met again (both runners allow it) gets ``#2``, ``#3``...
    in the order of the run."""
    numbered, seen = name, 1
    while numbered in found:
        seen += 1
        numbered = "%s #%d" % (name, seen)
    found[numbered] = outcome


def run_against(kind: str, suite, source: str, out: str,
                extra: Sequence[str]) -> Dict[str, str]:
    """Start a fresh server of ``kind`` on 6379, run the tests against it and return
    each test's outcome."""
    if port_taken(PORT):
        raise SystemExit("port %d is taken: the suite's tests need it" % PORT)
    report = os.path.join(out, kind + ".json")
    run_with_server(kind, PORT, [*suite.command(source, report), *extra], source,
                    os.path.join(out, kind + ".log"),
                    dict(os.environ, **suite.environment()))
    return suite.outcomes(report)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="an ioredis, BullMQ, Bull or socket.io adapter "
                                          "source tree")
    parser.add_argument("--out", default=None, help="where the reports and logs go")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1:]             # more arguments for the test runner
    source = os.path.abspath(args.source)
    with open(os.path.join(source, "package.json")) as handle:
        name = json.load(handle).get("name")
    if name not in SUITES:
        raise SystemExit("%s is not one of %s" % (name, ", ".join(sorted(SUITES))))
    suite = SUITES[name]()
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="node-suite-"))
    os.makedirs(out, exist_ok=True)
    suite.prepare(source)
    results = {kind: run_against(kind, suite, source, out, extra)
               for kind in ("redis", "mini")}
    return compare(results, out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
