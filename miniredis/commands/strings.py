"""String commands: GET/SET and friends, counters, ranges and INCRBYFLOAT (LCS is in
``string_lcs.py``, the bitmap commands in ``bitmaps.py``, the own loops of GET, SET,
INCR/DECR and MSET in ``string_runs.py``)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .. import errors
from ..args import LLONG_MAX, LLONG_MIN, parse_int, to_int
from ..errors import CommandError
from ..protocol import OK
from ..datatypes.names import plain_text, reads_as_integer
from ..longdouble import (ZERO, add_long_double, format_long_double, overflows,
                          parse_long_double)
from ..notify import notify
from . import command, lookup
from .reads import read_run


def _snapshot(value):
    """An immutable copy of a stored string for a reply (bytearrays change in place)."""
    return bytes(value) if value.__class__ is bytearray else value


def _string_for_write(db, key: bytes):
    """The string at ``key`` (None if absent) looked up as Redis's lookupKeyWrite
    does: WRONGTYPE for other types, and no keyspace hit/miss counted."""
    value = db.get(key)
    if value is not None and value.__class__ is not bytes and \
            value.__class__ is not bytearray:
        raise CommandError(errors.WRONGTYPE)
    return value


# Text -> value of the numbers INCR & co. stored: the next increment of a counter
# skips parsing (Redis keeps counters int-encoded for the same reason). A memo of a
# pure function, so it never needs invalidating; bounded by clearing.
COUNTER_VALUES: Dict[bytes, int] = {}
COUNTER_MEMO = 1024     # entries it holds at most


def _incr_by(client, key: bytes, delta: int) -> int:
    # The INCR family's hot path: lookupKeyWrite, string2ll and the store, inlined.
    db = client.db
    value = db.get(key)
    if value is None:
        if not LLONG_MIN <= delta <= LLONG_MAX:
            raise CommandError(errors.OVERFLOW)
        db.set(key, b"%d" % delta)
        notify(db, "$", b"incrby", key)
        return delta
    current = COUNTER_VALUES.get(value) if value.__class__ is bytes else None
    if current is None:
        if value.__class__ is not bytes and value.__class__ is not bytearray:
            raise CommandError(errors.WRONGTYPE)
        current = to_int(value)
        if current is None:
            raise CommandError(errors.NOT_INTEGER)
    result = current + delta
    if not LLONG_MIN <= result <= LLONG_MAX:
        raise CommandError(errors.OVERFLOW)
    text = b"%d" % result
    if len(COUNTER_VALUES) >= COUNTER_MEMO:
        COUNTER_VALUES.clear()
    COUNTER_VALUES[text] = result
    db.overwrite(key, text)
    if db.state.config.values["notify-keyspace-events"]:  # (notify's own first test)
        notify(db, "$", b"incrby", key)
    return result


@command("get", 2, "readonly fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Get the value of a key")
def get(client, args: List[bytes]):
    value = client.db.get_string(args[1])
    # A bytearray is mutated in place by later SETBIT/APPEND...: reply with a snapshot
    # in case the reply is encoded later (scripts).
    if value.__class__ is bytearray:
        return bytes(value)
    return value


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


def expire_deadline(client, text: bytes, unit_ms: int, absolute: bool, cmd: str,
                    now: Optional[int] = None) -> int:
    """Absolute deadline (ms) for EX/PX/EXAT/PXAT-style arguments, with Redis's checks;
    ``now`` is the clock reading a caller also tests the deadline against."""
    amount = parse_int(text)
    if amount <= 0 or (unit_ms == 1000 and amount > LLONG_MAX // 1000):
        raise CommandError(errors.INVALID_EXPIRE.format(cmd))
    millis = amount * unit_ms
    if not absolute:
        millis += client.state.clock.ms() if now is None else now
        if millis > LLONG_MAX:
            raise CommandError(errors.INVALID_EXPIRE.format(cmd))
    return millis


@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the string value of a key")
def set_(client, args: List[bytes]):
    key, value = args[1], args[2]
    if len(args) == 3:
        db = client.db
        db.set(key, value)
        state = client.state
        state.dirty += 1
        if state.config.values["notify-keyspace-events"]:    # (notify's own test)
            notify(db, "$", b"set", key)
        return OK
    unit = TTL_UNITS.get(args[3]) if len(args) == 5 else None
    if unit is not None:    # SET key value EX|PX n, the commonest form: no option loop
        flags = 0
        deadline = expire_deadline(client, args[4], unit, False, "set")
    else:
        flags, deadline = _set_options(client, args)
    db = client.db
    old = db.get_read(key) if flags & _SET_GET else db.get(key)
    if flags & _SET_GET and old is not None and old.__class__ is not bytes \
            and old.__class__ is not bytearray:
        raise CommandError(errors.WRONGTYPE)
    if (flags & _SET_NX and old is not None) or (flags & _SET_XX and old is None):
        if flags & _SET_GET and old is not None:
            db.get(key)     # (Redis's second lookup, for writing: an access all the same)
        return _snapshot(old) if flags & _SET_GET else None
    # (with GET, Redis looks the key up twice: to read it, then to write it)
    db.set(key, value, flags & _SET_KEEPTTL != 0, not flags & _SET_GET)
    client.state.dirty += 1
    notify(db, "$", b"set", key)
    if deadline is not None:
        db.set_expire(key, deadline)
        notify(db, "g", b"expire", key)
    if flags & _SET_GET:
        return _snapshot(old)
    return OK


# SET key value EX|PX n, as clients spell it: the option's unit in milliseconds
TTL_UNITS = {b"EX": 1000, b"ex": 1000, b"PX": 1, b"px": 1}


def _set_options(client, args: List[bytes]) -> Tuple[int, Optional[int]]:
    """SET's options after the value: (their flag bits, the deadline in ms or None),
    with Redis's checks (every syntax error before the expire time's)."""
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
    return flags, deadline


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increment the integer value of a key by one")
def incr(client, args: List[bytes]):
    return _incr_by(client, args[1], 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrement the integer value of a key by one")
def decr(client, args: List[bytes]):
    return _incr_by(client, args[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Increment the integer value of a key by the given amount")
def incrby(client, args: List[bytes]):
    return _incr_by(client, args[1], parse_int(args[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Decrement the integer value of a key by the given number")
def decrby(client, args: List[bytes]):
    delta = parse_int(args[2])
    if delta == LLONG_MIN:
        raise CommandError("ERR decrement would overflow")
    return _incr_by(client, args[1], -delta)


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group="string", since="1.0.0",
         summary="Get the values of all the given keys")
def mget(client, args: List[bytes]):
    if len(args) > 4:       # (fewer keys: read_many's set-up costs more than it saves)
        return [value if value.__class__ is bytes else
                bytes(value) if value.__class__ is bytearray else None
                for value in client.db.read_many(args[1:])]
    get_value = client.db.get_read
    result = []
    for key in args[1:]:
        value = get_value(key)
        if value.__class__ is bytes:
            result.append(value)
        elif value.__class__ is bytearray:
            result.append(bytes(value))   # a snapshot, as GET gives
        else:
            result.append(None)
    return result


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         summary="Set multiple keys to multiple values")
def mset(client, args: List[bytes]):
    if len(args) % 2 == 0:
        raise CommandError(errors.WRONG_ARITY.format("mset"))
    db = client.db
    client.state.dirty += len(args) >> 1     # (the number of keys)
    if not client.state.config.values["notify-keyspace-events"]:
        db.set_many(args, 1)
        return OK
    for i in range(1, len(args), 2):
        db.set(args[i], args[i + 1])
        notify(db, "$", b"set", args[i])
    return OK


# -- more setters and getters ----------------------------------------------------------
@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the value of a key, only if the key does not exist")
def setnx(client, args: List[bytes]):
    db = client.db
    if db.get(args[1]) is not None:
        return 0
    db.set(args[1], args[2])
    client.state.dirty += 1
    notify(db, "$", b"set", args[1])
    return 1


def _set_with_expiry(client, args: List[bytes], unit_ms: int, name: str):
    deadline = expire_deadline(client, args[2], unit_ms, False, name)
    db = client.db
    db.set(args[1], args[3])
    db.set_expire(args[1], deadline)
    notify(db, "$", b"set", args[1])
    notify(db, "g", b"expire", args[1])
    return OK


@command("setex", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.0.0",
         summary="Set the value and expiration of a key")
def setex(client, args: List[bytes]):
    return _set_with_expiry(client, args, 1000, "setex")


@command("psetex", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.6.0",
         summary="Set the value and expiration in milliseconds of a key")
def psetex(client, args: List[bytes]):
    return _set_with_expiry(client, args, 1, "psetex")


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2), group="string", since="1.0.1",
         summary="Set multiple keys to multiple values, only if none of the keys exist")
def msetnx(client, args: List[bytes]):
    if len(args) % 2 == 0:
        raise CommandError(errors.WRONG_ARITY.format("msetnx"))
    db = client.db
    if any(db.get(args[i]) is not None for i in range(1, len(args), 2)):
        return 0
    client.state.dirty += len(args) >> 1
    for i in range(1, len(args), 2):
        db.set(args[i], args[i + 1])
        notify(db, "$", b"set", args[i])
    return 1


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Set the string value of a key and return its old value")
def getset(client, args: List[bytes]):
    db = client.db
    old = db.get_string(args[1])
    db.set(args[1], args[2])
    notify(db, "$", b"set", args[1])
    return bytes(old) if old is not None else None


@command("getdel", 2, "write fast", keys=(1, 1, 1), group="string", since="6.2.0",
         summary="Get the value of a key and delete the key")
def getdel(client, args: List[bytes]):
    db = client.db
    value = db.get_string(args[1])
    if value is not None:
        db.delete(args[1])
        client.state.dirty += 1
        notify(db, "g", b"del", args[1])
        return bytes(value)
    return None


_GETEX_UNITS = {b"ex": (1000, False), b"px": (1, False), b"exat": (1000, True),
                b"pxat": (1, True)}


@command("getex", -2, "write fast", keys=(1, 1, 1), group="string", since="6.2.0",
         summary="Get the value of a key and optionally set its expiration")
def getex(client, args: List[bytes]):
    # Redis's option loop: an option may repeat (the last value wins) but never meet
    # a conflicting one; the time is only checked once the key is known to be a string.
    key = args[1]
    chosen = None       # b"persist" or one of _GETEX_UNITS
    expire_arg = None
    i = 2
    while i < len(args):
        option = args[i].lower()
        if option == b"persist" and chosen in (None, b"persist"):
            chosen = option
        elif option in _GETEX_UNITS and chosen in (None, option) and i + 1 < len(args):
            chosen, expire_arg = option, args[i + 1]
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    db = client.db
    value = db.get_string(key)
    if value is None:
        return None
    persist = chosen == b"persist"
    deadline = None
    now = client.state.clock.ms()   # (one reading: see keys._expire_generic)
    if expire_arg is not None:
        unit, absolute = _GETEX_UNITS[chosen]
        deadline = expire_deadline(client, expire_arg, unit, absolute, "getex", now)
    if deadline is not None:
        client.state.dirty += 1
        if db.deadline_passed(deadline, now):
            db.delete(key)
            notify(db, "g", b"del", key)
        else:
            db.set_expire(key, deadline)
            db.signal_modified(key)
            notify(db, "g", b"expire", key)
    elif persist and db.persist(key):
        client.state.dirty += 1
        db.signal_modified(key)
        notify(db, "g", b"persist", key)
    return bytes(value)


@command("append", 3, "write denyoom fast", keys=(1, 1, 1), group="string", since="2.0.0",
         summary="Append a value to a key")
def append(client, args: List[bytes]):
    db = client.db
    key = args[1]
    value = _string_for_write(db, key)
    if value is None:
        db.set(key, args[2])
        notify(db, "$", b"append", key)
        return len(args[2])
    _check_size(len(value) + len(args[2]), client)
    if value.__class__ is bytes:
        value = bytearray(value)   # grown in place from now on (Redis: raw encoding)
        value += args[2]
        db.set(key, value, keep_ttl=True, looked_up=True)
    else:
        value += args[2]
        db.signal_modified(key)
    notify(db, "$", b"append", key)
    return len(value)


def _check_size(size: int, client) -> None:
    if size > client.state.config["proto-max-bulk-len"]:
        raise CommandError(errors.STRING_TOO_LONG)


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), group="string", since="2.2.0",
         summary="Get the length of the value stored in a key")
def strlen(client, args: List[bytes]):
    value = client.db.get_string(args[1])
    return 0 if value is None else len(value)


lookup(b"strlen").run = read_run(lambda value, args, client: len(value), 2,
                                 frozenset((bytes, bytearray)), 0)  # (commands/reads.py)


def _getrange(client, args: List[bytes]):
    start, end = parse_int(args[2]), parse_int(args[3])
    value = client.db.get_string(args[1])
    if value is None:
        return b""
    size = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    end = min(end, size - 1)
    if start > end or size == 0:
        return b""
    return bytes(value[start:end + 1])


@command("getrange", 4, "readonly", keys=(1, 1, 1), group="string", since="2.4.0",
         summary="Get a substring of the string stored at a key")
def getrange(client, args: List[bytes]):
    return _getrange(client, args)


@command("substr", 4, "readonly", keys=(1, 1, 1), group="string", since="1.0.0",
         summary="Get a substring of the string stored at a key")
def substr(client, args: List[bytes]):
    return _getrange(client, args)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1), group="string", since="2.2.0",
         summary="Overwrite part of a string at key starting at the specified offset")
def setrange(client, args: List[bytes]):
    key = args[1]
    offset = parse_int(args[2])
    patch = args[3]
    if offset < 0:
        raise CommandError(errors.OFFSET_OUT_OF_RANGE)
    db = client.db
    value = _string_for_write(db, key)
    if not patch:
        return 0 if value is None else len(value)
    _check_size(offset + len(patch), client)
    value = _mutable_string(db, key, value)
    if len(value) < offset + len(patch):
        value.extend(bytes(offset + len(patch) - len(value)))
    value[offset:offset + len(patch)] = patch
    client.state.dirty += 1
    db.signal_modified(key)
    notify(db, "$", b"setrange", key)
    return len(value)


def _mutable_string(db, key: bytes, value: Optional[bytes]) -> bytearray:
    """The string at ``key`` as a bytearray stored in place (created empty if absent).

    Like Redis's dbUnshareStringValue, turning an existing value into a mutable
    one is not itself a modification: the caller signals only if it changes bytes
    (OBJECT ENCODING still reports raw afterwards, as in Redis).
    """
    if value.__class__ is bytearray:
        return value
    mutable = bytearray(value or b"")
    if value is None:
        db.set(key, mutable, keep_ttl=True)
    else:
        db.replace_value(key, mutable)
    return mutable


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         since="2.6.0", summary="Increment the float value of a key by the given amount")
def incrbyfloat(client, args: List[bytes]):
    db = client.db
    key = args[1]
    current = _string_for_write(db, key)
    base = ZERO if current is None else parse_long_double(current)
    if base is None:
        raise CommandError(errors.NOT_FLOAT)
    increment = parse_long_double(args[2])
    if increment is None:
        raise CommandError(errors.NOT_FLOAT)
    if isinstance(base, float) or isinstance(increment, float):
        raise CommandError(errors.INCR_FLOAT_NAN)   # inf, -inf or inf - inf (NaN)
    result = add_long_double(base, increment)
    if overflows(result):
        raise CommandError(errors.INCR_FLOAT_NAN)
    text = format_long_double(result)
    if reads_as_integer(text):
        text = plain_text(text)     # an embstr in Redis, not an integer (names.py)
    db.set(key, text, keep_ttl=True, looked_up=True)
    notify(db, "$", b"incrbyfloat", key)
    return text
