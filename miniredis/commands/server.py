"""Server commands: FLUSHDB/FLUSHALL, DBSIZE, INFO, CONFIG, CLIENT, COMMAND, ..."""
from __future__ import annotations

from typing import List

from .. import errors
from ..errors import CommandError
from ..protocol import OK
from . import command


def _flush_mode(args: List[bytes]) -> None:
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"async", b"sync")):
        raise CommandError(errors.SYNTAX)


@command("flushdb", -1, "write", group="server", since="1.0.0",
         summary="Removes all keys from the current database.")
def flushdb(client, args: List[bytes]):
    _flush_mode(args)
    client.db.flush()
    return OK


@command("flushall", -1, "write", group="server", since="1.0.0",
         summary="Removes all keys from all databases.")
def flushall(client, args: List[bytes]):
    _flush_mode(args)
    for db in client.state.dbs:
        db.flush()
    return OK


@command("dbsize", 1, "readonly fast", group="server", since="1.0.0",
         summary="Returns the number of keys in the database.")
def dbsize(client, args: List[bytes]):
    return len(client.db)
