"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB.

The subscriptions themselves and message delivery are :mod:`miniredis.pubsub`'s.

In RESP2 a subscribed connection may only run the commands of ``_ALLOWED_SUBSCRIBED``
(the dispatcher enforces it through :func:`refused_while_subscribed`); in RESP3 any
command runs and messages arrive as push replies.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .. import errors
from ..errors import CommandError
from ..glob import compile_pattern
from ..pubsub import Subscribers, pubsub_of, update_subscribed
from ..protocol import Raw
from . import command, container
from .connection import help_reply

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState

_ALLOWED_SUBSCRIBED = frozenset(("ping", "subscribe", "ssubscribe", "unsubscribe",
                                 "sunsubscribe", "psubscribe", "punsubscribe", "quit",
                                 "reset"))


def refused_while_subscribed(client: "Client", cmd: Any) -> Optional[str]:
    """The error for a command a RESP2 subscriber may not run, else None."""
    if cmd.parent is None and cmd.name in _ALLOWED_SUBSCRIBED:
        return None
    return errors.PUBSUB_CONTEXT.format(cmd.fullname)


def _count(client: "Client", shard: bool) -> int:
    if shard:
        return len(client.ssubscriptions)
    return len(client.subscriptions) + len(client.psubscriptions)


def _notice(client: "Client", kind: bytes, name: Optional[bytes], count: int) -> bytes:
    """A (un)subscribe confirmation: [kind, channel or pattern, count]."""
    head = b">3\r\n" if client.resp == 3 else b"*3\r\n"
    if name is None:
        shown = client.encoder.null
    else:
        shown = b"$%d\r\n%s\r\n" % (len(name), name)
    return b"%s$%d\r\n%s\r\n%s:%d\r\n" % (head, len(kind), kind, shown, count)


def _subscribe(client: "Client", args: List[bytes], shard: bool) -> Raw:
    registry = pubsub_of(client.state)
    table = registry.shard_channels if shard else registry.channels
    mine = client.ssubscriptions if shard else client.subscriptions
    kind = b"ssubscribe" if shard else b"subscribe"
    out = []
    for channel in args[1:]:
        if channel not in mine:
            mine[channel] = None
            table.setdefault(channel, {})[client] = None
        out.append(_notice(client, kind, channel, _count(client, shard)))
    update_subscribed(client)
    return Raw(b"".join(out))


def _unsubscribe(client: "Client", args: List[bytes], shard: bool) -> Raw:
    registry = pubsub_of(client.state)
    table = registry.shard_channels if shard else registry.channels
    mine = client.ssubscriptions if shard else client.subscriptions
    kind = b"sunsubscribe" if shard else b"unsubscribe"
    channels = args[1:] or list(mine)
    out = []
    for channel in channels:
        registry._remove(table, mine, client, channel)
        out.append(_notice(client, kind, channel, _count(client, shard)))
    if not channels:
        out.append(_notice(client, kind, None, _count(client, shard)))
    update_subscribed(client)
    return Raw(b"".join(out))


@command("subscribe", -2, "pubsub noscript loading stale", group="pubsub", since="2.0.0",
         summary="Listen for messages published to the given channels")
def subscribe(client: "Client", args: List[bytes]) -> Any:
    return _subscribe(client, args, shard=False)


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1),
         group="pubsub", since="7.0.0",
         summary="Listen for messages published to the given shard channels")
def ssubscribe(client: "Client", args: List[bytes]) -> Any:
    return _subscribe(client, args, shard=True)


@command("unsubscribe", -1, "pubsub noscript loading stale", group="pubsub",
         since="2.0.0", summary="Stop listening for messages posted to the given channels")
def unsubscribe(client: "Client", args: List[bytes]) -> Any:
    return _unsubscribe(client, args, shard=False)


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1),
         group="pubsub", since="7.0.0",
         summary="Stop listening for messages posted to the given shard channels")
def sunsubscribe(client: "Client", args: List[bytes]) -> Any:
    return _unsubscribe(client, args, shard=True)


@command("psubscribe", -2, "pubsub noscript loading stale", group="pubsub", since="2.0.0",
         summary="Listen for messages published to channels matching the given patterns")
def psubscribe(client: "Client", args: List[bytes]) -> Any:
    registry = pubsub_of(client.state)
    out = []
    for pattern in args[1:]:
        if pattern not in client.psubscriptions:
            client.psubscriptions[pattern] = None
            entry = registry.patterns.get(pattern)
            if entry is None:
                entry = registry.patterns[pattern] = (compile_pattern(pattern), {})
            entry[1][client] = None
        out.append(_notice(client, b"psubscribe", pattern, _count(client, False)))
    update_subscribed(client)
    return Raw(b"".join(out))


