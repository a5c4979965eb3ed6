"""Set commands. A Redis set is a :class:`SetValue`: a Python ``set`` of bytes that also
remembers its Redis encoding.

Redis 7.0 keeps a set of integers as an intset (at most ``set-max-intset-entries`` of
them) and converts it to a hash table when a non-integer member or one member too many
is added; it never converts back when members are removed. That history cannot be
recomputed from the contents, so the value carries it (``SetValue.hashtable``).
Sets that Redis builds afresh (the STORE commands, SPOP's rebuild of a nearly emptied
set, SMOVE's new destination) start as intsets exactly when Redis's would.

The encoding shows in replies too, and is followed: an intset lists its members in
ascending numeric order (SMEMBERS, SSCAN in one call with cursor 0, SINTER over it,
SUNION/SDIFF whose result is an intset), where a hash table's order is unspecified.
"""
from __future__ import annotations

import random
from typing import Any, Iterable, List, Optional

from .. import errors
from ..security.outputlimits import draws
from ..args import to_int
from ..errors import CommandError
from ..datatypes.names import register_encoding, register_type
from ..protocol import Set
from ..evict import stamps_count
from ..notify import notify
from . import command, lookup, numkeys_positions, unchanged_windows
from .hashes import parse_random_count, parse_scan, scan_members
from .keys import parse_cursor
from .reads import read_run

# SPOP with a count rebuilds the set from the survivors when few of them remain
# (Redis's SPOP_MOVE_STRATEGY_MUL): observable because the rebuilt set may be an intset.
_SPOP_MOVE_STRATEGY_MUL = 5


class SetValue(set):
    """A set value that knows whether Redis would hold it as a hash table (else an
    intset). ``scan_snapshot`` caches the scan order during SSCAN (see
    :func:`miniredis.commands.hashes.scan_members`); ``draw_pool`` caches the members
    for random draws (see :func:`_random_member`)."""

    __slots__ = ("hashtable", "scan_snapshot", "draw_pool")

    def __init__(self, members: Iterable[bytes] = ()) -> None:
        super().__init__(members)
        self.hashtable = False
        self.scan_snapshot: Any = None
        self.draw_pool: Optional[tuple] = None

    def copy(self) -> "SetValue":
        """COPY duplicates the encoding too (Redis's setTypeDup keeps it)."""
        duplicate = SetValue(self)
        duplicate.hashtable = self.hashtable
        return duplicate


def _encoding(value: SetValue, config: Any) -> str:
    """OBJECT ENCODING: the remembered state, not the current contents (see module)."""
    return "hashtable" if value.hashtable else "intset"


register_type(SetValue, "set")
register_encoding(SetValue, _encoding)


def _is_integer(member: bytes) -> bool:
    """Whether an intset can hold ``member`` (string2ll's rules: "007", "+1" cannot)."""
    return to_int(member) is not None


def new_set(client, members: Iterable[bytes]) -> SetValue:
    """A set Redis would build by adding ``members`` to a fresh intset: an intset iff
    every member is an integer and they fit set-max-intset-entries."""
    value = SetValue(members)
    value.hashtable = not (len(value) <= client.state.config["set-max-intset-entries"]
                           and all(map(_is_integer, value)))
    return value


def _ordered(value: SetValue) -> List[bytes]:
    """The members in the order Redis walks them: ascending numbers for an intset."""
    if value.hashtable:
        return list(value)
    return sorted(value, key=int)


def get_set(client, key: bytes) -> Optional[SetValue]:
    """The set at ``key`` for a write (no keyspace hit/miss counted), None if missing,
    WRONGTYPE for anything else."""
    return _adopt(client, key, client.db.get_typed(key, set))


def read_set(client, key: bytes) -> Optional[SetValue]:
    """The set at ``key`` for a read command: counts a keyspace hit or miss."""
    value = client.db.get_read(key)
    if value is not None and not isinstance(value, set):
        raise CommandError(errors.WRONGTYPE)
    return _adopt(client, key, value)


def _adopt(client, key: bytes, value: Any) -> Any:
    """A plain set stored by other code (a loader) becomes a SetValue, its encoding
    judged from its contents as Redis does when it loads a set."""
    if value is None or value.__class__ is SetValue:
        return value
    adopted = new_set(client, value)
    client.db.replace_value(key, adopted)
    return adopted


def _add(client, value: SetValue, members: Iterable[bytes]) -> int:
    """Add ``members``; convert to a hash table as Redis's setTypeAdd would (a new
    non-integer member, or a new member beyond set-max-intset-entries)."""
    added = 0
    non_integer = False
    for member in members:
        if member not in value:
            value.add(member)
            added += 1
            if not non_integer and not value.hashtable and not _is_integer(member):
                non_integer = True
    if added:
        value.draw_pool = None      # new members must be drawable
    if added and not value.hashtable and (
            non_integer or len(value) > client.state.config["set-max-intset-entries"]):
        value.hashtable = True
        value.scan_snapshot = None
    return added


