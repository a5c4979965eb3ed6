"""Stream entries: XADD, XTRIM, XLEN, XRANGE, XDEL and XSETID (Redis 7.0's t_stream.c
semantics); XREAD and XREADGROUP are in ``stream_reads.py``, consumer groups in
``stream_groups.py`` and XINFO in ``stream_info.py``.

The value class is :class:`miniredis.datatypes.stream.Stream`. Argument parsing follows
Redis's order of checks exactly (the order decides which error a bad command gets),
IDs are parsed with Redis's ``string2ull`` rules (which fall back to ``strtoull``),
and every time is read from the server's injectable clock.

XADD (and XGROUP DESTROY, and the deletion of a stream key) marks the key ready for
the XREAD/XREADGROUP waiters (``stream_reads.py``). XSETID, like the consumer-group commands, is no
signalled modification in Redis 7.0 (XADD, XTRIM and XDEL are).
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from .. import errors
from ..args import parse_int, to_int
from ..clock import wall_seconds
from ..datatypes.stream import (INVALID_ENTRIES_READ, MAX_ID, MIN_ID, U64_MAX, Consumer,
                                Group, Nack, Stream, StreamID, decr_id, format_id,
                                incr_id)
from ..errors import CommandError
from ..protocol import BULK_HEADS, CRLF, DECIMALS, NULL_ARRAY, OK, bulk_run
from ..notify import notify
from . import OWN_LOOP_ARGS, command, count_accesses, identical_run_end, lookup

_SPACES = b" \t\n\v\f\r"


# -- lookups -------------------------------------------------------------------------------
def _get_consumer(db, key: bytes, group: Group, name: bytes, now: int) -> Consumer:
    """The consumer ``name`` of ``group`` (seen now), created with its keyspace event
    when new, as streamCreateConsumer does for XREADGROUP, XCLAIM and XAUTOCLAIM."""
    created = name not in group.consumers
    consumer = group.consumer(name, now)
    if created:
        db.state.dirty += 1
        notify(db, "t", b"xgroup-createconsumer", key)
    return consumer


def _claim_effect(key: bytes, group_name: bytes, id_text: bytes, nack: Nack,
                  last_id: bytes) -> List[Any]:
    """The XCLAIM Redis propagates for a pending entry (streamPropagateXCLAIM):
    idempotent, it restates the entry's owner, delivery time and count, and the
    group's last ID."""
    owner = nack.consumer.name if nack.consumer is not None else b""
    return [b"XCLAIM", key, group_name, owner, b"0", id_text, b"TIME",
            nack.delivery_time, b"RETRYCOUNT", nack.delivery_count, b"FORCE", b"JUSTID",
            b"LASTID", last_id]


def _setid_effect(key: bytes, group_name: bytes, group: Group) -> List[Any]:
    """The XGROUP SETID Redis propagates for a group's new last ID when no XCLAIM
    carries it (streamPropagateGroupID)."""
    return [b"XGROUP", b"SETID", key, group_name, format_id(group.last_id),
            b"ENTRIESREAD", group.entries_read]


def _lookup(client, key: bytes, read: bool = True) -> Optional[Stream]:
    """The stream at ``key`` or None; WRONGTYPE for another type. ``read`` lookups
    count keyspace hits/misses (Redis's lookupKeyRead), write lookups do not."""
    db = client.db
    return as_stream(db.get_read(key) if read else db.get(key))


def as_stream(value: Any) -> Optional[Stream]:
    """``value`` (a lookup's result) if it is a stream or None, else WRONGTYPE: for a
    command that looks its key up before checking its arguments (XAUTOCLAIM)."""
    if value is not None and value.__class__ is not Stream:
        raise CommandError(errors.WRONGTYPE)
    return value


def _now(client) -> int:
    return client.state.clock.ms()




