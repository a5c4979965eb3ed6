"""Instructions per request, counted by valgrind's callgrind: a measure that noise
cannot move.

Timings on the shared two-core development machine move by 10-50% from one hour to
the next (redis-server itself has run at a third of its usual speed), so a change of a
few percent in the server's own work cannot be read from requests per second or even
CPU time. Callgrind counts the instructions the process executes instead; the same
tree gives the same count to a fraction of a percent (``PYTHONHASHSEED`` is fixed: the
hash seed alone moves these counts by 1-2%).

Each workload runs in a child interpreter under ``valgrind --tool=callgrind
--instr-atstart=no`` that turns counting on (``callgrind_control -i on``) after its
set-up and warm-up, then serves ``K`` reads, and again with ``2K`` reads; the
difference divided by ``K`` and by the requests per read is what one request costs,
with the set-up, the warm-up and the interpreter's exit cancelled out. The kinds:

* ``pipelined``: ``--pipeline`` requests (16, as ``redis-benchmark -P 16``) fed to
  ``Client.process`` per read (hiredis parsing, dispatch and the commands' own loops,
  the reply handed to a socket that takes everything);
* ``lone``: one request per read through the path a readable socket takes
  (``Client.on_readable``: the shortcut for a lone request, dispatch, the write), with
  the read and write system calls replaced by functions returning the request and
  accepting the reply: what one unpipelined client costs the server in Python, less
  the kernel and the event loop;
* ``read``: as ``lone``, with ``--pipeline`` requests per read: the path a pipelining
  client's reads take (``_serve_read`` and the write, which ``Client.process`` leaves
  out), so the fixed cost of a read shows as in the server;
* ``batch``: ``--clients`` clients (50, as ``redis-benchmark -c 50``) found ready by
  one poll, one request each: their watchers called as libev calls them (last first,
  the pending count falling), so they join the ``ReadyQueue`` and are served in the
  kernel's order, and their replies are written together from the loop's callback
  (``ReadyQueue.write_later``) -- the path 50 unpipelined clients take;
* ``pieces``: one request of thousands of arguments (EXISTS_50K, MGET_50K) read 64 KB
  at a time through ``Client.on_readable``: its headers checked as they arrive, the
  request taken out of the buffer once complete (``--reads`` / 50 requests, two of
  warm-up).

Every timing the dispatcher takes reads 0 (its clock is replaced by a C call that
returns 0.0), else the latency histogram's path would depend on valgrind's slowness.
What the set-up created is frozen (``gc.freeze``) before counting, so a full
collection over it does not land in one run's reads and not the other's.

    python benchmarks/instructions.py [--tree DIR ...] [--only GET,SET,...]
        [--kind pipelined,lone,read,batch,pieces] [--pipeline 16] [--clients 50] [--reads 200]

``--tree`` (repeatable) measures other source trees side by side (``git archive
<commit> | tar -x -C DIR``); the default is this checkout. Needs ``valgrind``
(Debian's package); a run of every workload takes a few minutes.
"""
from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _workloads() -> Dict[str, Tuple[List[Any], List[List[bytes]]]]:
    """name: (one request's words, or several requests taken in turn; set-up
    requests), as redis-benchmark spells them."""
    many = [b"xxx"] * 30000
    keys = [b"key:%012d" % i for i in range(50000)]
    return {
        "PING": ([b"PING"], []),
        "GET": ([b"GET", b"key:000000000001"], [[b"SET", b"key:000000000001", b"xxx"]]),
        "SET": ([b"SET", b"key:000000000001", b"xxx"], []),
        "INCR": ([b"INCR", b"counter"], []),
        "LPUSH": ([b"LPUSH", b"mylist", b"xxx"], []),
        "RPOP": ([b"RPOP", b"mylist"], [[b"LPUSH", b"mylist"] + many]),
        "SADD": ([b"SADD", b"myset", b"element:1"], []),
        "HSET": ([b"HSET", b"myhash", b"element:1", b"xxx"], []),
        "ZADD": ([b"ZADD", b"myzset", b"0", b"element:1"], []),
        "XADD": ([b"XADD", b"mystream", b"*", b"field", b"value"], []),
        "MSET": ([b"MSET"] + [w for i in range(10) for w in (b"key:%012d" % i, b"xxx")],
                 []),
        "LRANGE_100": ([b"LRANGE", b"mylist", b"0", b"99"],
                       [[b"LPUSH", b"mylist"] + [b"xxx"] * 600]),
        # (redis-benchmark's list: LPUSHed one element at a time, so its first hundred
        # are in the head deque, not packed as above)
        "LRANGE_100_HEAD": ([b"LRANGE", b"mylist", b"0", b"99"],
                            [[b"LPUSH", b"mylist", b"xxx"]] * 600),
        # (not redis-benchmark's: a cheap read; until session 57 without a loop of its
        # own, each request of a run going through its handler in runs.run_alike, now
        # read_run's loop: commands/reads.py)
        "EXISTS": ([b"EXISTS", b"key:000000000001"],
                   [[b"SET", b"key:000000000001", b"xxx"]]),
        # (a cheap command still without a loop of its own: its handler per request)
        "GETBIT": ([b"GETBIT", b"key:000000000001", b"3"],
                   [[b"SET", b"key:000000000001", b"xxx"]]),
        # (other own loops than the goal tests': a hash's field read, a cache's write,
        # redis-benchmark's MSET, which names one key ten times)
        "HGET": ([b"HGET", b"myhash", b"element:1"],
                 [[b"HSET", b"myhash", b"element:1", b"xxx"]]),
        "SET_EX": ([b"SET", b"key:000000000001", b"xxx", b"EX", b"100"], []),
        "MSET_ONE_KEY": ([b"MSET"] + [b"key:__rand_int__", b"xxx"] * 10,
                         [[b"SET", b"key:__rand_int__", b"xxx"]]),
        # (scripts: benchmarks/scripts.py's shapes; the last returns a nested reply)
        "EVAL_1": ([b"EVAL", b"return 1", b"0"], []),
        "EVAL_GET": ([b"EVAL", b"return redis.call('get', KEYS[1])", b"1", b"key:1"],
                     [[b"SET", b"key:1", b"xxx"]]),
        # (thousands of keys, read 64 KB at a time: --kind pieces; 1.15 MB each)
        "EXISTS_50K": ([b"EXISTS"] + keys, [[b"MSET"] + [w for k in keys[::2]
                                                           for w in (k, b"x")]]),
        "MGET_50K": ([b"MGET"] + keys, [[b"MSET"] + [w for k in keys[::2]
                                                       for w in (k, b"x")]]),
        "EVAL_SET": ([b"EVAL", b"return redis.call('set', KEYS[1], ARGV[1])", b"1",
                      b"key:1", b"xxx"], []),
        "EVAL_NESTED": ([b"EVAL", b"local t = redis.call('xrange', KEYS[1], '-', '+') "
                         b"return t", b"1", b"s"],
                        [[b"XADD", b"s", b"%d-1" % i, b"f", b"v"] for i in range(1, 11)]),
        # (not redis-benchmark's: cheap commands without loops of their own, in turn,
        # so each request goes through the general loop: Client.run_requests)
        "MIX": ([[b"HGET", b"h", b"f"], [b"LLEN", b"l"], [b"TYPE", b"k"],
                 [b"SISMEMBER", b"s", b"m"], [b"ZSCORE", b"z", b"m"], [b"TTL", b"k"],
                 [b"ECHO", b"x"], [b"HEXISTS", b"h", b"f"]],
                [[b"HSET", b"h", b"f", b"v"], [b"SADD", b"s", b"m"],
                 [b"ZADD", b"z", b"1", b"m"], [b"RPUSH", b"l", b"a"],
                 [b"SET", b"k", b"v"]]),
        # (misses replied with a null: a field, a member, an index, an empty pop)
        "NULLS": ([[b"HGET", b"h", b"g"], [b"ZSCORE", b"z", b"n"], [b"LINDEX", b"l", b"9"],
                   [b"SPOP", b"nokey"]],
                  [[b"HSET", b"h", b"f", b"v"], [b"ZADD", b"z", b"1", b"m"],
                   [b"RPUSH", b"l", b"a"]]),
    }


