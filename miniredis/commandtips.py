"""Command tips: the hints COMMAND INFO gives clients about a command's reply.

Redis 7 documents whether a command's output is nondeterministic (or only its order),
and how a cluster client should fan a command out to shards and merge the replies
(request_policy / response_policy). miniredis is never a cluster, but COMMAND INFO
reports the tips as Redis 7.0.15 declares them, in its order, for clients that read
them.
"""
from __future__ import annotations

from typing import Dict, List

_ALL_NODES_OK = "request_policy:all_nodes response_policy:all_succeeded"
_ALL_SHARDS_OK = "request_policy:all_shards response_policy:all_succeeded"
_SHARDS_SPECIAL = "nondeterministic_output request_policy:all_shards response_policy:special"
_NODES_SPECIAL = "nondeterministic_output request_policy:all_nodes response_policy:special"
_SUM = "request_policy:multi_shard response_policy:agg_sum"
_OUTPUT = "nondeterministic_output"
_ORDER = "nondeterministic_output_order"

_TIPS: Dict[str, str] = {
    "client|info": _OUTPUT,
    "client|list": _OUTPUT,
    "cluster|bumpepoch": _OUTPUT,
    "cluster|count-failure-reports": _OUTPUT,
    "cluster|getkeysinslot": _OUTPUT,
    "cluster|info": _OUTPUT,
    "cluster|links": _OUTPUT,
    "cluster|nodes": _OUTPUT,
    "cluster|replicas": _OUTPUT,
    "cluster|shards": _OUTPUT,
    "cluster|slaves": _OUTPUT,
    "cluster|slots": _OUTPUT,
    "command": _ORDER,
    "command|docs": _ORDER,
    "command|info": _ORDER,
    "command|list": _ORDER,
    "config|set": _ALL_NODES_OK,
    "dbsize": "request_policy:all_shards response_policy:agg_sum",
    "del": _SUM,
    "dump": _OUTPUT,
    "exists": _SUM,
    "flushall": _ALL_SHARDS_OK,
    "flushdb": _ALL_SHARDS_OK,
    "function|delete": _ALL_SHARDS_OK,
    "function|flush": _ALL_SHARDS_OK,
    "function|kill": "request_policy:all_shards response_policy:one_succeeded",
    "function|list": _ORDER,
    "function|load": _ALL_SHARDS_OK,
    "function|restore": _ALL_SHARDS_OK,
    "function|stats": _SHARDS_SPECIAL,
    "hgetall": _ORDER,
    "hkeys": _ORDER,
    "hrandfield": _OUTPUT,
    "hscan": _OUTPUT,
    "hvals": _ORDER,
    "info": _SHARDS_SPECIAL,
    "keys": "request_policy:all_shards nondeterministic_output_order",
    "lastsave": _OUTPUT,
    "latency|doctor": _NODES_SPECIAL,
    "latency|graph": _NODES_SPECIAL,
    "latency|histogram": _NODES_SPECIAL,
    "latency|history": _NODES_SPECIAL,
    "latency|latest": _NODES_SPECIAL,
    "latency|reset": _ALL_NODES_OK,
    "memory|doctor": _SHARDS_SPECIAL,
    "memory|malloc-stats": _SHARDS_SPECIAL,
    "memory|purge": _ALL_SHARDS_OK,
    "memory|stats": _SHARDS_SPECIAL,
    "mget": "request_policy:multi_shard",
    "migrate": _OUTPUT,
    "module|list": _ORDER,
    "mset": "request_policy:multi_shard response_policy:all_succeeded",
    "msetnx": "request_policy:multi_shard response_policy:agg_min",
    "object|encoding": _OUTPUT,
    "object|freq": _OUTPUT,
    "object|idletime": _OUTPUT,
    "object|refcount": _OUTPUT,
    "ping": _ALL_SHARDS_OK,
    "pttl": _OUTPUT,
    "randomkey": "request_policy:all_shards nondeterministic_output",
    "scan": "nondeterministic_output request_policy:special",
    "script|exists": "request_policy:all_shards response_policy:agg_logical_and",
    "script|flush": _ALL_NODES_OK,
    "script|kill": "request_policy:all_shards response_policy:one_succeeded",
    "script|load": _ALL_NODES_OK,
    "sdiff": _ORDER,
    "sinter": _ORDER,
    "slowlog|get": "request_policy:all_nodes nondeterministic_output",
    "slowlog|len": "request_policy:all_nodes response_policy:agg_sum nondeterministic_output",
    "slowlog|reset": _ALL_NODES_OK,
    "smembers": _ORDER,
    "spop": _OUTPUT,
    "srandmember": _OUTPUT,
    "sscan": _OUTPUT,
    "sunion": _ORDER,
    "time": _OUTPUT,
    "touch": _SUM,
    "ttl": _OUTPUT,
    "unlink": _SUM,
    "wait": "request_policy:all_shards response_policy:agg_min",
    "xadd": _OUTPUT,
    "xautoclaim": _OUTPUT,
    "xclaim": _OUTPUT,
    "xinfo|consumers": _OUTPUT,
    "xpending": _OUTPUT,
    "xtrim": _OUTPUT,
    "zrandmember": _OUTPUT,
    "zscan": _OUTPUT,
}


def tips_of(fullname: str) -> List[str]:
    """The tips of a command or subcommand ("scan", "memory|stats"), in Redis's order."""
    text = _TIPS.get(fullname)
    return text.split() if text else []
