#!/usr/bin/env python3
"""Run Redis's own Tcl test suite against miniredis and redis-server, unit by unit.

Redis's suite (the ``tests/`` directory of a Redis 7.0.15 source tree, which this
project never copies) can test an already running server: ``./runtest --host H --port P``.
This script starts a fresh server of each kind for every unit (units leave CONFIG
changes and keys behind), runs the unit with the flags below, and prints one table:
per unit, how many tests passed (ok), failed (err, including exceptions) and were
skipped or ignored on each server. ``--failures`` also lists every test that passes on
redis-server but not on miniredis, which is the yardstick: that list should be empty.

    python scripts/redis_test_suite.py /path/to/redis-7.0.15
    python scripts/redis_test_suite.py SRC --units unit/type/incr unit/expire --failures

The source tree needs ``runtest`` and ``tests/``; ``tclsh`` must be installed (Debian:
``tcl``). Run one copy at a time per source tree: runtest cleans ``tests/tmp``.
"""
from __future__ import annotations

import argparse
import atexit
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

from suiteservers import free_port, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Tags Redis's test suite offers for servers that cannot do everything a test needs;
# the same for both servers, so the comparison is fair.
DENY_TAGS = ("-needs:repl -needs:debug -needs:pfdebug -needs:config-maxmemory "
             "-needs:config-resetstat -needs:reset -needs:save")
