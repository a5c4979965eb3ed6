"""Generic keyspace commands: DEL, EXISTS, TYPE, KEYS/SCAN, RENAME, COPY, MOVE, expiry."""
from __future__ import annotations

import copy as _copy
import re
from typing import Any, Dict, List, Optional

from ..datatypes.packedlist import PackedList
from .. import errors
from ..args import LLONG_MAX, parse_int, to_int
from ..errors import CommandError
from ..glob import compile_pattern
from ..evict import lfu_counter
from ..datatypes.names import encoding_of, marked, private_integer, type_name
from ..keyspace import Database
from ..protocol import OK, Simple
from ..notify import notify
from . import command, container, lookup, own_name
from .connection import help_reply
from .transactions import db_replaced
from .reads import read_run


@command("del", -2, "write", keys=(1, -1, 1), group="generic", since="1.0.0",
         summary="Deletes one or more keys.")
def del_(client, args: List[bytes]):
    return _delete_keys(client, args, client.state.config.values["lazyfree-lazy-user-del"])


@command("unlink", -2, "write fast", keys=(1, -1, 1), group="generic", since="4.0.0",
         summary="Asynchronously deletes one or more keys.")
def unlink(client, args: List[bytes]):
    return _delete_keys(client, args, True)


def _delete_keys(client, args: List[bytes], lazy: bool) -> int:
    """DEL and UNLINK (delGenericCommand): ``lazy`` frees as dbAsyncDelete does."""
    deleted = client.db.delete_many(args[1:], lazy)
    client.state.dirty += deleted
    return deleted


@command("exists", -2, "readonly fast", keys=(1, -1, 1), group="generic", since="1.0.0",
         summary="Determines whether one or more keys exist.")
def exists(client, args: List[bytes]):
    # (Redis looks EXISTS keys up with LOOKUP_NOTOUCH)
    if len(args) == 2:      # (the common case: read_many's set-up costs more)
        return 0 if client.db.peek_read(args[1]) is None else 1
    return len(args) - 1 - client.db.read_many(args[1:], touch=False).count(None)


@command("touch", -2, "readonly fast", keys=(1, -1, 1), group="generic", since="3.2.1",
         summary="Returns the number of existing keys out of those specified after "
                 "updating the time they were last accessed.")
def touch(client, args: List[bytes]):
    # (a real lookup: refreshes the access time)
    return len(args) - 1 - client.db.read_many(args[1:]).count(None)


