"""Lua scripting: EVAL & co. and SCRIPT, compared raw with a real redis-server."""
from __future__ import annotations

import re
import time
from typing import List

import pytest

from tests.harness import (RawConnection, RedisProcess, command_info_and_docs,
                           compare_scenario, connect, parse_raw, redis_server_or_skip,
                           wait_blocked)


def test_metadata(differ):
    for name in ("eval", "evalsha", "eval_ro", "evalsha_ro", "script|load", "script|exists",
                 "script|flush", "script|kill", "script|help"):
        real, mini = (_metadata(port, name) for port in differ.ports.values())
        assert mini == real, name
    differ.check("COMMAND GETKEYS eval x 2 a b c", "COMMAND GETKEYS evalsha_ro x 1 c d")


def _metadata(port: int, name: str):
    """COMMAND INFO's name, arity, flags and key range; COMMAND DOCS's summary, since and group."""
    info, fields = command_info_and_docs(port, name)
    return info[:6], fields


def test_numkeys_keys_argv(differ):
    differ.check(
        "EVAL 'return {KEYS, ARGV}' 0", "EVAL 'return KEYS' 2 a b c d",
        "EVAL 'return ARGV' 2 a b c d", "EVAL 'return {KEYS[1], ARGV[1]}' 1 k v",
        "EVAL 'return 1' 1", "EVAL 'return 1' -1", "EVAL 'return 1' x", "EVAL 'return 1' 01",
        "EVAL 'return 1' 9999999999999999999999 a", "EVAL 'return 1'", "EVAL",
        "EVAL_RO 'return 1' -1", "EVALSHA x -1", "EVALSHA x 5", "EVAL 'return #KEYS' 0 a b")
    # A few arguments reach Lua on its stack, more as tables first (lua._ARGS_IN_CALL):
    # both sides of the limit, keys and arguments, the last of each.
    script = "return {#KEYS, #ARGV, KEYS[#KEYS] or '-', ARGV[#ARGV] or '-', KEYS[0]}"
    differ.check(*(["EVAL", script, str(keys)] + ["k%d" % i for i in range(keys)]
                   + ["a%d" % i for i in range(argv)]
                   for keys, argv in ((0, 0), (0, 64), (64, 0), (30, 34), (30, 35),
                                      (0, 65), (65, 0), (1, 200), (200, 1))))


def test_lua_to_resp(differ):
    differ.check(
        "EVAL 'return 3.99' 0", "EVAL 'return -3.99' 0", "EVAL 'return true' 0",
        "EVAL 'return false' 0", "EVAL 'return nil' 0", "EVAL 'return' 0",
        "EVAL 'return {1,2,3,nil,4}' 0", "EVAL \"return {1,'a',true,false,3.99,-2.5}\" 0",
        "EVAL 'return {{1,{2}},{}}' 0", "EVAL 'return {a=1}' 0", "EVAL 'return {1,2,a=3}' 0",
        "EVAL 'return 1e20' 0", "EVAL 'return -1e20' 0", "EVAL 'return 0/0' 0",
        "EVAL 'return 1/0' 0", "EVAL \"return {ok='fine'}\" 0", "EVAL \"return {ok=''}\" 0",
        "EVAL \"return {err='My Error'}\" 0", "EVAL \"return {err='-bad'}\" 0",
        "EVAL \"return {err=''}\" 0", "EVAL \"return {err='x', ok='y'}\" 0",
        "EVAL 'return {ok={1}}' 0", "EVAL 'return {err={1}}' 0",
        "EVAL \"return {1, {err='x'}, {ok='y'}}\" 0", "EVAL \"return {ok='a\\r\\nb'}\" 0",
        "EVAL \"return {err='a\\nb'}\" 0", "EVAL \"return 'bulk'\" 0",
        "EVAL 'return {double=3.5}' 0", "EVAL 'return {double=0.1}' 0",
        "EVAL \"return {double='x'}\" 0", "EVAL 'return {map={a=1}}' 0",
        "EVAL 'return {map={a={1,2}}}' 0", "EVAL 'return {set={a=true}}' 0",
        "EVAL 'return {set={1}}' 0", "EVAL \"return {big_number='123'}\" 0",
        "EVAL \"return {big_number='12\\n3'}\" 0",
        "EVAL \"return {verbatim_string={format='txt', string='abc'}}\" 0",
        "EVAL 'redis.setresp(3); return true' 0", "EVAL 'redis.setresp(3); return false' 0",
        "EVAL 'redis.setresp(3); return nil' 0", "EVAL 'return cjson.null' 0")