def _random_member(value: SetValue) -> bytes:
    """A uniformly random member in O(1) amortised time (a Python set cannot index).

    Draws from a cached tuple of the members, rejecting those removed since. The
    cache is dropped whenever members are added (see :func:`_add`) and rebuilt once
    more than half of it is stale, so a loop of SPOPs costs O(n) overall, not O(n**2).
    """
    pool = value.draw_pool
    if pool is None or 2 * len(value) < len(pool):
        pool = value.draw_pool = tuple(value)
    while True:
        member = pool[random.randrange(len(pool))]
        if member in value:
            return member


# -- membership ---------------------------------------------------------------------------
@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Add one or more members to a set")
def sadd(client, args: List[bytes]):
    key = args[1]
    # (get_set, written out: SADD's path, one request a read)
    value = client.db.get(key)
    if value.__class__ is not SetValue:
        if value is not None and not isinstance(value, set):
            raise CommandError(errors.WRONGTYPE)
        value = _adopt(client, key, value)
    elif len(args) == 3 and args[2] in value:
        return 0        # (the member there: nothing changes, nothing is told)
    if value is None:
        value = SetValue()
        # Redis creates an intset if the first member is an integer, else a hash table.
        value.hashtable = not _is_integer(args[2])
        client.db.set(key, value)
    added = _add(client, value, args[2:])
    if added:
        client.state.dirty += added
        client.db.signal_modified(key)
        notify(client.db, "s", b"sadd", key)
    return added


def _sadd_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
              append: Any) -> int:
    # SADDs of one member in a row (miniredis/runs.py): sadd's commonest cases -- a
    # member already there, one added to a hash table or to an intset that stays one
    # -- at a key that exists and is not due to expire, without a call each.
    db = client.db
    tables = db.tables_for_writes()
    if tables is None:
        return done
    index, values, access, expires, now, touched, hook, lru, config = tables
    events = config["notify-keyspace-events"]
    max_intset = config["set-max-intset-entries"]
    # The key of the previous request when its set is the one at hand (nothing in
    # this loop replaces a set), so a run at one key looks it up once.
    last = None
    lfu = stamps_count(access)
    added = 0
    if count - done > 1 and requests[done + 1] == requests[done]:
        done = unchanged_windows(requests, done, count, name, tables, (SetValue,),
                                 _member_there, append)
    for request in requests[done:count]:
        try:
            command, key, member = request  # (cheapest arity test)
        except ValueError:
            break
        if command != name:
            break
        if key != last:
            slot = index.get(key)
            if slot is None or expires and key in expires and expires[key] <= now:
                break
            value = values[slot]
            if value.__class__ is not SetValue:
                break
            access[slot] = lru
            last = key
        elif lfu:
            access[slot] = lru
        if member in value:
            append(b":0\r\n")
        else:
            if not value.hashtable and (len(value) >= max_intset
                                        or not _is_integer(member)):
                break                       # (converted to a hash table by SADD)
            value.add(member)
            added += 1
            value.draw_pool = None
            touched.add(slot)
            if hook is not None:
                hook(db, key)
            if events:
                notify(db, "s", b"sadd", key)
            append(b":1\r\n")
        done += 1
    db.state.dirty += added     # (only the members added are changes)
    return done


def _member_there(value: SetValue, request: List[bytes]) -> bool:
    """A SADD of one member that is there already (it changes nothing)."""
    return len(request) == 3 and request[2] in value


lookup(b"sadd").run = _sadd_run


@command("srem", -3, "write fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Remove one or more members from a set")
def srem(client, args: List[bytes]):
    key = args[1]
    value = get_set(client, key)
    if value is None:
        return 0
    removed = 0
    for member in args[2:]:
        if member in value:
            value.remove(member)
            removed += 1
            if not value:
                break   # Redis deletes the key at once and stops looking
    if removed:
        client.state.dirty += removed
        notify(client.db, "s", b"srem", key)
        client.db.delete_if_empty(key, value)
        client.db.signal_modified(key)
    return removed


@command("scard", 2, "readonly fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Get the number of members in a set")
def scard(client, args: List[bytes]):
    value = read_set(client, args[1])
    return 0 if value is None else len(value)


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Determine if a given value is a member of a set")
def sismember(client, args: List[bytes]):
    value = read_set(client, args[1])
    return int(value is not None and args[2] in value)


