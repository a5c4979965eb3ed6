"""Server administration: MONITOR, CLIENT PAUSE/UNPAUSE, MODULE, LOLWUT and COMMAND
GETKEYSANDFLAGS, as Redis 7.0.15 answers them with no modules (ROLE and WAIT are in
:mod:`.replication`).

The mechanisms live outside the command layer (:mod:`miniredis.monitor`,
:mod:`miniredis.pause`); these handlers only switch them on and off.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import List

from .. import errors
from ..args import LLONG_MAX, parse_int
from ..errors import CommandError, Refused
from ..pause import ALL, WRITE
from ..protocol import OK, Raw, Set, Simple, Verbatim
from . import command, container
from . import server as _server   # COMMAND's container must exist before GETKEYSANDFLAGS
from .connection import REDIS_VERSION, help_reply
from ..security.protected import command_refusal


def _timeout_ms(client, value: bytes) -> int:
    """getTimeoutFromObjectOrReply in milliseconds: 0 stays 0, else an absolute time
    (wrapping past LLONG_MAX as Redis's signed addition does)."""
    millis = parse_int(value, errors.TIMEOUT_NOT_INTEGER)
    if millis < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    if millis == 0:
        return 0
    end = millis + client.state.clock.ms()
    if end > LLONG_MAX:
        end -= 1 << 64
    return end


# -- MONITOR ---------------------------------------------------------------------------
@command("monitor", 1, "admin noscript loading stale", group="server", since="1.0.0",
         summary="Listen for all requests received by the server in real time")
def monitor(client, args: List[bytes]):
    if client.no_blocking:          # inside EXEC (Redis: a DENY_BLOCKING client)
        raise CommandError(errors.MONITOR_DENY_BLOCKING)
    state = client.state
    if client.id in state.monitors:
        return Raw(b"")             # already monitoring: ignored, no reply
    state.monitors[client.id] = client
    state.refresh_gates()
    return OK


# -- CLIENT PAUSE / UNPAUSE ------------------------------------------------------------
@command("client|pause", -3, "admin noscript loading stale", group="connection",
         since="2.9.50", summary="Stop processing commands from clients for some time")
def client_pause(client, args: List[bytes]):
    if len(args) > 4:
        raise CommandError(errors.subcommand_syntax_error(args))
    kind = ALL
    if len(args) == 4:
        mode = args[3].lower()
        if mode == b"write":
            kind = WRITE
        elif mode != b"all":
            raise CommandError(errors.CLIENT_PAUSE_MODE)
    end = _timeout_ms(client, args[2])
    client.state.pause.pause(end, kind)
    return OK


@command("client|unpause", 2, "admin noscript loading stale", group="connection",
         since="6.2.0", summary="Resume processing of clients that were paused")
def client_unpause(client, args: List[bytes]):
    client.state.pause.unpause()
    return OK


# -- MODULE (no module can be loaded) ------------------------------------------------------
container("module", -2, group="server", since="4.0.0",
          summary="A container for module commands")


@command("module|help", 2, "loading stale", group="server", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def module_help(client, args: List[bytes]):
    return help_reply(args, [
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations "
        "and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    ])


@command("module|list", 2, "admin noscript", group="server", since="4.0.0",
         summary="List all modules loaded by the server")
def module_list(client, args: List[bytes]):
    return []


def _check_module_allowed(client, args: List[bytes]) -> None:
    # Also checked by Client._gate; here for clients on the ungated fast path.
    refusal = command_refusal(client, "module|" + args[1].decode("latin-1").lower())
    if refusal is not None:
        raise Refused(refusal)


@command("module|load", -3, "admin noscript no_async_loading", group="server",
         since="4.0.0", summary="Load a module")
def module_load(client, args: List[bytes]):
    _check_module_allowed(client, args)
    client.state.log("warning", module_load_failure(errors.c_text(args[2])))
    raise CommandError(errors.MODULE_LOAD_FAILED)


def module_load_failure(path: str) -> str:
    """The log line of moduleLoad failing on ``path``: a file without execute
    permission, dlopen()'s reason for one it cannot open; any other, as this server
    loads no modules."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        # (dlopen's dlerror() for a path it cannot open)
        return "Module %s failed to load: %s: cannot open shared object file: %s" % (
            path, path, os.strerror(exc.errno or errno.ENOENT))
    if not mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        return "Module %s failed to load: It does not have execute permissions." % path
    return "Module %s failed to load: %s: this server loads no modules" % (path, path)


@command("module|loadex", -3, "admin noscript no_async_loading", group="server",
         since="7.0.0", summary="Load a module with extended parameters")
def module_loadex(client, args: List[bytes]):
    return module_load(client, args)


@command("module|unload", 3, "admin noscript no_async_loading", group="server",
         since="4.0.0", summary="Unload a module")
def module_unload(client, args: List[bytes]):
    _check_module_allowed(client, args)
    raise CommandError(errors.MODULE_UNLOAD_MISSING)


# -- LOLWUT ---------------------------------------------------------------------------------
@command("lolwut", -1, "readonly fast", group="server", since="5.0.0",
         summary="Display some computer art and the Redis version")
def lolwut(client, args: List[bytes]):
    version = int(REDIS_VERSION.split(".")[0])
    if len(args) >= 3 and args[1].lower() == b"version":
        version = parse_int(args[2]) & 0xFFFFFFFF    # printed as %u, as Redis
        args = args[:1] + args[3:]
    from .lolwut import render
    return Verbatim(render(version, args[1:], REDIS_VERSION))


# -- COMMAND GETKEYSANDFLAGS ------------------------------------------------------------------
@command("command|getkeysandflags", -4, "loading stale", group="server", since="7.0.0",
         summary="Extract keys and access flags given a full Redis command")
def command_getkeysandflags(client, args: List[bytes]):
    return [[args[2 + pos], Set([Simple(flag) for flag in flags])]
            for pos, flags in _server.find_keys(client, args[2:])]