def test_resp_to_lua(differ):
    differ.check(
        "SET s v", "RPUSH l a b", "SET n 10",
        "EVAL \"return redis.call('get', 's')\" 0", "EVAL \"return redis.call('incr', 'n')\" 0",
        "EVAL \"return type(redis.call('incr', 'n'))\" 0",
        "EVAL \"return redis.call('get', 'nokey')\" 0",
        "EVAL \"return type(redis.call('get', 'nokey'))\" 0",
        "EVAL \"return redis.call('lrange', 'l', 0, -1)\" 0",
        "EVAL \"return redis.call('ping')\" 0", "EVAL \"return redis.call('ping').ok\" 0",
        "EVAL \"return redis.call('set', 'a', 'b', 'get')\" 0",
        "EVAL \"return redis.pcall('lpush', 's', 'x')\" 0",
        "EVAL \"return redis.pcall('lpush', 's', 'x').err\" 0",
        "EVAL \"redis.setresp(3); return type(redis.call('get', 'nokey'))\" 0",
        "EVAL \"redis.setresp(3); return redis.call('get', 'nokey')\" 0",
        "EVAL \"return redis.call('lmpop', 1, 'nokey', 'left')\" 0",
        "EVAL \"return type(redis.call('lmpop', 1, 'nokey', 'left'))\" 0",
        "EVAL \"redis.setresp(3); return type(redis.call('lmpop', 1, 'nokey', 'left'))\" 0",
        "EVAL \"return redis.call('config', 'get', 'maxmemory')\" 0",
        "EVAL \"redis.setresp(3); local m = redis.call('config', 'get', 'maxmemory'); "
        "return m.map.maxmemory\" 0",
        "EVAL \"redis.setresp(3); return redis.call('config', 'get', 'maxmemory')\" 0",
        "EVAL \"return redis.call('incrbyfloat', 'f', '1.5')\" 0",
        "EVAL \"redis.call('set', 'k', 0.1); return redis.call('get', 'k')\" 0",
        "EVAL \"redis.call('set', 'k', 1/3); return redis.call('get', 'k')\" 0",
        "EVAL \"redis.call('set', 'k', 123456789012345); return redis.call('get', 'k')\" 0",
        "EVAL \"redis.call('set', 'k', 1e20); return redis.call('get', 'k')\" 0")


def test_redis_call_errors(differ):
    differ.check(
        "SET str x",
        "EVAL \"return redis.call('nosuch')\" 0", "EVAL \"return redis.call('get')\" 0",
        "EVAL \"return redis.call('set','a')\" 0", "EVAL \"return redis.call('multi')\" 0",
        "EVAL \"return redis.call('blpop', 'l', 0)\" 0",
        "EVAL \"return redis.call('eval', 'return 1', 0)\" 0",
        "EVAL \"return redis.call('script', 'load', 'return 1')\" 0",
        "EVAL \"return redis.call('config', 'nosuch')\" 0",
        "EVAL \"return redis.call('config')\" 0",
        "EVAL \"return redis.call('lpush', 'str', 'y')\" 0",
        "EVAL \"return redis.call()\" 0", "EVAL 'return redis.call({})' 0",
        "EVAL \"return redis.call('get', {})\" 0", "EVAL \"return redis.call('set', 'k', nil)\" 0",
        "EVAL \"return redis.call('set', 'k', true)\" 0",
        "EVAL \"return redis.call('select', 300)\" 0",
        "EVAL \"local x = 1\n\nreturn redis.call('nosuch')\" 0",
        "EVAL \"redis.call('nosuch')\" 0",
        "EVAL \"local ok, t = pcall(redis.call, 'nosuch'); return {tostring(ok), type(t), t}\" 0",
        "EVAL \"local ok, t = pcall(function() return redis.call('lpush', 'str', 1) end); "
        "return {tostring(ok), type(t), t}\" 0",
        "EVAL \"local ok, t = pcall(redis.call, 'nosuch'); error(t)\" 0")


def test_redis_pcall(differ):
    differ.check(
        "SET str x", "EVAL \"return redis.pcall('nosuch')\" 0",
        "EVAL \"return redis.pcall('get')\" 0", "EVAL \"return redis.pcall('multi')\" 0",
        "EVAL \"return redis.pcall('lpush','str','y')\" 0",
        "EVAL \"redis.pcall('lpush','str','y'); return 1\" 0",
        "EVAL \"return redis.pcall()\" 0", "EVAL \"return redis.pcall('get', {})\" 0",
        "EVAL \"local t = redis.pcall('nosuch'); local r = {} for k,v in pairs(t) do "
        "r[#r+1] = k .. '=' .. tostring(v) end table.sort(r) return r\" 0",
        "EVAL \"local t = redis.pcall('lpush', 'str', 'x'); local r = {} for k,v in pairs(t) "
        "do r[#r+1] = k .. '=' .. tostring(v) end table.sort(r) return r\" 0")


def test_error_and_status_reply(differ):
    differ.check(
        "EVAL \"return redis.error_reply('My Error')\" 0",
        "EVAL \"return redis.error_reply('-My Error')\" 0",
        "EVAL \"return redis.error_reply('NOSPACE')\" 0",
        "EVAL \"return redis.error_reply('-NOSPACE')\" 0",
        "EVAL \"return redis.error_reply('')\" 0",
        "EVAL \"return redis.error_reply('a\\r\\nb')\" 0",
        "EVAL 'return redis.error_reply()' 0", "EVAL 'return redis.error_reply(1)' 0",
        "EVAL \"return redis.error_reply('x').err\" 0",
        "EVAL \"return redis.status_reply('FINE')\" 0",
        "EVAL \"return redis.status_reply('a\\nb')\" 0", "EVAL 'return redis.status_reply()' 0",
        "EVAL \"return redis.status_reply('x').ok\" 0",
        "EVAL \"error(redis.error_reply('CODE raised'))\" 0")