@command("punsubscribe", -1, "pubsub noscript loading stale", group="pubsub",
         since="2.0.0",
         summary="Stop listening for messages posted to channels matching the given "
                 "patterns")
def punsubscribe(client: "Client", args: List[bytes]) -> Any:
    registry = pubsub_of(client.state)
    patterns = args[1:] or list(client.psubscriptions)
    out = []
    for pattern in patterns:
        registry._remove_pattern(client, pattern)
        out.append(_notice(client, b"punsubscribe", pattern, _count(client, False)))
    if not patterns:
        out.append(_notice(client, b"punsubscribe", None, _count(client, False)))
    update_subscribed(client)
    return Raw(b"".join(out))


@command("publish", 3, "pubsub loading stale fast may_replicate", group="pubsub",
         since="2.0.0",
         summary="Post a message to a channel")
def publish(client: "Client", args: List[bytes]) -> Any:
    if client.state.repl_feed is not None:
        _to_replicas(client, args)
    return pubsub_of(client.state).publish(args[1], args[2])


def _to_replicas(client: "Client", args: List[bytes]) -> None:
    """Redis replicates PUBLISH (to replicas only, not the AOF): their subscribers
    get the message too. (Inside MULTI or a script it goes ahead of the unit.)"""
    from ..persistence.snapshot import encode
    client.state.repl_feed.append_unit([(client.db.id, encode(list(args)))])


@command("spublish", 3, "pubsub loading stale fast may_replicate", keys=(1, 1, 1),
         group="pubsub", since="7.0.0",
         summary="Post a message to a shard channel")
def spublish(client: "Client", args: List[bytes]) -> Any:
    if client.state.repl_feed is not None:
        _to_replicas(client, args)
    return pubsub_of(client.state).publish(args[1], args[2], shard=True)


container("pubsub", -2, group="pubsub", since="2.8.0",
          summary="A container for Pub/Sub commands")


def _at_most_one_pattern(args: List[bytes]) -> None:
    if len(args) > 3:
        raise CommandError(errors.subcommand_syntax_error(args))


def _channels(table: Dict[bytes, Subscribers], args: List[bytes]) -> List[bytes]:
    if len(args) == 3:
        test = compile_pattern(args[2])
        return [channel for channel in table if test(channel)]
    return list(table)


@command("pubsub|channels", -2, "pubsub loading stale", group="pubsub", since="2.8.0",
         summary="List active channels")
def pubsub_channels(client: "Client", args: List[bytes]) -> Any:
    _at_most_one_pattern(args)
    return _channels(pubsub_of(client.state).channels, args)


@command("pubsub|shardchannels", -2, "pubsub loading stale", group="pubsub",
         since="7.0.0", summary="List active shard channels")
def pubsub_shardchannels(client: "Client", args: List[bytes]) -> Any:
    _at_most_one_pattern(args)
    return _channels(pubsub_of(client.state).shard_channels, args)


def _numsub(table: Dict[bytes, Subscribers], args: List[bytes]) -> Any:
    out: List[Any] = []
    for channel in args[2:]:
        out += [channel, len(table.get(channel, ()))]
    return out


@command("pubsub|numsub", -2, "pubsub loading stale", group="pubsub", since="2.8.0",
         summary="Get the count of subscribers for channels")
def pubsub_numsub(client: "Client", args: List[bytes]) -> Any:
    return _numsub(pubsub_of(client.state).channels, args)


@command("pubsub|shardnumsub", -2, "pubsub loading stale", group="pubsub", since="7.0.0",
         summary="Get the count of subscribers for shard channels")
def pubsub_shardnumsub(client: "Client", args: List[bytes]) -> Any:
    return _numsub(pubsub_of(client.state).shard_channels, args)


@command("pubsub|numpat", 2, "pubsub loading stale", group="pubsub", since="2.8.0",
         summary="Get the count of unique patterns pattern subscriptions")
def pubsub_numpat(client: "Client", args: List[bytes]) -> Any:
    return len(pubsub_of(client.state).patterns)


@command("pubsub|help", 2, "loading stale", group="pubsub", since="6.2.0",
         summary="Show helpful text about the different subcommands")
def pubsub_help(client: "Client", args: List[bytes]) -> Any:
    return help_reply(args, [
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ])


def info_fields(state: "ServerState") -> Dict[str, int]:
    """INFO stats: pubsub_channels, pubsub_patterns, pubsubshard_channels."""
    registry = getattr(state, "pubsub", None)
    if registry is None:
        return {"pubsub_channels": 0, "pubsub_patterns": 0, "pubsubshard_channels": 0}
    return {"pubsub_channels": len(registry.channels),
            "pubsub_patterns": len(registry.patterns),
            "pubsubshard_channels": len(registry.shard_channels)}
