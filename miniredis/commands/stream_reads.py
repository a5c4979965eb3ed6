"""XREAD and XREADGROUP (Redis 7.0's t_stream.c semantics): reading new entries of
several streams, directly or through a consumer group, and blocking for them.

With BLOCK the client is parked through :mod:`miniredis.blocking`; XADD (and XGROUP
DESTROY, and the deletion of a stream key) marks the key ready, and the waiter's
``serve`` callback re-evaluates what it can deliver, as Redis's
serveClientsBlockedOnStreamKey does.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .. import errors
from ..args import LLONG_MAX, parse_int
from ..blocking import NOT_SERVED, block
from ..datatypes.stream import (INVALID_ENTRIES_READ, MAX_ID, MIN_ID, Consumer, Group,
                                Nack, Stream, StreamID, format_id, incr_id)
from ..errors import CommandError, c_text as _text
from ..protocol import NULL_ARRAY, PairMap
from ..scripting import script_running
from . import command
from .streams import (_claim_effect, _entry, _estimate_entries_read, _get_consumer,
                      _lookup, _now, _range_has_tombstones, _range_reply, _setid_effect,
                      _strict_id)

XREAD_BLOCKED_DEFAULT_COUNT = 1000


# -- replies and group bookkeeping ---------------------------------------------------------
def _streams_reply(client, items: List[Tuple[bytes, list]]) -> Any:
    """XREAD's reply: [[key, entries], ...] in RESP2, a map in RESP3."""
    if client.resp == 3:
        # Keys can repeat (XREAD ... STREAMS s s 0 0): a map would fold them.
        return PairMap(items)
    return [[key, entries] for key, entries in items]



def _deliver(stream: Stream, start: StreamID, count: int, group: Group,
             consumer: Consumer, noack: bool, now: int) -> list:
    """XREADGROUP ``>``: new entries from ``start``, moving the group's last ID and
    adding them to the PELs (unless NOACK)."""
    out = []
    for stream_id, pairs in list(stream.range(start, MAX_ID, count)):
        if stream_id > group.last_id:
            if group.entries_read != INVALID_ENTRIES_READ and not _range_has_tombstones(
                    stream, stream_id, None):
                group.entries_read += 1
            elif stream.entries_added:
                group.entries_read = _estimate_entries_read(stream, stream_id)
            group.last_id = stream_id
        out.append(_entry(stream_id, pairs))
        if not noack:
            nack = group.pel.get(stream_id)
            if nack is None:
                nack = Nack(consumer, now)
                group.pel[stream_id] = nack
            else:
                if nack.consumer is not None:
                    nack.consumer.pel.pop(stream_id, None)
                nack.consumer = consumer
                nack.delivery_time = now
                nack.delivery_count = 1
            consumer.pel[stream_id] = nack
            consumer.active_time = now
    return out


def _delivery_effects(effects: List[List[Any]], key: bytes, group_name: bytes,
                      group: Group, entries: list, noack: bool) -> None:
    """What Redis propagates for entries XREADGROUP ``>`` delivered (appended to
    ``effects``): an XCLAIM per entry, whose LASTID (the group's last ID then) is
    the entry's own ID; with NOACK one XGROUP SETID after them
    (streamReplyWithRange)."""
    if not entries:
        return
    if noack:
        effects.append(_setid_effect(key, group_name, group))
        return
    pel = group.pel
    for entry in entries:
        text = entry[0]
        ms, _, seq = text.partition(b"-")
        effects.append(_claim_effect(key, group_name, text, pel[(int(ms), int(seq))],
                                     text))


def _createconsumer_effect(key: bytes, group_name: bytes, name: bytes) -> List[Any]:
    """What Redis propagates for a consumer a NOACK read created
    (streamPropagateConsumerCreation): the other reads' XCLAIMs create theirs."""
    return [b"XGROUP", b"CREATECONSUMER", key, group_name, name]


