"""ACL rule syntax: applying rules to users and selectors, describing them back, and the
ACL file format (Redis 7.0's ACLSetUser, ACLSetSelector, ACLDescribeSelector,
ACLLoadFromFile).

Commands are named by their full names (``get``, ``client|kill``); a selector's allowed
commands are a set of those names, standing for Redis's per-command bitmap. Rules are
described back as Redis does: starting from ``+@all`` or ``-@all``, the categories that
best fit the allowed set, then the single commands that still differ.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Union

from .. import errors
from .categories import CATEGORIES, categories

if TYPE_CHECKING:  # pragma: no cover
    from ..commands import Command
    from .acl import Selector, User

READ = 1
WRITE = 2

# Re-exported for acl.py: every text lives in errors.py.
NOPERM_COMMAND = errors.NOPERM_COMMAND
NOPERM_KEY = errors.NOPERM_KEY
NOPERM_CHANNEL = errors.NOPERM_CHANNEL
EXEC_DENIED = errors.NOPERM_EXEC
EXEC_REASONS = errors.NOPERM_EXEC_REASONS
DENIED_MESSAGES = errors.ACL_DENIED_MESSAGES

_SPACES = b" \t\n\v\f\r\x00"


class RuleError(Exception):
    """A rule that cannot be applied; ``args[0]`` is Redis's explanation."""


# -- the command universe -------------------------------------------------------------
class _Universe:
    """Every command and subcommand, in table order, with category membership."""

    def __init__(self) -> None:
        from ..commands import COMMANDS
        self.top: List["Command"] = list(COMMANDS.values())
        self.all: List["Command"] = []
        for cmd in self.top:
            self.all.append(cmd)
            self.all.extend(cmd.subcommands.values())
        self.names = frozenset(cmd.fullname for cmd in self.all)
        self.members: Dict[str, List["Command"]] = {name: [] for name in CATEGORIES}
        for cmd in self.all:
            for category in categories(cmd):
                self.members[category].append(cmd)


_universe: Optional[_Universe] = None


def universe() -> _Universe:
    global _universe
    if _universe is None:
        _universe = _Universe()
    return _universe


def lookup_acl_command(name: bytes) -> Optional["Command"]:
    """A command named in a rule: ``get`` or ``config|get`` (strict, as ACLLookupCommand)."""
    from ..commands import COMMANDS
    parts = name.split(b"|")
    if len(parts) > 2:
        return None
    try:
        base = COMMANDS.get(parts[0].lower())
    except AttributeError:
        return None
    if base is None:
        return None
    if len(parts) == 1:
        return base
    if not base.subcommands:
        return None
    return base.subcommands.get(parts[1].lower())


def _has_spaces(value: bytes) -> bool:
    return any(ch in _SPACES for ch in value)


# -- selectors ---------------------------------------------------------------------------
def change_command(selector: "Selector", cmd: "Command", allow: bool) -> None:
    """Allow or block a command, and all its subcommands if it is a container."""
    names = [cmd.fullname] + [sub.fullname for sub in cmd.subcommands.values()]
    if allow:
        selector.commands.update(names)
    else:
        selector.commands.difference_update(names)
        selector.allcommands = False
    selector.firstargs.pop(cmd.fullname, None)


def change_category(selector: "Selector", category: str, allow: bool) -> None:
    for cmd in universe().members[category]:
        change_command(selector, cmd, allow)


def _set_all_commands(selector: "Selector", allow: bool) -> None:
    selector.allcommands = selector.future = allow
    selector.commands = set(universe().names) if allow else set()
    selector.firstargs = {}


