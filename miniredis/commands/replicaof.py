"""REPLICAOF / SLAVEOF: make this server a replica of another, or (NO ONE) a master.

The link itself (connecting, synchronising, applying the stream) belongs to
:mod:`miniredis.replication.replica`; this module only validates and switches.
"""
from __future__ import annotations

from typing import Any, List

from .. import errors
from ..args import to_int
from ..errors import CommandError
from ..protocol import OK, Simple
from ..replication import replica
from . import command


def _replicaof(client: Any, args: List[bytes]) -> Any:
    state = client.state
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
    return _replicaof(client, args)


@command("slaveof", 3, "admin noscript stale no_async_loading", group="server",
         since="1.0.0", summary="Make the server a replica of another instance, or "
                                "promote it as master.")
def slaveof(client: Any, args: List[bytes]) -> Any:
    return _replicaof(client, args)
