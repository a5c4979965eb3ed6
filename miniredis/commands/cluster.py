"""CLUSTER, READONLY, READWRITE and ASKING as a Redis 7.0 server without cluster
support (``cluster-enabled no``, the only mode miniredis has) answers them.

Redis keeps these commands in its table when cluster support is off: COMMAND, ACL and
scripts see them with their usual metadata (``CLUSTER RESET`` is ``noscript``, so a
script gets "not allowed" for it), arity is checked as for any command, and every call
that gets that far is refused with the same error, ``CLUSTER HELP`` included. Nothing
here pretends to be a cluster.
"""
from __future__ import annotations

from typing import List

from .. import errors
from ..errors import CommandError
from . import command, container


def _disabled(client, args: List[bytes]):
    """Every cluster command's answer when cluster support is disabled."""
    raise CommandError(errors.CLUSTER_DISABLED)


container("cluster", -2, group="cluster", since="3.0.0",
          summary="A container for cluster commands")

_ADMIN = "admin stale no_async_loading"
# name, arity, flags, since, summary: Redis 7.0.15's table for the subcommands.
_SUBCOMMANDS = [
    ("saveconfig", 2, _ADMIN, "3.0.0", "Forces the node to save cluster state on disk"),
    ("replicate", 3, _ADMIN, "3.0.0",
     "Reconfigure a node as a replica of the specified master node"),
    ("getkeysinslot", 4, "stale", "3.0.0", "Return local key names in the specified hash slot"),
    ("nodes", 2, "stale", "3.0.0", "Get Cluster config for the node"),
    ("set-config-epoch", 3, _ADMIN, "3.0.0", "Set the configuration epoch in a new node"),
    ("delslotsrange", -4, _ADMIN, "7.0.0", "Set hash slots as unbound in receiving node"),
    ("myid", 2, "stale", "3.0.0", "Return the node id"),
    ("reset", -2, "admin noscript stale", "3.0.0", "Reset a Redis Cluster node"),
    ("replicas", 3, "admin stale", "5.0.0",
     "List replica nodes of the specified master node"),
    ("info", 2, "stale", "3.0.0", "Provides info about Redis Cluster node state"),
    ("countkeysinslot", 3, "stale", "3.0.0",
     "Return the number of local keys in the specified hash slot"),
    ("addslotsrange", -4, _ADMIN, "7.0.0", "Assign new hash slots to receiving node"),
    ("keyslot", 3, "stale", "3.0.0", "Returns the hash slot of the specified key"),
    ("count-failure-reports", 3, "admin stale", "3.0.0",
     "Return the number of failure reports active for a given node"),
    ("slaves", 3, "admin stale", "3.0.0", "List replica nodes of the specified master node"),
    ("meet", -4, _ADMIN, "3.0.0", "Force a node cluster to handshake with another node"),
    ("forget", 3, _ADMIN, "3.0.0", "Remove a node from the nodes table"),
    ("links", 2, "stale", "7.0.0",
     "Returns a list of all TCP links to and from peer nodes in cluster"),
    ("help", 2, "loading stale", "5.0.0", "Show helpful text about the different subcommands"),
    ("setslot", -4, _ADMIN, "3.0.0", "Bind a hash slot to a specific node"),
    ("slots", 2, "stale", "3.0.0", "Get array of Cluster slot to node mappings"),
    ("shards", 2, "stale", "7.0.0", "Get array of cluster slots to node mappings"),
    ("flushslots", 2, _ADMIN, "3.0.0", "Delete a node's own slots information"),
    ("bumpepoch", 2, _ADMIN, "3.0.0", "Advance the cluster config epoch"),
    ("addslots", -3, _ADMIN, "3.0.0", "Assign new hash slots to receiving node"),
    ("failover", -2, _ADMIN, "3.0.0",
     "Forces a replica to perform a manual failover of its master."),
    ("delslots", -3, _ADMIN, "3.0.0", "Set hash slots as unbound in receiving node"),
]
for _name, _arity, _flags, _since, _summary in _SUBCOMMANDS:
    command("cluster|" + _name, _arity, _flags, group="cluster", since=_since,
            summary=_summary)(_disabled)

command("readonly", 1, "loading stale fast", group="cluster", since="3.0.0",
        summary="Enables read queries for a connection to a cluster replica node")(_disabled)
command("readwrite", 1, "loading stale fast", group="cluster", since="3.0.0",
        summary="Disables read queries for a connection to a cluster replica node")(_disabled)
command("asking", 1, "fast", group="cluster", since="3.0.0",
        summary="Sent by cluster clients after an -ASK redirect")(_disabled)