# -- numbers and IDs -------------------------------------------------------------------------
def _string2ull(text: bytes) -> Optional[int]:
    """Redis's string2ull: string2ll first, then C's strtoull (which allows leading
    spaces, a sign, leading zeros, and wraps negative numbers)."""
    number = to_int(text)
    if number is not None:
        return number if number >= 0 else None
    i = 0
    while i < len(text) and text[i] in _SPACES:
        i += 1
    negative = False
    if i < len(text) and text[i] in b"+-":
        negative = text[i] == 45
        i += 1
    digits = text[i:]
    if not digits or not digits.isdigit():
        return None
    number = int(digits)
    if number > U64_MAX:
        return None
    return (-number) % (U64_MAX + 1) if negative else number


def parse_id(value: bytes, missing_seq: int = 0, strict: bool = False,
             star: bool = False) -> Tuple[StreamID, bool]:
    """An ID argument: ``(id, seq_given)``. ``strict`` refuses ``-`` and ``+``;
    ``star`` accepts XADD's ``<ms>-*`` (then seq_given is False)."""
    if len(value) > 127:
        raise CommandError(errors.STREAM_INVALID_ID)
    buf = value.split(b"\0", 1)[0]
    if buf == b"-" or buf == b"+":
        if strict:
            raise CommandError(errors.STREAM_INVALID_ID)
        return (MIN_ID if buf == b"-" else MAX_ID), True
    ms_text, dash, seq_text = buf.partition(b"-")
    ms = _string2ull(ms_text)
    if ms is None:
        raise CommandError(errors.STREAM_INVALID_ID)
    if not dash:
        return (ms, missing_seq), True
    if star and seq_text == b"*":
        return (ms, 0), False
    seq = _string2ull(seq_text)
    if seq is None:
        raise CommandError(errors.STREAM_INVALID_ID)
    return (ms, seq), True


def _strict_id(value: bytes, missing_seq: int = 0) -> StreamID:
    return parse_id(value, missing_seq, strict=True)[0]


def _interval_start(value: bytes) -> StreamID:
    """A range start: ``-``, an ID (missing seq 0) or ``(ID`` (exclusive)."""
    if len(value) > 1 and value[:1] == b"(":
        stream_id = incr_id(_strict_id(value[1:], 0))
        if stream_id is None:
            raise CommandError(errors.STREAM_INVALID_START)
        return stream_id
    return parse_id(value, 0)[0]


def _interval_end(value: bytes) -> StreamID:
    """A range end: ``+``, an ID (missing seq is the maximum) or ``(ID``."""
    if len(value) > 1 and value[:1] == b"(":
        stream_id = decr_id(_strict_id(value[1:], U64_MAX))
        if stream_id is None:
            raise CommandError(errors.STREAM_INVALID_END)
        return stream_id
    return parse_id(value, U64_MAX)[0]


# -- replies -----------------------------------------------------------------------------
def _entry(stream_id: StreamID, pairs: List[bytes]) -> list:
    # (the stored pairs themselves: replies are only read, never changed)
    return [b"%d-%d" % stream_id, pairs]


def _range_reply(stream: Stream, start: StreamID, end: StreamID, count: int = 0,
                 reverse: bool = False) -> list:
    # (_entry written out: a call per entry is a tenth of an XRANGE's time)
    return [[b"%d-%d" % i, p] for i, p in stream.range(start, end, count, reverse)]


# -- group bookkeeping ---------------------------------------------------------------------
def _range_has_tombstones(stream: Stream, start: Optional[StreamID],
                          end: Optional[StreamID]) -> bool:
    """Redis's streamRangeHasTombstones: may a deleted entry lie in [start, end]?"""
    if not len(stream) or stream.max_deleted_id == MIN_ID:
        return False
    if stream.first_id > stream.max_deleted_id:
        return False
    low = start if start is not None else MIN_ID
    high = end if end is not None else MAX_ID
    return low <= stream.max_deleted_id <= high


