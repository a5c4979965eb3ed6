"""Scripting: the Lua 5.1 runtime scripts run in, shaped like Redis 7.0's.

``lua.py`` builds the runtime; ``replies.py`` converts replies between RESP and Lua
(each crossing once, however nested); ``sandbox.py`` is the Lua prelude that seals it (read-only globals, the ``redis`` library, error
conversion, no bytecode); ``lualibs.py`` and ``luapack.py`` are the libraries Redis
links in (cjson, bit, cmsgpack, struct). The commands are in
:mod:`miniredis.commands.scripting`.
"""
from __future__ import annotations

from typing import Any


def script_running(state: Any) -> bool:
    """Is a script (EVAL's or a function, FCALL's) running its redis.call now?

    EVAL scripts and functions have a runner each (``state.scripting``,
    ``state.functions``, both made on first use); a command a script runs sees
    the one that is running."""
    for name in ("scripting", "functions"):
        runner = getattr(state, name, None)
        if runner is not None and runner.running is not None:
            return True
    return False
