"""MONITOR: every executed command, as Redis's replicationFeedMonitors writes it.

A line is ``+<seconds>.<micros> [<db> <peer>] "arg" "arg"...`` with each argument
quoted as sdscatrepr does; commands run by a script show ``[<db> lua]``. Admin and
``skip_monitor`` commands are never shown (EVAL & co. feed themselves before the
script runs, so its commands follow it), and passwords appear as "(redacted)".

Idle cost is nil: while no monitor exists nothing here runs. While one does, every
client is on the dispatcher's slow path (``ServerState.gate_all``) and the dispatcher
calls :func:`feed` after each command of a gated client.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, List

from .security.acl import redact_arguments

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

# sdscatrepr: backslash escapes for these, printable ASCII as is, \xHH otherwise.
_REPR = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
         ord("\t"): b"\\t", 7: b"\\a", 8: b"\\b"}
_TABLE = [_REPR.get(i, bytes([i]) if 32 <= i < 127 else b"\\x%02x" % i) for i in range(256)]
_PLAIN = frozenset(range(32, 127)) - {ord("\\"), ord('"')}


def quote(arg: bytes) -> bytes:
    """``arg`` between double quotes, escaped as Redis's sdscatrepr."""
    if all(c in _PLAIN for c in arg):
        return b'"%s"' % arg
    table = _TABLE
    return b'"%s"' % b"".join([table[c] for c in arg])


def shown(cmd: Any) -> bool:
    """Whether monitors see ``cmd`` when it runs (admin and skip_monitor ones: never)."""
    flags = cmd.flags
    return "admin" not in flags and "skip_monitor" not in flags


def feed(state: "ServerState", client: Any, args: List[bytes], lua: bool = False) -> None:
    """Send one command line to every monitor."""
    monitors = state.monitors
    if not monitors:
        return
    now = time.time()
    seconds = int(now)
    if lua:
        origin = b"lua"
    elif client.unix:
        origin = b"unix:%s" % (state.unixsocket or "").encode()
    else:
        origin = client.addr.encode()
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        seconds, int((now - seconds) * 1_000_000), client.db.id, origin,
        b" ".join([quote(arg) for arg in redact_arguments(args, state.names, state.acl)]))
    loop = state.loop
    for monitor in list(monitors.values()):
        if monitor is client and loop is not None and not lua:
            # Redis adds the command's own reply first: a monitor sees its own
            # commands after their replies.
            loop.run_callback(monitor.push, line)
        else:
            monitor.push(line)