def test_runtime_errors(differ):
    differ.check(
        "EVAL 'return foo()' 0", "EVAL 'foo = 1' 0", "EVAL 'return foo' 0",
        "EVAL \"error('xx')\" 0", "EVAL \"error({err='xx'})\" 0",
        "EVAL \"error({err='ERR xx'})\" 0", "EVAL 'error(123)' 0",
        "EVAL \"error('ERR bad', 0)\" 0", "EVAL \"error('', 0)\" 0", "EVAL 'error()' 0",
        "EVAL 'local a = nil; a()' 0", "EVAL 'local a = {}; return a.b.c' 0",
        "EVAL 'return 1 +' 0", "EVAL \"return 1\n\nerror('line3')\" 0",
        "EVAL \"local t = {}\nlocal x = t.a.b\" 0", "EVAL \"error('a\\nb')\" 0",
        "EVAL 'local function f() return {} + 1 end; f()' 0",
        "EVAL 'return print' 0", "EVAL 'return os' 0", "EVAL 'return io' 0",
        "EVAL 'return debug' 0", "EVAL 'return dofile' 0", "EVAL 'return loadfile' 0",
        "EVAL 'return require' 0", "EVAL 'return getfenv' 0",
        "EVAL \"return loadstring('return 5')()\" 0",
        "EVAL \"local f = loadstring('return nosuch'); return f()\" 0",
        "EVAL \"local ok, t = pcall(error, 'x'); return t\" 0",
        "EVAL \"local ok, t = pcall(function() return nosuchvar end); return t\" 0",
        "EVAL \"local ok, e = pcall(function() x = 1 end) return e\" 0",
        "EVAL \"return coroutine.wrap(function() error('in co') end)()\" 0",
        "EVAL \"KEYS[1] = 'x' return KEYS[1]\" 0", "EVAL 'return _VERSION' 0",
        "EVAL \"local r = {}; for k,v in pairs(_G) do if k ~= 'cmsgpack' and k ~= 'struct' "
        "then table.insert(r, k) end end; table.sort(r); return r\" 0")


def test_redis_library(differ):
    differ.check(
        "EVAL \"return redis.sha1hex('')\" 0", "EVAL 'return redis.sha1hex(1)' 0",
        "EVAL 'return redis.sha1hex()' 0",
        "EVAL 'return redis.log(redis.LOG_WARNING, \"from a script\")' 0",
        "EVAL 'return redis.log()' 0", "EVAL 'return redis.log(1)' 0",
        "EVAL \"return redis.log('x', 'y')\" 0", "EVAL \"return redis.log(99, 'y')\" 0",
        "EVAL 'return redis.set_repl(redis.REPL_ALL)' 0", "EVAL 'return redis.set_repl()' 0",
        "EVAL 'return redis.set_repl(99)' 0", "EVAL 'return redis.replicate_commands()' 0",
        "EVAL 'return redis.breakpoint()' 0", "EVAL \"return redis.debug('x')\" 0",
        "EVAL 'return redis.setresp(3)' 0", "EVAL 'return redis.setresp(4)' 0",
        "EVAL 'return redis.setresp()' 0", "EVAL \"return redis.setresp('x')\" 0",
        "EVAL 'return {redis.REPL_ALL, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, "
        "redis.REPL_NONE, redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, "
        "redis.LOG_WARNING}' 0",
        "EVAL 'return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}' 0",
        "EVAL \"return redis.acl_check_cmd('get', 'x')\" 0")


def test_shebang_lines_end_at_a_nul(differ):
    """Redis finds a script's or library's first line with strchr: a NUL before the
    newline means there is none (splitting one once looped forever on the NUL)."""
    differ.check(
        ["FUNCTION", "LOAD", "#!lua name=a b=\0\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=a\0 b\nredis.register_function('f', function() "
                             "return 1 end)"],
        ["FUNCTION", "LOAD", '#!lua name="a\0b"\nreturn 1'],
        ["EVAL", "#!lua flags=x\0\nreturn 1", "0"], ["EVAL", "#!lua\0\nreturn 1", "0"],
        ["EVAL", "#!lua flags=no-writes \0\nreturn 1", "0"],
        ["EVAL", "#!lua '\0'\nreturn 1", "0"], ["EVAL", "return 1 -- \0", "0"],
        ["EVAL", "#!lua\nreturn '\0'", "0"], ["PING"])


def _random_sequence(port: int) -> List[bytes]:
    conn = RawConnection(port)
    try:
        draw = "return tostring(math.random())"
        library = ("#!lua name=lib\nredis.register_function('draw', function() "
                   "return tostring(math.random()) end)")
        return [conn.call("EVAL", draw, "0"), conn.call("EVAL", draw, "0"),
                conn.call("FUNCTION", "LOAD", library), conn.call("FCALL", "draw", "0"),
                conn.call("SCRIPT", "FLUSH"), conn.call("FUNCTION", "FLUSH"),
                conn.call("EVAL", draw, "0"), conn.call("EVAL", "return math.random(100)", "0")]
    finally:
        conn.close()


def test_math_random_starts_where_redis_starts():
    """Without math.randomseed, a new server's scripts draw rand.c's sequence from its
    static initial state, one sequence for EVAL and FUNCTION alike that SCRIPT FLUSH
    does not restart."""
    from miniredis import Server
    real = RedisProcess(redis_server_or_skip())
    try:
        with Server(port=0) as server:
            assert _random_sequence(server.port) == _random_sequence(real.port)
    finally:
        real.stop()


def test_math_random_is_rand48(differ):
    differ.check(
        "EVAL 'math.randomseed(42); local t = {} ; for i=1,3 do t[i] = math.random(1000) end;"
        " return t' 0",
        "EVAL 'math.randomseed(7); local t = {} ; for i=1,3 do t[i] = tostring(math.random()) "
        "end ; return t' 0",
        "EVAL 'math.randomseed(7); local t = {} ; for i=1,3 do t[i] = math.random(5, 10) end;"
        " return t' 0",
        "EVAL 'return math.random(0)' 0", "EVAL 'return math.random(1,2,3)' 0",
        "EVAL 'return math.random(3,1)' 0", "EVAL \"return math.random('x')\" 0",
        "EVAL 'return math.randomseed()' 0")


