"""SHUTDOWN and SIGTERM as Redis 7.0: a master waits (shutdown-timeout) for lagging
replicas to acknowledge the whole stream, holding writes meanwhile, so a write
acknowledged to a client reaches the replica before the master exits; SHUTDOWN ABORT
cancels; a final save that fails keeps the server running. Each scenario runs on a
redis-server master with a redis-server replica and on a miniredis pair, and the
outcomes (replies, exit, the replica's data, log lines) are compared."""
from __future__ import annotations

import os
import signal
import time

from tests.harness import ROOT, server_argv, RawConnection, start_process, stop_process




class _Pair:
    """A master and its replica, both of ``kind``, each in its own directory."""

    def __init__(self, kind: str, root: str, *master_options: str) -> None:
        self.dirs = [os.path.join(root, kind + "-master"), os.path.join(root, kind + "-replica")]
        for directory in self.dirs:
            os.mkdir(directory)
        self.procs = []
        self.ports = []
        for index, directory in enumerate(self.dirs):
            options = master_options if index == 0 else ()
            proc, port = start_process(
                lambda port, directory=directory, options=options: server_argv(kind) + [
                    "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
                    "--save", "", "--logfile", "log.txt", "--repl-diskless-sync-delay",
                    "0", "--enable-debug-command", "yes", *options],
                what=kind, cwd=ROOT)
            self.procs.append(proc)
            self.ports.append(port)
        self.call(1, "REPLICAOF", "127.0.0.1", self.ports[0])
        self.wait(lambda: b"master_link_status:up" in self.call(1, "INFO", "replication"))

    def call(self, which: int, *args: object) -> bytes:
        conn = RawConnection(self.ports[which])
        try:
            return conn.call(*args)
        finally:
            conn.close()

    def wait(self, condition, seconds: float = 20) -> None:
        deadline = time.time() + seconds
        while not condition():
            assert time.time() < deadline
            time.sleep(0.02)

    def in_sync(self) -> bool:
        master = self.call(0, "INFO", "replication").decode()
        offset = master.split("master_repl_offset:")[1].split("\r\n")[0]
        return ("offset=%s," % offset) in master

    def log(self, which: int = 0) -> str:
        with open(os.path.join(self.dirs[which], "log.txt")) as handle:
            return handle.read()

    def stop(self) -> None:
        for proc in self.procs:         # (no graceful shutdown needed: that is tested)
            if proc.poll() is None:
                proc.kill()
        for proc, directory in zip(self.procs, self.dirs):
            stop_process(proc, directory)


def _lagging(pair: _Pair) -> None:
    """The replica has k=1 acknowledged, then stops reading; the master INCRs k."""
    pair.call(0, "SET", "k", "1")
    pair.wait(pair.in_sync)
    pair.procs[1].send_signal(signal.SIGSTOP)
    time.sleep(0.05)
    assert pair.call(0, "INCR", "k") == b":2\r\n"


def _shutdown_in_ms(pair: _Pair) -> int:
    text = pair.call(0, "INFO", "server").decode()
    if "shutdown_in_milliseconds:" not in text:
        return 0
    return int(text.split("shutdown_in_milliseconds:")[1].split("\r\n")[0])


def test_sigterm_waits_for_a_lagging_replica(tmp_path):
    outcomes = {}
    for kind in ("redis", "miniredis"):
        pair = _Pair(kind, str(tmp_path), "--shutdown-timeout", "60")
        try:
            _lagging(pair)
            pair.procs[0].send_signal(signal.SIGTERM)
            pair.wait(lambda: _shutdown_in_ms(pair) > 0)
            held = RawConnection(pair.ports[0])
            held.send("SET", "late", "1")          # writes wait while it waits
            time.sleep(0.2)
            still_running = pair.procs[0].poll() is None
            pair.procs[1].send_signal(signal.SIGCONT)
            exit_code = pair.procs[0].wait(20)
            late = held.closed_by_peer(5)
            held.close()
            log = pair.log()
            outcomes[kind] = (still_running, exit_code, late, pair.call(1, "GET", "k"),
                              "Waiting for replicas before shutting down." in log,
                              "1 of 1 replicas are in sync when shutting down." in log,
                              "Lagging replica" in log)
        finally:
            pair.stop()
    assert outcomes["miniredis"] == outcomes["redis"] == (
        True, 0, True, b"$1\r\n2\r\n", True, True, False)


def test_shutdown_timeout_with_a_replica_that_never_answers(tmp_path):
    outcomes = {}
    for kind in ("redis", "miniredis"):
        pair = _Pair(kind, str(tmp_path), "--shutdown-timeout", "1")
        try:
            _lagging(pair)
            conn = RawConnection(pair.ports[0])
            conn.send("SHUTDOWN")
            started = time.time()
            closed = conn.closed_by_peer(10)
            waited = time.time() - started
            conn.close()
            exit_code = pair.procs[0].wait(10)
            log = pair.log()
            outcomes[kind] = (closed, 0.8 < waited < 5, exit_code,
                              "0 of 1 replicas are in sync when shutting down." in log,
                              "Lagging replica" in log)
        finally:
            pair.stop()
    assert outcomes["miniredis"] == outcomes["redis"] == (True, True, 0, True, True)