# Runs of one-key reads (commands/reads.py): each step as its handler's, on a set.
_SETS = frozenset((SetValue,))
lookup(b"scard").run = read_run(lambda value, args, client: len(value), 2, _SETS, 0)
lookup(b"sismember").run = read_run(
    lambda value, args, client: 1 if args[2] in value else 0, 3, _SETS, 0)


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), group="set", since="6.2.0",
         summary="Returns the membership associated with the given elements for a set")
def smismember(client, args: List[bytes]):
    value = read_set(client, args[1])
    if value is None:
        return [0] * (len(args) - 2)
    return [int(member in value) for member in args[2:]]


@command("smembers", 2, "readonly", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Get all the members in a set")
def smembers(client, args: List[bytes]):
    value = read_set(client, args[1])
    return Set() if value is None else Set(_ordered(value))


@command("smove", 4, "write fast", keys=(1, 2, 1), group="set", since="1.0.0",
         summary="Move a member from one set to another")
def smove(client, args: List[bytes]):
    source_key, destination_key, member = args[1], args[2], args[3]
    db = client.db
    source = db.get(source_key)
    destination = db.get(destination_key)
    if source is None:
        return 0        # even when the destination has the wrong type, as in Redis
    if not isinstance(source, set) or (destination is not None
                                       and not isinstance(destination, set)):
        raise CommandError(errors.WRONGTYPE)
    source = _adopt(client, source_key, source)
    if source_key == destination_key:
        return int(member in source)
    if member not in source:
        return 0
    source.remove(member)
    client.state.dirty += 1
    notify(db, "s", b"srem", source_key)
    db.delete_if_empty(source_key, source)
    db.signal_modified(source_key)
    destination = _adopt(client, destination_key, destination)
    if destination is None:
        destination = SetValue()
        destination.hashtable = not _is_integer(member)
        db.set(destination_key, destination)
    if _add(client, destination, (member,)):
        client.state.dirty += 1         # (Redis: another change when it was added)
        db.signal_modified(destination_key)
        notify(db, "s", b"sadd", destination_key)
    return 1


# -- random members -----------------------------------------------------------------------
@command("spop", -2, "write fast", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Remove and return one or multiple random members from a set")
def spop(client, args: List[bytes]):
    if len(args) > 3:
        raise CommandError(errors.SYNTAX)
    key = args[1]
    db = client.db
    if len(args) == 2:
        value = get_set(client, key)
        if value is None:
            return None
        member = _random_member(value)
        value.remove(member)
        client.state.dirty += 1
        notify(db, "s", b"spop", key)
        db.delete_if_empty(key, value)
        db.signal_modified(key)
        return member
    count = to_int(args[2])
    if count is None or count < 0:
        raise CommandError(errors.OUT_OF_RANGE_POSITIVE)
    value = get_set(client, key)
    if value is None or count == 0:
        return Set()
    size = len(value)
    client.state.dirty += min(count, size)
    notify(db, "s", b"spop", key)
    if count >= size:
        # The whole set, replied as Redis's union of it (an intset when it can be):
        # Redis runs SUNION here: its read lookup counts a keyspace hit, and its
        # result set is freed as SUNION's is (lazyfree-lazy-server-del).
        db.get_read(key)
        popped = _reply_built_set(client, value)
        db.delete(key)
        notify(db, "g", b"del", key)
        return popped
    remaining = size - count
    members = tuple(value)
    if remaining * _SPOP_MOVE_STRATEGY_MUL > count:
        popped = random.sample(members, count)
        value.difference_update(popped)
    else:
        # Redis moves the few survivors into a new set, which may be an intset again.
        kept = random.sample(members, remaining)
        value.difference_update(kept)
        popped = list(value)
        db.replace_value(key, new_set(client, kept))
        # Redis's dbOverwrite frees the old set, holding the popped members, then.
        db.release(value, client.state.config.values["lazyfree-lazy-server-del"])
    db.signal_modified(key)
    return Set(popped)


@command("srandmember", -2, "readonly", keys=(1, 1, 1), group="set", since="1.0.0",
         summary="Get one or multiple random members from a set")
def srandmember(client, args: List[bytes]):
    if len(args) > 3:
        raise CommandError(errors.SYNTAX)
    if len(args) == 2:
        value = read_set(client, args[1])
        if value is None:
            return None
        return _random_member(value)
    count = parse_random_count(args[2])
    value = read_set(client, args[1])
    if value is None or count == 0:
        return []
    if count < 0:
        return random.choices(tuple(value), k=draws(client, -count))
    if count >= len(value):
        return _ordered(value)
    return random.sample(tuple(value), count)


# -- algebra ------------------------------------------------------------------------------
def _lookup_all(client, keys: List[bytes]) -> List[Optional[SetValue]]:
    """Every key's set (None where missing), type-checked before anything is computed.
    Redis 7.0 counts these as reads (keyspace hits/misses), STORE variants included."""
    return [read_set(client, key) for key in keys]


def _intersection(sets: List[Optional[SetValue]], limit: int = 0) -> List[bytes]:
    """Members of every set, walked from the smallest (the first of equal sizes, as
    Redis's stable sort leaves it), in that set's order; at most ``limit`` (0: all)."""
    if any(value is None for value in sets):
        return []
    sets = sorted(sets, key=len)
    smallest, others = sets[0], sets[1:]
    found = []
    for member in _ordered(smallest):
        if all(member in other for other in others):
            found.append(member)
            if limit and len(found) >= limit:
                break
    return found


def _union(sets: List[Optional[SetValue]]) -> set:
    result: set = set()
    for value in sets:
        if value is not None:
            result.update(value)
    return result


def _difference(sets: List[Optional[SetValue]]) -> set:
    first = sets[0]
    if first is None:
        return set()
    result = set(first)
    for value in sets[1:]:
        if value is not None:
            result.difference_update(value)
            if not result:
                break
    return result


def _store(client, destination: bytes, members: Iterable[bytes], event: bytes) -> int:
    """Replace ``destination`` by the result (deleting it when the result is empty)."""
    db = client.db
    value = new_set(client, members)
    if value:
        db.set(destination, value)
        client.state.dirty += 1
        notify(db, "s", event, destination)
    elif db.delete_stored(destination):
        client.state.dirty += 1
        notify(db, "g", b"del", destination)
    return len(value)


def _reply_built_set(client, members: Iterable[bytes]) -> Set:
    """SUNION/SDIFF reply by walking the result set Redis builds (sorted if an intset).
    Redis then frees that set with freeObjAsync under lazyfree-lazy-server-del (its
    encoding judged from the result: SDIFF's may have been a hash table on the way)."""
    value = new_set(client, members)
    if client.state.config.values["lazyfree-lazy-server-del"]:
        client.db.release(value)
    return Set(_ordered(value))


@command("sinter", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0",
         summary="Intersect multiple sets")
def sinter(client, args: List[bytes]):
    return Set(_intersection(_lookup_all(client, args[1:])))


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0",
         summary="Intersect multiple sets and store the resulting set in a key")
def sinterstore(client, args: List[bytes]):
    sets = _lookup_all(client, args[2:])
    return _store(client, args[1], _intersection(sets), b"sinterstore")


@command("sunion", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0",
         summary="Add multiple sets")
def sunion(client, args: List[bytes]):
    return _reply_built_set(client, _union(_lookup_all(client, args[1:])))


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0",
         summary="Add multiple sets and store the resulting set in a key")