def test_cjson_and_bit(differ):
    differ.check(
        "EVAL 'return cjson.encode({1,2,3,{a=1}})' 0",
        "EVAL \"return cjson.encode({a='x\\n/\\\"',b=1.5,c=true,d=cjson.null, e={}})\" 0",
        "EVAL 'return cjson.encode({[1]=1, [3]=3})' 0",
        "EVAL 'return cjson.encode({[1]=1, [12]=3})' 0",
        "EVAL \"return cjson.encode({1, 'a', b=2})\" 0", "EVAL 'return cjson.encode(0.1)' 0",
        "EVAL 'return cjson.encode(1e20)' 0", "EVAL 'return cjson.encode(1/0)' 0",
        "EVAL \"return cjson.encode('\\1\\127\\128\\255')\" 0",
        "EVAL 'return cjson.encode(function() end)' 0",
        "EVAL 'return cjson.encode({[true]=1})' 0",
        "EVAL 'local t={} t[1]=t return cjson.encode(t)' 0",
        "EVAL \"return cjson.decode('[1,2')\" 0", "EVAL \"return cjson.decode('')\" 0",
        "EVAL \"return cjson.decode('tru')\" 0", "EVAL 'return cjson.decode()' 0",
        "EVAL \"return cjson.decode('123456789012345678')\" 0",
        "EVAL \"return cjson.decode('[1] x')\" 0",
        "EVAL \"return cjson.encode(cjson.decode('[1e3, -0, 0.5]'))\" 0",
        "EVAL \"return cjson.encode(cjson.decode("
        "'{\\\"k\\\":{\\\"x\\\":[true,false,null]},\\\"n\\\":-12.5e-3}'))\" 0",
        "EVAL 'return bit.band(0xff, 0x0f)' 0", "EVAL 'return bit.tohex(255)' 0",
        "EVAL 'return bit.tohex(-1, -4)' 0", "EVAL 'return bit.bnot(0)' 0",
        "EVAL 'return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), "
        "bit.rol(1, 33), bit.ror(1,1), bit.bswap(0x12345678), bit.tobit(2^32+5), "
        "bit.bor(1,2,4), bit.bxor(7, 2)}' 0",
        "EVAL 'return bit.band()' 0", "EVAL \"return bit.band(1, 'x')\" 0")


def test_select_inside_lasts_for_the_script(differ):
    differ.check(
        "EVAL \"return redis.call('select', 3)\" 0",
        "EVAL \"redis.call('select', 3); redis.call('set', 'dbkey', 'v'); "
        "return redis.call('get','dbkey')\" 0",
        "GET dbkey", "SELECT 3", "GET dbkey", "DEL dbkey", "SELECT 9",
        "EVAL \"redis.call('select', 3); error('x')\" 0", "SET here 1", "EXISTS here")


