"""DEBUG: Redis's grab bag of introspection and test helpers (one command, no
subcommand table: a wrong name or argument count gets one combined error)."""
from __future__ import annotations

import time as _time
from typing import List

from .. import errors
from ..args import to_float
from ..errors import CommandError
from ..keyspace import encoding_of
from ..protocol import OK, Simple
from . import COMMANDS, command
from .connection import help_reply
from .server import protected_allowed


# DEBUG is a single command in Redis (not a container): its subcommands have no table
# entries, and a wrong name or argument count gets one combined error.
def _debug_sleep(client, args: List[bytes]):
    seconds = to_float(args[2]) or 0.0   # Redis reads it with atof: junk is 0
    # Like Redis: the entire server stops (handlers run in the hub, so no greenlet runs).
    _time.sleep(max(seconds, 0.0))
    return OK


def _string_serialized_length(value: bytes) -> int:
    """RDB length of a string without LZF: integer encodings, else length + bytes."""
    text = value
    if len(text) <= 11 and (text == b"0" or (text[:1] != b"0" and text[:2] != b"-0")):
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is not None and str(number).encode() == text:
            if -(2 ** 7) <= number < 2 ** 7:
                return 2
            if -(2 ** 15) <= number < 2 ** 15:
                return 3
            if -(2 ** 31) <= number < 2 ** 31:
                return 5
    size = len(text)
    return size + (1 if size < 64 else 2 if size < 16384 else 5 if size < 2 ** 32 else 9)


def _debug_object(client, args: List[bytes]):
    key = args[2]
    state = client.state
    value = client.db.peek(key)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    encoding = encoding_of(value, state.config)
    idle = max(state.lru_clock - client.db.access.get(key, state.lru_clock), 0)
    refcount = 1
    size = 0
    if isinstance(value, (bytes, bytearray)):
        size = _string_serialized_length(bytes(value))
        refcount_cmd = COMMANDS[b"object"].subcommands.get(b"refcount")
        if refcount_cmd is not None:   # shared small integers, as OBJECT REFCOUNT says
            refcount = refcount_cmd.handler(client, [b"object", b"refcount", key]) or 1
    return Simple("Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d "
                  "lru_seconds_idle:%d" % (id(value), refcount, encoding, size,
                                           state.lru_clock & 0xFFFFFF, idle))


def _debug_set_active_expire(client, args: List[bytes]):
    client.state.active_expire_enabled = args[2] != b"0"
    return OK


def _debug_help(client, args: List[bytes]):
    return help_reply(args, [
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    ])


# subcommand -> (handler, number of arguments including DEBUG and the subcommand)
_DEBUG = {b"sleep": (_debug_sleep, 3), b"object": (_debug_object, 3),
          b"set-active-expire": (_debug_set_active_expire, 3), b"help": (_debug_help, 2)}


@command("debug", -2, "admin noscript loading stale", group="server", since="1.0.0",
         summary="A container for debugging commands")
def debug(client, args: List[bytes]):
    if not protected_allowed(client, "enable-debug-command"):
        raise CommandError(errors.DEBUG_NOT_ALLOWED)
    entry = _DEBUG.get(args[1].lower())
    if entry is None or len(args) != entry[1]:
        raise CommandError(errors.UNKNOWN_SUBCOMMAND_OR_ARITY.format(
            args[1].decode("utf-8", "replace"), "DEBUG"))
    return entry[0](client, args)
