"""Generic keyspace commands: DEL, EXISTS, TYPE, expiry, RENAME, COPY, SCAN..."""
from __future__ import annotations

from typing import List

from . import command


@command("del", -2, "write", keys=(1, -1, 1), group="generic", since="1.0.0",
         summary="Deletes one or more keys.")
def del_(client, args: List[bytes]):
    delete = client.db.delete
    return sum(1 for key in args[1:] if delete(key))


@command("unlink", -2, "write fast", keys=(1, -1, 1), group="generic", since="4.0.0",
         summary="Asynchronously deletes one or more keys.")
def unlink(client, args: List[bytes]):
    return del_(client, args)


@command("exists", -2, "readonly fast", keys=(1, -1, 1), group="generic", since="1.0.0",
         summary="Determines whether one or more keys exist.")
def exists(client, args: List[bytes]):
    get_value = client.db.get
    return sum(1 for key in args[1:] if get_value(key) is not None)
