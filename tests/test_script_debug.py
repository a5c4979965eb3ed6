"""SCRIPT DEBUG and the Lua debugger: the same sessions against redis-server and
miniredis, compared byte for byte (the debugger's arrays of status lines, the final
``<endsession>``, the EVAL's reply, the connection closing), in SYNC and YES (forked)
mode, hostile input included, and redis-cli's --ldb front end on both."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Dict, List, Sequence, Tuple

import pytest

from tests.aofutil import MiniProcess
from tests.harness import (RawConnection, RedisProcess, child_pids, encode_command,
                           redis_server_or_skip)

ENDED = b"<endsession>"


@pytest.fixture(scope="module")
def ports():
    """A real redis-server and a miniredis process of their own: a SYNC session
    holds the whole server, a YES session forks it."""
    real = RedisProcess(redis_server_or_skip())
    work = tempfile.mkdtemp(prefix="mini-ldb-")
    mini = MiniProcess(work, "--save", "", "--enable-debug-command", "yes")
    try:
        yield {"redis": real.port, "miniredis": mini.port, "mini_pid": mini.proc.pid}
    finally:
        mini.stop()
        real.stop()
        shutil.rmtree(work, ignore_errors=True)


def _read_all(conn: RawConnection, wait: float = 2.0) -> bytes:
    """Everything the server still sends until it closes the connection."""
    conn.sock.settimeout(wait)
    data = conn.buf
    conn.buf = b""
    try:
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                return data + b"<closed>"
            data += chunk
    except socket.timeout:
        return data + b"<open>"
    except ConnectionResetError:
        return data + b"<closed>"


def session(port: int, script: str, commands: Sequence[Any], mode: str = "sync",
            args: Sequence[str] = ("0",), setup: Sequence[Sequence[str]] = ()) -> List[bytes]:
    """SCRIPT DEBUG <mode>, EVAL script, then each debugger command (a tuple of
    arguments, or raw bytes); the raw replies, then once the session has ended the
    EVAL's reply and whether the connection closed."""
    admin = RawConnection(port)
    admin.call("FLUSHALL")
    for command in setup:
        admin.call(*command)
    admin.close()
    conn = RawConnection(port)
    seen = [conn.call("SCRIPT", "DEBUG", mode), conn.call("EVAL", script, *args)]
    try:
        for command in commands:
            if ENDED in seen[-1]:
                break
            if isinstance(command, bytes):
                conn.send_raw(command)
            else:
                conn.send(*command)
            seen.append(conn.read_raw())
        if ENDED in seen[-1]:
            seen.append(_read_all(conn))
        return seen
    finally:
        conn.close()


def same(ports: Dict[str, int], *a: Any, **kw: Any) -> List[bytes]:
    want = session(ports["redis"], *a, **kw)
    got = session(ports["miniredis"], *a, **kw)
    assert got == want
    return want


STEPS = """local a = 1
local b = {1, 2, 'x'}
redis.call('set', KEYS[1], ARGV[1])
local t = {x = 1}
redis.debug('hi', a, b, t)
redis.breakpoint()
local c = redis.call('get', KEYS[1])
return {c, a, {ok = 'fine'}}
"""


def test_step_print_list_help(ports):
    seen = same(ports, STEPS, [
        ("help",), ("s",), ("n",), ("step",), ("p",), ("p", "b"), ("print", "KEYS"),
        ("p", "ARGV"), ("p", "zz"), ("p", "a", "b"), ("l",), ("l", "3", "1"), ("l", "0"),
        ("l", "-5"), ("l", "1", "-1"), ("l", "x"), ("list", "2", "0"), ("w",), ("whole",),
        ("t",), ("c",), ("c",)], args=("1", "key", "value"))
    assert seen[-1] == b'*3\r\n$5\r\nvalue\r\n:1\r\n+fine\r\n<closed>'


def test_breakpoints(ports):
    script = "\n".join("local v%d = %d" % (i, i) for i in range(1, 9)) + "\nreturn v8"
    same(ports, script, [
        ("b",), ("b", "3", "5", "7", "x", "99", "3"), ("b",), ("b", "-3"), ("b",),
        ("b", "-8"), ("b", "+2"), ("b", " 2"), ("b", "01"), ("b", "-0"), ("b", "2x"),
        ("b", "4294967298"), ("b", "-4294967298"), ("c",), ("p",), ("c",), ("break", "0"),
        ("b",), ("b", "8"), ("continue",), ("c",)])


