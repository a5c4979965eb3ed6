"""Server commands: FLUSHDB/FLUSHALL, DBSIZE, INFO, CONFIG, CLIENT, COMMAND, ..."""
from __future__ import annotations

import os
import platform
import resource
import sys
from typing import Any, List, Optional

from .. import errors
from ..config import ConfigError, get_param
from ..errors import CommandError
from ..glob import compile_pattern
from ..commandtips import tips_of
from ..keyspecs import has_keys, keys_and_flags, specs_of
from ..state import resident_bytes
from ..security import clientevict
from ..security.categories import categories as _categories
from ..histogram import has_histogram, percentiles
from ..protocol import OK, Map, Set, Simple, Verbatim
from ..security.protected import is_local
from . import COMMANDS, all_commands, command, container, lookup, stats_entries
from .connection import REDIS_VERSION, help_reply
from .pubsub import info_fields as pubsub_info
from .. import configrewrite, evict, persistence


def _flush_mode(client, args: List[bytes]) -> bool:
    """Whether FLUSHALL/FLUSHDB frees asynchronously: ASYNC, SYNC, or without either
    lazyfree-lazy-user-flush (getFlushCommandFlags)."""
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"async", b"sync")):
        raise CommandError(errors.SYNTAX)
    if len(args) == 2:
        return args[1].lower() == b"async"
    return client.state.config.values["lazyfree-lazy-user-flush"]


@command("flushdb", -1, "write", group="server", since="1.0.0",
         summary="Remove all keys from the current database")
def flushdb(client, args: List[bytes]):
    lazy = _flush_mode(client, args)
    client.state.dirty += len(client.db)     # (the keys removed; propagated anyway)
    client.db.flush(lazy)
    client.state.tracking.flushed(client, lazy)
    return OK


@command("flushall", -1, "write", group="server", since="1.0.0",
         summary="Remove all keys from all databases")
def flushall(client, args: List[bytes]):
    lazy = _flush_mode(client, args)
    for db in client.state.dbs:
        client.state.dirty += len(db)
        db.flush(lazy)
    client.state.replica_expires.clear()    # (flushSlaveKeysWithExpireList)
    persistence.flushed_all(client.state)   # no older snapshot may land after this
    client.state.tracking.flushed(client, lazy)
    return OK


@command("dbsize", 1, "readonly fast", group="server", since="1.0.0",
         summary="Return the number of keys in the selected database")
def dbsize(client, args: List[bytes]):
    return len(client.db)


# -- INFO --------------------------------------------------------------------------------
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
    for entry in stats_entries():
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
    for entry in stats_entries():
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
    return Verbatim(info_text(client.state, words))


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


# -- CONFIG --------------------------------------------------------------------------------
container("config", -2, group="server", since="2.0.0",
          summary="A container for server configuration commands")


@command("config|get", -3, "admin noscript loading stale", group="server", since="2.0.0",
         summary="Get the values of configuration parameters")
def config_get(client, args: List[bytes]):
    state = client.state
    found: dict = {}
    for pattern in args[2:]:
        for name, value in state.config.matching(pattern.decode("utf-8", "surrogateescape")):
            if name.lower() == "port" and state.tcp_port:
                value = str(state.tcp_port)     # the port actually bound (port 0)
            found.setdefault(name.lower(), (name, value))
    return Map((name.encode("utf-8", "surrogateescape"), value.encode("utf-8", "surrogateescape"))
               for name, value in found.values())


def _is_local(client) -> bool:
    return is_local(client)


def protected_allowed(client, setting: str) -> bool:
    """Whether a "yes/no/local" option (enable-protected-configs...) lets ``client`` in."""
    value = client.state.config[setting]
    return value == "yes" or (value == "local" and _is_local(client))


@command("config|set", -4, "admin noscript loading stale", group="server", since="2.0.0",
         summary="Set configuration parameters to the given values")