def apply_selector_rule(selector: "Selector", op: bytes) -> None:
    """One rule about commands, keys or channels (ACLSetSelector); RuleError if bad.
    Keywords, command and category names are read as C strings (strcasecmp, strlen:
    a NUL ends them); key and channel patterns keep every byte."""
    text = op.split(b"\0", 1)[0]
    low = text.lower()
    if low in (b"allkeys", b"~*"):
        selector.allkeys = True
        selector.keys = []
    elif low == b"resetkeys":
        selector.allkeys = False
        selector.keys = []
    elif low in (b"allchannels", b"&*"):
        selector.allchannels = True
        selector.channels = []
    elif low == b"resetchannels":
        selector.allchannels = False
        selector.channels = []
    elif low in (b"allcommands", b"+@all"):
        _set_all_commands(selector, True)
    elif low in (b"nocommands", b"-@all"):
        _set_all_commands(selector, False)
    elif op[:1] in (b"~", b"%"):
        _add_key_pattern(selector, op)
    elif op[:1] == b"&":
        if selector.allchannels:
            raise RuleError(errors.ACL_RULE_CHANNELS_AFTER_ALL)
        pattern = op[1:]
        if _has_spaces(pattern):
            raise RuleError(errors.ACL_RULE_SYNTAX)
        if pattern not in selector.channels:
            selector.channels.append(pattern)
        selector.allchannels = False
    elif text[:1] == b"+" and text[1:2] != b"@":
        _allow_command(selector, text[1:])
    elif text[:1] == b"-" and text[1:2] != b"@":
        cmd = lookup_acl_command(text[1:])
        if cmd is None:
            raise RuleError(errors.ACL_RULE_UNKNOWN)
        change_command(selector, cmd, False)
    elif text[:2] in (b"+@", b"-@"):
        category = text[2:].decode("utf-8", "replace").lower()
        if category not in universe().members:
            raise RuleError(errors.ACL_RULE_UNKNOWN)
        change_category(selector, category, op[:1] == b"+")
    else:
        raise RuleError(errors.ACL_RULE_SYNTAX)
    selector.invalidate()


def _add_key_pattern(selector: "Selector", op: bytes) -> None:
    if selector.allkeys:
        raise RuleError(errors.ACL_RULE_KEYS_AFTER_ALL)
    flags = 0
    offset = 1
    if op[:1] == b"%":
        while offset < len(op):
            ch = op[offset:offset + 1].upper()
            if ch == b"R" and not flags & READ:
                flags |= READ
            elif ch == b"W" and not flags & WRITE:
                flags |= WRITE
            elif ch == b"~":
                offset += 1
                break
            else:
                raise RuleError(errors.ACL_RULE_SYNTAX)
            offset += 1
        if not flags:   # "%" alone: Redis would store a pattern it cannot describe
            raise RuleError(errors.ACL_RULE_SYNTAX)
    else:
        flags = READ | WRITE
    pattern = op[offset:]
    if _has_spaces(pattern):
        raise RuleError(errors.ACL_RULE_SYNTAX)
    for entry in selector.keys:
        if entry[0] == pattern:
            entry[1] |= flags
            break
    else:
        selector.keys.append([pattern, flags])
    selector.allkeys = False


def _allow_command(selector: "Selector", name: bytes) -> None:
    if b"|" not in name:
        cmd = lookup_acl_command(name)
        if cmd is None:
            raise RuleError(errors.ACL_RULE_UNKNOWN)
        change_command(selector, cmd, True)
        return
    base_name, _, first = name.rpartition(b"|")
    cmd = lookup_acl_command(base_name)
    if cmd is None:
        raise RuleError(errors.ACL_RULE_UNKNOWN)
    if cmd.parent is not None:
        raise RuleError(errors.ACL_RULE_SUBCOMMAND_FIRSTARG)
    if not first:
        raise RuleError(errors.ACL_RULE_SYNTAX)
    if cmd.subcommands:
        sub = lookup_acl_command(name)
        if sub is None:
            raise RuleError(errors.ACL_RULE_UNKNOWN)
        change_command(selector, sub, True)
        return
    # A first argument of an otherwise blocked command (+select|0): deprecated in Redis.
    allowed = selector.firstargs.setdefault(cmd.fullname, [])
    if not any(first.lower() == arg.lower() for arg in allowed):
        allowed.append(first)


# -- users --------------------------------------------------------------------------
def apply_user_rule(user: "User", op: bytes, pubsub_all: bool) -> Optional[str]:
    """Apply one rule to ``user`` (ACLSetUser); None, or why it was refused.

    The caller calls ``user.changed()`` once it is done with a batch of rules.
    """
    try:
        _apply_user_rule(user, op, pubsub_all)
    except RuleError as exc:
        return exc.args[0]
    user._description = None
    return None


