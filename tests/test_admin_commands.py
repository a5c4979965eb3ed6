"""Server administration, differential against redis-server: MONITOR, CLIENT PAUSE,
ROLE, WAIT, MODULE, LOLWUT, COMMAND GETKEYSANDFLAGS, and a few behaviour fixes
(blocked commands' failed_calls, CLIENT REPLY and subscriptions, INFO counters, qbuf)."""
from __future__ import annotations

import re
import socket
import time

import pytest

from tests.harness import (RawConnection, command_metadata, compare_scenario,
                           connect, encode_command, parse_raw, wait_blocked)

NEW_COMMANDS = ["monitor", "client|pause", "client|unpause", "role", "wait", "module",
                "module|help", "module|list", "module|load", "module|loadex",
                "module|unload", "lolwut", "command|getkeysandflags"]


@pytest.mark.parametrize("name", NEW_COMMANDS)
def test_metadata(differ, name):
    redis_port, mini_port = differ.ports["redis"], differ.ports["miniredis"]
    assert command_metadata(mini_port, name) == command_metadata(redis_port, name)


def test_role_wait_module_errors(differ):
    differ.check(
        "ROLE", "ROLE x", "WAIT 0 0", "WAIT 0 100", "WAIT -3 0", "WAIT a 0", "WAIT 0 -1",
        "WAIT 0 a", "WAIT 0 1.5", "WAIT 1 20", "WAIT 2 10", "WAIT 0 9223372036854775807",
        "MODULE LIST", "MODULE LIST x", "MODULE HELP", "MODULE", "MODULE FOO",
        "MODULE LOAD /nonexistent.so", "MODULE LOADEX /x CONFIG a b ARGS c",
        "MODULE UNLOAD foo", "MODULE UNLOAD", "MODULE LOAD",
        "MULTI", "WAIT 1 0", "ROLE", "EXEC")


def test_lolwut(differ):
    # Rows 0 and 1 of LOLWUT 5's "Schotter" are never disturbed: exact art.
    differ.check("LOLWUT", "LOLWUT VERSION 7", "LOLWUT VERSION 1 a b", "LOLWUT x y",
                 "LOLWUT VERSION", "LOLWUT VERSION x", "LOLWUT VERSION 5 10 3 2",
                 "LOLWUT VERSION 5 40 5 2", "LOLWUT VERSION 5 1 1 1",
                 "LOLWUT VERSION 5 0 0 0", "LOLWUT VERSION 5 x",
                 "LOLWUT VERSION 5 2000 300 1", "LOLWUT VERSION 4 3", "LOLWUT VERSION -1",
                 "LOLWUT VERSION 5 1 200 1", "LOLWUT VERSION 5 2 3 1", "LOLWUT VERSION 5 3 1 1",
                 "LOLWUT VERSION 5 2 1 1", "LOLWUT VERSION 5 7 2 2")


def test_lolwut_random_rows_keep_the_trailer(mini):
    conn = RawConnection(mini.port)
    text = parse_raw(conn.call("LOLWUT", "VERSION", "5"))[1].decode()
    assert text.endswith("\nGeorg Nees - schotter, plotter on paper, 1968. "
                         "Redis ver. 7.0.15\n")
    assert len(text.split("\n")) > 10


def test_lolwut6_exact_where_nothing_is_random(differ):
    # One row is too low for any building: white cells, the same on both servers.
    differ.check("LOLWUT VERSION 6 10 1", "LOLWUT VERSION 6 0 0", "LOLWUT VERSION 6 -5 -9",
                 "LOLWUT VERSION 6 5000 1", "LOLWUT VERSION 6 3 1 extra",
                 "LOLWUT VERSION 6 abc", "LOLWUT VERSION 6 10 abc",
                 "LOLWUT VERSION 6 10 99999999999999999999", "LOLWUT VERSION 4294967302 2 1")


_GRAY_CELL = re.compile(r"\x1b\[0;(30;40|90;100|37;47|97;107)m \x1b\[0m")
_WHITE = "97;107"


