"""Server and connection commands: CLIENT, INFO, CONFIG, COMMAND, TIME, DEBUG, SLOWLOG..."""
from __future__ import annotations

import re
import socket
import time
from typing import List

import pytest

from miniredis import Server
from tests.harness import (RawConnection, RedisProcess, SameType, Unordered,
                           compare_scenario, encode_command, parse_raw,
                           redis_server_or_skip)


def test_client_name_id_errors(differ):
    differ.check(
        "CLIENT GETNAME", "CLIENT SETNAME worker-1", "CLIENT GETNAME", "CLIENT SETNAME ''",
        "CLIENT GETNAME", "CLIENT SETNAME 'a b'", "CLIENT SETNAME", SameType("CLIENT ID"),
        "CLIENT KILL 1.2.3.4:5", "CLIENT KILL ID abc", "CLIENT KILL ID 999999",
        "CLIENT KILL ID 0", "CLIENT KILL FOO bar", "CLIENT KILL ID", "CLIENT REPLY foo",
        "CLIENT UNBLOCK abc", "CLIENT UNBLOCK 999999", "CLIENT NO-EVICT foo",
        "CLIENT NO-EVICT on", "CLIENT NO-EVICT off", "CLIENT FOO", "CLIENT",
        "CLIENT LIST TYPE foo", "CLIENT LIST ID abc", "CLIENT LIST FOO",
        "CLIENT LIST ID 999999")


def test_client_reply_modes(differ):
    commands = [["SELECT", "9"], ["CLIENT", "REPLY", "SKIP"], ["SET", "a", "1"],
                ["GET", "a"], ["CLIENT", "REPLY", "OFF"], ["SET", "a", "2"],
                ["CLIENT", "REPLY", "ON"], ["GET", "a"], ["DEL", "a"]]
    outputs = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        conn.send_raw(b"".join(encode_command(c) for c in commands))
        time.sleep(0.2)
        conn.sock.settimeout(0.5)
        outputs[name] = conn.sock.recv(65536)
        conn.close()
    assert outputs["miniredis"] == outputs["redis"]


def test_client_list_and_info_format(mini):
    conn = RawConnection(mini.port)
    conn.call("CLIENT", "SETNAME", "lister")
    info = parse_raw(conn.call("CLIENT", "INFO"))[1].decode()
    assert re.match(r"id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=\d+ "
                    r"name=lister age=\d+ idle=\d+ flags=N db=0 .* cmd=client\|info "
                    r"user=default redir=-1 resp=2 lib-name= lib-ver=\n$", info), info
    listing = parse_raw(conn.call("CLIENT", "LIST"))[1].decode()
    assert "name=lister" in listing and listing.endswith("\n")
    conn.close()


def test_client_kill_by_id_and_addr(mini):
    victim = RawConnection(mini.port)
    victim_id = int(victim.call("CLIENT", "ID")[1:-2])
    killer = RawConnection(mini.port)
    assert killer.call("CLIENT", "KILL", "ID", str(victim_id)) == b":1\r\n"
    assert victim.closed_by_peer()
    other = RawConnection(mini.port)
    addr = re.search(rb"addr=(\S+)", other.call("CLIENT", "INFO")).group(1)
    assert killer.call("CLIENT", "KILL", addr) == b"+OK\r\n"
    assert other.closed_by_peer()
    assert killer.call("CLIENT", "KILL", "ID", str(killer.call("CLIENT", "ID")[1:-2].decode()),
                       "SKIPME", "yes") == b":0\r\n"
    for conn in (victim, other, killer):
        conn.close()


def test_client_setinfo(mini):
    conn = RawConnection(mini.port)
    assert conn.call("CLIENT", "SETINFO", "LIB-NAME", "redis-py") == b"+OK\r\n"
    assert conn.call("CLIENT", "SETINFO", "LIB-VER", "8.1.0") == b"+OK\r\n"
    assert conn.call("CLIENT", "SETINFO", "FOO", "x").startswith(b"-ERR")
    conn.close()


def test_info_sections(mini):
    conn = RawConnection(mini.port)
    conn.call("SET", "infokey", "v")
    text = parse_raw(conn.call("INFO"))[1].decode()
    for header in ("# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
                   "# Replication", "# CPU", "# Keyspace"):
        assert header in text
    assert "redis_version:7.0.15" in text and "role:master" in text
    assert "tcp_port:%d" % mini.port in text
    assert re.search(r"db0:keys=\d+,expires=\d+,avg_ttl=0", text)
    assert "# Commandstats" not in text
    everything = parse_raw(conn.call("INFO", "everything"))[1].decode()
    assert re.search(r"cmdstat_set:calls=\d+,usec=\d+,usec_per_call=[\d.]+,"
                     r"rejected_calls=\d+,failed_calls=\d+", everything)
    only = parse_raw(conn.call("INFO", "clients", "cpu"))[1].decode()
    assert only.startswith("# Clients\r\n") and "# CPU" in only and "# Server" not in only
    assert parse_raw(conn.call("INFO", "nosuchsection"))[1] == b""
    conn.call("DEL", "infokey")
    conn.close()