def _estimate_entries_read(stream: Stream, stream_id: StreamID) -> int:
    """Redis's streamEstimateDistanceFromFirstEverEntry (-1 when unknowable)."""
    return stream.estimate_entries_read(stream_id)


def _lag(stream: Stream, group: Group) -> Optional[int]:
    """A group's lag for XINFO (None when Redis cannot tell)."""
    if not stream.entries_added:
        return 0
    if group.entries_read != INVALID_ENTRIES_READ and not _range_has_tombstones(
            stream, group.last_id, None):
        return stream.entries_added - group.entries_read
    entries_read = _estimate_entries_read(stream, group.last_id)
    if entries_read != INVALID_ENTRIES_READ:
        return stream.entries_added - entries_read
    return None


# -- XADD / XTRIM ------------------------------------------------------------------------
class _TrimArgs:
    """The options XADD and XTRIM share (Redis's streamAddTrimArgs)."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "limit_given", "nomkstream",
                 "id", "seq_given", "id_given")

    def __init__(self) -> None:
        self.maxlen: Optional[int] = None
        self.minid: Optional[StreamID] = None
        self.approx = False
        self.limit = 0
        self.limit_given = False
        self.nomkstream = False
        self.id: StreamID = MIN_ID
        self.seq_given = True
        self.id_given = False

    @property
    def trims(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def _parse_trim_args(client, args: List[bytes], xadd: bool) -> Tuple[_TrimArgs, int]:
    """Parse from args[2]; returns the options and the position of XADD's ID."""
    parsed = _TrimArgs()
    i = 2
    n = len(args)
    while i < n:
        more = n - 1 - i
        opt = args[i]
        low = opt.lower()
        if xadd and opt == b"*":
            break
        if low in (b"maxlen", b"minid") and more:
            if parsed.trims:
                raise CommandError(errors.XADD_MAXLEN_AND_MINID)
            parsed.approx = False
            nxt = args[i + 1]
            if more >= 2 and nxt == b"~":
                parsed.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if low == b"maxlen":
                maxlen = parse_int(args[i + 1])
                if maxlen < 0:
                    raise CommandError(errors.XADD_MAXLEN_NEGATIVE)
                parsed.maxlen = maxlen
            else:
                parsed.minid = _strict_id(args[i + 1])
            i += 1
        elif low == b"limit" and more:
            limit = parse_int(args[i + 1])
            if limit < 0:
                raise CommandError(errors.XADD_LIMIT_NEGATIVE)
            parsed.limit = limit
            parsed.limit_given = True
            i += 1
        elif xadd and low == b"nomkstream":
            parsed.nomkstream = True
        elif xadd:
            parsed.id, parsed.seq_given = parse_id(opt, 0, strict=True, star=True)
            parsed.id_given = True
            break
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if parsed.limit_given:
        if not parsed.trims:
            raise CommandError(errors.XADD_LIMIT_WITHOUT_STRATEGY)
        if not parsed.approx:
            raise CommandError(errors.XADD_LIMIT_WITHOUT_APPROX)
    elif parsed.approx:
        limit = 100 * client.state.config["stream-node-max-entries"]
        parsed.limit = limit if 0 < limit <= 10000 else 10000
    return parsed, i


# XADD key * ...: options as parsed from none (shared, never modified).
_NO_OPTIONS = _TrimArgs()


def _trim(client, stream: Stream, parsed: _TrimArgs) -> int:
    return stream.trim(parsed.maxlen, parsed.minid, parsed.approx, parsed.limit)


@command("xadd", -5, "write denyoom fast", keys=(1, 1, 1), group="stream",
         since="5.0.0", summary="Appends a new entry to a stream")
