"""repl-diskless-load: a replica parsing its master's RDB from the socket as it arrives
(on-empty-db, swapdb), against a real redis-server replica in the same scenario:
loading / async_loading in INFO, the old data kept aside (swapdb) and restored when
the load fails, served meanwhile when the master's history is ours (async loading),
-LOADING for the commands and parameters an (async) load refuses, and the log lines
Redis writes. Hostile payloads (corrupt, truncated, a broken EOF mark) never take the
replica down: they are logged and the old data stays."""
from __future__ import annotations

import os
import socket
import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

from miniredis import Server
from tests.harness import RawConnection, RedisProcess, free_port, redis_server_or_skip
from tests.test_replication_replica import call, info, link_up, redis_on_port, wait_until
from tests.test_replication_replica_hostile import REPLID, FakeMaster, Peer


class _Replica:
    """A replica of one kind ("redis": a redis-server process, "mini": an embedded
    miniredis), its port and its log."""

    def __init__(self, kind: str, directory: str, settings: Dict[str, str]) -> None:
        self.kind = kind
        self.log_path = os.path.join(directory, "%s-replica.log" % kind)
        if kind == "redis":
            extra = ["--logfile", self.log_path]
            for name, value in settings.items():
                extra += ["--" + name, value]
            self.proc: Any = RedisProcess(redis_server_or_skip(), extra)
            self.port = self.proc.port
        else:
            options = {name.replace("-", "_"): value for name, value in settings.items()}
            self.proc = Server(port=0, dir=directory, quiet=False, logfile=self.log_path,
                               **options)
            self.proc.start()
            self.port = self.proc.port

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def stop(self) -> None:
        self.proc.stop()


def _both(tmp_path: Any, settings: Dict[str, str],
          scenario: Callable[[_Replica], Any]) -> Tuple[Any, Any]:
    """``scenario`` run with a real replica, then with ours: both outcomes."""
    outcomes = []
    for kind in ("redis", "mini"):
        directory = tmp_path / kind
        directory.mkdir()
        replica = _Replica(kind, str(directory), settings)
        try:
            outcomes.append(scenario(replica))
        finally:
            replica.stop()
    return outcomes[0], outcomes[1]


def _rdb_of(commands: List[List[Any]]) -> bytes:
    """The dump.rdb a real redis-server writes after ``commands`` (uncompressed)."""
    proc = RedisProcess(redis_server_or_skip(), ["--rdbcompression", "no"])
    try:
        for command in commands:
            call(proc.port, *command)
        call(proc.port, "SAVE")
        with open(os.path.join(proc.dir, "dump.rdb"), "rb") as handle:
            return handle.read()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def big_rdb() -> bytes:
    """400 keys of 1000 bytes: about 400 KB (and a function library)."""
    return _rdb_of([["DEBUG", "POPULATE", 400, "key", 1000],
                    ["FUNCTION", "LOAD", _library("new")]])


def _library(answer: str) -> str:
    """A library whose read-only function f answers ``answer`` (FCALL on a read-only
    replica)."""
    return ("#!lua name=lib\nredis.register_function{function_name='f', callback="
            "function() return '%s' end, flags={'no-writes'}}" % answer)


def _fake_master(payload_for: Callable[[int], bytes], pause: float = 0.0,
                 chunk: int = 1 << 20, hold: float = 0.5) -> FakeMaster:
    """A master answering every PSYNC with +FULLRESYNC and ``payload_for(n)`` (the
    n-th connection's bytes after it), in ``chunk``-byte pieces ``pause`` apart, then
    keeping the link open a moment."""
    def script(peer: Peer, number: int) -> None:
        peer.handshake()
        peer.send(b"+FULLRESYNC %s 0\r\n" % REPLID)
        data = payload_for(number)
        for start in range(0, len(data), chunk):
            peer.send(data[start:start + chunk])
            if pause:
                time.sleep(pause)
        time.sleep(hold)
        peer.sock.shutdown(socket.SHUT_RDWR)    # (the peer's file keeps it open)
    return FakeMaster(script)


def _eof_form(rdb: bytes, mark: bytes = b"m" * 40) -> bytes:
    return b"$EOF:" + b"m" * 40 + b"\r\n" + rdb + mark


