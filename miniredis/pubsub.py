"""Who listens to what, and message delivery: one server's pub/sub registry.

:class:`PubSub` holds one server's subscriptions: channel -> subscribed clients (in
subscription order) and pattern -> (compiled glob, clients); shard channels behave as
plain channels of their own namespace, as on a single non-cluster Redis. PUBLISH and
keyspace notifications (:mod:`miniredis.notify`) deliver through it.

A message is encoded once per protocol (an array in RESP2, a push in RESP3) and
appended to each receiver's output; receivers other than the publisher are flushed
from a loop callback, so a pipeline of PUBLISHes costs each subscriber one send, not
one per message. A subscriber that stops reading has its unsent bytes checked against
``client-output-buffer-limit pubsub`` and is disconnected past the limit, as Redis does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Client
    from .state import ServerState

Subscribers = Dict["Client", None]   # an insertion-ordered set of clients

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
        update_subscribed(client)

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


def update_subscribed(client: "Client") -> None:
    """Keep ``client.subscribed`` (and so its dispatch gate) true to its subscriptions."""
    client.subscribed = bool(client.subscriptions or client.psubscriptions
                             or client.ssubscriptions)
    # The most channels each of its dicts held (their bucket arrays never shrink:
    # tot-mem counts them, querybuf.structures_memory).
    high = client.sub_high
    channels, shard = len(client.subscriptions), len(client.ssubscriptions)
    if channels or shard or high:
        if not high or channels > high[0] or shard > high[1]:
            client.sub_high = (max(channels, high[0] if high else 0),
                               max(shard, high[1] if high else 0))
    client._update_gate()