def _encode(words: List[bytes]) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w)
                                               for w in words)


def _requests(words: List[Any], count: int) -> bytes:
    """``count`` requests: ``words`` repeated, or a workload's requests in turn."""
    turns = words if isinstance(words[0], list) else [words]
    return b"".join(_encode(turns[i % len(turns)]) for i in range(count))


def _child(tree: str, name: str, kind: str, per_read: int, reads: int) -> None:
    """Set up, warm up, turn callgrind's counting on, serve ``reads`` reads."""
    sys.path.insert(0, tree)
    sys.path.insert(0, HERE)
    from miniredis import Server, connection, runs
    from inprocess import NullSocket, check_open

    # Under valgrind a command takes some 50 times as long, which puts its time near
    # the latency histogram's 256 us edge: whether a call lands past it (a slower
    # path) would then depend on the machine's load. Every timing reads 0 here.
    connection._perf_counter = runs._perf_counter = (0.0).__float__
    server = Server()
    client = connection.Client(server.state, NullSocket(), "127.0.0.1:1",
                               "127.0.0.1:6379")
    words, setup = _workloads()[name]
    for request in setup:
        client.process(_encode(request))
    client.out.clear()
    if kind == "pipelined":
        data = _requests(words, per_read)
        serve = client.process

        def step() -> None:
            serve(data)
    elif kind == "batch":
        step = _batch(server, connection, _requests(words, 1), per_read)
    else:
        data = _requests(words, per_read if kind == "read" else 1)

        class _Loop:
            pendingcnt = 0      # no other watcher pending: served at once

        class _Ready:
            waiting: List[object] = []
            serving = None

        client._loop = _Loop()
        client._ready = _Ready()
        connection._read = lambda fd, size: data
        _replace_write(lambda fd, reply: len(reply))
        step = client.on_readable   # type: ignore[assignment]
        if kind == "pieces":
            step = _in_pieces(connection, client, data)
    for _ in range(2 if kind == "pieces" else max(200, reads // 2)):
        step()
    check_open(client)
    # What exists now is the set-up's: frozen, it is out of the collector's way, so
    # the counts do not depend on whether a full collection over it happens to fall
    # in the counted reads (HSET's moved by 30% from one run to the next without).
    gc.collect()
    gc.freeze()
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())],
                   capture_output=True, check=False)
    for _ in range(reads):
        step()
    for served in getattr(step, "clients", [client]):
        check_open(served)


