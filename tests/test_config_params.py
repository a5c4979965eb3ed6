"""Every CONFIG parameter of Redis 7.0.15: names, defaults, validation texts, CONFIG SET
order and rollback, aliases, immutables, and bind/port changed at run time.

Differential where possible: the session servers (``differ``) for errors and values
(every sequence restores what it changes), dedicated servers where a test rebinds.
"""
from __future__ import annotations

import os
import socket
import subprocess
import tempfile

import pytest

from miniredis import Server
from miniredis.cli import UsageError, build_config, parse_arguments
from miniredis.config import PARAMS, Config
from tests.harness import RawConnection, RedisProcess, Unordered, redis_server_or_skip, \
    free_port, parse_raw, stop_process, wait_serving

# Values that cannot be equal to a default redis-server's, and why:
#   dir, port: where each server happens to run.
#   bind: "127.0.0.1" here on purpose (a casually started or embedded server is not
#         reachable from the network); Redis's is "* -::*".
#   protected-mode, enable-debug-command: their defaults are being settled on the
#         wire branch (the command line's defaults there follow Redis's).
HOST_OR_BRANCH_SPECIFIC = {"dir", "port", "bind", "protected-mode", "enable-debug-command"}


def _pairs(port: int, *patterns: str) -> dict:
    conn = RawConnection(port)
    try:
        _, items = parse_raw(conn.call("CONFIG", "GET", *patterns))
    finally:
        conn.close()
    values = [value for _, value in items]
    return {values[i].decode(): values[i + 1].decode() for i in range(0, len(values), 2)}


@pytest.fixture(scope="module")
def default_redis():
    """A redis-server with nothing configured but where it runs."""
    executable = redis_server_or_skip()
    directory = tempfile.mkdtemp(prefix="real-redis-defaults-")
    port = free_port()
    proc = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1",
                             "--dir", directory],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_serving(proc, port, 10, "redis-server")
    yield port
    stop_process(proc, directory)


