"""Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO, CLIENT."""
from __future__ import annotations

from typing import Any, List, Optional

from .. import errors
from ..args import parse_int, to_int
from ..errors import CommandError
from ..protocol import OK, PONG, Map, Raw, Set, Simple, Verbatim
from ..querybuf import argv_memory, client_memory
from ..security.clientevict import no_evict_changed
from . import command, container, identical_run_end, lookup

REDIS_VERSION = "7.0.15"


@command("ping", -1, "fast sentinel", group="connection", since="1.0.0",
         summary="Ping the server")
def ping(client, args: List[bytes]):
    if len(args) > 2:
        raise CommandError(errors.WRONG_ARITY.format("ping"))
    if client.subscribed and client.resp == 2:
        # A RESP2 subscriber's replies are all arrays, so is its PONG.
        return [b"pong", args[1] if len(args) == 2 else b""]
    if len(args) == 2:
        return args[1]
    return PONG


def _ping_run(client, requests: List[List[bytes]], done: int, count: int, name: bytes,
              append: Any) -> int:
    # Bare PINGs in a row (miniredis/runs.py): +PONG each, without a call.
    if client.subscribed and client.resp == 2:
        return done
    while count - done > 1:
        # Windows of identical bare PINGs (PING_MBULK's -P 16): +PONG repeated. (Each
        # window's name is checked: the one after the first may be another command.)
        first = requests[done]
        if len(first) != 1 or first[0] != name:
            break
        end = identical_run_end(requests, done, count)
        if end == done:
            break
        append(b"+PONG\r\n" * (end - done))
        done = end
    for request in requests[done:count]:
        try:
            command, = request   # (cheapest arity test)
        except ValueError:
            break
        if command != name:
            break
        append(b"+PONG\r\n")
        done += 1
    return done


lookup(b"ping").run = _ping_run


@command("echo", 2, "loading stale fast", group="connection", since="1.0.0",
         summary="Echo the given string")
def echo(client, args: List[bytes]):
    return args[1]


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0", summary="Close the connection")
def quit_(client, args: List[bytes]):
    client.closing = True
    return OK


@command("select", 2, "loading stale fast", group="connection", since="1.0.0",
         summary="Change the selected database for the current connection")
def select(client, args: List[bytes]):
    index = parse_int(args[1])
    dbs = client.state.dbs
    if not 0 <= index < len(dbs):
        raise CommandError(errors.DB_INDEX_OUT_OF_RANGE)
    client.db = dbs[index]
    return OK


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="1.0.0", summary="Authenticate to the server")
def auth(client, args: List[bytes]):
    if len(args) > 3:
        raise CommandError(errors.SYNTAX)
    acl = client.state.acl
    if len(args) == 2:
        if acl.default.nopass:
            raise CommandError(errors.AUTH_NOT_CONFIGURED)
        username, password = b"default", args[1]
    else:
        username, password = args[1], args[2]
    if not acl.authenticate(client, username, password, args[0]):
        raise CommandError(errors.WRONGPASS)
    return OK


def valid_client_name(name: bytes) -> bool:
    """Client names may hold only characters from '!' to '~' (no spaces)."""
    return all(33 <= ch <= 126 for ch in name)