def test_info_verbatim_in_resp3(mini):
    conn = RawConnection(mini.port)
    conn.call("HELLO", "3")
    assert conn.call("INFO", "server").startswith(b"=")
    conn.close()


def test_config(differ):
    differ.check(
        "CONFIG GET maxclients", "CONFIG GET databases", "CONFIG GET nosuch",
        "CONFIG SET foo bar", "CONFIG SET maxclients abc", "CONFIG SET databases 3",
        "CONFIG SET hz", "CONFIG SET maxclients 100 maxclients 200",
        "CONFIG SET slowlog-max-len 64", "CONFIG GET slowlog-max-len",
        "CONFIG SET slowlog-max-len 128", "CONFIG GET", "CONFIG FOO", "CONFIG RESETSTAT x")


def test_config_glob(mini):
    conn = RawConnection(mini.port)
    kind, items = parse_raw(conn.call("CONFIG", "GET", "maxmemory*", "hz"))
    names = {v for i, (_, v) in enumerate(items) if i % 2 == 0}
    assert {b"maxmemory", b"maxmemory-policy", b"hz"} <= names
    conn.close()


def test_command_family(differ):
    differ.check("COMMAND GETKEYS get", "COMMAND GETKEYS ping", "COMMAND GETKEYS foo",
                 "COMMAND GETKEYS get a b", "COMMAND GETKEYS mset a 1 b 2",
                 "COMMAND GETKEYS set k v", "COMMAND INFO nosuchcommand",
                 "COMMAND FOO", "COMMAND LIST FILTERBY foo x",
                 "COMMAND GETKEYS lmpop 2 a b left", "COMMAND GETKEYS rename a b")


def test_command_info_and_count(mini):
    conn = RawConnection(mini.port)
    count = int(conn.call("COMMAND", "COUNT")[1:-2])
    assert count > 80
    kind, items = parse_raw(conn.call("COMMAND", "INFO", "get", "nosuch"))
    get_info = items[0][1]
    assert get_info[0] == (b"$", b"get") and get_info[1] == (b":", b"2")
    assert items[1] == (b"*", None) or items[1][1] is None
    kind, names = parse_raw(conn.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "lp*"))
    assert {v for _, v in names} == {b"lpush", b"lpop", b"lpos", b"lpushx"}
    kind, everything = parse_raw(conn.call("COMMAND"))
    assert len(everything) == count
    conn.close()


def test_time_lastsave_debug(differ):
    differ.check(SameType("TIME"), SameType("LASTSAVE"), "DEBUG OBJECT missing",
                 "DEBUG SLEEP 0", "DEBUG SLEEP abc")


def test_slowlog(mini):
    conn = RawConnection(mini.port)
    conn.call("SLOWLOG", "RESET")
    conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        conn.call("SET", "slow", "x")
        kind, entries = parse_raw(conn.call("SLOWLOG", "GET", "1"))
        assert len(entries) == 1
        entry = entries[0][1]
        assert entry[3][1] == ((b"$", b"SET"), (b"$", b"slow"), (b"$", b"x"))
        assert int(conn.call("SLOWLOG", "LEN")[1:-2]) >= 1
        assert conn.call("SLOWLOG", "GET", "-2").startswith(b"-ERR")
    finally:
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        conn.call("SLOWLOG", "RESET")
        conn.close()


def test_auth_gating():
    with Server(port=0, requirepass="secret") as server:
        conn = RawConnection(server.port)
        assert conn.call("GET", "a") == b"-NOAUTH Authentication required.\r\n"
        assert conn.call("AUTH", "wrong").startswith(b"-WRONGPASS")
        assert conn.call("AUTH", "secret") == b"+OK\r\n"
        assert conn.call("GET", "a") == b"$-1\r\n"
        conn.close()


def test_shutdown_stops_server():
    server = Server(port=0)
    server.start()
    conn = RawConnection(server.port)
    conn.send("SHUTDOWN", "NOSAVE")
    assert conn.closed_by_peer()
    conn.close()
    server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_maxclients():
    with Server(port=0, maxclients=2) as server:
        first, second = RawConnection(server.port), RawConnection(server.port)
        assert first.call("PING") == b"+PONG\r\n"
        third = RawConnection(server.port)
        time.sleep(0.1)
        assert third.sock.recv(100) == b"-ERR max number of clients reached\r\n"
        assert second.call("PING") == b"+PONG\r\n"
        for conn in (first, second, third):
            conn.close()


