"""Scripting: the Lua 5.1 runtime scripts run in, shaped like Redis 7.0's.

``lua.py`` builds the runtime and converts values between RESP and Lua; ``sandbox.py``
is the Lua prelude that seals it (read-only globals, the ``redis`` library, error
conversion, no bytecode); ``lualibs.py`` and ``luapack.py`` are the libraries Redis
links in (cjson, bit, cmsgpack, struct). The commands are in
:mod:`miniredis.commands.scripting`.
"""
