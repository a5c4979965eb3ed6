"""The forked child of a full synchronisation, on a master, against redis-server:
FLUSHALL kills it (its RDB is of a dataset that is gone), a disk-based one nobody
waits for any more is killed unless save points want it, one killed from outside
while the replica reads slowly is still reaped, and one whose server was killed
exits by itself."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import time
from typing import Any, Callable, List, Optional

import pytest

from tests.harness import (on_both_kinds, ROOT, RawConnection, server_argv, start_process,
                           stop_process)
from tests.test_replication_replica import call, info


class _Master:
    """A master of ``kind`` started from the command line, with its log."""

    def __init__(self, kind: str, directory: str, *extra: str) -> None:
        self.dir = directory
        self.log_path = os.path.join(directory, "master.log")
        self.proc, self.port = start_process(
            lambda port: server_argv(kind) + [
                "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory,
                "--logfile", self.log_path, "--enable-debug-command", "yes",
                "--repl-diskless-sync-delay", "0", *extra],
            what=kind, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self) -> str:
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def saving(self) -> str:
        return info(self.port, "persistence")["rdb_bgsave_in_progress"]

    def children(self) -> List[int]:
        found: List[int] = []
        for path in glob.glob("/proc/%d/task/*/children" % self.proc.pid):
            try:
                with open(path) as handle:
                    found += [int(pid) for pid in handle.read().split()]
            except OSError:
                pass
        return found

    def stop(self) -> None:
        stop_process(self.proc, "/nonexistent")


def _replica(port: int) -> RawConnection:
    """A replica's connection that asked for a full synchronisation (and reads
    nothing more)."""
    conn = RawConnection(port)
    conn.call("REPLCONF", "capa", "eof", "capa", "psync2")
    conn.send("PSYNC", "?", "-1")
    return conn


def _wait(condition: Callable[[], Any], timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False



def test_flushall_kills_the_diskless_sync_child(tmp_path):
    def scenario(kind: str, directory: Any) -> Any:
        master = _Master(kind, str(directory), "--repl-diskless-sync", "yes",
                         "--rdb-key-save-delay", "100000")
        try:
            call(master.port, "DEBUG", "POPULATE", 100)
            first = _replica(master.port)
            started = _wait(lambda: master.saving() == "1", 5)
            call(master.port, "FLUSHALL")
            ended = _wait(lambda: master.saving() == "0", 5)
            dropped = first.closed_by_peer(5)
            second = _replica(master.port)
            again = _wait(lambda: master.log().count(
                "Background RDB transfer started by pid") == 2, 5)
            second.close()
            return started, ended, dropped, again
        finally:
            master.stop()
    assert on_both_kinds(tmp_path, scenario) == (True, True, True, True)


def test_disk_sync_child_nobody_waits_for_is_killed(tmp_path):
    def scenario(kind: str, directory: Any) -> Any:
        master = _Master(kind, str(directory), "--repl-diskless-sync", "no",
                         "--rdb-key-save-delay", "1000000")
        try:
            call(master.port, "DEBUG", "POPULATE", 10)
            outcome = []
            for save in ("", "900 1"):
                call(master.port, "CONFIG", "SET", "save", save)
                replicas = [_replica(master.port), _replica(master.port)]
                outcome.append(_wait(lambda: master.saving() == "1" and all(
                    "wait_bgsave" in info(master.port).get("slave%d" % n, "")
                    for n in (0, 1)), 5))
                replicas[0].close()
                time.sleep(0.2)
                outcome.append(master.saving())
                replicas[1].close()
                time.sleep(0.3)
                outcome.append(_wait(lambda: master.saving() == "0", 1))
            call(master.port, "CONFIG", "SET", "save", "")      # (a quick shutdown)
            call(master.port, "CONFIG", "SET", "rdb-key-save-delay", "0")
            return outcome
        finally:
            master.stop()
    assert on_both_kinds(tmp_path, scenario) == [True, "1", True, True, "1", False]


def test_child_killed_during_a_slow_diskless_transfer_is_reaped(tmp_path):
    def scenario(kind: str, directory: Any) -> Any:
        master = _Master(kind, str(directory), "--repl-diskless-sync", "yes",
                         "--rdbcompression", "no")
        try:
            call(master.port, "DEBUG", "POPULATE", 3000, "key", 10000)
            replica = _replica(master.port)         # never reads: the master waits
            started = _wait(lambda: master.saving() == "1", 5)
            time.sleep(1)
            children = master.children()
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            reaped = _wait(lambda: master.saving() == "0", 5)
            replica.close()
            return started, len(children), reaped
        finally:
            master.stop()
    assert on_both_kinds(tmp_path, scenario) == (True, 1, True)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_sync_child_exits_when_its_server_is_killed(tmp_path, diskless):
    def scenario(kind: str, directory: Any) -> Any:
        master = _Master(kind, str(directory), "--repl-diskless-sync", diskless,
                         "--rdb-key-save-delay", "1000")
        child: Optional[int] = None
        try:
            call(master.port, "DEBUG", "POPULATE", 10000)
            replica = _replica(master.port)
            started = _wait(lambda: master.saving() == "1", 5)
            children = master.children()
            child = children[0] if children else None
            os.kill(master.proc.pid, signal.SIGKILL)
            master.proc.wait()
            gone = child is not None and _wait(lambda: not _alive(child), 10)
            replica.close()
            return started, gone
        finally:
            master.stop()
            if child is not None and _alive(child):
                os.kill(child, signal.SIGKILL)
    assert on_both_kinds(tmp_path, scenario) == (True, True)