# -- streamed: the keys appear while the payload is still arriving ---------------------
def test_on_empty_db_parses_the_payload_as_it_arrives(tmp_path, big_rdb):
    """An empty replica with on-empty-db loads into its databases from the socket:
    INFO shows loading:1 and a growing keyspace before the payload has all arrived;
    the commands get -LOADING, CONFIG SET of a DENY_LOADING parameter too."""
    def scenario(replica: _Replica) -> Any:
        master = _fake_master(lambda n: _eof_form(big_rdb), pause=0.08, chunk=16 * 1024)
        try:
            call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
            seen = set()
            names: List[str] = []
            partial = False
            refusals: List[Any] = []
            deadline = time.time() + 20
            while time.time() < deadline:
                fields = info(replica.port, "persistence")
                keyspace = call(replica.port, "INFO", "keyspace").decode()
                seen.add((fields["loading"], fields["async_loading"]))
                if fields["loading"] == "1":
                    names = names or sorted(fields)     # (loading_* fields added)
                    keys = int(keyspace.split("keys=")[1].split(",")[0]) \
                        if "keys=" in keyspace else 0
                    partial = partial or 0 < keys < 400
                    if not refusals:
                        refusals = [call(replica.port, "GET", "key:1"),
                                    call(replica.port, "CONFIG", "SET",
                                         "repl-diskless-load", "disabled"),
                                    call(replica.port, "CONFIG", "SET", "maxmemory-policy",
                                         "allkeys-lru")]
                if link_up(replica.port):
                    break
                time.sleep(0.02)
            return (sorted(seen), partial, refusals, call(replica.port, "DBSIZE"),
                    "receiving streamed RDB from master with EOF to parser" in replica.log(),
                    "Loading DB in memory" in replica.log(),
                    call(replica.port, "FCALL", "f", 0), names)
        finally:
            master.close()
    real, mini = _both(tmp_path, {"repl-diskless-load": "on-empty-db",
                                  "loading-process-events-interval-bytes": "1024",
                                  "repl-timeout": "5"}, scenario)
    assert real == mini
    assert mini[1] is True and mini[3] == 400 and mini[4] and mini[5]
    assert mini[2][0].startswith(b"LOADING") and mini[2][1].startswith(b"LOADING")
    assert mini[2][2] == b"OK"
    assert "loading_eta_seconds" in mini[7] and "loading_loaded_perc" in mini[7]


