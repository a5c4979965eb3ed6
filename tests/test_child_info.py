"""What a saving child reports to its server (Redis's childinfo.c), against
redis-server: INFO persistence's current_* figures while a BGSAVE runs (keys written,
their share, the child's copy-on-write size), rdb_last_cow_size / aof_last_cow_size
after (which CONFIG RESETSTAT keeps), the "Fork CoW" log lines; and CONFIG SET loglevel, which the
log lines follow at once. Copy-on-write sizes differ between the servers (the
figures are each process's own Private_Dirty memory): only their relations are
compared. Linux only, as Redis's own test of it (integration/rdb "Test child sending
info")."""
from __future__ import annotations

import sys
from typing import Any, Dict

import pytest

from tests.harness import on_both_kinds
from tests.test_replication_replica import call, info, wait_until
from tests.test_replication_sync_child import _Master

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="copy-on-write sizes come from /proc/self/smaps")

_CURRENT = ("current_cow_peak", "current_cow_size", "current_cow_size_age",
            "current_save_keys_processed", "current_save_keys_total")


def _figures(port: int) -> Dict[str, float]:
    fields = info(port, "persistence")
    return {name: float(value) for name, value in fields.items()
            if "cow" in name or name.startswith("current_")}


def _idle(figures: Dict[str, float]) -> bool:
    return all(figures[name] == 0 for name in _CURRENT + ("current_fork_perc",))


def test_a_bgsave_reports_its_progress_and_copy_on_write(tmp_path):
    def scenario(kind: str, directory: Any) -> Any:
        server = _Master(kind, str(directory))
        port = server.port
        try:
            fresh = _figures(port)
            out = [_idle(fresh), fresh["rdb_last_cow_size"], fresh["aof_last_cow_size"]]
            call(port, "DEBUG", "POPULATE", "2000", "key", "500")
            call(port, "CONFIG", "SET", "rdb-key-save-delay", "1000")   # ~2 s of saving
            call(port, "BGSAVE")
            first = wait_until(lambda: (lambda f: f if f["current_save_keys_processed"]
                                        else None)(_figures(port)), 5, "a first report")
            processed, total = first["current_save_keys_processed"], \
                first["current_save_keys_total"]
            out += [total, 0 < processed <= total,
                    abs(first["current_fork_perc"] - processed * 100 / total) < 0.01,
                    first["current_cow_peak"] >= first["current_cow_size"] > 0,
                    first["current_cow_size_age"] >= 0]
            # About a second later (1024 keys on), the next report.
            later = wait_until(lambda: (lambda f: f if f["current_save_keys_processed"]
                                        > processed else None)(_figures(port)),
                               5, "a second report")
            out.append(later["current_save_keys_processed"] <= total)
            wait_until(lambda: server.saving() == "0", 10, "the save")
            done = _figures(port)
            out += [_idle(done), done["rdb_last_cow_size"] > 0,
                    "Fork CoW for RDB: current" in server.log()]
            call(port, "CONFIG", "SET", "rdb-key-save-delay", "0")
            call(port, "BGREWRITEAOF")
            wait_until(lambda: info(port, "persistence")["aof_rewrite_in_progress"]
                       == "0", 10, "the rewrite")
            wait_until(lambda: "Background AOF rewrite finished" in server.log()
                       or "Background AOF rewrite terminated" in server.log(), 10,
                       "the rewrite's end")
            rewritten = _figures(port)
            log = server.log()
            out += [rewritten["aof_last_cow_size"] > 0,
                    "Fork CoW for AOF rewrite: current" in log,
                    "Successfully created the temporary AOF base file temp-rewriteaof-bg-"
                    in log]
            call(port, "CONFIG", "RESETSTAT")
            reset = _figures(port)
            out += [reset["rdb_last_cow_size"] == done["rdb_last_cow_size"],
                    reset["aof_last_cow_size"] == rewritten["aof_last_cow_size"],
                    _idle(reset)]
            return out
        finally:
            server.stop()
    assert on_both_kinds(tmp_path, scenario) == [
        True, 0, 0, 2000, True, True, True, True, True, True, True, True, True, True,
        True, True, True, True]


def test_config_set_loglevel_applies_at_once(tmp_path):
    """CONFIG SET loglevel: the next lines are filtered by the new level (miniredis
    kept the level it started with)."""
    def scenario(kind: str, directory: Any) -> Any:
        server = _Master(kind, str(directory))
        port = server.port
        try:
            call(port, "CONFIG", "SET", "loglevel", "warning")
            call(port, "BGSAVE")
            wait_until(lambda: server.saving() == "0", 10, "the first save")
            quiet = "Background saving started" not in server.log()
            call(port, "CONFIG", "SET", "loglevel", "notice")
            call(port, "BGSAVE")
            wait_until(lambda: "Background saving terminated" in server.log(), 10,
                       "the second save")
            return quiet, server.log().count("Background saving started")
        finally:
            server.stop()
    assert on_both_kinds(tmp_path, scenario) == (True, 1)
