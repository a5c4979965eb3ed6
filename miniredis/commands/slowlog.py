"""SLOWLOG: the slow log's entries (kept by the dispatcher: ``ServerState.add_slowlog``)."""
from __future__ import annotations

from typing import List

from .. import errors
from ..args import to_int
from ..errors import CommandError
from ..protocol import OK
from . import command, container
from .connection import help_reply


container("slowlog", -2, group="server", since="2.2.12",
          summary="A container for slow log commands")


@command("slowlog|get", -2, "admin loading stale", group="server", since="2.2.12",
         summary="Get the slow log's entries")
def slowlog_get(client, args: List[bytes]):
    count = 10
    if len(args) == 3:
        count = to_int(args[2])
        if count is None or count < -1:
            raise CommandError(errors.SLOWLOG_COUNT)
        if count == -1:
            count = len(client.state.slowlog)
    elif len(args) > 3:
        raise CommandError(errors.subcommand_syntax_error(args))
    return [[entry.id, entry.time, entry.duration, list(entry.args),
             entry.addr.encode(), entry.name.encode()]
            for entry in client.state.slowlog[:count]]


@command("slowlog|help", 2, "loading stale", group="server", since="6.2.0",
         summary="Show helpful text about the different subcommands")
def slowlog_help(client, args: List[bytes]):
    return help_reply(args, [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ])


@command("slowlog|len", 2, "admin loading stale", group="server", since="2.2.12",
         summary="Get the slow log's length")
def slowlog_len(client, args: List[bytes]):
    return len(client.state.slowlog)


@command("slowlog|reset", 2, "admin loading stale", group="server", since="2.2.12",
         summary="Clear all entries from the slow log")
def slowlog_reset(client, args: List[bytes]):
    client.state.slowlog.clear()
    return OK
