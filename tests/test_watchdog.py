"""watchdog-period (Redis's software watchdog), command-line servers against
redis-server: a server stuck longer than the period (DEBUG SLEEP, a replica loading
its master's RDB from the socket) logs "WATCHDOG TIMER EXPIRED" and goes on; the
period is raised to two cron ticks at least; 0 disarms it."""
from __future__ import annotations

import time
from typing import Any

from tests.test_replication_diskless_load import _eof_form, _fake_master, _rdb_of
from tests.harness import on_both_kinds
from tests.test_replication_replica import call, link_up, wait_until
from tests.test_replication_sync_child import _Master

_EXPIRED = "--- WATCHDOG TIMER EXPIRED ---"



def test_debug_sleep_past_the_period_is_logged(tmp_path):
    def scenario(kind: str, directory: Any) -> Any:
        server = _Master(kind, str(directory))
        try:
            out = [call(server.port, "CONFIG", "SET", "watchdog-period", "50"),
                   call(server.port, "CONFIG", "GET", "watchdog-period")]
            call(server.port, "DEBUG", "SLEEP", "0.6")
            out.append(wait_until(lambda: _EXPIRED in server.log(), 5, "the watchdog"))
            out.append(call(server.port, "PING"))
            call(server.port, "CONFIG", "SET", "watchdog-period", "0")
            seen = server.log().count(_EXPIRED)
            call(server.port, "DEBUG", "SLEEP", "0.6")
            time.sleep(0.2)
            out.append(server.log().count(_EXPIRED) == seen)
            return out
        finally:
            server.stop()
    assert on_both_kinds(tmp_path, scenario) == [b"OK", [b"watchdog-period", b"200"], True,
                                         b"PONG", True]


def test_watchdog_expires_while_a_replica_loads_from_the_socket(tmp_path):
    """The load blocks the server as far as the cron is concerned: the alarm fires
    meanwhile, interrupting the socket reads, and the load still completes (no
    reconnection: Redis's "replica can handle EINTR if use diskless load")."""
    rdb = _rdb_of([["DEBUG", "POPULATE", 400, "key", 1000]])

    def scenario(kind: str, directory: Any) -> Any:
        master = _fake_master(lambda n: _eof_form(rdb), pause=0.05, chunk=16 * 1024,
                              hold=5)
        replica = _Master(kind, str(directory), "--repl-diskless-load", "on-empty-db",
                          "--loading-process-events-interval-bytes", "1024")
        try:
            call(replica.port, "CONFIG", "SET", "watchdog-period", "200")
            call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
            wait_until(lambda: link_up(replica.port), 20, "the sync")
            log = replica.log()
            loading = log.find("Loading DB in memory")
            return (loading >= 0 and log.find(_EXPIRED, loading) > 0,
                    "Reconnecting to MASTER" in log, master.connections,
                    call(replica.port, "DBSIZE"))
        finally:
            replica.stop()
            master.close()
    assert on_both_kinds(tmp_path, scenario) == (True, False, 1, 400)