def _grounded(column) -> bool:
    """White from the top down to a building, then never white again: buildings stand
    on the bottom row, and their walls and windows are never white."""
    top = 0
    while top < len(column) and column[top] == _WHITE:
        top += 1
    return _WHITE not in column[top:]


def _skyline_shape(text: str):
    """What any two of LOLWUT 6's random skylines of one size have in common: the
    trailer, rows x columns of gray cells and nothing else, a white top row (no
    building reaches it), and grounded columns."""
    art, _, trailer = text.rpartition("\nDedicated")
    lines = art.split("\n")
    rows = [_GRAY_CELL.findall(line) for line in lines]
    only_cells = all(_GRAY_CELL.sub("", line) == "" for line in lines)
    return (trailer, only_cells, len(rows), sorted({len(row) for row in rows}),
            set(rows[0]) == {_WHITE}, all(_grounded(col) for col in zip(*rows)))


@pytest.mark.parametrize("args", [(), ("80", "20"), ("30", "40"), ("7", "3"),
                                  ("200", "60"), ("1", "30"), ("2", "2")])
def test_lolwut6_skyline_shape(differ, args):
    # Redis seeds rand() from the clock and its pid: its skylines differ every time,
    # so the servers are compared on what every skyline of a size shares.
    shapes = {}
    for name, port in differ.ports.items():
        conn = RawConnection(port)
        try:
            texts = [parse_raw(conn.call("LOLWUT", "VERSION", "6", *args))[1].decode()
                     for _ in range(5)]
        finally:
            conn.close()
        shapes[name] = [_skyline_shape(text) for text in texts]
        if not args:
            # Five different skylines, using the four grays between them.
            shapes[name].append(len(set(texts)))
            shapes[name].append(sorted(set(_GRAY_CELL.findall("".join(texts)))))
    assert shapes["miniredis"] == shapes["redis"]


def test_command_getkeysandflags(differ):
    differ.check("COMMAND GETKEYSANDFLAGS GET a", "COMMAND GETKEYSANDFLAGS MGET a b c",
                 "COMMAND GETKEYSANDFLAGS GET",
                 "COMMAND GETKEYSANDFLAGS PING x", "COMMAND GETKEYSANDFLAGS FOO a",
                 "COMMAND GETKEYSANDFLAGS", "COMMAND HELP")


def test_client_pause_errors(differ):
    try:
        differ.check("CLIENT PAUSE", "CLIENT PAUSE abc foo", "CLIENT PAUSE -1",
                     "CLIENT PAUSE 1.5", "CLIENT PAUSE 1 all x", "CLIENT PAUSE abc",
                     "CLIENT PAUSE 0 WRITE", "CLIENT UNPAUSE", "CLIENT UNPAUSE x",
                     "CLIENT PAUSE 0 all", "CLIENT UNPAUSE")
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


# -- MONITOR ----------------------------------------------------------------------------
_MONITORED = [
    ["SET", "a", b'b\n\x01"\xc3\xa9\\\t\r\x07\x08 \x7f'], ["MULTI"], ["SET", "x", "1"],
    ["GET", "x"], ["EXEC"],
    # (scripts run by EXEC are shown before their own commands, found or not)
    ["MULTI"], ["EVAL", "return redis.call('get','x')", "0"],
    ["EVALSHA", "f" * 40, "0"], ["EVALSHA", "abc", "0"], ["FCALL", "nofunc", "0"],
    ["EVAL_RO", "return 1", "0"], ["FCALL_RO", "nofunc", "0"], ["EXEC"],
    ["EVAL", "redis.call('set','k','v') return redis.pcall('get', 'k')", "0"],
    ["EVAL", "return redis.pcall('nosuch')", "0"],
    ["AUTH", "foo"], ["AUTH", "u", "p"], ["HELLO", "2", "AUTH", "default", "x"],
    ["CONFIG", "GET", "maxmemory"], ["PING"], ["NOSUCH"], ["GET"], ["BLPOP", "l", "0.01"],
    ["MULTI"], ["GET"], ["EXEC"], ["MULTI"], ["DISCARD"], ["CLIENT", "LIST"],
    ["CLIENT", "ID"], ["DEBUG", "SLEEP", "0"], ["SELECT", "3"], ["SET", "n", "123"],
    ["INFO", "server"], ["SCRIPT", "LOAD", "return 1"],
    ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"], ["SLOWLOG", "LEN"],
    ["CLIENT", "SETNAME", "x"], ["MONITOR"], ["SELECT", "0"], ["DEL", "a", "k", "x"],
    ["SELECT", "3"], ["DEL", "n"], ["QUIT"]]