def _apply_user_rule(user: "User", op: bytes, pubsub_all: bool) -> None:
    from .acl import Selector, hash_password
    if not op:
        return
    low = op.split(b"\0", 1)[0].lower()     # (strcasecmp: a keyword is a C string)
    if low == b"on":
        user.enabled, user.disabled = True, False
    elif low == b"off":
        user.enabled, user.disabled = False, True
    elif low == b"skip-sanitize-payload":
        user.skip_sanitize, user.sanitize = True, False
    elif low == b"sanitize-payload":
        user.skip_sanitize, user.sanitize = False, True
    elif low == b"nopass":
        user.nopass = True
        user.passwords = []
    elif low == b"resetpass":
        user.nopass = False
        user.passwords = []
    elif op[:1] in (b">", b"#"):
        hashed = hash_password(op[1:]) if op[:1] == b">" else _checked_hash(op[1:])
        if hashed not in user.passwords:
            user.passwords.append(hashed)
        user.nopass = False
    elif op[:1] in (b"<", b"!"):
        hashed = hash_password(op[1:]) if op[:1] == b"<" else _checked_hash(op[1:])
        if hashed not in user.passwords:
            raise RuleError(errors.ACL_RULE_NO_PASSWORD)
        user.passwords.remove(hashed)
    elif op[:1] == b"(" and op[-1:] == b")":
        selector = Selector(pubsub_all)
        from ..wire import split_inline
        for rule in split_inline(op[1:-1]) or []:
            apply_selector_rule(selector, rule)
        user.selectors.append(selector)
    elif low == b"clearselectors":
        del user.selectors[1:]
    elif low == b"reset":
        for rule in (b"resetpass", b"resetkeys", b"resetchannels") + \
                ((b"allchannels",) if pubsub_all else ()) + \
                (b"off", b"sanitize-payload", b"clearselectors", b"-@all"):
            _apply_user_rule(user, rule, pubsub_all)
    else:
        apply_selector_rule(user.root, op)


def _checked_hash(value: bytes) -> bytes:
    if len(value) != 64 or any(ch not in b"0123456789abcdef" for ch in value):
        raise RuleError(errors.ACL_RULE_BAD_HASH)
    return value


def check_selector_brackets(rules: List[bytes]) -> Union[List[bytes], str]:
    """Join a selector spread over several arguments (``(+get`` ``~key)``) into one
    rule (ACLMergeSelectorArguments); the merged rules, or the unmatched-parenthesis
    error text."""
    merged: List[bytes] = []
    current: Optional[bytes] = None
    start = 0
    for i, op in enumerate(rules):
        if current is None and op[:1] == b"(" and op[-1:] != b")":
            current = op
            start = i
            continue
        if current is not None:
            current += b" " + op
            if op[-1:] == b")":
                merged.append(current)
                current = None
            continue
        merged.append(op)
    if current is not None:
        return errors.ACL_UNMATCHED_PARENTHESIS.format(errors.c_text(rules[start]))
    return merged


# -- describing rules back --------------------------------------------------------------
def _pattern_text(pattern: bytes, flags: int) -> bytes:
    prefix = b"~" if flags == READ | WRITE else b"%R~" if flags == READ else b"%W~"
    return prefix + pattern


def describe_keys(selector: "Selector") -> bytes:
    """Key patterns as ACL GETUSER shows them."""
    if selector.allkeys:
        return b"~*"
    return b" ".join(_pattern_text(pattern, flags) for pattern, flags in selector.keys)


def describe_channels(selector: "Selector") -> bytes:
    if selector.allchannels:
        return b"&*"
    return b" ".join(b"&" + pattern for pattern in selector.channels)


def describe_selector(selector: "Selector") -> bytes:
    """Keys, channels and commands in rule syntax (ACLDescribeSelector)."""
    out = b""
    if selector.allkeys:
        out += b"~* "
    else:
        out += b"".join(_pattern_text(p, f) + b" " for p, f in selector.keys)
    if selector.allchannels:
        out += b"&* "
    else:
        out += b"resetchannels " + b"".join(b"&" + p + b" " for p in selector.channels)
    return out + describe_commands(selector)


