"""List commands. A Redis list is a :class:`~miniredis.datatypes.packedlist.PackedList`:
O(1) amortised at both ends, elements packed in chunks.

A list the database adds is reported to the blocking machinery
(:mod:`miniredis.blocking`) so clients parked in BLPOP & co. are served after the
command completes, oldest first, exactly as Redis does.
"""
from __future__ import annotations

from itertools import islice
from typing import Any, List, Optional

from .. import errors
from ..args import LLONG_MIN, index_range, parse_int, to_int
from ..datatypes.packedlist import PackedList
from ..blocking import NOT_SERVED, block, parse_block_timeout
from ..errors import CommandError
from ..protocol import (BULK_HEADS, CRLF, NULL_ARRAY, OK, Bulks, UniformBulks,
                        bulk_run, integer_run)
from ..evict import stamps_count
from ..notify import notify
from . import (OWN_LOOP_ARGS, OWN_LOOP_ITEMS, command, count_accesses, lookup,
               numkeys_positions, one_key_run_end, own_name)
from .reads import read_run

_WHERE = {b"left": True, b"right": False}


def get_list(client, key: bytes) -> Optional[PackedList]:
    """The list at ``key``, None if missing, WRONGTYPE for anything else."""
    return client.db.get_typed(key, PackedList)


def _read_list(client, key: bytes) -> Optional[PackedList]:
    """Like :func:`get_list` for read-only commands (hit/miss stats, keymiss event)."""
    return client.db.get_typed_read(key, PackedList)


def _push(client, args: List[bytes], left: bool, only_existing: bool) -> int:
    db = client.db
    key = args[1]
    values = db.get(key)                # get_list, inlined (LPUSH's hot path)
    if values.__class__ is not PackedList and values is not None:
        raise CommandError(errors.WRONGTYPE)
    if values is None:
        if only_existing:
            return 0
        values = PackedList()
        db.set(key, values)
    length = values.extendleft(args[2:]) if left else values.extend(args[2:])
    client.state.dirty += len(args) - 2
    db.signal_modified(key)
    notify(db, "l", b"lpush" if left else b"rpush", key)
    return length


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Prepends one or more elements to a list. Creates the key if it "
                 "doesn't exist.")
def lpush(client, args: List[bytes]):
    return _push(client, args, left=True, only_existing=False)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Appends one or more elements to a list. Creates the key if it "
                 "doesn't exist.")
def rpush(client, args: List[bytes]):
    return _push(client, args, left=False, only_existing=False)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="2.2.0",
         summary="Prepends one or more elements to a list only when the list exists.")
def lpushx(client, args: List[bytes]):
    return _push(client, args, left=True, only_existing=True)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list", since="2.2.0",
         summary="Appends an element to a list only when the list exists.")
def rpushx(client, args: List[bytes]):
    return _push(client, args, left=False, only_existing=True)


def pop_elements(client, key: bytes, values: PackedList, left: bool, count: int,
                 counted: bool = True) -> List[bytes]:
    """Pop up to ``count`` elements from one end, deleting the key once emptied; each
    a change to save unless not ``counted``."""
    if count == 1 and values:
        popped = [values.popleft() if left else values.pop()]
    else:
        popped = values.pop_many(count, left)
    if counted:
        client.state.dirty += len(popped)
    db = client.db
    notify(db, "l", b"lpop" if left else b"rpop", key)
    db.delete_if_empty(key, values)
    db.signal_modified(key)
    return popped


def _pop(client, args: List[bytes], left: bool):
    if len(args) > 3:
        raise CommandError(errors.WRONG_ARITY.format(own_name(client, args)))
    key = args[1]
    count = None
    if len(args) == 3:
        count = to_int(args[2])
        if count is None or count < 0:
            raise CommandError(errors.OUT_OF_RANGE_POSITIVE)
    db = client.db
    values = db.get(key)                # get_list, inlined (RPOP's hot path)
    if values is None:
        return None if count is None else NULL_ARRAY
    if values.__class__ is not PackedList:
        raise CommandError(errors.WRONGTYPE)
    if count is None:
        try:
            popped = values.popleft() if left else values.pop()
        except IndexError:              # (an empty list, never stored: as before)
            return pop_elements(client, key, values, left, 1)[0]
        client.state.dirty += 1
        if db.state.config.values["notify-keyspace-events"]:  # (notify's own test)
            notify(db, "l", b"lpop" if left else b"rpop", key)
        db.delete_if_empty(key, values)
        db.signal_modified(key)
        return popped
    if count == 0:
        return []
    return pop_elements(client, key, values, left, count)