def _in_pieces(connection: Any, client: Any, data: bytes) -> Any:
    """The step of the ``pieces`` kind: the request ``data`` read 64 KB at a time."""
    pieces = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    feed = iter(pieces)
    connection._read = lambda fd, size: next(feed)

    def step() -> None:
        nonlocal feed
        feed = iter(pieces)
        for _ in pieces:
            client.on_readable()
    return step


def _replace_write(write: Any) -> None:
    """The socket write of every module that writes replies (a tree may have it in
    connection.py, output.py or both), replaced by ``write``."""
    for name in ("miniredis.connection", "miniredis.output"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "_write"):
            module._write = write


def _batch(server: Any, connection: Any, data: bytes, clients: int) -> Any:
    """The step of the ``batch`` kind: ``clients`` clients made ready by one poll."""
    from inprocess import NullSocket
    from miniredis.readiness import ReadyQueue

    class _Loop:
        """libev as the watchers see it: the watchers still pending in this
        iteration, and the callbacks run before the next poll."""
        pendingcnt = 0

        def __init__(self) -> None:
            self.callbacks: List[Any] = []

        def run_callback(self, function: Any, *args: Any) -> None:
            self.callbacks.append((function, args))

    loop = _Loop()
    ready = ReadyQueue(loop)
    group = [connection.Client(server.state, NullSocket(), "127.0.0.1:%d" % i,
                               "127.0.0.1:6379") for i in range(2, clients + 2)]
    for client in group:
        client._loop = loop
        client._ready = ready
    connection._read = lambda fd, size: data
    _replace_write(lambda fd, reply: len(reply))
    in_libev_order = group[::-1]

    def step() -> None:
        loop.pendingcnt = clients
        for client in in_libev_order:
            loop.pendingcnt -= 1            # (libev: decremented, then invoked)
            client.on_readable()
        while loop.callbacks:
            callbacks, loop.callbacks = loop.callbacks, []
            for function, args in callbacks:
                function(*args)

    step.clients = group    # type: ignore[attr-defined]
    return step


