#!/usr/bin/env python3
"""Run a Python project's own pytest suite against redis-server and against miniredis,
on port 6379 (or ``--port``), and compare.

For projects whose tests expect a Redis at 127.0.0.1:6379 (django-redis, saq,
taskiq-redis with ``TEST_REDIS_URL``...): the source tree (never copied into this
repository) and a Python that has the project's test requirements installed are
given; the script starts a fresh redis-server on 6379 (and on a unix socket, with
``--unixsocket``), runs pytest in the tree with the tree on PYTHONPATH and a JUnit
report, stops it, does the same with a fresh miniredis, and prints the totals and every
test whose outcome differs. The yardstick: no test passes on redis-server and fails on
miniredis. (redis-py's own suite has a script of its own, redis_py_suite.py.)

    python scripts/pytest_suite.py /path/to/django-redis --python /tmp/dr/bin/python \\
        --unixsocket /tmp/redis.sock -- -o addopts= -n 2 tests
    TEST_REDIS_URL=redis://localhost:6379 python scripts/pytest_suite.py SRC \\
        --python PY -- tests
    python scripts/pytest_suite.py /path/to/fakeredis --python PY --port 6390 \\
        -- -m real test/test_mixins
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

from suiteservers import compare, junit_outcomes, port_taken, run_with_server

PORT = 6379


def run_against(kind: str, python: str, source: str, out: str, port: int,
                unixsocket: Optional[str], extra: Sequence[str]) -> Dict[str, str]:
    """Start a fresh server of ``kind`` on ``port``, run pytest against it and return
    each test's outcome."""
    if port_taken(port):
        raise SystemExit("port %d is taken: the suite's tests need it" % port)
    report = os.path.join(out, kind + ".xml")
    options = ["--unixsocket", unixsocket] if unixsocket else []
    run_with_server(kind, port, [python, "-m", "pytest", "-p", "no:cacheprovider",
                                 "--junitxml", report, *extra],
                    source, os.path.join(out, kind + ".log"),
                    dict(os.environ, PYTHONPATH=source), options)
    return junit_outcomes(report)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the project's source tree")
    parser.add_argument("--python", required=True,
                        help="a Python with the project's test requirements")
    parser.add_argument("--port", type=int, default=PORT,
                        help="the port the suite's tests expect (default %(default)s)")
    parser.add_argument("--unixsocket", default=None,
                        help="also listen on this unix socket (its tests' path)")
    parser.add_argument("--out", default=None, help="where the reports and logs go")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1:]             # pytest's arguments
    source = os.path.abspath(args.source)
    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="pytest-suite-"))
    os.makedirs(out, exist_ok=True)
    results = {kind: run_against(kind, args.python, source, out, args.port,
                                    args.unixsocket, extra)
               for kind in ("redis", "mini")}
    return compare(results, out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
