"""A miniredis replica facing a hostile or broken master: garbage replies, a link
closed in the middle of the RDB, truncated or corrupt RDB payloads, garbage in the
command stream, a master that never answers. The replica logs, retries, keeps
serving its clients and its listening socket, and never crashes."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, List

import pytest

from miniredis import Server
from tests.harness import RedisProcess, redis_server_or_skip
from tests.test_replication_replica import call, info, wait_until


class FakeMaster:
    """A listening socket whose connections are handed to ``script(conn, number)``."""

    def __init__(self, script: Callable[["Peer", int], None]) -> None:
        self.script = script
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.psyncs: List[List[bytes]] = []
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.closed:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            peer = Peer(sock, self)
            try:
                self.script(peer, self.connections)
            except (OSError, ValueError):
                pass
            finally:
                sock.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


class Peer:
    """One replica connection as the fake master sees it."""

    def __init__(self, sock: socket.socket, master: FakeMaster) -> None:
        self.sock = sock
        self.master = master
        self.sock.settimeout(10)
        self.file = sock.makefile("rb")

    def command(self) -> List[bytes]:
        line = self.file.readline()
        if not line.startswith(b"*"):
            raise ValueError("not a multibulk: %r" % line)
        args = []
        for _ in range(int(line[1:])):
            size = int(self.file.readline()[1:])
            args.append(self.file.read(size + 2)[:-2])
        return args

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def handshake(self) -> List[bytes]:
        """Answer PING and the REPLCONFs; return the PSYNC command."""
        assert self.command()[0].upper() == b"PING"
        self.send(b"+PONG\r\n")
        while True:
            args = self.command()
            if args[0].upper() == b"PSYNC":
                self.master.psyncs.append(args)
                return args
            self.send(b"+OK\r\n")


REPLID = b"a" * 40


@pytest.fixture
def replica(tmp_path):
    server = Server(port=0, dir=str(tmp_path), repl_timeout=2)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def valid_rdb() -> bytes:
    """A real redis-server's dump.rdb holding k=v (and a function library)."""
    proc = RedisProcess(redis_server_or_skip())
    try:
        call(proc.port, "SET", "k", "v")
        call(proc.port, "SAVE")
        with open("%s/dump.rdb" % proc.dir, "rb") as handle:
            return handle.read()
    finally:
        proc.stop()


def _healthy(server: Server) -> None:
    """The replica still serves clients (on its listening socket) and is a replica."""
    assert call(server.port, "PING") == b"PONG"
    role = call(server.port, "ROLE")
    assert role[0] == b"slave"
    assert role[3] in (b"connect", b"connecting", b"handshake", b"sync", b"connected")


def _retries(server: Server, master: FakeMaster, count: int = 3) -> None:
    call(server.port, "REPLICAOF", "127.0.0.1", master.port)
    wait_until(lambda: master.connections >= count, 15, "%d connections" % count)
    _healthy(server)
    assert call(server.port, "SET", "x", "1").startswith(b"READONLY")   # not hung


def test_garbage_reply_to_ping(replica):
    master = FakeMaster(lambda peer, n: (peer.command(), peer.send(b"hello there\r\n"),
                                         time.sleep(0.2)))
    try:
        _retries(replica, master)
        assert info(replica.port)["master_link_status"] == "down"
    finally:
        master.close()


def test_garbage_reply_to_psync(replica):
    def script(peer: Peer, n: int) -> None:
        peer.handshake()
        peer.send(b"*3\r\n$1\r\nx\r\n" + b"\xff" * 100 + b"\r\n")
        time.sleep(0.3)
    master = FakeMaster(script)
    try:
        _retries(replica, master)
    finally:
        master.close()