@command("lpop", -2, "write fast", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Returns the first elements in a list after removing it. Deletes the "
                 "list if the last element was popped.")
def lpop(client, args: List[bytes]):
    return _pop(client, args, left=True)


@command("rpop", -2, "write fast", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Returns and removes the last elements of a list. Deletes the list if "
                 "the last element was popped.")
def rpop(client, args: List[bytes]):
    return _pop(client, args, left=False)


def _push_run(left: bool) -> Any:
    """The loop of LPUSHes (RPUSHes) in a row (miniredis/runs.py): _push at a list that
    exists and is not due to expire, without a call each. Anything else (a new key,
    another type, clients waiting on keys) goes through the command itself."""
    event = b"lpush" if left else b"rpush"

    def run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
            append: Any) -> int:
        db = client.db
        tables = db.tables_for_writes()
        if tables is None:
            return done
        index, values, access, expires, now, touched, hook, lru, config = tables
        events = config["notify-keyspace-events"]
        first = done
        while done < count:
            args = requests[done]
            if not 3 <= len(args) <= OWN_LOOP_ARGS or args[0] != name:
                break
            key = args[1]
            slot = index.get(key)
            if slot is None or expires and key in expires and expires[key] <= now:
                break
            value = values[slot]
            if value.__class__ is not PackedList:
                break
            touched.add(slot)
            if len(args) == 3 and hook is None and not events and done + 1 < count \
                    and len(requests[done + 1]) == 3 and requests[done + 1][1] == key:
                # Pushes of one element to this key in a row (a producer filling a
                # queue) go in together: the replies count up one by one. (The next
                # request is looked at first: pushes to many keys in turn pay no call.)
                stop = one_key_run_end(requests, done, count, name, key, 3)
                if stop < 0:            # (a window of identical pushes: one element)
                    stop = -stop
                    items = [args[2]] * (stop - done)
                elif stop > done + 1:
                    items = [other[2] for other in requests[done:stop]]
                if stop > done + 1:
                    count_accesses(access, slot, lru, stop - done)
                    length = value.extendleft(items) if left else value.extend(items)
                    append(integer_run(length - len(items) + 1, len(items), 1))
                    done = stop
                    continue
            access[slot] = lru
            length = value.extendleft(args[2:]) if left else value.extend(args[2:])
            if hook is not None:
                hook(db, key)
            if events:
                notify(db, "l", event, key)
            append(b":%d\r\n" % length)
            done += 1
        # A change per element, summed once per run (no work per request).
        db.state.dirty += sum(map(len, requests[first:done])) - 2 * (done - first)
        return done

    return run


def _pop_run(left: bool) -> Any:
    """The loop of LPOPs (RPOPs) without a count in a row (miniredis/runs.py): _pop at
    a list that exists and is not due to expire, the key deleted with its last
    element, without a call each."""
    event = b"lpop" if left else b"rpop"

    def run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
            append: Any) -> int:
        db = client.db
        tables = db.tables_for_writes()
        if tables is None:
            return done
        index, values, access, expires, now, touched, hook, lru, config = tables
        events = config["notify-keyspace-events"]
        extend = append.__self__.extend   # (a bulk reply in three pieces: protocol.py)
        first = done
        # The key of the previous request while its list is the one at hand (until
        # it empties), so a run at one key looks it up and stamps it once.
        last = None
        lfu = stamps_count(access)
        for request in requests[done:count]:
            try:
                command, key = request  # (cheapest arity test)
            except ValueError:
                break
            if command != name:
                break
            if key != last:
                slot = index.get(key)
                if slot is None or expires and key in expires and expires[key] <= now:
                    break
                value = values[slot]
                if value.__class__ is not PackedList:
                    break
                access[slot] = lru
                last = key
            elif lfu:
                access[slot] = lru
            end = value.head if left else value.tail
            if len(end) > 1:        # (pop/popleft's commonest case, written out)
                popped = end.popleft() if left else end.pop()
                empty = False
            else:
                popped = value.popleft() if left else value.pop()
                empty = not value
            if events:
                notify(db, "l", event, key)
            if empty:
                db.delete_if_empty(key, value)    # (its estimate subtracted)
                last = None
            else:
                touched.add(slot)
            if hook is not None:
                hook(db, key)
            try:
                extend((BULK_HEADS[len(popped)], popped, CRLF))
            except IndexError:
                append(b"$%d\r\n%s\r\n" % (len(popped), popped))
            done += 1
        db.state.dirty += done - first  # (a change per element)
        return done

    return run


