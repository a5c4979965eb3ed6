"""REPLICAOF / SLAVEOF: make this server a replica of another, or (NO ONE) a master;
FAILOVER: hand the master role to a replica.

The link itself (connecting, synchronising, applying the stream) belongs to
:mod:`miniredis.replication.replica`, the failover's steps to
:mod:`miniredis.replication.failover`; this module only validates and switches.
"""
from __future__ import annotations

from typing import Any, List

from .. import errors, oomscore
from ..args import parse_int, to_int
from ..errors import CommandError
from ..protocol import OK, Simple
from ..replication.links import ONLINE
from ..replication import replica
from . import command


def _replicaof(client: Any, args: List[bytes]) -> Any:
    state = client.state
    if state.failover.active:
        raise CommandError(errors.REPLICAOF_FAILING_OVER)
    host, port_text = args[1], args[2]
    if host.lower() == b"no" and port_text.lower() == b"one":
        if state.repl.master_host is not None:
            replica.unset_master(state)
            state.log("notice", "MASTER MODE enabled (user request from 'id=%d addr=%s')"
                      % (client.id, client.addr))
        return OK
    if client.kind == "slave":
        raise CommandError(errors.REPLICAOF_FROM_REPLICA)
    port = to_int(port_text)
    if port is None or not 0 <= port <= 65535:
        raise CommandError(errors.REPLICAOF_INVALID_PORT)
    name = host.decode("utf-8", "surrogateescape")
    repl = state.repl
    if repl.master_host is not None and repl.master_host.lower() == name.lower() \
            and repl.master_port == port:
        state.log("notice", "REPLICAOF would result into synchronization with the master "
                            "we are already connected with. No operation performed.")
        return Simple("OK Already connected to specified master")
    replica.set_master(state, name, port)
    state.log("notice", "REPLICAOF %s:%d enabled (user request from 'id=%d addr=%s')"
              % (name, port, client.id, client.addr))
    return OK


@command("replicaof", 3, "admin noscript stale no_async_loading", group="server",
         since="5.0.0", summary="Make the server a replica of another instance, or "
                                "promote it as master.")
def replicaof(client: Any, args: List[bytes]) -> Any:
    reply = _replicaof(client, args)
    oomscore.apply(client.state)        # (the role's oom-score-adj-values entry)
    return reply


@command("slaveof", 3, "admin noscript stale no_async_loading", group="server",
         since="1.0.0", summary="Make the server a replica of another instance, or "
                                "promote it as master.")
def slaveof(client: Any, args: List[bytes]) -> Any:
    return replicaof(client, args)


@command("failover", -1, "admin noscript stale", group="server", since="6.2.0",
         summary="Start a coordinated failover between this server and one of its "
                 "replicas.")
def failover(client: Any, args: List[bytes]) -> Any:
    """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: the checks of Redis's
    failoverCommand, in its order."""
    state = client.state
    if state.config.values["cluster-enabled"]:
        raise CommandError(errors.FAILOVER_CLUSTER)
    current = state.failover
    if len(args) == 2 and args[1].lower() == b"abort":
        if not current.active:
            raise CommandError(errors.FAILOVER_NONE)
        current.abort("Failover manually aborted")
        return OK
    timeout_ms = 0
    force = False
    host = None
    port = 0
    j, count = 1, len(args)
    while j < count:
        word = args[j].lower()
        if word == b"timeout" and j + 1 < count and timeout_ms == 0:
            timeout_ms = parse_int(args[j + 1])
            if timeout_ms <= 0:
                raise CommandError(errors.FAILOVER_TIMEOUT)
            j += 2
        elif word == b"to" and j + 2 < count and host is None:
            port = parse_int(args[j + 2])
            host = args[j + 1].decode("utf-8", "surrogateescape")
            j += 3
        elif word == b"force" and not force:
            force = True
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
    if current.active:
        raise CommandError(errors.FAILOVER_RUNNING)
    if state.repl.is_replica:
        raise CommandError(errors.FAILOVER_ON_REPLICA)
    if not state.replicas.links:
        raise CommandError(errors.FAILOVER_NO_REPLICAS)
    if force and (not timeout_ms or host is None):
        raise CommandError(errors.FAILOVER_FORCE)
    if host is not None:
        link = current.find(host, port)
        if link is None:
            raise CommandError(errors.FAILOVER_NOT_REPLICA)
        if link.state != ONLINE:
            raise CommandError(errors.FAILOVER_NOT_ONLINE)
    current.begin(host, port, timeout_ms, force)
    return OK