def test_help_and_non_tracking_client(differ):
    differ.check("SLOWLOG HELP", "CLIENT GETREDIR", "CLIENT TRACKINGINFO",
                 "CLIENT CACHING yes", "CLIENT LIST ID 0", "CLIENT LIST ID -5",
                 "SHUTDOWN ABORT", "SHUTDOWN ABORT NOW", "CLIENT HELP x", "ECHO hi",
                 "SLOWLOG GET 1 2", "SLOWLOG get x", "AUTH foo", "AUTH a b", "AUTH a b c")


def test_config_values_and_errors(differ):
    # Every sequence restores what it changes: both servers live for the whole session.
    differ.check(
        "CONFIG SET appendfsync foo", "CONFIG SET loglevel foo", "CONFIG SET maxmemory -1",
        "CONFIG SET maxmemory ' 5'", "CONFIG SET maxmemory 9999999999gb",
        "CONFIG GET maxmemory", "CONFIG SET maxmemory mb", "CONFIG GET maxmemory",
        "CONFIG SET hz 1000", "CONFIG GET hz", "CONFIG SET hz 0", "CONFIG GET hz",
        "CONFIG SET hz 10", "CONFIG SET maxclients 0", "CONFIG SET timeout 05",
        "CONFIG SET timeout +5", "CONFIG SET timeout -0", "CONFIG SET maxclients 99999999999999999999",
        "CONFIG SET dbfilename x.rdb", "CONFIG SET dir /tmp", "CONFIG SET enable-debug-command yes",
        "CONFIG SET save '0 0'", "CONFIG SET save '+5 0 10 3'", "CONFIG GET save",
        "CONFIG SET save ''",
        "CONFIG SET client-output-buffer-limit 'normal x 2 3'",
        "CONFIG SET client-output-buffer-limit 'replica 1 2 3 master 1 2 3'",
        "CONFIG SET client-output-buffer-limit 'replica 1mb 2 3'",
        "CONFIG GET client-output-buffer-limit",
        "CONFIG SET client-output-buffer-limit 'slave 268435456 67108864 60'",
        "CONFIG SET list-max-listpack-size -6", "CONFIG GET list-max-listpack-size",
        "CONFIG SET list-max-listpack-size -2",
        "CONFIG SET notify-keyspace-events 'g$lshzxetd'", "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events KEAmn", "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events nKl", "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events ''",
        "CONFIG SET lua-time-limit 1 busy-reply-threshold 2", "CONFIG GET lua-time-limit",
        "CONFIG SET busy-reply-threshold 5000", "CONFIG SET slowlog-log-slower-than -2",
        "CONFIG SET hz 5 foo", "CONFIG SET maxmemory-policy ALLKEYS-LRU hz x",
        "CONFIG GET maxmemory-policy", "CONFIG GET HZ", "CONFIG GET Lua-Time-Limit",
        "CONFIG GET hash-max-ziplist-entries", "CONFIG SET io-threads 2",
        "CONFIG SET hll-sparse-max-bytes 1k", "CONFIG GET hll-sparse-max-bytes",
        "CONFIG SET hll-sparse-max-bytes 3000", "CONFIG HELP x")


def test_config_get_globs(differ):
    differ.check(Unordered("CONFIG GET maxmemory hz maxmemory"),
                 Unordered("CONFIG GET *max-*-entries*"), Unordered("CONFIG GET HASH-*"),
                 Unordered("CONFIG GET list-max-*"), Unordered("CONFIG GET slowlog*"))


def _info_fields(port, section):
    conn = RawConnection(port)
    try:
        text = parse_raw(conn.call("INFO", section))[1].decode()
    finally:
        conn.close()
    return [line.split(":", 1)[0] if ":" in line else line for line in text.split("\r\n")]


@pytest.mark.parametrize("section", ["server", "clients", "memory", "persistence", "stats",
                                     "replication", "cpu", "modules", "cluster"])
def test_info_fields_match_redis(differ, section):
    # Values differ (pids, memory...), but the field names and their order must not.
    assert _info_fields(differ.ports["miniredis"], section) == \
        _info_fields(differ.ports["redis"], section)


