"""ACL users as Redis 7.0 has them: users, selectors, rules, permission checks, the log.

A :class:`User` has flags (on/off, nopass), SHA-256 password hashes and one or more
:class:`Selector` (the root one, plus those given in parentheses). A selector holds the
commands it allows (a set of command full names, as Redis's bitmap), first arguments
allowed for otherwise blocked commands (``+select|0``), key patterns with read/write
permission and channel patterns. A command is allowed when any selector allows the
command and every key and channel it names.

:class:`ACL` is the server's registry (``state.acl``): users by name, the log, the
checks dispatch calls on its slow path (only for a client whose user is restricted:
``User.restricted``), authentication and the description of users in Redis's rule
syntax (ACL LIST, GETUSER, SAVE). Rule parsing and the file format are in
:mod:`.aclrules`.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .. import errors
from ..config import PARAMS
from ..glob import compile_pattern
from .keyperms import NEEDS, VARIABLE_NEEDS, key_needs
from . import aclrules

if TYPE_CHECKING:  # pragma: no cover
    from ..commands import Command
    from ..state import ServerState

# Denial reasons, valued as Redis orders them (the higher one is reported).
DENIED_CMD = 1
DENIED_KEY = 2
DENIED_AUTH = 3
DENIED_CHANNEL = 4
_REASON_NAMES = {DENIED_CMD: "command", DENIED_KEY: "key", DENIED_AUTH: "auth",
                 DENIED_CHANNEL: "channel"}

READ = 1
WRITE = 2
BOTH = READ | WRITE
_ALLOWED = (0, 0)
_DENIED_COMMAND = (DENIED_CMD, 0)
_GENERAL = object()          # a plan: check the general way

LOG_GROUPING_MS = 60000     # similar denials within a minute share one log entry

# Commands that name channels, and where (publish and subscribe only, as in Redis).
_CHANNEL_COMMANDS = {"publish": (False, 1), "spublish": (False, 1),
                     "subscribe": (False, -1), "ssubscribe": (False, -1),
                     "psubscribe": (True, -1)}


def hash_password(password: bytes) -> bytes:
    """The hex SHA-256 of a password, as Redis stores it."""
    return hashlib.sha256(password).hexdigest().encode()


class Selector:
    """A set of permissions: commands, key patterns, channel patterns (aclSelector)."""

    __slots__ = ("allcommands", "future", "commands", "firstargs", "allkeys", "keys",
                 "allchannels", "channels", "_matchers")

    def __init__(self, allchannels: bool = False) -> None:
        self.allcommands = False        # every command (set by +@all, cleared by any -)
        self.future = False             # the "+@all" bit: commands added later too
        self.commands: set = set()      # full names of allowed commands
        self.firstargs: Dict[str, List[bytes]] = {}   # +select|0: name -> first args
        self.allkeys = False
        self.keys: List[List[Any]] = []  # [pattern, READ|WRITE] in order
        self.allchannels = allchannels
        self.channels: List[bytes] = []
        self._matchers: Optional[List[Tuple[int, Any]]] = None

    def copy(self) -> "Selector":
        other = Selector()
        other.allcommands = self.allcommands
        other.future = self.future
        other.commands = set(self.commands)
        other.firstargs = {name: list(args) for name, args in self.firstargs.items()}
        other.allkeys = self.allkeys
        other.keys = [list(entry) for entry in self.keys]
        other.allchannels = self.allchannels
        other.channels = list(self.channels)
        return other

    @property
    def unrestricted(self) -> bool:
        return self.allcommands and self.allkeys and self.allchannels

    def key_matchers(self) -> List[Tuple[int, Any]]:
        if self._matchers is None:
            self._matchers = [(flags, _matcher(pattern)) for pattern, flags in self.keys]
        return self._matchers

    def invalidate(self) -> None:
        self._matchers = None

    # -- checks ----------------------------------------------------------------------
    def check_key(self, key: bytes, need: int) -> bool:
        if self.allkeys:
            return True
        matchers = self._matchers
        if matchers is None:
            matchers = self.key_matchers()
        for flags, matches in matchers:
            if flags & need == need and matches(key):
                return True
        return False

    def check_channel(self, channel: bytes, is_pattern: bool) -> bool:
        if self.allchannels:
            return True
        return channel_allowed(self.channels, channel, is_pattern)

    def check(self, cmd: "Command", fullname: str, args: List[bytes],
              keys: Optional[Tuple[List[int], List[int]]]) -> Tuple[int, int]:
        """(0, 0) if allowed, else (reason, argument position) (ACLSelectorCheckCmd)."""
        if not self.allcommands and fullname not in self.commands \
                and "no_auth" not in cmd.flags:
            allowed = self.firstargs.get(fullname)
            if allowed is None or len(args) < 2:
                return DENIED_CMD, 0
            first = args[2 if cmd.parent is not None else 1].lower()
            if not any(first == arg.lower() for arg in allowed):
                return DENIED_CMD, 0
        if keys is not None and not self.allkeys:
            matchers = self._matchers
            if matchers is None:
                matchers = self.key_matchers()
            positions, needs = keys
            i = 0
            for pos in positions:
                need = needs[i]
                key = args[pos]
                for flags, matches in matchers:
                    if flags & need == need and matches(key):
                        break
                else:
                    return DENIED_KEY, pos
                i += 1
        if not self.allchannels:
            spec = _CHANNEL_COMMANDS.get(fullname)
            if spec is not None:
                is_pattern, where = spec
                positions = range(1, len(args)) if where < 0 else (where,)
                for pos in positions:
                    if pos < len(args) and not channel_allowed(self.channels, args[pos],
                                                               is_pattern):
                        return DENIED_CHANNEL, pos
        return _ALLOWED


def _matcher(pattern: bytes) -> Any:
    """A key pattern's predicate; "prefix*" (the usual ACL pattern) is a startswith."""
    if pattern.endswith(b"*") and not any(ch in pattern[:-1] for ch in b"*?[\\"):
        return _prefix(pattern[:-1])
    return compile_pattern(pattern)