def _refused(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# -- names and defaults -----------------------------------------------------------------
def test_config_get_star_lists_redis_names(mini, default_redis):
    real = set(_pairs(default_redis, "*"))
    ours = set(_pairs(mini.port, "*"))
    assert len(real) == 192
    assert ours == real, (sorted(real - ours), sorted(ours - real))


def test_defaults_equal_redis(default_redis):
    real = _pairs(default_redis, "*")
    config = Config()
    ours = dict(config.matching("*"))
    different = {name: (real[name], ours[name]) for name in real
                 if name not in HOST_OR_BRANCH_SPECIFIC and real[name] != ours[name]}
    assert not different
    # The command line with no option is the same configuration.
    assert dict(build_config(parse_arguments([])).matching("*")) == ours


def test_hidden_parameters_answer_only_by_name(differ):
    differ.check("CONFIG GET key-load-delay", "CONFIG GET rdb-key-save-delay",
                 "CONFIG GET watchdog-period", "CONFIG GET use-exit-on-panic",
                 "CONFIG GET loading-process-events-interval-bytes",
                 "CONFIG GET *load-delay*", "CONFIG GET *watchdog*",
                 "CONFIG SET key-load-delay abc", "CONFIG SET key-load-delay -5",
                 "CONFIG GET key-load-delay", "CONFIG SET key-load-delay 0",
                 "CONFIG SET loading-process-events-interval-bytes 1000")


def test_aliases(differ):
    differ.check(Unordered("CONFIG GET *slave*"), Unordered("CONFIG GET *ziplist*"),
                 "CONFIG SET slave-priority 50", "CONFIG GET replica-priority",
                 "CONFIG GET slave-priority", "CONFIG SET replica-priority 100",
                 "CONFIG SET repl-ping-slave-period 0", "CONFIG SET lua-time-limit 7000",
                 "CONFIG GET busy-reply-threshold", "CONFIG SET busy-reply-threshold 5000",
                 "CONFIG SET cluster-slave-no-failover maybe", "CONFIG GET SLAVEOF",
                 # An alias and its parameter are two entries: both may be given.
                 "CONFIG SET replica-priority 1 slave-priority 2", "CONFIG GET replica-priority",
                 "CONFIG SET replica-priority 100")


# -- validation, type by type -----------------------------------------------------------
def test_bool_and_enum_errors(differ):
    differ.check(
        "CONFIG SET rdbcompression maybe", "CONFIG SET rdbcompression YES",
        "CONFIG GET rdbcompression", "CONFIG SET replica-announced 1",
        "CONFIG SET activedefrag yes", "CONFIG SET activedefrag no",
        "CONFIG SET oom-score-adj foo", "CONFIG SET sanitize-dump-payload sometimes",
        "CONFIG SET repl-diskless-load swapdb", "CONFIG GET repl-diskless-load",
        "CONFIG SET repl-diskless-load DISABLED", "CONFIG GET repl-diskless-load",
        "CONFIG SET cluster-preferred-endpoint-type x",
        "CONFIG SET propagation-error-behavior panic-on-replicas",
        "CONFIG GET propagation-error-behavior",
        "CONFIG SET propagation-error-behavior ignore",
        "CONFIG SET tls-auth-clients maybe", "CONFIG SET acl-pubsub-default none",
        "CONFIG SET shutdown-on-sigint 'save nosave'", "CONFIG SET shutdown-on-sigint ''",
        "CONFIG SET shutdown-on-sigint 'now foo'", "CONFIG SET shutdown-on-sigint 'now save'",
        "CONFIG GET shutdown-on-sigint", "CONFIG SET shutdown-on-sigint 'FORCE default'",
        "CONFIG GET shutdown-on-sigint", "CONFIG SET shutdown-on-sigint default",
        "CONFIG GET shutdown-on-sigint")


def test_integer_bounds_and_parsing(differ):
    differ.check(
        "CONFIG SET active-defrag-cycle-min 0", "CONFIG SET active-defrag-cycle-max 100",
        "CONFIG SET active-defrag-threshold-lower 1001", "CONFIG SET replica-announce-port 65536",
        "CONFIG SET cluster-node-timeout -1", "CONFIG SET cluster-port 1",
        "CONFIG SET maxclients -1", "CONFIG SET set-max-intset-entries -1",
        "CONFIG SET slowlog-max-len -1", "CONFIG SET active-defrag-max-scan-fields 0",
        "CONFIG SET repl-backlog-ttl -1", "CONFIG SET repl-backlog-ttl 9999999999",
        "CONFIG GET repl-backlog-ttl", "CONFIG SET repl-backlog-ttl 3600",
        "CONFIG SET tls-session-cache-size -1", "CONFIG SET repl-diskless-sync-max-replicas x",
        "CONFIG SET cluster-migration-barrier 1k", "CONFIG SET socket-mark-id 1",
        "CONFIG SET cluster-replica-validity-factor 007", "CONFIG SET list-max-listpack-size 1kb",
        "CONFIG SET tracking-table-max-keys 1kb", "CONFIG SET cluster-announce-bus-port 70000")


def test_memory_and_percent(differ):
    differ.check(
        "CONFIG SET active-defrag-ignore-bytes 0", "CONFIG SET active-defrag-ignore-bytes 2mb",
        "CONFIG GET active-defrag-ignore-bytes", "CONFIG SET active-defrag-ignore-bytes 100mb",
        "CONFIG SET hash-max-listpack-value 1kb", "CONFIG GET hash-max-listpack-value",
        "CONFIG SET hash-max-listpack-value 64", "CONFIG SET zset-max-ziplist-value 1K",
        "CONFIG GET zset-max-listpack-value", "CONFIG SET zset-max-listpack-value 64",
        "CONFIG SET cluster-link-sendbuf-limit 1gb", "CONFIG GET cluster-link-sendbuf-limit",
        "CONFIG SET cluster-link-sendbuf-limit 0", "CONFIG SET cluster-link-sendbuf-limit 1tb",
        "CONFIG SET repl-backlog-size 0", "CONFIG SET proto-max-bulk-len 1kb",
        "CONFIG SET maxmemory-clients 50%", "CONFIG GET maxmemory-clients",
        "CONFIG SET maxmemory-clients 101%", "CONFIG SET maxmemory-clients -1",
        "CONFIG SET maxmemory-clients 1x", "CONFIG SET maxmemory-clients %",
        "CONFIG SET maxmemory-clients -5%", "CONFIG SET maxmemory-clients 100%",
        "CONFIG GET maxmemory-clients", "CONFIG SET maxmemory-clients 10mb",
        "CONFIG GET maxmemory-clients", "CONFIG SET maxmemory-clients 18446744073709551615",
        "CONFIG GET maxmemory-clients", "CONFIG SET maxmemory-clients 0",
        "CONFIG GET maxmemory-clients")


def test_special_parameters(differ):
    differ.check(
        "CONFIG SET save '1  2'", "CONFIG SET save '10 1 '", "CONFIG SET save 'a b'",
        "CONFIG SET save '0 1'", "CONFIG SET save '1 -1'", "CONFIG GET save",
        "CONFIG SET client-output-buffer-limit 'normal 1 2'",
        "CONFIG SET client-output-buffer-limit 'master 1 2 3'",
        "CONFIG SET client-output-buffer-limit 'pubsub 1 2 -3'",
        "CONFIG SET client-output-buffer-limit 'pubsub 1mb 2kb 3'",
        "CONFIG GET client-output-buffer-limit",
        "CONFIG SET client-output-buffer-limit 'pubsub 32mb 8mb 60 replica 1gb 1gb 0'",
        "CONFIG GET client-output-buffer-limit",
        "CONFIG SET client-output-buffer-limit 'slave 256mb 64mb 60'",
        "CONFIG SET oom-score-adj-values '0 200'", "CONFIG SET oom-score-adj-values '0 200 2001'",
        "CONFIG SET oom-score-adj-values '0 x 800'", "CONFIG SET oom-score-adj-values '0  200 800'",
        "CONFIG SET oom-score-adj-values '-10 +20 800'", "CONFIG GET oom-score-adj-values",
        "CONFIG SET oom-score-adj-values '0 200 800'",
        "CONFIG SET notify-keyspace-events Kx", "CONFIG GET notify-keyspace-events",
        "CONFIG SET notify-keyspace-events z?", "CONFIG SET notify-keyspace-events ''",
        "CONFIG SET latency-tracking-info-percentiles '50 101'",
        "CONFIG SET latency-tracking-info-percentiles 'a'",
        "CONFIG SET latency-tracking-info-percentiles '99.99 0 1e1'",
        "CONFIG GET latency-tracking-info-percentiles",
        "CONFIG SET latency-tracking-info-percentiles ''",
        "CONFIG GET latency-tracking-info-percentiles",
        "CONFIG SET latency-tracking-info-percentiles '50 99 99.9'",
        "CONFIG SET cluster-announce-hostname a_b", "CONFIG SET cluster-announce-hostname " + "a" * 256,
        "CONFIG SET cluster-announce-hostname my-host.example",
        "CONFIG GET cluster-announce-hostname", "CONFIG SET cluster-announce-hostname ''",
        "CONFIG SET proc-title-template '{foo}'", "CONFIG SET proc-title-template '{title}'",
        "CONFIG SET proc-title-template '{'", "CONFIG SET proc-title-template '{title'",
        "CONFIG SET proc-title-template '  {server-mode} '",
        "CONFIG SET proc-title-template '{{x} {title}'",
        "CONFIG GET proc-title-template",
        "CONFIG SET proc-title-template '{title} {listen-addr} {server-mode}'",
        "CONFIG SET dbfilename a/b.rdb", "CONFIG SET dbfilename 'a\\b'",
        "CONFIG SET replicaof 'no one'", "CONFIG SET slaveof 127.0.0.1 1",
        "CONFIG SET bind '1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17'")


# Values holding a NUL: Redis reads most as C strings (memtoull, strtoll, strcasecmp,
# keyspaceEventsStringToFlags), so they end there; a plain integer (string2ll) and
# the sds passwords keep every byte. Each group puts back what it changed.
_NUL = "\0"
_NUL_VALUES = [
    ("notify-keyspace-events", _NUL), ("notify-keyspace-events", "KA" + _NUL + "x"),
    ("notify-keyspace-events", ""), ("maxmemory", "1" + _NUL), ("maxmemory", "2mb" + _NUL + "x"),
    ("maxmemory", "0" * 127 + "5"), ("maxmemory", "0" * 128 + "5"), ("maxmemory", "0"),
    ("oom-score-adj-values", "1" + _NUL + " 2 3"), ("oom-score-adj-values", "0 200 800"),
    ("activerehashing", "no" + _NUL + "x"), ("activerehashing", "yes"),
    ("maxmemory-policy", "allkeys-lru" + _NUL + "x"), ("maxmemory-policy", "noeviction"),
    ("hz", "5" + _NUL), ("save", "10 1" + _NUL + "0"), ("save", ""),
    ("client-output-buffer-limit", "pubsub 1mb" + _NUL + " 2mb 3" + _NUL),
    ("client-output-buffer-limit", "normal" + _NUL + "x 0 0 0"),
    ("client-output-buffer-limit", "pubsub 32mb 8mb 60"),
    ("masteruser", "a" + _NUL + "b"), ("masterauth", "a" + _NUL + "b"), ("masteruser", ""),
    ("masterauth", ""), ("latency-tracking-info-percentiles", "50" + _NUL + " 99"),
    ("latency-tracking-info-percentiles", "50 99 99.9"), ("loglevel", "warning" + _NUL + "z"),
    ("loglevel", "notice"), ("proto-max-bulk-len", "1mb" + _NUL),
    ("proto-max-bulk-len", "512mb"), ("dbfilename", "a" + _NUL + "/b"),
    ("dbfilename", "dump.rdb"), ("shutdown-on-sigterm", "save" + _NUL + " now"),
    ("shutdown-on-sigterm", "default")]


def test_values_with_a_nul_as_redis_reads_them(differ):
    differ.check(*[command for name, value in _NUL_VALUES
                   for command in (("CONFIG", "SET", name, value), ("CONFIG", "GET", name))])


def test_immutable_and_protected(differ):
    differ.check(
        "CONFIG SET DATABASES 3", "CONFIG SET unixsocketperm 1", "CONFIG SET daemonize no",
        "CONFIG SET rdbchecksum no", "CONFIG SET io-threads 2", "CONFIG SET cluster-enabled yes",
        "CONFIG SET always-show-logo yes", "CONFIG SET syslog-facility local1",
        "CONFIG SET server_cpulist 1", "CONFIG SET appendfilename x",
        "CONFIG SET enable-protected-configs yes", "CONFIG SET dir /tmp",
        "CONFIG SET dbfilename x.rdb", "CONFIG SET hz 20 dir /tmp", "CONFIG GET hz")


def test_multi_parameter_set_is_atomic(differ):
    differ.check(
        # A bad value anywhere: nothing changes, the error names that parameter.
        "CONFIG SET maxmemory 10mb maxmemory-clients foo", "CONFIG GET maxmemory",
        "CONFIG SET maxmemory-policy allkeys-lru HZ abc", "CONFIG GET maxmemory-policy",
        "CONFIG SET MAXMEMORY foo", "CONFIG SET SLAVE-PRIORITY foo",
        # Names are checked before any value: the first problem wins.
        "CONFIG SET maxmemory 1 maxmemory 2", "CONFIG SET maxmemory 1 MAXmemory 2",
        "CONFIG SET databases 1 foo 2", "CONFIG SET foo 1 databases 2",
        "CONFIG SET hz x databases 2", "CONFIG SET hz x foo 2", "CONFIG SET maxmemory",
        "CONFIG SET hz 20 slowlog-max-len 10 maxmemory-clients 5%", "CONFIG GET hz",
        "CONFIG GET slowlog-max-len", "CONFIG GET maxmemory-clients",
        "CONFIG SET hz 10 slowlog-max-len 128 maxmemory-clients 0")


def test_config_set_redacts_sensitive_values(mini):
    conn = RawConnection(mini.port)
    try:
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conn.call("SLOWLOG", "RESET")
        conn.call("CONFIG", "SET", "masteruser", "secret-user", "masterauth", "secret-pass")
        log = conn.call("SLOWLOG", "GET")
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "masteruser", "",
                  "masterauth", "")
    finally:
        conn.close()
    assert b"secret" not in log and b"(redacted)" in log