def test_info_section_order_and_separators(mini):
    conn = RawConnection(mini.port)
    text = parse_raw(conn.call("INFO", "keyspace", "server", "SERVER"))[1].decode()
    assert text.startswith("# Server\r\n") and "\r\n\r\n# Keyspace\r\n" in text
    assert text.count("# Server") == 1 and text.endswith("\r\n")
    everything = parse_raw(conn.call("INFO", "everything"))[1].decode()
    headers = re.findall(r"^# (\w+)", everything, re.M)
    assert headers == ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                       "CPU", "Modules", "Commandstats", "Errorstats", "Latencystats",
                       "Cluster", "Keyspace"]
    assert "\r\n\r\n# Clients\r\n" in everything
    conn.close()


def test_command_info_matches_redis(differ):
    differ.check("COMMAND INFO get", "COMMAND INFO echo", "COMMAND INFO config|get",
                 "COMMAND INFO debug", "COMMAND INFO client|kill", "COMMAND INFO GET",
                 "COMMAND INFO config|resetstat", "COMMAND INFO command|count",
                 "COMMAND INFO quit auth hello", "COMMAND INFO nosuch|x",
                 "COMMAND HELP x")


def test_debug_matches_redis(differ):
    differ.check("DEBUG SLEEP", "DEBUG OBJECT", "DEBUG FOO", "DEBUG OBJECT a b",
                 "DEBUG SET-ACTIVE-EXPIRE", "DEBUG SET-ACTIVE-EXPIRE 1", "DEBUG",
                 "DEBUG OBJECT missing")
    shown = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        conn.call("SELECT", "9")
        lines = []
        for value in ("hello", "123", "-40000", "0123", "99999999999"):
            conn.call("SET", "dbg", value)
            reply = conn.call("DEBUG", "OBJECT", "dbg").decode()
            lines.append(re.sub(r"at:0x[0-9a-f]+|lru:\d+|lru_seconds_idle:\d+", "", reply))
        conn.call("DEL", "dbg")
        conn.close()
        shown[name] = lines
    assert shown["miniredis"] == shown["redis"]


def test_debug_command_can_be_disabled():
    with Server(port=0, enable_debug_command="no") as server:
        conn = RawConnection(server.port)
        assert conn.call("DEBUG", "SLEEP", "0").startswith(b"-ERR DEBUG command not allowed")
        conn.close()


def _protected_traces(port: int) -> list:
    conn = RawConnection(port)
    try:
        conn.call("CONFIG", "RESETSTAT")
        replies = [conn.call(*command.split()) for command in (
            "MODULE LOAD x", "MODULE LOADEX x ARGS 1", "MODULE UNLOAD x", "MODULE LIST",
            "MODULE LOAD", "DEBUG SLEEP 0", "DEBUG")]
        replies.append(conn.call("MULTI") + conn.call("MODULE", "LOAD", "x") +
                       conn.call("GET", "k") + conn.call("EXEC"))
        replies.append(conn.call("MULTI") + conn.call("DEBUG", "SLEEP", "0") +
                       conn.call("EXEC"))
        stats = conn.call("INFO", "commandstats").decode()
        replies.append(sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                              for line in stats.split() if line.startswith("cmdstat_")
                              and not line.startswith("cmdstat_config")))
        replies.append(conn.call("INFO", "errorstats"))
        return replies
    finally:
        conn.close()


def test_protected_commands_are_refused_before_they_run():
    """DEBUG (enable-debug-command) and MODULE LOAD/LOADEX/UNLOAD
    (enable-module-command) refused as Redis's processCommand refuses them: after the
    arity check, as rejected calls (not failed ones), and inside MULTI when queued,
    which dooms the transaction (EXECABORT)."""
    real = RedisProcess(redis_server_or_skip(), ["--enable-debug-command", "no"])
    try:
        with Server(port=0, enable_debug_command="no") as server:
            assert _protected_traces(server.port) == _protected_traces(real.port)
    finally:
        real.stop()


def test_config_get_port_and_dir(mini):
    conn = RawConnection(mini.port)
    kind, items = parse_raw(conn.call("CONFIG", "GET", "port"))
    assert items[1][1] == str(mini.port).encode()
    kind, items = parse_raw(conn.call("CONFIG", "GET", "dir"))
    assert items[1][1].startswith(b"/")
    conn.close()


def test_getkeys_of_commands_with_movable_keys(differ):
    differ.check('COMMAND GETKEYS EVAL "return 1" 0', 'COMMAND GETKEYS EVAL "return 1" 1 k',
                 "COMMAND GETKEYS SINTERCARD 0 a", "COMMAND GETKEYS SINTERCARD 5 a",
                 "COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1", "COMMAND GETKEYS LMPOP 0 a LEFT",
                 "COMMAND GETKEYS LMPOP 2 a b LEFT", "COMMAND GETKEYS BLMPOP 0 1 a LEFT",
                 "COMMAND GETKEYS XREAD STREAMS a b 0 0", "COMMAND GETKEYS SET a",
                 "COMMAND GETKEYS GET a", "COMMAND GETKEYS ZUNIONSTORE d 0 a",
                 "COMMAND GETKEYS ZUNIONSTORE d 2 a", "COMMAND GETKEYS ZUNION 2 a b",
                 "COMMAND GETKEYS ZMPOP 1 a MIN", "COMMAND GETKEYS ZMPOP 3 a MIN")


