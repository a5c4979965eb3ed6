"""Hash commands. A Redis hash is either a :class:`PackedHash` (datatypes.packedhash:
the listpack encoding, one packed blob) or a :class:`Hash`: a ``dict`` of bytes fields
to bytes values that also remembers its Redis encoding (the hash-table encoding).

Redis keeps a small hash as a listpack and converts it to a hash table once a field or
value grows longer than ``hash-max-listpack-value`` or the hash gets more than
``hash-max-listpack-entries`` fields. It never converts back: a hash emptied down to
one short field stays a hash table. That history cannot be recomputed from the
contents, so the value carries it: a new hash is a PackedHash, and the writes that make
Redis convert replace it with a Hash (``Hash.hashtable``), which stays one; OBJECT
ENCODING reports it. Memory follows the encoding: a small hash costs one object and
one blob, as a listpack costs Redis one allocation.

The encoding is observable beyond OBJECT ENCODING, and followed here: a listpack hash
lists its fields in insertion order (a Python dict does the same, including "deleted
then re-added goes last"), and HSCAN returns a listpack hash whole with cursor 0.
"""
from __future__ import annotations

import random
from bisect import bisect_left
from itertools import chain
from typing import Any, Iterable, List, Optional, Tuple

from .. import errors
from ..security.outputlimits import draws
from ..args import LLONG_MAX, LLONG_MIN, parse_int, to_int
from ..datatypes.memsize import alloc, register_sizer
from ..datatypes.packedhash import EMPTY_HASH, PackedHash, blob_length
from ..errors import CommandError
from ..datatypes.names import register_encoding, register_type
from ..protocol import OK, Bulks, FlatMap
from ..evict import stamps_count
from ..longdouble import (ZERO, add_long_double, format_long_double, overflows,
                          parse_long_double)
from ..notify import notify
from . import command, lookup, own_name, unchanged_windows
from .keys import parse_cursor, parse_scan_options
from .reads import read_run


class Hash(dict):
    """A hash value: a dict that knows whether Redis would hold it as a hash table.

    ``scan_snapshot`` caches the scan order of a hash-table hash during HSCAN (see
    :func:`scan_members`).
    """

    __slots__ = ("hashtable", "scan_snapshot")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.hashtable = False
        self.scan_snapshot: Optional[Tuple[List[int], List[bytes]]] = None

    def copy(self) -> "Hash":
        """COPY duplicates the encoding too (Redis's hashTypeDup keeps it)."""
        duplicate = Hash(self)
        duplicate.hashtable = self.hashtable
        return duplicate


def _encoding(value: Hash, config: Any) -> str:
    """OBJECT ENCODING: the remembered state, not the current contents (see module)."""
    return "hashtable" if value.hashtable else "listpack"


register_type(Hash, "hash")
register_encoding(Hash, _encoding)
register_type(PackedHash, "hash")
register_encoding(PackedHash, lambda value, config: "listpack")
# A PackedHash is one bytes object (plus the GC header of a subclass): exact, O(1).
register_sizer(PackedHash, lambda value, samples: alloc(16 + value.blob_size()))

HASH_TYPES = (dict, PackedHash)


def get_hash(client, key: bytes) -> Optional[Hash]:
    """The hash at ``key`` for a write (no keyspace hit/miss counted), None if missing,
    WRONGTYPE for anything else."""
    return _adopt(client.db, key, client.db.get_typed(key, HASH_TYPES))


def read_hash(client, key: bytes) -> Optional[Hash]:
    """The hash at ``key`` for a read command: counts a keyspace hit or miss."""
    db = client.db
    value = db.get_read(key)
    cls = value.__class__
    if cls is Hash or cls is PackedHash or value is None:
        return value
    if not isinstance(value, HASH_TYPES):
        raise CommandError(errors.WRONGTYPE)
    return _adopt(db, key, value)