@command("hello", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="6.0.0", summary="Handshake with Redis")
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
    while i < len(args):
        # Options take effect in order, as in Redis: a SETNAME before a failing AUTH stays.
        option = args[i].lower()
        more = len(args) - i - 1
        if option == b"auth" and more >= 2:
            if not client.state.acl.authenticate(client, args[i + 1], args[i + 2], args[0]):
                raise CommandError(errors.WRONGPASS)
            i += 3
        elif option == b"setname" and more >= 1:
            name = args[i + 1]
            if not valid_client_name(name):
                raise CommandError(errors.CLIENT_NAME_SPACES)
            client.name = name.decode("utf-8", "surrogateescape") or None
            i += 2
        else:
            # (Redis formats the option as a C string: up to its first NUL)
            raise CommandError("ERR Syntax error in HELLO option '%s'" % args[i].split(
                b"\0", 1)[0].decode("utf-8", "surrogateescape"))
    if not client.authenticated:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise "
            "the HELLO AUTH <user> <pass> option can be used to authenticate the "
            "client and select the RESP protocol version at the same time")
    client.set_protocol(version)
    return Map([
        ("server", "redis"),
        ("version", REDIS_VERSION),
        ("proto", version),
        ("id", client.id),
        ("mode", "standalone"),
        ("role", client.state.repl.role),
        ("modules", []),
    ])


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
         since="6.2.0", summary="Reset the connection")
def reset(client, args: List[bytes]):
    state = client.state
    for hook in state.on_client_reset:
        hook(client)
    client.db = state.dbs[0]
    client.set_protocol(2)
    client.reply_mode = "on"
    client.name = None      # (CLIENT NO-EVICT stays on: 7.0's clearClientConnectionState)
    # Back to the default user, authenticated only if it needs no password.
    client.set_authenticated(state.acl.open, state.acl.default)
    return Simple("RESET")


def help_reply(args: List[bytes], lines: List[str]) -> List[Simple]:
    """A container's HELP reply as Redis's addReplyHelp builds it (status lines)."""
    name = args[0].decode("utf-8", "replace").upper()
    return [Simple(line) for line in
            ["%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" % name]
            + lines + ["HELP", "    Prints this help."]]


# -- CLIENT ----------------------------------------------------------------------------
container("client", -2, group="connection", since="2.4.0",
          summary="A container for client connection commands")

# Redis 7.0's text plus the SETINFO entry of Redis 7.2 (redis-py sends CLIENT SETINFO
# on connect).
_CLIENT_HELP = [
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
]