# -- the command line and the config file -----------------------------------------------
def test_command_line_and_file_accept_every_parameter(tmp_path):
    for param in PARAMS:      # every parameter is known to the command line
        default = Config().render(param.name)
        if param.name in ("dir",):
            continue
        if param.multi and default == "":
            continue          # replicaof "" is not a valid directive (Redis agrees)
        build_config([(param.name, default)])
    conf = tmp_path / "redis.conf"
    conf.write_text("save 900 1\nsave 300 10\nslaveof 127.0.0.1 6380\n"
                    "maxmemory-clients 10%\noom-score-adj-values \"1 2 3\"\n")
    config = build_config(parse_arguments([str(conf), "--shutdown-on-sigterm", "nosave",
                                           "now", "--save", "60", "5"]))
    assert config.render("save") == "900 1 300 10 60 5"
    assert config.render("replicaof") == "127.0.0.1 6380"
    assert config.render("maxmemory-clients") == "10%"
    assert config.render("oom-score-adj-values") == "1 2 3"
    assert config.render("shutdown-on-sigterm") == "nosave now"
    assert build_config(parse_arguments(["--save", "60", "5", "--save", ""])).render(
        "save") == ""
    for bad in (["--oom-score-adj-values", "1", "2"], ["--appendfilename", "a/b"],
                ["--replicaof", "host"], ["--maxmemory-clients", "200%"],
                ["--unixsocketperm", "999"], ["--syslog-facility", "local9"]):
        with pytest.raises(UsageError):
            build_config(parse_arguments(bad))


