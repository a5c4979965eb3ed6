"""Replication commands a master answers: SYNC, PSYNC, REPLCONF, WAIT and ROLE.

The machinery (replica links, full synchronisation, the backlog, WAIT's waiters) is
:mod:`miniredis.replication.master` (``state.replicas``); these handlers parse and
check arguments with Redis's exact errors and hand over.
"""
from __future__ import annotations

from typing import Any, List

from .. import errors
from ..args import parse_int, to_int
from ..errors import CommandError
from ..protocol import OK, Raw
from ..replication import replica
from . import command
from .admin import _timeout_ms

_NO_REPLY = Raw(b"")


def _start_sync(client: Any, args: List[bytes], psync: bool) -> Any:
    state = client.state
    master = state.replicas
    if master.is_replica(client):
        return _NO_REPLY                    # already a replica: ignored, as Redis
    if psync and len(args) > 3 and args[3].lower() == b"failover":
        # Our master hands us its role (FAILOVER): if it speaks of our history,
        # become a master; the PSYNC then goes on as from any replica.
        state.log("warning", "Failover request received for replid %s."
                  % args[1].decode("utf-8", "replace"))
        if not state.repl.is_replica:
            raise CommandError(errors.PSYNC_FAILOVER_MASTER)
        if args[1].lower() != state.repl.replid.encode():
            raise CommandError(errors.PSYNC_FAILOVER_REPLID)
        replica.unset_master(state)
        state.log("notice", "MASTER MODE enabled (failover request from 'id=%d addr=%s')"
                  % (client.id, client.addr))
    if state.failover.active:
        raise CommandError(errors.SYNC_FAILING_OVER)
    link = state.repl.link
    if state.repl.is_replica and (link is None or link.status != "connected"):
        raise CommandError(errors.SYNC_NO_MASTER_LINK)
    if client.out or client._unsent:
        raise CommandError(errors.SYNC_PENDING_OUTPUT)
    conf = master.conf(client)
    if conf.functions_only is not None and not conf.capa_eof:
        raise CommandError(errors.SYNC_FILTER_NEEDS_EOF)
    state.log("notice", "Replica %s asks for synchronization" % client.addr)
    if psync:
        offset = to_int(args[2])
        if offset is None:
            state.log("warning", "Replica %s asks for synchronization but with a wrong "
                                 "offset" % client.addr)
            raise CommandError(errors.NOT_INTEGER)
        replid = args[1].decode("latin-1")
        if master.try_partial(client, replid, offset):
            master.sync_partial_ok += 1
            return _NO_REPLY
        if not replid.startswith("?"):
            master.sync_partial_err += 1
    master.full_sync(client, pre_psync=not psync)
    return _NO_REPLY


@command("sync", 1, "admin noscript no_async_loading no_multi", group="server",
         since="1.0.0", summary="Internal command used for replication")
def sync(client: Any, args: List[bytes]) -> Any:
    return _start_sync(client, args, psync=False)


@command("psync", -3, "admin noscript no_async_loading no_multi", group="server",
         since="2.8.0", summary="Internal command used for replication")
def psync(client: Any, args: List[bytes]) -> Any:
    return _start_sync(client, args, psync=True)


@command("replconf", -1, "admin noscript loading stale allow_busy", group="server",
         since="3.0.0", summary="An internal command for configuring the replication stream")
def replconf(client: Any, args: List[bytes]) -> Any:
    if len(args) % 2 == 0:
        raise CommandError(errors.SYNTAX)
    master = client.state.replicas
    conf = master.conf(client)
    for i in range(1, len(args), 2):
        option, value = args[i].lower(), args[i + 1]
        if option == b"listening-port":
            conf.listening_port = parse_int(value)
        elif option == b"ip-address":
            if len(value) >= 256:           # NET_HOST_STR_LEN
                raise CommandError(errors.REPLCONF_IP_TOO_LONG.format(len(value)))
            conf.ip = value.decode("utf-8", "replace")
        elif option == b"capa":
            if value.lower() == b"eof":
                conf.capa_eof = True
            elif value.lower() == b"psync2":
                conf.capa_psync2 = True
        elif option == b"ack":
            # A replica's acknowledged offset (FACK, its fsynced AOF offset, follows);
            # never answered.
            if master.is_replica(client):
                offset = to_int(value)
                if offset is not None:
                    master.ack(client, offset)
            return _NO_REPLY
        elif option == b"getack":
            # Our master's GETACK is answered by the replica side as it applies the
            # stream; from anyone else it gets no reply, as in Redis.
            return _NO_REPLY
        elif option == b"rdb-only":
            number = parse_int(value)
            if number not in (0, 1):
                raise CommandError(errors.REPLCONF_RDB_ONLY_RANGE)
            conf.rdb_only = number == 1
        elif option == b"rdb-filter-only":
            words = value.split()
            if b'"' in value and value.count(b'"') % 2:
                raise CommandError(errors.REPLCONF_FILTER_MISSING)
            functions = True if words else False
            for word in words:
                word = word.strip(b'"\'')
                if word.lower() != b"functions":
                    raise CommandError(errors.REPLCONF_FILTER_UNSUPPORTED.format(
                        errors.c_text(word)))
            conf.functions_only = functions
        else:
            raise CommandError(errors.REPLCONF_UNKNOWN.format(errors.c_text(args[i])))
    return OK


@command("wait", 3, "noscript", group="generic", since="3.0.0",
         summary="Wait for the synchronous replication of all the write commands sent in "
                 "the context of the current connection")
def wait(client: Any, args: List[bytes]) -> Any:
    state = client.state
    if state.repl.is_replica:
        raise CommandError(errors.WAIT_ON_REPLICA)
    wanted = parse_int(args[1])
    end = _timeout_ms(client, args[2])
    seconds = max(end - state.clock.ms(), 1) / 1000.0 if end else 0.0
    return state.replicas.wait(client, wanted, seconds)


@command("role", 1, "noscript loading stale fast", group="server", since="2.8.12",
         summary="Return the role of the instance in the context of replication")
def role(client: Any, args: List[bytes]) -> Any:
    state = client.state
    link = state.repl.link
    if link is not None:
        return link.role_reply()    # a replica: its master and the link's state
    return [b"master", state.repl.offset, state.replicas.role_entries()]
