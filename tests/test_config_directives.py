"""Config file directives that are not parameters: ``rename-command`` and ``include``,
each compared with a real redis-server started from the same file.

rename-command renames a command (or with "" removes it) for that server only: clients,
MULTI, scripts, COMMAND, INFO commandstats, LATENCY HISTOGRAM and ACL DRYRUN know it by
its new name, ACL rules by its original one, and the AOF logs it as it was called (an
effect Redis rewrites, SET ... EX as SET ... PXAT, keeps Redis's own name). include
reads another file where it stands (a relative path from the directory the dir lines
entered; a glob pattern reads its matches in order, or nothing).
"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import time
from typing import Any, List, Sequence, Tuple

import pytest

from miniredis.cli import build_config, parse_arguments
from miniredis.server import Server
from tests.harness import (RawConnection, ServerExited, free_port, parse_raw,
                           redis_server_or_skip, server_argv, start_process,
                           terminate, wait_serving)

KINDS = ("redis", "miniredis")

RENAMES = """rename-command flushall ""
rename-command GET g1
rename-command g1 G2
rename-command config cfg
rename-command set s2
rename-command pexpireat pe
rename-command blpop bl
rename-command multi mu
rename-command auth a2
"""

# Replies compared byte for byte.
SAME = [
    ("get", "x"), ("g2", "x"), ("G2", "x", "y"), ("gEt", "x", "y"), ("flushall",),
    ("set", "k", "v"), ("s2", "k", "v"), ("s2", "k", "v", "EX", "100"),
    ("pe", "k", "99999999999999"), ("expire", "k", "100"), ("getex", "k", "EX", "5"),
    ("rpush", "l", "a", "b"), ("bl", "l", "0"), ("blpop", "l", "0"),
    ("mu",), ("s2", "k2", "1"), ("incr", "k2"), ("exec",), ("multi",),
    ("config", "get", "hz"), ("cfg", "get", "hz"), ("cfg", "nope"), ("CFG", "get"),
    ("command", "info", "g2", "get", "flushall", "cfg|get", "config|get"),
    ("command", "count"), ("command", "getkeys", "g2", "x"),
    ("command", "getkeys", "get", "x"),
    ("eval", "return redis.call('get','x')", "0"),
    ("eval", "redis.call('s2','z','1') return redis.call('g2','z')", "0"),
    ("eval", "return redis.acl_check_cmd('g2','x')", "0"),
    ("eval", "return redis.acl_check_cmd('get','x')", "0"),
    ("acl", "setuser", "u", "+g2"), ("acl", "setuser", "u", "+get", "+flushall", "on"),
    ("acl", "dryrun", "u", "g2", "x"), ("acl", "dryrun", "u", "get", "x"),
    ("a2", "secret"), ("auth", "secret"),
]


def _start(kind: str, conf: str, *options: str) -> Tuple[subprocess.Popen, int]:
    return start_process(lambda port: server_argv(kind) + [conf, "--port", str(port),
                                                           *options],
                         cwd=os.path.dirname(conf), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)


def _names(raw: bytes) -> List[bytes]:
    """The keys of a flat RESP2 map reply (COMMAND DOCS, LATENCY HISTOGRAM)."""
    items = parse_raw(raw)[1]
    return [items[i][1] for i in range(0, len(items), 2)]


def _commandstats(raw: bytes) -> List[str]:
    """INFO commandstats without the timings, sorted (Redis lists them in hash order)."""
    text = parse_raw(raw)[1].decode()
    return sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                  for line in text.splitlines() if line.startswith("cmdstat_"))


def _renamed_session(kind: str, directory: str) -> Tuple[List[Any], bytes, bytes]:
    """The replies of SAME and the readings compared otherwise, the AOF's incremental
    file, and what a restart on that AOF (same renames) holds."""
    conf = os.path.join(directory, "r.conf")
    with open(conf, "w") as handle:
        handle.write(RENAMES + "appendonly yes\nappendfsync always\ndir %s\n" % directory)
    proc, port = _start(kind, conf)
    try:
        conn = RawConnection(port)
        replies: List[Any] = [conn.call(*command) for command in SAME]
        listed = parse_raw(conn.call("command"))[1]
        replies.append((len(listed), sorted(entry[1][0][1] for entry in listed)))
        replies.append(sorted(item[1] for item in parse_raw(conn.call("command", "list"))[1]
                              if item[1] != b"client|setinfo"))   # (Redis 7.2's, kept)
        replies.append(_names(conn.call("command", "docs", "g2", "get", "cfg")))
        replies.append(_names(conn.call("latency", "histogram", "g2", "get", "cfg")))
        replies.append(_commandstats(conn.call("info", "commandstats")))
        # SLOWLOG redacts AUTH by what the command is, not by its name.
        conn.call("cfg", "set", "slowlog-log-slower-than", "0")
        conn.call("a2", "secret")
        entry = parse_raw(conn.call("slowlog", "get", "1"))[1][0][1]
        replies.append([arg[1] for arg in entry[3][1]])
        conn.close()
    finally:
        terminate(proc)
    aof = b"".join(open(path, "rb").read() for path in
                   sorted(glob.glob(os.path.join(directory, "appendonlydir", "*.incr.aof"))))
    return replies, re.sub(rb"\$13\r\n\d{13}\r\n", b"<ms>", aof), _restart(kind, conf)


def _restart(kind: str, conf: str) -> Any:
    """Start again on the same file and AOF: ("refused", exit code, the log's reason)
    or ("loaded", what a few reads answer). (Both servers listen before they load: a
    refusal may come after the first connection.)"""
    port = free_port()
    proc = subprocess.Popen(server_argv(kind) + [conf, "--port", str(port)], cwd=os.path.dirname(conf),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    loaded = None
    try:
        wait_serving(proc, port, 20, kind)
        conn = RawConnection(port)
        deadline = time.time() + 20
        while conn.call("PING").startswith(b"-LOADING") and time.time() < deadline:
            time.sleep(0.02)
        loaded = [conn.call(*command) for command in
                  (("g2", "k2"), ("g2", "z"), ("lrange", "l", "0", "-1"), ("g2", "k"))]
        conn.close()
    except (ServerExited, OSError):
        pass
    if loaded is None:
        proc.wait(20)
        out = proc.stdout.read().decode()
        proc.stdout.close()
        return "refused", proc.returncode, re.search(r"# (.*)", out.splitlines()[-1]).group(1)
    terminate(proc)
    proc.stdout.close()
    return "loaded", loaded


def test_renamed_commands_as_redis(tmp_path):
    redis_server_or_skip()
    results = []
    for kind in KINDS:
        directory = tmp_path / kind
        directory.mkdir()
        results.append(_renamed_session(kind, str(directory)))
    (real, real_aof, real_restart), (mini, mini_aof, mini_restart) = results
    for label, expected, got in zip([" ".join(c) for c in SAME] +
                                    ["COMMAND", "COMMAND LIST", "COMMAND DOCS",
                                     "LATENCY HISTOGRAM", "INFO commandstats", "SLOWLOG"],
                                    real, mini):
        assert got == expected, label
    assert b"s2" in real_aof and b"PXAT" in real_aof
    assert mini_aof == real_aof
    # SET ... EX was logged as SET ... PXAT, and SET is renamed: neither loads it.
    assert real_restart[:2] == ("refused", 1)
    assert mini_restart == real_restart


def test_aof_of_renamed_commands_loads_again(tmp_path):
    """Commands logged by their new names (in MULTI too) load back on a server with
    the same renames (a renamed MULTI would not: Redis wraps a transaction in its own
    MULTI/EXEC, as the test above shows for SET)."""
    redis_server_or_skip()
    restarts = []
    for kind in KINDS:
        # (the file in the server's own directory: it runs there, and a directory
        # named "miniredis" beside it would shadow the package)
        (tmp_path / kind).mkdir()
        conf = tmp_path / kind / "r.conf"
        conf.write_text("rename-command get g2\nrename-command incr up\n"
                        "rename-command rpush rp\nappendonly yes\nappendfsync always\n"
                        "dir %s\n" % (tmp_path / kind))
        proc, port = _start(kind, str(conf))
        try:
            conn = RawConnection(port)
            for command in (("multi",), ("rp", "l", "a", "b"), ("up", "k2"),
                            ("exec",), ("eval", "redis.call('rp', 'l', 'c') "
                                        "return redis.call('set', 'z', 1)", "0")):
                conn.call(*command)
            conn.close()
        finally:
            terminate(proc)
        restarts.append(_restart(kind, str(conf)))
    assert restarts[0][0] == "loaded", restarts
    assert restarts[1] == restarts[0]


def test_renames_belong_to_their_server():
    """Two servers in one process: one started with renames, one without."""
    config = build_config(parse_arguments(["--rename-command", "get", "fetch",
                                           "--rename-command", "del", ""]))
    with Server(port=0, config=config) as renamed, Server(port=0) as plain:
        conn = RawConnection(renamed.port)
        assert conn.call("get", "a").startswith(b"-ERR unknown command 'get'")
        assert conn.call("fetch", "a") == b"$-1\r\n"
        assert conn.call("del", "a").startswith(b"-ERR unknown command 'del'")
        conn.close()
        conn = RawConnection(plain.port)
        assert conn.call("get", "a") == b"$-1\r\n"
        assert conn.call("fetch", "a").startswith(b"-ERR unknown command 'fetch'")
        assert conn.call("del", "a") == b":0\r\n"
        conn.close()


def _startup(kind: str, args: Sequence[str], log: str = "",
             told: Sequence[str] = ("Fatal error",)) -> Tuple[int, str, List[str]]:
    """Exit code, standard error (a FATAL CONFIG FILE ERROR) and the log lines (standard
    output, or the file ``log``) holding one of ``told``, without pid and time: a file
    redis-server cannot open is logged, with the role "C"."""
    done = subprocess.run(server_argv(kind) + list(args), cwd=os.path.dirname(args[0]), capture_output=True,
                          timeout=30)
    out = done.stdout.decode()
    if log and os.path.exists(log):
        with open(log) as handle:
            out += handle.read()
        os.unlink(log)
    logged = [re.sub(r"^\d+:([A-Z]) \d\d \w+ \d{4} [\d:.]+ ", r"\1 ", line)
              for line in out.splitlines() if any(word in line for word in told)]
    return done.returncode, done.stderr.decode(), logged


def test_directive_errors_as_redis(tmp_path):
    """What redis-server refuses, refused with its FATAL CONFIG FILE ERROR (the line
    named is the included file's own)."""
    redis_server_or_skip()
    files = {
        "unknown.conf": "rename-command nosuch x\n",
        "twice.conf": "rename-command get g\nrename-command get h\n",
        "taken.conf": "hz 5\nrename-command get set\n",
        "count.conf": "rename-command get\n",
        "sub.conf": "rename-command get|x y\n",
        "include_count.conf": "include a b\n",
        "bad_inside.conf": "hz 11\ninclude %s\n" % (tmp_path / "inner.conf"),
        "inner.conf": "maxmemory 1mb\n\nhz 0 0\n",
        "missing.conf": "include %s\n" % (tmp_path / "nowhere.conf"),
        "relative.conf": "dir %s\ninclude sub/deeper.conf\n" % tmp_path,
        "sub/deeper.conf": "timeout 1 2\n",
        "self_rename.conf": "rename-command get GET\nrename-command GET get\nhz 1 1\n",
        "include_empty.conf": "include \"\"\n",
        "badlog.conf": "logfile /nonexistent-dir/x.log\n",
        "inc_badlog.conf": "include %s\nhz 0 0\n" % (tmp_path / "badlog.conf"),
        "cluster_replica.conf": "cluster-enabled yes\nreplicaof 127.0.0.1 1\n",
        "logged.conf": "logfile %s\ninclude %s\n" % (tmp_path / "x.log",
                                                     tmp_path / "nowhere.conf"),
    }
    (tmp_path / "sub").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for name in files:
        if name in ("inner.conf", "sub/deeper.conf"):
            continue
        args = [str(tmp_path / name)]
        real, mini = (_startup(kind, args, str(tmp_path / "x.log")) for kind in KINDS)
        assert mini == real, name
        assert real[0] == 1


def test_subcommand_rename_and_include_loop_are_refused(tmp_path):
    """Two starts redis-server does not survive (an assertion, a stack overflow): this
    server refuses them at the line instead."""
    (tmp_path / "sub.conf").write_text("rename-command config|get x\n")
    loop = tmp_path / "loop.conf"
    loop.write_text("include %s\n" % loop)
    code, text, _ = _startup("miniredis", [str(tmp_path / "sub.conf")])
    assert code == 1 and "No such command in rename-command" in text
    code, text, _ = _startup("miniredis", [str(loop)])
    assert code == 1 and "Too many nested include directives" in text


def test_include_as_redis(tmp_path):
    """Included files apply where the include stands; later lines override them; a
    relative path is taken from the dir lines' directory; a glob reads its matches in
    sorted order, none is no error; a directory reads as empty."""
    redis_server_or_skip()
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "20-b.conf").write_text("hz 20\nmaxmemory 2mb\n")
    (conf_d / "10-a.conf").write_text("hz 10\ntimeout 7\nrename-command get fetch\n")
    (conf_d / ".hidden.conf").write_text("timeout 99\n")
    (conf_d / "empty-dir.conf").mkdir()
    (tmp_path / "common.conf").write_text("maxmemory-policy allkeys-lru\n"
                                          "maxmemory 5mb\n")
    main = tmp_path / "main.conf"
    main.write_text("dir %s\ninclude common.conf\nmaxmemory 3mb\n"
                    "include conf.d/*.conf\ninclude conf.d/nothing-*.conf\n"
                    "include conf.d/empty-dir.conf\nlatency-tracking no\n" % tmp_path)
    seen = []
    for kind in KINDS:
        proc, port = _start(kind, str(main))
        try:
            conn = RawConnection(port)
            seen.append([conn.call("config", "get", name) for name in
                         ("hz", "maxmemory", "timeout", "maxmemory-policy",
                          "latency-tracking")] +
                        [conn.call("fetch", "x"), conn.call("get", "x")[:30]])
            conn.close()
        finally:
            terminate(proc)
    assert seen[1] == seen[0]
    assert parse_raw(seen[0][0])[1][1][1] == b"20"


@pytest.mark.parametrize("kind", KINDS)
def test_renames_survive_config_rewrite(tmp_path, kind):
    """CONFIG REWRITE keeps the rename-command and include lines, so the rewritten
    file starts the same server again."""
    if kind == "redis":
        redis_server_or_skip()
    (tmp_path / "inc.conf").write_text("timeout 5\n")
    conf = tmp_path / "r.conf"
    conf.write_text("rename-command config cfg\ninclude %s\nrename-command FLUSHALL \"\"\n"
                    % (tmp_path / "inc.conf"))
    for _ in range(2):
        proc, port = _start(kind, str(conf), "--dir", str(tmp_path))
        try:
            conn = RawConnection(port)
            assert conn.call("flushall").startswith(b"-ERR unknown command")
            assert conn.call("cfg", "get", "timeout") == \
                b"*2\r\n$7\r\ntimeout\r\n$1\r\n5\r\n"
            assert conn.call("cfg", "set", "hz", "20") == b"+OK\r\n"
            assert conn.call("cfg", "rewrite") == b"+OK\r\n"
            conn.close()
        finally:
            terminate(proc)
    text = conf.read_text()
    assert text.startswith("rename-command config cfg\ninclude ")
    assert "\nhz 20\n" in text


def test_module_and_sentinel_lines_as_redis(tmp_path):
    """No module loads here: a loadmodule line fails as Redis's fails on a file it
    cannot open or execute, module parameters without their module abort the start,
    and sentinel lines are refused outside sentinel mode (a lone "sentinel" is
    ignored)."""
    redis_server_or_skip()
    plain = tmp_path / "plain.so"
    plain.write_text("")
    lines = ["loadmodule %s" % (tmp_path / "nowhere.so"), "loadmodule %s a b" % plain,
             "foo.bar 1", "foo.bar", "sentinel monitor m 127.0.0.1 1 2",
             "hz 5\nfoo.bar 1\nloadmodule %s" % plain]
    for number, text in enumerate(lines):
        conf = tmp_path / ("%d.conf" % number)
        conf.write_text("%s\n" % text)
        real, mini = (_startup(kind, [str(conf), "--port", str(free_port())],
                               told=("odule",)) for kind in KINDS)
        assert mini == real, text
        assert real[0] == 1
    conf = tmp_path / "lone.conf"
    conf.write_text("sentinel\nhz 7\n")
    for kind in KINDS:
        proc, port = _start(kind, str(conf))
        try:
            conn = RawConnection(port)
            assert conn.call("CONFIG", "GET", "hz") == b"*2\r\n$2\r\nhz\r\n$1\r\n7\r\n"
            conn.close()
        finally:
            terminate(proc)


USER_LINES = [
    'user bob on (~x', 'user bob on +nosuch', 'user bob on allkeys ~x',
    'user "b c" on', 'user bob on\nuser bob off', 'user bob on %Z~x', 'user',
    'user bob bogusrule', 'user bob on (+get ~x) (~y', 'user bob on >pw\nuser alice on >x',
    'user bob on ">a b" +get', 'user default off nopass', 'user bob',
]


def test_user_lines_as_redis(tmp_path):
    """"user" lines are checked where they stand (a duplicate, a bad rule, an unbalanced
    selector: Redis's FATAL CONFIG FILE ERROR, naming the word it names), rules with
    unknown commands when the users load (logged, then "Critical error while loading
    ACLs"); quoted rules keep their spaces."""
    redis_server_or_skip()
    for kind in KINDS:
        (tmp_path / kind).mkdir()
    for text in USER_LINES:
        # (served: ACL LIST, and whether "a b" is bob's password)
        outcomes = [_random_start(kind, text + "\n", str(tmp_path / kind),
                                  [("ACL", "LIST"), ("AUTH", "bob", "a b")])
                    for kind in KINDS]
        assert outcomes[1] == outcomes[0], text


# Lines a random config file is made of ({d}: the test's directory). Not "user bob on
# (~x": Redis reports whatever errno the lines before it left (test_user_lines_as_redis
# has it first, where that is ENOENT's text, as this server always says).
RANDOM_LINES = [
    "hz 20", "hz 0", "hz x", "hz", "  hz 15  ", "HZ 9", '"hz" 11', 'hz "12"', "hz '13'",
    'hz "1', "hz 7\r", "hz 1 2", "maxmemory 10mb", "maxmemory -1", "maxmemory 1mb\0junk",
    "maxmemory-policy allkeys-lru", "maxmemory-policy bogus", "save 60 1", 'save ""',
    "save 60", "loglevel verbose", "loglevel loud", "databases 4", "databases 0",
    "bogus-directive 1", "# comment", "", "timeout 5 6", "appendfsync sometimes",
    "notify-keyspace-events KEA", "notify-keyspace-events Z",
    "client-output-buffer-limit normal 1 2 3", "client-output-buffer-limit bogus 1 2 3",
    "list-max-ziplist-entries 512", "list-max-ziplist-entries 1 2", "\0",
    "rename-command get get2", "rename-command get2 get3", "rename-command flushall \"\"",
    "rename-command get set", "rename-command get", "rename-command nosuch x",
    "user alice on >pw ~* +@all", "user bob bogusrule", "user bob on +nosuch",
    "user bob on", "user", "user default off",
    "include {d}/inc.conf", "include {d}/inc*.conf", "include {d}/none*.conf",
    "include {d}/nowhere.conf", "include", "loadmodule {d}/nowhere.so", "foo.bar 1",
    "foo.bar", "sentinel", "sentinel x", "logfile {d}/ok.log", "logfile {d}/no/x.log",
    # (cluster mode is not offered: only with replicaof, which Redis refuses first)
    "cluster-enabled yes\nreplicaof 127.0.0.1 1", "replicaof 127.0.0.1 1",
    "replicaof no one",
    "enable-debug-command maybe", "lua-replicate-commands yes", "io-threads 2",
    "protected-mode no", 'requirepass "a b"', "dir {d}/nowhere",
    "latency-tracking-info-percentiles 50 99", "latency-tracking-info-percentiles abc",
    "x" * 1100, "hz " + "1" * 1500, "unixsocketperm 999", "tcp-backlog abc",
    "aclfile {d}/none.acl",
]
# What a server that started answers, and the log lines a refused start is told by.
READINGS = [("CONFIG", "GET", name) for name in
            ("hz", "maxmemory", "save", "loglevel", "databases", "notify-keyspace-events",
             "timeout", "maxmemory-policy", "requirepass", "logfile")] + \
    [("COMMAND", "COUNT"), ("ACL", "LIST"), ("get2", "k"), ("get3", "k")]
TOLD = ("Fatal error", "odule", "ACL", "Spaces not allowed", "Critical error", "aclfile")


def _random_start(kind: str, text: str, directory: str,
                  readings: Sequence[Any] = (("AUTH", "a b"),) + tuple(READINGS)) -> Any:
    """A start on the config file ``text`` in ``directory``: ("refused", exit code,
    standard error, the log lines that say why) or ("served", what ``readings``
    answer, the directory's name masked)."""
    conf = os.path.join(directory, "r.conf")
    with open(conf, "wb") as handle:
        handle.write(text.encode("utf-8", "surrogateescape"))
    port = free_port()
    errors = os.path.join(directory, "stderr")
    with open(errors, "wb") as sink:    # (wait_serving would read a pipe's text)
        proc = subprocess.Popen(server_argv(kind) + [conf, "--port", str(port)],
                                cwd=directory, stdout=subprocess.PIPE, stderr=sink)
    try:
        wait_serving(proc, port, 20, kind)
    except ServerExited:
        return _refused(proc, directory, errors)
    try:
        conn = RawConnection(port)
        read = [conn.call(*command) for command in readings]
        conn.close()
    except ConnectionError:
        # Both servers listen before loading their users, and exit if that fails
        # ("Critical error while loading ACLs"): a reading in between is reset.
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            terminate(proc)
            proc.stdout.close()
            raise
        return _refused(proc, directory, errors)
    finally:
        if proc.poll() is None:
            terminate(proc)
    proc.stdout.close()
    return "served", [reply.replace(directory.encode(), b"{d}") for reply in read]


def _refused(proc: Any, directory: str, errors: str) -> Any:
    """_random_start's outcome for a server that exited: ("refused", exit code,
    standard error, the log lines that say why)."""
    out = proc.stdout.read().decode("utf-8", "replace")
    log = os.path.join(directory, "ok.log")
    if os.path.exists(log):
        with open(log) as handle:
            out += handle.read()
        os.unlink(log)
    told = [line.split(" # ", 1)[-1] for line in out.splitlines()
            if any(word in line for word in TOLD)]
    with open(errors, "rb") as handle:
        err = handle.read().decode("utf-8", "replace")
    proc.stdout.close()
    return "refused", proc.returncode, err, told


def test_random_config_files_as_redis(tmp_path):
    """Config files of random lines (parameters good and bad, quotes, NULs, long
    lines, includes, renames, users, modules): redis-server and miniredis start or
    refuse alike -- the same FATAL text or log lines, or the same settings, commands
    and users. MINIREDIS_AUDIT_SEED replays a run; MINIREDIS_HYPOTHESIS_EXAMPLES
    scales it (a tenth of the cases, at least 8)."""
    import random
    redis_server_or_skip()
    seed = int(os.environ.get("MINIREDIS_AUDIT_SEED", random.randrange(1 << 30)))
    count = max(8, int(os.environ.get("MINIREDIS_HYPOTHESIS_EXAMPLES", "80")) // 10)
    rng = random.Random(seed)
    (tmp_path / "inc.conf").write_text("hz 30\nmaxmemory 3mb\nrename-command get get2\n")
    (tmp_path / "inc2.conf").write_text("timeout 9\n")
    for _ in range(count):
        text = "\n".join(rng.choice(RANDOM_LINES) for _ in range(rng.randrange(1, 6)))
        # (the log file relative: each server writes its own, in its directory)
        text = text.replace("{d}/ok.log", "ok.log").replace("{d}", str(tmp_path)) + "\n"
        outcomes = []
        for kind in KINDS:
            directory = tmp_path / kind
            directory.mkdir(exist_ok=True)
            outcomes.append(_random_start(kind, text, str(directory)))
        assert outcomes[1] == outcomes[0], "MINIREDIS_AUDIT_SEED=%d: %r" % (seed, text)


def test_renamed_auth_lifts_the_limits_for_what_follows(tmp_path):
    """An unauthenticated client is held to small requests until AUTH succeeds, also
    when AUTH goes by another name: the request after it in the same read is parsed
    with the limits lifted."""
    redis_server_or_skip()
    conf = tmp_path / "auth.conf"
    conf.write_text("requirepass pw\nrename-command auth a2\nsave \"\"\n")
    payload = (b"*2\r\n$2\r\na2\r\n$2\r\npw\r\n" +
               b"*12\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n" + b"$1\r\nx\r\n" * 10)
    seen = []
    for kind in KINDS:
        proc, port = _start(kind, str(conf))
        try:
            conn = RawConnection(port)
            conn.send_raw(payload)
            seen.append([conn.read_raw(), conn.read_raw()])
            conn.close()
        finally:
            terminate(proc)
    assert seen[1] == seen[0] == [b"+OK\r\n", b":10\r\n"]
