"""Redis 7.0 functions against a real redis-server: FUNCTION LOAD/DELETE/LIST/FLUSH/
DUMP/RESTORE/KILL/STATS/HELP, FCALL and FCALL_RO (replies and error texts, RESP2 and
RESP3), flags, ACL inside functions, payloads and dump.rdb crossing between the
servers, the AOF (its commands and its rewrite base)."""
from __future__ import annotations

import subprocess
import threading
import time

import pytest
import redis

from tests.aofutil import MiniProcess, aof_files
from tests.harness import RawConnection, SameType, command_metadata, free_port, parse_raw, \
    wait_serving

FLUSH = "FUNCTION FLUSH"


def lib(name: str, *lines: str) -> str:
    return "#!lua name=%s\n%s" % (name, "\n".join(lines))


LIB1 = lib("lib1",
           "redis.register_function('set1', function(keys, args) "
           "return redis.call('set', keys[1], args[1]) end)")
LIB_RO = lib("libro",
             "redis.register_function{function_name='get1', callback=function(k, a) "
             "return redis.call('get', k[1]) end, flags={'no-writes'}, "
             "description='reads a key'}")
LIB_ALL_FLAGS = lib("flagged",
                    "redis.register_function{function_name='f', callback=function() "
                    "return 1 end, flags={'allow-cross-slot-keys', 'no-cluster', "
                    "'allow-stale', 'ALLOW-OOM', 'no-writes'}}")


def _names(r: redis.Redis):
    """The library names FUNCTION LIST gives (RESP2: flat key/value lists)."""
    return [item[item.index(b"library_name") + 1] for item in r.function_list()]


def load(code: str):
    return ["FUNCTION", "LOAD", code]


def fn(name: str, body: str) -> str:
    """A one-function library named lib_<name>."""
    return lib("lib_" + name, "redis.register_function('%s', function(keys, args) %s end)"
               % (name, body))


# -- FUNCTION LOAD ---------------------------------------------------------------------
LOAD_ERRORS = {
    "no-shebang": "return 1",
    "no-newline": "#!lua name=x",
    "empty-shebang": "#! \nreturn 1",
    "bad-quotes": "#!lua name=\"a\nreturn 1",
    "no-name": "#!lua\nreturn 1",
    "name-twice": "#!lua name=a name=b\nreturn 1",
    "bad-option": "#!lua name=a foo=bar\nreturn 1",
    "bad-lib-name": "#!lua name=a-b\nreturn 1",
    "empty-lib-name": "#!lua name=\nreturn 1",
    "engine": "#!py name=ab\nreturn 1",
    "no-functions": lib("a", "return 1"),
    "compile": lib("a", "return 1 +"),
    "call-at-load": lib("a", "redis.call('ping')"),
    "setresp-at-load": lib("a", "redis.setresp(3)"),
    "string-at-load": lib("a", "local x = string.len('x')"),
    "global-write": lib("a", "x = 1"),
    "runtime-error": lib("a", "local x = nil + 1"),
    "error-string": lib("a", "error('boom')"),
    "error-table": lib("a", "error({err='MYERR custom'})"),
    "bad-function-name": lib("a", "redis.register_function('f 1', function() end)"),
    "register-no-args": lib("a", "redis.register_function()"),
    "register-three-args": lib("a", "redis.register_function('f', function() end, 3)"),
    "register-not-table": lib("a", "redis.register_function('f')"),
    "register-name-not-string": lib("a", "redis.register_function({}, function() end)"),
    "register-not-function": lib("a", "redis.register_function('f', 5)"),
    "named-no-name": lib("a", "redis.register_function{callback=function() end}"),
    "named-no-callback": lib("a", "redis.register_function{function_name='f'}"),
    "named-bad-callback": lib("a", "redis.register_function{function_name='f', callback=1}"),
    "named-bad-name": lib("a", "redis.register_function{function_name={}, "
                               "callback=function() end}"),
    "named-bad-desc": lib("a", "redis.register_function{function_name='f', description={}, "
                               "callback=function() end}"),
    "named-bad-flags": lib("a", "redis.register_function{function_name='f', flags='x', "
                                "callback=function() end}"),
    "named-unknown-flag": lib("a", "redis.register_function{function_name='f', "
                                   "flags={'bad'}, callback=function() end}"),
    "named-flag-not-string": lib("a", "redis.register_function{function_name='f', "
                                      "flags={{}}, callback=function() end}"),
    "named-unknown-arg": lib("a", "redis.register_function{function_name='f', foo=1, "
                                  "callback=function() end}"),
    "named-key-not-string": lib("a", "redis.register_function{function_name='f', "
                                     "[true]=1, callback=function() end}"),
    "number-name": lib("a", "redis.register_function(123, function() return 1 end)"),
    "named-number-fields": lib("a", "redis.register_function{function_name=45, "
                                    "description=1.5, callback=function() end, "
                                    "FLAGS={'NO-WRITES', 'allow-stale'}}"),
    "named-flag-number": lib("a", "redis.register_function{function_name='f', "
                                  "flags={1}, callback=function() end}"),
    "named-empty-flags": lib("a", "redis.register_function{Function_Name='f', "
                                  "flags={}, callback=function() end}"),
    "named-flags-hole": lib("a", "redis.register_function{function_name='f', "
                                 "flags={'no-writes', nil, 'bad'}, callback=function() end}"),
    "named-array-part": lib("a", "redis.register_function{'x', function_name='f', "
                                 "callback=function() end}"),
    "register-in-pcall": lib("a", "local ok, e = pcall(redis.register_function, 'f')",
                             "redis.register_function('g', function() return e end)"),
    "same-function-twice": lib("a", "redis.register_function('f', function() end)",
                               "redis.register_function('F', function() end)"),
}


