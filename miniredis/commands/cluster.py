"""CLUSTER on a standalone server.

miniredis never runs in cluster mode. Redis 7.0.15 started without ``cluster-enabled``
still has the CLUSTER command and every one of its subcommands (COMMAND LIST/INFO/
COUNT show them), and each answers that cluster support is disabled once its arity
has been checked; the same table here gives the same answers.
"""
from __future__ import annotations

from typing import List

from .. import errors
from ..errors import CommandError
from . import command, container

container("cluster", -2, group="cluster", since="3.0.0",
          summary="A container for cluster commands")

_ADMIN = "admin stale no_async_loading"
# name: (arity, flags, since, summary), as Redis 7.0.15 declares them.
_SUBCOMMANDS = {
    "addslots": (-3, _ADMIN, "3.0.0", "Assign new hash slots to receiving node"),
    "addslotsrange": (-4, _ADMIN, "7.0.0", "Assign new hash slots to receiving node"),
    "bumpepoch": (2, _ADMIN, "3.0.0", "Advance the cluster config epoch"),
    "count-failure-reports": (3, "admin stale", "3.0.0",
                              "Return the number of failure reports active for a given "
                              "node"),
    "countkeysinslot": (3, "stale", "3.0.0",
                        "Return the number of local keys in the specified hash slot"),
    "delslots": (-3, _ADMIN, "3.0.0", "Set hash slots as unbound in receiving node"),
    "delslotsrange": (-4, _ADMIN, "7.0.0", "Set hash slots as unbound in receiving node"),
    "failover": (-2, _ADMIN, "3.0.0",
                 "Forces a replica to perform a manual failover of its master."),
    "flushslots": (2, _ADMIN, "3.0.0", "Delete a node's own slots information"),
    "forget": (3, _ADMIN, "3.0.0", "Remove a node from the nodes table"),
    "getkeysinslot": (4, "stale", "3.0.0",
                      "Return local key names in the specified hash slot"),
    "help": (2, "loading stale", "5.0.0",
             "Show helpful text about the different subcommands"),
    "info": (2, "stale", "3.0.0", "Provides info about Redis Cluster node state"),
    "keyslot": (3, "stale", "3.0.0", "Returns the hash slot of the specified key"),
    "links": (2, "stale", "7.0.0",
              "Returns a list of all TCP links to and from peer nodes in cluster"),
    "meet": (-4, _ADMIN, "3.0.0", "Force a node cluster to handshake with another node"),
    "myid": (2, "stale", "3.0.0", "Return the node id"),
    "nodes": (2, "stale", "3.0.0", "Get Cluster config for the node"),
    "replicas": (3, "admin stale", "5.0.0",
                 "List replica nodes of the specified master node"),
    "replicate": (3, _ADMIN, "3.0.0",
                  "Reconfigure a node as a replica of the specified master node"),
    "reset": (-2, "admin noscript stale", "3.0.0", "Reset a Redis Cluster node"),
    "saveconfig": (2, _ADMIN, "3.0.0", "Forces the node to save cluster state on disk"),
    "set-config-epoch": (3, _ADMIN, "3.0.0", "Set the configuration epoch in a new node"),
    "setslot": (-4, _ADMIN, "3.0.0", "Bind a hash slot to a specific node"),
    "shards": (2, "stale", "7.0.0", "Get array of cluster slots to node mappings"),
    "slaves": (3, "admin stale", "3.0.0", "List replica nodes of the specified master node"),
    "slots": (2, "stale", "3.0.0", "Get array of Cluster slot to node mappings"),
}


def _disabled(client, args: List[bytes]):
    """Every CLUSTER subcommand of a server not in cluster mode, HELP included."""
    raise CommandError(errors.CLUSTER_DISABLED)


for _name, (_arity, _flags, _since, _summary) in _SUBCOMMANDS.items():
    command("cluster|" + _name, _arity, _flags, group="cluster", since=_since,
            summary=_summary)(_disabled)



@command("asking", 1, "fast", group="cluster", since="3.0.0",
         summary="Sent by cluster clients after an -ASK redirect")
def asking(client, args: List[bytes]):
    raise CommandError(errors.CLUSTER_DISABLED)


@command("readonly", 1, "loading stale fast", group="cluster", since="3.0.0",
         summary="Enables read queries for a connection to a cluster replica node")
def readonly(client, args: List[bytes]):
    raise CommandError(errors.CLUSTER_DISABLED)


@command("readwrite", 1, "loading stale fast", group="cluster", since="3.0.0",
         summary="Disables read queries for a connection to a cluster replica node")
def readwrite(client, args: List[bytes]):
    raise CommandError(errors.CLUSTER_DISABLED)