def build_hash(pairs: Any, config: Any) -> Any:
    """A hash value holding ``pairs`` (a dict or (field, value) pairs), in the encoding
    Redis gives a hash it loads: a listpack within both hash-max-listpack limits."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    limit = config["hash-max-listpack-value"]
    if len(items) <= config["hash-max-listpack-entries"] and all(
            len(field) <= limit and len(value) <= limit for field, value in items):
        return PackedHash(items)
    value = Hash(items)
    value.hashtable = True
    return value


def _adopt(db, key: bytes, value: Any) -> Any:
    """A plain dict stored by other code (a loader) becomes a Hash or PackedHash, its
    encoding judged from its contents as Redis does when it loads a hash."""
    if value is None or value.__class__ is Hash or value.__class__ is PackedHash:
        return value
    adopted = build_hash(value, db.state.config)
    db.replace_value(key, adopted)
    return adopted


def _store_packed(client, key: bytes, old: Any, new: PackedHash) -> None:
    """Store the new PackedHash a write made (they are immutable) in place of ``old``
    (None: the key is new)."""
    if old is None:
        client.db.set(key, new)
    else:
        client.db.replace_value(key, new)   # same key, same TTL: only the value object


def _check_conversion(client, key: bytes, value: Any, longest: int,
                      size: Optional[int] = None) -> None:
    """After a write: convert to a hash table as Redis would (a field or value longer
    than hash-max-listpack-value was written, or too many fields). Never back.

    A PackedHash is replaced in the keyspace by an equal Hash; a Hash not yet marked
    (one adopted from a loader) is marked. ``size``: its number of fields, if known."""
    if value.hashtable:
        return
    config = client.state.config
    if size is None:
        size = len(value)
    if longest > config["hash-max-listpack-value"] or \
            size > config["hash-max-listpack-entries"]:
        if value.__class__ is PackedHash:
            converted = Hash(value.items())
            converted.hashtable = True
            client.db.replace_value(key, converted)
        else:
            value.hashtable = True
            value.scan_snapshot = None


# -- scanning (shared with sets) ------------------------------------------------------
_SCAN_MASK = (1 << 62) - 1


def _scan_position(member: bytes) -> int:
    """A member's place in scan order: its hash (fixed for the life of the process),
    never 0, which is the cursor that ends a scan."""
    return (hash(member) & _SCAN_MASK) + 1


def scan_members(value: Any, cursor: int, count: int) -> Tuple[int, List[bytes]]:
    """One step of HSCAN/SSCAN over a hash-table encoded hash or set.

    Members are visited in increasing :func:`_scan_position`; the cursor is the
    position of the next member to visit, so a call returns every present member whose
    position lies at or after the cursor, ``count`` at a time, and members never move.
    A member present during the whole scan is therefore returned at least once,
    whatever is added or removed meanwhile (members sharing a position are returned
    together, never split across calls). That needs no state; the sorted order is
    cached on the value (``scan_snapshot``) so that each call costs O(log n + count):
    the cache is rebuilt when a scan starts (cursor 0), so it always holds every member
    present since the start of any scan in progress. Members removed since are skipped.
    """
    snapshot = value.scan_snapshot
    if cursor == 0 or snapshot is None:
        order = sorted((_scan_position(member), member) for member in value)
        snapshot = ([position for position, _ in order], [member for _, member in order])
        value.scan_snapshot = snapshot
    positions, members = snapshot
    size = len(positions)
    index = bisect_left(positions, cursor)
    found: List[bytes] = []
    budget = count * 10     # also bound the removed members walked over, as Redis does
    while index < size and budget and len(found) < count:
        member = members[index]
        if member in value:
            found.append(member)
        index += 1
        budget -= 1
    while index < size and index and positions[index] == positions[index - 1]:
        member = members[index]
        if member in value:
            found.append(member)
        index += 1
    if index >= size:
        value.scan_snapshot = None   # a finished scan; the next one starts afresh
        return 0, found
    return positions[index], found


def parse_scan(args: List[bytes]) -> Tuple[Any, int]:
    """HSCAN/SSCAN options after the cursor: (MATCH predicate or None, COUNT)."""
    matches, count, _ = parse_scan_options(args, 3, allow_type=False)
    return matches, count


# -- setting and getting ------------------------------------------------------------------
def _set_pairs(client, args: List[bytes]) -> int:
    if len(args) % 2:
        raise CommandError(errors.WRONG_ARITY.format(own_name(client, args)))
    key = args[1]
    value = get_hash(client, key)
    if value is None or value.__class__ is PackedHash:
        new, added = (value or EMPTY_HASH).updated(args[2:])
        _store_packed(client, key, value, new)
        value = new
    else:
        before = len(value)
        for i in range(2, len(args), 2):
            value[args[i]] = args[i + 1]
        added = len(value) - before
    _check_conversion(client, key, value, max(len(a) for a in args[2:]))
    client.state.dirty += (len(args) - 2) >> 1      # (a change per pair, as Redis)
    client.db.signal_modified(key)
    notify(client.db, "h", b"hset", key)
    return added


def _set_one(client, key: bytes, field: bytes, data: bytes) -> int:
    """HSET with one field (its commonest form): :func:`_set_pairs` without the pair
    loop, repacking a listpack hash only when the value changes."""
    db = client.db
    state = db.state
    value = db.get(key)
    if value is not None and value.__class__ is not PackedHash and \
            value.__class__ is not Hash:
        if not isinstance(value, HASH_TYPES):
            raise CommandError(errors.WRONGTYPE)
        value = _adopt(db, key, value)   # a loader's dict
    config = state.config.values
    if value is None or value.__class__ is PackedHash:
        new, added = (EMPTY_HASH if value is None else value).put(field, data)
        if new is not value:
            _store_packed(client, key, value, new)
            value = new
        longest = len(field) if len(field) > len(data) else len(data)
        entries = config["hash-max-listpack-entries"]
        if longest > config["hash-max-listpack-value"] or \
                blob_length(value) > 2 * entries + 2 and len(value) > entries:
            _check_conversion(client, key, value, longest)
    else:
        added = field not in value
        value[field] = data
        _check_conversion(client, key, value, max(len(field), len(data)))
    state.dirty += 1
    db.touched.add(key)                 # db.signal_modified(key), inlined
    hook = state.on_key_modified
    if hook is not None:
        hook(db, key)
    if config["notify-keyspace-events"]:
        notify(db, "h", b"hset", key)
    return 1 if added else 0


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Set the string value of a hash field")
def hset(client, args: List[bytes]):
    if len(args) == 4:
        return _set_one(client, args[1], args[2], args[3])
    return _set_pairs(client, args)


def _hset_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
              append: Any) -> int:
    # HSETs of one field in a row (miniredis/runs.py): _set_one's commonest cases -- a
    # listpack hash that stays one, a hash table -- at a key that exists and is not
    # due to expire, without a call each. Anything else goes through HSET itself.
    db = client.db
    tables = db.tables_for_writes()
    if tables is None:
        return done
    index, values, access, expires, now, touched, hook, lru, config = tables
    events = config["notify-keyspace-events"]
    max_entries = config["hash-max-listpack-entries"]
    max_value = config["hash-max-listpack-value"]
    first = done
    # The listpack hash the request before left holding field = data (immutable: a
    # hash still there that very object holds it still). An HSET repeating it
    # changes nothing (heartbeats, retried writes, redis-benchmark's HSET).
    kept = kept_field = kept_data = None
    # The key of the previous request, found at ``slot`` and stamped: a run at one
    # key looks it up once (the value is read again: a listpack is replaced).
    last = None
    lfu = stamps_count(access)
    if count - done > 1 and hook is None and not events and \
            requests[done + 1] == requests[done]:
        def holds(value: Any, request: List[bytes]) -> bool:
            # The field holds that data already, and no limit lowered since the hash
            # was written would convert it (Redis weighs them on every HSET).
            if len(request) != 4 or len(request[2]) > max_value \
                    or len(request[3]) > max_value:
                return False
            if value.__class__ is PackedHash:
                if blob_length(value) > 2 * max_entries + 2 and len(value) > max_entries:
                    return False
            elif not value.hashtable:
                return False
            return value.get(request[2]) == request[3]

        done = unchanged_windows(requests, done, count, name, tables, _HASHES, holds,
                                 append)
    for request in requests[done:count]:
        try:
            command, key, field, data = request  # (cheapest arity test)
        except ValueError:
            break
        if command != name:
            break
        if key != last:
            slot = index.get(key)
            if slot is None or expires and key in expires and expires[key] <= now:
                break
            stamp = True
        else:
            stamp = False
        value = values[slot]
        if value is kept and data == kept_data and field == kept_field:
            added = 0       # (repeating the request before: nothing to look up)
        elif value.__class__ is PackedHash:
            if len(field) > max_value or len(data) > max_value:
                break                       # (converted to a hash table by HSET)
            new, added = value.put(field, data)
            if blob_length(new) > 2 * max_entries + 2 and len(new) > max_entries:
                break
            if new is not value:
                values[slot] = new
            kept, kept_field, kept_data = new, field, data
        elif value.__class__ is Hash and value.hashtable:
            added = field not in value
            value[field] = data
        else:
            break
        if stamp:
            access[slot] = lru
            touched.add(slot)
            last = key
        elif lfu:
            access[slot] = lru
        if hook is not None:
            hook(db, key)
        if events:
            notify(db, "h", b"hset", key)
        append(b":1\r\n" if added else b":0\r\n")
        done += 1
    db.state.dirty += done - first      # (one change per HSET of one field)
    return done


_HASHES = (PackedHash, Hash)     # (the classes an HSET window may find)


lookup(b"hset").run = _hset_run


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Set multiple hash fields to multiple values")
def hmset(client, args: List[bytes]):
    _set_pairs(client, args)
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Set the value of a hash field, only if the field does not exist")
def hsetnx(client, args: List[bytes]):
    key, field = args[1], args[2]
    value = get_hash(client, key)
    if value is not None and field in value:
        return 0
    if value is None or value.__class__ is PackedHash:
        new = (value or EMPTY_HASH).updated((field, args[3]))[0]
        _store_packed(client, key, value, new)
        value = new
    else:
        value[field] = args[3]
    _check_conversion(client, key, value, max(len(field), len(args[3])))
    client.state.dirty += 1
    client.db.signal_modified(key)
    notify(client.db, "h", b"hset", key)
    return 1


@command("hget", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get the value of a hash field")
def hget(client, args: List[bytes]):
    value = read_hash(client, args[1])
    return None if value is None else value.get(args[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get the values of all the given hash fields")
def hmget(client, args: List[bytes]):
    value = read_hash(client, args[1])
    if value is None:
        return [None] * (len(args) - 2)
    if value.__class__ is PackedHash:
        return value.get_many(args[2:])
    get = value.get
    return [get(field) for field in args[2:]]


@command("hdel", -3, "write fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Delete one or more hash fields")
def hdel(client, args: List[bytes]):
    key = args[1]
    value = get_hash(client, key)
    if value is None:
        return 0
    if value.__class__ is PackedHash:
        new, deleted = value.without(args[2:])
        if deleted:
            _store_packed(client, key, value, new)
            value = new
    else:
        deleted = 0
        for field in args[2:]:
            if field in value:
                del value[field]
                deleted += 1
                if not value:
                    break   # Redis deletes the key at once and stops looking
    if deleted:
        client.state.dirty += deleted
        db = client.db
        notify(db, "h", b"hdel", key)
        db.delete_if_empty(key, value)
        db.signal_modified(key)
    return deleted


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Determine if a hash field exists")
def hexists(client, args: List[bytes]):
    value = read_hash(client, args[1])
    return int(value is not None and args[2] in value)


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get the number of fields in a hash")
def hlen(client, args: List[bytes]):
    value = read_hash(client, args[1])
    return 0 if value is None else len(value)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), group="hash", since="3.2.0",
         summary="Get the length of the value of a hash field")
def hstrlen(client, args: List[bytes]):
    value = read_hash(client, args[1])
    if value is None:
        return 0
    return len(value.get(args[2], b""))


# Runs of one-key reads (commands/reads.py): each step as its handler's, on a hash.
_HASHES = frozenset((Hash, PackedHash))
lookup(b"hget").run = read_run(lambda value, args, client: value.get(args[2]), 3,
                               _HASHES, None)
lookup(b"hexists").run = read_run(
    lambda value, args, client: 1 if args[2] in value else 0, 3, _HASHES, 0)
lookup(b"hlen").run = read_run(lambda value, args, client: len(value), 2, _HASHES, 0)
lookup(b"hstrlen").run = read_run(
    lambda value, args, client: len(value.get(args[2], b"")), 3, _HASHES, 0)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get all the fields in a hash")
def hkeys(client, args: List[bytes]):
    value = read_hash(client, args[1])
    # (keys(): one unpack of a listpack, where list() would unpack for its length too)
    return Bulks() if value is None else Bulks(value.keys())


@command("hvals", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get all the values in a hash")
def hvals(client, args: List[bytes]):
    value = read_hash(client, args[1])
    return Bulks() if value is None else Bulks(value.values())


@command("hgetall", 2, "readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Get all the fields and values in a hash")
def hgetall(client, args: List[bytes]):
    value = read_hash(client, args[1])
    if value is None:
        return FlatMap()
    if value.__class__ is PackedHash:
        return FlatMap(value.flat())
    return FlatMap(chain.from_iterable(value.items()))


# -- counters -----------------------------------------------------------------------------
@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Increment the integer value of a hash field by the given number")
def hincrby(client, args: List[bytes]):
    key, field = args[1], args[2]
    increment = parse_int(args[3])
    found = _counter(client, key, field)
    current = 0
    if found[1] is not None:
        current = to_int(found[1])
        if current is None:
            raise CommandError(errors.HASH_NOT_INTEGER)
    result = current + increment
    if not LLONG_MIN <= result <= LLONG_MAX:
        raise CommandError(errors.OVERFLOW)
    text = b"%d" % result
    _store_counter(client, key, found, field, text)
    notify(client.db, "h", b"hincrby", key)
    return result


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), group="hash",
         since="2.6.0", summary="Increment the float value of a hash field by the given "
         "amount")
def hincrbyfloat(client, args: List[bytes]):
    """Long double arithmetic and formatting exactly as INCRBYFLOAT (commands.strings)."""
    key, field = args[1], args[2]
    increment = parse_long_double(args[3])
    if increment is None:
        raise CommandError(errors.NOT_FLOAT)
    if isinstance(increment, float):            # inf or -inf
        raise CommandError(errors.INCREMENT_NAN_OR_INFINITY)
    found = _counter(client, key, field)
    current: Any = ZERO
    if found[1] is not None:
        current = parse_long_double(found[1])
        if current is None:
            raise CommandError(errors.HASH_NOT_FLOAT)
    if isinstance(current, float):               # a stored "inf": the sum is infinite
        raise CommandError(errors.INCR_FLOAT_NAN)
    result = add_long_double(current, increment)
    if overflows(result):
        raise CommandError(errors.INCR_FLOAT_NAN)
    text = format_long_double(result)
    _store_counter(client, key, found, field, text)
    notify(client.db, "h", b"hincrbyfloat", key)
    return text


def _counter(client, key: bytes, field: bytes) -> Tuple[Any, Optional[bytes]]:
    """HINCRBY's and HINCRBYFLOAT's read: (the hash or None, the field's value or
    None), for :func:`_store_counter`."""
    value = get_hash(client, key)
    if value is None:
        return None, None
    return value, value.get(field)


def _store_counter(client, key: bytes, found: Tuple[Any, Optional[bytes]],
                   field: bytes, text: bytes) -> None:
    value = found[0]
    longest = max(len(field), len(text))
    if value is None or value.__class__ is PackedHash:
        new = (EMPTY_HASH if value is None else value).put(field, text)[0]
        if new is not value:
            _store_packed(client, key, value, new)
        # (_set_one's test, written out: the count is read only from a blob long
        # enough to hold more fields than a listpack may)
        config = client.state.config
        entries = config["hash-max-listpack-entries"]
        if longest > config["hash-max-listpack-value"] or \
                blob_length(new) > 2 * entries + 2 and len(new) > entries:
            _check_conversion(client, key, new, longest)
    else:
        value[field] = text
        _check_conversion(client, key, value, longest)
    client.db.signal_modified(key)


# -- random fields ------------------------------------------------------------------------
def parse_random_count(text: bytes) -> int:
    """A count of HRANDFIELD/SRANDMEMBER: an integer in -LONG_MAX..LONG_MAX."""
    count = parse_int(text)
    if count == LLONG_MIN:
        raise CommandError(errors.RANDOM_COUNT_RANGE)
    return count


def _pairs(items: Iterable[Tuple[bytes, bytes]], resp3: bool) -> List[Any]:
    """WITHVALUES replies: [field, value] pairs in RESP3, one flat array in RESP2."""
    if resp3:
        return [[field, value] for field, value in items]
    return [x for pair in items for x in pair]


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), group="hash", since="6.2.0",
         summary="Get one or multiple random fields from a hash")
def hrandfield(client, args: List[bytes]):
    if len(args) == 2:
        value = read_hash(client, args[1])
        if value is None:
            return None
        return random.choice(list(value))
    count = parse_random_count(args[2])
    withvalues = False
    if len(args) > 4 or (len(args) == 4 and args[3].lower() != b"withvalues"):
        raise CommandError(errors.SYNTAX)
    if len(args) == 4:
        withvalues = True
        if not -(LLONG_MAX // 2) <= count <= LLONG_MAX // 2:
            raise CommandError(errors.VALUE_OUT_OF_RANGE)
    value = read_hash(client, args[1])
    if value is None or count == 0:
        return []
    resp3 = client.resp == 3
    if count < 0:
        # Repetitions allowed: -count independent draws.
        items = list(value.items())
        chosen = random.choices(items, k=draws(client, -count))
        return _pairs(chosen, resp3) if withvalues else [field for field, _ in chosen]
    if count >= len(value):
        chosen = list(value.items())           # the whole hash, in its own order
    elif value.hashtable:
        chosen = random.sample(list(value.items()), count)
    else:
        # Redis samples a listpack's entries and replies in listpack order.
        items = list(value.items())
        chosen = [items[i] for i in sorted(random.sample(range(len(items)), count))]
    return _pairs(chosen, resp3) if withvalues else [field for field, _ in chosen]


# -- scanning -----------------------------------------------------------------------------
@command("hscan", -3, "readonly", keys=(1, 1, 1), group="hash", since="2.8.0",
         summary="Incrementally iterate hash fields and associated values")
def hscan(client, args: List[bytes]):
    cursor = parse_cursor(args[2])
    value = read_hash(client, args[1])
    if value is None:
        return [b"0", []]
    matches, count = parse_scan(args)
    if value.hashtable:
        cursor, fields = scan_members(value, cursor, count)
        pairs = [(field, value[field]) for field in fields]
    else:
        cursor, pairs = 0, value.items()      # a listpack is returned whole
    if matches is not None:
        pairs = [pair for pair in pairs if matches(pair[0])]
    return [b"%d" % cursor, [x for pair in pairs for x in pair]]
