"""The ``miniredis`` command: redis-server's command line, on this server.

``miniredis [/path/to/redis.conf] [--option value ...]``: every configuration
parameter this server has is accepted as ``--name value`` (as redis-server does), the
optional file is read first and the command line overrides it. Mistakes are one line
and exit code 1, never a traceback: on stderr for the command line and configuration,
in the log (standard output by default) for a failed start-up, as redis-server does.
"""
from __future__ import annotations

import errno
import glob
import os
import sys
from typing import Any, List, Optional, Sequence, Tuple

from . import __version__
from .commands.connection import REDIS_VERSION
from .config import Config, ConfigError, get_param
from .configtable import check_dir
from .configfile import (DEPRECATED, absolute_path, quote, read_as_redis, read_directives,
                         split_args, to_bytes, to_text)

# (name, words[, line number, line]): a directive of the configuration text (the
# config file and the command line), or given directly (name, words).
Directive = Tuple[Any, ...]

USAGE = """\
Usage: miniredis [/path/to/redis.conf] [options]
       miniredis -v or --version
       miniredis -h or --help

A Redis-compatible server (protocol RESP2/RESP3, Redis 7.0 commands) in Python.

Common options (any configuration parameter works as --name value):
  --port <port>             TCP port (default 6379; 0 picks a free port)
  --bind <addr> [addr...]   addresses to listen on (default 127.0.0.1)
  --unixsocket <path>       also listen on a unix socket
  --requirepass <password>  require AUTH (the default user's password)
  --aclfile <path>          ACL users, one "user <name> <rules...>" line each
                            (config files may also hold such "user" lines instead)
  --databases <n>           number of databases (default 16)
  --dir <path>              working directory for the append-only file
  --appendonly yes|no       persistence through an append-only file
  --appendfsync always|everysec|no
  --loglevel debug|verbose|notice|warning|nothing
  --logfile <path>          log to a file instead of standard output
  --maxclients <n>          maximum simultaneous clients (default 10000)

Examples:
  miniredis                       (run on 127.0.0.1:6379)
  miniredis --port 7777
  miniredis /etc/redis/6379.conf --loglevel verbose
"""


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit code 1."""


class ConfigOpenError(UsageError):
    """A config file (or an included one) that cannot be opened: redis-server logs it
    (to the logfile the lines before set, if any) and exits."""

    def __init__(self, message: str, config: Optional[Config] = None) -> None:
        super().__init__(message)
        self.config = config


class ConfigFileError(UsageError):
    """A directive of the configuration (the file, standard input and the options,
    as one text) that Redis refuses: reported as its FATAL CONFIG FILE ERROR."""

    def __init__(self, number: Optional[int], line: str, reason: str) -> None:
        super().__init__(reason)
        self.number, self.line, self.reason = number, line, reason

    def __str__(self) -> str:
        where = "" if self.number is None else \
            "Reading the configuration file, at line %d\n>>> '%s'\n" % (self.number,
                                                                          self.line)
        return "\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\n%s%s" % (
            REDIS_VERSION, where, self.reason)


def config_file_of(argv: Sequence[str]) -> str:
    """The config file named first on the command line, or ""."""
    return argv[0] if argv and not argv[0].startswith("-") else ""


def options_text(args: Sequence[str], first: int = 0) -> Tuple[str, bool]:
    """The options as the config lines redis-server's main() makes of them, and
    whether a "-" asks for configuration on standard input. ``args`` are the
    command line's arguments, ``first`` the position of the first option (after the
    config file's name). An argument starting with "--" begins a line (its name, or
    its name and value in one argument: "--port 6380"); any other argument is a
    value, quoted, on the current line -- so is an argument starting with "--" right
    after a name that came alone (``--proc-title-template --my--title``). A lone
    ``--save`` before another option or at the end means ``save ""``."""
    options = ""
    from_stdin = False
    handled = True        # the last name got a value (or came with one)
    last = len(args) - 1
    for j in range(first, len(args)):
        arg = args[j]
        if arg == "-" and (j == 0 or j == last):
            from_stdin = True
        elif handled and arg.startswith("--"):
            if options:
                options += "\n"
            options += arg[2:] + " "
            words = split_args(to_bytes(arg))
            if words is not None and len(words) == 1:
                handled = False
                if arg.lower() in ("--save", "--sentinel"):
                    following = j != last and args[j + 1].startswith("--")
                    if arg.lower() == "--save" and (following or j == last):
                        options += '""'
                    handled = following or handled
            else:
                handled = True
        else:
            options += to_text(quote(to_bytes(arg))) + " "
            handled = True
    return options, from_stdin


def parse_arguments(argv: Sequence[str]) -> List[Directive]:
    """The directives of the config file, standard input ("-") and the options, in
    order, as redis-server reads them: one text, line by line (loadServerConfig)."""
    args = list(argv)
    data = b""
    path = config_file_of(args)
    if path:
        try:
            with open(path, "rb") as handle:
                data = read_as_redis(handle.read())
        except OSError as exc:
            raise ConfigOpenError("Fatal error, can't open config file '%s': %s"
                                  % (path, exc.strerror)) from None
    options, from_stdin = options_text(args, 1 if path else 0)
    if from_stdin:
        data += read_as_redis(sys.stdin.buffer.read())
    data += b"\n" + to_bytes(options)
    return _directives_of(data)


def _directives_of(data: bytes) -> List[Directive]:
    """The directives of one configuration text (loadServerConfigFromString's lines)."""
    directives: List[Directive] = []
    for number, line, words in read_directives(data):
        if words is None:   # (refused when reached, after the lines before it)
            directives.append(("", None, number, to_text(line)))
            continue
        name = to_text(words[0]).lower()
        if DEPRECATED.get(name) == len(words):
            continue
        directives.append((name, [to_text(word) for word in words[1:]], number,
                           to_text(line)))
    return directives


def build_config(directives: Sequence[Directive], config_file: str = "") -> Config:
    """A Config with every directive applied, or UsageError naming the bad one. A
    value may be its list of words or one string (a single word); a directive read
    from the configuration text carries its line (number, text) for the error."""
    from .commands import load_all
    load_all()      # (the command table, as user and rename-command lines see it)
    config = Config()
    if config_file:
        config.file = absolute_path(config_file)
    _apply(config, directives, 0)
    return config


# How deep included files may include others (redis-server recurses until its stack
# overflows, when a file includes itself).
_MAX_INCLUDE_DEPTH = 100


def _apply(config: Config, directives: Sequence[Directive], depth: int) -> None:
    """Apply ``directives`` in order, an included file's where its include stands."""
    for directive in directives:
        name, value = directive[0], directive[1]
        if value is None:
            raise ConfigFileError(directive[2], directive[3],
                                  "Unbalanced quotes in configuration line")
        words = [value] if isinstance(value, str) else list(value)
        reason = None
        if name == "dir" and len(words) == 1:
            # Redis chdir()s at the line itself: a later relative dir is relative to
            # it, and one it cannot enter stops the start at that line.
            words = [os.path.join(config["dir"], words[0])]
            try:
                check_dir(words[0])
            except ConfigError as exc:
                reason = str(exc)
        if name == "include" and len(words) == 1 and get_param(name) is None:
            if depth >= _MAX_INCLUDE_DEPTH:
                reason = "Too many nested include directives"
            else:
                for data in _included(config, words[0]):
                    _apply(config, _directives_of(data), depth + 1)
                continue
        elif name == "rename-command" and len(words) == 2 and get_param(name) is None:
            reason = _rename(config, words[0], words[1])
        elif name == "loadmodule" and words:
            config.modules.append(words[0])     # (refused once the file is read: main)
            continue
        elif "." in name and get_param(name) is None:
            if not words:
                reason = "Module config specified without value"
            else:
                config.module_configs.append(name)
                continue
        elif name == "user" and words:
            from .security.acl import check_user_line
            reason = check_user_line(config.user_lines, [to_bytes(w) for w in words])
            if reason is None:
                config.set_args(name, words)
                continue
        elif name == "sentinel" and get_param(name) is None:
            if not words:
                continue    # (a lone "sentinel" line: main() looks for --sentinel only)
            reason = "sentinel directive while not in sentinel mode"
        elif get_param(name) is None:
            reason = "Bad directive or wrong number of arguments"
        else:
            try:
                if reason is None:
                    config.set_args(name, words)
            except ConfigError as exc:
                reason = str(exc)
        if reason is not None:
            if len(directive) == 4:
                raise ConfigFileError(directive[2], directive[3], reason)
            raise UsageError("'%s %s': %s" % (name, " ".join(words), reason))
    _check_text_end(config)


def _check_text_end(config: Config) -> None:
    """What loadServerConfigFromString checks once a text (the file with the options,
    or an included file) is read: that the log file opens, and no replicaof in
    cluster mode. Refused without a line."""
    logfile = config["logfile"]
    if logfile:
        try:
            open(os.path.join(config["dir"], logfile), "a").close()
        except OSError as exc:
            raise ConfigFileError(None, "", "Can't open the log file: %s"
                                  % os.strerror(exc.errno or errno.EACCES)) from None
    if config["cluster-enabled"] and config["replicaof"]:
        raise ConfigFileError(None, "", "replicaof directive not allowed in cluster mode")


def _included(config: Config, path: str) -> List[bytes]:
    """The text of each file an include names (relative to the directory the dir lines
    entered), as loadServerConfig reads it: a path with glob characters reads every
    match in sorted order (none is no error), any other path must open. A directory
    opens and reads as empty, as fopen() and fgets() take it."""
    base = config["dir"]
    if any(ch in path for ch in "*?["):
        # (glob(3) without flags: sorted, hidden names only matched by a leading dot)
        paths = sorted(glob.glob(path, root_dir=base))
    else:
        paths = [path]
    texts = []
    for name in paths:
        full = os.path.join(base, name) if name else name
        if os.path.isdir(full):
            texts.append(b"")
            continue
        try:
            with open(full, "rb") as handle:
                texts.append(read_as_redis(handle.read()))
        except OSError as exc:
            raise ConfigOpenError("Fatal error, can't open config file '%s': %s"
                                  % (name, exc.strerror), config) from None
    return texts


def _rename(config: Config, old: str, new: str) -> Optional[str]:
    """rename-command: ``old`` (a command's current name) is known by ``new`` from now
    on, or by nothing when ``new`` is empty; Redis's refusal otherwise. A subcommand
    ("config|get") is refused as unknown (redis-server fails an assertion there)."""
    from .commands import CommandNames
    old_name, new_name = to_bytes(old), to_bytes(new)
    names = CommandNames(config.renamed)
    if b"|" in old_name or names.lookup(old_name) is None:
        return "No such command in rename-command"
    if new_name and new_name.lower() != old_name.lower() \
            and names.lookup(new_name) is not None:
        return "Target command name already exists"
    config.renamed.append((old_name, new_name))
    return None


# glibc's mallopt parameters (malloc.h) and the fixed threshold we set: see
# _tune_allocator.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 1024 * 1024
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD   # what the dynamic rule would pick


def _tune_allocator() -> None:
    """Fix glibc's mmap threshold at 1 MiB (issue 17, memory per key).

    By default glibc raises the threshold whenever a large mmapped block is freed (up
    to 32 MiB); the keyspace's big tables (the key index, slot-indexed lists and
    arrays) grow by reallocation, so after the first resize their successors land in
    the brk heap and every later growth leaves a hole there that RSS keeps (measured
    ~12 B per key at 1M small strings). A fixed threshold keeps them mmapped: resized
    by mremap, returned to the system when freed. Only for the server process we own
    (the embedded server leaves its host's allocator alone); a no-op off glibc."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the server in the foreground until SIGTERM/SIGINT/SHUTDOWN."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-v", "--version"):
        print("miniredis %s (Redis 7.0 compatible)" % __version__)
        return 0
    if args and args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    try:
        config = build_config(parse_arguments(args), config_file_of(args))
    except ConfigFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    except ConfigOpenError as exc:
        return _fatal(exc.config or Config(), str(exc), early=True)
    except UsageError as exc:
        print("miniredis: %s" % exc, file=sys.stderr)
        return 1
    from .persistence.aof import AOFLoadError
    from .security.acl import ACLStartupError
    from .server import ListenError, Server
    refusal = _module_refusal(config)
    if refusal:
        return _fatal(config, *refusal)
    directory = config["dir"]
    if not os.path.isdir(directory):
        # Redis chdirs into dir at start-up and exits when it cannot.
        reason = os.strerror(errno.ENOTDIR if os.path.exists(directory) else errno.ENOENT)
        print("miniredis: Can't chdir to '%s': %s" % (directory, reason), file=sys.stderr)
        return 1
    _tune_allocator()
    try:
        # As redis-server: listen, log the banner, then load the data (serve_forever).
        server = Server(config=config, quiet=False, defer_loading=True)
    except ACLStartupError as exc:      # (logged, as ACLLoadUsersAtStartup does)
        return _fatal(config, *exc.lines)
    except OSError as exc:
        return _fatal(config, "can't start: %s%s" % (
            "%s: " % exc.filename if exc.filename else "", exc.strerror or exc))
    try:
        server.serve_forever()
    except ListenError as exc:
        return _fatal(config, str(exc))
    except AOFLoadError as exc:
        # Refuse to start on a damaged or unwritable AOF (Redis exits too): the files
        # stay untouched.
        return _fatal(config, str(exc))
    except OSError as exc:
        return _fatal(config, "can't start: %s%s" % (
            "%s: " % exc.filename if exc.filename else "", exc.strerror or exc))
    except KeyboardInterrupt:
        pass
    return 0


def _module_refusal(config: Config) -> List[str]:
    """What redis-server logs before it exits when the config file names modules
    (moduleLoadFromQueue): no module loads here, so the first loadmodule fails, and
    module parameters without their module abort the start."""
    from .commands.admin import module_load_failure
    for path in config.modules:
        return [module_load_failure(path),
                "Can't load module from %s: server aborting" % path]
    if config.module_configs:
        return ["Module Configuration detected without loadmodule directive or no "
                "ApplyConfig call: aborting"]
    return []


def _fatal(config: Config, *messages: str, early: bool = False) -> int:
    """A start-up failure, reported as Redis reports it before exiting: a warning in
    the log (standard output, or the logfile). Configuration errors go to standard
    error instead, as Redis's FATAL CONFIG FILE ERROR does. ``early``: before the
    server exists, when Redis's lines carry the role "C" (its pid is not yet the
    server's)."""
    from .log import configured_logger
    try:
        logger = configured_logger(config)
        if early:
            logger.as_child = True
    except OSError:     # (a logfile it cannot open: as Redis's serverLog, nothing)
        return 1
    for message in messages:
        logger("warning", message)
    logger.close()
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