def xadd(client, args: List[bytes]):
    # The hot path of stream producers: names are bound once, the stream lookup,
    # WATCH hook, ready-key signal and reply are inlined (as db.set does), and the
    # usual form "XADD key * field value..." parses no options.
    if args[2] == b"*":
        parsed, id_pos = _NO_OPTIONS, 2
        # (a tuple of bytes: the GC stops tracking it)
        pairs = (args[3], args[4]) if len(args) == 5 else tuple(args[3:])
    else:
        parsed, id_pos = _parse_trim_args(client, args, xadd=True)
        pairs = tuple(args[id_pos + 1:])
    if len(pairs) < 2 or len(pairs) & 1:
        raise CommandError(errors.WRONG_ARITY.format("xadd"))
    id_given = parsed.id_given
    if id_given and parsed.seq_given and parsed.id == MIN_ID:
        raise CommandError(errors.XADD_ID_ZERO)
    key = args[1]
    db = client.db
    state = db.state
    stream = db.get(key)
    if stream.__class__ is not Stream:
        if stream is not None:
            raise CommandError(errors.WRONGTYPE)
        if parsed.nomkstream:
            return None
        stream = Stream()
        db.set(key, stream)
    last = stream.last_id
    if last == MAX_ID:
        raise CommandError(errors.XADD_EXHAUSTED)
    if id_given:
        if parsed.seq_given:
            new_id = parsed.id
        elif last[0] == parsed.id[0]:
            if last[1] == U64_MAX:
                # Redis 7.0.15 reports this case with its "too large" text.
                raise CommandError(errors.XADD_TOO_LARGE)
            new_id = (last[0], last[1] + 1)
        else:
            new_id = parsed.id
        if new_id <= last:
            raise CommandError(errors.XADD_ID_TOO_SMALL)
    else:
        # From the clock: always past the last ID (which is not MAX_ID).
        ms = state.clock.ms()
        if ms > last[0]:
            new_id = (ms, 0)
        elif last[1] != U64_MAX:         # incr_id(last), inlined
            new_id = (last[0], last[1] + 1)
        else:
            new_id = (last[0] + 1, 0)
    config = state.config.values
    stream.append(new_id, pairs, config["stream-node-max-bytes"],
                  config["stream-node-max-entries"])
    if config["notify-keyspace-events"]:
        notify(db, "t", b"xadd", key)
    if parsed is not _NO_OPTIONS and parsed.trims and _trim(client, stream, parsed):
        notify(db, "t", b"xtrim", key)
    state.dirty += 1
    db.touched.add(key)                 # db.signal_modified(key), inlined
    hook = state.on_key_modified
    if hook is not None:
        hook(db, key)
    if state.blocking.queues:           # signal_ready(db, key, "stream")
        state.blocking.signal_ready(db, key, "stream")
    ms, seq = new_id
    if seq < 1024:
        # The IDs of one millisecond share their "ms-" (format_id, in two pieces).
        prefix = _ID_PREFIX
        if prefix[0] != ms:
            prefix[0] = ms
            prefix[1] = b"%d-" % ms
        return prefix[1] + DECIMALS[seq]
    return b"%d-%d" % new_id            # format_id


# The millisecond of the last ID XADD spelled and its "ms-": a cache, any stream's.
_ID_PREFIX: List[Any] = [-1, b""]
# By a sequence's decimal width, the first sequence of the next width (DECIMALS holds
# up to 1023).
_NEXT_WIDTH = [0, 10, 100, 1000, 1024]