def test_read_only_scripts_and_shebang(differ):
    differ.check(
        "EVAL_RO \"return redis.call('set','x','y')\" 0",
        "EVAL_RO \"return redis.pcall('set','x','y')\" 0",
        "EVAL_RO \"return redis.call('get','x')\" 0",
        "EVAL_RO \"return redis.call('nosuch')\" 0", "EVAL_RO \"return redis.call('set')\" 0",
        "EVAL_RO \"return redis.call('eval', 'return 1', '0')\" 0",
        ["EVAL", "#!lua\nreturn 1", "0"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set','x','y')", "0"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.pcall('set','x','y')", "0"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'x')", "0"],
        ["EVAL", "#!lua name=foo\nreturn 1", "0"], ["EVAL", "#!notlua\nreturn 1", "0"],
        ["EVAL", "#!luax\nreturn 1", "0"], ["EVAL", "#!lua flags=bad\nreturn 1", "0"],
        ["EVAL", "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,"
                 "allow-cross-slot-keys\nreturn 1", "0"],
        ["EVAL", "#!lua flags=\nreturn 1", "0"], ["EVAL", "#!lua", "0"],
        ["EVAL", "#!lua\treturn 1", "0"], ["EVAL", "#!lua\nerror('x')", "0"],
        ["EVAL", "#!lua\nreturn 1 +", "0"],
        ["EVAL_RO", "#!lua\nreturn redis.call('set','x','y')", "0"],
        ["EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get','x')", "0"],
        "EXISTS x")


def test_script_subcommands_and_evalsha(differ):
    differ.check(
        "SCRIPT FLUSH", "SCRIPT HELP", "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0",
        "SCRIPT LOAD 'return 1'", "SCRIPT LOAD 'return 1 +'",
        "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db abc "
        "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB",
        "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0",
        "EVALSHA E0E1F9FABFC9D4800C877A703B823AC0578FF8DB 0",
        "EVALSHA_RO e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0",
        "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8dbXX 0",
        "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8d 0",
        "EVAL 'return 2' 0", "EVALSHA 7f923f79fe76194c868d7e1d0820de36700eb649 0",
        "SCRIPT EXISTS", "SCRIPT FLUSH ASYNC", "SCRIPT FLUSH sync", "SCRIPT FLUSH foo",
        "SCRIPT FLUSH sync async", "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0", "SCRIPT KILL",
        "SCRIPT KILL x", "SCRIPT LOAD", "SCRIPT LOAD a b", "SCRIPT NOSUCH", "SCRIPT",
        "SCRIPT HELP x")


def test_blocking_commands_inside_answer_at_once(differ):
    differ.check(
        "EVAL \"return redis.call('blmpop', 0, 1, 'nokey', 'left')\" 0",
        "EVAL \"return redis.call('blmpop', 0.01, 1, 'nokey', 'left')\" 0",
        "EVAL \"redis.call('rpush', 'q', 'a'); "
        "return redis.call('blmpop', 0, 1, 'q', 'left')\" 0")


def test_waiters_are_served_after_the_script(differ):
    def scenario(port, protocol, admin):
        waiter = connect(port, protocol)
        waiter.send("BLPOP", "q", "0")
        wait_blocked(admin, 1)
        # The script pushes then pops: the waiter sees nothing until it ends.
        first = admin.call("EVAL", "redis.call('rpush', 'q', 'a', 'b'); "
                           "return redis.call('lpop', 'q')", "0")
        got = waiter.read_raw()
        rest = admin.call("LRANGE", "q", "0", "-1")
        waiter.close()
        return [first, got, rest]
    compare_scenario(differ, scenario)


# Waits about 5 ms of TIME inside the script, after a 1 ms TTL.
_WAIT_PAST_TTL = (
    "redis.call('SET', KEYS[1], 'v', 'PX', '1') "
    "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] "
    "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 5000 ")
_LOOK_AT_KEY = (
    "return {redis.call('EXISTS', KEYS[1]), redis.call('GET', KEYS[1]), "
    "#redis.call('KEYS', '*'), redis.call('SCAN', 0)[2], redis.call('TTL', KEYS[1]), "
    "redis.call('PTTL', KEYS[1]), redis.call('TYPE', KEYS[1])}")


def test_keys_do_not_expire_while_a_script_runs(differ):
    """Inside a script TTLs are judged at the script's start (keyIsExpired uses
    scriptTimeSnapshot): a key set with PX 1 is still there 5 ms later, with a TTL of
    0; after the script it is gone, and a script started after that time finds it
    expired (Redis's scripting suite: "Script block the time during execution")."""
    differ.check("FLUSHALL", ["EVAL", _WAIT_PAST_TTL + _LOOK_AT_KEY, "1", "key"],
                 "EXISTS key", ["EVAL", _LOOK_AT_KEY, "1", "key"], "DBSIZE")
    differ.check("FLUSHALL", ["EVAL", _WAIT_PAST_TTL, "1", "key"],
                 ["EVAL", _LOOK_AT_KEY, "1", "key"], "DBSIZE")


def test_keys_do_not_expire_while_a_function_runs(differ):
    """The same for FCALL (scriptPrepareForRun snapshots the time for both)."""
    body = ("#!lua name=snapshot\n"
            "redis.register_function('wait', function(KEYS, ARGV) %s %s end)"
            % (_WAIT_PAST_TTL, _LOOK_AT_KEY))
    differ.check("FUNCTION FLUSH", "FLUSHALL", ["FUNCTION", "LOAD", body],
                 "FCALL wait 1 key", "EXISTS key", "FUNCTION FLUSH")


def test_stats_of_inner_commands(differ):
    differ.check(
        "SET str x", "CONFIG RESETSTAT",
        "EVAL \"return redis.pcall('lpush','str','y')\" 0",
        "EVAL \"return redis.call('lpush','str','y')\" 0",
        "EVAL \"redis.pcall('lpush','str','y'); return 1\" 0",
        "EVAL \"return redis.pcall('nosuch')\" 0", "EVAL \"redis.pcall('nosuch') return 1\" 0",
        "EVAL \"return redis.call('nosuch')\" 0", "EVAL \"return redis.pcall('get')\" 0",
        "EVAL \"return redis.call('multi')\" 0", "EVAL \"return {err='XYZ foo'}\" 0",
        "EVAL \"return redis.error_reply('ABC foo')\" 0", "EVAL \"error('x')\" 0",
        "EVAL_RO \"return redis.call('set','a','b')\" 0", "EVAL 'return 1 +' 0",
        "INFO errorstats")
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        conn.call("SET", "str", "x")
        conn.call("CONFIG", "RESETSTAT")
        conn.call("EVAL", "return redis.pcall('lpush','str','y')", "0")
        conn.call("EVAL", "redis.pcall('lpush','str','y'); redis.call('get', 'str'); "
                  "return 1", "0")
        conn.call("EVAL_RO", "return redis.call('set','a','b')", "0")
        conn.call("EVAL", "return redis.pcall('get')", "0")
        stats = conn.call("INFO", "commandstats").decode()
        processed = conn.call("INFO", "stats").decode()
        conn.close()
        counts = {}
        for line in stats.split("\r\n"):
            if line.startswith("cmdstat_"):
                cmd, _, fields = line.partition(":")
                parts = dict(f.split("=") for f in fields.split(","))
                counts[cmd] = (parts["calls"], parts["rejected_calls"], parts["failed_calls"])
        total = [line for line in processed.split("\r\n")
                 if line.startswith("total_commands_processed")]
        if name == "redis":
            want = counts, total
        else:
            got = counts, total
    assert got == want


# Errors inside a script's reply (any depth, RESP2 or RESP3), from commands the script
# ran or made by it, and error codes without a space in their first 31 bytes.
_ERRORS_INSIDE_REPLIES = [
    "return {redis.pcall('incr','str')}",
    "return {1, {redis.pcall('incr','str')}, redis.pcall('lpush','str','y')}",
    "return {1, {err='My Error'}, {err='-X other'}}",
    "return {1, {err='Oops'}, redis.pcall('incr','str'), {err='E2 x'}}",
    "return {redis.error_reply('E1'), {{{err=''}}}}",
    "return {err='Oops'}", "return {err=''}", "return {err=' lead'}",
    "return {err='%s x'}" % ("A" * 40), "return {err='%s x'}" % ("B" * 30),
    "redis.setresp(3); return {map={a={err='In map'}}, set={[redis.pcall('get')]=true}}",
    "local t = redis.pcall('incr','str'); return {1, 2}",
    # (the code is read from the reply as sent: CR and LF are spaces by then)
    "return {err='a\\nb'}", "return {err='C\\r\\nD e'}", "return {err='%s\\n'}" % ("é" * 14),
    "return {err='\\nX y\\r\\n'}", "return redis.error_reply('\\nE z')",
]


def _error_counts(conn: RawConnection) -> List[str]:
    info = (conn.call("INFO", "commandstats") + conn.call("INFO", "errorstats") +
            conn.call("INFO", "stats")).decode()
    return sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", found) for found in
                  re.findall(r"cmdstat_\S+|errorstat_\S+|total_error_replies:\d+", info)
                  if not found.startswith(("cmdstat_info", "cmdstat_config")))