def _monitor_stream(port: int, protocol: int) -> bytes:
    monitor = RawConnection(port)
    if protocol == 3:
        monitor.call("HELLO", "3")
    assert monitor.call("MONITOR") == b"+OK\r\n"
    client = RawConnection(port)
    peer = "%s:%d" % client.sock.getsockname()
    for cmd in _MONITORED:
        client.send_raw(encode_command(cmd))
        time.sleep(0.01)
    time.sleep(0.3)
    monitor.sock.settimeout(0.3)
    data = b""
    try:
        while True:
            chunk = monitor.sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    monitor.close()
    client.close()
    lines = data.split(b"\r\n")
    for line in lines[:-1]:
        assert re.match(rb"^\+\d{10}\.\d{6} \[\d+ ", line), line
    data = data.replace(peer.encode(), b"PEER")
    return re.sub(rb"\+\d{10}\.\d{6} ", b"+T ", data)


@pytest.mark.parametrize("protocol", [2, 3])
def test_monitor_stream(differ, protocol):
    got = {name: _monitor_stream(port, protocol) for name, port in differ.ports.items()}
    assert got["miniredis"] == got["redis"]


def test_monitor_in_multi_and_twice(differ):
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        seen = [conn.call("MULTI"), conn.call("MONITOR"), conn.call("EXEC"),
                conn.call("MONITOR")]
        conn.send("MONITOR")          # ignored by a monitor: no reply at all
        conn.send("PING")
        seen.append(conn.read_raw())
        conn.close()
        return seen
    compare_scenario(differ, scenario)


def test_monitor_client_list_flag(mini):
    monitor = RawConnection(mini.port)
    monitor.call("MONITOR")
    listing = parse_raw(RawConnection(mini.port).call("CLIENT", "LIST"))[1]
    assert b" flags=O " in listing
    monitor.close()


# -- CLIENT PAUSE -------------------------------------------------------------------------
def _pause_scenario(mode: str):
    def scenario(port, protocol, admin):
        other = connect(port, protocol)
        reader = connect(port, protocol)
        seen = [admin.call("SET", "k", "1"), admin.call("CLIENT", "PAUSE", "400", mode)]
        started = time.time()
        # A write (held), pipelined with a read that must wait behind it.
        other.send_raw(encode_command(["INCR", "k"]) + encode_command(["GET", "k"]))
        time.sleep(0.1)
        if mode == "WRITE":
            seen.append(reader.call("GET", "k"))     # reads still run at once
            seen.append(time.time() - started < 0.3)
            seen.append(reader.call("PUBLISH", "ch", "m"))   # may replicate: held
        seen.append(other.read_raw())
        seen.append(other.read_raw())
        seen.append(time.time() - started >= 0.35)
        seen.append(admin.call("GET", "k"))
        other.close()
        reader.close()
        return seen
    return scenario


@pytest.mark.parametrize("mode", ["WRITE", "ALL"])
def test_client_pause_holds_until_deadline(differ, mode):
    try:
        compare_scenario(differ, _pause_scenario(mode), protocols=(2,))
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