def sunionstore(client, args: List[bytes]):
    sets = _lookup_all(client, args[2:])
    return _store(client, args[1], _union(sets), b"sunionstore")


@command("sdiff", -2, "readonly", keys=(1, -1, 1), group="set", since="1.0.0",
         summary="Subtract multiple sets")
def sdiff(client, args: List[bytes]):
    return _reply_built_set(client, _difference(_lookup_all(client, args[1:])))


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), group="set", since="1.0.0",
         summary="Subtract multiple sets and store the resulting set in a key")
def sdiffstore(client, args: List[bytes]):
    sets = _lookup_all(client, args[2:])
    return _store(client, args[1], _difference(sets), b"sdiffstore")


@command("sintercard", -3, "readonly", keys=(0, 0, 0), group="set", since="7.0.0",
         summary="Intersect multiple sets and return the cardinality of the result",
         key_finder=numkeys_positions)
def sintercard(client, args: List[bytes]):
    numkeys = to_int(args[1])
    if numkeys is None or numkeys <= 0:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    if numkeys > len(args) - 2:
        raise CommandError(errors.NUMKEYS_EXCEED_ARGS)
    limit = 0
    i = 2 + numkeys
    while i < len(args):
        if args[i].lower() == b"limit" and i + 1 < len(args):
            limit = to_int(args[i + 1])
            if limit is None or limit < 0:
                raise CommandError(errors.LIMIT_NEGATIVE)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    sets = _lookup_all(client, args[2:2 + numkeys])
    return len(_intersection(sets, limit))


# -- scanning -----------------------------------------------------------------------------
@command("sscan", -3, "readonly", keys=(1, 1, 1), group="set", since="2.8.0",
         summary="Incrementally iterate Set elements")
def sscan(client, args: List[bytes]):
    cursor = parse_cursor(args[2])
    value = read_set(client, args[1])
    if value is None:
        return [b"0", []]
    matches, count = parse_scan(args)
    if value.hashtable:
        cursor, members = scan_members(value, cursor, count)
    else:
        cursor, members = 0, _ordered(value)   # an intset is returned whole
    if matches is not None:
        members = [member for member in members if matches(member)]
    return [b"%d" % cursor, members]

