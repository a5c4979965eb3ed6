#!/usr/bin/env python3
"""Run ioredis's own functional tests against redis-server and against miniredis, and
compare.

ioredis (the Node.js client; ``git archive v5.9.3`` of github.com/redis/ioredis, never
copied into this repository) tests against a Redis on 127.0.0.1:6379, a port its tests
spell out. This script installs the tree's npm packages (``npm ci``, once), starts a
fresh redis-server on 6379, runs ``test/functional`` with mocha, stops it, does the
same with a fresh miniredis, and prints the totals and every test whose outcome
differs. The yardstick: no test passes on redis-server and fails on miniredis.
Needs ``node`` and ``npm``; port 6379 must be free.

    python scripts/ioredis_suite.py /path/to/ioredis
    python scripts/ioredis_suite.py SRC -- --grep scripting
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Sequence

from suiteservers import compare, port_taken, start_server, stop_server

PORT = 6379
# Mocha's arguments: ioredis's own helpers (each test ends with FLUSHALL, SCRIPT FLUSH
# and CLIENT KILL NORMAL) and its functional tests, as its package.json runs them.
_MOCHA = ["--no-experimental-strip-types", "test/helpers/*.ts", "test/functional/**/*.ts",
          "--reporter", "json"]


def prepare(source: str) -> str:
    """``source``'s mocha, its npm packages installed once (no install scripts)."""
    mocha = os.path.join(source, "node_modules", ".bin", "mocha")
    if not os.path.exists(mocha):
        if shutil.which("npm") is None:
            raise SystemExit("npm not found (Debian: npm)")
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                       cwd=source, check=True)
    return mocha


def run_against(kind: str, mocha: str, source: str, out: str,
                extra: Sequence[str]) -> Dict[str, str]:
    """Start a fresh server of ``kind`` on 6379, run the tests against it and return
    each test's outcome (pass, failure or pending)."""
    if port_taken(PORT):
        raise SystemExit("port %d is taken: ioredis's tests need it" % PORT)
    directory = tempfile.mkdtemp(prefix="ioredis-suite-%s-" % kind)
    report = os.path.join(out, kind + ".json")
    server = start_server(kind, PORT, directory)
    try:
        env = dict(os.environ, TS_NODE_TRANSPILE_ONLY="true", NODE_ENV="test")
        with open(os.path.join(out, kind + ".log"), "w") as log:
            subprocess.run([mocha, *_MOCHA, "--reporter-option", "output=" + report,
                            *extra], cwd=source, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    finally:
        stop_server(server)
        shutil.rmtree(directory, ignore_errors=True)
    return outcomes(report)


def outcomes(report: str) -> Dict[str, str]:
    """Each test of a mocha JSON report with its outcome; a title met again (mocha
    allows it) gets ``#2``, ``#3``... in the order of the run."""
    with open(report) as handle:
        data = json.load(handle)
    found: Dict[str, str] = {}
    for test in data["tests"]:
        name = "%s: %s" % (os.path.basename(test.get("file") or "?"), test["fullTitle"])
        numbered, seen = name, 1
        while numbered in found:
            seen += 1
            numbered = "%s #%d" % (name, seen)
        found[numbered] = _outcome_of(test, data)
    return found


def _outcome_of(test: dict, data: dict) -> str:
    """A test's outcome: the report lists each test again under passes, failures or
    pending (equal objects, not the same ones)."""
    for kind, tests in (("failure", data["failures"]), ("pending", data["pending"]),
                        ("pass", data["passes"])):
        if test in tests:
            return kind
    return "failure"        # (a hook's failure: reported without its test)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="an ioredis source tree (with test/)")
    parser.add_argument("--out", default=None, help="where the reports and logs go")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1:]             # more mocha arguments
    source = os.path.abspath(args.source)
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="ioredis-suite-"))
    os.makedirs(out, exist_ok=True)
    mocha = prepare(source)
    results = {kind: run_against(kind, mocha, source, out, extra)
               for kind in ("redis", "mini")}
    return compare(results, out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
