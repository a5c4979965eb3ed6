"""The process title: what ``ps`` and ``/proc/PID/cmdline`` show for a server run
from the command line, as redis-server sets its own (set-proc-title,
proc-title-template).

Redis expands the template (``{title} {listen-addr} {server-mode}`` by default:
``redis-server *:6379``) when it starts listening, when CONFIG SET changes the port or
the addresses, and when CONFIG SET changes the template; a forked child shows what it
does instead of the program (``redis-rdb-bgsave``, ``redis-aof-rewrite``,
``redis-rdb-to-slaves``). Only a server that owns its process retitles it: an
embedded one (the pytest plugin, the embedding API) leaves its host's title alone.
The title is written by the ``setproctitle`` library (argv's memory, as Redis's own
setproctitle.c); without it the server runs untitled.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, Optional

try:
    from setproctitle import setproctitle as _setproctitle
except ImportError:  # pragma: no cover - an install without the library: no titles
    _setproctitle = None

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

TEMPLATE_ERROR = "template format is invalid or contains unknown variables"


def expand(template: str, value_of: Callable[[str], Optional[str]]) -> Optional[str]:
    """Redis's sdstemplate followed by the trim of spaces: each ``{name}`` replaced by
    ``value_of(name)``, ``{{`` by a brace; None for an unknown name, a ``{`` at the
    end or one never closed."""
    out, i = [], 0
    while i < len(template):
        start = template.find("{", i)
        if start < 0:
            out.append(template[i:])
            break
        out.append(template[i:start])
        if start + 1 >= len(template):
            return None
        if template[start + 1] == "{":
            out.append("{")
            i = start + 2
            continue
        end = template.find("}", start + 1)
        if end < 0:
            return None
        value = value_of(template[start + 1:end])
        if value is None:
            return None
        out.append(value)
        i = end + 1
    return "".join(out).strip(" ")


def program() -> str:
    """The program as it was executed (Redis's exec_argv[0]): the script's path, or,
    run as ``python -m miniredis``, the name the interpreter was started under (a
    wrapper's own path when it runs ``exec -a "$0"``)."""
    name = sys.argv[0] if sys.argv else ""
    if not name or os.path.basename(name) == "__main__.py":
        name = getattr(sys, "orig_argv", [name])[0]
    return name


# The variables with stand-ins good enough to tell an empty title (the check of a
# template: validateProcTitleTemplate expands it with an empty {title}).
_STAND_INS = {"title": "", "listen-addr": "*:0", "server-mode": "", "config-file": "-",
              "port": "0", "tls-port": "0", "unixsocket": ""}


def valid(template: str) -> bool:
    """Whether CONFIG SET accepts ``template``: it expands, and not to blanks."""
    return bool(expand(template, _STAND_INS.get))


def _variables(state: "ServerState", title: str) -> Callable[[str], Optional[str]]:
    config = state.config

    def value_of(name: str) -> Optional[str]:
        port = state.tcp_port or config["port"]
        if name == "title":
            return title
        if name == "listen-addr":
            if port or config["tls-port"]:
                bind = config["bind"].split()
                return "%s:%d" % (bind[0] if bind else "*", port or config["tls-port"])
            return "unixsocket:%s" % config["unixsocket"]
        if name == "server-mode":
            return ""
        if name == "config-file":
            return config.file or "-"
        if name == "port":
            return str(port)
        if name == "tls-port":
            return str(config["tls-port"])
        if name == "unixsocket":
            return config["unixsocket"]
        return None
    return value_of


def retitle(state: "ServerState", title: Optional[str] = None) -> bool:
    """Set the process's title from proc-title-template (``title``: ``{title}``, the
    program by default); False if the template does not expand. Nothing for a
    server that does not own its process, or without the library."""
    if not state.retitles or _setproctitle is None:
        return True
    text = expand(state.config["proc-title-template"],
                  _variables(state, program() if title is None else title))
    if text is None:
        return False
    # (bytes that are not UTF-8 cannot reach the library, which takes text: each
    # shows as U+FFFD where Redis writes the byte itself)
    _setproctitle(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return True


def on_listeners_changed(state: "ServerState") -> None:
    """Start-up and CONFIG SET port/bind: the title again, if set-proc-title."""
    if state.config["set-proc-title"]:
        retitle(state)
