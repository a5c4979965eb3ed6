"""Redis 7.0 functions: FUNCTION (LOAD, DELETE, LIST, FLUSH, DUMP, RESTORE, KILL,
STATS, HELP), FCALL and FCALL_RO (functions.c, function_lua.c).

The libraries live in a :class:`~miniredis.scripting.functions.Registry`; functions
run in a Lua runtime of their own (one per server, as Redis's single Lua state for
functions), built like EVAL's and run by :class:`FunctionRunner`, which is EVAL's
runner (redis.call, ACL checks, no-writes, OOM, busy scripts and kill) with the
registered function called with KEYS and ARGV as its arguments.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from .. import errors
from ..errors import CommandError
from ..args import to_int
from ..datatypes.lazyfree import lazily_freed_entries
from ..glob import match
from ..protocol import OK, Map, Set, Simple
from ..scripting.functions import LOAD_TIMEOUT_MS, Function, Registry
from ..scripting.lua import LuaEngine
from . import command, container
from .connection import REDIS_VERSION, help_reply
from .scripting import Scripting, _Run, flush_is_async, prepare_run, script_keys

if TYPE_CHECKING:  # pragma: no cover
    from ..connection import Client
    from ..state import ServerState


class FunctionRunner(Scripting):
    """EVAL's runner over the runtime of functions, with the library registry."""

    def __init__(self, state: "ServerState") -> None:
        super().__init__(state)
        self.calling: List[bytes] = []       # the FCALL being run (FUNCTION STATS)
        self.registry = Registry(lambda: self.engine)

    @property
    def engine(self) -> LuaEngine:
        if self._engine is None:
            self._engine = self._hooked(LuaEngine(self._call, self._log, REDIS_VERSION,
                                                  register=self._register))
        return self._engine

    def _register(self, *args: Any) -> None:
        self.registry.register(*args)

    def new_run(self, client: "Client", script: Any, read_only: bool) -> _Run:
        run = _Run(client, script, read_only)
        run.busy_error = errors.BUSY_FUNCTION
        run.argv = self.calling
        return run

    def invoke(self, engine: LuaEngine, script: Any, keys: List[bytes],
               argv: List[bytes]) -> Tuple[bool, Any]:
        return engine.run_function(script.function, keys, argv)


def functions(state: "ServerState") -> FunctionRunner:
    """The server's functions (made on first use)."""
    runner = getattr(state, "functions", None)
    if runner is None:
        runner = state.functions = FunctionRunner(state)
    return runner


def declared_flags(state: "ServerState", args: List[bytes]) -> Optional[Tuple[bool, bool]]:
    """(no-writes, allow-oom) of the function an FCALL names, or None for an unknown
    function, whose FCALL keeps its own flags (fcallGetCommandFlags)."""
    if len(args) < 2:
        return None
    function = functions(state).registry.functions.get(args[1].lower())
    if function is None:
        return None
    return function.no_writes, function.allow_oom


def fcall_denies_oom(state: "ServerState", cmd: Any, args: List[bytes]) -> bool:
    """FCALL counts as denyoom unless its function has allow-oom or no-writes
    (fcallGetCommandFlags); an unknown function keeps FCALL's own flags."""
    flags = declared_flags(state, args)
    if flags is None:
        return "denyoom" in cmd.flags
    no_writes, allow_oom = flags
    return not (allow_oom or no_writes)


# -- FCALL, FCALL_RO ----------------------------------------------------------------------
def _fcall(client: "Client", args: List[bytes], read_only: bool) -> Any:
    runner = functions(client.state)
    function: Function = runner.registry.functions.get(args[1].lower())
    if function is None:
        raise CommandError(errors.FUNCTION_NOT_FOUND)
    numkeys = to_int(args[2])
    if numkeys is None:
        raise CommandError(errors.FUNCTION_BAD_NUMKEYS)
    if numkeys > len(args) - 3:
        raise CommandError(errors.FUNCTION_NUMKEYS_TOO_BIG)
    if numkeys < 0:
        raise CommandError(errors.FUNCTION_NUMKEYS_NEGATIVE)
    prepare_run(client, function, read_only)
    runner.calling = args
    return runner.execute(client, args, function, args[3:3 + numkeys],
                          args[3 + numkeys:], read_only or function.no_writes)


_FCALL_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


@command("fcall", -3, _FCALL_FLAGS, group="scripting", since="7.0.0",
         summary="Invoke a function", key_finder=script_keys)
def fcall(client: "Client", args: List[bytes]) -> Any:
    return _fcall(client, args, read_only=False)


@command("fcall_ro", -3, "readonly " + _FCALL_FLAGS, group="scripting", since="7.0.0",
         summary="Invoke a read-only function", key_finder=script_keys)
def fcall_ro(client: "Client", args: List[bytes]) -> Any:
    return _fcall(client, args, read_only=True)


# -- FUNCTION -------------------------------------------------------------------------------
container("function", -2, group="scripting", since="7.0.0",
          summary="A container for function commands")


@command("function|load", -3, "write denyoom noscript", group="scripting", since="7.0.0",
         summary="Create a function with the given arguments (name, code, description)")
