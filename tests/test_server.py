"""Server and connection commands: CLIENT, INFO, CONFIG, COMMAND, TIME, DEBUG, SLOWLOG..."""
from __future__ import annotations

import re
import socket
import time

import pytest

from miniredis import Server
from tests.harness import RawConnection, SameType, encode_command, parse_raw


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
                    r"user=default redir=-1 resp=2\n$", info), info
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
    killer.close()


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
