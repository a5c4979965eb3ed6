"""The live configuration of one server (:class:`Config`): parameters set from the
command line, the config file and CONFIG SET, kept parsed and rendered back.

Every parameter, its default, parser and validation are in :mod:`miniredis.configtable`
(Redis 7.0.15's table); the names other modules take from there are re-exported here.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .configfile import parse_directives, read_as_redis, split_args, to_bytes, to_text
from .configtable import PARAMS, PARAMS_BY_NAME, ConfigError, Param, check_dir
from .glob import compile_pattern

__all__ = ["Config", "ConfigError", "PARAMS", "PARAMS_BY_NAME", "Param", "get_param",
           "parse_directives"]


class Config:
    """The live configuration of one server."""

    def __init__(self, **overrides: Any) -> None:
        self.values: Dict[str, Any] = {p.name: p.default for p in PARAMS}
        # ``user`` directives (ACL users of the config file: each line's words after
        # "user"), applied at startup.
        self.user_lines: List[List[bytes]] = []
        # The config file's absolute path ("" without one): CONFIG REWRITE writes it.
        self.file = ""
        # rename-command directives (old name, new name; b"" removes), in file order.
        self.renamed: List[Tuple[bytes, bytes]] = []
        # loadmodule paths and module parameters ("name.param value") of the file:
        # this server loads no modules, so either refuses the start (cli.main).
        self.modules: List[str] = []
        self.module_configs: List[str] = []
        self._save_loaded = False       # the first startup "save" replaces the default
        self.dispatch: Tuple[float, bool] = (0.0, False)
        self._refresh_dispatch()
        for name, value in overrides.items():
            self.set(name.replace("_", "-"), value if isinstance(value, str) else
                     _to_text(value), startup=True)

    def __getitem__(self, name: str) -> Any:
        return self.values[PARAMS_BY_NAME[name].name]

    def set(self, name: str, text: str, startup: bool = False) -> Any:
        """Parse ``text`` and store it; raise ConfigError (or KeyError if unknown)."""
        if startup and name.lower() == "user":
            words = split_args(to_bytes(text))
            self.user_lines.append(words if words else to_bytes(text).split())
            return text
        param = PARAMS_BY_NAME[name.lower()]
        if not startup and not param.mutable:
            raise ConfigError("can't set immutable config")
        if param.multi:
            # CONFIG SET splits at each space (two spaces make an empty word, as in
            # Redis); a file or command line at runs of blanks.
            value = param.parse((text.split() or [""]) if startup else text.split(" "))
        else:
            value = param.parse(text)
        return self._store(param, value, startup)

    def set_args(self, name: str, args: List[str]) -> Any:
        """A directive of the config file or command line, as its words after the
        name (loadServerConfigFromString): one word for a plain parameter; a
        multi-word one also takes its words quoted together ("1 2 3")."""
        if name.lower() == "user":
            if not args:
                raise ConfigError("wrong number of arguments")
            self.user_lines.append([to_bytes(word) for word in args])
            return None
        param = PARAMS_BY_NAME[name.lower()]
        if not param.multi:
            if len(args) != 1:
                raise ConfigError("wrong number of arguments")
            return self._store(param, param.parse(args[0]), True)
        if len(args) == 1 and args[0]:
            # (sdssplitargs: no words at all when the quotes do not balance)
            words = split_args(to_bytes(args[0])) or []
            args = [to_text(word) for word in words]
        return self._store(param, param.parse(args), True)

    def _store(self, param: Param, value: Any, startup: bool) -> Any:
        """Keep a parsed value (``set`` and ``set_args`` share this)."""
        if param.name == "dir" and not startup:
            check_dir(value)
        if param.combine is not None:
            value = param.combine(self.values[param.name], value)
        if param.name == "save" and startup:
            # As in redis.conf, save lines add up; an empty one clears them.
            if self._save_loaded and value:
                value = (self.values["save"] + " " + value).strip()
            self._save_loaded = True
        self.values[param.name] = value
        if param.name in _DISPATCH_PARAMS:
            self._refresh_dispatch()
        return value

    def _refresh_dispatch(self) -> None:
        """``dispatch``: what the dispatcher reads per batch of requests, derived once
        per change instead of on every read (four dict lookups and a division): the
        seconds past which a command takes the after-call branch (SLOWLOG; -1.0 with a
        latency monitor threshold, so every command does; +inf with the slowlog off)
        and whether per-command latency histograms are kept."""
        values = self.values
        usec = values["slowlog-log-slower-than"]
        slow = usec / 1_000_000 if usec >= 0 else float("inf")
        if values["latency-monitor-threshold"]:
            slow = -1.0
        self.dispatch = (slow, values["latency-tracking"])

    def render(self, name: str) -> str:
        param = PARAMS_BY_NAME[name]
        return param.render(self.values[param.name])

    def matching(self, pattern: str) -> List[Tuple[str, str]]:
        """(name, rendered value) for every parameter (or alias) CONFIG GET ``pattern`` hits.

        As in Redis, a pattern without glob characters is a plain (case-insensitive)
        lookup that answers with the name as it was given; a glob matches without
        regard to case and lists aliases as parameters of their own.
        """
        if not any(ch in pattern for ch in "[*?"):
            if pattern.lower() in PARAMS_BY_NAME:
                return [(pattern, self.render(pattern.lower()))]
            return []
        matches = compile_pattern(pattern.encode("utf-8", "surrogateescape"), nocase=True)
        return [(name, self.render(name)) for name, param in PARAMS_BY_NAME.items()
                if not param.hidden and matches(name.encode())]

    def load_file(self, path: str) -> List[Tuple[str, List[str]]]:
        """The (name, words) directives of a redis.conf-style file, in order."""
        with open(path, "rb") as handle:
            return parse_directives(read_as_redis(handle.read()))


_DISPATCH_PARAMS = frozenset(("slowlog-log-slower-than", "latency-monitor-threshold",
                              "latency-tracking"))


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def get_param(name: str) -> Optional[Param]:
    return PARAMS_BY_NAME.get(name.lower())