# -- swapdb: the old data survives a failed load ---------------------------------------
def test_swapdb_short_read_restores_the_old_data(tmp_path, big_rdb):
    """The master goes away in the middle of the RDB: the replica had loaded part of it
    into databases set aside; they are dropped, the old keys and functions stay."""
    def scenario(replica: _Replica) -> Any:
        call(replica.port, "SET", "mykey", "myvalue")
        call(replica.port, "FUNCTION", "LOAD", _library("old"))
        master = _fake_master(lambda n: _eof_form(big_rdb)[:len(big_rdb) // 2],
                              pause=0.05, chunk=64 * 1024)
        try:
            call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
            wait_until(lambda: "Discarding temporary DB" in replica.log(), 20,
                       "the load to fail")
            log = replica.log()
            return (call(replica.port, "GET", "mykey"), call(replica.port, "DBSIZE"),
                    call(replica.port, "FCALL", "f", 0),
                    info(replica.port, "persistence")["loading"],
                    "Internal error in RDB reading offset" in log,
                    "Failure loading rdb format from socket, assuming connection error, "
                    "resuming operation." in log,
                    "Failed trying to load the MASTER synchronization DB from socket" in log,
                    "MASTER <-> REPLICA sync: Flushing old data" in log)
        finally:
            master.close()
    real, mini = _both(tmp_path, {"repl-diskless-load": "swapdb"}, scenario)
    assert real == mini
    assert mini[:4] == (b"myvalue", 1, b"old", "0")
    assert mini[4:7] == (True, True, True) and mini[7] is False


def test_swapdb_success_replaces_the_data_and_functions(tmp_path, big_rdb):
    def scenario(replica: _Replica) -> Any:
        call(replica.port, "SET", "mykey", "myvalue")
        call(replica.port, "FUNCTION", "LOAD", _library("old"))
        master = _fake_master(lambda n: _eof_form(big_rdb), hold=5)
        try:
            call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
            wait_until(lambda: link_up(replica.port), 20, "the link")
            log = replica.log()
            return (call(replica.port, "GET", "mykey"), call(replica.port, "DBSIZE"),
                    call(replica.port, "FCALL", "f", 0),
                    [line.split("* ", 1)[-1] for line in log.splitlines()
                     if "Swapping active DB" in line or "Discarding old DB" in line
                     or "Loading DB in memory" in line])
        finally:
            master.close()
    real, mini = _both(tmp_path, {"repl-diskless-load": "swapdb"}, scenario)
    assert real == mini
    assert mini[:3] == (None, 400, b"new")


def test_on_empty_db_failed_load_leaves_the_replica_empty(tmp_path, big_rdb):
    """A load straight into the (empty) databases that fails half-way is flushed."""
    def scenario(replica: _Replica) -> Any:
        master = _fake_master(lambda n: _eof_form(big_rdb)[:len(big_rdb) // 2])
        try:
            call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
            wait_until(lambda: "Failed trying to load the MASTER synchronization DB from "
                               "socket" in replica.log(), 20, "the load to fail")
            return (call(replica.port, "DBSIZE"),
                    info(replica.port, "persistence")["loading"],
                    "Discarding temporary DB" in replica.log())
        finally:
            master.close()
    real, mini = _both(tmp_path, {"repl-diskless-load": "on-empty-db"}, scenario)
    assert real == mini == (0, "0", False)


# -- async loading: the same history, the old data served meanwhile -----------------------
def test_swapdb_async_loading_serves_the_old_data(tmp_path):
    """Resynchronised with the master whose history it has, a swapdb replica loads
    asynchronously: async_loading:1, reads see the old data, REPLICAOF and CONFIG SET
    appendonly get -LOADING; when the master drops it the old data stays."""
    exe = redis_server_or_skip()

    def scenario(replica: _Replica) -> Any:
        port = free_port()
        master = redis_on_port(exe, port, ["--repl-diskless-sync", "yes",
                                                "--rdbcompression", "no"])
        try:
            call(replica.port, "CONFIG", "SET", "replica-read-only", "no")
            call(replica.port, "REPLICAOF", "127.0.0.1", port)
            wait_until(lambda: link_up(replica.port), 20, "the first sync")
            call(port, "DEBUG", "POPULATE", 300, "master", 100000)
            call(replica.port, "SET", "mykey", "myvalue")
            call(port, "CONFIG", "SET", "rdb-key-save-delay", "10000")
            conn = RawConnection(port)
            conn.call("MULTI")
            conn.call("CLIENT", "KILL", "TYPE", "replica")
            conn.call("CONFIG", "SET", "repl-backlog-size", "16384")
            for number in range(3):
                conn.call("SET", "filler%d" % number, "A" * 16384)
            conn.call("EXEC")
            conn.close()
            wait_until(lambda: info(replica.port, "persistence")["async_loading"] == "1",
                       20, "async loading")
            during = (info(replica.port, "persistence")["loading"],
                      call(replica.port, "GET", "mykey"),
                      call(replica.port, "REPLICAOF", "NO", "ONE"),
                      call(replica.port, "CONFIG", "SET", "appendonly", "no"),
                      call(replica.port, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"),
                      call(replica.port, "BGSAVE"))
            call(port, "CONFIG", "SET", "repl-diskless-sync-delay", "5")
            call(port, "CLIENT", "KILL", "TYPE", "replica")
            wait_until(lambda: info(replica.port, "persistence")["async_loading"] == "0",
                       20, "the load to fail")
            after = (call(replica.port, "GET", "mykey"), call(replica.port, "DBSIZE"))
            call(port, "CONFIG", "SET", "rdb-key-save-delay", "0")
            return during, after, "Discarding temporary DB in background" in replica.log()
        finally:
            master.stop()
    real, mini = _both(tmp_path, {"repl-diskless-load": "swapdb"}, scenario)
    assert real == mini
    during, after, discarded = mini
    assert during[0] == "0" and during[1] == b"myvalue"
    assert during[2].startswith(b"LOADING") and during[3].startswith(b"LOADING")
    assert during[5].startswith(b"LOADING")
    assert after == (b"myvalue", 1) and discarded


# -- hostile payloads ------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "checksum", "mark", "truncated",
                                    "signature"])
def test_corrupt_diskless_payload_keeps_the_old_data(tmp_path, big_rdb, damage):
    """A payload that does not load (Redis would exit on the corrupt ones: this server
    logs Redis's lines and retries): the swapdb replica keeps its data and serves."""
    if damage == "garbage":
        payload = _eof_form(b"REDIS0010\xfe\x00\x00\x03bad" + b"\x99" * 50)
    elif damage == "checksum":
        payload = _eof_form(big_rdb[:-8] + b"\x01" * 8)
    elif damage == "mark":
        payload = _eof_form(big_rdb, b"x" * 40)
    elif damage == "signature":
        payload = _eof_form(b"REDIX" + big_rdb[5:])
    else:
        payload = b"$%d\r\n" % len(big_rdb) + big_rdb[:-20]
    master = _fake_master(lambda n: payload)
    replica = Server(port=0, dir=str(tmp_path), quiet=False,
                     logfile=str(tmp_path / "log"), repl_diskless_load="swapdb",
                     repl_timeout=1)
    replica.start()
    try:
        call(replica.port, "SET", "old", "data")
        call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
        wait_until(lambda: master.connections >= 2, 15, "a retry")
        wait_until(lambda: info(replica.port, "persistence")["loading"] == "0", 10,
                   "the load to end")
        assert call(replica.port, "GET", "old") == b"data"
        assert call(replica.port, "PING") == b"PONG"
        log = open(str(tmp_path / "log")).read()
        assert "Traceback" not in log and "Discarding temporary DB in background" in log
        expected = {"garbage": "Failure loading rdb format",
                    "checksum": "Wrong RDB checksum",
                    "mark": "Replication stream EOF marker is broken",
                    "truncated": "Unexpected EOF reading RDB file",
                    "signature": "Wrong signature trying to load DB from file\n"}[damage]
        assert expected in log
        assert ("Internal error in RDB" in log) is (damage not in ("signature", "mark"))
    finally:
        replica.stop()
        master.close()