@command("client|help", 2, "loading stale", group="connection", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def client_help(client, args: List[bytes]):
    return help_reply(args, _CLIENT_HELP)


# -- client-side caching (the tables live in miniredis/tracking.py) ---------------------
@command("client|tracking", -3, "noscript loading stale", group="connection",
         since="6.0.0", summary="Enable or disable server assisted client side caching support")
def client_tracking(client, args: List[bytes]):
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: List[bytes] = []
    state = client.state
    i = 3
    while i < len(args):
        option = args[i].lower()
        more = i < len(args) - 1
        if option == b"redirect" and more:
            i += 1
            if redirect != 0:
                raise CommandError(errors.TRACKING_ONE_REDIRECT)
            redirect = parse_int(args[i])
            # The target must exist now, even though it may disconnect later.
            if redirect not in state.clients:
                raise CommandError(errors.TRACKING_NO_REDIRECT_CLIENT)
        elif option == b"bcast":
            bcast = True
        elif option == b"optin":
            optin = True
        elif option == b"optout":
            optout = True
        elif option == b"noloop":
            noloop = True
        elif option == b"prefix" and more:
            i += 1
            prefixes.append(args[i])
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    switch = args[2].lower()
    if switch == b"off":
        state.tracking.disable(client)
        return OK
    if switch != b"on":
        raise CommandError(errors.SYNTAX)
    mode = client.tracking
    if prefixes and not bcast:
        raise CommandError(errors.TRACKING_PREFIX_NEEDS_BCAST)
    if mode is not None and mode.bcast != bcast:
        raise CommandError(errors.TRACKING_SWITCH_BCAST)
    if bcast and (optin or optout):
        raise CommandError(errors.TRACKING_BCAST_OPTIN)
    if optin and optout:
        raise CommandError(errors.TRACKING_OPTIN_OPTOUT)
    if mode is not None and ((optin and mode.optout) or (optout and mode.optin)):
        raise CommandError(errors.TRACKING_SWITCH_OPTIN)
    conflict, proceed = None, True
    if bcast:
        conflict, proceed = state.tracking.prefix_conflict(client, prefixes)
        if not proceed:
            raise CommandError(conflict)
    state.tracking.enable(client, redirect, bcast, optin, optout, noloop, prefixes)
    if conflict is not None:     # Redis 7.0 answers both (see prefix_conflict)
        client.count_error(conflict)
        return Raw(b"-%s\r\n+OK\r\n" % conflict.encode("utf-8", "surrogateescape"))
    return OK


@command("client|caching", 3, "noscript loading stale", group="connection",
         since="6.0.0", summary="Instruct the server about tracking or not keys in the next request")
def client_caching(client, args: List[bytes]):
    mode = client.tracking
    if mode is None:
        raise CommandError(errors.CLIENT_CACHING_NO_TRACKING)
    answer = args[2].lower()
    if answer == b"yes":
        if not mode.optin:
            raise CommandError(errors.CLIENT_CACHING_YES_OPTIN)
    elif answer == b"no":
        if not mode.optout:
            raise CommandError(errors.CLIENT_CACHING_NO_OPTOUT)
    else:
        raise CommandError(errors.SYNTAX)
    mode.caching = True     # for the next command (or transaction) only
    return OK


@command("client|getredir", 2, "noscript loading stale", group="connection",
         since="6.0.0", summary="Get tracking notifications redirection client ID if any")
def client_getredir(client, args: List[bytes]):
    return -1 if client.tracking is None else client.tracking.redirect


@command("client|trackinginfo", 2, "noscript loading stale", group="connection",
         since="6.2.0", summary="Return information about server assisted client side caching for the current connection")
def client_trackinginfo(client, args: List[bytes]):
    mode = client.tracking
    if mode is None:
        return Map([(b"flags", Set([b"off"])), (b"redirect", -1), (b"prefixes", [])])
    return Map([(b"flags", Set([b"on"] + mode.flags())), (b"redirect", mode.redirect),
                (b"prefixes", sorted(mode.prefixes))])


def client_type(client) -> bytes:
    """Redis's getClientType, as CLIENT LIST/KILL TYPE name it: a replica (SYNC/PSYNC
    sent), this server's master link (``Client.kind`` "master", the replica side's),
    a subscriber, or normal."""
    if client.state.replicas.is_replica(client):
        return b"replica"
    if client.kind == "master":
        return b"master"
    return b"pubsub" if client.subscribed else b"normal"


_TYPE_NAMES = {b"normal": b"normal", b"master": b"master", b"replica": b"replica",
               b"slave": b"replica", b"pubsub": b"pubsub"}


def client_flags(client) -> str:
    """CLIENT LIST's flags=, in Redis's order (catClientInfoString)."""
    flags = "O" if client.id in client.state.monitors else ""
    if client.state.replicas.is_replica(client):
        flags += "S"
    if client.kind == "master":
        flags += "M"
    if client.subscribed:
        flags += "P"
    if client.multi is not None:
        flags += "x"
    if client.blocked is not None or client.id in client.state.pause.postponed:
        flags += "b"            # blocked, or held by CLIENT PAUSE
    mode = client.tracking
    if mode is not None:
        flags += "t" + ("R" if mode.broken else "") + ("B" if mode.bcast else "")
    if client.watch_dirty:
        flags += "d"            # a watched key changed: EXEC will fail
    if client.unix:
        flags += "U"
    if client.no_evict:
        flags += "e"
    return flags or "N"


def client_line(client, now: float, args: Optional[List[bytes]] = None) -> str:
    """One CLIENT LIST / CLIENT INFO line: Redis 7.0's fields, then 7.2's lib-name and
    lib-ver (this server accepts CLIENT SETINFO, which redis-py sends on connect).
    ``args``: the command running for this client (the one asking)."""
    pending = client.output_pending
    qbuf = client.input_pending
    argv = argv_memory(client, args)
    return (
        "id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
        "ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d "
        "obl=0 oll=0 omem=%d tot-mem=%d events=r cmd=%s user=%s redir=%d resp=%d "
        "lib-name=%s lib-ver=%s"
        % (client.id, client.addr, client.laddr, client.fd, client.name or "",
           # Whole seconds on both sides, as Redis's unixtime and lastinteraction.
           int(now) - int(client.created), int(now) - int(client.last_interaction),
           client_flags(client), client.db.id, len(client.subscriptions),
           len(client.psubscriptions), len(client.ssubscriptions),
           -1 if client.multi is None else len(client.multi),
           qbuf, max(client.qb_alloc - qbuf, 0), argv[0], client.multi_mem, client.rb_size,
           client.rb_peak,
           pending, client_memory(client, argv),
           client.last_command, client.user.name_text,
           -1 if client.tracking is None else client.tracking.redirect, client.resp,
           client.lib_name,
           client.lib_ver))


@command("client|id", 2, "noscript loading stale", group="connection", since="5.0.0",
         summary="Returns the client ID for the current connection")
def client_id(client, args: List[bytes]):
    return client.id


@command("client|getname", 2, "noscript loading stale", group="connection",
         since="2.6.9", summary="Get the current connection name")
def client_getname(client, args: List[bytes]):
    return client.name.encode("utf-8", "surrogateescape") if client.name else None


@command("client|setname", 3, "noscript loading stale", group="connection",
         since="2.6.9", summary="Set the current connection name")
def client_setname(client, args: List[bytes]):
    if not valid_client_name(args[2]):
        raise CommandError(errors.CLIENT_NAME_SPACES)
    client.name = args[2].decode("utf-8", "surrogateescape") or None
    return OK


@command("client|setinfo", 4, "noscript loading stale", group="connection",
         since="7.2.0", summary="Sets information specific to the client or connection.")
def client_setinfo(client, args: List[bytes]):
    attribute = args[2].lower()
    if attribute not in (b"lib-name", b"lib-ver"):
        raise CommandError(errors.CLIENT_SETINFO_ATTR.format(
            args[2].decode("utf-8", "replace")))
    value = args[3].decode("utf-8", "surrogateescape")
    if not valid_client_name(args[3]) and args[3]:
        raise CommandError(errors.CLIENT_SETINFO_VALUE.format(attribute.decode()))
    if attribute == b"lib-name":
        client.lib_name = value
    else:
        client.lib_ver = value
    return OK


@command("client|info", 2, "noscript loading stale", group="connection", since="6.2.0",
         summary="Returns information about the current client connection.")
def client_info(client, args: List[bytes]):
    import time
    client.last_command = "client|info"
    return Verbatim(client_line(client, time.time(), args) + "\n")


@command("client|list", -2, "admin noscript loading stale", group="connection",
         since="2.4.0", summary="Get the list of client connections")
def client_list(client, args: List[bytes]):
    import time
    clients = list(client.state.clients.values())
    if len(args) > 2:
        option = args[2].lower()
        if option == b"type" and len(args) == 4:
            kind = _TYPE_NAMES.get(args[3].lower())
            if kind is None:
                raise CommandError(errors.CLIENT_UNKNOWN_TYPE.format(errors.c_text(args[3])))
            clients = [c for c in clients if client_type(c) == kind]
        elif option == b"id" and len(args) > 3:
            wanted = []
            for text in args[3:]:
                number = to_int(text)
                if number is None:   # zero or negative ids are valid, and match nothing
                    raise CommandError(errors.CLIENT_INVALID_ID)
                wanted.append(number)
            by_id = client.state.clients
            clients = [by_id[i] for i in dict.fromkeys(wanted) if i in by_id]
        else:
            raise CommandError(errors.SYNTAX)
    now = time.time()
    client.last_command = "client|list"
    return Verbatim("".join(client_line(c, now, args if c is client else None) + "\n"
                            for c in clients))


@command("client|kill", -3, "admin noscript loading stale", group="connection",
         since="2.4.0", summary="Kill the connection of a client")
def client_kill(client, args: List[bytes]):
    clients = client.state.clients
    if len(args) == 3:  # the old form: CLIENT KILL addr:port
        address = args[2].decode("utf-8", "replace")
        for other in list(clients.values()):
            if other.addr == address:
                other.kill()
                return OK
        raise CommandError(errors.CLIENT_NO_SUCH)
    if len(args) % 2 != 0:
        raise CommandError(errors.SYNTAX)
    filters = []
    skip_me = True
    for i in range(2, len(args), 2):
        option, value = args[i].lower(), args[i + 1]
        text = value.decode("utf-8", "replace")
        if option == b"id":
            number = to_int(value)
            if number is None or number <= 0:
                raise CommandError(errors.CLIENT_ID_POSITIVE)
            filters.append(lambda c, n=number: c.id == n)
        elif option == b"addr":
            filters.append(lambda c, t=text: c.addr == t)
        elif option == b"laddr":
            filters.append(lambda c, t=text: c.laddr == t)
        elif option == b"type":
            kind = _TYPE_NAMES.get(value.lower())
            if kind is None:
                raise CommandError(errors.CLIENT_UNKNOWN_TYPE.format(errors.c_text(value)))
            filters.append(lambda c, k=kind: client_type(c) == k)
        elif option == b"user":
            user = client.state.acl.get(value)
            if user is None:
                raise CommandError(errors.NO_SUCH_USER.format(errors.c_text(value)))
            filters.append(lambda c, u=user: c.user is u)
        elif option == b"skipme":
            if value.lower() not in (b"yes", b"no"):
                raise CommandError(errors.SYNTAX)
            skip_me = value.lower() == b"yes"
        else:
            raise CommandError(errors.SYNTAX)
    killed = 0
    for other in list(clients.values()):
        if skip_me and other is client:
            continue
        if all(test(other) for test in filters):
            other.kill()
            killed += 1
    return killed


@command("client|reply", 3, "noscript loading stale", group="connection", since="3.2.0",
         summary="Instruct the server whether to reply to commands")
def client_reply(client, args: List[bytes]):
    mode = args[2].lower()
    if mode not in (b"on", b"off", b"skip"):
        raise CommandError(errors.SYNTAX)
    # OFF and SKIP are not acknowledged; SKIP applies to the next command.
    client.reply_mode = {b"on": "on", b"off": "off", b"skip": "skip_next"}[mode]
    client._update_gate()
    return OK


@command("client|no-evict", 3, "admin noscript loading stale", group="connection",
         since="7.0.0", summary="Set client eviction mode for the current connection")
def client_no_evict(client, args: List[bytes]):
    mode = args[2].lower()
    if mode not in (b"on", b"off"):
        raise CommandError(errors.SYNTAX)
    client.no_evict = mode == b"on"
    no_evict_changed(client)        # (it leaves or joins maxmemory-clients' buckets)
    return OK


@command("client|unblock", -3, "admin noscript loading stale", group="connection",
         since="5.0.0", summary="Unblock a client blocked in a blocking command from a different connection")
def client_unblock(client, args: List[bytes]):
    if len(args) > 4:   # (clientCommand's own arity: as an unknown subcommand)
        raise CommandError(errors.subcommand_syntax_error(args))
    as_error = False
    if len(args) == 4:  # (the reason is read before the ID)
        mode = args[3].lower()
        if mode not in (b"timeout", b"error"):
            raise CommandError(errors.CLIENT_UNBLOCK_MODE)
        as_error = mode == b"error"
    target_id = parse_int(args[2])
    target = client.state.clients.get(target_id)
    if target is None:
        return 0
    return 1 if client.state.blocking.unblock_by_request(target, as_error) else 0
