"""Server commands: FLUSHDB/FLUSHALL, DBSIZE, CONFIG, COMMAND, TIME, LASTSAVE,
SHUTDOWN... (INFO is in commands/info.py)."""
from __future__ import annotations

import os
from typing import Any, List, Optional

from .. import errors, proctitle
from ..config import ConfigError, get_param
from ..errors import CommandError
from ..glob import compile_pattern
from ..commandtips import tips_of
from ..keyspecs import has_keys, keys_and_flags, specs_of
from ..security import clientevict
from ..security.categories import categories as _categories
from ..protocol import OK, Map, Set, Simple
from ..security.protected import is_local
from . import COMMANDS, command, container, stats_entries
from .connection import help_reply
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
                unknown = errors.c_text(args[i])
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
        proctitle.on_listeners_changed(state)
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
    "proc-title-template": lambda state, old: None if proctitle.retitle(state)
    else "failed to set process title",
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
    # The requests before this one in its batch are counted when the batch ends.
    state.stats.total_commands_processed = -client.requests_before(args)
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
    return [_command_info(cmd) for cmd in client.state.names.commands()]


# COMMAND without a subcommand is registered first; its subcommands follow.
@command("command|count", 2, "loading stale", group="server", since="2.8.13",
         summary="Get total number of Redis commands")
def command_count(client, args: List[bytes]):
    return len(client.state.names.by_name)


def _named(client, args: List[bytes]) -> List[Optional[Any]]:
    """The commands COMMAND INFO/DOCS name: "get", or "config|get" for a subcommand."""
    found = []
    for name in args:
        parent, _, sub = name.partition(b"|")
        cmd = client.state.names.lookup(parent)
        if cmd is not None and sub:
            cmd = cmd.subcommands.get(sub.lower())
        found.append(cmd)
    return found


@command("command|info", -2, "loading stale", group="server", since="2.8.13",
         summary="Get array of specific Redis command details, or all when no argument is "
                 "given.")
def command_info(client, args: List[bytes]):
    if len(args) == 2:
        return [_command_info(cmd) for cmd in client.state.names.commands()]
    return [None if cmd is None else _command_info(cmd)
            for cmd in _named(client, args[2:])]


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
    commands = client.state.names.commands() if len(args) == 2 else \
        [cmd for cmd in _named(client, args[2:]) if cmd is not None]
    return Map((cmd.name.encode(), _command_docs(cmd)) for cmd in commands)


@command("command|list", -2, "loading stale", group="server", since="7.0.0",
         summary="Get an array of Redis command names")
def command_list(client, args: List[bytes]):
    listed = []     # (name, command)
    for cmd in client.state.names.commands():
        listed.append((cmd.name, cmd))
        listed.extend((sub.fullname, sub) for sub in cmd.subcommands.values())
    if len(args) > 2:
        if len(args) != 5 or args[2].lower() != b"filterby":
            raise CommandError(errors.SYNTAX)
        kind, value = args[3].lower(), args[4]
        if kind == b"pattern":
            matches = compile_pattern(value, nocase=True)
            listed = [(n, cmd) for n, cmd in listed if matches(n.encode())]
        elif kind == b"aclcat":
            wanted = value.decode("utf-8", "replace").lower()
            listed = [(n, cmd) for n, cmd in listed if wanted in _categories(cmd)]
        elif kind == b"module":
            listed = []
        else:
            raise CommandError(errors.SYNTAX)
    return [name.encode() for name, _ in listed]


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
    return [args[2 + pos] for pos, _ in find_keys(client, args[2:])]


def find_keys(client, target: List[bytes]) -> List[tuple]:
    """(position, key-spec flags) of the keys of the command ``target`` spells, with
    COMMAND GETKEYS's errors."""
    cmd = client.state.names.lookup(target[0])
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
