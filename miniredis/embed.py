"""Direct access to a running server's data and clock, for tests and applications.

:class:`miniredis.Server` inherits these methods. They need no client connection:
each one runs in the server's hub thread (through ``Server.call``), so it is atomic
with respect to every connected client, exactly like one command.

* ``execute(*args)`` runs any command through the command table and returns the
  reply as plain Python values (errors raise :class:`CommandFailed`).
* ``keys``, ``get``, ``ttl``, ``dump`` read the data as plain Python values, without
  touching keyspace statistics; ``set``, ``delete``, ``flushall`` write it.
* ``freeze_time``, ``advance_time``, ``unfreeze_time`` control the server's clock:
  advancing expires keys and times out blocked clients as if the time had passed.

Plain values: a string is ``bytes``, a list a ``list``, a hash a ``dict``, a set a
``set``, a sorted set a ``dict`` member -> score in rank order, a stream a ``list`` of
``(id, {field: value})`` pairs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

import hiredis

from .glob import compile_pattern

if TYPE_CHECKING:  # pragma: no cover
    from .state import ServerState

__all__ = ["CommandFailed", "DataAccess"]

Key = Union[str, bytes]


class CommandFailed(Exception):
    """``Server.execute`` got an error reply; ``str(exc)`` is Redis's error text."""


class _NoSocket:
    """Stands in for the socket of the embedding API's internal client, which never
    reads or writes: its replies are taken from its output buffer directly."""

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass


