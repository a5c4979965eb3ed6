"""Stream introspection: XINFO STREAM, GROUPS, CONSUMERS and HELP (t_stream.c)."""
from __future__ import annotations

from typing import Any, List, Tuple

from .. import errors
from ..args import parse_int
from ..datatypes.stream import (INVALID_ENTRIES_READ, MAX_ID, MIN_ID, Group, Stream,
                                format_id)
from ..errors import CommandError, c_text as _text
from ..protocol import Map
from . import command, container
from .connection import help_reply
from .streams import _lag, _lookup, _now, _range_reply, _subcommand_syntax


# -- XINFO ---------------------------------------------------------------------------------
container("xinfo", -2, group="stream", since="5.0.0",
          summary="A container for stream introspection commands")


def _info_stream(client, args: List[bytes]) -> Tuple[Stream, bytes]:
    stream = _lookup(client, args[2])
    if stream is None:
        raise CommandError(errors.NO_SUCH_KEY)
    return stream, args[2]


@command("xinfo|consumers", 4, "readonly", keys=(2, 2, 1), group="stream",
         since="5.0.0", summary="List the consumers in a consumer group")
def xinfo_consumers(client, args: List[bytes]):
    stream, key = _info_stream(client, args)
    group = stream.groups.get(args[3])
    if group is None:
        raise CommandError(errors.XGROUP_NOGROUP.format(_text(args[3]), _text(key)))
    now = _now(client)
    out = []
    for consumer in group.sorted_consumers():
        inactive = now - consumer.active_time if consumer.active_time != -1 else -1
        out.append(Map([(b"name", consumer.name), (b"pending", len(consumer.pel)),
                        (b"idle", max(now - consumer.seen_time, 0)),
                        (b"inactive", inactive)]))
    return out


def _group_info(stream: Stream, group: Group) -> Map:
    return Map([(b"name", group.name), (b"consumers", len(group.consumers)),
                (b"pending", len(group.pel)),
                (b"last-delivered-id", format_id(group.last_id)),
                (b"entries-read", None if group.entries_read == INVALID_ENTRIES_READ
                 else group.entries_read),
                (b"lag", _lag(stream, group))])


@command("xinfo|groups", 3, "readonly", keys=(2, 2, 1), group="stream", since="5.0.0",
         summary="List the consumer groups of a stream")
def xinfo_groups(client, args: List[bytes]):
    stream, _ = _info_stream(client, args)
    return [_group_info(stream, stream.groups[name]) for name in sorted(stream.groups)]


@command("xinfo|stream", -3, "readonly", keys=(2, 2, 1), group="stream", since="5.0.0",
         summary="Get information about a stream")
def xinfo_stream(client, args: List[bytes]):
    stream, _ = _info_stream(client, args)
    extra = args[3:]
    full = bool(extra)
    count = 10
    if extra:
        if extra[0].lower() != b"full" or len(extra) not in (1, 3):
            raise _subcommand_syntax(args)
        if len(extra) == 3:
            if extra[1].lower() != b"count":
                raise _subcommand_syntax(args)
            count = parse_int(extra[2])
            if count < 0:
                count = 10
    fields: List[Tuple[bytes, Any]] = [
        (b"length", len(stream)), (b"radix-tree-keys", len(stream.nodes)),
        (b"radix-tree-nodes", stream.radix_tree_nodes()),
        (b"last-generated-id", format_id(stream.last_id)),
        (b"max-deleted-entry-id", format_id(stream.max_deleted_id)),
        (b"entries-added", stream.entries_added),
        (b"recorded-first-entry-id", format_id(stream.first_id))]
    if not full:
        first = _range_reply(stream, MIN_ID, MAX_ID, 1)
        last = _range_reply(stream, MIN_ID, MAX_ID, 1, reverse=True)
        fields += [(b"groups", len(stream.groups)),
                   (b"first-entry", first[0] if first else None),
                   (b"last-entry", last[0] if last else None)]
        return Map(fields)
    groups = []
    for name in sorted(stream.groups):
        group = stream.groups[name]
        pending = [[format_id(i), nack.consumer.name, nack.delivery_time,
                    nack.delivery_count]
                   for i, nack in _first(group.pel.items(), count)]
        consumers = []
        for consumer in group.sorted_consumers():
            own = [[format_id(i), nack.delivery_time, nack.delivery_count]
                   for i, nack in _first(consumer.pel.items(), count)]
            consumers.append(Map([(b"name", consumer.name),
                                  (b"seen-time", consumer.seen_time),
                                  (b"pel-count", len(consumer.pel)),
                                  (b"pending", own)]))
        info = _group_info(stream, group)
        groups.append(Map([(b"name", group.name),
                           (b"last-delivered-id", info[b"last-delivered-id"]),
                           (b"entries-read", info[b"entries-read"]),
                           (b"lag", info[b"lag"]), (b"pel-count", len(group.pel)),
                           (b"pending", pending), (b"consumers", consumers)]))
    fields += [(b"entries", _range_reply(stream, MIN_ID, MAX_ID, count)),
               (b"groups", groups)]
    return Map(fields)


def _first(items: Any, count: int) -> list:
    """The first ``count`` items (all of them when count is 0)."""
    out = []
    for item in items:
        if count and len(out) >= count:
            break
        out.append(item)
    return out


@command("xinfo|help", 2, "loading stale", group="stream", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def xinfo_help(client, args: List[bytes]):
    return help_reply(args, [
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    ])