def test_command_line_values_as_redis(tmp_path):
    """The same options on both command lines give the same CONFIG GET answers."""
    executable = redis_server_or_skip()
    options = ["--save", "60", "1", "--save", "30", "2", "--maxmemory-clients", "10%",
               "--oom-score-adj-values", "1 2 3", "--shutdown-on-sigterm", "nosave", "now",
               "--slave-announce-port", "7", "--unixsocketperm", "0700",
               "--hash-max-ziplist-value", "1kb", "--latency-tracking-info-percentiles",
               "1.5 50"]
    names = ["save", "maxmemory-clients", "oom-score-adj-values", "shutdown-on-sigterm",
             "replica-announce-port", "unixsocketperm", "hash-max-listpack-value",
             "latency-tracking-info-percentiles"]
    real = RedisProcess(executable, options)
    try:
        expected = _pairs(real.port, *names)
    finally:
        real.stop()
    config = build_config(parse_arguments(options))
    assert {name: config.render(name) for name in names} == expected


# -- bind and port at run time ----------------------------------------------------------
def test_config_set_port_moves_the_listener():
    with Server(port=0) as server:
        old = server.port
        conn = RawConnection(old)
        new = free_port()
        assert conn.call("CONFIG", "SET", "port", str(new)) == b"+OK\r\n"
        # The connection that asked stays; new connections go to the new port only.
        assert conn.call("PING") == b"+PONG\r\n"
        assert _refused(old)
        other = RawConnection(new)
        assert other.call("CONFIG", "GET", "port") == \
            b"*2\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (len(str(new)), new)
        # Port 0 closes TCP listening altogether, as in Redis.
        assert other.call("CONFIG", "SET", "port", "0") == b"+OK\r\n"
        assert _refused(new)
        assert other.call("CONFIG", "SET", "port", str(old)) == b"+OK\r\n"
        RawConnection(old).close()
        conn.close()
        other.close()