def _prefix(prefix: bytes) -> Any:
    def matches(key: bytes) -> bool:
        return key.startswith(prefix)
    return matches


def channel_allowed(patterns: List[bytes], channel: bytes, is_pattern: bool) -> bool:
    """A channel against a list of channel patterns; a PSUBSCRIBE pattern must appear
    literally in the list (ACLCheckChannelAgainstList)."""
    for pattern in patterns:
        if is_pattern:
            if pattern == channel:
                return True
        elif compile_pattern(pattern)(channel):
            return True
    return False


class User:
    """An ACL user: flags, password hashes and selectors (the first is the root)."""

    __slots__ = ("name", "enabled", "disabled", "nopass", "sanitize", "skip_sanitize",
                 "passwords", "selectors", "restricted", "_description", "_plans")

    def __init__(self, name: bytes, allchannels: bool = False) -> None:
        self.name = name
        self.enabled = False
        self.disabled = True
        self.nopass = False
        self.sanitize = False
        self.skip_sanitize = False
        self.passwords: List[bytes] = []     # hex SHA-256 hashes
        self.selectors: List[Selector] = [Selector(allchannels)]
        self.restricted = True               # dispatch must check this user's rights
        self._description: Optional[bytes] = None
        self._plans: Dict[Any, Any] = {}     # Command -> precomputed check (see _plan)

    @property
    def root(self) -> Selector:
        return self.selectors[0]

    def copy_from(self, other: "User") -> None:
        """Take ``other``'s rules (ACLCopyUser); the name stays."""
        self.enabled, self.disabled = other.enabled, other.disabled
        self.nopass, self.sanitize = other.nopass, other.sanitize
        self.skip_sanitize = other.skip_sanitize
        self.passwords = list(other.passwords)
        self.selectors = [selector.copy() for selector in other.selectors]
        self.changed()

    def clone(self) -> "User":
        user = User(self.name)
        user.copy_from(self)
        return user

    def changed(self) -> None:
        """Forget what was derived from the rules (after any change)."""
        self._description = None
        self._plans = {}
        self.restricted = not self.root.unrestricted
        for selector in self.selectors:
            selector.invalidate()

    @property
    def name_text(self) -> str:
        return self.name.decode("utf-8", "surrogateescape")

    def flag_names(self) -> List[bytes]:
        """The user's flags in Redis's order (ACL GETUSER, ACL LIST)."""
        names = []
        for flag, name in ((self.enabled, b"on"), (self.disabled, b"off"),
                           (self.nopass, b"nopass"),
                           (self.skip_sanitize, b"skip-sanitize-payload"),
                           (self.sanitize, b"sanitize-payload")):
            if flag:
                names.append(name)
        return names

    def describe(self) -> bytes:
        """The user's rules as ACL LIST shows them (ACLDescribeUser)."""
        if self._description is None:
            parts = [name + b" " for name in self.flag_names()]
            parts.extend(b"#" + hashed + b" " for hashed in self.passwords)
            out = b"".join(parts) + aclrules.describe_selector(self.root)
            for selector in self.selectors[1:]:
                out += b" (" + aclrules.describe_selector(selector) + b")"
            self._description = out
        return self._description

    def check_password(self, password: bytes) -> bool:
        if self.disabled:
            return False
        if self.nopass:
            return True
        hashed = hash_password(password)
        return any(hmac.compare_digest(candidate, hashed) for candidate in self.passwords)

    def check(self, cmd: "Command", args: List[bytes]) -> Tuple[int, int]:
        """(0, 0) if this user may run ``args``; else the reason and argument position
        Redis reports (ACLCheckAllUserCommandPerm).

        The dispatcher calls this for every command of a restricted user, so what can
        be decided from the command alone is decided once per command (``_plan``):
        allowed, refused, or one fixed key to match; anything else takes the general
        path (``_check``).
        """
        plan = self._plans.get(cmd)
        if plan is None:
            plan = self._plans[cmd] = self._plan(cmd)
        if plan.__class__ is tuple:
            return plan                      # _ALLOWED or _DENIED_COMMAND
        if plan is _GENERAL:
            return self._check(cmd, args)
        pos, need, matchers = plan
        if len(args) <= pos:
            return self._check(cmd, args)
        if need is None:                     # SET ... GET, BITFIELD: from the arguments
            need = key_needs(cmd.fullname, args, [pos])[0]
        key = args[pos]
        for flags, matches in matchers:
            if flags & need == need and matches(key):
                return _ALLOWED
        return DENIED_KEY, pos

    def _plan(self, cmd: "Command") -> Any:
        if len(self.selectors) != 1:
            return _GENERAL
        selector = self.root
        fullname = cmd.fullname
        if not (selector.allcommands or fullname in selector.commands
                or "no_auth" in cmd.flags):
            return _GENERAL if fullname in selector.firstargs else _DENIED_COMMAND
        if not selector.allchannels and fullname in _CHANNEL_COMMANDS:
            return _GENERAL
        if selector.allkeys or "not_key" in cmd.key_flags or \
                (cmd.first_key == 0 and cmd.key_finder is None):
            return _ALLOWED
        if cmd.key_finder is None and cmd.first_key == cmd.last_key:
            need = None if fullname in VARIABLE_NEEDS else \
                NEEDS.get(fullname, (BOTH, BOTH))[0]
            return [cmd.first_key, need, selector.key_matchers()]   # a list: one key
        return _GENERAL

    def _check(self, cmd: "Command", args: List[bytes]) -> Tuple[int, int]:
        fullname = cmd.fullname
        keys = None
        first = cmd.first_key
        if cmd.key_finder is None:
            if first:
                # The usual single key (GET, SET...) without building a range.
                positions = [first] if cmd.last_key == first and len(args) > first \
                    else cmd.key_indexes(args)
                if positions and "not_key" not in cmd.key_flags:
                    keys = (positions, key_needs(fullname, args, positions))
        elif "not_key" not in cmd.key_flags:
            positions = cmd.key_indexes(args)
            if positions:
                keys = (positions, key_needs(fullname, args, positions))
        selectors = self.selectors
        if len(selectors) == 1:
            return selectors[0].check(cmd, fullname, args, keys)
        reason, where = DENIED_CMD, 0
        for selector in selectors:
            result, pos = selector.check(cmd, fullname, args, keys)
            if not result:
                return _ALLOWED
            if result > reason or (result == reason and pos > where):
                reason, where = result, pos
        return reason, where

    def may_use_channel(self, channel: bytes, is_pattern: bool) -> bool:
        return any(selector.check_channel(channel, is_pattern)
                   for selector in self.selectors)


