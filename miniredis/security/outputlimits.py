"""client-output-buffer-limit for normal clients, as Redis's checkClientOutputBufferLimits.

A client's replies beyond its reply buffer (16 KB, or what the clients cron resized it
to: CLIENT LIST's rbs) count against its class's limits
(``normal``; a subscribed client is ``pubsub``, handled where pushes are queued, see
:mod:`miniredis.output`; replicas have their own, see :mod:`miniredis.replication`).
Past the hard limit, or past the soft one for its seconds, the client is closed as soon
as possible: none of its pending replies is written and none of its pipelined requests
after the one that crossed the limit runs (Redis stops processing a client flagged
CLOSE_ASAP). A transaction runs whole: the limit is looked at between requests, and
EXEC is one request. With the default ``normal 0 0 0`` nothing here runs: while a
normal limit is set every client takes the dispatcher's slow path, which looks at its
output before each request, and the write path looks once more.

Replies whose length Redis cannot know before building them (KEYS, SINTER, the
BYSCORE/BYLEX ranges, XRANGE, SLOWLOG GET, PUBSUB CHANNELS: addReplyDeferredLen) start
with a placeholder in the reply list; from then on the reply buffer takes nothing (it
only fills while the list is empty), so such a reply counts whole against the limit,
and the buffer absorbs only what came before it (:func:`deferred_reply`).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..state import ServerState


def past_limits(used: int, limits: Tuple[int, int, int],
                since: float) -> Tuple[bool, float]:
    """checkClientOutputBufferLimits for ``used`` bytes against a class's (hard, soft,
    seconds): whether the client is over (the hard limit, or the soft one for its
    seconds), and when it first passed the soft limit (``since``, 0.0: it is under)."""
    hard, soft, seconds = limits
    over = bool(hard) and used >= hard
    if soft and used >= soft:
        now = time.monotonic()
        if not since:
            since = now
        elif now - since >= seconds:
            over = True
    else:
        since = 0.0
    return over, since


# Commands whose reply Redis starts with addReplyDeferredLen (ZRANGE: with BYSCORE or
# BYLEX only).
_DEFERRED_LEN = frozenset((
    "keys", "sinter", "zrangebyscore", "zrevrangebyscore", "zrangebylex",
    "zrevrangebylex", "xrange", "xrevrange", "slowlog|get", "pubsub|channels",
    "pubsub|shardchannels"))


def deferred_reply(client: Any, cmd: Any, args: Any) -> None:
    """Before ``cmd`` runs (a normal limit is set): if its reply starts with a deferred
    length, remember how much output came before it in this reply list."""
    name = cmd.fullname
    if name not in _DEFERRED_LEN and not (
            name == "zrange" and any(arg.lower() in (b"byscore", b"bylex")
                                     for arg in args[4:])):
        return
    marker = client.rb_defer
    if marker is None or marker[0] is not client.out:
        client.rb_defer = (client.out, client.output_pending)


def _absorbed(client: Any) -> int:
    """How much of the pending output Redis's reply buffer holds: all it can, unless
    a deferred-length reply began in the current reply list, after which it takes
    nothing."""
    marker = client.rb_defer
    if marker is not None and marker[0] is client.out:
        return min(client.rb_size, marker[1])
    return client.rb_size


def apply(state: "ServerState") -> None:
    """The normal class's limits changed (or the server starts): put every client on
    the slow path while one is set."""
    hard, soft, _ = state.config.values["client-output-buffer-limit"]["normal"]
    limited = bool(hard or soft)
    if limited != state.normal_output_limited:
        state.normal_output_limited = limited
        state.refresh_gates()


def room(client: Any) -> Optional[int]:
    """Bytes of reply the client may still be given before its hard limit (None: no
    limit): commands that could build a reply without end (HRANDFIELD, SRANDMEMBER,
    ZRANDMEMBER with a negative count) stop there, as Redis's do once the client is
    flagged."""
    state = client.state
    if not state.normal_output_limited or client.subscribed:
        return None
    hard = state.config.values["client-output-buffer-limit"]["normal"][0]
    if not hard:
        return None
    return max(0, hard + _absorbed(client) - client.output_pending) + 1


def draws(client: Any, wanted: int) -> int:
    """How many of ``wanted`` repeated random draws to make: all of them, unless the
    client's hard limit would be passed first (each reply element is at least 6
    bytes: one more than fits is enough for the limit to close it)."""
    limit = room(client)
    return wanted if limit is None else min(wanted, limit // 6 + 1)


def close_if_over(client: Any) -> bool:
    """Close ``client`` (dropping its pending replies) if its output is past the normal
    class's limits; True if it was. Never the AOF's replaying client or a master's."""
    state = client.state
    if client.subscribed or client.kind != "normal" or client.closing \
            or client.obeyed or state.replicas.is_replica(client):
        return False
    used = client.output_pending - _absorbed(client)   # (the reply buffer's part is free)
    over, client._over_soft_limit_since = past_limits(
        used, state.config.values["client-output-buffer-limit"]["normal"],
        client._over_soft_limit_since)
    if not over:
        return False
    from ..commands.connection import client_line
    state.log("warning", "Client %s scheduled to be closed ASAP for overcoming of output "
              "buffer limits." % client_line(client, time.time()))
    client.out = []
    client._unsent = bytearray() if client._unsent else client._unsent
    client.closing = True
    if not client.in_callback:
        client.close()
    return True