# --with-debug: both servers accept DEBUG, and only replication stays out.
DENY_TAGS_WITH_DEBUG = "-needs:repl"
RUNTEST_FLAGS = ["--singledb", "--durable", "--ignore-encoding", "--ignore-digest"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RESULT = re.compile(r"^\[(ok|err|exception|ignore|skip)\]: (.*?)(?: \(\d+ ms\))?$")


def _base_port() -> int:
    """A base port for runtest's own test server and clients, drawn at random so that
    runs in other source trees at the same time do not collide on runtest's default
    (21111, which it probes from 32 ports below)."""
    return random.randrange(12000, 30000, 100)


def all_units(source: str) -> List[str]:
    """The units listed in ``tests/test_helper.tcl``'s ``all_tests``."""
    with open(os.path.join(source, "tests", "test_helper.tcl")) as handle:
        text = handle.read()
    match = re.search(r"set ::all_tests \{(.*?)\}", text, re.S)
    if match is None:
        raise SystemExit("no all_tests list in tests/test_helper.tcl")
    return match.group(1).split()


def server_command(kind: str, port: int, directory: str, redis_server: str,
                   with_debug: bool = False) -> List[str]:
    """How to start a fresh server of ``kind`` ("redis" or "mini") on ``port``."""
    common = ["--port", str(port), "--save", "", "--dir", directory, "--bind", "127.0.0.1"]
    if with_debug:
        common += ["--enable-debug-command", "yes"]
    if kind == "redis":
        return [redis_server, *common, "--logfile", os.path.join(directory, "log")]
    return [sys.executable, "-m", "miniredis", *common,
            "--logfile", os.path.join(directory, "log")]


def spawn_tree(source: str, kind: str, redis_server: str) -> str:
    """A scratch copy of the suite (``tests/`` and ``runtest``) whose ``src/redis-server``
    is ``kind``'s server, for runtest to start itself (spawn mode: every unit, the
    integration ones included, with the servers and configurations it wants). The
    other tools come from the redis-server's directory. The caller removes it."""
    tree = tempfile.mkdtemp(prefix="suite-tree-%s-" % kind)
    shutil.copytree(os.path.join(source, "tests"), os.path.join(tree, "tests"))
    shutil.copy2(os.path.join(source, "runtest"), tree)
    src = os.path.join(tree, "src")
    os.mkdir(src)
    server = os.path.join(src, "redis-server")
    if kind == "redis":
        os.symlink(redis_server, server)
    else:
        # (a config file without a bind line gets redis-server's default, "* -::*",
        # where miniredis's own is 127.0.0.1: tests of non-local clients need it;
        # options given after it still win. ``exec -a``: the server runs under this
        # file's name, as the program executed -- its process title says so; the
        # interpreter, then unaware of its virtualenv, finds the libraries through
        # PYTHONPATH.)
        paths = sysconfig.get_paths()
        libraries = ":".join(dict.fromkeys((ROOT, paths["purelib"], paths["platlib"])))
        with open(server, "w") as handle:
            handle.write('#!/bin/bash\nexport PYTHONPATH="%s"\n'
                         'if [ -f "$1" ] && ! grep -qi "^ *bind " "$1"; then\n'
                         '  conf="$1"; shift\n'
                         '  exec -a "$0" "%s" -m miniredis "$conf" --bind "* -::*" "$@"\n'
                         'fi\nexec -a "$0" "%s" -m miniredis "$@"\n'
                         % (libraries, sys.executable, sys.executable))
        os.chmod(server, 0o755)
    tools = os.path.dirname(os.path.realpath(redis_server))
    for tool in ("redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb"):
        if os.path.exists(os.path.join(tools, tool)):
            os.symlink(os.path.join(tools, tool), os.path.join(src, tool))
    return tree


def _skips() -> List[str]:
    """runtest's --skiptest arguments for the tests --skiptest named."""
    return [arg for name in _skip_tests for arg in ("--skiptest", name)]


def run_spawned(tree: str, unit: str, timeout: float,
                with_debug: bool, with_repl: bool) -> Tuple[Dict[str, str], str]:
    """Run one unit in spawn mode in ``tree`` (see :func:`spawn_tree`)."""
    tags = [] if with_repl else ["--tags", DENY_TAGS_WITH_DEBUG if with_debug else DENY_TAGS]
    runner = subprocess.Popen(
        ["./runtest", "--single", unit, "--clients", "1", "--baseport", str(_base_port()),
         *tags, *_skips()], cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace", start_new_session=True)
    kind = "redis" if os.path.basename(tree).startswith("suite-tree-redis") else "mini"
    return _results(runner, timeout, "%s.%s" % (unit, kind))


# --logs: where runtest's output goes, one file per unit and server (None: nowhere).
_log_dir: Optional[str] = None
# --skiptest: tests not to run (a test that ends its unit in an exception hides the
# ones after it).
_skip_tests: List[str] = []


def _results(runner: subprocess.Popen, timeout: float,
             log_name: str = "") -> Tuple[Dict[str, str], str]:
    """runtest's outcome per test, and how the run ended."""
    status = "done"
    try:
        out = runner.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        os.killpg(runner.pid, signal.SIGKILL)
        out = runner.communicate()[0]
        status = "timeout"
    if _log_dir and log_name:
        with open(os.path.join(_log_dir, log_name.replace("/", "_") + ".log"), "w") as log:
            log.write(out)
    results: Dict[str, str] = {}
    for line in _ANSI.sub("", out).splitlines():
        match = _RESULT.match(line.strip())
        if match:
            outcome = match.group(1)
            results[match.group(2)] = {"exception": "err", "skip": "ignore"}.get(
                outcome, outcome)
        elif "[exception]" in line or "Killing still running" in line:
            status = "exception"
    return results, status


def run_unit(source: str, unit: str, kind: str, redis_server: str,
             timeout: float, with_debug: bool = False,
             with_repl: bool = False) -> Tuple[Dict[str, str], str]:
    """Run one unit against a fresh server; returns ({test name: outcome}, status)."""
    directory = tempfile.mkdtemp(prefix="suite-%s-" % kind)
    port = free_port()
    command = server_command(kind, port, directory, redis_server, with_debug)
    proc = subprocess.Popen(command,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: Dict[str, str] = {}
    status = "done"
    try:
        if not wait_for_port(port, proc):
            return results, "no server"
        # runtest starts a test server and client processes of its own: on a timeout the
        # whole process group goes, or they would hold tests/tmp and ports for the next
        # unit.
        tags = [] if with_repl else [
            "--tags", DENY_TAGS_WITH_DEBUG if with_debug else DENY_TAGS]
        runner = subprocess.Popen(
            ["./runtest", "--host", "127.0.0.1", "--port", str(port), "--single", unit,
             "--baseport", str(_base_port()), *RUNTEST_FLAGS, *tags, *_skips()],
            cwd=source, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", start_new_session=True)
        results, status = _results(runner, timeout, "%s.%s" % (unit, kind))
        if proc.poll() is not None and status == "done":
            status = "server died"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)
    return results, status


def _counts(results: Dict[str, str]) -> str:
    values = list(results.values())
    return "%d/%d/%d" % (values.count("ok"), values.count("err"), values.count("ignore"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a Redis 7.0.15 source tree (runtest, tests/)")
    parser.add_argument("--units", nargs="*", help="units to run (default: all_tests)")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "",
                        help="the redis-server to compare with")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per unit")
    parser.add_argument("--only", choices=("both", "mini", "redis"), default="both")
    parser.add_argument("--failures", action="store_true",
                        help="list the tests that pass on redis-server only")
    parser.add_argument("--with-debug", action="store_true",
                        help="start both servers with enable-debug-command yes and run "
                             "the tests tagged needs:debug, needs:save... too (not "
                             "needs:repl)")
    parser.add_argument("--spawn", action="store_true",
                        help="let runtest start the servers itself (not external mode), "
                             "so the integration units run too: src/redis-server of a "
                             "scratch copy of the suite is each server in turn; implies "
                             "--with-repl")
    parser.add_argument("--with-repl", action="store_true",
                        help="--with-debug and the tests tagged needs:repl too (most "
                             "read the replication stream with SYNC and compare the "
                             "commands propagated)")
    parser.add_argument("--logs", metavar="DIR",
                        help="keep runtest's output, one file per unit and server")
    parser.add_argument("--skiptest", action="append", default=[], metavar="NAME",
                        help="a test not to run (runtest's --skiptest; repeatable)")
    args = parser.parse_args(argv)
    global _log_dir
    _skip_tests[:] = args.skiptest
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
        _log_dir = args.logs
    if args.spawn:
        args.with_repl = True
    if args.with_repl:
        args.with_debug = True
    source = os.path.abspath(args.source)
    units = args.units or all_units(source)
    kinds = ["redis", "mini"] if args.only == "both" else [args.only]
    if ("redis" in kinds or args.spawn) and not args.redis_server:
        parser.error("no redis-server found: pass --redis-server")
    trees: Dict[str, str] = {}
    if args.spawn:
        for kind in kinds:
            trees[kind] = spawn_tree(source, kind, args.redis_server)
            atexit.register(shutil.rmtree, trees[kind], True)

    print("%-36s %-16s %-16s %s" % ("unit", "redis ok/err/ign", "mini ok/err/ign",
                                    "passing on redis only"))
    totals = {kind: {"ok": 0, "err": 0, "ignore": 0} for kind in kinds}
    missing: List[Tuple[str, str]] = []
    for unit in units:
        row = {}
        for kind in kinds:
            if args.spawn:
                results, status = run_spawned(trees[kind], unit, args.timeout,
                                              args.with_debug, args.with_repl)
            else:
                results, status = run_unit(source, unit, kind, args.redis_server,
                                           args.timeout, args.with_debug, args.with_repl)
            row[kind] = (results, status)
            for outcome in results.values():
                totals[kind][outcome] = totals[kind].get(outcome, 0) + 1
        cells = []
        for kind in ("redis", "mini"):
            if kind in row:
                results, status = row[kind]
                cells.append(_counts(results) + ("" if status == "done" else " " + status))
            else:
                cells.append("-")
        only_redis = []
        if len(kinds) == 2:
            redis_results, mini_results = row["redis"][0], row["mini"][0]
            only_redis = [name for name, outcome in redis_results.items()
                          if outcome == "ok" and mini_results.get(name) != "ok"]
            missing += [(unit, name) for name in only_redis]
        print("%-36s %-16s %-16s %s" % (unit, cells[0], cells[1],
                                        len(only_redis) if len(kinds) == 2 else ""))
        sys.stdout.flush()
    for kind in kinds:
        t = totals[kind]
        print("total %-5s ok %d, err %d, ignored %d" % (kind, t["ok"], t["err"], t["ignore"]))
    if len(kinds) == 2:
        print("tests passing on redis-server but not on miniredis: %d" % len(missing))
        if args.failures:
            for unit, name in missing:
                print("  %s: %s" % (unit, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
