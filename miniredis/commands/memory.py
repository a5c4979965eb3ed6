"""MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP (Redis's object.c).

The reply shapes are Redis's (MEMORY STATS has its fields in Redis's order, with a
``db.N`` map per non-empty database); the numbers are this server's estimates (see
:mod:`miniredis.memory` and :mod:`miniredis.datatypes.memsize`). There is no jemalloc
here: the allocator figures are the estimate and the process's RSS.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any, List, Optional

from .. import errors
from ..args import parse_int
from ..datatypes.memsize import key_size
from ..errors import CommandError
from ..protocol import OK, Double, Map, Verbatim
from ..state import resident_bytes
from . import command, container
from .connection import help_reply

container("memory", -2, group="server", since="4.0.0",
          summary="A container for memory diagnostics commands")


@command("memory|help", 2, "loading stale", group="server", since="4.0.0",
         summary="Show helpful text about the different subcommands")
def memory_help(client, args: List[bytes]) -> Any:
    return help_reply(args, [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ])


@command("memory|usage", -3, "readonly", keys=(2, 2, 1), group="server", since="4.0.0",
         summary="Estimate the memory usage of a key")
def memory_usage(client, args: List[bytes]) -> Any:
    samples = 5
    i = 3
    while i < len(args):
        if args[i].lower() == b"samples" and i + 1 < len(args):
            samples = parse_int(args[i + 1])
            if samples < 0:
                raise CommandError(errors.SYNTAX)
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    # As Redis (a plain dictFind): no expiry check, no access recorded.
    value = client.db.data.get(args[2])
    if value is None:
        return None
    return key_size(args[2], value, samples)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


@command("memory|stats", 2, "", group="server", since="4.0.0",
         summary="Show memory usage details")
def memory_stats(client, args: List[bytes]) -> Any:
    state = client.state
    memory = state.memory
    memory.refresh_clients()
    figures = memory.overhead()
    used = figures["used"]
    peak = max(memory.peak, used)
    rss = resident_bytes()
    net = max(used - memory.startup, 1)
    keys = figures["keys"]
    reply: List[Any] = [
        (b"peak.allocated", peak), (b"total.allocated", used),
        (b"startup.allocated", memory.startup), (b"replication.backlog", 0),
        (b"clients.slaves", 0), (b"clients.normal", memory.clients),
        (b"cluster.links", 0), (b"aof.buffer", figures["aof"]),
        (b"lua.caches", memory.scripts()), (b"functions.caches", 0),
    ]
    for db_id, main, expires in figures["dbs"]:
        reply.append((b"db.%d" % db_id, Map([
            (b"overhead.hashtable.main", main),
            (b"overhead.hashtable.expires", expires),
            (b"overhead.hashtable.slot-to-keys", 0)])))
    reply += [
        (b"overhead.total", figures["overhead"]), (b"keys.count", keys),
        (b"keys.bytes-per-key", net // keys if keys else 0),
        (b"dataset.bytes", figures["dataset"]),
        (b"dataset.percentage", Double(figures["dataset"] * 100 / net)),
        (b"peak.percentage", Double(_ratio(used * 100, peak))),
        (b"allocator.allocated", used), (b"allocator.active", used),
        (b"allocator.resident", rss),
        (b"allocator-fragmentation.ratio", Double(1.0)),
        (b"allocator-fragmentation.bytes", 0),
        (b"allocator-rss.ratio", Double(_ratio(rss, used))),
        (b"allocator-rss.bytes", rss - used),
        (b"rss-overhead.ratio", Double(1.0)), (b"rss-overhead.bytes", 0),
        (b"fragmentation", Double(_ratio(rss, used))),
        (b"fragmentation.bytes", rss - used),
    ]
    return Map(reply)


_DOCTOR_EMPTY = (
    "Hi Sam, this instance is empty or is using very little memory, my issues detector "
    "can't be used in these conditions. Please, leave for your mission on Earth and fill "
    "it with some data. The new Sam and I will be back to our programming as soon as I "
    "finished rebooting.\n")
_DOCTOR_FINE = ("Hi Sam, I can't find any memory issue in your instance. I can only "
                "account for what occurs on this base.\n")
_DOCTOR_PEAK = (
    " * Peak memory: In the past this instance used more than 150% the memory that is "
    "currently using. The allocator is normally not able to release memory after a peak, "
    "so you can expect to see a big fragmentation ratio, however this is actually "
    "harmless and is only due to the memory peak, and if the Redis instance Resident Set "
    "Size (RSS) is currently bigger than expected, the memory will be used as soon as you "
    "fill the Redis instance with more data. If the memory peak was only occasional and "
    "you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise "
    "the only other option is to shutdown and restart the instance.\n\n")
_DOCTOR_CLIENTS = (
    " * Big client buffers: The clients output buffers in this instance are greater than "
    "200K per client (on average). This may result from different causes, like Pub/Sub "
    "clients subscribed to channels bot not receiving data fast enough, so that data "
    "piles on the Redis instance output buffer, or clients sending commands with large "
    "replies or very large sequences of commands in the same pipeline. Please use the "
    "CLIENT LIST command in order to investigate the issue if it causes problems in your "
    "instance, or to understand better why certain clients are using a big amount of "
    "memory.\n\n")
_DOCTOR_SCRIPTS = (
    " * Many scripts: There seem to be many cached scripts in this instance (more than "
    "1000). This may be because scripts are generated and `EVAL`ed, instead of being "
    "parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT "
    "FLUSH` is called periodically, the scripts' caches may end up consuming most of "
    "your memory.\n\n")


def doctor_report(state: Any) -> str:
    """getMemoryDoctorReport's checks that apply without an allocator of our own:
    an (almost) empty instance, a past peak, big client buffers, many scripts."""
    memory = state.memory
    memory.refresh_clients()
    used = memory.used()
    if used < 5 * 1024 * 1024:
        return _DOCTOR_EMPTY
    found: List[str] = []
    if memory.peak / used > 1.5:
        found.append(_DOCTOR_PEAK)
    clients = max(len(state.clients), 1)
    if memory.clients / clients > 200 * 1024:
        found.append(_DOCTOR_CLIENTS)
    scripting = getattr(state, "scripting", None)
    if scripting is not None and len(scripting.scripts) > 1000:
        found.append(_DOCTOR_SCRIPTS)
    if not found:
        return _DOCTOR_FINE
    return ("Sam, I detected a few issues in this Redis instance memory implants:\n\n"
            + "".join(found) + "I'm here to keep you safe, Sam. I want to help you.\n")


@command("memory|doctor", 2, "", group="server", since="4.0.0",
         summary="Outputs memory problems report")
def memory_doctor(client, args: List[bytes]) -> Any:
    return Verbatim(doctor_report(client.state))


@command("memory|malloc-stats", 2, "", group="server", since="4.0.0",
         summary="Show allocator internal stats")
def memory_malloc_stats(client, args: List[bytes]) -> Any:
    # What Redis answers when built without jemalloc.
    return b"Stats not supported for the current allocator"


_libc: Optional[Any] = None


def _malloc_trim() -> None:
    """Give free heap pages back to the system where glibc allows it."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name) if name else False
    trim = getattr(_libc, "malloc_trim", None) if _libc else None
    if trim is not None:
        trim(0)


@command("memory|purge", 2, "", group="server", since="4.0.0",
         summary="Ask the allocator to release memory")
def memory_purge(client, args: List[bytes]) -> Any:
    try:
        gc.collect()
        _malloc_trim()
    except OSError:
        raise CommandError(errors.MEMORY_PURGE_FAILED) from None
    return OK