def test_errors_inside_a_script_reply_count_as_redis(differ):
    """Each error in a script's reply is an error reply of its own (luaReplyToRedisReply):
    one a command gave counts once more as a failed EVAL/FCALL, one the script made
    counts in the error statistics and fails the call once; codes as afterErrorReply
    reads them."""
    library = ("#!lua name=errs\nredis.register_function('errs', function(KEYS, ARGV) "
               "return {1, {err='Fn failed'}, redis.pcall('incr', KEYS[1])} end)")
    seen = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        conn.call("FUNCTION", "FLUSH")
        conn.call("FUNCTION", "LOAD", library)
        conn.call("SET", "str", "x")
        seen[name] = []
        for protocol in (2, 3):
            conn.call("HELLO", str(protocol))
            for script in _ERRORS_INSIDE_REPLIES:
                conn.call("CONFIG", "RESETSTAT")
                seen[name].append((script, conn.call("EVAL", script, "0"),
                                   _error_counts(conn)))
            conn.call("CONFIG", "RESETSTAT")
            seen[name].append(("FCALL", conn.call("FCALL", "errs", "1", "str"),
                               _error_counts(conn)))
        conn.call("FUNCTION", "FLUSH")
        conn.close()
    for want, got in zip(seen["redis"], seen["miniredis"]):
        assert got == want


def test_scripts_inside_multi(differ):
    differ.check("MULTI", "EVAL \"return redis.call('incr', 'n')\" 0",
                 "EVAL \"return redis.call('nosuch')\" 0", "EXEC", "GET n")


def _wait_busy(admin) -> None:
    """Until the server answers BUSY (a script ran past busy-reply-threshold): polled,
    not slept, so a loaded machine cannot make the check early."""
    deadline = time.monotonic() + 10
    while not admin.call("PING").startswith(b"-BUSY"):
        assert time.monotonic() < deadline, "the script never became busy"
        time.sleep(0.01)


def _compare_busy(differ, threshold: str, body) -> None:
    """compare_scenario of ``body(port, protocol, admin)`` with busy-reply-threshold
    at ``threshold`` ms, put back to 5000 after."""
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "SET", "busy-reply-threshold", threshold)
        try:
            return body(port, protocol, admin)
        finally:
            admin.call("CONFIG", "SET", "busy-reply-threshold", "5000")
    compare_scenario(differ, scenario, protocols=(2,))


def test_busy_script_and_script_kill(differ):
    def body(port, protocol, admin):
        runner = connect(port, protocol)
        runner.send("EVAL", "local i = 0\nwhile true do i = i + 1 end", "0")
        _wait_busy(admin)
        other = connect(port, protocol)
        seen = [admin.call("GET", "x"), admin.call("MULTI"), admin.call("GET", "x"),
                admin.call("DISCARD"), admin.call("SCRIPT", "KILL")]
        seen.append(runner.read_raw())
        seen.append(other.call("PING"))
        seen.append(admin.call("SCRIPT", "KILL"))
        # Busy for 2 s of wall time after a write: SCRIPT KILL refuses (long enough
        # for a loaded machine to see it busy before it ends).
        runner.send("EVAL", "redis.call('set', 'w', 1)\n"
                    "local function now() local t = redis.call('time') "
                    "return t[1] + t[2] / 1e6 end\n"
                    "local start = now() while now() - start < 2 do end return 1", "0")
        _wait_busy(admin)
        seen.append(admin.call("SCRIPT", "KILL"))
        seen.append(runner.read_raw())
        runner.close()
        other.close()
        return seen
    _compare_busy(differ, "50", body)


# Returns 1 if the first new connection's request was answered in the hook that
# accepted it, 0 if not (yet), -1 if no connection came within 5 s. The empty loop
# makes ten checks per count hook (every 100,000 Lua instructions).
_ACCEPT_THEN_ANSWER = """
local function stat(name)
  return tonumber(string.match(redis.call('info', 'stats'), name .. ':(%d+)'))
end
local function now() local t = redis.call('time') return t[1] + t[2] / 1e6 end
local conns, errors, start = stat('total_connections_received'),
  stat('total_error_replies'), now()
while now() - start < 5 do
  for i = 1, 10000 do end
  if stat('total_connections_received') > conns then
    return stat('total_error_replies') - errors
  end
end
return -1
"""