def config_set(client, args: List[bytes]):
    """Redis 7 semantics: every name is checked first (unknown, immutable, protected,
    duplicate), then all values are set, then their side effects applied; a failure
    anywhere restores every old value and undoes the side effects already applied."""
    if len(args) % 2 != 0:
        raise CommandError(errors.SYNTAX)
    state = client.state
    config = state.config
    pairs = []
    unknown = problem = None
    # server.loading: start-up load, a replica's load, asynchronous or not.
    loading = state.repl.loading or state.repl.async_loading or state.loading
    denied = False
    for i in range(2, len(args), 2):
        name = args[i].decode("utf-8", "surrogateescape")
        param = get_param(name)
        if param is None:
            if problem is None and unknown is None:
                unknown = name
            continue
        if unknown is not None or problem is not None:
            continue
        if not param.mutable or (param.protected and
                                 not protected_allowed(client, "enable-protected-configs")):
            problem = (name, "can't set immutable config" if not param.mutable
                       else "can't set protected config")
            continue
        if loading and param.deny_loading:
            denied = True           # (the error of the first problem, as Redis's)
            problem = (name, "")
            continue
        # An alias and its parameter are distinct entries (both may be given once).
        if any(seen.lower() == name.lower() for seen, _, _ in pairs):
            problem = (name, "duplicate parameter")
        pairs.append((name, param, args[i + 1].decode("utf-8", "surrogateescape")))
    if denied:                  # -LOADING takes precedence over the other errors
        raise CommandError(errors.LOADING)
    if unknown is not None:
        raise CommandError(errors.CONFIG_SET_UNKNOWN.format(unknown))
    if problem is not None:
        raise CommandError(errors.CONFIG_SET_FAILED.format(*problem))
    old = {param.name: config.values[param.name] for _, param, _ in pairs}
    try:
        for name, param, text in pairs:
            config.set(param.name, text)
    except ConfigError as exc:
        config.values.update(old)
        raise CommandError(errors.CONFIG_SET_FAILED.format(name.lower(), exc)) from None
    # Side effects, once per function, in the order their parameters were named.
    applies: list = []
    for name, param, _ in pairs:
        apply = _APPLY.get(param.name)
        if apply is not None and apply not in [a for a, _ in applies] and \
                (param.name == "bind" or config.values[param.name] != old[param.name]):
            applies.append((apply, name.lower()))
    done = []
    for apply, name in applies:
        error = apply(state, old)
        if error is not None:
            config.values.update(old)
            for undo in done:      # best effort, as Redis's restoreBackupConfig
                undo(state, old)
            raise CommandError(errors.CONFIG_SET_FAILED.format(name, error))
        done.append(apply)
    return OK


def _apply_appendonly(state, old: dict) -> Optional[str]:
    # on: rewrite; off: stop logging. Files that cannot be opened: the failure text.
    return persistence.appendonly_changed(state)


def _apply_auto_gc(state, old: dict) -> Optional[str]:
    # aof-disable-auto-gc no: the history files kept meanwhile go now (Redis's
    # updateAofAutoGCEnabled).
    if not state.config["aof-disable-auto-gc"]:
        persistence.files(state).delete_history()
    return None


def _apply_write_denied(state, old: dict) -> Optional[str]:
    # Whether a failed bgsave still denies writes (MISCONF) depends on these.
    persistence.refresh_write_denied(state)
    return None


def _apply_min_replicas(state, old: dict) -> Optional[str]:
    state.replicas.refresh_good()
    # Whether write commands get NOREPLICAS depends on these.
    state.refresh_no_replicas()
    return None


def _apply_requirepass(state, old: dict) -> Optional[str]:
    # requirepass is the default user's password, as in Redis.
    state.acl.set_default_password(state.config["requirepass"])
    return None


def _apply_memory(state, old: dict) -> Optional[str]:
    # gates, LFU maps, evict if now over
    evict.apply_config(state, maxmemory_changed=old.get("maxmemory", state.config["maxmemory"])
                       != state.config["maxmemory"])
    clientevict.apply(state)    # (maxmemory-clients may be a percentage of maxmemory)
    return None