@pytest.mark.parametrize("name", sorted(LOAD_ERRORS))
def test_load_errors(differ, name):
    # FUNCTION LIST shows the library when it loaded (two functions: Redis's hash order)
    listing = "FUNCTION STATS" if name == "same-function-twice" else "FUNCTION LIST"
    differ.check(FLUSH, load(LOAD_ERRORS[name]), "FUNCTION STATS", listing, "FCALL g 0")


def test_function_names_case(differ):
    # Case-sensitive within a library, case-insensitive across libraries and in FCALL.
    differ.check(FLUSH, load(lib("a", "redis.register_function('f', function() return 1 end)",
                                 "redis.register_function('F', function() return 2 end)")),
                 # which of f and F FCALL finds depends on Redis's hash order
                 SameType("FCALL f 0"), SameType("FCALL F 0"),
                 load(lib("A", "redis.register_function('g', function() return 3 end)")),
                 load(lib("b", "redis.register_function('G', function() return 4 end)")),
                 "FCALL G 0", "FUNCTION DELETE A", "FUNCTION STATS")
    # (redis-server 7.0.15 crashes on FUNCTION DELETE a here: not compared)


def test_load_replace_and_collisions(differ):
    differ.check(
        FLUSH, load(LIB1), load(LIB1),
        load(lib("lib2", "redis.register_function('set1', function() return 1 end)")),
        load(lib("lib2", "redis.register_function('SET1', function() return 1 end)")),
        ["FUNCTION", "LOAD", "REPLACE", LIB1],
        ["FUNCTION", "LOAD", "replace", lib("lib1", "return 1")],
        "FCALL set1 1 k v",
        ["FUNCTION", "LOAD", "REPLACE", lib("lib1", "redis.register_function('other', "
                                                   "function() return 2 end)")],
        "FCALL set1 1 k v", "FCALL other 0", "FCALL OTHER 0",
        ["FUNCTION", "LOAD", "BAD", LIB1], "FUNCTION LOAD", "FUNCTION LOAD REPLACE",
        load("#!LUA name=upper\nredis.register_function('u', function() return 3 end)"),
        "FCALL u 0")


def test_load_api_at_load_time(differ):
    differ.check(FLUSH, load(lib(
        "api", "local v = redis.REDIS_VERSION .. redis.REDIS_VERSION_NUM",
        "redis.log(redis.LOG_NOTICE, 'loading')",
        "redis.register_function('v', function() return v end)",
        "redis.register_function{function_name='n', callback=function(k, a) "
        "return redis.LOG_WARNING end}")), "FCALL v 0", "FCALL n 0")


