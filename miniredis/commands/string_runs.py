"""The string commands' own loops (``Command.run``, miniredis/runs.py): runs of GET,
SET (and SET with EX or PX), INCR/DECR and MSET in a pipeline, each answered without
a call per request (their handlers are in commands/strings.py, which serve every other
case)."""
from __future__ import annotations

from typing import Any, List

from ..args import LLONG_MAX, LLONG_MIN, to_int
from ..evict import stamps_count
from ..notify import notify
from ..protocol import BULK_HEADS, CRLF, OK_BYTES, integer_run
from . import (OWN_LOOP_ARGS, count_accesses, identical_run_end, identical_window, lookup,
               one_key_run_end)
from .strings import COUNTER_MEMO, COUNTER_VALUES, TTL_UNITS


def _get_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
             append: Any) -> int:
    """GETs in a row (miniredis/runs.py), without a call each: appends the reply to
    each of ``requests[done:]`` that is ``[name, key]`` with a string or nothing at a
    key not due to expire, as GET would; returns the position of the first other
    request, which the caller runs through GET itself."""
    db = client.db
    index, values, access, expires, now, lru = db.tables_for_reads()
    null = client.encoder.null
    extend = append.__self__.extend     # (a bulk reply in three pieces: protocol.py)
    events = client.state.config.values["notify-keyspace-events"]
    first = done
    misses = 0
    # The key of the previous request when it held bytes, found and stamped, and its
    # reply: a run of GETs of one key looks it up once (nothing here writes).
    last = reply = None
    lfu = stamps_count(access)
    if count - done > 1 and requests[done + 1] == requests[done]:
        done = _identical_gets(requests, done, count, name, index, values, access,
                               expires, now, lru, append.__self__)
    # (a for loop: CPython 3.11 specialises a comparison only when the conditional
    # jump after it fits in one byte, which a while's test of a long loop does not)
    for request in requests[done:count]:
        try:
            command, key = request  # (cheapest arity test)
        except ValueError:
            break
        if command != name or expires and key in expires and expires[key] <= now:
            break
        if key == last:
            if lfu:
                access[slot] = lru
            extend(reply)
            done += 1
            continue
        slot = index.get(key)
        if slot is None:
            last = None     # (``slot`` is not the previous key's any more)
            misses += 1
            if events:
                notify(db, "m", b"keymiss", key)
            append(null)
        else:
            value = values[slot]
            if value.__class__ is bytes:
                access[slot] = lru
                try:
                    reply = (BULK_HEADS[len(value)], value, CRLF)
                except IndexError:
                    reply = (b"$%d\r\n" % len(value), value, CRLF)
                extend(reply)
                last = key
            elif value.__class__ is bytearray:
                last = None
                access[slot] = lru
                append(b"$%d\r\n%s\r\n" % (len(value), value))
            else:
                break
        done += 1
    stats = client.state.stats
    stats.keyspace_misses += misses
    stats.keyspace_hits += done - first - misses
    return done


def _identical_gets(requests: List[List[bytes]], done: int, count: int, name: bytes,
                    index: Any, values: Any, access: Any, expires: Any, now: int,
                    lru: int, out: List[bytes]) -> int:
    """Windows of identical GETs where a run of GETs starts (a pipeline reading one
    key again and again: redis-benchmark's GET with ``-P 16``), each of a key holding
    bytes answered by its one reply repeated, with an access counted for every
    request; returns where the per-request loop of :func:`_get_run` takes over
    (``done`` when the first window is no such one)."""
    while True:
        window = identical_window(requests, done, count, name, index, values, expires,
                                  now)
        if window is None or len(requests[done]) != 2:
            return done
        end, slot, value = window
        if value.__class__ is not bytes:
            return done
        times = end - done
        count_accesses(access, slot, lru, times)
        size = len(value)
        if size < 1024:
            # One bytes object for the window: the write's join then copies one
            # piece, not three a reply.
            out.append((BULK_HEADS[size] + value + CRLF) * times)
        else:
            out.extend((b"$%d\r\n" % size, value, CRLF) * times)
        done = end


lookup(b"get").run = _get_run