def test_busy_script_accepts_and_answers_in_one_hook(differ):
    """A client that connects and sends a request while a script runs, before it is
    busy: the first busy hook accepts it and answers -BUSY, not the next hook (Redis's
    processEventsWhileBlocked goes round up to four times while there are events).
    The EVAL is read before the connection is accepted: its bytes arrive first."""
    def body(port, protocol, admin):
        runner = connect(port, protocol)
        runner.send("EVAL", _ACCEPT_THEN_ANSWER, "0")
        other = RawConnection(port)
        other.send("PING")
        seen = [other.read_raw()[:5], runner.read_raw()]
        runner.close()
        other.close()
        return seen
    _compare_busy(differ, "200", body)


def test_redis_py_register_script_and_lock(mini):
    import redis
    client = redis.Redis(port=mini.port)
    try:
        client.script_flush()
        incr_by = client.register_script(
            "local v = redis.call('incrby', KEYS[1], ARGV[1]) return v * 2")
        assert incr_by(keys=["counter"], args=[5]) == 10
        client.script_flush()              # NOSCRIPT: redis-py loads it again
        assert incr_by(keys=["counter"], args=[1]) == 12
        pipe = client.pipeline()
        incr_by(keys=["counter"], args=[1], client=pipe)
        assert pipe.execute() == [14]
        lock = client.lock("resource", timeout=5)
        assert lock.acquire(blocking=False)
        assert not client.lock("resource").acquire(blocking=False)
        assert lock.extend(5)
        assert lock.reacquire()
        assert lock.locked() and lock.owned()
        lock.release()
        assert not lock.locked()
        with pytest.raises(redis.exceptions.LockError):
            lock.release()
        stranger = client.lock("resource", timeout=5)
        assert stranger.acquire(blocking=False)
        stranger.local.token = b"not-the-owner"     # the release script refuses
        with pytest.raises(redis.exceptions.LockNotOwnedError):
            stranger.release()
        assert client.eval("return redis.call('get', KEYS[1])", 1, "counter") == b"7"
    finally:
        client.delete("counter", "resource")
        client.close()


def test_globals_libraries_and_metatables_are_read_only(differ):
    differ.check(*[["EVAL", source, "1", "k", "a"] for source in (
        "cmsgpack.pack = nil", "struct.pack = nil", "cjson.encode = nil", "bit.x = 1",
        "string.format = nil", "math.x = 1", "table.insert = nil", "coroutine.x = 1",
        "redis.call = nil", "redis = nil", "cmsgpack = nil", "KEYS = {}", "os = nil",
        "x = 1", "_G.x = 1", "function f() end", "local s = string s.x = 1",
        "KEYS[1] = 'changed' ARGV[5] = 'x' return {KEYS, ARGV}",
        "table.insert(ARGV, 'z') return ARGV",
        "rawset(cjson, 'encode', 1)", "rawset(_G, 'cjson', 1)", "rawset(_G, 'new', 1)",
        "local t = rawset({}, 1, 2) return t[1]", "setmetatable(cjson, {})",
        "setmetatable(_G, nil)", "table.insert(string, 1)", "table.insert(_G, 1)",
        "getmetatable('').__index = nil", "getmetatable('').x = 1",
        "getmetatable(_G).__index = nil", "return getmetatable('').x",
        "return getmetatable(cjson)", "return getmetatable(redis.call)",
        "return getmetatable(cjson.null)", "return type(getmetatable(_G))",
        "local t = {} for k in pairs(getmetatable(_G)) do t[#t+1] = k end return t",
        "local x = getmetatable(_G).__index('x') return x",
        "return getmetatable(_G).__index(_G, 'nosuch')",
        "return getmetatable(_G).__index(_G, {})",
        "return getmetatable('').__index == string", "return ('x'):rep(3)",
        "return rawequal(string, getmetatable('').__index)",
        "return rawget(_G, 'redis') == redis", "return rawget(_G, 'nosuch')",
        "return rawget(string, 'format') == string.format", "return _G._G == _G",
        "local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t",
        "local n = 0 for k, v in next, string do n = n + 1 end return n",
        "return {next(struct)}", "return select('#', next(_G, nil))", "return #string",
        "local t = {} table.foreach(cmsgpack, function(k) t[#t+1] = k end) return t",
        "local f = loadstring('x = 1') f()", "local f = loadstring('cjson = nil') f()",
        "return loadstring('return KEYS[1]')()", "return select('#', loadstring('return 1'))",
        "return {loadstring('return +')}", "return {loadstring('return +', 'chunky')}",
        "local done = false return load(function() if done then return nil end "
        "done = true return 'return 7' end)()",
        "local co = coroutine.create(function() x = 1 end) return {coroutine.resume(co)}",
        "return {pcall(function() cjson.encode = 1 end)}",
        "return {pcall(rawset, cjson, 'encode', 1)}", "return {pcall(next)}",
        "return {pcall(getmetatable)}", "return {pcall(setmetatable, _G, {})}",
        "local x = next() return x", "local x = rawget({}) return x",
        "local x = rawset({}, 1) return x", "local x = setmetatable({}, 1) return x",
        "local t = setmetatable({}, {__metatable = 1}) local x = setmetatable(t, {}) "
        "return x",
        "local x = loadstring({}) return x", "local x = table.insert({}, 1, 2, 3) return x",
        "local x = table.insert({}, 'a', 2) return x",
        "local n = next local x = n(1) return x")])