def _history(stream: Stream, start: StreamID, count: int, consumer: Consumer,
             now: int) -> list:
    """XREADGROUP with an ID: the consumer's own pending entries from ``start``
    (a deleted entry shows as its ID with a null array)."""
    out: list = []
    for stream_id in list(consumer.pel.irange(start)):
        if count and len(out) >= count:
            break
        pairs = stream.get(stream_id)
        if pairs is None:
            out.append([format_id(stream_id), NULL_ARRAY])
            continue
        nack = consumer.pel[stream_id]
        nack.delivery_time = now
        nack.delivery_count += 1
        out.append(_entry(stream_id, pairs))
    return out



def xread_keys(args: List[bytes]) -> List[int]:
    """Key positions of XREAD/XREADGROUP: the first half after STREAMS."""
    streams_pos = -1
    i = 1
    while i < len(args):
        word = args[i].lower()
        if word in (b"block", b"count"):
            i += 1
        elif word == b"group":
            i += 2
        elif word == b"noack":
            pass
        elif word == b"streams":
            streams_pos = i
            break
        else:
            break
        i += 1
    num = len(args) - streams_pos - 1
    if streams_pos == -1 or num == 0 or num % 2:
        return []
    return list(range(streams_pos + 1, streams_pos + 1 + num // 2))


def _parse_block(client, value: bytes) -> int:
    """BLOCK's milliseconds (Redis's getTimeoutFromObjectOrReply, UNIT_MILLISECONDS).

    Redis 7.0.15 adds the current time without an overflow check: a deadline past
    the 64-bit range wraps into a value its timeout table never reaches, so the
    client waits forever (0 here)."""
    millis = parse_int(value, errors.TIMEOUT_NOT_INTEGER)
    if millis < 0:
        raise CommandError(errors.TIMEOUT_NEGATIVE)
    if millis > LLONG_MAX - _now(client):
        return 0
    return millis


def _in_script(client) -> bool:
    """Run by a script's redis.call (Redis refuses BLOCK there, as pointless)."""
    return script_running(client.state)


def _xread(client, args: List[bytes], xreadgroup: bool):
    timeout = -1
    count = 0
    streams_arg = 0
    noack = False
    group_name: Optional[bytes] = None
    consumer_name = b""
    n = len(args)
    i = 1
    while i < n:
        more = n - i - 1
        opt = args[i].lower()
        if opt == b"block" and more:
            if _in_script(client):
                raise CommandError(errors.XREAD_BLOCK_IN_SCRIPT.format(_text(args[0])))
            i += 1
            timeout = _parse_block(client, args[i])
        elif opt == b"count" and more:
            i += 1
            count = max(parse_int(args[i]), 0)
        elif opt == b"streams" and more:
            streams_arg = i + 1
            if (n - streams_arg) % 2:
                raise CommandError(errors.XREAD_UNBALANCED)
            break
        elif opt == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError(errors.XREAD_GROUP_OPTION)
            group_name, consumer_name = args[i + 1], args[i + 2]
            i += 2
        elif opt == b"noack":
            if not xreadgroup:
                raise CommandError(errors.XREAD_NOACK_OPTION)
            noack = True
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if streams_arg == 0:
        raise CommandError(errors.SYNTAX)
    if xreadgroup and group_name is None:
        raise CommandError(errors.XREADGROUP_NO_GROUP)
    streams_count = (n - streams_arg) // 2
    keys = args[streams_arg:streams_arg + streams_count]
    ids: List[Optional[StreamID]] = []       # None: ">"
    groups: List[Optional[Group]] = []
    for key, id_arg in zip(keys, args[streams_arg + streams_count:]):
        stream = _lookup(client, key)
        group = None
        if group_name is not None:
            group = stream.groups.get(group_name) if stream is not None else None
            if group is None:
                raise CommandError(errors.XREADGROUP_NOGROUP.format(
                    _text(key), _text(group_name)))
        groups.append(group)
        if id_arg == b"$":
            if xreadgroup:
                raise CommandError(errors.XREADGROUP_DOLLAR)
            ids.append(stream.last_id if stream is not None else MIN_ID)
        elif id_arg == b">":
            if not xreadgroup:
                raise CommandError(errors.XREAD_GT)
            ids.append(None)
        else:
            stream_id = _strict_id(id_arg)
            # Redis marks ">" with the maximum ID: given explicitly, it means ">".
            ids.append(None if xreadgroup and stream_id == MAX_ID else stream_id)

    now = _now(client)
    served: List[Tuple[bytes, list]] = []
    # What XREADGROUP propagates, worked out as Redis's handler does (alsoPropagate).
    also: Optional[List[List[Any]]] = [] if client.state.propagator is not None else None
    for key, stream_id, group in zip(keys, ids, groups):
        stream = _lookup(client, key)
        if stream is None:
            continue
        if group is not None:
            history = stream_id is not None
            serve = history
            gt = stream_id
            if not history and len(stream) and stream.last_valid_id() > group.last_id:
                serve = True
                gt = group.last_id
            if serve:
                # Redis 7.0 looks the consumer up (creating it) only when it serves.
                created = consumer_name not in group.consumers
                consumer = _get_consumer(client.db, key, group, consumer_name, now)
                if also is not None and created and noack:
                    also.append(_createconsumer_effect(key, group_name, consumer_name))
                start = incr_id(gt) or MAX_ID   # type: ignore[arg-type]
                if history:     # (propagates nothing: a reload forgets the deliveries)
                    entries = _history(stream, start, count, consumer, now)
                else:
                    entries = _deliver(stream, start, count, group, consumer, noack, now)
                    if also is not None:
                        _delivery_effects(also, key, group_name, group, entries, noack)
                client.state.dirty += 1     # (Redis: a change per stream served)
                served.append((key, entries))
        elif len(stream) and stream.last_valid_id() > stream_id:  # type: ignore[operator]
            start = incr_id(stream_id)  # type: ignore[arg-type]
            served.append((key, _range_reply(stream, start, MAX_ID, count)))
    if served:
        if also:
            client.state.propagation.also = also
        return _streams_reply(client, served)
    if timeout == -1:
        return NULL_ARRAY

    waits: Dict[bytes, Optional[StreamID]] = {}
    for key, stream_id in zip(keys, ids):
        waits.setdefault(key, stream_id)
    serve_count = count or XREAD_BLOCKED_DEFAULT_COUNT

    def serve(client, db, key):
        # Redis's serveClientsBlockedOnStreamKey for one waiter and one ready key.
        stream = db.peek(key)      # (Blocking.serve_ready has looked it up)
        if stream.__class__ is not Stream:
            if group_name is not None:
                return CommandError(errors.XREADGROUP_KEY_DELETED)
            return NOT_SERVED
        group = None
        if group_name is not None:
            group = stream.groups.get(group_name)
            if group is None:
                return CommandError(errors.XREADGROUP_GROUP_DESTROYED)
            gt = group.last_id
        else:
            gt = waits[key]
        if not stream.last_id > gt:
            return NOT_SERVED
        start = incr_id(gt)
        now = _now(client)
        if group is not None:
            created = consumer_name not in group.consumers
            consumer = _get_consumer(db, key, group, consumer_name, now)
            entries = _deliver(stream, start, serve_count, group, consumer, noack, now)
            if db.state.propagator is not None:
                effects: List[List[Any]] = []
                if created and noack:
                    effects.append(_createconsumer_effect(key, group_name, consumer_name))
                _delivery_effects(effects, key, group_name, group,  # type: ignore[arg-type]
                                  entries, noack)
                db.state.propagation.also = effects
        else:
            entries = _range_reply(stream, start, MAX_ID, serve_count)
        return _streams_reply(client, [(key, entries)])
    return block(client, list(waits), timeout / 1000.0, serve, NULL_ARRAY,
                 kind="stream")


@command("xread", -4, "readonly blocking", keys=(0, 0, 0), group="stream",
         since="5.0.0", summary="Return never seen elements in multiple streams, with IDs "
         "greater than the ones reported by the caller for each stream. Can block.",
         key_finder=xread_keys)
def xread(client, args: List[bytes]):
    return _xread(client, args, xreadgroup=False)


@command("xreadgroup", -7, "write blocking", keys=(0, 0, 0), group="stream",
         since="5.0.0", summary="Return new entries from a stream using a consumer "
         "group, or access the history of the pending entries for a given consumer. "
         "Can block.", key_finder=xread_keys)
def xreadgroup(client, args: List[bytes]):
    return _xread(client, args, xreadgroup=True)


# -- shared by XGROUP and XINFO ---------------------------------------------------------
