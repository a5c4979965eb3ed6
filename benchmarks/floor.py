"""The floor: the leanest server issue 17's rules allow, to bound what any can reach.

Issue 17 asks for ratios to redis-server that a Python server may or may not be able
to reach on a given machine. This server is the least one can do under the same
rules -- one gevent hub, a libev watcher per client socket (no greenlet per
connection), hiredis parsing, one write per read -- and nothing more: no checks, no
bookkeeping, no errors worth the name, a handful of commands over plain dicts. Run it
side by side with redis-server and miniredis (``server_cpu.py --floor``): what
separates miniredis from it is miniredis's own work (fidelity, safety, statistics),
and what separates it from redis-server is what no pure-Python server on gevent can
win back. Never a product: it trusts its input and knows nine commands.

    python benchmarks/floor.py PORT
"""
from __future__ import annotations

import os
import socket
import sys
from collections import deque
from itertools import islice
from typing import Any, Callable, Dict, List

import hiredis
from gevent import get_hub

_HEADS = [b"$%d\r\n" % n for n in range(1024)]


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _lrange(lists: Dict[bytes, Any], args: List[bytes]) -> bytes:
    values = lists.get(args[1], ())
    start, stop = int(args[2]), int(args[3])
    if start < 0:
        start = max(start + len(values), 0)
    stop = stop + len(values) if stop < 0 else min(stop, len(values) - 1)
    items = list(islice(values, start, stop + 1)) if start <= stop else []
    parts = [b"\r\n"] * (3 * len(items))
    parts[0::3] = [_HEADS[len(item)] for item in items]
    parts[1::3] = items
    return b"*%d\r\n" % len(items) + b"".join(parts)


def serve(port: int) -> None:
    """Serve on 127.0.0.1:``port`` until killed."""
    strings: Dict[bytes, bytes] = {}
    hashes: Dict[bytes, Dict[bytes, bytes]] = {}
    lists: Dict[bytes, deque] = {}

    def incr(args: List[bytes]) -> bytes:
        value = int(strings.get(args[1], b"0")) + 1
        strings[args[1]] = b"%d" % value
        return b":%d\r\n" % value

    def hset(args: List[bytes]) -> bytes:
        table = hashes.setdefault(args[1], {})
        added = args[2] not in table
        table[args[2]] = args[3]
        return b":1\r\n" if added else b":0\r\n"

    def lpush(args: List[bytes]) -> bytes:
        items = lists.setdefault(args[1], deque())
        items.extendleft(args[2:])
        return b":%d\r\n" % len(items)

    def rpop(args: List[bytes]) -> bytes:
        items = lists.get(args[1])
        return _bulk(items.pop()) if items else b"$-1\r\n"

    def mset(args: List[bytes]) -> bytes:
        strings.update(zip(args[1::2], args[2::2]))
        return b"+OK\r\n"

    others: Dict[bytes, Callable[[List[bytes]], bytes]] = {
        b"INCR": incr, b"HSET": hset, b"LPUSH": lpush, b"RPOP": rpop, b"MSET": mset,
        b"LRANGE": lambda args: _lrange(lists, args),
        b"SADD": lambda args: b":0\r\n", b"ZADD": lambda args: b":0\r\n",
    }
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(511)
    listener.setblocking(False)
    loop = get_hub().loop
    alive: Dict[int, Any] = {}

    def on_accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            fd = conn.fileno()
            reader = hiredis.Reader()
            watcher = loop.io(fd, 1)

            def on_read(fd: int = fd, reader: Any = reader, watcher: Any = watcher,
                        conn: socket.socket = conn) -> None:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    return
                if not data:
                    watcher.stop()
                    conn.close()
                    alive.pop(fd, None)
                    return
                reader.feed(data)
                out: List[bytes] = []
                append = out.append
                gets = reader.gets
                request = gets()
                while request is not False:
                    name = request[0]
                    if name == b"PING":
                        append(b"+PONG\r\n")
                    elif name == b"GET":
                        value = strings.get(request[1])
                        append(b"$-1\r\n" if value is None else _bulk(value))
                    elif name == b"SET":
                        strings[request[1]] = request[2]
                        append(b"+OK\r\n")
                    else:
                        handler = others.get(name)
                        append(handler(request) if handler else b"-ERR unknown\r\n")
                    request = gets()
                reply = b"".join(out)
                try:
                    sent = os.write(fd, reply)
                except BlockingIOError:
                    sent = 0
                if sent < len(reply):   # (rare: the socket is full; wait for it)
                    conn.setblocking(True)
                    conn.sendall(reply[sent:])
                    conn.setblocking(False)

            watcher.start(on_read)
            alive[fd] = (conn, watcher)

    accept = loop.io(listener.fileno(), 1)
    accept.start(on_accept)
    get_hub().join()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