@command("type", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Determines the type of value stored at a key.")
def type_(client, args: List[bytes]):
    # (_type_reply written out: a call costs a general loop's TYPE 1%)
    name = type_name(client.db.peek_read(args[1]))
    try:
        return _TYPE_REPLIES[name]
    except KeyError:
        return _TYPE_REPLIES.setdefault(name, Simple(name))


def _type_reply(value: Any, args: List[bytes], client: Any) -> Simple:
    """TYPE's answer for ``value`` (None for a missing key)."""
    name = type_name(value)
    try:
        return _TYPE_REPLIES[name]
    except KeyError:
        return _TYPE_REPLIES.setdefault(name, Simple(name))


# TYPE's replies, one per type name, made once (a str subclass costs an allocation).
_TYPE_REPLIES: Dict[str, Simple] = {}
lookup(b"type").run = read_run(_type_reply, 2, None, _type_reply(None, [], None),
                               touch=False)    # (commands/reads.py; LOOKUP_NOTOUCH)


@command("keys", 2, "readonly", keys=(0, 0, 0), group="generic", since="1.0.0",
         summary="Returns all key names that match a pattern.")
def keys(client, args: List[bytes]):
    pattern = args[1]
    if pattern == b"*":  # Redis skips matching here, so even the empty key is listed
        return list(client.db.keys())
    matches = compile_pattern(pattern)
    return [key for key in client.db.keys() if matches(key)]


@command("randomkey", 1, "readonly", group="generic", since="1.0.0",
         summary="Returns a random key name from the database.")
def randomkey(client, args: List[bytes]):
    return client.db.random_key()


_CURSOR = re.compile(rb"(?:[+-]?[0-9]+)?\Z")


def parse_cursor(text: bytes) -> int:
    """A SCAN cursor as Redis reads it: strtoul (so "" is 0 and "-1" wraps around),
    but a leading space is refused, as is anything after the digits; a C string (a NUL
    ends it)."""
    text = text.split(b"\0", 1)[0]
    if not _CURSOR.match(text):
        raise CommandError(errors.INVALID_CURSOR)
    if not text:
        return 0
    value = int(text)
    if not -(2 ** 64) < value < 2 ** 64:
        raise CommandError(errors.INVALID_CURSOR)
    return value % (2 ** 64)


def parse_scan_options(args: List[bytes], start: int, allow_type: bool) -> tuple:
    """MATCH/COUNT(/TYPE) options of the SCAN family: (predicate or None, count, type)."""
    pattern = None
    count = 10
    wanted_type = None
    i = start
    while i < len(args):
        option = args[i].lower()
        if i + 1 >= len(args):
            raise CommandError(errors.SYNTAX)
        if option == b"count":
            count = parse_int(args[i + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
        elif option == b"match":
            pattern = args[i + 1]
        elif option == b"type" and allow_type:
            wanted_type = args[i + 1].decode("latin-1").lower()
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    matches = None if pattern is None or pattern == b"*" else compile_pattern(pattern)
    return matches, count, wanted_type


@command("scan", -2, "readonly", group="generic", since="2.8.0",
         summary="Iterates over the key names in the database.")
def scan(client, args: List[bytes]):
    cursor = parse_cursor(args[1])
    matches, count, wanted_type = parse_scan_options(args, 2, allow_type=True)
    db = client.db
    if wanted_type is None:
        next_cursor, found = db.scan(cursor, count, matches)
        return [b"%d" % next_cursor, found]
    # Redis looks each walked key up for its type (a hit, or a miss that reclaims an
    # expired key) before the expiry check, which then finds a reclaimed key gone:
    # TYPE none lists expired keys' names, as Redis 7.0 does.
    next_cursor, walked = db.scan(cursor, count, matches, reclaim=False)
    found = []
    for key in walked:
        value = db.peek_read(key)
        if type_name(value) != wanted_type:
            continue
        if value is None and key in db.index:
            continue        # logically expired but kept (a replica's, or paused)
        found.append(key)
    return [b"%d" % next_cursor, found]


# -- renaming, copying, moving -------------------------------------------------------
def _move_value(source_db: Database, key: bytes, target_db: Database, new_key: bytes,
                value: Any, moved: bool = True) -> None:
    """Store ``value`` (with ``key``'s TTL) at ``new_key`` in ``target_db``. ``moved``
    (MOVE, RENAME): Redis's object itself, whose access field (LRU clock or LFU
    counter) goes with it; else a copy (COPY), a new object that starts afresh."""
    deadline = source_db.get_expire(key)
    target_db.set(new_key, value)
    if moved:
        stamp = source_db.access_of(key)
        if stamp is not None:
            target_db.set_access(new_key, stamp)
    if deadline is not None:
        target_db.set_expire(new_key, deadline)


def _rename(client, args: List[bytes], only_if_new: bool):
    db = client.db
    source, target = args[1], args[2]
    value = db.get(source)
    if value is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if source == target:
        return 0 if only_if_new else OK
    replaced = db.get(target) is not None
    if replaced and only_if_new:
        return 0
    # (Redis signals the source modified, then the target: a client tracking both is
    # told in that order)
    db.signal_modified(source)
    if replaced:
        db.delete(target)
    _move_value(db, source, db, target, value)
    db.delete(source, False)    # (Redis holds a reference: never freed lazily)
    notify(db, "g", b"rename_from", source)
    notify(db, "g", b"rename_to", target)
    client.state.dirty += 1
    return 1 if only_if_new else OK


@command("rename", 3, "write", keys=(1, 2, 1), group="generic", since="1.0.0",
         summary="Renames a key and overwrites the destination.")
def rename(client, args: List[bytes]):
    return _rename(client, args, only_if_new=False)


@command("renamenx", 3, "write fast", keys=(1, 2, 1), group="generic", since="1.0.0",
         summary="Renames a key only when the target key name doesn't exist.")
def renamenx(client, args: List[bytes]):
    return _rename(client, args, only_if_new=True)


def _parse_c_int(text: bytes, message: Optional[str] = None) -> int:
    """getIntFromObjectOrReply: a 32-bit int; ``message`` (if given) for any failure."""
    value = to_int(text)
    if value is None:
        raise CommandError(message or errors.NOT_INTEGER)
    if not -2 ** 31 <= value < 2 ** 31:
        raise CommandError(message or errors.INT_RANGE)
    return value


def _db_index(client, text: bytes) -> Database:
    index = _parse_c_int(text)
    if not 0 <= index < len(client.state.dbs):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    return client.state.dbs[index]


def copy_value(value: Any) -> Any:
    """An independent copy of a stored value (strings are immutable bytes)."""
    if value.__class__ is bytes:
        return value
    if isinstance(value, (bytearray, PackedList, dict, set)):
        return value.copy()
    if hasattr(value, "copy"):
        return value.copy()
    return _copy.deepcopy(value)


@command("copy", -3, "write denyoom", keys=(1, 2, 1), group="generic", since="6.2.0",
         summary="Copies the value of a key to a new key.")
def copy(client, args: List[bytes]):
    source, target = args[1], args[2]
    source_db = client.db
    target_db = source_db
    replace = False
    i = 3
    while i < len(args):
        option = args[i].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and i + 1 < len(args):
            target_db = _db_index(client, args[i + 1])
            i += 1
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if source_db is target_db and source == target:
        raise CommandError(errors.SAME_OBJECT)
    value = source_db.get_read(source)   # (lookupKeyRead: counted)
    if value is None:
        return 0
    if target_db.get(target) is not None:
        if not replace:
            return 0
        target_db.delete(target)
    copied = copy_value(value)
    if copied.__class__ is bytes and refcount_of(value, client.state.config) > 1:
        copied = private_integer(copied)    # (dupStringObject: an object of its own)
    _move_value(source_db, source, target_db, target, copied, moved=False)
    notify(target_db, "g", b"copy_to", target)
    client.state.dirty += 1
    return 1


@command("move", 3, "write fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Moves a key to another database.")
def move(client, args: List[bytes]):
    key = args[1]
    source_db = client.db
    target_db = _db_index(client, args[2])
    if target_db is source_db:
        raise CommandError(errors.SAME_OBJECT)
    value = source_db.get(key)
    if value is None or target_db.get(key) is not None:
        return 0
    _move_value(source_db, key, target_db, key, value)
    source_db.delete(key, False)    # (moved, not freed)
    notify(source_db, "g", b"move_from", key)
    notify(target_db, "g", b"move_to", key)
    client.state.dirty += 1
    return 1


@command("swapdb", 3, "write fast", group="server", since="4.0.0",
         summary="Swaps two Redis databases.")
def swapdb(client, args: List[bytes]):
    first = _parse_c_int(args[1], errors.INVALID_FIRST_DB)
    second = _parse_c_int(args[2], errors.INVALID_SECOND_DB)
    dbs = client.state.dbs
    if not (0 <= first < len(dbs) and 0 <= second < len(dbs)):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    if first == second:
        return OK
    a, b = dbs[first], dbs[second]
    # WATCHed keys of both databases are touched (tracking is not told, as in Redis),
    # waiters see the new contents.
    db_replaced(a, b)
    db_replaced(b, a)
    a.signal_streams_gone(b)
    b.signal_streams_gone(a)
    a.swap(b)
    a.signal_waited_keys()
    b.signal_waited_keys()
    return OK


# -- expiry --------------------------------------------------------------------------
_NX, _XX, _GT, _LT = 1, 2, 4, 8
# addReplyErrorFormat maps every CR and LF to a space (one each, not one per CRLF).
_CRLF_TO_SPACES = bytes.maketrans(b"\r\n", b"  ")
_EXPIRE_FLAGS = {b"nx": _NX, b"xx": _XX, b"gt": _GT, b"lt": _LT}


def _expire_generic(client, args: List[bytes], unit_ms: int, absolute: bool):
    key = args[1]
    flags = 0
    for word in args[3:]:
        flag = _EXPIRE_FLAGS.get(word.lower())
        if flag is None:
            # Redis formats the option with %s: bytes kept as is, cut at a NUL.
            raise CommandError(errors.UNSUPPORTED_OPTION.format(
                word.split(b"\0", 1)[0].translate(_CRLF_TO_SPACES)
                .decode("utf-8", "surrogateescape")))
        flags |= flag
    if flags & _NX and flags & (_XX | _GT | _LT):
        raise CommandError(errors.NX_XX_GT_LT)
    if flags & _GT and flags & _LT:
        raise CommandError(errors.GT_AND_LT)
    amount = parse_int(args[2])  # Redis reads the options first, then the time
    # C's LLONG_MIN / 1000 truncates toward zero: the bounds are symmetric.
    if unit_ms == 1000 and not -(LLONG_MAX // 1000) <= amount <= LLONG_MAX // 1000:
        raise CommandError(errors.INVALID_EXPIRE.format(own_name(client, args)))
    when = amount * unit_ms
    # One reading of the clock for the deadline and the "already past" test: two let
    # PEXPIRE key 1 delete the key at once whenever a millisecond ends between them
    # (Redis's two mstime() calls are nanoseconds apart; 7.2 reads it once).
    now = client.state.clock.ms()
    if not absolute:
        if when > LLONG_MAX - now:
            raise CommandError(errors.INVALID_EXPIRE.format(own_name(client, args)))
        when += now
    db = client.db
    if db.get(key) is None:
        return 0
    current = db.expires.get(key)   # (db.get_expire, inlined)
    if flags:
        if flags & _NX and current is not None:
            return 0
        if flags & _XX and current is None:
            return 0
        # A key without a TTL counts as expiring never: GT fails, LT succeeds.
        if flags & _GT and (current is None or when <= current):
            return 0
        if flags & _LT and current is not None and when >= current:
            return 0
    client.state.dirty += 1
    if when <= now and db.deadline_passed(when, now):
        db.delete(key, client.state.config.values["lazyfree-lazy-expire"])
        notify(db, "g", b"del", key)
        return 1
    db.set_expire(key, when)
    db.signal_modified(key)
    notify(db, "g", b"expire", key)
    return 1


@command("expire", -3, "write fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Sets the expiration time of a key in seconds.")
def expire(client, args: List[bytes]):
    return _expire_generic(client, args, 1000, absolute=False)


@command("pexpire", -3, "write fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Sets the expiration time of a key in milliseconds.")
def pexpire(client, args: List[bytes]):
    return _expire_generic(client, args, 1, absolute=False)


def _expire_run(unit_ms: int) -> Any:
    """The loop of ``EXPIRE key n`` (``PEXPIRE``) in a row (miniredis/runs.py; a batch
    of TTLs refreshed): _expire_generic's commonest case -- no option, a time to come,
    a key that exists and is not due to expire -- without a call each, the deadlines
    from one clock reading per run. Declined with keyspace events on and on a replica
    (the TTLs it sets itself are kept apart); anything else goes to the handler."""

    def run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
            append: Any) -> int:
        db = client.db
        tables = db.tables_for_ttl_writes()
        if tables is None:
            return done
        index, _, access, expires, now, touched, hook, lru, _, started = tables
        set_expire = db.set_expire
        changes = 0
        for request in requests[done:count]:
            try:
                command, key, text = request    # (cheapest arity test)
            except ValueError:
                break
            if command != name:
                break
            amount = to_int(text)
            if amount is None or amount <= 0 or amount > (LLONG_MAX - started) // unit_ms:
                break       # (not a time to come: the handler's errors and deletions)
            slot = index.get(key)
            if slot is None:
                append(b":0\r\n")
            elif expires and key in expires and expires[key] <= now:
                break
            else:
                access[slot] = lru          # (the handler's lookup)
                set_expire(key, started + amount * unit_ms)
                touched.add(slot)
                if hook is not None:
                    hook(db, key)
                append(b":1\r\n")
                changes += 1
            done += 1
        client.state.dirty += changes
        return done

    return run


lookup(b"expire").run = _expire_run(1000)
lookup(b"pexpire").run = _expire_run(1)


@command("expireat", -3, "write fast", keys=(1, 1, 1), group="generic", since="1.2.0",
         summary="Sets the expiration time of a key to a Unix timestamp.")
def expireat(client, args: List[bytes]):
    return _expire_generic(client, args, 1000, absolute=True)


@command("pexpireat", -3, "write fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Sets the expiration time of a key to a Unix milliseconds timestamp.")
def pexpireat(client, args: List[bytes]):
    return _expire_generic(client, args, 1, absolute=True)


def _ttl_generic(client, key: bytes, in_ms: bool, absolute: bool) -> int:
    db = client.db
    if db.peek_read(key) is None:
        return -2
    expires = db.expires     # (_time_to_live written out: TTL is a common poll)
    deadline = expires.get(key) if expires else None
    if deadline is None:
        return -1
    value = deadline if absolute else max(deadline - client.state.clock.ms(), 0)
    return value if in_ms else (value + 500) // 1000


def _time_to_live(client, key: bytes, in_ms: bool, absolute: bool) -> int:
    """TTL's (PTTL's, EXPIRETIME's...) answer for a key that exists."""
    expires = client.db.expires     # (db.get_expire inlined: TTL is a common poll)
    deadline = expires.get(key) if expires else None
    if deadline is None:
        return -1
    value = deadline if absolute else max(deadline - client.state.clock.ms(), 0)
    return value if in_ms else (value + 500) // 1000


@command("ttl", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="1.0.0",
         summary="Returns the expiration time in seconds of a key.")
def ttl(client, args: List[bytes]):
    return _ttl_generic(client, args[1], in_ms=False, absolute=False)


@command("pttl", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Returns the expiration time in milliseconds of a key.")
def pttl(client, args: List[bytes]):
    return _ttl_generic(client, args[1], in_ms=True, absolute=False)


@command("expiretime", 2, "readonly fast", keys=(1, 1, 1), group="generic", since="7.0.0",
         summary="Returns the expiration time of a key as a Unix timestamp.")
def expiretime(client, args: List[bytes]):
    return _ttl_generic(client, args[1], in_ms=False, absolute=True)


@command("pexpiretime", 2, "readonly fast", keys=(1, 1, 1), group="generic",
         since="7.0.0", summary="Returns the expiration time of a key as a Unix "
         "milliseconds timestamp.")
def pexpiretime(client, args: List[bytes]):
    return _ttl_generic(client, args[1], in_ms=True, absolute=True)


# Runs of one-key reads (commands/reads.py), each step as its handler's: a lookup that
# does not stamp the key's access (LOOKUP_NOTOUCH), of a value of any type.
for _name, _in_ms, _absolute in ((b"ttl", False, False), (b"pttl", True, False),
                                 (b"expiretime", False, True),
                                 (b"pexpiretime", True, True)):
    lookup(_name).run = read_run(
        lambda value, args, client, in_ms=_in_ms, absolute=_absolute:
        _time_to_live(client, args[1], in_ms, absolute), 2, None, -2, touch=False)
del _name, _in_ms, _absolute
lookup(b"exists").run = read_run(lambda value, args, client: 1, 2, None, 0, touch=False)


@command("persist", 2, "write fast", keys=(1, 1, 1), group="generic", since="2.2.0",
         summary="Removes the expiration time of a key.")
def persist(client, args: List[bytes]):
    db = client.db
    key = args[1]
    if db.get(key) is None or not db.persist(key):
        return 0
    client.state.dirty += 1
    db.signal_modified(key)
    notify(db, "g", b"persist", key)
    return 1


# -- OBJECT --------------------------------------------------------------------------
container("object", -2, group="generic", since="2.2.3",
          summary="A container for object introspection commands.")

_OBJECT_HELP = [
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
]


def _object_value(client, key: bytes) -> Optional[Any]:
    return client.db.peek_read(key, notify_miss=False)


@command("object|encoding", 3, "readonly", keys=(2, 2, 1), group="generic",
         since="2.2.3", summary="Returns the internal encoding of a Redis object.")
def object_encoding(client, args: List[bytes]):
    value = _object_value(client, args[2])
    if value is None:
        return None
    return encoding_of(value, client.state.config).encode()


@command("object|refcount", 3, "readonly", keys=(2, 2, 1), group="generic",
         since="2.2.3", summary="Returns the reference count of a value of a key.")
def object_refcount(client, args: List[bytes]):
    value = _object_value(client, args[2])
    if value is None:
        return None
    return refcount_of(value, client.state.config)


def refcount_of(value: Any, config: Any) -> int:
    """The reference count Redis would report for ``value`` (OBJECT REFCOUNT, DEBUG
    OBJECT). Redis shares the integers 0..9999 between keys (they report INT_MAX)
    unless maxmemory is set with an LRU/LFU policy, which needs a private object per
    key. (Redis decides when the value is stored; this looks at the current config.)"""
    if value.__class__ is bytes and encoding_of(value, config) == "int" \
            and 0 <= int(value) < 10000 and marked(value) != "private" and not (
                config["maxmemory"] and ("lru" in config["maxmemory-policy"]
                                         or "lfu" in config["maxmemory-policy"])):
        return 2147483647
    return 1


@command("object|idletime", 3, "readonly", keys=(2, 2, 1), group="generic",
         since="2.2.3", summary="Returns the time since the last access to a Redis "
         "object.")
def object_idletime(client, args: List[bytes]):
    key = args[2]
    db = client.db
    if _object_value(client, key) is None:
        return None
    if "lfu" in client.state.config["maxmemory-policy"]:
        raise CommandError(errors.OBJECT_IDLETIME_IS_LFU)
    # Both ends read the cron-refreshed LRU clock, as Redis's LRU_CLOCK() does, so a
    # key touched just now never reads 1 because the cache lagged a second boundary.
    now = client.state.lru_clock
    stamp = db.access_of(key)
    return 0 if stamp is None else max(now - stamp, 0)


@command("object|freq", 3, "readonly", keys=(2, 2, 1), group="generic", since="4.0.0",
         summary="Returns the logarithmic access frequency counter of a Redis object.")
def object_freq(client, args: List[bytes]):
    if _object_value(client, args[2]) is None:
        return None
    state = client.state
    if "lfu" not in state.config["maxmemory-policy"]:
        raise CommandError(errors.OBJECT_FREQ_NOT_LFU)
    packed = client.db.access_of(args[2])
    return 0 if packed is None else lfu_counter(state, packed)


@command("object|help", 2, "loading stale", group="generic", since="6.2.0",
         summary="Returns helpful text about the different subcommands.")
def object_help(client, args: List[bytes]):
    return help_reply(args, _OBJECT_HELP)