def _xadd_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
              append: Any) -> int:
    # "XADD key * field value..."s in a row (miniredis/runs.py): xadd at a stream that
    # exists and is not due to expire, its ID from the clock, without a call each.
    db = client.db
    tables = db.tables_for_writes()
    if tables is None:
        return done
    index, values, access, expires, now, touched, hook, lru, config = tables
    events = config["notify-keyspace-events"]
    max_bytes = config["stream-node-max-bytes"]
    max_entries = config["stream-node-max-entries"]
    frozen, offset = db.state.clock.ms_terms()
    extend = append.__self__.extend     # (a bulk reply in three pieces: protocol.py)
    stamp = -1                          # (the millisecond ``prefix`` spells)
    prefix = b""
    first = done
    while done < count:
        args = requests[done]
        size = len(args)
        # (an odd length of at least 5: one or more field/value pairs after the '*')
        if size < 5 or not size & 1 or size > OWN_LOOP_ARGS or args[0] != name \
                or args[2] != b"*":
            break
        key = args[1]
        slot = index.get(key)
        if slot is None or expires and key in expires and expires[key] <= now:
            break
        stream = values[slot]
        if stream.__class__ is not Stream:
            break
        last = stream.last_id
        # The clock read per XADD, as Redis 7.0's streamNextID does (clock.ms inlined).
        ms = frozen if frozen is not None else int(wall_seconds() * 1000) + offset
        if ms > last[0]:
            seq = 0
        elif last[1] != U64_MAX:
            ms, seq = last[0], last[1] + 1
        else:
            break                           # (the next millisecond, or exhausted)
        if size == 5 and hook is None and not events and done + 1 < count and \
                len(requests[done + 1]) == 5 and requests[done + 1][1] == key:
            # Entries of one field added to this stream in a row (a producer's
            # pipeline) go in together, their IDs in this millisecond. (The next
            # request is looked at first: entries to many streams in turn pay no call.)
            field = args[3]
            stop = identical_run_end(requests, done, count)
            if stop > done:         # (a window repeating this request: one value)
                added_values = [args[4]] * (stop - done)
            else:
                stop = done + 1
                while stop < count:
                    other = requests[stop]
                    if len(other) != 5 or other[1] != key or other[3] != field \
                            or other[2] != b"*" or other[0] != name:
                        break
                    stop += 1
                added_values = [other[4] for other in requests[done:stop]]
            added = stop - done
            if added > 1 and seq + added <= U64_MAX:
                added = stream.append_run(ms, seq, field, added_values, max_bytes,
                                          max_entries)
                if added:
                    count_accesses(access, slot, lru, added)
                    touched.add(slot)
                    if ms != stamp:
                        stamp = ms
                        prefix = b"%d-" % ms
                    end = seq + added
                    if end <= 1024:
                        # IDs of one length at a time (a run of a millisecond's first
                        # IDs crosses 9 -> 10): one head, joined around the sequences
                        while seq < end:
                            width = len(DECIMALS[seq])
                            stop = min(end, _NEXT_WIDTH[width])
                            head = BULK_HEADS[len(prefix) + width]
                            append(b"".join((head, prefix, (CRLF + head + prefix).join(
                                DECIMALS[seq:stop]), CRLF)))
                            seq = stop
                    else:
                        append(bulk_run([b"%d-%d" % (ms, n) for n in range(seq, end)]))
                    done += added
                    continue
        access[slot] = lru
        stream.append((ms, seq), (args[3], args[4]) if size == 5 else tuple(args[3:]),
                      max_bytes, max_entries)
        if events:
            notify(db, "t", b"xadd", key)
        touched.add(slot)
        if hook is not None:
            hook(db, key)
        if ms != stamp:
            stamp = ms
            prefix = b"%d-" % ms
        reply = prefix + DECIMALS[seq] if seq < 1024 else b"%d-%d" % (ms, seq)
        extend((BULK_HEADS[len(reply)], reply, CRLF))   # (an ID: under 1024 bytes)
        done += 1
    db.state.dirty += done - first      # (an entry each)
    return done


lookup(b"xadd").run = _xadd_run