def _set_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
             append: Any) -> int:
    """"SET key value"s in a row (miniredis/runs.py): stores each of ``requests[done:]``
    that is ``[name, key, value]`` and appends ``+OK``, as SET would (unless
    ``Database.own_loops_may_write`` says no); returns the position of the first other
    request. Each is a change (INFO's dirty counter). A run that starts with a TTL
    (``SET key value EX|PX n``) is :func:`_set_ttl_run`'s."""
    if len(requests[done]) == 5:
        return _set_ttl_run(client, requests, done, count, name, append)
    db = client.db
    tables = db.tables_for_writes()
    if tables is None:
        return done
    index, values, access, expires, _, touched, hook, lru, config = tables
    start = done
    store = db.set
    events = config["notify-keyspace-events"]
    # The key of the previous request when it was found at ``slot``, its TTL dropped
    # and its slot stamped and touched: a run of SETs of one key looks it up once.
    last = None
    lfu = stamps_count(access)
    while done < count:
        request = requests[done]
        try:
            command, key, value = request  # (cheapest arity test)
        except ValueError:
            break
        if command != name:
            break
        if key == last:
            values[slot] = value
            if hook is None:
                # A window of requests identical to this one (redis-benchmark's -P 16
                # repeats one SET): each access counted, +OK each.
                end = identical_run_end(requests, done, count)
                if end > done:
                    count_accesses(access, slot, lru, end - done)
                    append(OK_BYTES * (end - done))
                    done = end
                    continue
            if lfu:
                access[slot] = lru
            if hook is not None:
                hook(db, key)
            append(OK_BYTES)
            done += 1
            continue
        slot = index.get(key)
        if slot is None or events or expires and key in expires:
            last = None           # (``slot`` is not the previous key's any more)
            store(key, value)     # a new key (its slot, the "new" event), events, a TTL
            if events:
                notify(db, "$", b"set", key)
        else:
            # Database.set of a key that exists without a TTL, written out: any type
            # is replaced (no client waits on a key here: tables_for_writes).
            values[slot] = value
            access[slot] = lru
            touched.add(slot)
            if hook is not None:
                hook(db, key)
            last = key
        append(OK_BYTES)
        done += 1
    client.state.dirty += done - start
    return done


def _set_ttl_run(client, requests: List[List[bytes]], done: int, count: int,
                 name: bytes, append: Any) -> int:
    """"SET key value EX|PX n"s in a row (a cache's writes: django-redis and
    Flask-Caching pipeline them), stored as SET's handler does (set_'s path for that
    form), the deadlines from one clock reading for the run. Declined while keyspace
    events are on and on a replica (the TTLs it sets itself are kept apart); a key due
    to expire, a time that is no positive integer or overflows, another unit or arity
    go through the handler."""
    db = client.db
    tables = db.tables_for_ttl_writes()
    if tables is None:
        return done
    index, values, access, expires, now, touched, hook, lru, _, started = tables
    store = db.set
    set_expire = db.set_expire
    start = done
    for request in requests[done:count]:
        try:
            command, key, value, option, text = request  # (cheapest arity test)
        except ValueError:
            break
        unit = TTL_UNITS.get(option)
        if command != name or unit is None:
            break
        amount = to_int(text)
        if amount is None or amount <= 0 or unit == 1000 and amount > LLONG_MAX // 1000:
            break
        deadline = amount * unit + started
        if deadline > LLONG_MAX:
            break
        slot = index.get(key)
        if slot is None:
            store(key, value, False, True)      # (a new key: its slot, its stamp)
        elif expires and key in expires and expires[key] <= now:
            break
        else:
            # Database.set after SET's lookup, written out: the lookup's stamp, the
            # value replaced whatever its type (no client waits on a key here).
            access[slot] = lru
            values[slot] = value
            touched.add(slot)
            if hook is not None:
                hook(db, key)
        set_expire(key, deadline)
        append(OK_BYTES)
        done += 1
    client.state.dirty += done - start
    return done


lookup(b"set").run = _set_run