lookup(b"lpush").run = _push_run(True)
lookup(b"rpush").run = _push_run(False)
lookup(b"lpop").run = _pop_run(True)
lookup(b"rpop").run = _pop_run(False)


@command("llen", 2, "readonly fast", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Returns the length of a list.")
def llen(client, args: List[bytes]):
    values = _read_list(client, args[1])
    return 0 if values is None else len(values)


@command("lrange", 4, "readonly", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Returns a range of elements from a list.")
def lrange(client, args: List[bytes]):
    start, end = parse_int(args[2]), parse_int(args[3])
    values = _read_list(client, args[1])
    if values is None:
        return []
    bounds = index_range(start, end, len(values))
    if bounds is None:
        return []
    start, end = bounds
    items, width = values.read_range(start, end + 1)
    if width < 0:
        return Bulks(items)
    reply = UniformBulks(items)
    reply.width = width
    return reply


def _range_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
               append: Any) -> int:
    """LRANGEs in a row (miniredis/runs.py), without a call each: replies to each of
    ``requests[done:]`` that is ``[name, key, start, stop]`` at a list not due to
    expire, with integer indexes and at most ``OWN_LOOP_ITEMS`` elements, as LRANGE
    would; returns the position of the first other request (a missing key, another
    type, a bad index, a longer range...), which the caller runs through LRANGE
    itself."""
    db = client.db
    index, values, access, expires, now, lru = db.tables_for_reads()
    first = done
    # The key of the previous request, its list found and stamped (a run of reads
    # at one key looks it up and stamps it once).
    last = None
    lfu = stamps_count(access)
    for request in requests[done:count]:
        try:
            command, key, start, stop = request  # (cheapest arity test)
        except ValueError:
            break
        if command != name or expires and key in expires and expires[key] <= now:
            break
        if key != last:
            slot = index.get(key)
            if slot is None:
                break
            value = values[slot]
            if value.__class__ is not PackedList:
                break
            stamp = True
        else:
            stamp = False
        start = to_int(start)
        stop = to_int(stop)
        if start is None or stop is None:
            break
        size = len(value)
        if start < 0:
            start = max(size + start, 0)
        if stop < 0:
            stop += size
        elif stop >= size:
            stop = size - 1
        if stop - start >= OWN_LOOP_ITEMS:
            break
        if stamp:
            access[slot] = lru
            last = key
        elif lfu:
            access[slot] = lru
        if start > stop:
            append(b"*0\r\n")
        else:
            items, width = value.read_range(start, stop + 1)
            append(b"*%d\r\n" % len(items))
            append(bulk_run(items, width))
        done += 1
    client.state.stats.keyspace_hits += done - first
    return done


lookup(b"lrange").run = _range_run


@command("lindex", 3, "readonly", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Returns an element from a list by its index.")
def lindex(client, args: List[bytes]):
    values = _read_list(client, args[1])    # first, as Redis: nil for a missing key
    return None if values is None else _element_at(values, args, client)


def _element_at(values: PackedList, args: List[bytes], client: Any) -> Optional[bytes]:
    """LINDEX's answer from the list at hand (CommandError for an index that is not
    an integer)."""
    index = parse_int(args[2])
    if index < 0:
        index += len(values)
    if 0 <= index < len(values):
        return values[index]
    return None


# Runs of one-key reads (commands/reads.py): each step as its handler's, on a list.
_LISTS = frozenset((PackedList,))
lookup(b"llen").run = read_run(lambda values, args, client: len(values), 2, _LISTS, 0)
lookup(b"lindex").run = read_run(_element_at, 3, _LISTS, None)


@command("lset", 4, "write denyoom", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Sets the value of an element in a list by its index.")
def lset(client, args: List[bytes]):
    key = args[1]
    values = get_list(client, key)      # first, as Redis: no such key, then the index
    if values is None:
        raise CommandError(errors.NO_SUCH_KEY)
    index = parse_int(args[2])
    if index < 0:
        index += len(values)
    if not 0 <= index < len(values):
        raise CommandError(errors.INDEX_OUT_OF_RANGE)
    values[index] = args[3]
    client.db.signal_modified(key)
    notify(client.db, "l", b"lset", key)
    return OK


@command("linsert", 5, "write denyoom", keys=(1, 1, 1), group="list", since="2.2.0",
         summary="Inserts an element before or after another element in a list.")
def linsert(client, args: List[bytes]):
    key = args[1]
    where = args[2].lower()
    if where not in (b"before", b"after"):
        raise CommandError(errors.SYNTAX)
    values = get_list(client, key)
    if values is None:
        return 0
    try:
        index = values.index(args[3])
    except ValueError:
        return -1
    values.insert(index if where == b"before" else index + 1, args[4])
    client.state.dirty += 1
    client.db.signal_modified(key)
    notify(client.db, "l", b"linsert", key)
    return len(values)


@command("lrem", 4, "write", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Removes elements from a list. Deletes the list if the last element "
                 "was removed.")
def lrem(client, args: List[bytes]):
    key = args[1]
    count = parse_int(args[2])
    element = args[3]
    values = get_list(client, key)
    if values is None:
        return 0
    if count == 0:
        kept = [v for v in values if v != element]
        removed = len(values) - len(kept)
        if removed:
            values.clear()
            values.extend(kept)
    else:
        # Remove the first |count| matches from the head (count > 0) or the tail.
        items = list(values) if count > 0 else list(reversed(values))
        limit = abs(count)
        kept = []
        removed = 0
        for item in items:
            if removed < limit and item == element:
                removed += 1
            else:
                kept.append(item)
        if removed:
            values.clear()
            values.extend(kept if count > 0 else reversed(kept))
    if removed:
        client.state.dirty += removed
        notify(client.db, "l", b"lrem", key)
        client.db.delete_if_empty(key, values)
        client.db.signal_modified(key)
    return removed


@command("ltrim", 4, "write", keys=(1, 1, 1), group="list", since="1.0.0",
         summary="Removes elements from both ends a list. Deletes the list if all "
                 "elements were trimmed.")
def ltrim(client, args: List[bytes]):
    key = args[1]
    start, end = parse_int(args[2]), parse_int(args[3])
    values = get_list(client, key)
    if values is None:
        return OK
    size = len(values)
    bounds = index_range(start, end, size)
    if bounds is None:
        values.clear()
    else:
        start, end = bounds
        values.pop_many(len(values) - 1 - end, left=False, keep=False)
        values.pop_many(start, left=True, keep=False)
    client.state.dirty += size - len(values)    # (the elements removed)
    notify(client.db, "l", b"ltrim", key)
    client.db.delete_if_empty(key, values)
    client.db.signal_modified(key)
    return OK


@command("lpos", -3, "readonly", keys=(1, 1, 1), group="list", since="6.0.6",
         summary="Returns the index of matching elements in a list.")
def lpos(client, args: List[bytes]):
    rank, count, maxlen = 1, None, 0
    i = 3
    while i < len(args):
        option = args[i].lower()
        if i + 1 >= len(args) or option not in (b"rank", b"count", b"maxlen"):
            raise CommandError(errors.SYNTAX)
        number = parse_int(args[i + 1])
        if option == b"rank":
            if number == 0:
                raise CommandError(errors.LPOS_RANK_ZERO)
            rank = number
        elif option == b"count":
            if number < 0:
                raise CommandError(errors.LPOS_COUNT_NEGATIVE)
            count = number
        else:
            if number < 0:
                raise CommandError(errors.LPOS_MAXLEN_NEGATIVE)
            maxlen = number
        i += 2
    values = _read_list(client, args[1])
    if values is None:
        return None if count is None else []
    size = len(values)
    if rank == LLONG_MIN:
        rank = -1  # Redis cannot negate it and ends up matching from the first hit
    skip = abs(rank) - 1
    wanted = 1 if count is None else (count or size)
    items: Any = enumerate(values) if rank > 0 else \
        ((size - 1 - j, v) for j, v in enumerate(reversed(values)))
    if maxlen:
        items = islice(items, maxlen)
    found = []
    for index, value in items:
        if value == args[2]:
            if skip:
                skip -= 1
                continue
            found.append(index)
            if len(found) >= wanted:
                break
    if count is None:
        return found[0] if found else None
    return found


def parse_where(word: bytes) -> bool:
    """LEFT -> True, RIGHT -> False, anything else a syntax error."""
    where = _WHERE.get(word.lower())
    if where is None:
        raise CommandError(errors.SYNTAX)
    return where


def move_element(client, source: bytes, destination: bytes, from_left: bool,
                 to_left: bool, counted: bool = True,
                 values: Optional[PackedList] = None) -> Optional[bytes]:
    """LMOVE's effect: pop from ``source`` (``values``, when the caller has it), push
    onto ``destination`` (type-checked first, as Redis does), and wake clients
    blocked on ``destination``. A change to save unless not ``counted``."""
    if values is None:
        values = get_list(client, source)
    if values is None:
        return None
    target = get_list(client, destination)
    element = values.popleft() if from_left else values.pop()
    if counted:
        client.state.dirty += 1
    db = client.db
    if target is None:
        if source == destination and not values:
            target = values  # the list was emptied and recreated with the same element
        else:
            target = PackedList()
            db.set(destination, target)
    if to_left:
        target.appendleft(element)
    else:
        target.append(element)
    # Redis's order: the push on the destination (signalled first), the pop on the
    # source, its del, the source signalled.
    db.signal_modified(destination)
    notify(db, "l", b"lpush" if to_left else b"rpush", destination)
    notify(db, "l", b"lpop" if from_left else b"rpop", source)
    db.delete_if_empty(source, values)
    db.signal_modified(source)
    return element


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), group="list", since="6.2.0",
         summary="Returns an element after popping it from one list and pushing it to "
                 "another. Deletes the list if the last element was moved.")
def lmove(client, args: List[bytes]):
    from_left, to_left = parse_where(args[3]), parse_where(args[4])
    return move_element(client, args[1], args[2], from_left, to_left)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), group="list", since="1.2.0",
         summary="Returns the last element of a list after removing and pushing it to "
                 "another list. Deletes the list if the last element was popped.")
