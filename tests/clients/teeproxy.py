"""A tee proxy: a library talks to redis-server through it while every request is also
run on miniredis, and the two raw replies are compared.

Both servers receive the very same bytes in the same order, so their states stay
equal even though the library's requests carry random job IDs and timestamps; any
reply that differs (beyond the few that are legitimately server-specific, see
:data:`UNCOMPARED`) is recorded in :attr:`TeeProxy.mismatches`. The library only ever
sees redis-server's replies, so it behaves as it would against Redis.

A connection that subscribes (pub/sub) stops being compared: from then on it is
relayed to redis-server only, byte for byte in both directions.
"""
from __future__ import annotations

import re
import socket
import threading
from typing import List, Optional, Tuple

import hiredis

from tests.harness import RawConnection, encode_command, parse_raw

# Replies that depend on the server rather than on the data: connection IDs, clocks,
# statistics, versions, random draws, and the 7.2 commands redis-py tries on connect.
UNCOMPARED = {b"hello", b"client", b"info", b"time", b"ttl", b"pttl", b"expiretime",
              b"pexpiretime", b"randomkey", b"srandmember", b"spop", b"hrandfield",
              b"zrandmember", b"object", b"memory", b"debug", b"slowlog", b"config"}
SUBSCRIBING = {b"subscribe", b"psubscribe", b"ssubscribe", b"monitor"}
# Replies whose order Redis leaves unspecified (hash-table iteration): compared sorted.
UNORDERED = {b"keys", b"scan", b"sscan", b"hscan", b"smembers", b"hgetall", b"hkeys",
             b"hvals", b"sunion", b"sinter", b"sdiff"}
# Stream IDs made by ``XADD *`` come from each server's clock: compared as placeholders.
_STREAM_ID = re.compile(rb"\b\d{13}-\d+\b")


def _sorted_deep(value: object) -> object:
    kind, items = value  # type: ignore[misc]
    if isinstance(items, tuple):
        return kind, tuple(sorted((_sorted_deep(item) for item in items), key=repr))
    return value


def _same(reply: bytes, other: bytes, unordered: bool) -> bool:
    if reply == other:
        return True
    reply, other = _STREAM_ID.sub(b"<id>", reply), _STREAM_ID.sub(b"<id>", other)
    if unordered:
        return _sorted_deep(parse_raw(reply)) == _sorted_deep(parse_raw(other))
    return reply == other


class TeeProxy:
    """Listens on a free local port; ``mismatches`` collects (command, redis reply,
    miniredis reply) for every difference seen."""

    def __init__(self, real_port: int, mini_port: int) -> None:
        self.real_port = real_port
        self.mini_port = mini_port
        self.mismatches: List[Tuple[List[bytes], bytes, bytes]] = []
        self.compared = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        real = RawConnection(self.real_port, timeout=None)
        mini: Optional[RawConnection] = RawConnection(self.mini_port, timeout=None)
        reader = hiredis.Reader()
        queued: Optional[List[bytes]] = None      # names of the commands in a MULTI
        try:
            while True:
                data = sock.recv(1 << 16)
                if not data:
                    return
                reader.feed(data)
                while True:
                    request = reader.gets()
                    if request is False:
                        break
                    name = request[0].lower()
                    names = [name]
                    if name == b"multi":
                        queued = []
                    elif name in (b"exec", b"discard") and queued is not None:
                        names, queued = queued, None
                    elif queued is not None:
                        queued.append(name)
                    raw = encode_command(request)
                    real.send_raw(raw)
                    reply = real.read_raw()
                    mini.send_raw(raw)
                    other = mini.read_raw()
                    with self._lock:
                        self.compared += 1
                        if (UNCOMPARED.isdisjoint(names) and
                                not _same(reply, other, not UNORDERED.isdisjoint(names))):
                            self.mismatches.append((request, reply, other))
                    sock.sendall(reply)
                    if name in SUBSCRIBING:
                        mini.close()
                        mini = None
                        self._relay(sock, real, reader)
                        return
        except (OSError, ConnectionError):
            return
        finally:
            sock.close()
            real.close()
            if mini is not None:
                mini.close()

    def _relay(self, sock: socket.socket, real: RawConnection,
               reader: "hiredis.Reader") -> None:
        """Pub/sub: relay raw bytes both ways between the client and redis-server."""
        def upstream() -> None:
            try:
                while True:
                    data = real.sock.recv(1 << 16)
                    if not data:
                        break
                    sock.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        if real.buf:
            sock.sendall(real.buf)
            real.buf = b""
        while True:                     # requests pipelined behind the SUBSCRIBE
            request = reader.gets()
            if request is False:
                break
            real.sock.sendall(encode_command(request))
        threading.Thread(target=upstream, daemon=True).start()
        while True:
            data = sock.recv(1 << 16)
            if not data:
                return
            real.sock.sendall(data)