def test_shutdown_abort_and_failures(tmp_path):
    """Two SHUTDOWN callers wait; SHUTDOWN ABORT answers OK, they get an error and
    writes resume; connected_clients leaves the replica out; option mixes refused."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        pair = _Pair(kind, str(tmp_path), "--shutdown-timeout", "60")
        try:
            _lagging(pair)
            callers = [RawConnection(pair.ports[0]) for _ in range(2)]
            for caller in callers:
                caller.send("SHUTDOWN")
            pair.wait(lambda: b"blocked_clients:2" in pair.call(0, "INFO", "clients"))
            clients = pair.call(0, "INFO", "clients").decode()
            replies = [clients.split("connected_clients:")[1].split("\r\n")[0],
                       pair.call(0, "SHUTDOWN", "ABORT")]
            replies += [caller.read_raw() for caller in callers]
            replies += [pair.call(0, "SET", "after", "1"), pair.call(0, "SHUTDOWN", "ABORT"),
                        pair.call(0, "SHUTDOWN", "SAVE", "NOSAVE"),
                        pair.call(0, "SHUTDOWN", "ABORT", "NOW"),
                        pair.call(0, "SHUTDOWN", "bogus"), _shutdown_in_ms(pair)]
            for caller in callers:
                caller.close()
            replies.append("Shutdown manually aborted." in pair.log())
            outcomes[kind] = replies
        finally:
            pair.stop()
    assert outcomes["miniredis"] == outcomes["redis"]
    assert outcomes["redis"][1] == b"+OK\r\n"


def test_a_failed_final_save_keeps_the_server(tmp_path):
    """Save points and a directory that has gone: SHUTDOWN answers an error and the
    server goes on; SHUTDOWN FORCE exits anyway."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        logs = str(tmp_path / (kind + "-logs"))
        os.mkdir(directory)
        os.mkdir(logs)
        proc, port = start_process(
            lambda port: server_argv(kind) + ["--port", str(port), "--bind", "127.0.0.1",
                                        "--dir", directory, "--save", "900 1", "--logfile",
                                        os.path.join(logs, "log.txt")],
            what=kind, cwd=ROOT)
        try:
            conn = RawConnection(port)
            conn.call("SET", "k", "v")
            os.rmdir(directory)
            replies = [conn.call("SHUTDOWN"), conn.call("PING")]
            conn.send("SHUTDOWN", "FORCE")
            replies.append(conn.closed_by_peer(10))
            conn.close()
            replies.append(proc.wait(10))
            with open(os.path.join(logs, "log.txt")) as handle:
                log = handle.read()
            replies += ["Error trying to save the DB, can't exit." in log,
                        "Errors trying to shut down the server." in log,
                        "Error trying to save the DB. Exit anyway." in log]
            outcomes[kind] = replies
        finally:
            os.makedirs(directory, exist_ok=True)
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"] == [
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n", b"+PONG\r\n", True, 0,
        True, True, True]


def test_no_exit_while_the_first_aof_rewrite_runs(tmp_path):
    """AOF just turned on: until its first rewrite is done the data is in no file, so
    SHUTDOWN refuses ("Writing initial AOF, can't exit."); FORCE exits anyway."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = start_process(
            lambda port: server_argv(kind) + ["--port", str(port), "--bind", "127.0.0.1",
                                        "--dir", directory, "--save", "",
                                        "--logfile", "log.txt"], what=kind, cwd=ROOT)
        try:
            conn = RawConnection(port)
            conn.call("SET", "k", "v")
            conn.call("CONFIG", "SET", "rdb-key-save-delay", "30000000")
            conn.call("CONFIG", "SET", "appendonly", "yes")
            replies = [conn.call("SHUTDOWN"), conn.call("PING")]
            conn.send("SHUTDOWN", "NOSAVE", "FORCE")
            replies += [conn.closed_by_peer(10), proc.wait(10)]
            conn.close()
            with open(os.path.join(directory, "log.txt")) as handle:
                log = handle.read()
            replies += ["Writing initial AOF, can't exit." in log,
                        "Writing initial AOF. Exit anyway." in log,
                        "There is a child rewriting the AOF. Killing it!" in log]
            outcomes[kind] = replies
        finally:
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"] == [
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n", b"+PONG\r\n", True, 0,
        True, True, True]


def test_signals_abort_and_insist(tmp_path):
    """A SIGTERM waits for the cron (DEBUG PAUSE-CRON holds it) and SHUTDOWN ABORT
    cancels it; a second SIGINT during the final save exits at once with status 1 and
    removes the save's temporary file ("You insist... exiting now.")."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = start_process(
            lambda port: server_argv(kind) + [
                "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
                "--save", "900 1", "--logfile", "log.txt", "--enable-debug-command",
                "yes"], what=kind, cwd=ROOT)
        try:
            conn = RawConnection(port)
            replies = [conn.call("DEBUG", "PAUSE-CRON", "1")]
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            replies += [conn.call("SHUTDOWN", "ABORT"), conn.call("DEBUG", "PAUSE-CRON", "0"),
                        conn.call("PING")]
            time.sleep(0.3)
            replies.append(proc.poll())
            for i in range(20):
                conn.call("SET", "k%d" % i, "v")
            conn.call("CONFIG", "SET", "rdb-key-save-delay", "100000")
            temp = os.path.join(directory, "temp-%d.rdb" % proc.pid)
            proc.send_signal(signal.SIGINT)
            deadline = time.time() + 5
            while not os.path.exists(temp):
                assert time.time() < deadline
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            replies += [proc.wait(10), os.path.exists(temp)]
            conn.close()
            with open(os.path.join(directory, "log.txt")) as handle:
                log = handle.read()
            replies += ["Shutdown manually aborted." in log,
                        "You insist... exiting now." in log]
            outcomes[kind] = replies
        finally:
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"] == [
        b"+OK\r\n", b"+OK\r\n", b"+OK\r\n", b"+PONG\r\n", None, 1, False, True, True]