class LogEntry:
    """One ACL LOG entry (similar denials are grouped into one, counted)."""

    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")

    def __init__(self, reason: int, context: str, obj: bytes, username: bytes,
                 cinfo: str) -> None:
        self.count = 1
        self.reason = reason
        self.context = context
        self.object = obj
        self.username = username
        self.ctime = int(time.time() * 1000)
        self.cinfo = cinfo


def acl_check_script_call(client: Any, cmd: "Command", args: List[bytes]) -> Optional[str]:
    """The hook for redis.call/pcall: None if the script's caller may run ``args``, else
    the error the script gets (the denial is logged with context "lua")."""
    return client.state.acl.script_refusal(client, cmd, args)


def full_key_read_access(client: Any, args: List[bytes]) -> bool:
    """May ``client`` run ``args`` with read access to every key? SORT's BY and GET
    patterns name keys no ACL check saw (ACLUserCheckCmdWithUnrestrictedKeyAccess)."""
    user = client.user
    if not user.restricted:
        return True
    cmd = client.state.names.resolve(args)
    keys = None
    positions = cmd.key_indexes(args)
    if positions:
        keys = (positions, key_needs(cmd.fullname, args, positions))
    for selector in user.selectors:
        if selector.check(cmd, cmd.fullname, args, keys)[0]:
            continue
        if selector.allkeys or any(pattern == b"*" and flags & READ
                                   for pattern, flags in selector.keys):
            return True
    return False


