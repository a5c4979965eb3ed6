"""ACL: users and permissions (Redis 7.0's ACL command; the model is security.acl).

SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, GENPASS, LOG, DRYRUN, SAVE, LOAD
and HELP, with Redis's replies and error texts.
"""
from __future__ import annotations

import os
import time
from typing import List

from .. import errors
from ..args import to_int
from ..errors import CommandError
from ..protocol import OK, Double, Map, Set
from ..security import aclrules
from ..security.acl import DENIED_CMD, DENIED_KEY
from ..security.categories import CATEGORIES
from . import command, container
from .connection import help_reply
from ..errors import c_text as _text

_ADMIN = "admin noscript loading stale sentinel"
_PLAIN = "noscript loading stale sentinel"

container("acl", -2, "sentinel", group="server", since="6.0.0",
          summary="A container for Access List Control commands ")




@command("acl|setuser", -3, _ADMIN, group="server", since="6.0.0",
         summary="Modify or create the rules for a specific ACL user")
def acl_setuser(client, args: List[bytes]):
    name = args[2]
    if aclrules._has_spaces(name):
        raise CommandError(errors.ACL_USERNAME_SPACES)
    error = client.state.acl.set_user(name, list(args[3:]))
    if error is not None:
        raise CommandError(error)
    return OK


@command("acl|deluser", -3, _ADMIN, group="server", since="6.0.0",
         summary="Remove the specified ACL users and the associated rules")
def acl_deluser(client, args: List[bytes]):
    if b"default" in args[2:]:
        raise CommandError(errors.ACL_DELETE_DEFAULT)
    return client.state.acl.delete_users(args[2:])


def _selector_fields(selector) -> list:
    return [(b"commands", aclrules.describe_commands(selector)),
            (b"keys", aclrules.describe_keys(selector)),
            (b"channels", aclrules.describe_channels(selector))]


@command("acl|getuser", 3, _ADMIN, group="server", since="6.0.0",
         summary="Get the rules for a specific ACL user")
def acl_getuser(client, args: List[bytes]):
    user = client.state.acl.get(args[2])
    if user is None:
        return None
    return Map([(b"flags", Set(user.flag_names())),
                (b"passwords", list(user.passwords))]
               + _selector_fields(user.root)
               + [(b"selectors", [Map(_selector_fields(s)) for s in user.selectors[1:]])])


@command("acl|users", 2, _ADMIN, group="server", since="6.0.0",
         summary="List the username of all the configured ACL rules")
def acl_users(client, args: List[bytes]):
    return [user.name for user in client.state.acl.sorted_users()]


@command("acl|list", 2, _ADMIN, group="server", since="6.0.0",
         summary="List the current ACL rules in ACL config file format")
def acl_list(client, args: List[bytes]):
    return [b"user " + user.name + b" " + user.describe()
            for user in client.state.acl.sorted_users()]


@command("acl|whoami", 2, _PLAIN, group="server", since="6.0.0",
         summary="Return the name of the user associated to the current connection")
def acl_whoami(client, args: List[bytes]):
    return client.user.name


@command("acl|cat", -2, _PLAIN, group="server", since="6.0.0",
         summary="List the ACL categories or the commands inside a category")
def acl_cat(client, args: List[bytes]):
    if len(args) > 3:
        raise CommandError(errors.subcommand_syntax_error(args))
    if len(args) == 2:
        return [name.encode() for name in CATEGORIES]
    category = _text(args[2]).lower()
    if category not in CATEGORIES:
        raise CommandError(errors.ACL_UNKNOWN_CATEGORY.format(errors.c_text(args[2][:128])))
    return [cmd.fullname.encode() for cmd in aclrules.universe().members[category]]


@command("acl|genpass", -2, _PLAIN, group="server", since="6.0.0",
         summary="Generate a pseudorandom secure password to use for ACL users")
def acl_genpass(client, args: List[bytes]):
    if len(args) > 3:
        raise CommandError(errors.subcommand_syntax_error(args))
    bits = 256
    if len(args) == 3:
        bits = to_int(args[2])
        if bits is None:
            raise CommandError(errors.NOT_INTEGER)
    if bits <= 0 or bits > 4096:
        raise CommandError(errors.ACL_GENPASS_BITS)
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log", -2, _ADMIN, group="server", since="6.0.0",
         summary="List latest events denied because of ACLs in place")
def acl_log(client, args: List[bytes]):
    acl = client.state.acl
    if len(args) > 3:
        raise CommandError(errors.subcommand_syntax_error(args))
    count = 10
    if len(args) == 3:
        if args[2].lower() == b"reset":
            acl.log.clear()
            return OK
        count = to_int(args[2])
        if count is None:
            raise CommandError(errors.NOT_INTEGER)
        count = max(count, 0)
    now = int(time.time() * 1000)
    from ..security.acl import _REASON_NAMES
    return [Map([(b"count", entry.count),
                 (b"reason", _REASON_NAMES[entry.reason].encode()),
                 (b"context", entry.context.encode()),
                 (b"object", entry.object),
                 (b"username", entry.username),
                 (b"age-seconds", Double((now - entry.ctime) / 1000)),
                 (b"client-info", entry.cinfo.encode("utf-8", "surrogateescape"))])
            for entry in acl.log[:count]]


@command("acl|dryrun", -4, _ADMIN, group="server", since="7.0.0",
         summary="Returns whether the user can execute the given command without executing "
                 "the command.")
def acl_dryrun(client, args: List[bytes]):
    user = client.state.acl.get(args[2])
    if user is None:
        raise CommandError(errors.ACL_DRYRUN_NO_USER.format(errors.c_text(args[2])))
    argv = list(args[3:])
    try:
        cmd = client.state.names.resolve(argv)
    except CommandError as exc:
        if "wrong number of arguments" in exc.message:
            raise
        raise CommandError(errors.ACL_DRYRUN_NO_COMMAND.format(errors.c_text(args[3]))) \
            from None
    reason, pos = user.check(cmd, argv)
    if not reason:
        return OK
    if reason == DENIED_CMD:
        return errors.ACL_DRYRUN_COMMAND.format(cmd.fullname).encode()
    if reason == DENIED_KEY:
        return errors.ACL_DRYRUN_KEY.format(_text(argv[pos])).encode("utf-8", "surrogateescape")
    return errors.ACL_DRYRUN_CHANNEL.format(_text(argv[pos])).encode("utf-8", "surrogateescape")


@command("acl|save", 2, _ADMIN, group="server", since="6.0.0",
         summary="Save the current ACL rules in the configured ACL file")
def acl_save(client, args: List[bytes]):
    acl = client.state.acl
    if not client.state.config["aclfile"]:
        raise CommandError(errors.ACL_NO_FILE)
    if not acl.save_file():
        raise CommandError(errors.ACL_SAVE_FAILED)
    return OK


@command("acl|load", 2, _ADMIN, group="server", since="6.0.0",
         summary="Reload the ACLs from the configured ACL file")
def acl_load(client, args: List[bytes]):
    acl = client.state.acl
    if not client.state.config["aclfile"]:
        raise CommandError(errors.ACL_NO_FILE)
    error = acl.load_file(acl.file_path(), client.state.config["aclfile"])
    if error is not None:
        raise CommandError(error)
    return OK


@command("acl|help", 2, "loading stale sentinel", group="server", since="6.0.0",
         summary="Show helpful text about the different subcommands")
def acl_help(client, args: List[bytes]):
    return help_reply(args, [
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    ])