def test_load_timeout(differ):
    differ.check(FLUSH, load(lib("slow", "local i = 0 while true do i = i + 1 end")),
                 "FUNCTION LIST")


def test_register_function_outside_load(differ):
    differ.check(FLUSH, load(lib(
        "keep", "local r = redis",
        "redis.register_function('f', function() local x = r.register_function('g', "
        "function() end) return x end)",
        "redis.register_function('h', function() return redis.register_function end)",
        "redis.register_function('t', function() return r.register_function('g', "
        "function() end) end)")),
        "FCALL f 0", "FCALL h 0", "FCALL t 0")


# -- FCALL / FCALL_RO ------------------------------------------------------------------
def test_fcall_arguments_and_errors(differ):
    differ.check(
        FLUSH, load(LIB1), load(LIB_RO),
        "FCALL set1 1 k v", "FCALL get1 1 k", "FCALL_RO get1 1 k", "FCALL_RO set1 1 k v",
        "FCALL nope 0", "FCALL get1 x", "FCALL get1 -1", "FCALL get1 3", "FCALL get1 01",
        "FCALL get1 99999999999999999999", "FCALL", "FCALL get1", "FCALL GET1 1 k")
    # A few arguments reach Lua on its stack, more as tables first (lua._ARGS_IN_CALL).
    counted = fn("counted", "return {#keys, #args, keys[#keys] or '-', args[#args] or '-'}")
    differ.check(FLUSH, load(counted), *(
        ["FCALL", "counted", str(keys)] + ["k%d" % i for i in range(keys)]
        + ["a%d" % i for i in range(argv)]
        for keys, argv in ((0, 0), (0, 64), (64, 0), (30, 35), (65, 0), (1, 200))))


FCALL_BODIES = {
    "keys-args": "return {keys[1], args[1], #keys, #args}",
    "unknown-command": "return redis.call('nosuch')",
    "globals-keys": "return KEYS",
    "error-string": "error('boom')",
    "error-table": "return redis.error_reply('MY custom')",
    "global-write": "x = 5",
    "pcall": "return redis.pcall('incr', 'k')",
    "setresp": "redis.setresp(3) return redis.call('hgetall', 'h')",
    "status": "return redis.status_reply('FINE')",
    "nested": "return {1, {2, {3, 'x'}}, 'y'}",
    "wrong-arity": "return redis.call('get')",
    "noscript-command": "return redis.call('fcall', 'x', 0)",
    "sha1hex": "return redis.sha1hex('abc')",
    "string-lib": "return string.rep('a', 3) .. cjson.encode({1, 2})",
}


@pytest.mark.parametrize("name", sorted(FCALL_BODIES))
def test_fcall_bodies(differ, name):
    differ.check(FLUSH, "SET k notanumber", "HSET h a 1",
                 load(fn("f", FCALL_BODIES[name])), "FCALL f 2 k1 k2 a1 a2 a3")


def test_no_writes_flag_refuses_writes(differ):
    differ.check(
        FLUSH, load(lib("ro", "redis.register_function{function_name='w', "
                              "callback=function() return redis.call('set', 'x', '1') end, "
                              "flags={'no-writes'}}")),
        "FCALL w 0", "FCALL_RO w 0", "GET x")


def test_functions_are_separate_from_eval(differ):
    differ.check(FLUSH, load(LIB1), "EVAL \"return redis.call('fcall', 'set1', 1, 'k', 'v')\" 0",
                 "SCRIPT FLUSH", "FCALL set1 1 k v", "GET k")


def test_allow_oom_flag(differ):
    code = lib("oom", "redis.register_function('w', function() "
                      "return redis.call('set', 'x', '1') end)",
               "redis.register_function{function_name='a', callback=function() "
               "return redis.call('set', 'x', '2') end, flags={'allow-oom'}}",
               "redis.register_function{function_name='r', callback=function() "
               "return redis.call('get', 'x') end, flags={'no-writes'}}")
    differ.check(FLUSH, load(code), "SET x 0", "CONFIG SET maxmemory 1",
                 "FCALL w 0", "FCALL a 0", "FCALL r 0",
                 "CONFIG SET maxmemory 0", "FCALL w 0", "GET x")