def _counter_run(delta: int) -> Any:
    """The loop of INCRs (DECRs) in a row (miniredis/runs.py): _incr_by's commonest
    case -- a counter that exists as a string of bytes, at a key not due to expire --
    without a call each. Anything else (a new key, another type, a string grown in
    place, text that is no number, an overflow) goes through the command itself."""
    limit = LLONG_MAX if delta > 0 else LLONG_MIN

    def run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
            append: Any) -> int:
        db = client.db
        tables = db.tables_for_writes()
        if tables is None:
            return done
        index, values, access, expires, now, touched, hook, lru, config = tables
        events = config["notify-keyspace-events"]
        counters = COUNTER_VALUES
        if len(counters) >= COUNTER_MEMO - (count - done):
            counters.clear()    # (room for this whole run: checked once, not per INCR)
        extend = append.__self__.extend
        while done < count:
            try:
                command, key = requests[done]  # (cheapest arity test)
            except ValueError:
                break
            if command != name:
                break
            slot = index.get(key)
            if slot is None or expires and key in expires and expires[key] <= now:
                break
            value = values[slot]
            if value.__class__ is not bytes:
                break
            result = counters.get(value)
            if result is None:
                result = to_int(value)      # (text SET wrote: read as INCR would)
                if result is None:
                    break
            if result == limit:
                break
            if hook is None and not events and done + 1 < count and \
                    requests[done + 1][-1] == key:
                # Counts of this key in a row (a pipeline of hits on one counter) are
                # applied together: the replies count up C-side. (The next request is
                # looked at first: counters of many keys in turn pay no call each.)
                stop = one_key_run_end(requests, done, count, name, key, 2)
                if stop < 0:
                    stop = -stop
                final = result + delta * (stop - done)
                if stop > done + 1 and LLONG_MIN <= final <= LLONG_MAX:
                    count_accesses(access, slot, lru, stop - done)
                    text = b"%d" % final
                    counters[text] = final
                    values[slot] = text
                    touched.add(slot)
                    append(integer_run(result + delta, stop - done, delta))
                    done = stop
                    continue
            result += delta
            text = b"%d" % result
            counters[text] = result
            values[slot] = text
            access[slot] = lru
            touched.add(slot)
            if hook is not None:
                hook(db, key)
            if events:
                notify(db, "$", b"incrby", key)
            extend((b":", text, CRLF))
            done += 1
        return done

    return run


def _mset_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
              append: Any) -> int:
    # MSETs in a row (miniredis/runs.py), each stored as Keyspace.set_many does (MSET
    # without keyspace events); declined while events are on, writes are propagated,
    # clients wait on keys or overwritten values are freed lazily.
    db = client.db
    tables = db.tables_for_writes()
    if tables is None or tables[8]["notify-keyspace-events"]:
        return done
    index, values, access, expires, _, touched, hook, lru, _ = tables
    set_many = db.set_many
    store = db.set
    touch = touched.add
    first = done
    for args in requests[done:count]:
        size = len(args)
        if size < 3 or not size & 1 or size > OWN_LOOP_ARGS or args[0] != name:
            break
        if hook is None:
            # Keyspace.set_many's usual case, written out: a call per MSET would cost
            # a fifth of a 10-key one.
            keys = args[1::2]
            key = keys[0]
            # One key throughout that exists (a run of one key, which the INCR and
            # LPUSH loops apply together too): looked up once, the last value stored,
            # each access counted. Told by two C comparisons, so that MSETs of other
            # keys pay one.
            slot = index.get(key) if keys[-1] == key and keys.count(key) == len(keys) \
                else None
            if slot is not None:
                values[slot] = args[-1]
                count_accesses(access, slot, lru, len(keys))
                touch(slot)
            else:
                for key, value in zip(keys, args[2::2]):
                    slot = index.get(key)
                    if slot is None:
                        store(key, value)
                    else:
                        values[slot] = value
                        access[slot] = lru
                        touch(slot)
            if expires:
                for key in keys:
                    expires.pop(key, None)
        else:
            set_many(args, 1)
        append(OK_BYTES)
        done += 1
    # A change per key, summed once per run (no work per request).
    db.state.dirty += (sum(map(len, requests[first:done])) - (done - first)) >> 1
    return done


lookup(b"mset").run = _mset_run


lookup(b"incr").run = _counter_run(1)
lookup(b"decr").run = _counter_run(-1)