def test_client_unpause_releases_in_order(differ):
    def scenario(port, protocol, admin):
        first, second = connect(port, protocol), connect(port, protocol)
        seen = [admin.call("CLIENT", "PAUSE", "100000", "WRITE")]
        first.send("RPUSH", "l", "a")
        time.sleep(0.05)
        second.send("RPUSH", "l", "b")
        time.sleep(0.05)
        # A later, shorter, less restrictive pause changes nothing.
        seen.append(admin.call("CLIENT", "PAUSE", "10", "WRITE"))
        seen.append(admin.call("LRANGE", "l", "0", "-1"))
        seen.append(admin.call("CLIENT", "UNPAUSE"))
        seen += [first.read_raw(), second.read_raw(), admin.call("LRANGE", "l", "0", "-1")]
        first.close()
        second.close()
        return seen
    try:
        compare_scenario(differ, scenario)
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


def test_client_pause_keeps_expiring_keys(differ):
    def scenario(port, protocol, admin):
        seen = [admin.call("SET", "e", "1", "PX", "50"),
                admin.call("CLIENT", "PAUSE", "400", "WRITE")]
        time.sleep(0.25)
        # Reads run during a WRITE pause: the key looks expired but is not deleted.
        seen += [admin.call("EXISTS", "e"), admin.call("DBSIZE"), admin.call("GET", "e"),
                 admin.call("DBSIZE")]
        time.sleep(0.3)
        seen += [admin.call("GET", "e"), admin.call("DBSIZE")]
        return seen
    try:
        compare_scenario(differ, scenario, protocols=(2,))
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