def function_load(client: "Client", args: List[bytes]) -> Any:
    replace = False
    position = 2
    while position < len(args) - 1:
        option = args[position]
        position += 1
        if option.lower() == b"replace":
            replace = True
            continue
        raise CommandError(errors.FUNCTION_LOAD_OPTION.format(errors.c_text(option)))
    if position >= len(args):
        raise CommandError(errors.FUNCTION_LOAD_NO_CODE)
    # The AOF's loading client (no socket) is obeyed without the load timeout.
    obeyed = client.obeyed
    name = functions(client.state).registry.create(args[position], replace,
                                                   0 if obeyed else LOAD_TIMEOUT_MS)
    return name


@command("function|delete", 3, "write noscript", group="scripting", since="7.0.0",
         summary="Delete a function by name")
def function_delete(client: "Client", args: List[bytes]) -> Any:
    functions(client.state).registry.delete(args[2])
    return OK


@command("function|list", -2, "noscript", group="scripting", since="7.0.0",
         summary="List information about all the functions")
def function_list(client: "Client", args: List[bytes]) -> Any:
    with_code = False
    pattern = None
    position = 2
    while position < len(args):
        arg = args[position]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
        elif pattern is None and arg.lower() == b"libraryname":
            if position >= len(args) - 1:
                raise CommandError(errors.FUNCTION_LIST_NO_NAME)
            position += 1
            pattern = args[position]
        else:
            raise CommandError(errors.FUNCTION_LIST_UNKNOWN.format(errors.c_text(arg)))
        position += 1
    reply = []
    for library in functions(client.state).registry.libraries.values():
        if pattern is not None and not match(pattern, library.name, nocase=True):
            continue
        entry = Map()
        entry[b"library_name"] = library.name
        entry[b"engine"] = b"LUA"
        entry[b"functions"] = [
            Map([(b"name", f.name),
                 (b"description", f.description),
                 (b"flags", Set([Simple(flag.decode()) for flag in f.flags]))])
            for f in library.functions.values()]
        if with_code:
            entry[b"library_code"] = library.code
        reply.append(entry)
    return reply


@command("function|flush", -2, "write noscript", group="scripting", since="7.0.0",
         summary="Deleting all functions")
def function_flush(client: "Client", args: List[bytes]) -> Any:
    if len(args) > 3:
        raise CommandError(errors.subcommand_syntax_error(args))
    if len(args) == 3 and args[2].lower() not in (b"sync", b"async"):
        raise CommandError(errors.FUNCTION_FLUSH_OPTION)
    registry = functions(client.state).registry
    if flush_is_async(client, args):
        client.state.stats.lazyfreed_objects += lazily_freed_entries(len(registry.functions))
    registry.flush()
    return OK


@command("function|dump", 2, "noscript", group="scripting", since="7.0.0",
         summary="Dump all functions into a serialized binary payload")
def function_dump(client: "Client", args: List[bytes]) -> Any:
    return functions(client.state).registry.dump()


@command("function|restore", -3, "write denyoom noscript", group="scripting",
         since="7.0.0", summary="Restore all the functions on the given payload")
def function_restore(client: "Client", args: List[bytes]) -> Any:
    if len(args) > 4:
        raise CommandError(errors.subcommand_syntax_error(args))
    policy = b"APPEND"
    if len(args) == 4:
        policy = args[3].upper()
        if policy not in (b"APPEND", b"REPLACE", b"FLUSH"):
            raise CommandError(errors.FUNCTION_RESTORE_POLICY)
    functions(client.state).registry.restore(args[2], policy)
    return OK


@command("function|kill", 2, "noscript allow_busy", group="scripting", since="7.0.0",
         summary="Kill the function currently in execution.")
def function_kill(client: "Client", args: List[bytes]) -> Any:
    return functions(client.state).kill(is_eval=False)


@command("function|stats", 2, "noscript allow_busy", group="scripting", since="7.0.0",
         summary="Return information about the function currently running (name, "
                 "description, duration)")
def function_stats(client: "Client", args: List[bytes]) -> Any:
    state = client.state
    busy = state.busy_script
    if busy is not None and busy.busy_error is errors.BUSY_SCRIPT:
        raise CommandError(errors.BUSY_SCRIPT)
    runner = functions(state)
    running: Any = None
    if busy is not None:
        running = Map([(b"name", busy.script.name),
                       (b"command", list(busy.argv)),
                       (b"duration_ms", int((time.monotonic() - busy.started) * 1000))])
    libraries, count = runner.registry.stats()
    return Map([(b"running_script", running),
                (b"engines", Map([(b"LUA", Map([(b"libraries_count", libraries),
                                                 (b"functions_count", count)]))]))])


@command("function|help", 2, "loading stale", group="scripting", since="7.0.0",
         summary="Show helpful text about the different subcommands")
def function_help(client: "Client", args: List[bytes]) -> Any:
    return help_reply(args, [
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using "
        "LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined "
        "by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be "
        "restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to "
        "give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On "
        "collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On "
        "collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is "
        "a chance of failure",
        "      in case of functions name collision with another library).",
    ])


