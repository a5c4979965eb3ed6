#!/usr/bin/env python3
"""Run redis-py's own test suite against redis-server and against miniredis, and compare.

redis-py's ``tests/`` (a redis-py source tree, never copied into this repository:
``git archive v8.1.0`` of github.com/redis/redis-py) are written against a real Redis
and decide what to run by the version INFO reports. This script installs that tree and
its test tools in a virtualenv of their own, starts a fresh redis-server and a fresh
miniredis on free ports, runs the standalone tests (no cluster, sentinel, TLS or
modules) once against each, and prints the totals and every test whose outcome
differs. The yardstick: no test passes on redis-server and fails on miniredis.

    python scripts/redis_py_suite.py /path/to/redis-py
    python scripts/redis_py_suite.py SRC --venv /tmp/rpy-venv -- -k "xadd or xgroup"

A test that passes on miniredis and fails on redis-server is printed too: a command or
behaviour of a later Redis that miniredis has (see README's Compatibility section).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Sequence

from suiteservers import compare, free_port, junit_outcomes, run_with_server

# What the standalone run leaves out: other deployments (cluster, sentinel, TLS, the
# multi-database client, fault scenarios) and the Redis Stack modules.
_IGNORED_FILES = ["test_scenario", "test_multidb", "test_cluster.py",
                  "test_cluster_transaction.py", "test_sentinel.py",
                  "test_sentinel_managed_connection.py", "test_ssl.py", "test_bloom.py",
                  "test_json.py", "test_search.py", "test_timeseries.py", "test_vsets.py"]
_MARKERS = ("not onlycluster and not fixed_client and not multidb_integration and not "
            "redismod and not ssl and not replica and not cp_integration")
# The test tools redis-py's suite imports (its dev_requirements, less the linters).
_TEST_PACKAGES = ["pytest", "pytest-asyncio", "pytest-timeout", "mock", "ujson", "numpy",
                  "pybreaker", "xxhash", "uvloop", "aiohttp", "opentelemetry-api",
                  "opentelemetry-sdk", "redis-entraid", "pytest-profiling"]

def prepare_venv(source: str, venv: str) -> str:
    """A virtualenv at ``venv`` with ``source`` installed (editable) and the test tools;
    returns its python. Made once: a later run reuses it."""
    python = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".redis-py-suite")
    if not os.path.exists(stamp):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "-e", source,
                        *_TEST_PACKAGES], check=True)
        open(stamp, "w").close()
    return python


def run_against(kind: str, python: str, source: str, out: str,
                extra: Sequence[str]) -> Dict[str, str]:
    """Start a fresh server of ``kind`` ("redis" or "mini"), run the suite against it
    and return each test's outcome (pass, failure, error or skipped)."""
    port = free_port()
    report = os.path.join(out, kind + ".xml")
    ignores = [arg for name in _IGNORED_FILES
               for folder in ("tests", "tests/test_asyncio")
               for arg in ("--ignore", os.path.join(folder, name))]
    url = "redis://localhost:%d" % port
    run_with_server(kind, port, [python, "-m", "pytest", "tests", *ignores,
                                 "--ignore", "tests/maint_notifications", "-m", _MARKERS,
                                 "--redis-url", url + "/0", "--redis-mod-url", url,
                                 "-p", "no:cacheprovider", "-q", "--timeout", "60",
                                 "-o", "addopts=", "--junitxml", report, *extra],
                    source, os.path.join(out, kind + ".log"))
    return junit_outcomes(report)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a redis-py source tree (with tests/)")
    parser.add_argument("--venv", default=os.path.join(tempfile.gettempdir(),
                                                       "redis-py-suite-venv"))
    parser.add_argument("--out", default=None, help="where the reports and logs go")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    extra = argv[split + 1:]             # more pytest arguments
    source = os.path.abspath(args.source)
    out = args.out or tempfile.mkdtemp(prefix="redis-py-suite-")
    os.makedirs(out, exist_ok=True)
    python = prepare_venv(source, args.venv)
    results = {kind: run_against(kind, python, source, out, extra)
               for kind in ("redis", "mini")}
    return compare(results, out)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
