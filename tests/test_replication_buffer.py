"""The backlog as Redis 7.0's shared replication buffer, against redis-server: it
outgrows repl-backlog-size while a replica still needs the stream (here one waiting
for its RDB), then shrinks back once no replica does."""
from __future__ import annotations

import time

from tests.test_diskless_sync import _call, _start, _stuck_replica


def _histlen(port: int) -> int:
    text = _call(port, "INFO", "replication").decode()
    return int(text.split("repl_backlog_histlen:")[1].split("\r\n")[0])


def test_backlog_outgrows_its_size_for_a_waiting_replica(tmp_path):
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = tmp_path / kind
        directory.mkdir()
        master, port = _start(kind, str(directory), "--repl-diskless-sync", "no",
                              "--repl-backlog-size", "16384")
        waiting = None
        try:
            _call(port, "SET", "seed", "1")
            _call(port, "CONFIG", "SET", "rdb-key-save-delay", "10000000")
            waiting = _stuck_replica(port)            # its RDB takes for ever
            deadline = time.time() + 10
            while b"rdb_bgsave_in_progress:1" not in _call(port, "INFO", "persistence"):
                assert time.time() < deadline
                time.sleep(0.02)
            for i in range(200):
                _call(port, "SET", "k%d" % i, "x" * 1000)
            grown = _histlen(port)
            waiting.close()
            deadline = time.time() + 10
            while b"connected_slaves:0" not in _call(port, "INFO", "replication"):
                assert time.time() < deadline
                time.sleep(0.02)
            _call(port, "CONFIG", "SET", "rdb-key-save-delay", "0")
            # (Redis trims its buffer by whole 16 KB blocks, in its cron)
            deadline = time.time() + 10
            while _histlen(port) > 40000 and time.time() < deadline:
                time.sleep(0.05)
            outcomes[kind] = (grown > 200000, _histlen(port) <= 40000)
        finally:
            master.kill()
            master.wait()
    assert outcomes["miniredis"] == outcomes["redis"] == (True, True)