def test_values_shown(ports):
    script = """local t = {}
t[1] = t
local big = string.rep('x', 300)
local mixed = {1, nil, 3, name = 'n', [1.5] = true}
local s = 'a\\0b\\r\\n\\1\\255"\\\\'
redis.debug(big)
redis.debug()
redis.debug(nil, true, 1.5, -0, 1e20, 1/0, s, mixed, {})
return 1"""
    same(ports, script, [
        ("s",), ("s",), ("s",), ("s",), ("s",), ("p",), ("m", "70"), ("p", "big"),
        ("p", "t"), ("m",), ("m", "0"), ("p", "big"), ("m", "x"), ("m", "-5"),
        ("m", "1", "2"), ("maxlen", "99999999999999999999"), ("c",)])


def test_eval_command(ports):
    same(ports, "local a = 5\nreturn a", [
        ("s",), ("e", "a"), ("e", "1", "+", "2"), ("e", "KEYS[1]"), ("e", "{1,nil,3}"),
        ("e", "{[1.5]=true, 'a'}"), ("e", "local q = 1"), ("e",), ("e", "x="),
        ("e", "error('x')"), ("e", "nosuch.field"), ("e", "return 1,2"),
        ("e", "redis.breakpoint()"), ("e", "redis.debug(1, 'two')"),
        ("e", "redis.call('set', 'k', 'v')"), ("e", "redis.error_reply('boom')"),
        ("eval", "'\\27Lua'"), ("c",)], args=("1", "k1"))


def test_redis_command_and_replies(ports):
    script = "local x = 1\nredis.setresp(3)\nlocal y = 2\nreturn redis.call('get', 's')"
    many = [str(i) for i in range(20)]
    same(ports, script, [
        ("r", "set", "s", "1"), ("r", "get", "s"), ("r", "get", "nokey"), ("r", "incr", "s"),
        ("r", "hgetall", "h"), ("r", "smembers", "set"), ("r", "lpush", "h", "x"),
        ("r", "nosuch"), ("r", "eval", "return 1", "0"), ("r", "set", "x", *many),
        ("r",), ("redis", "ping"), ("r", "set", "bin", "\x00\x01\xff"), ("r", "get", "bin"),
        ("r", "zrange", "z", "0", "-1", "withscores"), ("r", "xadd", "st", "1-1", "f", "v"),
        ("r", "xrange", "st", "-", "+"), ("r", "config", "get", "maxmemory"),
        ("s",), ("s",), ("r", "hgetall", "h"), ("r", "smembers", "set"),
        ("r", "zrange", "z", "0", "-1", "withscores"), ("r", "set", "q", "1", "get"),
        ("r", "exists", "h"), ("m", "60"), ("r", "lrange", "long", "0", "-1"),
        ("r", "lrange", "long", "0", "-1"), ("c",)],
        setup=[("hset", "h", "a", "1", "b", "2"), ("sadd", "set", "m"),
               ("zadd", "z", "1.5", "m"), ("rpush", "long", *(["element"] * 30))])


def test_redis_calls_logged_while_stepping(ports):
    script = """local n = redis.call('incr', 'cnt')
local ok = redis.pcall('lpush', 'cnt', 'x')
local e = redis.error_reply('custom')
local e2 = redis.error_reply()
local bad = pcall(redis.call, 'get', {})
local none = redis.pcall('nosuch')
redis.call('set', 'k', 'v')
return n"""
    same(ports, script, [("s",)] * 8 + [("c",)])
    # continue: nothing logged on the way
    same(ports, script, [("c",)])


def test_trace_and_functions(ports):
    script = """local function inner(a, b)
  local z = a + b
  return z
end
local r = inner(1, 2)
redis.debug('r', r)
return r
"""
    same(ports, script, [("b", "2"), ("c",), ("p",), ("t",), ("p", "a"), ("p", "r"),
                         ("s",), ("s",), ("trace",), ("s",), ("s",)])


def test_stepping_into_coroutines(ports):
    script = """local co = coroutine.create(function(a)
  local inner = a * 2
  coroutine.yield(inner)
  return inner + 1
end)
local ok, v = coroutine.resume(co, 5)
local w = coroutine.wrap(function() local q = redis.call('incr', 'n')
  return q end)
local ok2, v2 = coroutine.resume(co)
return {v, v2, w()}"""
    same(ports, script, [("s",)] * 5 + [("p",), ("t",), ("p", "a"), ("e", "1"),
                                        ("r", "get", "n"), ("s",), ("p", "v"), ("t",)]
         + [("s",)] * 10)