def describe_commands(selector: "Selector") -> bytes:
    """The rules that rebuild the selector's commands (ACLDescribeSelectorCommandRules):
    +@all or -@all, the best-fitting categories, then single commands."""
    from .acl import Selector
    world = universe()
    additive = not selector.future
    rules = [b"-@all" if additive else b"+@all"]
    fake = Selector()
    _set_all_commands(fake, not additive)
    temp = Selector()
    temp.commands = set(selector.commands)
    applied = set()
    while True:
        best = None
        mindiff, maxsame = 1 << 62, 0
        for category in CATEGORIES:
            if category in applied:
                continue
            members = world.members[category]
            on = sum(1 for cmd in members if cmd.fullname in temp.commands)
            off = len(members) - on
            diff, same = (off, on) if additive else (on, off)
            if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                best, mindiff, maxsame = category, diff, same
        if best is None:
            break
        change_category(fake, best, additive)
        change_category(temp, best, not additive)
        rules.append((b"+@" if additive else b"-@") + best.encode())
        applied.add(best)
    for cmd in world.top:
        _describe_single(selector, fake, cmd, rules)
    return b" ".join(rules)


def _describe_single(selector: "Selector", fake: "Selector", cmd: "Command",
                     rules: List[bytes]) -> None:
    userbit = cmd.fullname in selector.commands
    if userbit != (cmd.fullname in fake.commands):
        rules.append((b"+" if userbit else b"-") + cmd.fullname.encode())
        change_command(fake, cmd, userbit)
    for sub in cmd.subcommands.values():
        _describe_single(selector, fake, sub, rules)
    if not userbit:
        for first in selector.firstargs.get(cmd.fullname, ()):
            rules.append(b"+" + cmd.fullname.encode() + b"|" + first)


# -- the ACL file -----------------------------------------------------------------------
def parse_acl_file(path: str, shown: str, pubsub_all: bool) -> Union[Dict[bytes, "User"], str]:
    """Users defined in an ACL file (ACLLoadFromFile): a dict by name, or the error text
    listing every problem found (then nothing is to be loaded)."""
    from .acl import User
    import os
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        return "ERR Error loading ACLs, opening file '%s': %s" % (
            path, os.strerror(exc.errno or 0))
    users: Dict[bytes, User] = {}
    problems = []
    for number, raw in enumerate(content.split(b"\n"), 1):
        line = raw.strip(b" \t\r\n")
        if not line:
            continue
        words = line.split(b" ")
        if words[0] != b"user" or len(words) < 2:
            problems.append("%s:%d should start with user keyword followed by the "
                            "username. " % (shown, number))
            continue
        name = words[1]
        text = name.decode("utf-8", "surrogateescape")
        if _has_spaces(name):
            problems.append("'%s:%d: username '%s' contains invalid characters. "
                            % (shown, number, text))
            continue
        if name in users:
            problems.append("WARNING: Duplicate user '%s' found on line %d. " % (text, number))
            continue
        user = users[name] = User(name, pubsub_all)
        merged = check_selector_brackets(words[2:])
        if isinstance(merged, str):
            problems.append("%s:%d: Unmatched parenthesis in selector definition."
                            % (shown, number))
            continue
        reported = False
        for rule in merged:
            rule = rule.strip(b"\t\r\n")
            problem = apply_user_rule(user, rule, pubsub_all)
            if problem is None:
                continue
            if problem == errors.ACL_RULE_UNKNOWN:
                problems.append("%s:%d: Error in applying operation '%s': %s. " % (
                    shown, number, rule.decode("utf-8", "surrogateescape"), problem))
            elif not reported:
                problems.append("%s:%d: %s. " % (shown, number, problem))
                reported = True
        user.changed()
    if problems:
        return "ERR " + "".join(problems) + ("WARNING: ACL errors detected, no change to "
                                             "the previously active ACL rules was performed")
    return users