def test_acl_inside_functions(differ):
    differ.check(
        FLUSH, load(LIB1), load(LIB_RO),
        "ACL SETUSER fnuser on nopass +fcall +fcall_ro +get ~*",
        "AUTH fnuser x", "FCALL get1 1 k", "FCALL set1 1 k v",
        "AUTH default x", "ACL DELUSER fnuser")


def test_acl_key_permissions_and_getkeys(differ):
    differ.check(
        FLUSH, load(LIB1), load(LIB_RO),
        "COMMAND GETKEYS FCALL get1 2 a b c", "COMMAND GETKEYS FCALL_RO get1 0 x",
        "COMMAND GETKEYS FCALL get1 5 a",
        "ACL SETUSER keyuser on nopass +@all ~allowed*",
        "AUTH keyuser x", "FCALL get1 1 other", "FCALL get1 1 allowed1",
        "FCALL set1 1 allowed2 v", "FCALL get1 0", "FUNCTION DELETE libro",
        "AUTH default x", "ACL SETUSER nofunc on nopass +@all -function ~*",
        "AUTH nofunc x", "FUNCTION LIST", "FCALL set1 1 k v",
        "AUTH default x", "ACL DELUSER keyuser nofunc")


def test_functions_in_multi(differ):
    differ.check(FLUSH, "MULTI", load(LIB1), "FCALL set1 1 k v", "FUNCTION DELETE lib1",
                 "EXEC", "GET k", "FUNCTION STATS")


# -- LIST / DELETE / FLUSH / STATS / HELP ------------------------------------------------
def test_list(differ):
    differ.check(
        FLUSH, "FUNCTION LIST", load(LIB1), load(LIB_RO), load(LIB_ALL_FLAGS),
        "FUNCTION LIST LIBRARYNAME lib1", "FUNCTION LIST libraryname LIBR* withcode",
        "FUNCTION LIST WITHCODE LIBRARYNAME flagged", "FUNCTION LIST LIBRARYNAME nomatch",
        "FUNCTION LIST LIBRARYNAME", "FUNCTION LIST foo", "FUNCTION LIST WITHCODE WITHCODE",
        "FUNCTION LIST LIBRARYNAME a LIBRARYNAME b")


def test_delete_flush_stats_help(differ):
    differ.check(
        FLUSH, load(LIB1), load(LIB_RO), "FUNCTION STATS", "FUNCTION DELETE lib1",
        "FUNCTION DELETE lib1", "FUNCTION DELETE", "FUNCTION DELETE a b", "FCALL set1 0",
        "FUNCTION STATS", "FUNCTION FLUSH BAD", "FUNCTION FLUSH ASYNC", "FUNCTION FLUSH sync",
        "FUNCTION FLUSH a b", "function flush a b", "FUNCTION STATS", "FUNCTION STATS x", "FUNCTION HELP",
        "FUNCTION HELP x", "FUNCTION", "FUNCTION NOPE", "FUNCTION KILL", "FUNCTION KILL x")


def test_flushall_keeps_functions(differ):
    differ.check(FLUSH, load(LIB1), "FLUSHALL", "FCALL set1 1 k v")


# -- DUMP / RESTORE ------------------------------------------------------------------------
def test_dump_bytes_equal_redis(differ):
    differ.check(FLUSH, "FUNCTION DUMP", load(LIB1), "FUNCTION DUMP")


