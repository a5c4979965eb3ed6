"""Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB.

:class:`PubSub` holds one server's subscriptions: channel -> subscribed clients (in
subscription order) and pattern -> (compiled glob, clients); shard channels behave as
plain channels of their own namespace, as on a single non-cluster Redis.

A message is encoded once per protocol (an array in RESP2, a push in RESP3) and
appended to each receiver's output; receivers other than the publisher are flushed
from a loop callback, so a pipeline of PUBLISHes costs each subscriber one send, not
one per message. A subscriber that stops reading has its unsent bytes checked against
``client-output-buffer-limit pubsub`` and is disconnected past the limit, as Redis does.

In RESP2 a subscribed connection may only run the commands of ``_ALLOWED_SUBSCRIBED``
(the dispatcher enforces it through :func:`refused_while_subscribed`); in RESP3 any
command runs and messages arrive as push replies.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from .. import errors
from ..errors import CommandError
from ..glob import compile_pattern
from ..protocol import Raw
from . import command, container
from .connection import help_reply

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState

Subscribers = Dict["Client", None]   # an insertion-ordered set of clients

_ALLOWED_SUBSCRIBED = frozenset(("ping", "subscribe", "ssubscribe", "unsubscribe",
                                 "sunsubscribe", "psubscribe", "punsubscribe", "quit",
                                 "reset"))


class PubSub:
    """Every subscription of one server, and message delivery."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.channels: Dict[bytes, Subscribers] = {}
        self.shard_channels: Dict[bytes, Subscribers] = {}
        self.patterns: Dict[bytes, Tuple[Callable[[bytes], bool], Subscribers]] = {}
        state.on_client_close.append(self.forget)
        state.on_client_reset.append(self.forget)

    def forget(self, client: "Client") -> None:
        """Drop every subscription of ``client`` without telling it (RESET, close)."""
        for channel in list(client.subscriptions):
            self._remove(self.channels, client.subscriptions, client, channel)
        for channel in list(client.ssubscriptions):
            self._remove(self.shard_channels, client.ssubscriptions, client, channel)
        for pattern in list(client.psubscriptions):
            self._remove_pattern(client, pattern)
        _update_subscribed(client)

    @staticmethod
    def _remove(table: Dict[bytes, Subscribers], mine: Dict[bytes, None],
                client: "Client", channel: bytes) -> bool:
        if channel not in mine:
            return False
        del mine[channel]
        subscribers = table[channel]
        del subscribers[client]
        if not subscribers:
            del table[channel]
        return True

    def _remove_pattern(self, client: "Client", pattern: bytes) -> bool:
        if pattern not in client.psubscriptions:
            return False
        del client.psubscriptions[pattern]
        subscribers = self.patterns[pattern][1]
        del subscribers[client]
        if not subscribers:
            del self.patterns[pattern]
        return True

    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> int:
        """Deliver ``message`` to the channel's and the matching patterns' subscribers;
        the number of deliveries (PUBLISH's reply)."""
        received = 0
        table = self.shard_channels if shard else self.channels
        subscribers = table.get(channel)
        if subscribers:
            kind = b"smessage" if shard else b"message"
            resp2 = b"*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                len(kind), kind, len(channel), channel, len(message), message)
            resp3 = b">" + resp2[1:]
            for client in list(subscribers):
                client.push(resp3 if client.resp == 3 else resp2)
                received += 1
        if not shard and self.patterns:
            for pattern, (test, clients) in list(self.patterns.items()):
                if not test(channel):
                    continue
                resp2 = b"*4\r\n$8\r\npmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                    len(pattern), pattern, len(channel), channel, len(message), message)
                resp3 = b">" + resp2[1:]
                for client in list(clients):
                    client.push(resp3 if client.resp == 3 else resp2)
                    received += 1
        return received


def pubsub_of(state: "ServerState") -> PubSub:
    """The server's subscription registry (created on first use)."""
    registry = getattr(state, "pubsub", None)
    if registry is None:
        registry = state.pubsub = PubSub(state)
    return registry


def refused_while_subscribed(client: "Client", cmd: Any) -> Optional[str]:
    """The error for a command a RESP2 subscriber may not run, else None."""
    if cmd.parent is None and cmd.name in _ALLOWED_SUBSCRIBED:
        return None
    return errors.PUBSUB_CONTEXT.format(cmd.fullname)


def _update_subscribed(client: "Client") -> None:
    client.subscribed = bool(client.subscriptions or client.psubscriptions
                             or client.ssubscriptions)
    client._update_gate()


def _count(client: "Client", shard: bool) -> int:
    if shard:
        return len(client.ssubscriptions)
    return len(client.subscriptions) + len(client.psubscriptions)


def _notice(client: "Client", kind: bytes, name: Optional[bytes], count: int) -> bytes:
    """A (un)subscribe confirmation: [kind, channel or pattern, count]."""
    head = b">3\r\n" if client.resp == 3 else b"*3\r\n"
    if name is None:
        shown = b"_\r\n" if client.resp == 3 else b"$-1\r\n"
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
    _update_subscribed(client)
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
    _update_subscribed(client)
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
    _update_subscribed(client)
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
    _update_subscribed(client)
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
        raise CommandError(errors.UNKNOWN_SUBCOMMAND_OR_ARITY.format(
            args[1].decode("utf-8", "replace"), "PUBSUB"))


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