def _count(tree: str, name: str, kind: str, per_read: int, reads: int) -> int:
    """Instructions callgrind collected in a child serving ``reads`` reads."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             "--callgrind-out-file=" + out, sys.executable, os.path.abspath(__file__),
             "--child", tree, name, kind, str(per_read), str(reads)],
            capture_output=True, text=True, env=env, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit("callgrind run failed (%s %s %s):\n%s"
                             % (tree, name, kind, done.stderr[-2000:]))
        return int(found.group(1))


def measure(tree: str, name: str, kind: str, per_read: int, reads: int) -> float:
    """Instructions per request: (count of 2K reads - count of K reads) / K / per_read."""
    requests = 1 if kind in ("lone", "pieces") else per_read
    short = _count(tree, name, kind, per_read, reads)
    long = _count(tree, name, kind, per_read, 2 * reads)
    return (long - short) / reads / requests


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        tree, name, kind, per_read, reads = sys.argv[2:7]
        _child(tree, name, kind, int(per_read), int(reads))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", default=[],
                        help="a source tree to measure (repeatable; default: this one)")
    parser.add_argument("--only", default="", help="comma-separated workload names")
    parser.add_argument("--kind", default="pipelined,lone",
                        help="pipelined, lone, read, batch, pieces (comma-separated)")
    parser.add_argument("--pipeline", type=int, default=16, help="requests per read")
    parser.add_argument("--clients", type=int, default=50,
                        help="clients found ready by one poll (batch)")
    parser.add_argument("--reads", type=int, default=200,
                        help="K: reads of the shorter run (the longer has 2K)")
    options = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)")
        return 1
    trees = [os.path.abspath(t) for t in options.tree] or [ROOT]
    names = [n for n in options.only.split(",") if n] or list(_workloads())
    kinds = [k for k in options.kind.split(",") if k]
    kinds_known = {"pipelined", "lone", "read", "batch", "pieces"}
    unknown = set(names) - set(_workloads()) | set(kinds) - kinds_known
    if unknown:
        parser.error("unknown workload or kind: %s" % ", ".join(sorted(unknown)))
    print("instructions per request (callgrind, PYTHONHASHSEED=0)")
    header = "%-12s %-10s" % ("request", "kind") + "".join(
        "%14s" % os.path.basename(t.rstrip("/"))[-13:] for t in trees)
    if len(trees) > 1:
        header += "%10s" % "last/1st"
    print(header)
    for kind in kinds:
        for name in names:
            # One request per read runs far fewer reads' worth of instructions.
            reads = options.reads * (4 if kind == "lone" else 1)
            if kind == "pieces":    # (one request of thousands of arguments per step)
                reads = max(1, options.reads // 50)
            per_read = options.clients if kind == "batch" else options.pipeline
            counts = [measure(t, name, kind, per_read, reads) for t in trees]
            line = "%-12s %-10s" % (name, {"lone": "lone", "batch": "-c %d" % per_read,
                                           "read": "read %d" % per_read,
                                           "pieces": "64 KB"}
                                    .get(kind, "-P %d" % per_read))
            line += "".join("%14s" % format(round(c), ",") for c in counts)
            if len(trees) > 1:
                line += "%10.3f" % (counts[-1] / counts[0])
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