# CONFIG SET values redacted from SLOWLOG (SENSITIVE_CONFIG in Redis's table).
_SENSITIVE_CONFIGS = tuple(param.name.encode() for param in PARAMS if param.sensitive)


def redact_arguments(args: List[bytes], names: Any = None,
                     acl: Optional["ACL"] = None) -> List[bytes]:
    """``args`` as SLOWLOG and MONITOR show them after the command ran: passwords and
    ACL rules become "(redacted)" where Redis's command redacted them before it
    returned (AUTH of two or three arguments, HELLO's AUTH options up to the first
    option that fails, MIGRATE ... AUTH/AUTH2, ACL SETUSER, CONFIG SET of a sensitive
    parameter). ``names``, the server's CommandNames, knows the command by whatever
    name rename-command gave it; ``acl`` tells whether a HELLO's AUTH succeeded."""
    cmd = names.lookup(args[0]) if names is not None else None
    name = cmd.name.encode() if cmd is not None else args[0].lower()
    hidden: List[int] = []
    if name == b"auth":
        if len(args) <= 3:      # (more: a syntax error, before any redaction)
            hidden = list(range(1, len(args)))
    elif name == b"hello":
        hidden = _hello_secrets(args, acl)
    elif name == b"migrate":
        hidden = _migrate_secrets(args)
    elif name == b"acl" and len(args) > 2 and args[1].lower() == b"setuser":
        hidden = list(range(2, len(args)))
    elif name == b"config" and len(args) > 3 and args[1].lower() == b"set":
        hidden = [i + 1 for i in range(2, len(args) - 1, 2)
                  if args[i].lower() in _SENSITIVE_CONFIGS]
    if not hidden:
        return args
    shown = list(args)
    for i in hidden:
        shown[i] = b"(redacted)"
    return shown