def _busy_port():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    return blocker, blocker.getsockname()[1]


def test_config_set_port_busy_and_bad_bind_as_redis(real_redis):
    blocker, busy = _busy_port()
    commands = [("CONFIG", "SET", "port", str(busy)),
                ("CONFIG", "SET", "bind", "10.255.255.1"),
                ("CONFIG", "SET", "hz", "20", "port", str(busy)),
                ("CONFIG", "GET", "hz"),
                ("CONFIG", "SET", "port", "abc", "bind", "10.255.255.1"),
                # (addresses no resolver takes: a C string ends at the NUL; a Python
                # socket refused these with a TypeError and a UnicodeError)
                ("CONFIG", "SET", "bind", "a\0"), ("CONFIG", "SET", "bind", b"\xff"),
                ("CONFIG", "SET", "bind", "x" * 300),
                ("CONFIG", "SET", "bind", "127.0.0.1\0x"), ("CONFIG", "GET", "bind"),
                ("CONFIG", "SET", "bind", "127.0.0.1")]
    try:
        with Server(port=0) as server:
            replies = {}
            for name, port in (("redis", real_redis.port), ("miniredis", server.port)):
                conn = RawConnection(port)
                replies[name] = [conn.call(*command) for command in commands]
                conn.close()
                # Failure leaves the old listener: new clients still get in.
                probe = RawConnection(port)
                assert probe.call("CONFIG", "GET", "port") == \
                    b"*2\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (len(str(port)), port)
                assert probe.call("CONFIG", "GET", "bind") == \
                    b"*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
                probe.call("CONFIG", "SET", "hz", "10")
                probe.close()
            assert replies["miniredis"] == replies["redis"]
            assert replies["redis"][0].startswith(b"-ERR CONFIG SET failed (possibly related "
                                                  b"to argument 'port') - Unable to listen")
    finally:
        blocker.close()