def test_no_master_link_reply_is_retried(replica):
    def script(peer: Peer, n: int) -> None:
        peer.handshake()
        peer.send(b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n")
        time.sleep(0.3)
    master = FakeMaster(script)
    try:
        _retries(replica, master)
    finally:
        master.close()


@pytest.mark.parametrize("form", ["length", "eof"])
def test_link_closed_in_the_middle_of_the_rdb(replica, valid_rdb, form):
    def script(peer: Peer, n: int) -> None:
        peer.handshake()
        peer.send(b"+FULLRESYNC %s 0\r\n" % REPLID)
        peer.send(b"\n\n")          # keep-alive newlines first
        if form == "length":
            peer.send(b"$%d\r\n" % len(valid_rdb) + valid_rdb[:len(valid_rdb) // 2])
        else:
            peer.send(b"$EOF:" + b"m" * 40 + b"\r\n" + valid_rdb[:len(valid_rdb) // 2])
        time.sleep(0.2)
    master = FakeMaster(script)
    try:
        _retries(replica, master)
        assert call(replica.port, "GET", "k") is None    # never half-loaded
    finally:
        master.close()


@pytest.mark.parametrize("damage", ["garbage", "checksum", "truncated", "trailing"])
def test_corrupt_rdb_leaves_an_empty_replica_and_retries(replica, valid_rdb, damage):
    if damage == "garbage":
        payload = b"REDIS0010" + b"\xfe\x00\x00\x03bad" + b"\x99" * 50
    elif damage == "checksum":
        payload = valid_rdb[:-8] + b"\x01" * 8
    elif damage == "truncated":
        payload = valid_rdb[:-20]
    else:
        payload = valid_rdb + b"extra bytes"

    def script(peer: Peer, n: int) -> None:
        peer.handshake()
        peer.send(b"+FULLRESYNC %s 0\r\n" % REPLID)
        peer.send(b"$%d\r\n" % len(payload) + payload)
        time.sleep(0.5)
    master = FakeMaster(script)
    call(replica.port, "SET", "old", "data")     # the dataset it had as a master
    try:
        _retries(replica, master)
        assert call(replica.port, "DBSIZE") == 0     # flushed, nothing half-loaded
    finally:
        master.close()


def test_garbage_in_the_stream_drops_the_link_and_forgets_the_offset(replica, valid_rdb):
    def script(peer: Peer, n: int) -> None:
        peer.handshake()
        peer.send(b"+FULLRESYNC %s 100\r\n" % REPLID)
        peer.send(b"$EOF:" + b"m" * 40 + b"\r\n" + valid_rdb + b"m" * 40)
        peer.command()      # the first REPLCONF ACK
        peer.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv2\r\n")
        peer.send(b"+this is not a command\r\n")
        time.sleep(0.5)
    master = FakeMaster(script)
    try:
        _retries(replica, master, 2)
        wait_until(lambda: len(master.psyncs) >= 2, 10, "the second PSYNC")
        # a protocol error is no cached master: the next PSYNC asks for a full sync
        assert master.psyncs[1][1:] == [b"?", b"-1"]
        assert master.psyncs[0][1] != b"?"      # (was a master: its own ID)
    finally:
        master.close()


def test_stream_offsets_and_getack(replica, valid_rdb):
    """A scripted master: offsets count every byte (PING included), GETACK is answered
    with the offset before it, and a dropped link resumes with PSYNC <id> <off+1>."""
    acks: List[List[bytes]] = []
    stream = (b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
              b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
              b"*1\r\n$4\r\nPING\r\n")
    getack = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
    set_b = b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"

    def script(peer: Peer, n: int) -> None:
        psync = peer.handshake()
        if n == 1:
            peer.send(b"+FULLRESYNC %s 1000\r\n" % REPLID)
            peer.send(b"$%d\r\n" % len(valid_rdb) + valid_rdb)
            acks.append(peer.command())
            peer.send(stream)
            peer.send(getack)
            acks.append(peer.command())
            return      # close: the replica reconnects
        assert psync[1:] == [REPLID, b"%d" % (1000 + len(stream) + len(getack) + 1)]
        peer.send(b"+CONTINUE\r\n")
        peer.send(set_b)
        acks.append(peer.command())
        time.sleep(5)

    master = FakeMaster(script)
    try:
        call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
        wait_until(lambda: len(acks) >= 3, 15, "three ACKs")
        assert acks[0] == [b"REPLCONF", b"ACK", b"1000"]
        assert acks[1] == [b"REPLCONF", b"ACK", b"%d" % (1000 + len(stream))]
        wait_until(lambda: _get(replica.port, 3, "b") == b"2", 5, "the continued stream")
        assert _get(replica.port, 3, "a") == b"1"
        fields = info(replica.port)
        assert fields["master_replid"] == REPLID.decode()
        assert int(fields["master_repl_offset"]) == \
            1000 + len(stream) + len(getack) + len(set_b)
    finally:
        master.close()


def _get(port: int, db: int, key: str) -> Any:
    from tests.harness import RawConnection
    from tests.test_replication_replica import decode
    conn = RawConnection(port)
    try:
        conn.call("SELECT", db)
        return decode(conn.call("GET", key))
    finally:
        conn.close()


def test_silent_master_times_out(replica):
    def script(peer: Peer, n: int) -> None:
        peer.handshake()
        time.sleep(4)       # never answers PSYNC (repl-timeout is 2)
    master = FakeMaster(script)
    try:
        call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
        wait_until(lambda: master.connections >= 2, 15, "a retry after the timeout")
        _healthy(replica)
    finally:
        master.close()


def test_link_lost_inside_a_transaction_resumes_at_its_multi(replica, valid_rdb):
    """The applied offset does not move inside MULTI (Redis's commandProcessed): a link
    lost before EXEC asks for the stream again from the MULTI, and the transaction is
    applied once, whole."""
    acks: List[List[bytes]] = []
    multi = b"*1\r\n$5\r\nMULTI\r\n"
    set_t = b"*3\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\n1\r\n"
    incr = b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    exec_ = b"*1\r\n$4\r\nEXEC\r\n"
    getack = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"

    def script(peer: Peer, n: int) -> None:
        psync = peer.handshake()
        if n == 1:
            peer.send(b"+FULLRESYNC %s 500\r\n" % REPLID)
            peer.send(b"$%d\r\n" % len(valid_rdb) + valid_rdb)
            acks.append(peer.command())
            peer.send(incr + multi)
            time.sleep(0.2)             # the transaction arrives in two reads
            peer.send(set_t + incr)
            time.sleep(0.2)
            peer.send(getack)
            acks.append(peer.command())
            return      # lost before EXEC
        assert psync[1:] == [REPLID, b"%d" % (500 + len(incr) + 1)]
        peer.send(b"+CONTINUE\r\n")
        acks.append(peer.command())     # the ACK on attaching
        peer.send(multi + set_t + incr + exec_ + getack)
        acks.append(peer.command())
        time.sleep(5)

    master = FakeMaster(script)
    try:
        call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
        wait_until(lambda: len(acks) >= 4, 15, "four ACKs")
        assert acks[1] == acks[2] == [b"REPLCONF", b"ACK", b"%d" % (500 + len(incr))]
        assert acks[3] == [b"REPLCONF", b"ACK",
                           b"%d" % (500 + 2 * len(incr) + len(multi) + len(set_t)
                                    + len(exec_))]
        assert call(replica.port, "MGET", "t", "n") == [b"1", b"2"]
    finally:
        master.close()