def _apply_listeners(error: str, for_port: bool):
    """bind/port: the server opens the new listeners before closing the old ones; if
    it cannot, the old ones stay and CONFIG SET answers Redis's ``error``."""
    def apply(state, old: dict) -> Optional[str]:
        if state.rebind is None:       # no network layer (a bare ServerState)
            return None
        port = state.config["port"]
        if not for_port:
            # A server started on port 0 took a free port: bind keeps using that one.
            port = port or state.tcp_port
        try:
            state.rebind(state.config["bind"], port)
        except OSError:
            return error
        return None
    return apply


def _apply_oom_score(state, old: dict) -> Optional[str]:
    from .. import oomscore
    if oomscore.apply(state):
        return None
    return "Failed to set current oom_score_adj. Check server logs."


def _apply_output_limits(state, old: dict) -> Optional[str]:
    from ..security import outputlimits
    outputlimits.apply(state)
    return None


def _apply_watchdog(state, old: dict) -> Optional[str]:
    from .. import watchdog
    watchdog.apply(state)
    return None


def _apply_loglevel(state, old: dict) -> Optional[str]:
    # The logger filters by the level it was made with: tell it (Redis reads
    # server.verbosity at each line).
    if hasattr(state.log, "level"):
        state.log.level = state.config["loglevel"]
    return None


_APPLY = {
    "loglevel": _apply_loglevel,
    "oom-score-adj": _apply_oom_score, "oom-score-adj-values": _apply_oom_score,
    "watchdog-period": _apply_watchdog,
    "client-output-buffer-limit": _apply_output_limits,
    "appendonly": _apply_appendonly,
    "aof-disable-auto-gc": _apply_auto_gc,
    "requirepass": _apply_requirepass,
    "save": _apply_write_denied, "stop-writes-on-bgsave-error": _apply_write_denied,
    "min-replicas-to-write": _apply_min_replicas,
    "min-replicas-max-lag": _apply_min_replicas,
    "maxmemory": _apply_memory, "maxmemory-policy": _apply_memory,
    "maxmemory-clients": lambda state, old: clientevict.apply(state),
    "port": _apply_listeners("Unable to listen on this port. Check server logs.", True),
    "bind": _apply_listeners("Failed to bind to specified addresses.", False),
}