def test_scripts_cannot_break_the_sandbox_for_later_ones(differ):
    differ.check(*[["EVAL", source, "0"] for source in (
        "pcall(function() getmetatable('').__index = nil end) "
        "pcall(function() getmetatable(_G).__index = nil end) "
        "pcall(function() getmetatable(redis.call).__call = nil end) "
        "pcall(table.insert, string, 'junk') pcall(rawset, _G, 'junk', 1) return 1",
        "return ('x'):rep(2)", "return nosuch", "return redis.call('ping')",
        "return #string", "return type(rawget(_G, 'junk'))")])


def test_library_functions_are_functions(differ):
    differ.check(*[["EVAL", source, "0"] for source in (
        "return {type(redis.call), type(redis.pcall), type(redis.sha1hex), type(redis.log),"
        " type(redis.setresp), type(redis.set_repl), type(redis.acl_check_cmd),"
        " type(math.random), type(math.randomseed), type(cjson.encode), type(cjson.decode),"
        " type(bit.band), type(bit.tohex), type(cmsgpack.pack), type(cmsgpack.unpack),"
        " type(cmsgpack.unpack_one), type(cmsgpack.unpack_limit), type(struct.pack),"
        " type(struct.unpack), type(struct.size), type(getmetatable(_G).__index),"
        " type(cjson.null)}",
        "return getmetatable(redis.call)", "return getmetatable(cmsgpack.pack)",
        "return (string.format('%s', tostring(redis.call)):sub(1, 9))")])


def test_min_replicas_to_write_refuses_writes(differ):
    """A master with min-replicas-to-write (and a max lag) and no replica: write
    commands, scripts that may write (a shebang without no-writes, functions likewise,
    *_RO commands included) and writes inside flagless scripts get NOREPLICAS."""
    lib = ("#!lua name=nr\n"
           "redis.register_function('w', function(k, a) return redis.call('get', k[1]) end)\n"
           "redis.register_function{function_name='r', callback=function(k, a) "
           "return redis.call('get', k[1]) end, flags={'no-writes'}}")
    differ.check(
        "SET x v", ["FUNCTION", "LOAD", "REPLACE", lib],
        "CONFIG SET min-replicas-to-write 1",
        "SET x 1", "INCR y", "GET x", "PING", "DEL x", "MULTI", "SET x 2", "GET x", "EXEC",
        ["EVAL", "#!lua\nreturn redis.call('get', 'x')", "1", "x"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'x')", "1", "x"],
        ["EVAL_RO", "#!lua\nreturn redis.call('get', 'x')", "1", "x"],
        ["EVAL", "return redis.call('get', 'x')", "1", "x"],
        ["EVAL", "return redis.call('set', 'x', 1)", "1", "x"],
        ["EVAL", "return redis.pcall('set', 'x', 1)", "1", "x"],
        ["EVAL", "return {redis.pcall('get', 'x'), redis.pcall('incr', 'y')}", "0"],
        "FCALL w 1 x", "FCALL r 1 x", "FCALL_RO r 1 x", "FCALL_RO w 1 x",
        # A lag of 0 turns the check off, as does min-replicas-to-write 0.
        "CONFIG SET min-replicas-max-lag 0", "SET x 3", "FCALL w 1 x",
        "CONFIG SET min-replicas-max-lag 10", "SET x 4",
        "CONFIG SET min-replicas-to-write 0", "SET x 5", "FCALL w 1 x",
        "FUNCTION DELETE nr")


def test_min_replicas_to_write_in_info_replication(differ):
    """INFO replication counts the good replicas while min-replicas-to-write is on."""
    def fields(port):
        conn = RawConnection(port)
        try:
            text = parse_raw(conn.call("INFO", "replication"))[1].decode()
        finally:
            conn.close()
        return [line for line in text.split("\r\n")
                if line.startswith(("connected_slaves", "min_slaves", "master_failover"))]
    seen = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        try:
            before = fields(port)
            conn.call("CONFIG", "SET", "min-replicas-to-write", "3")
            during = fields(port)
            conn.call("CONFIG", "SET", "min-slaves-max-lag", "0")
            no_lag = fields(port)
        finally:
            conn.call("CONFIG", "SET", "min-replicas-to-write", "0",
                      "min-replicas-max-lag", "10")
            conn.close()
        seen[name] = (before, during, no_lag)
    assert seen["miniredis"] == seen["redis"]
    assert "min_slaves_good_slaves:0" in seen["redis"][1]


def test_min_replicas_to_write_from_the_command_line(tmp_path):
    """Set at startup (no CONFIG SET), the refusal is there from the first command."""
    from tests.aofutil import MiniProcess
    from tests.harness import RedisProcess, redis_server_or_skip
    real = RedisProcess(redis_server_or_skip(), ["--min-replicas-to-write", "2"])
    mini = MiniProcess(str(tmp_path), "--min-replicas-to-write", "2")
    try:
        seen = []
        for port in (real.port, mini.port):
            conn = RawConnection(port)
            try:
                seen.append([conn.call(*cmd) for cmd in (
                    ("SET", "x", "1"), ("GET", "x"), ("EVAL", "#!lua\nreturn 1", "0"),
                    ("CONFIG", "SET", "min-replicas-to-write", "0"), ("SET", "x", "1"))])
            finally:
                conn.close()
        assert seen[0] == seen[1]
        assert seen[0][0].startswith(b"-NOREPLICAS")
    finally:
        real.stop()
        mini.stop()