def rpoplpush(client, args: List[bytes]):
    return move_element(client, args[1], args[2], from_left=False, to_left=True)


def parse_mpop(args: List[bytes], first: int) -> tuple:
    """``numkeys key... LEFT|RIGHT [COUNT n]`` from ``args[first]``: (keys, left, count)."""
    numkeys = to_int(args[first])
    if numkeys is None or numkeys <= 0:
        raise CommandError(errors.NUMKEYS_POSITIVE)
    where_at = first + 1 + numkeys
    if where_at >= len(args):
        raise CommandError(errors.SYNTAX)
    keys = args[first + 1:where_at]
    left = parse_where(args[where_at])
    count = 1
    rest = args[where_at + 1:]
    if rest:
        if len(rest) != 2 or rest[0].lower() != b"count":
            raise CommandError(errors.SYNTAX)
        count = to_int(rest[1])
        if count is None or count <= 0:
            raise CommandError(errors.COUNT_POSITIVE)
    return keys, left, count


def mpop_from(client, keys: List[bytes], left: bool, count: int) -> Any:
    """Pop from the first non-empty list among ``keys``: [key, [elements]] or None."""
    for key in keys:
        values = get_list(client, key)
        if values:
            return [key, pop_elements(client, key, values, left, count)]
    return None