def _hello_secrets(args: List[bytes], acl: Optional["ACL"]) -> List[int]:
    """Where HELLO's option loop redacted AUTH's user and password: after a protocol
    version it accepted, up to the first option that failed (a wrong password, an
    invalid name, an unknown option)."""
    from ..args import to_int
    from ..commands.connection import valid_client_name
    if len(args) >= 2:
        version = to_int(args[1])       # (as HELLO parses it)
        if version is None or not 2 <= version <= 3:
            return []
    hidden: List[int] = []
    i = 2
    while i < len(args):
        option, more = args[i].lower(), len(args) - i - 1
        if option == b"auth" and more >= 2:
            hidden += [i + 1, i + 2]
            if acl is not None and not acl.accepts(args[i + 1], args[i + 2]):
                break
            i += 3
        elif option == b"setname" and more >= 1 and valid_client_name(args[i + 1]):
            i += 2
        else:
            break
    return hidden


def _migrate_secrets(args: List[bytes]) -> List[int]:
    """Where MIGRATE's AUTH password and AUTH2 user and password are, as its option
    loop redacts them (up to KEYS or an unknown option)."""
    hidden: List[int] = []
    j = 6
    while j < len(args):
        option = args[j].lower()
        more = len(args) - 1 - j
        if option in (b"copy", b"replace"):
            j += 1
        elif option == b"auth" and more >= 1:
            hidden.append(j + 1)
            j += 2
        elif option == b"auth2" and more >= 2:
            hidden += [j + 1, j + 2]
            j += 3
        else:
            break
    return hidden