def _to_bytes(value: Any) -> bytes:
    """Encode an argument or element as redis-py does (str as UTF-8, numbers as text)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        raise TypeError("a bool is not a Redis value; use a string or an int")
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, float):
        return repr(value).encode()
    raise TypeError("cannot encode %r as a Redis value" % type(value).__name__)


def _plain(value: Any) -> Any:
    """A stored value as plain Python data (see the module docstring)."""
    # Dispatch on the Redis type name, not on classes, so value classes other modules
    # define (hash and set subclasses, sorted sets, streams) need no import here.
    from .datatypes.names import type_name
    kind = type_name(value)
    if kind == "string":
        return bytes(value)
    if kind == "list":
        return list(value)
    if kind == "hash":
        return dict(value.items())
    if kind == "set":
        return set(value)
    if kind == "zset":
        return {member: score for score, member in value.entries()}
    if kind == "stream":
        from .datatypes.stream import format_id
        return [(format_id(entry_id), dict(zip(fields[::2], fields[1::2])))
                for entry_id, fields in value.items()]
    raise TypeError("no plain form for a %s" % kind)


def _write_commands(key: bytes, value: Any, type: Optional[str]) -> List[List[bytes]]:
    """The commands that store ``value`` at ``key`` (after a DEL)."""
    if type is None:
        if isinstance(value, (list, tuple)):
            type = "list"
        elif isinstance(value, dict):
            type = "hash"
        elif isinstance(value, (set, frozenset)):
            type = "set"
        else:
            type = "string"
    if type == "string":
        return [[b"SET", key, _to_bytes(value)]]
    if not value:
        raise ValueError("Redis cannot store an empty %s" % type)
    if type == "list":
        return [[b"RPUSH", key] + [_to_bytes(item) for item in value]]
    if type == "set":
        return [[b"SADD", key] + [_to_bytes(item) for item in value]]
    if type == "hash":
        args = [b"HSET", key]
        for field, item in dict(value).items():
            args += [_to_bytes(field), _to_bytes(item)]
        return [args]
    if type == "zset":
        args = [b"ZADD", key]
        for member, score in dict(value).items():
            args += [_to_bytes(float(score)), _to_bytes(member)]
        return [args]
    raise ValueError("unsupported type %r (string, list, hash, set or zset)" % type)


def _decode_reply(raw: bytes) -> Any:
    """Parse the RESP2 reply bytes of one command into Python values."""
    reader = hiredis.Reader()
    reader.feed(raw)
    reply = reader.gets()
    if isinstance(reply, hiredis.ReplyError):
        raise CommandFailed(str(reply))
    return reply


class DataAccess:
    """The embedding API mixed into :class:`miniredis.Server` (see the module doc)."""

    state: "ServerState"
    call: Callable[..., Any]

    # -- commands ---------------------------------------------------------------------
    def execute(self, *args: Any, db: int = 0) -> Any:
        """Run one command as a client would and return its reply, decoded as
        RESP2 (bulk strings are ``bytes``). Blocking commands never block: they
        answer as if their timeout expired, as inside MULTI."""
        request = [_to_bytes(arg) for arg in args]
        return self.call(self._run_commands, [request], db)[0]

    def _run_commands(self, requests: List[List[bytes]], db: int) -> List[Any]:
        """In the hub: run ``requests`` on a private, socketless client."""
        from .connection import Client
        client = Client(self.state, _NoSocket(), "embedded:0", "embedded:0")
        client.db = self.state.dbs[db]
        client.no_blocking = True
        client.set_authenticated(True, self.state.acl.superuser)   # no ACL checks
        replies = []
        for request in requests:
            client.out = []
            client.run_requests([request])
            replies.append(_decode_reply(b"".join(client.out)))
        return replies

    # -- reading ----------------------------------------------------------------------
    def keys(self, pattern: Key = "*", db: int = 0) -> List[bytes]:
        """The live keys of database ``db`` matching the glob ``pattern``, sorted."""
        matches = compile_pattern(_to_bytes(pattern))

        def collect() -> List[bytes]:
            database = self.state.dbs[db]
            return sorted(key for key in list(database.data)
                          if matches(key) and database.peek(key) is not None)
        return self.call(collect)

    def get(self, key: Key, db: int = 0) -> Any:
        """The value at ``key`` as plain Python data, or None if there is none.

        Unlike GET, any type is returned and no statistics change."""
        name = _to_bytes(key)

        def read() -> Any:
            value = self.state.dbs[db].peek(name)
            return None if value is None else _plain(value)
        return self.call(read)

    def ttl(self, key: Key, db: int = 0) -> Optional[float]:
        """Seconds until ``key`` expires; None if it has no TTL or does not exist."""
        name = _to_bytes(key)

        def read() -> Optional[float]:
            database = self.state.dbs[db]
            if database.peek(name) is None or name not in database.expires:
                return None
            return (database.expires[name] - self.state.clock.ms()) / 1000.0
        return self.call(read)

    def dump(self, db: Optional[int] = None) -> Dict[Any, Any]:
        """The whole dataset as plain data: ``{key: value}`` for one database, or
        ``{index: {key: value}}`` over every non-empty database when ``db`` is None."""
        def read_db(index: int) -> Dict[bytes, Any]:
            database = self.state.dbs[index]
            result = {}
            for key in sorted(database.data):
                value = database.peek(key)
                if value is not None:
                    result[key] = _plain(value)
            return result

        def read_all() -> Dict[Any, Any]:
            if db is not None:
                return read_db(db)
            every = {index: read_db(index) for index in range(len(self.state.dbs))}
            return {index: data for index, data in every.items() if data}
        return self.call(read_all)

    # -- writing ----------------------------------------------------------------------
    def set(self, key: Key, value: Any, db: int = 0, ttl: Optional[float] = None,
            type: Optional[str] = None) -> None:
        """Store ``value`` at ``key``, replacing what was there.

        The Redis type follows the Python type (str/bytes/int/float: string;
        list/tuple: list; dict: hash; set: set) unless ``type`` says otherwise
        (``type="zset"`` takes a dict member -> score). ``ttl`` is in seconds. It runs
        as DEL + RPUSH/HSET/SADD/ZADD/SET (+ PEXPIRE) in one step, so encodings,
        WATCH, keyspace events and blocked clients behave as after those commands."""
        name = _to_bytes(key)
        requests = [[b"DEL", name]] + _write_commands(name, value, type)
        if ttl is not None:
            requests.append([b"PEXPIRE", name, b"%d" % max(1, round(ttl * 1000))])
        self.call(self._run_commands, requests, db)

    def delete(self, *keys: Key, db: int = 0) -> int:
        """Delete ``keys``; returns how many existed."""
        if not keys:
            return 0
        return self.execute("DEL", *keys, db=db)

    def flushall(self) -> None:
        """Empty every database."""
        self.execute("FLUSHALL")

    # -- time -------------------------------------------------------------------------
    def freeze_time(self, at: Optional[float] = None) -> None:
        """Stop the server's clock, at Unix time ``at`` seconds if given (else now)."""
        at_ms = None if at is None else int(round(at * 1000))
        self.call(self.state.clock.freeze, at_ms)

    def advance_time(self, seconds: float) -> None:
        """Move the clock forward: keys whose TTL passes expire and blocked clients
        whose timeout passes are answered, before this returns."""
        self.call(self.state.clock.advance, seconds)

    def unfreeze_time(self) -> None:
        """Let the clock run again from where it stands."""
        self.call(self.state.clock.unfreeze)