def test_restore_errors_and_policies(differ):
    differ.check(FLUSH, "FUNCTION RESTORE bad", "FUNCTION RESTORE bad FLUSH",
                 "FUNCTION RESTORE bad nope", "FUNCTION RESTORE a b c",
                 "function restore a b c")
    real, mini = (redis.Redis(port=p) for p in (differ.ports["redis"], differ.ports["miniredis"]))
    for r in (real, mini):
        r.function_flush()
        r.function_load(LIB1)
        r.function_load(LIB_RO)
    payload = real.function_dump()
    assert mini.function_dump() != b""
    for r in (real, mini):
        r.function_delete("libro")
    lib1_only = real.function_dump()
    for r in (real, mini):
        r.function_flush()
    cases = [
        # (with two colliding libraries Redis names the first in its hash order: one here)
        ["FUNCTION", "RESTORE", payload], ["FUNCTION", "RESTORE", lib1_only],
        ["FUNCTION", "RESTORE", lib1_only, "APPEND"],
        ["FUNCTION", "RESTORE", payload, "replace"],
        ["FUNCTION", "DELETE", "lib1"],
        load(lib("other", "redis.register_function('set1', function() return 0 end)")),
        ["FUNCTION", "RESTORE", lib1_only, "REPLACE"],
        ["FUNCTION", "RESTORE", payload, "FLUSH"], "FCALL set1 1 k v", "FCALL get1 1 k",
        ["FUNCTION", "RESTORE", payload[:-1] + bytes([payload[-1] ^ 1])],
        ["FUNCTION", "RESTORE", _payload(b"\x00" + payload[1:-10])],
        ["FUNCTION", "RESTORE", _payload(payload[:-10] + b"\xf5")],
        ["FUNCTION", "RESTORE", _payload(b"\xf5\x05#!lua")],
        ["FUNCTION", "RESTORE", _payload(b"\xf5\x0a#!lua name")],
        ["FUNCTION", "RESTORE", _payload(b"\xf5\x0d#!lua name=x\n")],
        ["FUNCTION", "RESTORE", _payload(b"")], "FUNCTION LIST LIBRARYNAME lib1",
        # 7.0-rc's format: name, engine, description, code without its shebang line
        ["FUNCTION", "RESTORE", _payload(_rc_code()), "FLUSH"],
        "FCALL rc 0", ["FUNCTION", "RESTORE", _payload(b"\xf6\x03rc1\x03LUA")],
    ]
    differ.check(FLUSH, *cases)


def _rc_code() -> bytes:
    code = b"\nredis.register_function('rc', function() return 7 end)"
    return b"\xf6\x03rc1\x03LUA\x01\x04desc" + bytes([len(code)]) + code


def _payload(body: bytes) -> bytes:
    """``body`` with the RDB version and a right CRC64: a DUMP payload Redis checks."""
    import struct
    from miniredis.persistence import rdb
    body += struct.pack("<H", 10)
    return body + struct.pack("<Q", rdb.crc64(0, body))


def test_dump_crosses_servers(differ):
    real, mini = (redis.Redis(port=p) for p in (differ.ports["redis"], differ.ports["miniredis"]))
    for source, target in ((real, mini), (mini, real)):
        source.function_flush()
        target.function_flush()
        source.function_load(LIB1)
        source.function_load(LIB_ALL_FLAGS)
        assert target.function_restore(source.function_dump()) in (True, b"OK")
        assert target.fcall("set1", 1, "crossed", "yes") in (True, b"OK")
        assert sorted(_names(target)) == [b"flagged", b"lib1"]
    long_lib = lib("long", "local s = '%s'" % ("abc" * 50),
                   "redis.register_function('long', function() return s end)")
    mini.function_flush()
    real.function_flush()
    mini.function_load(long_lib)
    real.function_load(long_lib)
    assert mini.function_dump() == real.function_dump()      # LZF as Redis's
    real.function_flush()
    mini.function_flush()


def test_command_metadata(differ):
    for name in ("fcall", "fcall_ro", "function|load", "function|delete", "function|list",
                 "function|flush", "function|dump", "function|restore", "function|kill",
                 "function|stats", "function|help", "function"):
        assert command_metadata(differ.ports["miniredis"], name) == \
            command_metadata(differ.ports["redis"], name), name


def test_info_memory_counts(mini):
    r = redis.Redis(port=mini.port)
    r.function_flush()
    r.function_load(LIB1)
    r.function_load(LIB_ALL_FLAGS)
    info = r.info("memory")
    assert info["number_of_functions"] == 2
    assert info["number_of_libraries"] == 2
    assert info["used_memory_functions"] > 0
    r.function_flush()
    assert r.info("memory")["number_of_functions"] == 0