def test_abort_errors_and_early_failures(ports):
    same(ports, "redis.call('set', 'k', 'v')\nreturn 1", [("s",), ("a",)])
    same(ports, "local x = 1\nerror('boom')", [("c",)])
    same(ports, "redis.call('incr', 'n')\nreturn redis.call('nosuch')", [("s",), ("c",)])
    same(ports, "return 1", [], args=("x",))
    same(ports, "return 1", [], args=("1",))
    same(ports, "retur 1", [])
    same(ports, "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')", [("s",), ("c",)])


def test_unknown_commands_and_protocol(ports):
    # (Redis's own "Test scripting debug protocol parsing")
    same(ports, "return 'hello'", [
        ("zz",), ("hello\0world",), ("hello\0",), ("\0hello",), ("\0hello\0",),
        ("s\0junk",)])
    same(ports, "local a = 1\nlocal b = 2\nlocal c = 3\nreturn c", [
        b"*1\r\n$1\r\ns\r\n*1\r\n$1\r\ns\r\n",       # the rest of a read is dropped
        b"junk*1\r\n$1\r\ns\r\n", b"*2\r\n$1\r\nb\r\n$1\r\n3\r\n", ("c",), ("c",)])
    # "Test scripting debug lua stack overflow": a redis command of 100 arguments
    same(ports, "return 'hello'", [
        b"*101\r\n$5\r\nredis\r\n" + b"$4\r\ntest\r\n" * 100, ("c",)])
    for raw in (b"step\r\n", b"*1\r\n$0\r\n\r\n", b"*1025\r\n", b"*1\r\n$1025\r\n",
                b"*1\r\n$3\r\nxxxx\r\n", b"*0\r\n"):
        same(ports, "return 1", [raw])


def test_split_command_and_big_buffer(ports):
    def scenario(port: int) -> List[bytes]:
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", "SYNC"), conn.call("EVAL", "return 1", "0")]
        conn.send_raw(b"*1\r\n$1\r\n")
        time.sleep(0.1)
        conn.send_raw(b"s\r\n")
        out.append(_read_all(conn))
        conn.close()
        conn = RawConnection(port)
        conn.call("SCRIPT", "DEBUG", "SYNC")
        conn.call("EVAL", "return 1", "0")
        try:   # more than 1 MB without a complete command
            conn.send_raw(b"*1\r\n$1000\r\n" + b"x" * (1 << 20) + b"yyyyyyyyyy")
        except (BrokenPipeError, ConnectionResetError):
            pass
        out.append(_read_all(conn))
        conn.close()
        return out
    assert scenario(ports["miniredis"]) == scenario(ports["redis"])


def test_script_debug_command_errors(ports):
    def scenario(port: int) -> List[bytes]:
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", "maybe"), conn.call("SCRIPT", "DEBUG"),
               conn.call("SCRIPT", "DEBUG", "yes", "no"), conn.call("SCRIPT", "DEBUG", "no"),
               conn.call("EVAL", "return 1", "0"), conn.call("SCRIPT", "LOAD", "return 1"),
               conn.call("MULTI"), conn.call("SCRIPT", "DEBUG", "sync"), conn.call("EXEC"),
               conn.call("EVAL", "return redis.call('script', 'debug', 'no')", "0"),
               conn.call("SCRIPT", "DEBUG", "yes"),
               conn.call("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
               conn.call("EVALSHA", "abc", "0"),
               conn.call("EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
               conn.call("FCALL", "nosuch", "0"),
               conn.call("FUNCTION", "LOAD", "REPLACE",
                         "#!lua name=ldb\nredis.register_function('f', function() "
                         "return redis.breakpoint() end)"),
               conn.call("FCALL", "f", "0"), conn.call("SCRIPT", "DEBUG", "NO"),
               conn.call("EVAL", "return {redis.breakpoint(), redis.debug('x')}", "0")]
        # A reply still waiting in the same read: refused, as in a pipeline.
        conn.send_raw(encode_command(["PING"]) + encode_command(["SCRIPT", "DEBUG", "sync"]))
        out += [conn.read_raw(), conn.read_raw()]
        conn.send_raw(encode_command(["SCRIPT", "DEBUG", "sync"]) + encode_command(["PING"]))
        out += [conn.read_raw(), conn.read_raw()]
        out.append(conn.call("EVAL_RO", "return 1", "0"))
        out.append(conn.call("c"))
        out.append(_read_all(conn))
        conn.close()
        return out
    assert scenario(ports["miniredis"]) == scenario(ports["redis"])


def test_eval_inside_exec(ports):
    def scenario(port: int) -> List[bytes]:
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", "sync"), conn.call("MULTI"),
               conn.call("EVAL", "redis.call('set', 'x', '1')\nreturn 1", "0"),
               conn.call("EXEC"), conn.call("s"), conn.call("c")]
        out.append(_read_all(conn))
        conn.close()
        out.append(RawConnection(port).call("GET", "x"))
        return out
    assert scenario(ports["miniredis"]) == scenario(ports["redis"])