@command("config|help", 2, "loading stale", group="server", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def config_help(client, args: List[bytes]):
    return help_reply(args, [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
    ] + (["REWRITE", "    Rewrite the configuration file."]
         if "rewrite" in (sub.name for sub in COMMANDS[b"config"].subcommands.values())
         else []))


@command("config|resetstat", 2, "admin noscript loading stale", group="server",
         since="2.0.0", summary="Reset the stats returned by INFO")
def config_resetstat(client, args: List[bytes]):
    state = client.state
    state.stats.reset()
    persistence.reset_stats(state)
    replicas = state.replicas       # (resetServerStats: the sync counters too)
    replicas.sync_full = replicas.sync_partial_ok = replicas.sync_partial_err = 0
    state.slowlog.clear()
    for entry in stats_entries():
        entry.reset_stats()     # latency histograms too
    return OK


@command("config|rewrite", 2, "admin noscript loading stale", group="server",
         since="2.8.0", summary="Rewrite the configuration file with the in memory "
         "configuration")
def config_rewrite(client, args: List[bytes]):
    """Write the running configuration into the config file (miniredis.configrewrite)."""
    state = client.state
    if not state.config_file:
        raise CommandError(errors.CONFIG_REWRITE_NO_FILE)
    try:
        configrewrite.rewrite_config(state)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        state.log("warning", "CONFIG REWRITE failed: %s" % reason)
        raise CommandError(errors.CONFIG_REWRITE_FAILED.format(reason)) from None
    state.log("warning", "CONFIG REWRITE executed with success.")
    return OK


# -- COMMAND -------------------------------------------------------------------------------
container("command", -1, group="server", since="2.8.13",
          summary="Get array of Redis command details")


# COMMAND INFO lists flags and ACL categories in Redis's own (bit) order. The hidden
# flags (sentinel, may_replicate, ...) are never shown, as in Redis.
_FLAG_ORDER = ["write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
               "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
               "fast", "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi",
               "movablekeys", "allow_busy"]


def _flags(cmd) -> List[str]:
    flags = set(cmd.flags)
    if cmd.key_finder is not None:
        flags.add("movablekeys")
    return [name for name in _FLAG_ORDER if name in flags]


def _key_specs(cmd) -> Set:
    """COMMAND INFO's key specs: flags, begin_search and find_keys of each."""
    reply = Set([])
    for spec in specs_of(cmd.fullname):
        entry = Map()
        if spec.notes:
            entry[b"notes"] = spec.notes.encode()
        entry[b"flags"] = Set([Simple(flag) for flag in spec.flags])
        if spec.begin[0] == "index":
            begin = Map([(b"index", spec.begin[1])])
        elif spec.begin[0] == "keyword":
            begin = Map([(b"keyword", spec.begin[1].encode()), (b"startfrom", spec.begin[2])])
        else:
            begin = Map()
        entry[b"begin_search"] = Map([(b"type", spec.begin[0].encode()), (b"spec", begin)])
        if spec.find[0] == "range":
            find = Map(zip((b"lastkey", b"keystep", b"limit"), spec.find[1:]))
        elif spec.find[0] == "keynum":
            find = Map(zip((b"keynumidx", b"firstkey", b"keystep"), spec.find[1:]))
        else:
            find = Map()
        entry[b"find_keys"] = Map([(b"type", spec.find[0].encode()), (b"spec", find)])
        reply.append(entry)
    return reply


def _command_info(cmd) -> list:
    subcommands: Any = [_command_info(sub) for sub in cmd.subcommands.values()] \
        or Set([])
    return [cmd.fullname.encode(), cmd.arity, Set([Simple(f) for f in _flags(cmd)]),
            cmd.first_key, cmd.last_key, cmd.key_step,
            Set([Simple("@" + c) for c in _categories(cmd)]),
            Set([tip.encode() for tip in tips_of(cmd.fullname)]), _key_specs(cmd),
            subcommands]


@command("command", -1, "loading stale", group="server", since="2.8.13",
         summary="Get array of Redis command details")
def command_(client, args: List[bytes]):
    return [_command_info(cmd) for cmd in all_commands()]


# COMMAND without a subcommand is registered first; its subcommands follow.
@command("command|count", 2, "loading stale", group="server", since="2.8.13",
         summary="Get total number of Redis commands")
def command_count(client, args: List[bytes]):
    return len(all_commands())


def _named(args: List[bytes]) -> List[Optional[Any]]:
    """The commands COMMAND INFO/DOCS name: "get", or "config|get" for a subcommand."""
    found = []
    for name in args:
        parent, _, sub = name.partition(b"|")
        cmd = lookup(parent)
        if cmd is not None and sub:
            cmd = cmd.subcommands.get(sub.lower())
        found.append(cmd)
    return found


@command("command|info", -2, "loading stale", group="server", since="2.8.13",
         summary="Get array of specific Redis command details, or all when no argument is "
                 "given.")
def command_info(client, args: List[bytes]):
    if len(args) == 2:
        return [_command_info(cmd) for cmd in all_commands()]
    return [None if cmd is None else _command_info(cmd) for cmd in _named(args[2:])]


def _command_docs(cmd) -> Map:
    doc = Map([(b"summary", cmd.summary.encode()), (b"since", cmd.since.encode()),
               (b"group", cmd.group.encode())])
    if cmd.subcommands:
        doc[b"subcommands"] = Map((sub.fullname.encode(), _command_docs(sub))
                                  for sub in cmd.subcommands.values())
    return doc


@command("command|docs", -2, "loading stale", group="server", since="7.0.0",
         summary="Get array of specific Redis command documentation")
def command_docs(client, args: List[bytes]):
    commands = all_commands() if len(args) == 2 else \
        [cmd for cmd in _named(args[2:]) if cmd is not None]
    return Map((cmd.name.encode(), _command_docs(cmd)) for cmd in commands)


@command("command|list", -2, "loading stale", group="server", since="7.0.0",
         summary="Get an array of Redis command names")
def command_list(client, args: List[bytes]):
    names = []
    for cmd in all_commands():
        names.append(cmd.name)
        names.extend(sub.fullname for sub in cmd.subcommands.values())
    if len(args) > 2:
        if len(args) != 5 or args[2].lower() != b"filterby":
            raise CommandError(errors.SYNTAX)
        kind, value = args[3].lower(), args[4]
        if kind == b"pattern":
            matches = compile_pattern(value, nocase=True)
            names = [n for n in names if matches(n.encode())]
        elif kind == b"aclcat":
            wanted = value.decode("utf-8", "replace").lower()
            names = [n for n in names if wanted in _categories(_named([n.encode()])[0])]
        elif kind == b"module":
            names = []
        else:
            raise CommandError(errors.SYNTAX)
    return [name.encode() for name in names]


@command("command|help", 2, "loading stale", group="server", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def command_help(client, args: List[bytes]):
    return help_reply(args, [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ])


@command("command|getkeys", -4, "loading stale", group="server", since="2.8.13",
         summary="Extract keys given a full Redis command")
def command_getkeys(client, args: List[bytes]):
    return [args[2 + pos] for pos, _ in find_keys(args[2:])]


def find_keys(target: List[bytes]) -> List[tuple]:
    """(position, key-spec flags) of the keys of the command ``target`` spells, with
    COMMAND GETKEYS's errors."""
    cmd = lookup(target[0])
    if cmd is not None and cmd.subcommands and len(target) > 1:
        cmd = cmd.subcommands.get(target[1].lower())    # "OBJECT FOO": no such command
    if cmd is None:
        raise CommandError(errors.GETKEYS_INVALID)
    if not has_keys(cmd.fullname, cmd.key_finder is not None):
        raise CommandError(errors.GETKEYS_NO_KEYS)
    if not cmd.arity_ok(len(target)):
        raise CommandError(errors.GETKEYS_ARITY)
    found = keys_and_flags(cmd, target)
    if not found and "no_mandatory_keys" not in cmd.flags:   # EVAL with 0 keys: valid
        raise CommandError(errors.GETKEYS_INVALID_ARGS)
    return found


# -- TIME, LASTSAVE, SHUTDOWN (SLOWLOG: commands/slowlog.py, DEBUG: commands/debug.py) ----
@command("time", 1, "loading stale fast", group="server", since="2.6.0",
         summary="Return the current server time")
def time_(client, args: List[bytes]):
    micros = client.state.clock.us()
    return [b"%d" % (micros // 1_000_000), b"%d" % (micros % 1_000_000)]


@command("lastsave", 1, "loading stale fast", group="server", since="1.0.0",
         summary="Get the UNIX time stamp of the last successful save to disk")
def lastsave(client, args: List[bytes]):
    return client.state.last_save


@command("shutdown", -1, "admin noscript loading stale no_multi sentinel allow_busy",
         group="server", since="1.0.0",
         summary="Synchronously save the dataset to disk and then shut down the server")
def shutdown(client, args: List[bytes]):
    from ..shutdown import parse_flags
    flags, abort = parse_flags(args)
    state = client.state
    if abort:
        if state.shutdown is None or not state.shutdown.abort():
            raise CommandError(errors.SHUTDOWN_NOT_IN_PROGRESS)
        return OK
    if state.shutdown is None:      # (a server that is not serving: nothing to stop)
        client.closing = True
        return None
    return state.shutdown.command(client, flags)
