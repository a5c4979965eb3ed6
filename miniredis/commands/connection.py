"""Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO."""
from __future__ import annotations

from typing import List

from .. import errors
from ..args import parse_int
from ..errors import CommandError
from ..protocol import OK, PONG, Map, Simple
from . import command

REDIS_VERSION = "7.0.15"


@command("ping", -1, "fast sentinel", group="connection", since="1.0.0",
         summary="Returns the server's liveliness response.")
def ping(client, args: List[bytes]):
    if len(args) > 2:
        raise CommandError(errors.WRONG_ARITY.format("ping"))
    if len(args) == 2:
        return args[1]
    return PONG


@command("echo", 2, "fast", group="connection", since="1.0.0",
         summary="Returns the given string.")
def echo(client, args: List[bytes]):
    return args[1]


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0", summary="Closes the connection.")
def quit_(client, args: List[bytes]):
    client.closing = True
    return OK


@command("select", 2, "loading stale fast", group="connection", since="1.0.0",
         summary="Changes the selected database.")
def select(client, args: List[bytes]):
    index = parse_int(args[1])
    dbs = client.state.dbs
    if not 0 <= index < len(dbs):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    client.db = dbs[index]
    return OK


def _check_password(client, username: bytes, password: bytes) -> None:
    """Authenticate ``client`` as the default user or raise WRONGPASS."""
    required = client.state.config["requirepass"]
    if username != b"default" or (required and password.decode("utf-8", "surrogateescape")
                                  != required):
        raise CommandError(errors.WRONGPASS)
    client.set_authenticated(True)


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0", summary="Authenticates the connection.")
def auth(client, args: List[bytes]):
    if len(args) > 3:
        raise CommandError(errors.SYNTAX)
    if len(args) == 2:
        if not client.state.config["requirepass"]:
            raise CommandError(errors.AUTH_NOT_CONFIGURED)
        _check_password(client, b"default", args[1])
    else:
        _check_password(client, args[1], args[2])
    return OK


def valid_client_name(name: bytes) -> bool:
    """Client names may hold only characters from '!' to '~' (no spaces)."""
    return all(33 <= ch <= 126 for ch in name)


@command("hello", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="6.0.0", summary="Handshakes with the Redis server.")
def hello(client, args: List[bytes]):
    version = client.resp
    i = 1
    if len(args) >= 2:
        try:
            version = parse_int(args[1])
        except CommandError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if version < 2 or version > 3:
            raise CommandError(errors.NOPROTO)
        i = 2
    name = None
    authenticated_now = False
    while i < len(args):
        option = args[i].lower()
        more = len(args) - i - 1
        if option == b"auth" and more >= 2:
            _check_password(client, args[i + 1], args[i + 2])
            authenticated_now = True
            i += 3
        elif option == b"setname" and more >= 1:
            name = args[i + 1]
            if not valid_client_name(name):
                raise CommandError(errors.CLIENT_NAME_SPACES)
            i += 2
        else:
            raise CommandError("ERR Syntax error in HELLO option '%s'"
                               % args[i].decode("utf-8", "surrogateescape"))
    if not client.authenticated and not authenticated_now:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise "
            "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
            "client and select the RESP protocol version at the same time")
    if name is not None:
        client.name = name.decode("utf-8", "surrogateescape") or None
    client.set_protocol(version)
    return Map([
        ("server", "redis"),
        ("version", REDIS_VERSION),
        ("proto", version),
        ("id", client.id),
        ("mode", "standalone"),
        ("role", "master"),
        ("modules", []),
    ])


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="6.2.0", summary="Resets the connection.")
def reset(client, args: List[bytes]):
    state = client.state
    for hook in state.on_client_reset:
        hook(client)
    client.db = state.dbs[0]
    client.set_protocol(2)
    client.reply_mode = "on"
    client.no_evict = False
    client.name = None
    client.set_authenticated(not state.config["requirepass"])
    return Simple("RESET")