def _no_children(pid: int) -> bool:
    deadline = time.time() + 5
    while time.time() < deadline:
        if not child_pids(pid):
            return True
        time.sleep(0.05)
    return False


def test_yes_mode_forks_and_discards(ports):
    def scenario(port: int) -> List[bytes]:
        admin = RawConnection(port)
        admin.call("FLUSHALL")
        admin.call("SET", "counter", "10")
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", "YES"),
               conn.call("EVAL", "redis.call('incr', 'counter')\nredis.call('set', 'new', 1)"
                         "\nreturn redis.call('get', 'counter')", "0"),
               conn.call("s"), conn.call("s")]
        # The parent keeps serving while the child is stopped, and sees no change.
        out += [admin.call("GET", "counter"), admin.call("SET", "other", "1"),
                conn.call("r", "get", "other"), conn.call("c")]
        out.append(_read_all(conn))
        out += [admin.call("GET", "counter"), admin.call("EXISTS", "new")]
        conn.close()
        admin.close()
        return out
    assert scenario(ports["miniredis"]) == scenario(ports["redis"])
    assert _no_children(ports["mini_pid"])


def test_client_leaving_mid_session(ports):
    def scenario(port: int, mode: str) -> List[bytes]:
        admin = RawConnection(port)
        admin.call("FLUSHALL")
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", mode),
               conn.call("EVAL", "redis.call('set', 'left', '1')\nredis.breakpoint()\n"
                         "redis.call('set', 'left', '2')\nreturn 1", "0"),
               conn.call("c")]
        conn.close()
        time.sleep(0.2)
        out += [admin.call("GET", "left"), admin.call("PING")]
        admin.close()
        return out
    for mode in ("sync", "yes"):
        assert scenario(ports["miniredis"], mode) == scenario(ports["redis"], mode)
    assert _no_children(ports["mini_pid"])


def test_timeout_stops_an_endless_loop(ports):
    def scenario(port: int) -> List[bytes]:
        admin = RawConnection(port)
        admin.call("CONFIG", "SET", "busy-reply-threshold", "100")
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", "sync"),
               conn.call("EVAL", "local x = 0\nwhile true do x = x + 1 end", "0"),
               conn.call("c"), conn.call("a")]
        out.append(_read_all(conn))
        out.append(admin.call("CONFIG", "SET", "busy-reply-threshold", "5000"))
        conn.close()
        admin.close()
        return out
    assert scenario(ports["miniredis"]) == scenario(ports["redis"])


def test_client_leaving_an_endless_loop(ports):
    # The script is stopped at the next timeout: the server serves again.
    def scenario(port: int, mode: str) -> List[bytes]:
        admin = RawConnection(port)
        admin.call("CONFIG", "SET", "busy-reply-threshold", "100")
        conn = RawConnection(port)
        out = [conn.call("SCRIPT", "DEBUG", mode),
               conn.call("EVAL", "redis.call('set', 'loop', 'started')\n"
                         "while true do end", "0"), conn.call("c")]
        conn.close()
        out += [admin.call("PING"), admin.call("GET", "loop"),
                admin.call("CONFIG", "SET", "busy-reply-threshold", "5000")]
        admin.close()
        return out
    for mode in ("sync", "yes"):
        assert scenario(ports["miniredis"], mode) == scenario(ports["redis"], mode)
    assert _no_children(ports["mini_pid"])


def _cli(port: int, options: Sequence[str], script: str, keys_args: Sequence[str],
         commands: str) -> Tuple[int, bytes]:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli not found")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        done = subprocess.run([cli, "-p", str(port), *options, "--eval", handle.name,
                               *keys_args], input=commands.encode(), capture_output=True,
                              timeout=20)
    finally:
        os.unlink(handle.name)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("options", [["--ldb"], ["--ldb-sync-mode"]])
def test_redis_cli_ldb(ports, options):
    script = ("local a = redis.call('incr', KEYS[1])\nredis.debug(a)\n"
              "return {a, ARGV[1]}\n")
    commands = "s\np\nr get kk\nb 3\nlist\nc\n"
    outputs = []
    for name in ("redis", "miniredis"):
        RawConnection(ports[name]).call("FLUSHALL")
        outputs.append(_cli(ports[name], options, script, ["kk", ",", "arg1"], commands)
                       + (RawConnection(ports[name]).call("GET", "kk"),))
    assert outputs[1] == outputs[0]
    assert b"<redis> incr kk" in outputs[0][1]