@command("lmpop", -4, "write", keys=(0, 0, 0), group="list", since="7.0.0",
         summary="Returns multiple elements from a list after removing them. Deletes "
                 "the list if the last element was popped.",
         key_finder=numkeys_positions)
def lmpop(client, args: List[bytes]):
    keys, left, count = parse_mpop(args, 1)
    result = mpop_from(client, keys, left, count)
    return NULL_ARRAY if result is None else result


# -- blocking variants ---------------------------------------------------------------
def _serve_pop(left: bool):
    """A waiter's serve function for BLPOP/BRPOP: one element from the ready key."""
    def serve(client, db, key):
        values = db.peek(key)
        if values.__class__ is not PackedList or not values:
            return NOT_SERVED
        # Redis counts no change for a served BLPOP (it propagates its LPOP itself).
        return [key, pop_elements(client, key, values, left, 1, counted=False)[0]]
    return serve


def _blocking_pop(client, args: List[bytes], left: bool):
    timeout = parse_block_timeout(args[-1])
    keys = args[1:-1]
    for key in keys:
        values = get_list(client, key)
        if values:
            return [key, pop_elements(client, key, values, left, 1)[0]]
    return block(client, keys, timeout, _serve_pop(left), NULL_ARRAY, kind="list")


@command("blpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list",
         since="2.0.0", summary="Removes and returns the first element in a list. Blocks "
         "until an element is available otherwise. Deletes the list if the last element "
         "was popped.")