@command("xtrim", -4, "write", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Trims the stream to (approximately if '~' is passed) a certain size")
def xtrim(client, args: List[bytes]):
    parsed, _ = _parse_trim_args(client, args, xadd=False)
    stream = _lookup(client, args[1], read=False)
    if stream is None:
        return 0
    deleted = _trim(client, stream, parsed)
    if deleted:
        client.state.dirty += deleted
        client.db.signal_modified(args[1])
        notify(client.db, "t", b"xtrim", args[1])
    return deleted


# -- reading -------------------------------------------------------------------------------
@command("xlen", 2, "readonly fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Return the number of entries in a stream")
def xlen(client, args: List[bytes]):
    stream = _lookup(client, args[1])
    return 0 if stream is None else len(stream)


def _xrange(client, args: List[bytes], reverse: bool):
    start_arg, end_arg = (args[3], args[2]) if reverse else (args[2], args[3])
    start = _interval_start(start_arg)
    end = _interval_end(end_arg)
    count = -1
    j = 4
    while j < len(args):
        if args[j].lower() == b"count" and j + 1 < len(args):
            count = max(parse_int(args[j + 1]), 0)
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    stream = _lookup(client, args[1])
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return _range_reply(stream, start, end, max(count, 0), reverse)


@command("xrange", -4, "readonly", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Return a range of elements in a stream, with IDs matching the "
                 "specified IDs interval")
def xrange(client, args: List[bytes]):
    return _xrange(client, args, reverse=False)


@command("xrevrange", -4, "readonly", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Return a range of elements in a stream, with IDs matching the "
                 "specified IDs interval, in reverse order (from greater to smaller IDs) "
                 "compared to XRANGE")
def xrevrange(client, args: List[bytes]):
    return _xrange(client, args, reverse=True)


# -- deleting ------------------------------------------------------------------------------
@command("xdel", -3, "write fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Removes the specified entries from the stream. Returns the number of "
                 "items actually deleted, that may be different from the number of IDs "
                 "passed in case certain IDs do not exist.")
def xdel(client, args: List[bytes]):
    stream = _lookup(client, args[1], read=False)
    if stream is None:
        return 0
    ids = [_strict_id(arg) for arg in args[2:]]
    deleted = 0
    first_gone = False
    for stream_id in ids:
        if stream.delete(stream_id):
            if stream_id == stream.first_id:
                first_gone = True
            if stream_id > stream.max_deleted_id:
                stream.max_deleted_id = stream_id
            deleted += 1
    if deleted:
        client.state.dirty += deleted
        if not len(stream):
            stream.first_id = MIN_ID
        elif first_gone:
            stream.first_id = stream.first_entry_id()
        client.db.signal_modified(args[1])
        notify(client.db, "t", b"xdel", args[1])
    return deleted


@command("xsetid", -3, "write denyoom fast", keys=(1, 1, 1), group="stream",
         since="5.0.0", summary="An internal command for replicating stream values")
def xsetid(client, args: List[bytes]):
    new_id = _strict_id(args[2])
    entries_added = -1
    max_deleted = MIN_ID
    i = 3
    while i < len(args):
        more = len(args) - 1 - i
        opt = args[i].lower()
        if opt == b"entriesadded" and more:
            entries_added = parse_int(args[i + 1])
            if entries_added < 0:
                raise CommandError(errors.XSETID_ENTRIES_ADDED_NEGATIVE)
        elif opt == b"maxdeletedid" and more:
            max_deleted = _strict_id(args[i + 1])
            if new_id < max_deleted:
                raise CommandError(errors.XSETID_BELOW_GIVEN_MAX_DELETED)
        else:
            raise CommandError(errors.SYNTAX)
        i += 2
    stream = _lookup(client, args[1], read=False)
    if stream is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if len(stream):
        if new_id < stream.last_valid_id():
            raise CommandError(errors.XSETID_BELOW_TOP)
        if entries_added != -1 and len(stream) > entries_added:
            raise CommandError(errors.XSETID_ENTRIES_ADDED_SMALL)
    stream.last_id = new_id
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted != MIN_ID:
        stream.max_deleted_id = max_deleted
    client.db.resized(args[1])   # not signalled in Redis
    notify(client.db, "t", b"xsetid", args[1])
    return OK


# -- shared with the other stream modules -----------------------------------------------
def _subcommand_syntax(args: List[bytes]) -> CommandError:
    return CommandError(errors.subcommand_syntax_error(args))
