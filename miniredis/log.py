"""Redis-style log lines (``pid:M 23 Nov 2026 10:00:00.123 * message``).

The letter after the pid is the role of the process that wrote the line, as in
Redis's serverLogRaw: M for a master, S for a replica, C for a forked child (a
background save or rewrite writing its file)."""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Optional, TextIO

LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3, "nothing": 4}
_MARKS = {"debug": ".", "verbose": "-", "notice": "*", "warning": "#"}


class Logger:
    """Writes to the configured logfile, or to standard output when it is empty (as
    Redis's ``logfile ""`` does), filtered by loglevel."""

    def __init__(self, level: str = "notice", path: str = "", quiet: bool = False) -> None:
        self.level = level
        self.quiet = quiet
        # Whether the server is a replica now (set by the server; None: a master).
        self.is_replica: Optional[Callable[[], bool]] = None
        self._pid = os.getpid()     # a line from another pid is a forked child's
        self.as_child = False       # lines before the server exists (role C, as Redis)
        self._stream: Optional[TextIO] = None
        if path:
            self._stream = open(path, "a", encoding="utf-8")

    def __call__(self, level: str, message: str) -> None:
        if self.quiet or LEVELS.get(level, 2) < LEVELS.get(self.level, 2):
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        pid = os.getpid()
        if pid != self._pid or self.as_child:
            role = "C"
        else:
            role = "S" if self.is_replica is not None and self.is_replica() else "M"
        line = "%d:%s %s.%03d %s %s\n" % (pid, role, stamp, int(now * 1000) % 1000,
                                          _MARKS.get(level, "*"), message)
        self.raw(level, line)

    def raw(self, level: str, text: str) -> None:
        """``text`` as it is, without the line's prefix (Redis's LL_RAW)."""
        if self.quiet or LEVELS.get(level, 2) < LEVELS.get(self.level, 2):
            return
        stream = self._stream or sys.stdout
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass

    def descriptors(self) -> tuple:
        """The logfile's descriptor, for a forked child that logs (empty: stdout)."""
        return (self._stream.fileno(),) if self._stream is not None else ()

    def stream(self) -> TextIO:
        """Where the lines go (the logfile, or standard output)."""
        return self._stream or sys.stdout

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def configured_logger(config: Any, quiet: bool = False) -> Logger:
    """The logger ``config`` asks for. A relative logfile is under ``dir``, where Redis
    (which chdirs there at start-up) writes it."""
    path = config["logfile"]
    return Logger(config["loglevel"], os.path.join(config["dir"], path) if path else "",
                  quiet=quiet)