def test_commandstats_of_rejected_subcommands(differ):
    """A subcommand's bad arity counts as rejected on the subcommand (cmdstat_client|
    setname), an unknown subcommand counts nowhere (redis-py sends several on connect),
    a container without its subcommand counts on the container."""
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        for command in (["CLIENT", "SETNAME"], ["CLIENT", "NOSUCH"], ["CONFIG"],
                        ["CONFIG", "nosuch", "x"], ["GET"], ["COMMAND", "nosuch"],
                        ["XINFO", "STREAM"], ["OBJECT", "nosuch", "k"]):
            admin.call(*command)
        text = parse_raw(admin.call("INFO", "commandstats"))[1].decode()
        return sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                      for line in text.split("\r\n")
                      if line.startswith("cmdstat_") and "resetstat" not in line
                      and not line.startswith(("cmdstat_select", "cmdstat_hello")))

    compare_scenario(differ, scenario)


def _commandstats(conn: RawConnection) -> List[str]:
    text = parse_raw(conn.call("INFO", "commandstats"))[1].decode()
    return sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                  for line in text.split("\r\n")
                  if line.startswith("cmdstat_") and not line.startswith("cmdstat_config"))


def test_error_texts_name_arguments_up_to_a_nul(differ):
    """Redis prints an argument into an error text with %s: it ends at a NUL."""
    differ.check(
        ["DEBUG", "x\0y"], ["FUNCTION", "LOAD", "\0", "#!lua name=l\nreturn 1"],
        ["FUNCTION", "LIST", "&c\0"], ["SET", "hll", "x"], ["PFDEBUG", "x\0y", "hll"],
        ["CLIENT", "LIST", "TYPE", "x\0y"], ["CLIENT", "KILL", "TYPE", "x\0y"],
        ["CLIENT", "KILL", "USER", "n\0o"], ["LATENCY", "GRAPH", "a\0b"],
        ["SCAN", "1\0", "x"], ["SCAN", "0\0x"], ["REPLCONF", "x\0y", "1"],
        ["EVAL", "return \0", "0"], ["ACL", "CAT", "x\0y"], ["CLIENT", "x\0y"],
        ["XINFO", "x\0y"], ["OBJECT", "x\0y", "k"], ["DEL", "hll"])


def test_refusals_before_the_call_are_rejected_calls(differ):
    """processCommand's refusals count as the command's rejected calls (rejectCommand),
    never as calls: NOAUTH, a RESP2 subscriber's command, a no-multi command (SAVE)
    queued in MULTI; the transaction's own errors (WATCH inside MULTI, nested MULTI)
    are failed calls."""
    traces = {}
    for name, port in differ.ports.items():
        admin = RawConnection(port)
        admin.call("CONFIG", "SET", "requirepass", "pw")
        admin.call("AUTH", "pw")
        # (connected after the password is set: not authenticated)
        conn, subscriber, queuer = (RawConnection(port) for _ in range(3))
        try:
            admin.call("CONFIG", "RESETSTAT")
            replies = [conn.call("GET", "k"), conn.call("CLIENT", "LIST"),
                       conn.call("AUTH", "pw")]
            subscriber.call("AUTH", "pw")
            subscriber.call("SUBSCRIBE", "ch")
            replies += [subscriber.call("GET", "k"), subscriber.call("PING")]
            queuer.call("AUTH", "pw")
            replies.append(queuer.call("MULTI") + queuer.call("SAVE") +
                           queuer.call("WATCH", "x") + queuer.call("EXEC"))
            replies.append(queuer.call("MULTI") + queuer.call("MULTI") + queuer.call("EXEC"))
            traces[name] = replies + _commandstats(admin) + [admin.call("INFO", "errorstats")]
        finally:
            admin.call("CONFIG", "SET", "requirepass", "")
            for conn_ in (admin, conn, subscriber, queuer):
                conn_.close()
    assert traces["miniredis"] == traces["redis"]


