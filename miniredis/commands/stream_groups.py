"""Stream consumer groups: XGROUP, XACK, XPENDING, XCLAIM and XAUTOCLAIM (t_stream.c).

Reading through a group (XREADGROUP) lives with XREAD in ``stream_reads.py``;
``streams.py`` holds the ID parsing and lookups these commands share.

None of these is a signalled modification of the key in Redis 7.0 (no WATCH touch, no
client-side caching invalidation), except XGROUP CREATE MKSTREAM creating the stream:
their changes only have the key's memory estimate redone (``db.resized``).
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from .. import errors
from ..args import LLONG_MAX, parse_int, to_int
from ..blocking import signal_ready
from ..datatypes.stream import (INVALID_ENTRIES_READ, MIN_ID, Consumer, Group, Nack,
                                Stream, StreamID, format_id)
from ..errors import CommandError, c_text as _text
from ..protocol import NULL_ARRAY, OK
from ..notify import notify
from . import command, container
from .connection import help_reply
from .streams import (_claim_effect, as_stream, _entry, _get_consumer, _interval_end,
                      _interval_start, _lookup, _now, _setid_effect, _strict_id,
                      _subcommand_syntax, parse_id)

# -- XGROUP ----------------------------------------------------------------------------------
container("xgroup", -2, group="stream", since="5.0.0",
          summary="A container for consumer groups commands")


def _xgroup_target(client, args: List[bytes], mkstream: bool = False,
                   need_group: bool = True) -> Tuple[Optional[Stream], Optional[Group]]:
    """The stream and group an XGROUP subcommand works on, with Redis's errors."""
    stream = _lookup(client, args[2], read=False)
    group = stream.groups.get(args[3]) if stream is not None else None
    if group is None and need_group and stream is not None:
        raise CommandError(errors.XGROUP_NOGROUP.format(_text(args[3]), _text(args[2])))
    if stream is None and not mkstream:
        raise CommandError(errors.XGROUP_KEY_REQUIRED)
    return stream, group


def _entries_read_arg(value: bytes) -> int:
    entries_read = parse_int(value)
    if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
        raise CommandError(errors.XGROUP_ENTRIESREAD)
    return entries_read


@command("xgroup|create", -5, "write denyoom", keys=(2, 2, 1), group="stream",
         since="5.0.0", summary="Create a consumer group.")
def xgroup_create(client, args: List[bytes]):
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    i = 5
    while i < len(args):
        opt = args[i].lower()
        if opt == b"mkstream":
            mkstream = True
            i += 1
        elif opt == b"entriesread" and i + 1 < len(args):
            entries_read = _entries_read_arg(args[i + 1])
            i += 2
        else:
            raise _subcommand_syntax(args)
    stream, group = _xgroup_target(client, args, mkstream=mkstream, need_group=False)
    if len(args) > 8:
        raise _subcommand_syntax(args)
    if args[4] == b"$":
        last_id = stream.last_id if stream is not None else MIN_ID
    else:
        last_id = _strict_id(args[4])
    key = args[2]
    if stream is None:
        stream = Stream()
        client.db.set(key, stream)
    if args[3] in stream.groups:
        raise CommandError(errors.BUSYGROUP)
    stream.groups[args[3]] = Group(args[3], last_id, entries_read)
    client.db.resized(key)   # not signalled in Redis
    notify(client.db, "t", b"xgroup-create", key)
    return OK


@command("xgroup|setid", -5, "write", keys=(2, 2, 1), group="stream", since="5.0.0",
         summary="Set a consumer group to an arbitrary last delivered ID value.")
def xgroup_setid(client, args: List[bytes]):
    entries_read = INVALID_ENTRIES_READ
    i = 5
    while i < len(args):
        if args[i].lower() == b"entriesread" and i + 1 < len(args):
            entries_read = _entries_read_arg(args[i + 1])
            i += 2
        else:
            raise _subcommand_syntax(args)
    stream, group = _xgroup_target(client, args)
    if len(args) not in (5, 7):
        raise _subcommand_syntax(args)
    if args[4] == b"$":
        last_id = stream.last_id  # type: ignore[union-attr]
    else:
        last_id = parse_id(args[4], 0)[0]
    group.last_id = last_id  # type: ignore[union-attr]
    group.entries_read = entries_read  # type: ignore[union-attr]
    client.db.resized(args[2])   # not signalled in Redis
    notify(client.db, "t", b"xgroup-setid", args[2])
    return OK


