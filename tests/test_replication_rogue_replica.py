"""A replica's link that sends commands producing replies (a rogue or broken replica),
against redis-server: the master logs it and drops the link, keyspace commands are
refused first ("Replica can't interact with the keyspace", logged as an error sent
to a replica), and PSYNC with an offset that is not a number is logged."""
from __future__ import annotations

import time
from typing import Any, List

import pytest

from tests.harness import RawConnection
from tests.test_replication_replica import call
from tests.test_replication_sync_child import _Master


def _outcome(kind: str, directory: Any, sync: List[str], command: List[str]) -> Any:
    master = _Master(kind, str(directory))
    try:
        conn = RawConnection(master.port)
        conn.send(*sync)
        first = conn.read_raw() if sync[0] == "PSYNC" else b""
        conn.send(*command)
        closed = conn.closed_by_peer(5)
        time.sleep(0.2)
        log = master.log()
        lines = [line.split(" ", 6)[-1].split(", disconnecting it:")[0]
                 for line in log.splitlines()
                 if "Replica generated a reply" in line or "== CRITICAL ==" in line]
        return first.split(b" ")[-1].strip() if first else b"", closed, lines
    finally:
        master.stop()


@pytest.mark.parametrize("sync, command", [
    (["SYNC"], ["PING"]),
    (["SYNC"], ["XINFO", "HELP"]),
    (["PSYNC", "replicationid", "-1"], ["GET", "foo"]),
    (["PSYNC", "replicationid", "-1"], ["SLOWLOG", "GET"]),
])
def test_a_replica_that_gets_a_reply_is_dropped(tmp_path, sync, command):
    outcomes = []
    for kind in ("redis", "miniredis"):
        directory = tmp_path / kind
        directory.mkdir()
        outcomes.append(_outcome(kind, directory, sync, command))
    assert outcomes[0] == outcomes[1]
    offset, closed, lines = outcomes[1]
    assert closed and lines
    if sync[0] == "PSYNC":
        assert offset == b"0"


def test_psync_with_a_wrong_offset_is_logged(tmp_path):
    outcomes = []
    for kind in ("redis", "miniredis"):
        directory = tmp_path / kind
        directory.mkdir()
        master = _Master(kind, str(directory))
        try:
            reply = call(master.port, "PSYNC", "replicationid", "offset_str")
            time.sleep(0.1)
            outcomes.append((reply, "asks for synchronization but with a wrong offset"
                             in master.log(), call(master.port, "PING")))
        finally:
            master.stop()
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][1] is True