# -- busy functions, FUNCTION KILL, FUNCTION STATS -----------------------------------------
def _busy(port: int, kill_with: str):
    """Start an endless function on ``port``; the replies seen meanwhile."""
    r = redis.Redis(port=port)
    r.function_flush()
    r.config_set("busy-reply-threshold", 100)
    r.function_load(lib("busy", "redis.register_function{function_name='spin', "
                                "callback=function() while true do end end, "
                                "flags={'no-writes'}}"))
    result = {}

    def run():
        try:
            redis.Redis(port=port).fcall("spin", 0)
        except redis.ResponseError as exc:
            result["fcall"] = str(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    conn = RawConnection(port)
    try:
        result["ping"] = conn.call("PING")
        result["script kill"] = conn.call("SCRIPT", "KILL")
        stats = parse_raw(conn.call("FUNCTION", "STATS"))
        result["stats"] = stats[1][1][1]             # running_script's map
        result["kill"] = conn.call(*kill_with.split())
    finally:
        conn.close()
    thread.join(10)
    r.config_set("busy-reply-threshold", 5000)
    r.function_flush()
    return result


def test_busy_function_and_kill(differ):
    got = {name: _busy(port, "FUNCTION KILL") for name, port in differ.ports.items()}
    for side in got.values():
        running = side.pop("stats")
        assert running[1][1] == b"spin" and running[3][1][0][1].upper() == b"FCALL"
    assert got["miniredis"] == got["redis"]
    assert got["redis"]["ping"].startswith(b"-BUSY Redis is busy running a script. "
                                           b"You can only call FUNCTION KILL")


def _busy_eval(port: int):
    """An endless EVAL: what FUNCTION KILL and FUNCTION STATS answer meanwhile."""
    r = redis.Redis(port=port)
    r.config_set("busy-reply-threshold", 100)
    result = {}

    def run():
        try:
            redis.Redis(port=port).eval("#!lua flags=no-writes\nwhile true do end", 0)
        except redis.ResponseError as exc:
            result["eval"] = str(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    conn = RawConnection(port)
    try:
        result["function kill"] = conn.call("FUNCTION", "KILL")
        result["function stats"] = conn.call("FUNCTION", "STATS")
        result["kill"] = conn.call("SCRIPT", "KILL")
    finally:
        conn.close()
    thread.join(10)
    r.config_set("busy-reply-threshold", 5000)
    return result


def test_function_kill_and_stats_refuse_a_busy_eval(differ):
    got = {name: _busy_eval(port) for name, port in differ.ports.items()}
    assert got["miniredis"] == got["redis"]
    assert got["redis"]["function kill"].startswith(b"-BUSY")


def test_debug_reload_keeps_functions(differ):
    differ.check(FLUSH, load(LIB1), "SET k v", "DEBUG RELOAD", "FCALL set1 1 k w", "GET k",
                 "FUNCTION STATS")


# -- persistence ------------------------------------------------------------------------------
def test_rdb_round_trip_with_redis_server(tmp_path):
    directory = str(tmp_path)
    mini = MiniProcess(directory)
    try:
        r = redis.Redis(port=mini.port)
        r.function_load(LIB1)
        r.function_load(LIB_ALL_FLAGS)
        r.set("k", "v")
        r.save()
    finally:
        mini.stop()
    mini = MiniProcess(directory)
    try:
        r = redis.Redis(port=mini.port)
        assert r.fcall("f", 0) == 1
        assert r.fcall("set1", 1, "k2", "v2") in (True, b"OK")
    finally:
        mini.stop()
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--dir", directory,
                             "--save", ""], stdout=subprocess.DEVNULL)
    try:
        wait_serving(proc, port, 10, "redis-server")
        real = redis.Redis(port=port)
        for _ in range(100):
            try:
                real.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        assert real.fcall("f", 0) == 1
        real.function_delete("flagged")
        real.function_load(LIB_RO)
        real.save()
    finally:
        proc.terminate()
        proc.wait(10)
    mini = MiniProcess(directory)
    try:
        r = redis.Redis(port=mini.port)
        assert sorted(_names(r)) == [b"lib1", b"libro"]
        assert r.fcall_ro("get1", 1, "k") == b"v"
    finally:
        mini.stop()