def test_write_pause_runs_scripts_declared_no_writes(differ):
    """A WRITE pause holds EVAL/FCALL by their declared flags: a no-writes shebang or
    function runs at once (pause.tcl's "RO scripts are not blocked by pause RO"); a
    script without a shebang, or one that may write, is held."""
    library = ("#!lua name=pauselib\nredis.register_function{function_name='ro', "
               "callback=function() return 'ro' end, flags={'no-writes'}}\n"
               "redis.register_function('rw', function() return 'rw' end)")

    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        seen = [admin.call("FUNCTION", "LOAD", "REPLACE", library),
                admin.call("SET", "x", "y"),
                admin.call("CLIENT", "PAUSE", "300", "WRITE")]
        started = time.time()
        seen.append(conn.call("EVAL", "#!lua flags=no-writes\nreturn 'unique ro'", "0"))
        seen.append(conn.call("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "x"))
        seen.append(conn.call("FCALL", "ro", "0"))
        seen.append(time.time() - started < 0.2)            # none of those waited
        seen.append(conn.call("FCALL", "rw", "0"))
        seen.append(time.time() - started >= 0.25)           # that one did
        seen.append(admin.call("CLIENT", "PAUSE", "300", "WRITE"))
        started = time.time()
        seen.append(conn.call("EVAL", "return 'compat'", "0"))
        seen.append(time.time() - started >= 0.25)           # no shebang: held
        seen.append(admin.call("FUNCTION", "DELETE", "pauselib"))
        conn.close()
        return seen
    try:
        compare_scenario(differ, scenario, protocols=(2,))
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


def test_client_pause_in_multi_exec_with_write(differ):
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        seen = [conn.call("MULTI"), conn.call("GET", "k")]
        seen.append(admin.call("CLIENT", "PAUSE", "200", "WRITE"))
        started = time.time()
        seen.append(conn.call("SET", "k", "v"))     # queued after the pause ends
        seen.append(time.time() - started > 0.15)
        seen.append(conn.call("EXEC"))
        conn.close()
        return seen
    try:
        compare_scenario(differ, scenario, protocols=(2,))
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


# -- behaviour fixes -----------------------------------------------------------------------
def _commandstat(admin, name: bytes) -> bytes:
    info = parse_raw(admin.call("INFO", "commandstats"))[1]
    for line in info.split(b"\r\n"):
        if line.startswith(b"cmdstat_%s:" % name):
            return re.sub(rb"usec=\d+,usec_per_call=[\d.]+,", b"", line)
    return b""


def test_blocked_move_onto_wrong_type(differ):
    def scenario(port, protocol, admin):
        admin.call("CONFIG", "RESETSTAT")
        waiter = connect(port, protocol)
        admin.call("SET", "dst", "x")
        waiter.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
        wait_blocked(admin, 1)
        seen = [admin.call("RPUSH", "src", "a"), waiter.read_raw(),
                admin.call("LRANGE", "src", "0", "-1"), _commandstat(admin, b"blmove")]
        waiter.send("BRPOPLPUSH", "src2", "dst", "0")
        wait_blocked(admin, 1)
        seen += [admin.call("RPUSH", "src2", "a"), waiter.read_raw(),
                 _commandstat(admin, b"brpoplpush")]
        waiter.close()
        return seen
    compare_scenario(differ, scenario)


@pytest.mark.parametrize("mode", ["OFF", "SKIP"])
def test_client_reply_off_keeps_subscription_notices(differ, mode):
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        batch = [["CLIENT", "REPLY", mode], ["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "c*"],
                 ["UNSUBSCRIBE", "a"], ["PUNSUBSCRIBE"]]
        if protocol == 3:
            batch += [["PUBLISH", "b", "m"], ["GET", "x"]]
        conn.send_raw(b"".join(encode_command(c) for c in batch))
        time.sleep(0.2)
        conn.sock.settimeout(0.3)
        data = b""
        try:
            while True:
                chunk = conn.sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        conn.close()
        return data
    compare_scenario(differ, scenario)


def test_info_counters(differ):
    def scenario(port, protocol, admin):
        admin.call("SCRIPT", "FLUSH")
        admin.call("SCRIPT", "LOAD", "return 1")
        admin.call("EVAL", "return 2", "0")
        info = parse_raw(admin.call("INFO", "memory"))[1]
        scripts = re.search(rb"number_of_cached_scripts:\d+", info).group(0)
        changes = []
        for cmd in (["SET", "bk", ""], ["SETBIT", "bk", "3", "0"], ["SETBIT", "bk", "3", "0"],
                    ["BITFIELD", "bk", "SET", "u8", "0", "0"], ["SETBIT", "bk", "3", "1"],
                    ["BITFIELD", "bk", "GET", "u8", "0"]):
            before = int(re.search(rb"rdb_changes_since_last_save:(\d+)",
                                   admin.call("INFO", "persistence")).group(1))
            admin.call(*cmd)
            after = int(re.search(rb"rdb_changes_since_last_save:(\d+)",
                                  admin.call("INFO", "persistence")).group(1))
            changes.append(after - before)
        admin.call("SCRIPT", "FLUSH")
        return [scripts, changes]
    compare_scenario(differ, scenario, protocols=(2,))


def test_client_list_qbuf(differ):
    def scenario(port, protocol, admin):
        partial = connect(port, protocol)
        partial.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$10\r\nab")
        time.sleep(0.1)
        me = parse_raw(admin.call("CLIENT", "INFO"))[1]
        listing = parse_raw(admin.call("CLIENT", "LIST"))[1].split(b"\n")
        partial_id = parse_raw(admin.call("CLIENT", "LIST"))[1]
        line = [entry for entry in listing
                if b"cmd=select" in entry and b"qbuf=0 " not in entry]
        partial.close()
        del partial_id
        return [re.search(rb"qbuf=\d+", me).group(0),
                [re.search(rb"qbuf=\d+", entry).group(0) for entry in line]]
    compare_scenario(differ, scenario, protocols=(2,))


def test_client_list_last_command(differ):
    """CLIENT LIST's cmd= is what Redis's lookupCommand found for the client's last
    request: NULL for an unknown command or subcommand (and before any), the command
    for a wrong arity, EXEC after a transaction, EVAL after a script."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        client_id = int(conn.call("CLIENT", "ID")[1:])
        seen = [re.search(rb"cmd=\S+", admin.call("CLIENT", "LIST", "ID", client_id))[0]]
        for args in (["FOO"], ["GET"], ["CONFIG", "FOO"], ["CONFIG"], ["CONFIG", "GET"],
                     ["PING"], ["MULTI"], ["GET", "a"], ["FOO"], ["EXEC"],
                     ["EVAL", "return redis.call('get', 'x')", "0"], ["config|get", "x"]):
            conn.call(*args)
            seen.append(re.search(rb"cmd=\S+", admin.call("CLIENT", "LIST", "ID",
                                                            client_id))[0])
        conn.close()
        return seen
    compare_scenario(differ, scenario)


def test_reset_keeps_no_evict(differ):
    """RESET clears the connection's state, but not CLIENT NO-EVICT in Redis 7.0
    (clearClientConnectionState leaves the flag; later versions clear it)."""
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        seen = [conn.call("CLIENT", "NO-EVICT", "on"), conn.call("RESET")]
        seen.append(re.search(rb"flags=\S+", conn.call("CLIENT", "INFO"))[0])
        seen.append(conn.call("CLIENT", "NO-EVICT", "off"))
        seen.append(re.search(rb"flags=\S+", conn.call("CLIENT", "INFO"))[0])
        conn.close()
        return seen
    compare_scenario(differ, scenario)


# -- LATENCY -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["latency", "latency|help", "latency|latest",
                                  "latency|history", "latency|reset", "latency|graph",
                                  "latency|histogram", "latency|doctor"])
def test_latency_metadata(differ, name):
    redis_port, mini_port = differ.ports["redis"], differ.ports["miniredis"]
    assert command_metadata(mini_port, name) == command_metadata(redis_port, name)


def test_latency_without_events(differ):
    for port in differ.ports.values():
        RawConnection(port).call("LATENCY", "RESET")
    differ.check("LATENCY HELP", "LATENCY LATEST", "LATENCY HISTORY command",
                 "LATENCY GRAPH command", "LATENCY GRAPH", "LATENCY RESET",
                 "LATENCY RESET a b", "LATENCY DOCTOR", "LATENCY FOO", "LATENCY",
                 "LATENCY LATEST x", "LATENCY HISTORY")


def test_latency_events(differ):
    def scenario(port, protocol, admin):
        admin.call("LATENCY", "RESET")
        admin.call("CONFIG", "SET", "latency-monitor-threshold", "20")
        try:
            admin.call("DEBUG", "SLEEP", "0")             # below the threshold
            while time.time() % 1 > 0.5:    # both samples within one second
                time.sleep(0.05)
            admin.call("DEBUG", "SLEEP", "0.05")
            admin.call("DEBUG", "SLEEP", "0.03")           # same second: keeps the max
            latest = parse_raw(admin.call("LATENCY", "LATEST"))
            history = parse_raw(admin.call("LATENCY", "HISTORY", "command"))
            graph = admin.call("LATENCY", "GRAPH", "command")
            doctor = parse_raw(admin.call("LATENCY", "DOCTOR"))[1]
            # The 50 ms sleep's sample, not the 30 ms one (the second's maximum): at
            # least 50 ms, however late a loaded machine woke the sleeper.
            def kept(ms: bytes) -> bool:
                return 50 <= int(ms) < 1000
            seen = [[[entry[1][0], kept(entry[1][2][1]), kept(entry[1][3][1])]
                     for entry in latest[1]]]
            seen += [len(history[1]), kept(history[1][0][1][1][1])]
            seen.append(re.sub(rb"\d\d ms", b"NN ms", graph))
            # THP advice depends on the process, the latencies on the machine.
            doctor = doctor.split(b"- I detected a non zero amount")[0]
            seen.append(re.sub(rb"\d\dms", b"NNms", doctor))
            seen.append(admin.call("LATENCY", "RESET", "COMMAND", "other"))
            seen.append(admin.call("LATENCY", "LATEST"))
            return seen
        finally:
            admin.call("CONFIG", "SET", "latency-monitor-threshold", "0")
            admin.call("LATENCY", "RESET")
    compare_scenario(differ, scenario)


def test_latency_histogram_untracked(tmp_path):
    from tests.harness import RedisProcess, redis_server_or_skip
    from miniredis import Server
    executable = redis_server_or_skip()
    real = RedisProcess(executable, ["--latency-tracking", "no"])
    mini = Server(port=0, dir=str(tmp_path), latency_tracking=False)
    mini.start()
    try:
        replies = []
        for port in (real.port, mini.port):
            conn = RawConnection(port)
            # (RESETSTAT: the command table, histograms included, is per process)
            got = [conn.call("CONFIG", "RESETSTAT"),
                   conn.call("SET", "a", "1"), conn.call("LATENCY", "HISTOGRAM"),
                   conn.call("LATENCY", "HISTOGRAM", "set", "nosuch"),
                   conn.call("HELLO", "3")[:1], conn.call("LATENCY", "HISTOGRAM", "get")]
            replies.append(got)
            conn.close()
        assert replies[0] == replies[1]
    finally:
        mini.stop()
        real.stop()


def test_paused_client_counts_as_blocked(differ):
    def scenario(port, protocol, admin):
        other = connect(port, protocol)
        other_id = int(parse_raw(other.call("CLIENT", "ID"))[1])
        seen = [admin.call("CLIENT", "PAUSE", "100000", "WRITE")]
        other.send("SET", "k", "v")
        time.sleep(0.1)
        info = admin.call("INFO", "clients")
        seen.append(re.search(rb"blocked_clients:\d+", info).group(0))
        listing = parse_raw(admin.call("CLIENT", "LIST"))[1]
        seen.append(re.findall(rb"id=%d .* flags=(\w+) .*cmd=(\S+)" % other_id, listing))
        seen += [admin.call("CLIENT", "UNPAUSE"), other.read_raw(),
                 re.search(rb"blocked_clients:\d+",
                           admin.call("INFO", "clients")).group(0)]
        other.close()
        return seen
    try:
        compare_scenario(differ, scenario)
    finally:
        for port in differ.ports.values():
            RawConnection(port).call("CLIENT", "UNPAUSE")


def test_wait_blocks_until_timeout_or_unblock(differ):
    def scenario(port, protocol, admin):
        waiter = connect(port, protocol)
        waiter_id = parse_raw(waiter.call("CLIENT", "ID"))[1]
        started = time.time()
        seen = [waiter.call("WAIT", "1", "100"), time.time() - started >= 0.09]
        waiter.send("WAIT", "1", "0")
        wait_blocked(admin, 1)
        seen += [admin.call("CLIENT", "UNBLOCK", waiter_id), waiter.read_raw()]
        waiter.send("WAIT", "1", "0")
        wait_blocked(admin, 1)
        seen += [admin.call("CLIENT", "UNBLOCK", waiter_id, "ERROR"), waiter.read_raw()]
        waiter.close()
        return seen
    compare_scenario(differ, scenario)


def test_client_unblock_argument_errors(differ):
    """CLIENT UNBLOCK reads its reason before its ID, and more than one reason is
    clientCommand's own arity error."""
    differ.check("CLIENT UNBLOCK x", "CLIENT UNBLOCK x y", "CLIENT UNBLOCK x TIMEOUT",
                 "CLIENT UNBLOCK 1 y", "CLIENT UNBLOCK x ERROR z",
                 "CLIENT UNBLOCK 999999 error", "CLIENT UNBLOCK -1 TIMEOUT")


def test_reset_ends_monitor(differ):
    def scenario(port, protocol, admin):
        conn = connect(port, protocol)
        seen = [conn.call("MONITOR"), conn.call("RESET"), conn.call("SET", "k", "v")]
        admin.call("PING")
        conn.sock.settimeout(0.2)
        try:
            seen.append(conn.sock.recv(1000))
        except socket.timeout:
            seen.append(b"nothing")
        conn.close()
        return seen
    compare_scenario(differ, scenario)
