"""DUMP, RESTORE, RESTORE-ASKING and MIGRATE (Redis's cluster.c key transfer commands).

Payloads are built and read by :mod:`miniredis.persistence.dump`. MIGRATE talks to the
target with a plain blocking socket and the given timeout: like Redis, the whole
server waits for the transfer (Redis does MIGRATE synchronously too). Its connections
stay open for the next MIGRATE to the same target (:mod:`miniredis.migratecache`).
"""
from __future__ import annotations

import re
import socket
from typing import Any, List, Optional, Tuple

from .. import errors
from ..args import to_int
from ..errors import CommandError
from ..notify import notify
from ..persistence import dump as payloads
from ..persistence.validate import deep_sanitization, report_line
from ..persistence.effects import effect
from ..protocol import OK, Simple
from . import command


def _integer(value: bytes) -> int:
    number = to_int(value)
    if number is None:
        raise CommandError(errors.NOT_INTEGER)
    return number


@command("dump", 2, "readonly", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Return a serialized version of the value stored at the specified key.")
def dump(client, args: List[bytes]):
    value = client.db.get_read(args[1])
    if value is None:
        return None
    return payloads.create(value, client.state.config, client.state.packed_threshold)


def _restore(client, args: List[bytes]):
    key = args[1]
    replace = absttl = False
    idle = freq = -1
    j = 4
    while j < len(args):
        option = args[j].lower()
        more = len(args) - j - 1
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and more >= 1 and freq == -1:
            idle = _integer(args[j + 1])
            if idle < 0:
                raise CommandError(errors.INVALID_IDLETIME)
            j += 1
        elif option == b"freq" and more >= 1 and idle == -1:
            freq = _integer(args[j + 1])
            if not 0 <= freq <= 255:
                raise CommandError(errors.INVALID_FREQ)
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    db = client.db
    if not replace and db.get(key) is not None:
        raise CommandError(errors.BUSYKEY)
    ttl = _integer(args[2])
    if ttl < 0:
        raise CommandError(errors.INVALID_TTL)
    payload = args[3]
    if not payloads.verify(payload, not client.state.skip_checksum_validation):
        raise CommandError(errors.DUMP_PAYLOAD_WRONG)
    try:
        value = payloads.load(payload, client.state.config,
                              deep_sanitization(client.state.config, client),
                              client.state.stats)
    except payloads.PayloadError as exc:
        if exc.reason:      # rdbReportError, in a RESTORE's context: logged, not fatal
            client.state.log("verbose", report_line(exc.reason))
        raise CommandError(errors.BAD_DATA_FORMAT) from None
    deleted = db.delete_stored(key) if replace else False
    now = client.state.clock.ms()
    if ttl and not absttl:
        ttl += now
        if ttl >= 2 ** 63:         # C's signed overflow: a negative time, so expired
            ttl -= 2 ** 64
    if ttl and db.deadline_passed(ttl, now):
        if deleted:
            client.state.dirty += 1
            notify(db, "g", b"del", key)
        return OK
    client.state.dirty += 1
    db.set(key, value)
    if ttl:
        db.set_expire(key, ttl)
    db.set_usage(key, idle, freq)
    notify(db, "g", b"restore", key)
    return OK


@command("restore", -4, "write denyoom", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Create a key using the provided serialized value, previously obtained "
         "using DUMP.")
def restore(client, args: List[bytes]):
    return _restore(client, args)


@command("restore-asking", -4, "write denyoom asking", keys=(1, 1, 1), group="server",
         since="3.0.0", summary="An internal command for migrating keys in a cluster")
def restore_asking(client, args: List[bytes]):
    return _restore(client, args)


@effect("restore", "restore-asking")
def _restore_effect(client, args: List[bytes], reply: Any) -> List[List[Any]]:
    # Redis propagates RESTORE with its TTL made absolute (ABSTTL appended), or a DEL
    # when REPLACE removed a key and the restored one was already expired.
    db = client.db
    key = args[1]
    if key not in db.data:
        return [[b"DEL", key]] if any(a.lower() == b"replace" for a in args[4:]) else []
    when = db.expires.get(key) if db.expires else None
    if when is None or any(a.lower() == b"absttl" for a in args[4:]):
        return [args]
    return [[args[0], key, b"%d" % when] + list(args[3:]) + [b"ABSTTL"]]


# -- MIGRATE ------------------------------------------------------------------------------
def _migrate_key_positions(args: List[bytes]) -> List[int]:
    """MIGRATE's keys: the key argument, or everything after KEYS (getKeysFromCommand
    skips AUTH/AUTH2 values)."""
    j = 6
    while j < len(args):
        word = args[j].lower()
        if word == b"auth":
            j += 2
            continue
        if word == b"auth2":
            j += 3
            continue
        if word == b"keys":
            # With a key argument too, MIGRATE will answer a syntax error: no keys.
            return list(range(j + 1, len(args))) if args[3] == b"" else []
        j += 1
    return [3]


def _atoi(text: bytes) -> int:
    """C's atoi, as Redis reads MIGRATE's port ("notaport" is port 0)."""
    match = re.match(rb"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def _bulk(argv: List[bytes]) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def _parse_migrate(args: List[bytes]) -> Tuple[bool, bool, Optional[bytes],
                                               Optional[bytes], List[bytes]]:
    copy = replace = False
    username = password = None
    keys = [args[3]]
    j = 6
    while j < len(args):
        word = args[j].lower()
        more = len(args) - 1 - j
        if word == b"copy":
            copy = True
        elif word == b"replace":
            replace = True
        elif word == b"auth":
            if not more:
                raise CommandError(errors.SYNTAX)
            j += 1
            password = args[j]
        elif word == b"auth2":
            if more < 2:
                raise CommandError(errors.SYNTAX)
            username, password = args[j + 1], args[j + 2]
            j += 2
        elif word == b"keys":
            if args[3] != b"":
                raise CommandError(errors.MIGRATE_KEYS_NEED_EMPTY_KEY)
            keys = list(args[j + 1:])
            break
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return copy, replace, username, password, keys


@command("migrate", -6, "write", keys=(3, 3, 1), group="generic", since="2.6.0",
         summary="Atomically transfer a key from a Redis instance to another one.",
         key_finder=_migrate_key_positions)
def migrate(client, args: List[bytes]):
    copy, replace, username, password, names = _parse_migrate(args)
    timeout = _integer(args[5])
    dbid = _integer(args[4])
    if timeout <= 0:
        timeout = 1000
    db = client.db
    found = [(key, value) for key, value in ((k, db.get_read(k)) for k in names)
             if value is not None]
    if not found:
        return Simple("NOKEY")
    cache = client.state.migrate_sockets
    name = args[1] + b":" + args[2]
    may_retry = True
    while True:
        cached = cache.get(name)
        if cached is None:
            try:
                sock = socket.create_connection(
                    (args[1].decode("utf-8", "replace"), _atoi(args[2])),
                    timeout=timeout / 1000)
            except ConnectionRefusedError:
                # Redis's non-blocking connect sees a refusal as "writable": the
                # failure shows when the commands are written (and is retried once).
                if may_retry:
                    may_retry = False
                    continue
                raise CommandError(errors.MIGRATE_IO.format("writing")) from None
            except (OSError, ValueError, OverflowError):
                raise CommandError(errors.MIGRATE_CONNECT) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            cached = cache.add(name, sock)
        cached.sock.settimeout(timeout / 1000)
        failure = _transfer(client, cached, found, dbid, copy, replace, username,
                            password, may_retry)
        if cached.broken:
            cache.close(name)
        if failure is None:
            return OK
        if failure == _RETRY:
            cache.close(name)
            may_retry = False
            continue
        if failure in (_WRITING, _READING):
            cache.close(name)
            raise CommandError(errors.MIGRATE_IO.format(failure))
        raise CommandError(errors.MIGRATE_TARGET.format(failure))


# What _transfer reports when it did not succeed (else: the target's error text).
_RETRY, _WRITING, _READING = "retry", "writing", "reading"


def _transfer(client, cached: Any, found: List[Tuple[bytes, Any]], dbid: int,
              copy: bool, replace: bool, username: Optional[bytes],
              password: Optional[bytes], may_retry: bool) -> Optional[str]:
    """Send AUTH, SELECT (unless the connection's last MIGRATE selected ``dbid``) and
    one RESTORE per key; delete what the target accepted. Returns None on success,
    else _RETRY (a socket error before anything was processed, not a timeout: Redis
    reconnects once), _WRITING/_READING (the IOERR to answer) or the target's error."""
    state = client.state
    db = client.db
    sock = cached.sock
    requests: List[bytes] = []
    if password is not None:
        requests.append(_bulk([b"AUTH", username, password] if username is not None
                              else [b"AUTH", password]))
    select = cached.last_dbid != dbid
    if select:
        requests.append(_bulk([b"SELECT", b"%d" % dbid]))
    sent: List[bytes] = []
    now = state.clock.ms()
    for key, value in found:
        ttl = 0
        when = db.get_expire(key)
        if when is not None and when >= 0:
            ttl = when - now
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        argv = [b"RESTORE", key, b"%d" % ttl, payloads.create(value, state.config,
                                                                    state.packed_threshold)]
        if replace:
            argv.append(b"REPLACE")
        requests.append(_bulk(argv))
        sent.append(key)
    reader = cached.reader
    try:
        sock.sendall(b"".join(requests))
    except OSError as exc:
        return _RETRY if may_retry and not isinstance(exc, TimeoutError) else _WRITING
    try:
        auth_reply = reader.line() if password is not None else b"+OK"
        select_reply = reader.line() if select else b"+OK"
    except OSError as exc:
        return _RETRY if may_retry and not isinstance(exc, TimeoutError) else _READING
    moved: List[bytes] = []
    error: Optional[bytes] = None
    for done, key in enumerate(sent):
        try:
            reply = reader.line()
        except OSError as exc:
            if error is None:
                if done == 0 and may_retry and not isinstance(exc, TimeoutError):
                    return _RETRY
                _log_partial(client, moved)
                return _READING
            cached.broken = True        # the target's error is the answer; then closed
            break
        if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or reply[:1] == b"-":
            if error is None:
                cached.last_dbid = -1       # (forces a SELECT next time)
                error = (auth_reply if auth_reply[:1] == b"-" else select_reply
                         if select_reply[:1] == b"-" else reply)
        elif not copy:
            db.delete(key)
            notify(db, "g", b"del", key)
            moved.append(key)
    if error is not None:
        _log_partial(client, moved)
        return error[1:].decode("utf-8", "replace")
    cached.last_dbid = dbid
    state.dirty += len(moved)
    client.migrated = moved          # for _migrate_effect, which runs right after
    return None


def _log_partial(client, moved: List[bytes]) -> None:
    """Keys deleted before an error: Redis still propagates their DEL."""
    state = client.state
    if moved:
        state.dirty += len(moved)
        if state.propagator is not None:
            state.propagator.propagate(client.db.id, [b"DEL"] + moved)


@effect("migrate")
def _migrate_effect(client, args: List[bytes], reply: Any) -> List[List[Any]]:
    # Redis rewrites a MIGRATE as DEL of the keys it moved (nothing for COPY).
    moved = getattr(client, "migrated", None) or []
    client.migrated = None
    return [[b"DEL"] + moved] if moved else []
