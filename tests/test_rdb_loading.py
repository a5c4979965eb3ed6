"""Loading RDB files against redis-server: what INFO says about the last load, and how
a damaged file stops the start-up (the log lines tools and Redis's own suite grep)."""
from __future__ import annotations

import os
import time

from tests.harness import (ROOT, RawConnection, child_pids, free_port, server_argv,
                           start_process, stop_process)




def _start(kind: str, directory: str, *options: str):
    return start_process(
        lambda port: server_argv(kind) + ["--port", str(port), "--bind", "127.0.0.1", "--dir",
                                    directory, "--enable-debug-command", "yes",
                                    "--logfile", "log.txt", *options],
        what=kind, cwd=ROOT)


def _info(conn: RawConnection, field: str) -> str:
    text = conn.call("INFO", "persistence").decode()
    return text.split(field + ":", 1)[1].split("\r\n", 1)[0]


def test_last_load_counts_as_redis(tmp_path):
    """rdb_last_load_keys_loaded/expired after DEBUG RELOAD (any load counts, not only
    the start-up one): keys whose TTL passed are skipped and counted."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = _start(kind, directory, "--save", "")
        try:
            conn = RawConnection(port)
            conn.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            for i in range(20):
                conn.call("SELECT", i % 16)
                conn.call("SET", "live%d" % i, "v")
                if i % 3:
                    conn.call("SET", "short%d" % i, "v", "PX", "10")
            time.sleep(0.05)
            conn.call("SAVE")
            conn.send("SHUTDOWN", "NOSAVE")
            conn.closed_by_peer(10)
            conn.close()
            proc.wait(10)
            proc, port = _start(kind, directory, "--save", "")
            conn = RawConnection(port)
            replies = [_info(conn, "rdb_last_load_keys_loaded"),
                       _info(conn, "rdb_last_load_keys_expired")]
            replies += [conn.call("DEBUG", "RELOAD"), _info(conn, "rdb_last_load_keys_loaded"),
                        _info(conn, "rdb_last_load_keys_expired")]
            conn.close()
            with open(os.path.join(directory, "log.txt")) as handle:
                log = handle.read()
            replies.append("Done loading RDB, keys loaded: 20, keys expired: 13." in log)
            outcomes[kind] = replies
        finally:
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"] == [
        "20", "13", b"+OK\r\n", "20", "0", True]


def test_start_up_refused_on_a_bad_checksum(tmp_path):
    """A dump.rdb whose CRC64 does not match: exit 1, and the log says so in Redis's
    words (its own suite waits for "CRC error")."""
    import subprocess
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = _start(kind, directory, "--save", "")
        conn = RawConnection(port)
        conn.call("SET", "k", "v")
        conn.call("SAVE")
        conn.send("SHUTDOWN", "NOSAVE")
        conn.closed_by_peer(10)
        conn.close()
        proc.wait(10)
        path = os.path.join(directory, "dump.rdb")
        with open(path, "r+b") as handle:
            handle.seek(-8, os.SEEK_END)
            handle.write(b"foobar00")
        done = subprocess.run(server_argv(kind) + ["--port", str(free_port()), "--dir", directory],
                              capture_output=True, timeout=30, cwd=ROOT)
        lines = done.stdout.decode().splitlines()
        # (Redis then runs its redis-check-rdb, whose report ends the log; miniredis
        # ends with "Terminating server after rdb file reading failure.")
        outcomes[kind] = (done.returncode, any("CRC error" in line for line in lines),
                          any("Internal error in RDB reading" in line and
                              line.endswith("-> RDB CRC error") for line in lines),
                          any("Wrong RDB checksum expected: (" in line and ") but got ("
                              in line for line in lines))
    assert outcomes["miniredis"] == outcomes["redis"] == (1, True, True, True)



def test_a_killed_bgsave_child_as_redis(tmp_path):
    """rdb-key-save-delay makes the save last; a child killed by SIGKILL is a failed
    save (MISCONF for writes, scripts included, with save points), one stopped with
    SIGUSR1 is not (Redis's way to stop a child without an error)."""
    import signal
    script = "return redis.call('set', KEYS[1], 1)"
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = _start(kind, directory, "--save", "900 1")
        try:
            conn = RawConnection(port)
            conn.call("CONFIG", "SET", "rdb-key-save-delay", "10000000")
            conn.call("DEBUG", "POPULATE", "100")
            conn.call("SET", "x", "x")
            replies = []
            for signum in (signal.SIGUSR1, signal.SIGKILL):
                replies.append(conn.call("BGSAVE"))
                deadline = time.time() + 10
                while not child_pids(proc.pid) and time.time() < deadline:
                    time.sleep(0.01)
                for child in child_pids(proc.pid):
                    os.kill(child, signum)
                while _info(conn, "rdb_bgsave_in_progress") != "0":
                    assert time.time() < deadline
                    time.sleep(0.01)
                replies += [_info(conn, "rdb_last_bgsave_status"), conn.call("GET", "x"),
                            conn.call("SET", "x", "y")[:8], conn.call("SET", "x", "x"),
                            conn.call("EVAL", script, "1", "x")[:8]]
            conn.call("CONFIG", "SET", "save", "")      # (no slow save at SIGTERM)
            conn.close()
            with open(os.path.join(directory, "log.txt")) as handle:
                log = handle.read()
            replies += ["Background saving terminated by signal 10" in log,
                        "Background saving terminated by signal 9" in log,
                        [name for name in os.listdir(directory) if name.startswith("temp-")]]
            outcomes[kind] = replies
        finally:
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"]
    assert outcomes["redis"][1] == "ok" and outcomes["redis"][7] == "err"


def test_clients_served_while_the_data_loads(tmp_path):
    """A start-up load that takes a while (key-load-delay): clients connect and get
    -LOADING (INFO answers, loading:1); SIGTERM meanwhile ends the server at once
    with Redis's "during loading" line, saving nothing."""
    import signal
    import subprocess
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = _start(kind, directory, "--save", "")
        conn = RawConnection(port)
        conn.call("DEBUG", "POPULATE", "50000", "key", "100")
        conn.call("SAVE")
        conn.send("SHUTDOWN", "NOSAVE")
        conn.closed_by_peer(10)
        conn.close()
        proc.wait(10)
        port = free_port()
        proc = subprocess.Popen(server_argv(kind) + [
            "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save",
            "3600 1", "--logfile", "log.txt", "--key-load-delay", "100",
            "--loading-process-events-interval-bytes", "1024"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while True:
                try:
                    conn = RawConnection(port)
                    break
                except OSError:
                    assert time.time() < deadline
                    time.sleep(0.02)
            replies = [conn.call("PING"), conn.call("GET", "key:1"),
                       _info(conn, "loading")]
            persistence = conn.call("INFO", "persistence").decode()
            replies.append(all("\r\n%s:" % name in persistence for name in (
                "loading_start_time", "loading_total_bytes", "loading_rdb_used_mem",
                "loading_loaded_bytes", "loading_loaded_perc", "loading_eta_seconds")))
            conn.close()
            proc.send_signal(signal.SIGTERM)
            replies.append(proc.wait(10))
            with open(os.path.join(directory, "log.txt")) as handle:
                log = handle.read()
            replies += ["Received shutdown signal during loading, scheduling shutdown."
                        in log, "Saving the final RDB snapshot" in log]
            outcomes[kind] = replies
        finally:
            if proc.poll() is None:
                proc.kill()
            stop_process(proc, directory)
    loading = b"-LOADING Redis is loading the dataset in memory\r\n"
    assert outcomes["miniredis"] == outcomes["redis"] == [
        loading, loading, "1", True, 0, True, False]
