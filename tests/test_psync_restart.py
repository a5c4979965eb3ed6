"""Partial resynchronisation across restarts (PSYNC2 with the RDB's repl-id,
repl-offset and repl-stream-db), against redis-server: a master restarted from its
RDB keeps its old history as replid2 and its replicas continue (+CONTINUE), the DELs
of keys that expired meanwhile reaching them through the new backlog; a replica
restarted from its RDB continues with its master. Each scenario runs with miniredis
and with redis-server in the role that restarts, and the INFO fields are compared."""
from __future__ import annotations

import os
import time

from tests.harness import (ROOT, server_argv, RawConnection, free_port, start_process,
                           stop_process)




def _start(kind: str, directory: str, port: int, *options: str):
    proc, _ = start_process(
        lambda port: server_argv(kind) + ["--port", str(port), "--bind", "127.0.0.1", "--dir",
                                    directory, "--logfile", "log.txt",
                                    "--repl-diskless-sync-delay", "0",
                                    "--enable-debug-command", "yes", *options],
        port=port, what=kind, cwd=ROOT)
    return proc


def _call(port: int, *args: object) -> bytes:
    conn = RawConnection(port)
    try:
        return conn.call(*args)
    finally:
        conn.close()


def _fields(port: int, section: str) -> dict:
    text = _call(port, "INFO", section).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def _wait(condition, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline
        time.sleep(0.02)


def _in_sync(master: int, replica: int) -> bool:
    info = _fields(replica, "replication")
    return info.get("master_link_status") == "up" and \
        info["master_repl_offset"] == _fields(master, "replication")["master_repl_offset"]


def _shutdown(port: int, proc, *how: str) -> None:
    conn = RawConnection(port)
    conn.send("SHUTDOWN", *how)
    conn.closed_by_peer(20)
    conn.close()
    proc.wait(20)


def test_master_restart_continues_its_replicas(tmp_path):
    outcomes = {}
    for kind in ("redis", "miniredis"):
        mdir, rdir = str(tmp_path / (kind + "-m")), str(tmp_path / (kind + "-r"))
        os.mkdir(mdir)
        os.mkdir(rdir)
        mport = free_port()
        master = _start(kind, mdir, mport, "--save", "3600 1")
        replica = _start(kind, rdir, free_port(), "--save", "")
        rport = int(replica.args[replica.args.index("--port") + 1])
        try:
            _call(rport, "REPLICAOF", "127.0.0.1", mport)
            for i in range(30):
                _call(mport, "SET", "k%d" % i, "v")
            _call(mport, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
            _call(mport, "SELECT", "3")
            conn = RawConnection(mport)
            conn.call("SELECT", "3")
            conn.call("SET", "short", "v", "PX", "150")
            conn.close()
            _wait(lambda: _in_sync(mport, rport))
            before = _fields(mport, "replication")
            time.sleep(0.3)                       # "short" expires while it is down
            _shutdown(mport, master, "NOW")
            master = _start(kind, mdir, mport, "--save", "3600 1")
            _wait(lambda: _in_sync(mport, rport))
            after = _fields(mport, "replication")
            stats = _fields(mport, "stats")
            old = int(before["master_repl_offset"])
            outcomes[kind] = (
                after["master_replid2"] == before["master_replid"],
                after["master_replid"] != before["master_replid"],
                int(after["second_repl_offset"]) - old,
                int(after["master_repl_offset"]) - old,      # SELECT 3 + DEL short
                int(after["repl_backlog_first_byte_offset"]) - old,
                stats["sync_full"], stats["sync_partial_ok"],
                _fields(rport, "keyspace"))
        finally:
            stop_process(master, mdir)
            stop_process(replica, rdir)
    assert outcomes["miniredis"] == outcomes["redis"]
    assert outcomes["redis"][:3] == (True, True, 1) and outcomes["redis"][6] == "1"


def test_replica_restart_continues_with_its_master(tmp_path):
    """A redis-server master; the replica (of each kind) restarts from its own RDB
    with replicaof in its configuration and asks to continue."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        mdir, rdir = str(tmp_path / (kind + "-m")), str(tmp_path / (kind + "-r"))
        os.mkdir(mdir)
        os.mkdir(rdir)
        mport, rport = free_port(), free_port()
        master = _start("redis", mdir, mport, "--save", "")
        options = ("--save", "3600 1", "--replicaof", "127.0.0.1 %d" % mport)
        replica = _start(kind, rdir, rport, *options)
        try:
            for i in range(30):
                _call(mport, "SET", "k%d" % i, "v")
            _wait(lambda: _in_sync(mport, rport))
            _shutdown(rport, replica)
            for i in range(30, 40):
                _call(mport, "SET", "k%d" % i, "v")
            replica = _start(kind, rdir, rport, *options)
            _wait(lambda: _in_sync(mport, rport))
            stats = _fields(mport, "stats")
            with open(os.path.join(rdir, "log.txt")) as handle:
                log = handle.read()
            outcomes[kind] = (stats["sync_full"], stats["sync_partial_ok"],
                              _call(rport, "DBSIZE"),
                              "Successful partial resynchronization with master." in log)
        finally:
            stop_process(master, mdir)
            stop_process(replica, rdir)
    assert outcomes["miniredis"] == outcomes["redis"] == ("1", "1", b":40\r\n", True)


def test_resetstat_clears_the_sync_counters(tmp_path):
    """CONFIG RESETSTAT zeroes sync_full/sync_partial_ok/err as Redis's
    resetServerStats does (Redis's psync2 tests reset, then count)."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        mdir, rdir = str(tmp_path / (kind + "-m")), str(tmp_path / (kind + "-r"))
        os.mkdir(mdir)
        os.mkdir(rdir)
        mport, rport = free_port(), free_port()
        master = _start(kind, mdir, mport, "--save", "")
        replica = _start("redis", rdir, rport, "--save", "", "--replicaof",
                         "127.0.0.1 %d" % mport)
        try:
            _wait(lambda: _in_sync(mport, rport))
            before = _fields(mport, "stats")["sync_full"]
            _call(mport, "CONFIG", "RESETSTAT")
            stats = _fields(mport, "stats")
            outcomes[kind] = (before, stats["sync_full"], stats["sync_partial_ok"],
                              stats["sync_partial_err"])
        finally:
            stop_process(master, mdir)
            stop_process(replica, rdir)
    assert outcomes["miniredis"] == outcomes["redis"] == ("1", "0", "0", "0")