def test_bad_arity_counts_on_the_command_in_any_case(differ):
    """A wrong number of arguments is a rejected call of the command, however its name
    is spelled (lookupCommand ignores case); an unknown subcommand counts nowhere."""
    traces = {}
    for name, port in differ.ports.items():
        admin = RawConnection(port)
        try:
            admin.call("CONFIG", "RESETSTAT")
            replies = [admin.call("gEt", "x", "y"), admin.call("Get"), admin.call("GET", "x", "y"),
                       admin.call("cOnFiG", "gEt"), admin.call("Config", "nosuch")]
            traces[name] = replies + _commandstats(admin)
        finally:
            admin.close()
    assert traces["miniredis"] == traces["redis"]


@pytest.mark.parametrize("logo", ["no", "yes"])
def test_log_goes_to_standard_output_without_a_logfile(logo):
    """``logfile ""`` (the default) logs to standard output, as Redis does, with the
    lines tools wait for: "Running mode=standalone, port=N." (or, with always-show-logo,
    a banner with " PID: <pid>"), "Ready to accept connections", and "bye" at SHUTDOWN;
    nothing on standard error."""
    import subprocess
    import sys
    from tests.aofutil import ROOT
    from tests.harness import redis_server_or_skip, start_process
    outputs = {}
    for kind, argv in (("redis", [redis_server_or_skip()]),
                       ("miniredis", [sys.executable, "-m", "miniredis"])):
        proc, port = start_process(
            lambda port: argv + ["--port", str(port), "--save", "", "--bind", "127.0.0.1",
                                 "--always-show-logo", logo],
            None, kind, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        conn = RawConnection(port)
        conn.send("SHUTDOWN", "NOSAVE")
        out, err = proc.communicate(timeout=20)
        conn.close()
        started = (b" PID: %d" % proc.pid) if logo == "yes" else (
            b"Running mode=standalone, port=%d." % port)
        outputs[kind] = (started in out, b"Ready to accept connections" in out,
                         b"bye" in out, err)
    assert outputs["miniredis"] == outputs["redis"] == (True, True, True, b"")


def test_start_up_failures_logged_as_redis_does(tmp_path):
    """Redis listens and logs its banner (with the PID its test harness waits for)
    before it loads the data, so a damaged AOF is reported after " PID: <pid>"; a port
    in use ends with "Failed listening on port N (TCP), aborting." (the harness
    retries another port when it sees it)."""
    import subprocess
    import sys
    from tests.harness import free_port, redis_server_or_skip
    outcomes = {}
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    try:
        for kind, argv in (("redis", [redis_server_or_skip()]),
                           ("miniredis", [sys.executable, "-m", "miniredis"])):
            workdir = tmp_path / kind
            (workdir / "appendonlydir").mkdir(parents=True)
            (workdir / "appendonlydir" / "appendonly.aof.manifest").write_text(
                "file appendonly.aof.1.incr.aof seq 1 type i\n")
            (workdir / "appendonlydir" / "appendonly.aof.1.incr.aof").write_bytes(
                b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n")
            common = ["--save", "", "--bind", "127.0.0.1", "--always-show-logo", "yes",
                      "--dir", str(workdir), "--aof-load-truncated", "no"]
            damaged = subprocess.run(argv + common + ["--port", str(free_port()),
                                                      "--appendonly", "yes"],
                                     capture_output=True, timeout=30)
            pid_at = damaged.stdout.find(b" PID: ")
            failure_at = damaged.stdout.rfind(b"\n", 0, len(damaged.stdout.rstrip()))
            in_use = subprocess.run(argv + common + ["--port", str(busy)],
                                    capture_output=True, timeout=30)
            outcomes[kind] = (damaged.returncode, 0 <= pid_at < failure_at,
                              in_use.returncode,
                              in_use.stdout.rstrip().endswith(
                                  b"Failed listening on port %d (TCP), aborting." % busy),
                              b"Could not create server TCP listening socket "
                              b"127.0.0.1:%d: bind: Address already in use" % busy
                              in in_use.stdout)
    finally:
        holder.close()
    assert outcomes["miniredis"] == outcomes["redis"] == (1, True, 1, True, True)


@pytest.mark.parametrize("how", ["DEBUG SEGFAULT", "DEBUG PANIC", "DEBUG ASSERT", "SIGABRT",
                                 "SIGABRT without crash log"])
def test_crash_reports_as_redis(tmp_path, how):
    """Redis's bug report (a banner, what happened, the stack, INFO, the clients), then
    the death Redis dies: by SIGSEGV for DEBUG SEGFAULT, abort() (SIGABRT) for a panic
    or a failed assertion, the signal itself for a SIGABRT sent to it. No report with
    crash-log-enabled no."""
    import resource
    import signal
    import sys
    from tests.harness import redis_server_or_skip, start_process
    outcomes = {}
    for kind, argv in (("redis", [redis_server_or_skip()]),
                       ("miniredis", [sys.executable, "-m", "miniredis"])):
        directory = tmp_path / kind
        directory.mkdir()
        options = ["--save", "", "--bind", "127.0.0.1", "--dir", str(directory),
                   "--logfile", "log.txt", "--enable-debug-command", "yes",
                   "--crash-memcheck-enabled", "no"]
        if how.endswith("without crash log"):
            options += ["--crash-log-enabled", "no"]
        proc, port = start_process(
            lambda port: argv + ["--port", str(port)] + options, what=kind,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
        if how.startswith("DEBUG"):
            conn = RawConnection(port)
            conn.send(*how.split())
            assert conn.closed_by_peer(10)
        else:
            proc.send_signal(signal.SIGABRT)
        proc.wait(20)
        log = (directory / "log.txt").read_text()
        outcomes[kind] = (proc.returncode,
                          "=== REDIS BUG REPORT START" in log, "crashed by signal" in log,
                          "Guru Meditation: DEBUG PANIC called" in log,
                          "=== ASSERTION FAILED ===" in log, "------ INFO OUTPUT ------" in log,
                          "=== REDIS BUG REPORT END" in log)
    assert outcomes["miniredis"] == outcomes["redis"]


def test_crash_helpers_refused_by_an_embedded_server():
    """An embedded server must not kill the process it lives in."""
    with Server(port=0) as server:
        conn = RawConnection(server.port)
        assert conn.call("DEBUG", "SEGFAULT") == (
            b"-ERR unknown subcommand or wrong number of arguments for 'SEGFAULT'. "
            b"Try DEBUG HELP.\r\n")
        assert conn.call("PING") == b"+PONG\r\n"
        conn.close()


def test_port_zero_without_a_socket_listens_nowhere(tmp_path):
    """From the command line (a configuration), port 0 means no TCP: with no unix
    socket either, the server exits with Redis's "Configured to not listen anywhere,
    exiting."; with one, it serves the socket only. (Server(port=0) picks a free port.)"""
    import subprocess
    import sys
    from tests.harness import redis_server_or_skip
    outcomes = {}
    for kind, argv in (("redis", [redis_server_or_skip()]),
                       ("miniredis", [sys.executable, "-m", "miniredis"])):
        done = subprocess.run(argv + ["--port", "0", "--save", "", "--dir", str(tmp_path)],
                              capture_output=True, timeout=30)
        outcomes[kind] = (done.returncode, done.stdout.decode().rstrip().endswith(
            "Configured to not listen anywhere, exiting."))
    assert outcomes["miniredis"] == outcomes["redis"] == (1, True)


def test_oom_score_adj_as_redis(tmp_path):
    """oom-score-adj: /proc/<pid>/oom_score_adj follows the role's entry of
    oom-score-adj-values (relative to the start-up value, or absolute), and goes back
    with ``no``."""
    import os
    from tests.harness import ROOT, server_argv, start_process, stop_process
    if not os.path.exists("/proc/self/oom_score_adj"):
        pytest.skip("no /proc/<pid>/oom_score_adj on this system")
    outcomes = {}
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        proc, port = start_process(
            lambda port: server_argv(kind) + ["--port", str(port), "--bind", "127.0.0.1",
                                              "--save", "", "--dir", directory],
            what=kind, cwd=ROOT)
        path = "/proc/%d/oom_score_adj" % proc.pid

        def score() -> int:
            with open(path) as handle:
                return int(handle.read())
        try:
            base = score()
            conn = RawConnection(port)
            seen = []
            for command in (["CONFIG", "SET", "oom-score-adj-values", "10 20 30"],
                            ["CONFIG", "SET", "oom-score-adj", "yes"],
                            ["CONFIG", "SET", "oom-score-adj-values", "15 20 30"],
                            ["REPLICAOF", "localhost", "1"], ["REPLICAOF", "NO", "ONE"],
                            ["CONFIG", "SET", "oom-score-adj", "absolute"],
                            ["CONFIG", "SET", "oom-score-adj", "no"]):
                seen.append((conn.call(*command), score() - base))
            conn.close()
            outcomes[kind] = seen
        finally:
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"]


def _process_title(pid: int) -> str:
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
        return handle.read().split(b"\0")[0].decode()


def test_process_title_as_redis(tmp_path):
    """set-proc-title / proc-title-template: the title a server run from the command
    line gives its process (what ps shows), at start-up, after CONFIG SET of the
    template and of the port, and in a BGSAVE child; the template's checks. The
    program's name ({title}) is each server's own executable."""
    import os
    from tests.harness import ROOT, free_port, server_argv, start_process, stop_process
    if not os.path.exists("/proc/self/cmdline"):
        pytest.skip("no /proc/<pid>/cmdline on this system")
    outcomes = {}
    template = "TEST {title} {listen-addr} {port} {tls-port} {unixsocket} {config-file}"
    for kind in ("redis", "miniredis"):
        directory = str(tmp_path / kind)
        os.mkdir(directory)
        argv = server_argv(kind)
        proc, port = start_process(
            lambda port: argv + ["--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--dir", directory],
            what=kind, cwd=ROOT)
        moved = free_port()

        def title(pid: int = proc.pid) -> str:
            text = _process_title(pid).replace(argv[0], "PROGRAM")
            return text.replace(str(port), "PORT").replace(str(moved), "MOVED")
        try:
            conn = RawConnection(port)
            seen = [title()]
            for value in (template, "{invalid-var}", "{title}", "{unixsocket}", "{",
                          "{{x} {title}", "   {title}  {port} ", template):
                seen.append((conn.call("CONFIG", "SET", "proc-title-template", value),
                             title()))
            # (not UTF-8: Redis writes the bytes, miniredis U+FFFD; no error either way)
            seen.append(conn.call("CONFIG", "SET", "proc-title-template", b"\xff {title}"))
            # (longer than argv's memory: cut short by both, the server unharmed)
            seen.append(conn.call("CONFIG", "SET", "proc-title-template",
                                  "x" * 100000 + " {title}"))
            seen.append(title().startswith("xxxx"))
            conn.call("CONFIG", "SET", "proc-title-template", template)
            for i in range(50):
                conn.call("SET", "k%d" % i, "v")
            conn.call("CONFIG", "SET", "rdb-key-save-delay", "100000")
            conn.call("BGSAVE")
            deadline = time.monotonic() + 10
            children: List[str] = []
            while not children and time.monotonic() < deadline:
                with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as handle:
                    children = handle.read().split()
                time.sleep(0.02)
            time.sleep(0.2)     # (the child sets its title first thing)
            seen.append(title(int(children[0])))
            conn.call("CONFIG", "SET", "rdb-key-save-delay", "0")
            os.kill(int(children[0]), 9)
            conn.call("CONFIG", "SET", "port", str(moved))
            conn.close()
            seen.append(title())
            outcomes[kind] = seen
        finally:
            stop_process(proc, directory)
    assert outcomes["miniredis"] == outcomes["redis"]
    assert outcomes["redis"][-1] == "TEST PROGRAM 127.0.0.1:MOVED MOVED 0  -"


def test_log_lines_carry_the_role_of_the_process_that_wrote_them(tmp_path):
    """The letter after the pid, as Redis's serverLogRaw writes it: C for a forked
    child (a BGSAVE child's "DB saved on disk"), S while the server is a replica, M
    for a master."""
    import subprocess
    import sys
    from tests.aofutil import ROOT
    from tests.harness import free_port, redis_server_or_skip, start_process
    wanted = ("DB saved on disk", "Background saving terminated with success",
              "Connecting to MASTER", "MASTER MODE enabled")
    roles = {}
    for kind, argv in (("redis", [redis_server_or_skip()]),
                       ("miniredis", [sys.executable, "-m", "miniredis"])):
        workdir = tmp_path / kind
        workdir.mkdir()
        log = workdir / "server.log"
        proc, port = start_process(
            lambda port: argv + ["--port", str(port), "--save", "", "--bind", "127.0.0.1",
                                 "--dir", str(workdir), "--logfile", str(log)],
            None, kind, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        conn = RawConnection(port)
        try:
            conn.call("SET", "k", "v")
            conn.call("BGSAVE")
            deadline = time.monotonic() + 20
            while b"rdb_bgsave_in_progress:0" not in conn.call("INFO", "persistence") \
                    or b"Background saving terminated" not in log.read_bytes():
                assert time.monotonic() < deadline
                time.sleep(0.05)
            conn.call("REPLICAOF", "127.0.0.1", str(free_port()))
            time.sleep(0.3)
            conn.call("REPLICAOF", "NO", "ONE")
            conn.send("SHUTDOWN", "NOSAVE")
        finally:
            conn.close()
            proc.wait(timeout=20)
        found = {}
        for line in log.read_text().splitlines():
            match = re.match(r"\d+:([MSC]) .*? [.\-*#] (.*)", line)
            for text in wanted:
                if match and match.group(2).startswith(text):
                    found[text] = match.group(1)
        roles[kind] = found
    assert roles["miniredis"] == roles["redis"] == {
        "DB saved on disk": "C", "Background saving terminated with success": "M",
        "Connecting to MASTER": "S", "MASTER MODE enabled": "M"}