def test_config_set_bind_rebinds():
    with Server(port=0) as server:
        port = server.port
        conn = RawConnection(port)
        # Another loopback address: the new one listens, the old one no longer does.
        assert conn.call("CONFIG", "SET", "bind", "127.0.0.2") == b"+OK\r\n"
        assert _refused(port, "127.0.0.1")
        other = RawConnection(port, host="127.0.0.2")
        assert other.call("PING") == b"+PONG\r\n"
        # Optional absent addresses are skipped; the same address again is kept.
        assert other.call("CONFIG", "SET", "bind", "-10.255.255.1 127.0.0.1 127.0.0.2") \
            == b"+OK\r\n"
        assert other.call("CONFIG", "SET", "bind", "127.0.0.1 127.0.0.2") == b"+OK\r\n"
        RawConnection(port, host="127.0.0.1").close()
        RawConnection(port, host="127.0.0.2").close()
        # A wildcard over the same port: the old listeners make way for it.
        assert other.call("CONFIG", "SET", "bind", "*") == b"+OK\r\n"
        RawConnection(port, host="127.0.0.3").close()
        # bind and port at once.
        new = free_port()
        assert other.call("CONFIG", "SET", "bind", "127.0.0.1", "port", str(new)) == b"+OK\r\n"
        assert _refused(port, "127.0.0.1")
        last = RawConnection(new)
        assert last.call("PING") == b"+PONG\r\n"
        # An empty bind: no TCP listener (as Redis), existing connections go on.
        assert last.call("CONFIG", "SET", "bind", "") == b"+OK\r\n"
        assert _refused(new)
        assert last.call("CONFIG", "SET", "bind", "127.0.0.1") == b"+OK\r\n"
        RawConnection(new).close()
        for c in (conn, other, last):
            c.close()


def test_empty_bind_and_back_on_a_port_0_server():
    with Server(port=0) as server:
        port = server.port
        conn = RawConnection(port)
        assert conn.call("CONFIG", "SET", "bind", "") == b"+OK\r\n"
        assert _refused(port)
        assert conn.call("CONFIG", "GET", "port") == \
            b"*2\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (len(str(port)), port)
        assert conn.call("CONFIG", "SET", "bind", "127.0.0.1") == b"+OK\r\n"
        RawConnection(port).close()
        conn.close()


def test_rebinding_with_a_unix_socket_keeps_it(tmp_path):
    path = str(tmp_path / "mini.sock")
    with Server(port=free_port(), unixsocket=path) as server:
        conn = RawConnection(server.port)
        assert conn.call("CONFIG", "SET", "port", str(free_port())) == b"+OK\r\n"
        unix = socket.socket(socket.AF_UNIX)
        unix.connect(path)
        unix.sendall(b"PING\r\n")
        assert unix.recv(100) == b"+PONG\r\n"
        unix.close()
        conn.close()
    assert not os.path.exists(path)


def test_protected_dir_when_allowed(tmp_path):
    executable = redis_server_or_skip()
    commands = [("CONFIG", "SET", "dir", "/nonexistent/x"), ("CONFIG", "SET", "dir", "/etc/passwd"),
                ("CONFIG", "SET", "dbfilename", "a/b"), ("CONFIG", "SET", "dbfilename", "ok.rdb"),
                ("CONFIG", "GET", "dbfilename"), ("CONFIG", "SET", "dir", str(tmp_path)),
                ("CONFIG", "GET", "dir")]
    real = RedisProcess(executable, ["--enable-protected-configs", "yes"])
    try:
        conn = RawConnection(real.port)
        expected = [conn.call(*command) for command in commands]
        conn.close()
    finally:
        real.stop()
    with Server(port=0, enable_protected_configs="yes") as server:
        conn = RawConnection(server.port)
        assert [conn.call(*command) for command in commands] == expected
        conn.close()


def test_unchanged_listeners_are_kept():
    """Rebinding to what is already bound keeps the very same socket (no window in
    which the address is closed), on a server started with port 0 too."""
    with Server(port=0) as server:
        before = [entry[0] for entry in server._listeners]
        conn = RawConnection(server.port)
        assert conn.call("CONFIG", "SET", "bind", "127.0.0.1") == b"+OK\r\n"
        assert conn.call("CONFIG", "SET", "port", str(server.port)) == b"+OK\r\n"
        assert [entry[0] for entry in server._listeners] == before
        conn.close()