def blpop(client, args: List[bytes]):
    return _blocking_pop(client, args, left=True)


@command("brpop", -3, "write noscript blocking", keys=(1, -2, 1), group="list",
         since="2.0.0", summary="Removes and returns the last element in a list. Blocks "
         "until an element is available otherwise. Deletes the list if the last element "
         "was popped.")
def brpop(client, args: List[bytes]):
    return _blocking_pop(client, args, left=False)


def _blocking_move(client, source: bytes, destination: bytes, from_left: bool,
                   to_left: bool, timeout: float):
    values = get_list(client, source)
    if values:
        return move_element(client, source, destination, from_left, to_left)

    def serve(client, db, key):
        ready = db.peek(key)
        if ready.__class__ is not PackedList or not ready:
            return NOT_SERVED
        # Served: no change counted, as Redis (it propagates the LMOVE itself), and
        # the source not looked up again (only the destination).
        return move_element(client, source, destination, from_left, to_left, False,
                            values=ready)
    # Timing out answers a null array, but not blocking at all (MULTI) a null bulk.
    return block(client, [source], timeout, serve, NULL_ARRAY, unblockable_reply=None,
                 kind="list")


@command("brpoplpush", 4, "write denyoom noscript blocking", keys=(1, 2, 1), group="list",
         since="2.2.0", summary="Pops an element from a list, pushes it to another list "
         "and returns it. Block until an element is available otherwise. Deletes the list "
         "if the last element was popped.")
def brpoplpush(client, args: List[bytes]):
    timeout = parse_block_timeout(args[3])
    return _blocking_move(client, args[1], args[2], False, True, timeout)


@command("blmove", 6, "write denyoom noscript blocking", keys=(1, 2, 1), group="list",
         since="6.2.0", summary="Pops an element from a list, pushes it to another list "
         "and returns it. Blocks until an element is available otherwise. Deletes the "
         "list if the last element was moved.")
def blmove(client, args: List[bytes]):
    from_left, to_left = parse_where(args[3]), parse_where(args[4])
    timeout = parse_block_timeout(args[5])
    return _blocking_move(client, args[1], args[2], from_left, to_left, timeout)


@command("blmpop", -5, "write blocking", keys=(0, 0, 0), group="list", since="7.0.0",
         summary="Pops the first element from one of multiple lists. Blocks until an "
         "element is available otherwise. Deletes the list if the last element was "
         "popped.", key_finder=lambda args: numkeys_positions(args, 2))
def blmpop(client, args: List[bytes]):
    keys, left, count = parse_mpop(args, 2)
    timeout = parse_block_timeout(args[1])     # (after the rest, as Redis)
    result = mpop_from(client, keys, left, count)
    if result is not None:
        return result

    def serve(client, db, key):
        values = db.peek(key)
        if values.__class__ is not PackedList or not values:
            return NOT_SERVED
        return [key, pop_elements(client, key, values, left, count)]
    return block(client, keys, timeout, serve, NULL_ARRAY, kind="list")