@command("xgroup|destroy", 4, "write", keys=(2, 2, 1), group="stream", since="5.0.0",
         summary="Destroy a consumer group.")
def xgroup_destroy(client, args: List[bytes]):
    stream, group = _xgroup_target(client, args, need_group=False)
    if group is None:
        return 0
    del stream.groups[args[3]]  # type: ignore[union-attr]
    client.state.dirty += 1
    db = client.db
    db.resized(args[2])   # not signalled in Redis
    notify(db, "t", b"xgroup-destroy", args[2])
    signal_ready(db, args[2], "stream")  # XREADGROUP waiters get -NOGROUP
    return 1


@command("xgroup|createconsumer", 5, "write denyoom", keys=(2, 2, 1), group="stream",
         since="6.2.0", summary="Create a consumer in a consumer group.")
def xgroup_createconsumer(client, args: List[bytes]):
    stream, group = _xgroup_target(client, args)
    if args[4] in group.consumers:  # type: ignore[union-attr]
        return 0
    group.consumer(args[4], _now(client))  # type: ignore[union-attr]
    client.state.dirty += 1
    client.db.resized(args[2])   # not signalled in Redis
    notify(client.db, "t", b"xgroup-createconsumer", args[2])
    return 1


@command("xgroup|delconsumer", 5, "write", keys=(2, 2, 1), group="stream",
         since="5.0.0", summary="Delete a consumer from a consumer group.")
def xgroup_delconsumer(client, args: List[bytes]):
    stream, group = _xgroup_target(client, args)
    consumer = group.consumers.get(args[4])  # type: ignore[union-attr]
    if consumer is None:
        return 0
    pending = group.delete_consumer(consumer)  # type: ignore[union-attr]
    client.state.dirty += 1
    client.db.resized(args[2])   # not signalled in Redis
    notify(client.db, "t", b"xgroup-delconsumer", args[2])
    return pending