# -- the command line as redis-server's main() reads it ---------------------------------
_BAD_COMMAND_LINES = [
    ["--port"], ["--port", "6380", "--loglevel"], ["--port", "6379", "6380"],
    ["--port", "--loglevel", "verbose"], ["--port", "--bla", "--loglevel", "verbose"],
    ["--logfile", "--my--log--file", "--loglevel", "--bla"], ["--nosuch", "1"],
    ["--save", "60"], ["--maxmemory 1gb 2gb"], ["--loglevel", "verbose", "stray"],
    ["--port 1 \"2"], ["--oom-score-adj-values", "1", "2"],
]


def test_command_line_errors_as_redis(tmp_path):
    """A bad command line gets redis-server's FATAL CONFIG FILE ERROR: the options
    become config lines as main() builds them, the faulty one quoted with its number."""
    import sys
    from tests.harness import ROOT
    executable = redis_server_or_skip()
    conf = tmp_path / "redis.conf"
    conf.write_text("port 7000\n# a comment\n\nloglevel notice\n")
    # (lines in file order: a bad line before one with unbalanced quotes is the one
    # named; a NUL drops the rest of its fgets chunk, newline included, so the next
    # line joins it)
    ordered = tmp_path / "ordered.conf"
    ordered.write_bytes(b'maxmemory 1 2\nhz "5\n')
    nul = tmp_path / "nul.conf"
    nul.write_bytes(b'maxmemory 1mb\0junk\nhz 7\0 x\nsave ""\nnotify-keyspace-events "KA\0x"\n')
    # (dir is entered at its own line: a later relative one is relative to it)
    dirs = tmp_path / "dirs.conf"
    dirs.write_text("dir %s\ndir no-such-sub\nhz 0 0\n" % tmp_path)
    missing = tmp_path / "missing.conf"
    missing.write_text("hz 11\ndir /no-such-miniredis-dir\nhz 0 0\n")
    cases = _BAD_COMMAND_LINES + [[str(conf), "--port", "1", "2"],
                                  [str(conf), "loglevel", "bad"], [str(ordered)], [str(nul)],
                                  [str(dirs)], [str(missing)], [str(conf), "--dir", str(conf)]]
    for args in cases:
        outcomes = []
        for argv in ([executable], [sys.executable, "-m", "miniredis"]):
            done = subprocess.run(argv + args, cwd=ROOT, capture_output=True, timeout=30)
            outcomes.append((done.returncode, done.stderr.decode()))
        assert outcomes[1] == outcomes[0], args
        assert "FATAL CONFIG FILE ERROR" in outcomes[0][1]


_GOOD_COMMAND_LINES = [
    (["--maxmemory 700mb", "--maxmemory-policy volatile-lru"],
     ["maxmemory", "maxmemory-policy"]),
    (["--proc-title-template", "--my--title--template", "--loglevel", "verbose"],
     ["proc-title-template", "loglevel"]),
    (["--proc-title-template --my--title--template", "--loglevel verbose"],
     ["proc-title-template", "loglevel"]),
    (["--save", "--loglevel", "verbose"], ["save", "loglevel"]),
    (["--loglevel", "verbose", "--save"], ["save", "loglevel"]),
    (["--proc-title-template", "--save", "--save", "", "--loglevel", "verbose"],
     ["proc-title-template", "save", "loglevel"]),
    (["--shutdown-on-sigint", "nosave", "force", "now", "--shutdown-on-sigterm",
      "nosave force"], ["shutdown-on-sigint", "shutdown-on-sigterm"]),
]


@pytest.mark.parametrize("args,names", _GOOD_COMMAND_LINES,
                         ids=[" ".join(a) for a, _ in _GOOD_COMMAND_LINES])
def test_command_line_forms_as_redis(args, names, tmp_path):
    """Name and value in one argument, values starting with "--", a lone --save, and
    (after a config file) values with no option name at all: what redis-server takes,
    miniredis takes the same way (unit/introspection's command line tests)."""
    executable = redis_server_or_skip()
    real = RedisProcess(executable, args)
    try:
        expected = _pairs(real.port, *names)
    finally:
        real.stop()
    assert {name: build_config(parse_arguments(args)).render(name) for name in names} \
        == expected
    conf = tmp_path / "redis.conf"
    conf.write_text("")
    loose = build_config(parse_arguments([str(conf), "loglevel", "verbose",
                                          "--maxmemory '700mb'"]))
    assert (loose.render("loglevel"), loose.render("maxmemory")) == ("verbose", "734003200")