def test_aof_logs_function_commands_and_rewrite_loads_libraries(tmp_path):
    directory = str(tmp_path)
    mini = MiniProcess(directory, "--appendonly", "yes")
    try:
        r = redis.Redis(port=mini.port)
        r.function_load(LIB1)
        r.function_load(LIB_RO)
        r.fcall("set1", 1, "k", "v")
        r.function_delete("libro")
        time.sleep(1.2)
    finally:
        mini.stop()
    logged = b"".join(open(path, "rb").read() for path in aof_files(directory))
    assert b"FUNCTION" in logged and b"fcall" not in logged.lower()
    # (a RESP base: its FUNCTION LOAD commands are checked below)
    mini = MiniProcess(directory, "--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    try:
        r = redis.Redis(port=mini.port)
        assert _names(r) == [b"lib1"]
        assert r.get("k") == b"v"
        r.bgrewriteaof()
        from tests.aofutil import wait_rewrite_done
        wait_rewrite_done(r)
    finally:
        mini.stop()
    base = [p for p in aof_files(directory) if ".base." in p]
    assert base and b"FUNCTION" in open(base[0], "rb").read()
    mini = MiniProcess(directory, "--appendonly", "yes")
    try:
        r = redis.Redis(port=mini.port)
        assert r.fcall("set1", 1, "k", "w") in (True, b"OK")
        assert r.get("k") == b"w"
    finally:
        mini.stop()


# -- the sandbox of the runtime of functions -----------------------------------------------
def test_functions_runtime_holds_no_python_object():
    """The walk of tests/test_lua_sandbox.py over the runtime of functions, a library
    loaded: its load API, its environment and its registered callbacks."""
    from miniredis.scripting.functions import Registry
    from miniredis.scripting.lua import LuaEngine
    from tests.test_lua_sandbox import _walk

    def call(argv):
        return True, engine.to_lua([b"a", 1, None, [b"nested"]])

    registry = Registry(lambda: engine)
    engine = LuaEngine(call, lambda level, message: None, "7.0.15",
                       register=registry.register)
    registry.create(LIB1.encode(), False)
    registry.create(LIB_ALL_FLAGS.encode(), False)
    runtime = engine.runtime
    callbacks = runtime.table_from({f.name: f.function
                                    for f in registry.functions.values()})
    some = next(iter(registry.functions.values())).function
    library_env = engine.debug.getfenv(some)
    found, _, _ = _walk(engine, {b"_G": runtime.globals(), b"functions": callbacks,
                                 b"library_env": library_env,
                                 b"library_env<mt>": engine.debug.getmetatable(library_env),
                                 b"string<mt>": engine.debug.getmetatable(b"")})
    assert list(found.values()) == []


def test_hostile_restore_payloads_get_errors(mini):
    """Seeded mutations of a real payload (CRC made right): an error or OK, never a
    dead server or a traceback."""
    import random
    r = redis.Redis(port=mini.port)
    r.function_flush()
    r.function_load(LIB1)
    r.function_load(LIB_ALL_FLAGS)
    body = r.function_dump()[:-10]
    r.function_flush()
    rng = random.Random(7)
    for _ in range(300):
        data = bytearray(body)
        for _ in range(rng.randrange(1, 4)):
            choice = rng.random()
            if choice < 0.5 and data:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif choice < 0.75:
                start = rng.randrange(len(data) + 1)
                del data[start:start + rng.randrange(1, 8)]
            else:
                data[rng.randrange(len(data) + 1):0] = bytes([rng.randrange(256)])
        try:
            r.function_restore(_payload(bytes(data)), "FLUSH")
        except redis.ResponseError as exc:
            assert "internal error" not in str(exc).lower()
    assert r.ping()
    r.function_flush()