@command("xgroup|help", 2, "loading stale", group="stream", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def xgroup_help(client, args: List[bytes]):
    return help_reply(args, [
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    ])


# -- acknowledging, pending, claiming --------------------------------------------------------
@command("xack", -4, "write fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Marks a pending message as correctly processed, effectively removing it "
                 "from the pending entries list of the consumer group. Return value of the "
                 "command is the number of messages successfully acknowledged, that is, "
                 "the IDs we were actually able to resolve in the PEL.")
def xack(client, args: List[bytes]):
    stream = _lookup(client, args[1])
    group = stream.groups.get(args[2]) if stream is not None else None
    if group is None:
        return 0
    ids = [_strict_id(arg) for arg in args[3:]]
    acknowledged = 0
    for stream_id in ids:
        nack = group.pel.pop(stream_id, None)
        if nack is not None:
            if nack.consumer is not None:
                nack.consumer.pel.pop(stream_id, None)
            acknowledged += 1
    if acknowledged:
        client.state.dirty += acknowledged
        client.db.resized(args[1])   # not signalled in Redis
    return acknowledged


def _group_or_nogroup(args: List[bytes], stream: Optional[Stream]) -> Tuple[Stream, Group]:
    """``stream`` (the one at args[1], or None) and its group args[2], else NOGROUP."""
    group = stream.groups.get(args[2]) if stream is not None else None
    if group is None:
        raise CommandError(errors.STREAM_NOGROUP.format(_text(args[1]), _text(args[2])))
    return stream, group  # type: ignore[return-value]


@command("xpending", -3, "readonly", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Return information and entries from a stream consumer group pending "
                 "entries list, that are messages fetched but never acknowledged.")
def xpending(client, args: List[bytes]):
    n = len(args)
    if n != 3 and not 6 <= n <= 9:
        raise CommandError(errors.SYNTAX)
    min_idle = 0
    start = end = MIN_ID
    count = 0
    consumer_name = None
    if n >= 6:
        first = 3
        if args[3].lower() == b"idle":
            min_idle = parse_int(args[4])
            if n < 8:
                raise CommandError(errors.SYNTAX)
            first += 2
        count = max(parse_int(args[first + 2]), 0)
        start = _interval_start(args[first])
        end = _interval_end(args[first + 1])
        if first + 3 < n:
            consumer_name = args[first + 3]
    stream, group = _group_or_nogroup(args, _lookup(client, args[1]))
    if n == 3:
        if not group.pel:
            return [0, None, None, NULL_ARRAY]
        owners = [[c.name, b"%d" % len(c.pel)] for c in group.sorted_consumers() if c.pel]
        return [len(group.pel), format_id(group.pel.peekitem(0)[0]),
                format_id(group.pel.peekitem(-1)[0]), owners]
    pel = group.pel
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pel = consumer.pel
    now = _now(client)
    out = []
    if start > end:
        return out
    for stream_id in pel.irange(start, end):
        if not count:
            break
        nack = pel[stream_id]
        idle = now - nack.delivery_time
        if min_idle and idle < min_idle:
            continue
        count -= 1
        out.append([format_id(stream_id), nack.consumer.name, max(idle, 0),
                    nack.delivery_count])
    return out


def _claim_one(group: Group, consumer: Consumer, stream_id: StreamID, nack: Nack,
               delivery_time: int, retry: Optional[int], justid: bool) -> None:
    """Move a pending entry to ``consumer`` (XCLAIM/XAUTOCLAIM's common step)."""
    if nack.consumer is not consumer and nack.consumer is not None:
        nack.consumer.pel.pop(stream_id, None)
    nack.delivery_time = delivery_time
    if retry is not None:
        nack.delivery_count = retry
    elif not justid:
        nack.delivery_count += 1
    if nack.consumer is not consumer:
        consumer.pel[stream_id] = nack
        nack.consumer = consumer


def _drop_nack(group: Group, stream_id: StreamID) -> None:
    nack = group.pel.pop(stream_id)
    if nack.consumer is not None:
        nack.consumer.pel.pop(stream_id, None)


@command("xclaim", -6, "write fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Changes (or acquires) ownership of a message in a consumer group, as if "
                 "the message was delivered to the specified consumer.")
def xclaim(client, args: List[bytes]):
    stream, group = _group_or_nogroup(args, _lookup(client, args[1]))
    min_idle = max(parse_int(args[4], errors.XCLAIM_MIN_IDLE), 0)
    n = len(args)
    ids: List[StreamID] = []
    j = 5
    while j < n:
        try:
            ids.append(_strict_id(args[j]))
        except CommandError:
            break
        j += 1
    now = _now(client)
    retry: Optional[int] = None
    delivery_time = -1
    force = justid = False
    last_id = MIN_ID
    while j < n:
        more = n - 1 - j
        opt = args[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            delivery_time = now - parse_int(args[j], errors.XCLAIM_IDLE)
        elif opt == b"time" and more:
            j += 1
            delivery_time = parse_int(args[j], errors.XCLAIM_TIME)
        elif opt == b"retrycount" and more:
            j += 1
            retry = parse_int(args[j], errors.XCLAIM_RETRYCOUNT)
        elif opt == b"lastid" and more:
            j += 1
            last_id = _strict_id(args[j])
        else:
            raise CommandError(errors.XCLAIM_OPTION.format(_text(args[j])))
        j += 1
    changed = advanced = False
    changes = 0     # (dropped and claimed entries: a change each to Redis)
    if last_id > group.last_id:
        group.last_id = last_id
        changed = advanced = True
    if delivery_time != -1:
        if delivery_time < 0 or delivery_time > now:
            delivery_time = now
    else:
        delivery_time = now
    if retry is not None and retry < 0:
        retry = None
    consumer: Optional[Consumer] = None
    out = []
    # What Redis propagates (alsoPropagate): an XCLAIM per entry claimed or dropped,
    # the new last ID alone only when no XCLAIM carries it.
    also: Optional[List[List[Any]]] = [] if client.state.propagator is not None else None
    key, group_name = args[1], args[2]
    for stream_id, id_text in zip(ids, args[5:]):
        nack = group.pel.get(stream_id)
        pairs = stream.get(stream_id)
        if pairs is None:
            if nack is not None:
                if also is not None:
                    also.append(_claim_effect(key, group_name, id_text, nack,
                                              format_id(group.last_id)))
                _drop_nack(group, stream_id)
                changed = True
                changes += 1
            continue
        if force and nack is None:
            nack = group.pel[stream_id] = Nack(None, now)
        if nack is None:
            continue
        if nack.consumer is not None and min_idle and now - nack.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = _get_consumer(client.db, args[1], group, args[3], now)
        _claim_one(group, consumer, stream_id, nack, delivery_time, retry, justid)
        consumer.active_time = now
        changed = True
        changes += 1
        if also is not None:
            also.append(_claim_effect(key, group_name, id_text, nack,
                                      format_id(group.last_id)))
        out.append(format_id(stream_id) if justid else _entry(stream_id, pairs))
    # The new last ID is one more change, when nothing else changed (Redis).
    client.state.dirty += changes or int(advanced)
    if also is not None:
        if advanced and not changes:
            also.append(_setid_effect(key, group_name, group))
        client.state.propagation.also = also
    if changed:
        client.db.resized(args[1])   # not signalled in Redis
    return out


@command("xautoclaim", -6, "write fast", keys=(1, 1, 1), group="stream", since="6.2.0",
         summary="Changes (or acquires) ownership of messages in a consumer group, as if "
                 "the messages were delivered to the specified consumer.")
def xautoclaim(client, args: List[bytes]):
    # Redis looks the key up before parsing the arguments (a hit or a miss, an
    # access, even when they are refused) and checks its type after.
    value = client.db.get_read(args[1])
    min_idle = max(parse_int(args[4], errors.XAUTOCLAIM_MIN_IDLE), 0)
    start = _interval_start(args[5])
    count = 100
    justid = False
    j = 6
    max_count = LLONG_MAX // 16
    while j < len(args):
        more = len(args) - 1 - j
        opt = args[j].lower()
        if opt == b"count" and more:
            count = to_int(args[j + 1])  # type: ignore[assignment]
            if count is None or not 1 <= count <= max_count:
                raise CommandError(errors.XAUTOCLAIM_COUNT)
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    stream, group = _group_or_nogroup(args, as_stream(value))
    if count * 16 > _memory_limit():
        raise CommandError(errors.XAUTOCLAIM_NO_MEMORY)
    attempts = count * 10
    now = _now(client)
    consumer: Optional[Consumer] = None
    claimed: list = []
    deleted: list = []
    also: Optional[List[List[Any]]] = [] if client.state.propagator is not None else None
    key, group_name = args[1], args[2]
    pending = list(group.pel.irange(start))
    position = 0
    while attempts and count and position < len(pending):
        attempts -= 1
        stream_id = pending[position]
        position += 1
        nack = group.pel[stream_id]
        pairs = stream.get(stream_id)
        if pairs is None:
            if also is not None:
                also.append(_claim_effect(key, group_name, format_id(stream_id), nack,
                                          format_id(group.last_id)))
            _drop_nack(group, stream_id)
            deleted.append(format_id(stream_id))
            count -= 1
            continue
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = _get_consumer(client.db, args[1], group, args[3], now)
        _claim_one(group, consumer, stream_id, nack, now, None, justid)
        consumer.active_time = now
        if also is not None:
            also.append(_claim_effect(key, group_name, format_id(stream_id), nack,
                                      format_id(group.last_id)))
        claimed.append(format_id(stream_id) if justid else _entry(stream_id, pairs))
        count -= 1
    cursor = format_id(pending[position]) if position < len(pending) else b"0-0"
    if claimed or deleted:
        client.state.dirty += len(claimed) + len(deleted)
        client.db.resized(args[1])   # not signalled in Redis
        if also:
            client.state.propagation.also = also
    return [cursor, claimed, deleted]


def _memory_limit() -> int:
    """What Linux's heuristic overcommit lets one allocation reach (RAM plus swap):
    Redis allocates COUNT stream IDs up front and reports failure past that."""
    total = 0
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith(("MemTotal:", "SwapTotal:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return total or 1 << 47