class ACLStartupError(Exception):
    """The ACL configuration (``user`` lines, ``aclfile``) is unusable: do not start.
    ``lines`` are what Redis logs before it exits."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = lines


def check_user_line(loaded: List[List[bytes]], words: List[bytes]) -> Optional[str]:
    """A config file's ``user <name> <rules...>`` line where it stands
    (ACLAppendUserForLoading): None, or the reason Redis refuses the line. Rules
    naming unknown commands pass here (refused when the users load). As in Redis, the
    word the error names is the line's word at the failing rule's index among the
    merged rules (argv[argc_err]), and an unbalanced selector gets the text errno was
    left with (ENOENT's)."""
    line = [b"user"] + words
    if any(user[0] == words[0] for user in loaded):
        return "Error in user declaration '%s': %s" % (errors.c_text(words[0]),
                                                       errors.ACL_RULE_DUPLICATE_USER)
    merged = aclrules.check_selector_brackets(words[1:])
    if isinstance(merged, str):
        opened = [i for i, op in enumerate(words[1:])
                  if op[:1] == b"(" and op[-1:] != b")"]
        return "Error in user declaration '%s': %s" % (errors.c_text(line[opened[-1]]),
                                                       errors.ACL_RULE_UNKNOWN)
    fake = User(b"", False)
    for j, rule in enumerate(merged):
        problem = aclrules.apply_user_rule(fake, rule, False)
        if problem is not None and problem != errors.ACL_RULE_UNKNOWN:
            return "Error in user declaration '%s': %s" % (errors.c_text(line[j]), problem)
    return None


class ACL:
    """The users of one server, its ACL log, and the checks dispatch consults."""

    def __init__(self, state: "ServerState") -> None:
        self.state = state
        self.users: Dict[bytes, User] = {}
        self.log: List[LogEntry] = []
        self.default = self._new_default()
        self.users[b"default"] = self.default
        # Internal clients (AOF loading, the embedding API) run as an unlisted user with
        # every right, as Redis's user-less clients do.
        self.superuser = self._new_default()
        self.open = True        # the default user is on and nopass: no AUTH needed
        password = state.config["requirepass"]
        if password:
            self.set_default_password(password)

    def _new_default(self) -> User:
        user = User(b"default")
        for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            aclrules.apply_user_rule(user, rule, self.pubsub_default())
        user.changed()
        return user

    def pubsub_default(self) -> bool:
        """acl-pubsub-default: do new users get every channel?"""
        return self.state.config["acl-pubsub-default"] == "allchannels"

    # -- users ---------------------------------------------------------------------
    def get(self, name: bytes) -> Optional[User]:
        return self.users.get(name)

    def sorted_users(self) -> List[User]:
        """Users in Redis's order (its radix tree: byte order of the names)."""
        return [self.users[name] for name in sorted(self.users)]

    def set_user(self, name: bytes, rules: List[bytes]) -> Optional[str]:
        """ACL SETUSER: apply ``rules`` all or nothing; the error text, or None."""
        error = aclrules.check_selector_brackets(rules)
        if isinstance(error, str):
            return error
        merged = error
        existing = self.users.get(name)
        staged = existing.clone() if existing is not None else \
            User(name, self.pubsub_default())
        for rule in merged:
            problem = aclrules.apply_user_rule(staged, rule, self.pubsub_default())
            if problem is not None:
                return errors.ACL_SETUSER_MODIFIER.format(errors.c_text(rule), problem)
        staged.changed()
        if existing is not None:
            self._kill_revoked_subscribers(staged, existing)
            existing.copy_from(staged)
        else:
            self.users[name] = staged
        self.users_changed()
        return None

    def delete_users(self, names: List[bytes]) -> int:
        deleted = 0
        for name in names:
            user = self.users.pop(name, None)
            if user is not None:
                self._kill_clients_of(user)
                deleted += 1
        if deleted:
            self.users_changed()
        return deleted

    def users_changed(self) -> None:
        """Rules changed: recompute who needs AUTH and which clients are gated."""
        default = self.default
        self.open = default.nopass and not default.disabled
        for client in list(self.state.clients.values()):
            client._update_gate()

    def set_default_password(self, password: str) -> None:
        """requirepass: the default user's only password ("" makes it nopass)."""
        aclrules.apply_user_rule(self.default, b"resetpass", self.pubsub_default())
        if password:
            aclrules.apply_user_rule(
                self.default, b">" + password.encode("utf-8", "surrogateescape"),
                self.pubsub_default())
        else:
            aclrules.apply_user_rule(self.default, b"nopass", self.pubsub_default())
        self.default.changed()
        self.users_changed()

    def _kill_clients_of(self, user: User) -> None:
        """A deleted (or replaced) user's connections are closed, as Redis does."""
        for client in list(self.state.clients.values()):
            if client.user is user:
                client.user = self.default
                client.authenticated = False
                client.kill()

    def _kill_revoked_subscribers(self, new: User, old: User) -> None:
        """Disconnect the user's subscribers whose channels the new rules no longer
        allow (ACLKillPubsubClientsIfNeeded)."""
        if any(selector.allchannels for selector in new.selectors):
            return
        upcoming = [pattern for selector in new.selectors for pattern in selector.channels]
        if not any(selector.allchannels for selector in old.selectors) and all(
                pattern in upcoming for selector in old.selectors
                for pattern in selector.channels):
            return
        for client in list(self.state.clients.values()):
            if client.user is not old or not client.subscribed:
                continue
            revoked = any(not channel_allowed(upcoming, pattern, True)
                          for pattern in client.psubscriptions) or \
                any(not channel_allowed(upcoming, channel, False)
                    for channel in list(client.subscriptions) + list(client.ssubscriptions))
            if revoked:
                client.kill()

    # -- authentication ------------------------------------------------------------
    def accepts(self, username: bytes, password: bytes) -> bool:
        """Whether AUTH ``username`` ``password`` would succeed (ACLCheckUserCredentials:
        the user exists, is enabled and has the password), changing nothing."""
        user = self.users.get(username)
        return user is not None and user.check_password(password)

    def authenticate(self, client: Any, username: bytes, password: bytes,
                     command_name: bytes = b"auth") -> bool:
        """AUTH / HELLO AUTH: switch ``client`` to the user, or log the failure (the
        log's object is the command name as sent)."""
        if self.accepts(username, password):
            user = self.users[username]
            client.user = user
            client.authenticated = True
            client._update_gate()
            return True
        self.add_log(client, DENIED_AUTH, self.context_of(client), username=username,
                     obj=command_name)
        return False

    # -- permission checks (the dispatcher's slow path) --------------------------------
    @staticmethod
    def context_of(client: Any) -> str:
        return "multi" if client.multi is not None or client.in_exec else "toplevel"

    def refusal(self, client: Any, cmd: "Command", args: List[bytes]) -> Optional[str]:
        """None if ``client`` may run ``args``; else log the denial and return the
        error text for where it happened (top level, queued in MULTI, inside EXEC)."""
        reason, pos = client.user.check(cmd, args)
        if not reason:
            return None
        return self.denied(client, cmd, args, reason, pos)

    def denied(self, client: Any, cmd: "Command", args: List[bytes], reason: int,
               pos: int) -> str:
        """Log a denial found by ``User.check``; the error text for where it happened."""
        if client.in_exec:
            self.add_log(client, reason, "multi", cmd=cmd, args=args, pos=pos)
            return aclrules.EXEC_DENIED.format(aclrules.EXEC_REASONS[reason])
        self.add_log(client, reason, self.context_of(client), cmd=cmd, args=args, pos=pos)
        if reason == DENIED_CMD:
            return aclrules.NOPERM_COMMAND.format(cmd.fullname)
        if reason == DENIED_KEY:
            return aclrules.NOPERM_KEY
        return aclrules.NOPERM_CHANNEL

    def script_refusal(self, client: Any, cmd: "Command", args: List[bytes]) -> Optional[str]:
        """redis.call from a script, checked against the calling client's user."""
        reason, pos = client.user.check(cmd, args)
        if not reason:
            return None
        self.add_log(client, reason, "lua", cmd=cmd, args=args, pos=pos)
        return errors.ACL_SCRIPT_DENIED.format(aclrules.DENIED_MESSAGES[reason])

    # -- the log --------------------------------------------------------------------
    def add_log(self, client: Any, reason: int, context: str,
                cmd: Optional["Command"] = None, args: Optional[List[bytes]] = None,
                pos: int = 0, username: Optional[bytes] = None,
                obj: bytes = b"") -> None:
        """Record a denial, grouped with a similar recent one (addACLLogEntry)."""
        if reason == DENIED_CMD:
            obj = cmd.fullname.encode()
        elif reason != DENIED_AUTH:
            obj = args[pos]
        from ..commands.connection import client_line
        if cmd is not None and context != "lua":
            client.last_command = cmd.fullname
        entry = LogEntry(reason, context, obj,
                         username if username is not None else client.user.name,
                         client_line(client, time.time()))
        log = self.log
        for i, current in enumerate(log[:10]):
            if current.reason == entry.reason and current.context == entry.context \
                    and abs(current.ctime - entry.ctime) <= LOG_GROUPING_MS \
                    and current.object == entry.object \
                    and current.username == entry.username:
                del log[i]
                current.cinfo = entry.cinfo
                current.ctime = entry.ctime
                current.count += 1
                log.insert(0, current)
                return
        log.insert(0, entry)
        del log[self.state.config["acllog-max-len"]:]

    # -- the ACL file ------------------------------------------------------------
    def file_path(self) -> str:
        """The aclfile, relative to ``dir`` as Redis (which chdirs there) resolves it."""
        import os
        config = self.state.config
        return os.path.join(config["dir"], config["aclfile"])

    def load_at_startup(self) -> None:
        """Apply the config file's ``user`` lines or the aclfile; ACLStartupError if
        they cannot be (Redis refuses to start)."""
        config = self.state.config
        if config["aclfile"] and config.user_lines:
            raise ACLStartupError(
                "Configuring Redis with users defined in redis.conf and at the same "
                "setting an ACL file path is invalid. This setup is very likely to lead to "
                "configuration errors and security holes, please define either an ACL file "
                "or declare users directly in your redis.conf, but not both.")
        error = self.load_config_users(config.user_lines)
        if error is not None:
            raise ACLStartupError(error, "Critical error while loading ACLs. Exiting.")
        if config["aclfile"]:
            error = self.load_file(self.file_path(), config["aclfile"])
            if error is not None:
                raise ACLStartupError("Aborting Redis startup because of ACL errors: "
                                      + error[4:])

    def save_file(self) -> bool:
        """ACL SAVE: write the users to the aclfile (through a temporary file)."""
        import os
        path = self.file_path()
        temp = "%s.tmp-%d-%d" % (path, os.getpid(), int(time.time() * 1000))
        try:
            with open(temp, "wb") as handle:
                handle.write(self.save_text())
            os.replace(temp, path)
        except OSError as exc:
            self.state.log("warning", "Writing ACL file for ACL SAVE: %s" % exc)
            try:
                os.unlink(temp)
            except OSError:
                pass
            return False
        return True

    def load_file(self, path: str, shown_name: str) -> Optional[str]:
        """ACL LOAD: replace every user from ``path``; the error text, or None (on
        error nothing changes)."""
        result = aclrules.parse_acl_file(path, shown_name, self.pubsub_default())
        if isinstance(result, str):
            return result
        new_users = result
        old_users = self.users
        fresh_default = new_users.pop(b"default", None) or self._new_default()
        self.default.copy_from(fresh_default)
        new_users[b"default"] = self.default
        self.users = new_users
        for name, user in old_users.items():
            if user is not self.default:
                self._kill_clients_of(user)
        self.users_changed()
        return None

    def save_text(self) -> bytes:
        """The ACL file's content: one ``user`` line per user, in name order."""
        return b"".join(b"user " + user.name + b" " + user.describe() + b"\n"
                        for user in self.sorted_users())

    def load_config_users(self, lines: List[List[bytes]]) -> Optional[str]:
        """The config file's ``user`` lines (their words after "user", each line
        checked where it stood: :func:`check_user_line`), applied at startup as
        ACLLoadConfiguredUsers does; None, or what Redis logs before it gives up."""
        for words in lines:
            name = words[0]
            if any(byte in b" \t\n\v\f\r\0" for byte in name):
                return "Spaces not allowed in ACL usernames"
            user = self.users.get(name)
            if user is None:
                user = User(name, self.pubsub_default())
            else:       # (only "default" exists already)
                aclrules.apply_user_rule(user, b"reset", self.pubsub_default())
            merged = aclrules.check_selector_brackets(words[1:])
            for rule in (merged if isinstance(merged, list) else []):
                problem = aclrules.apply_user_rule(user, rule, self.pubsub_default())
                if problem is not None:
                    return "Error loading ACL rule '%s' for the user named '%s': %s" % (
                        errors.c_text(rule), errors.c_text(name), problem)
            user.changed()
            self.users[name] = user
            if not user.enabled:
                self.state.log("notice", "The user '%s' is disabled (there is no 'on' "
                               "modifier in the user description). Make sure this is "
                               "not a configuration error." % errors.c_text(name))
        self.users_changed()
        return None
