"""ACL categories of commands, as Redis 7.0 derives them: one source for ACL and COMMAND.

Redis states some categories per command and implies others from the command's flags
(setImplicitACLCategories); :func:`categories` reproduces both from our command table,
so ``ACL CAT``, ``+@category`` rules and ``COMMAND INFO`` always agree.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List

if TYPE_CHECKING:  # pragma: no cover
    from ..commands import Command

# Redis's category list, in its own (bit) order: ACL CAT and COMMAND INFO list them so.
CATEGORIES = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
              "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
              "blocking", "dangerous", "connection", "transaction", "scripting"]
# The category a command's documentation group implies (Redis states these per command;
# they follow the group except for the exceptions below).
_GROUP_CATEGORY = {"generic": "keyspace", "string": "string", "list": "list", "set": "set",
                   "sorted_set": "sortedset", "sorted-set": "sortedset", "hash": "hash",
                   "bitmap": "bitmap",
                   "hyperloglog": "hyperloglog", "geo": "geo", "stream": "stream",
                   "pubsub": "pubsub", "connection": "connection",
                   "transactions": "transaction", "scripting": "scripting"}
# Redis 7.0's explicit categories where they differ from the group's.
_CATEGORY_EXCEPTIONS = {
    "keys": ("keyspace", "dangerous"), "flushall": ("keyspace", "dangerous"),
    "flushdb": ("keyspace", "dangerous"), "dbsize": ("keyspace",),
    "swapdb": ("keyspace", "dangerous"), "migrate": ("keyspace", "dangerous"),
    "restore": ("keyspace", "dangerous"), "restore-asking": ("keyspace", "dangerous"),
    "sort": ("set", "sortedset", "list", "dangerous"),
    "sort_ro": ("set", "sortedset", "list", "dangerous"),
    "info": ("dangerous",), "lastsave": ("admin", "dangerous"), "time": (),
    "role": ("admin", "dangerous"), "wait": ("connection",), "latency": (), "module": (),
    "command|getkeysandflags": ("connection",),
    "asking": ("connection",), "readonly": ("connection",), "readwrite": ("connection",),
    "client": (), "client|kill": ("connection",), "client|list": ("connection",),
    "client|no-evict": ("connection",), "client|pause": ("connection",),
    "client|unpause": ("connection",), "client|unblock": ("connection",),
    "client|help": ("connection",), "client|setinfo": ("connection",),
    "command": ("connection",), "command|count": ("connection",),
    "command|info": ("connection",), "command|docs": ("connection",),
    "command|list": ("connection",), "command|help": ("connection",),
    "command|getkeys": ("connection",), "object": (), "object|help": ("keyspace",),
    "debug": (), "slowlog": (), "config": (), "hello": ("connection",),
    "pubsub": (), "pubsub|help": (), "xgroup": (), "xinfo": (), "script": (),
    "function": (), "readonly": ("connection",), "readwrite": ("connection",),
    "asking": ("connection",),
}


def categories(cmd: "Command") -> List[str]:
    """ACL categories as Redis derives them: explicit ones plus those the flags imply."""
    explicit = _CATEGORY_EXCEPTIONS.get(cmd.fullname)
    if explicit is None:
        explicit = (_GROUP_CATEGORY[cmd.group],) if cmd.group in _GROUP_CATEGORY else ()
    found = set(explicit)
    flags = cmd.flags
    if "write" in flags:
        found.add("write")
    if "readonly" in flags and "scripting" not in found:
        found.add("read")
    if "admin" in flags:
        found.update(("admin", "dangerous"))
    if "pubsub" in flags:
        found.add("pubsub")
    if "blocking" in flags:
        found.add("blocking")
    found.add("fast" if "fast" in flags else "slow")
    return [name for name in CATEGORIES if name in found]
