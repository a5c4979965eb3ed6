"""MIGRATE's cached connections, as Redis's migrateGetSocket and friends (cluster.c).

MIGRATE keeps its connection to a target open, keyed by the host and port as the
command spelled them, and reuses it for the next MIGRATE there: that saves the connect
and, while the target database stays the same, the SELECT. INFO reports the count
(``migrate_cached_sockets``). A connection unused for more than 10 seconds is closed by
the cron; a socket error closes it at once (the next MIGRATE connects again); at most
64 are kept, a random one making room for a new one.
"""
from __future__ import annotations

import random
import socket
import time
from typing import Dict, Optional

CACHE_ITEMS = 64            # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10              # MIGRATE_SOCKET_CACHE_TTL: seconds unused before closing


class LineReader:
    """Reads the target's one-line replies (syncReadLine: at most 1 KB kept); what it
    read past a line stays for the next call, the connection outliving one MIGRATE."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def line(self) -> bytes:
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise OSError("connection closed")
            self.buf += data
            if len(self.buf) > (1 << 20) and b"\n" not in self.buf:
                raise OSError("reply line too long")
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")[:1023]


class CachedSocket:
    """One target's connection: the socket, its reader, the database the last
    successful MIGRATE selected there (-1: SELECT next time), when it was used, and
    whether a socket error was met after the target's own error (then it is closed)."""

    __slots__ = ("sock", "reader", "last_dbid", "last_use", "broken")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = LineReader(sock)
        self.last_dbid = -1
        self.last_use = int(time.time())
        self.broken = False


class MigrateSockets:
    """The cache: ``host:port`` (as MIGRATE's arguments spell them) -> CachedSocket."""

    def __init__(self) -> None:
        self._sockets: Dict[bytes, CachedSocket] = {}

    def __len__(self) -> int:
        return len(self._sockets)

    def get(self, name: bytes) -> Optional[CachedSocket]:
        """The cached connection to ``name``, marked as used now, or None."""
        cached = self._sockets.get(name)
        if cached is not None:
            cached.last_use = int(time.time())
        return cached

    def add(self, name: bytes, sock: socket.socket) -> CachedSocket:
        """Cache a new connection to ``name``, dropping a random one when full."""
        if len(self._sockets) >= CACHE_ITEMS:
            self.close(random.choice(list(self._sockets)))
        cached = self._sockets[name] = CachedSocket(sock)
        return cached

    def close(self, name: bytes) -> None:
        """Forget and close ``name``'s connection, if there is one."""
        cached = self._sockets.pop(name, None)
        if cached is not None:
            cached.sock.close()

    def close_idle(self) -> None:
        """The cron's part: close connections unused for more than CACHE_TTL seconds."""
        if self._sockets:
            now = int(time.time())
            for name in [name for name, cached in self._sockets.items()
                         if now - cached.last_use > CACHE_TTL]:
                self.close(name)

    def close_all(self) -> None:
        for name in list(self._sockets):
            self.close(name)
