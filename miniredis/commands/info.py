"""INFO: the sections Redis 7.0 prints, each built from the server's state (moved
out of commands/server.py, which kept the other server commands)."""
from __future__ import annotations

import os
import platform
import resource
import sys
from typing import List

from .. import evict, persistence
from ..histogram import has_histogram, percentiles
from ..protocol import Verbatim
from ..state import resident_bytes
from . import command
from .connection import REDIS_VERSION
from .pubsub import info_fields as pubsub_info


# Redis prints the sections it was asked for in this fixed order, whatever the order of
# the arguments; "default" is everything but commandstats and latencystats.
_ORDER = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
          "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"]
_DEFAULT_SECTIONS = [name for name in _ORDER if name not in ("commandstats", "latencystats")]


def _section_server(state) -> List[str]:
    uptime = int(state.uptime())
    return [
        "redis_version:%s" % REDIS_VERSION, "redis_git_sha1:00000000", "redis_git_dirty:0",
        "redis_build_id:miniredis", "redis_mode:standalone",
        "os:%s %s %s" % (platform.system(), platform.release(), platform.machine()),
        "arch_bits:%d" % (64 if sys.maxsize > 2 ** 32 else 32),
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll", "atomicvar_api:c11-builtin", "gcc_version:0.0.0",
        "process_id:%d" % state.pid, "process_supervised:no", "run_id:%s" % state.run_id,
        "tcp_port:%d" % state.tcp_port, "server_time_usec:%d" % state.clock.us(),
        "uptime_in_seconds:%d" % uptime, "uptime_in_days:%d" % (uptime // 86400),
        "hz:%d" % state.config["hz"], "configured_hz:%d" % state.config["hz"],
        "lru_clock:%d" % (state.lru_clock & 0xFFFFFF),
        "executable:%s" % (state.executable or sys.executable),
        "config_file:%s" % state.config_file, "io_threads_active:0",
    ] + (state.shutdown.info_lines() if state.shutdown is not None else [])


def _section_clients(state) -> List[str]:
    return [
        # (replicas are not counted, as in Redis: they have their own section)
        "connected_clients:%d" % (len(state.clients) - len(state.replicas.links)),
        "cluster_connections:0",
        "maxclients:%d" % state.config["maxclients"],
        "client_recent_max_input_buffer:%d" % state.clients_cron.recent_max_input(),
        "client_recent_max_output_buffer:%d" % state.clients_cron.recent_max_output(),
        "blocked_clients:%d" % (state.blocking.count + len(state.pause.postponed)),
        "tracking_clients:%d" % state.tracking.clients,
        "clients_in_timeout_table:%d" % sum(
            1 for c in state.clients.values()
            if c.blocked is not None and c.blocked.deadline is not None),
    ]


def _cached_scripts(state) -> int:
    """Scripts in the EVAL cache (SCRIPT LOAD and EVAL add, SCRIPT FLUSH empties)."""
    scripting = getattr(state, "scripting", None)
    return len(scripting.scripts) if scripting is not None else 0


def _section_memory(state) -> List[str]:
    # used_memory is our estimate (miniredis/memory.py); RSS is the process's own.
    memory = state.memory
    memory.refresh_clients()
    figures = memory.overhead()
    used = figures["used"]
    rss = resident_bytes()
    peak = max(memory.peak, used)
    startup = memory.startup
    overhead = figures["overhead"]
    dataset = figures["dataset"]
    net = max(used - startup, 1)
    maxmemory = state.config["maxmemory"]
    total = _total_memory()
    scripts = memory.scripts()
    frag = rss / used if used else 0.0
    replication_buffers, replica_buffers = state.replicas.buffer_memory()
    # Functions: counts, and estimates of their Lua runtime and registry (Redis
    # reports an empty Lua state as 32768 bytes).
    runner = getattr(state, "functions", None)
    libraries = runner.registry.libraries if runner is not None else {}
    n_libraries = len(libraries)
    n_functions = len(runner.registry.functions) if runner is not None else 0
    code = sum(len(library.code) for library in libraries.values())
    vm_functions = 32768 + 4 * code + 512 * n_functions
    functions_mem = (code + 200 * n_functions + 184 * n_libraries) if n_libraries else 0
    return [
        "used_memory:%d" % used, "used_memory_human:%s" % _human(used),
        "used_memory_rss:%d" % rss, "used_memory_rss_human:%s" % _human(rss),
        "used_memory_peak:%d" % peak, "used_memory_peak_human:%s" % _human(peak),
        "used_memory_peak_perc:%.2f%%" % (used * 100 / peak),
        "used_memory_overhead:%d" % overhead, "used_memory_startup:%d" % startup,
        "used_memory_dataset:%d" % dataset,
        "used_memory_dataset_perc:%.2f%%" % (dataset * 100 / net),
        "allocator_allocated:%d" % used, "allocator_active:%d" % used,
        "allocator_resident:%d" % rss,
        "total_system_memory:%d" % total, "total_system_memory_human:%s" % _human(total),
        "used_memory_lua:%d" % scripts, "used_memory_vm_eval:%d" % scripts,
        "used_memory_lua_human:%s" % _human(scripts),
        "used_memory_scripts_eval:%d" % scripts, "number_of_cached_scripts:%d"
        % _cached_scripts(state),
        "number_of_functions:%d" % n_functions, "number_of_libraries:%d" % n_libraries,
        "used_memory_vm_functions:%d" % vm_functions,
        "used_memory_vm_total:%d" % (scripts + vm_functions),
        "used_memory_vm_total_human:%s" % _human(scripts + vm_functions),
        "used_memory_functions:%d" % functions_mem,
        "used_memory_scripts:%d" % (scripts + functions_mem),
        "used_memory_scripts_human:%s" % _human(scripts + functions_mem),
        "maxmemory:%d" % maxmemory, "maxmemory_human:%s" % _human(maxmemory),
        "maxmemory_policy:%s" % state.config["maxmemory-policy"],
        "allocator_frag_ratio:1.00", "allocator_frag_bytes:0",
        "allocator_rss_ratio:%.2f" % frag, "allocator_rss_bytes:%d" % (rss - used),
        "rss_overhead_ratio:1.00", "rss_overhead_bytes:0",
        "mem_fragmentation_ratio:%.2f" % frag, "mem_fragmentation_bytes:%d" % (rss - used),
        "mem_not_counted_for_evict:%d" % memory.not_counted(), "mem_replication_backlog:%d" % (
            state.repl_feed.backlog.histlen if state.repl_feed is not None else 0),
        "mem_total_replication_buffers:%d" % replication_buffers,
        "mem_clients_slaves:%d" % replica_buffers,
        "mem_clients_normal:%d" % memory.clients, "mem_cluster_links:0",
        "mem_aof_buffer:%d" % figures["aof"],
        # Values are freed as they leave, except long lists whose lazy free is still
        # being decided between requests (miniredis/lazyfree.py).
        "mem_allocator:pymalloc", "active_defrag_running:0",
        "lazyfree_pending_objects:%d" % len(state.lazy_frees),
        "lazyfreed_objects:%d" % state.stats.lazyfreed_objects,
    ]


def _section_persistence(state) -> List[str]:
    return persistence.info_lines(state)


def _section_stats(state) -> List[str]:
    stats = state.stats
    pubsub = pubsub_info(state)
    return [
        "total_connections_received:%d" % stats.total_connections_received,
        "total_commands_processed:%d" % stats.total_commands_processed,
        "instantaneous_ops_per_sec:%d" % stats.instant.ops_per_sec(),
        # (the totals hold the replication bytes, as Redis's sums)
        "total_net_input_bytes:%d" % (stats.total_net_input_bytes
                                      + stats.total_net_repl_input_bytes),
        "total_net_output_bytes:%d" % stats.total_net_output_bytes,
        "total_net_repl_input_bytes:%d" % stats.total_net_repl_input_bytes,
        "total_net_repl_output_bytes:%d" % stats.total_net_repl_output_bytes,
        *stats.instant.info_lines(),
        "rejected_connections:%d" % stats.rejected_connections,
        "sync_full:%d" % state.replicas.sync_full,
        "sync_partial_ok:%d" % state.replicas.sync_partial_ok,
        "sync_partial_err:%d" % state.replicas.sync_partial_err,
        "expired_keys:%d" % stats.expired_keys,
        "expired_stale_perc:%.2f" % (stats.expired_stale_perc * 100),
        "expired_time_cap_reached_count:%d" % stats.expired_time_cap_reached_count,
        "expire_cycle_cpu_milliseconds:%d" % (stats.expire_cycle_time_used // 1000),
        "evicted_keys:%d" % stats.evicted_keys, "evicted_clients:%d" % stats.evicted_clients,
        *evict.exceeded_time_lines(stats),
        "keyspace_hits:%d" % stats.keyspace_hits, "keyspace_misses:%d" % stats.keyspace_misses,
        "pubsub_channels:%(pubsub_channels)d" % pubsub,
        "pubsub_patterns:%(pubsub_patterns)d" % pubsub,
        "pubsubshard_channels:%(pubsubshard_channels)d" % pubsub,
        "latest_fork_usec:%d" % stats.fork_time_usec, "total_forks:%d" % stats.total_forks,
        "migrate_cached_sockets:%d" % len(state.migrate_sockets),
        "slave_expires_tracked_keys:%d" % len(state.replica_expires), "active_defrag_hits:0", "active_defrag_misses:0",
        "active_defrag_key_hits:0", "active_defrag_key_misses:0",
        "total_active_defrag_time:0", "current_active_defrag_time:0",
        "tracking_total_keys:%d" % len(state.tracking.table),
        "tracking_total_items:%d" % state.tracking.total_items,
        "tracking_total_prefixes:%d" % len(state.tracking.prefixes),
        "unexpected_error_replies:%d" % stats.unexpected_error_replies,
        "total_error_replies:%d" % stats.total_error_replies,
        "dump_payload_sanitizations:%d" % stats.dump_payload_sanitizations,
        "total_reads_processed:%d" % getattr(stats, "total_reads_processed", 0),
        "total_writes_processed:%d" % getattr(stats, "total_writes_processed", 0),
        "io_threaded_reads_processed:0", "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:%d" % stats.reply_buffer_shrinks,
        "reply_buffer_expands:%d" % stats.reply_buffer_expands,
    ]


def _section_replication(state) -> List[str]:
    # The replica side's fields (replication.replica) while this server replicates;
    # connected_slaves, min_slaves_good_slaves, slaveN and the backlog's fields come
    # from the master side (replication.master).
    replicas = state.replicas
    link = state.repl.link
    mine = ["role:slave", *link.info_lines()] if link is not None else ["role:master"]
    return [*mine, *replicas.info_lines(), "master_failover_state:%s" % state.failover.status,
            "master_replid:%s" % state.repl.replid, "master_replid2:%s" % state.repl.replid2,
            "master_repl_offset:%d" % state.repl.offset,
            "second_repl_offset:%d" % state.repl.second_replid_offset,
            *replicas.backlog_lines()]


def _section_cpu(state) -> List[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = ["used_cpu_sys:%.6f" % usage.ru_stime, "used_cpu_user:%.6f" % usage.ru_utime,
             "used_cpu_sys_children:%.6f" % children.ru_stime,
             "used_cpu_user_children:%.6f" % children.ru_utime]
    if hasattr(resource, "RUSAGE_THREAD"):  # INFO runs in the hub: the "main thread"
        hub = resource.getrusage(resource.RUSAGE_THREAD)
        lines += ["used_cpu_sys_main_thread:%.6f" % hub.ru_stime,
                  "used_cpu_user_main_thread:%.6f" % hub.ru_utime]
    return lines


def _section_errorstats(state) -> List[str]:
    return ["errorstat_%s:count=%d" % (code, count)
            for code, count in sorted(state.stats.error_counts.items())]


def _section_keyspace(state) -> List[str]:
    return ["db%d:keys=%d,expires=%d,avg_ttl=0" % (db.id, len(db), len(db.expires))
            for db in state.dbs if len(db)]


def _section_commandstats(state) -> List[str]:
    lines = []
    for entry in state.names.stats_entries():
        if entry.calls or entry.rejected_calls or entry.failed_calls:
            usec = entry.usec
            lines.append(
                "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,"
                "failed_calls=%d" % (entry.fullname, entry.calls, usec,
                                     usec / entry.calls if entry.calls else 0.0,
                                     entry.rejected_calls, entry.failed_calls))
    return lines


def _section_latencystats(state) -> List[str]:
    """Percentiles of every command's latency histogram, while latency-tracking is on
    (Redis then shows the bare header)."""
    values = state.config.values
    if not values["latency-tracking"]:
        return []
    names = values["latency-tracking-info-percentiles"].split()
    wanted = [float(name) for name in names]
    lines = []
    for entry in state.names.stats_entries():
        if has_histogram(entry):
            shown = ",".join("p%s=%.3f" % (name, value) for name, value
                             in zip(names, percentiles(entry, wanted)))
            lines.append("latency_percentiles_usec_%s:%s" % (entry.fullname, shown))
    return lines


_SECTIONS = {
    "server": _section_server, "clients": _section_clients, "memory": _section_memory,
    "persistence": _section_persistence, "stats": _section_stats,
    "replication": _section_replication, "cpu": _section_cpu,
    "modules": lambda state: [], "errorstats": _section_errorstats,
    "latencystats": _section_latencystats,
    "cluster": lambda state: ["cluster_enabled:0"], "keyspace": _section_keyspace,
    "commandstats": _section_commandstats,
}


_TITLES = {"cpu": "CPU"}


def info_text(state, words: List[str]) -> str:
    """INFO's text for the requested sections (Redis's section selection rules).

    Sections come in Redis's fixed order, each "# Title\\r\\n" then "field:value\\r\\n"
    lines, separated by an empty line; unknown names select nothing.
    """
    wanted = set()
    if not words:
        wanted.update(_DEFAULT_SECTIONS)
    for word in words:
        word = word.lower()
        if word in ("all", "everything"):
            wanted.update(_ORDER)
        elif word == "default":
            wanted.update(_DEFAULT_SECTIONS)
        elif word in _SECTIONS:
            wanted.add(word)
    blocks = []
    for name in _ORDER:
        if name in wanted:
            lines = ["# " + _TITLES.get(name, name.capitalize())] + _SECTIONS[name](state)
            blocks.append("".join(line + "\r\n" for line in lines))
    return "\r\n".join(blocks)


@command("info", -1, "loading stale", group="server", since="1.0.0",
         summary="Get information and statistics about the server")
def info(client, args: List[bytes]):
    words = [arg.decode("utf-8", "replace") for arg in args[1:]]
    stats = client.state.stats
    uncounted = client.requests_before(args)   # (counted when their batch ends)
    stats.total_commands_processed += uncounted
    try:
        return Verbatim(info_text(client.state, words))
    finally:
        stats.total_commands_processed -= uncounted


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _human(size: int) -> str:
    """Redis's bytesToHuman: B below 1K, else two decimals with K/M/G/T/P."""
    if size < 1024:
        return "%dB" % size
    for unit, power in (("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)):
        if size < 1024 ** (power + 1) or unit == "P":
            return "%.2f%s" % (size / 1024 ** power, unit)
    return "%dB" % size
