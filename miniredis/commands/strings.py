"""String commands: GET/SET and friends, counters, ranges and bit operations."""
from __future__ import annotations

from typing import List, Optional

from .. import errors
from ..args import LLONG_MAX, LLONG_MIN, parse_int, to_int
from ..errors import CommandError
from ..protocol import OK
from . import command


def _counter_value(value: Optional[bytes]) -> int:
    """The integer a string holds for INCR/DECR (absent counts as 0)."""
    if value is None:
        return 0
    number = to_int(bytes(value))
    if number is None:
        raise CommandError(errors.NOT_INTEGER)
    return number


def _incr_by(client, key: bytes, delta: int) -> int:
    db = client.db
    current = _counter_value(db.get_string(key))
    result = current + delta
    if not LLONG_MIN <= result <= LLONG_MAX:
        raise CommandError(errors.OVERFLOW)
    db.set(key, b"%d" % result, keep_ttl=True)
    return result


@command("get", 2, "readonly fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Returns the string value of a key.")
def get(client, args: List[bytes]):
    return client.db.get_string(args[1])


# SET's options: name -> (flag bit, takes a value)
_SET_NX, _SET_XX, _SET_GET, _SET_KEEPTTL = 1, 2, 4, 8
_SET_EX, _SET_PX, _SET_EXAT, _SET_PXAT = 16, 32, 64, 128
_SET_EXPIRES = _SET_EX | _SET_PX | _SET_EXAT | _SET_PXAT
_SET_OPTIONS = {
    b"nx": (_SET_NX, _SET_XX),
    b"xx": (_SET_XX, _SET_NX),
    b"get": (_SET_GET, 0),
    b"keepttl": (_SET_KEEPTTL, _SET_EXPIRES),
    b"ex": (_SET_EX, _SET_KEEPTTL | _SET_EXPIRES & ~_SET_EX),
    b"px": (_SET_PX, _SET_KEEPTTL | _SET_EXPIRES & ~_SET_PX),
    b"exat": (_SET_EXAT, _SET_KEEPTTL | _SET_EXPIRES & ~_SET_EXAT),
    b"pxat": (_SET_PXAT, _SET_KEEPTTL | _SET_EXPIRES & ~_SET_PXAT),
}


def expire_deadline(client, text: bytes, unit_ms: int, absolute: bool, cmd: str) -> int:
    """Absolute deadline (ms) for EX/PX/EXAT/PXAT-style arguments, with Redis's checks."""
    amount = parse_int(text)
    if amount <= 0 or (unit_ms == 1000 and amount > LLONG_MAX // 1000):
        raise CommandError(errors.INVALID_EXPIRE.format(cmd))
    millis = amount * unit_ms
    if not absolute:
        millis += client.state.clock.ms()
        if millis > LLONG_MAX:
            raise CommandError(errors.INVALID_EXPIRE.format(cmd))
    return millis


@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Sets the string value of a key, ignoring its type. The key is created "
                 "if it doesn't exist.")
def set_(client, args: List[bytes]):
    key, value = args[1], args[2]
    if len(args) == 3:
        client.db.set(key, value)
        return OK
    flags = 0
    expire_arg = None
    i = 3
    while i < len(args):
        option = _SET_OPTIONS.get(args[i].lower())
        if option is None:
            raise CommandError(errors.SYNTAX)
        bit, conflicts = option
        if flags & conflicts:
            raise CommandError(errors.SYNTAX)
        if bit & _SET_EXPIRES:
            if i + 1 >= len(args):
                raise CommandError(errors.SYNTAX)
            expire_arg = args[i + 1]
            i += 1
        flags |= bit
        i += 1
    deadline = None
    if flags & _SET_EXPIRES:
        unit = 1000 if flags & (_SET_EX | _SET_EXAT) else 1
        deadline = expire_deadline(client, expire_arg, unit,
                                   bool(flags & (_SET_EXAT | _SET_PXAT)), "set")
    db = client.db
    old = db.get(key)
    if flags & _SET_GET and old is not None and not isinstance(old, (bytes, bytearray)):
        raise CommandError(errors.WRONGTYPE)
    if (flags & _SET_NX and old is not None) or (flags & _SET_XX and old is None):
        return old if flags & _SET_GET else None
    db.set(key, value, keep_ttl=bool(flags & _SET_KEEPTTL))
    if deadline is not None:
        db.set_expire(key, deadline)
    if flags & _SET_GET:
        return old
    return OK


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increments the integer value of a key by one.")
def incr(client, args: List[bytes]):
    return _incr_by(client, args[1], 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrements the integer value of a key by one.")
def decr(client, args: List[bytes]):
    return _incr_by(client, args[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increments the integer value of a key by a number.")
def incrby(client, args: List[bytes]):
    return _incr_by(client, args[1], parse_int(args[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrements a number from the integer value of a key.")
def decrby(client, args: List[bytes]):
    delta = parse_int(args[2])
    if delta == LLONG_MIN:
        raise CommandError("ERR decrement would overflow")
    return _incr_by(client, args[1], -delta)


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group="string", since="1.0.0",
         summary="Atomically returns the string values of one or more keys.")
def mget(client, args: List[bytes]):
    get_value = client.db.get
    result = []
    for key in args[1:]:
        value = get_value(key)
        result.append(value if value.__class__ is bytes or value.__class__ is bytearray
                      else None)
    return result


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         summary="Atomically creates or modifies the string values of one or more keys.")
def mset(client, args: List[bytes]):
    if len(args) % 2 == 0:
        raise CommandError(errors.WRONG_ARITY.format("mset"))
    db = client.db
    for i in range(1, len(args), 2):
        db.set(args[i], args[i + 1])
    return OK
