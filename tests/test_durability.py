"""Persistence under disk failure: nothing acknowledged is lost, writes are refused
with Redis's MISCONF texts while the disk fails, the server recovers by itself.

Faults are injected at the file layer (``miniredis.persistence.diskio``: ENOSPC, EIO,
short writes, failing fsync and ftruncate) for deterministic unit tests; the same
scenarios run for real on a small tmpfs (skipped, with the reason printed, where
mounting is not permitted), side by side with a real redis-server for the texts.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Optional

import pytest
import redis

from miniredis import Server, errors
from miniredis.persistence import aofload
from miniredis.persistence import diskio
from tests.aofutil import ROOT, MiniProcess, aof_files, run_mini
from tests.harness import RawConnection, RedisProcess, encode_command, find_redis_server, \
    free_port, wait_serving

MISCONF_ENOSPC = "MISCONF Errors writing to the AOF file: No space left on device"


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="mini-dur-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class FaultyDisk:
    """Stands in for diskio.write/fsync/ftruncate. ``budget``: bytes the disk still
    takes (None: unlimited); past it, writes are short, then fail with ``error``."""

    def __init__(self) -> None:
        self.budget: Optional[int] = None
        self.error = errno.ENOSPC
        self.fsync_error: Optional[int] = None
        self.truncate_error: Optional[int] = None
        self.writes = 0

    def write(self, fd: int, data) -> int:
        self.writes += 1
        if self.budget is None:
            return os.write(fd, data)
        if self.budget <= 0:
            raise OSError(self.error, os.strerror(self.error))
        written = os.write(fd, bytes(data[:self.budget]))
        self.budget -= written
        return written

    def fsync(self, fd: int) -> None:
        if self.fsync_error is not None:
            raise OSError(self.fsync_error, os.strerror(self.fsync_error))
        os.fsync(fd)

    def ftruncate(self, fd: int, size: int) -> None:
        if self.truncate_error is not None:
            raise OSError(self.truncate_error, os.strerror(self.truncate_error))
        os.ftruncate(fd, size)


@pytest.fixture
def disk(monkeypatch) -> FaultyDisk:
    faulty = FaultyDisk()
    monkeypatch.setattr(diskio, "write", faulty.write)
    monkeypatch.setattr(diskio, "fsync", faulty.fsync)
    monkeypatch.setattr(diskio, "ftruncate", faulty.ftruncate)
    return faulty


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "condition not reached"
        time.sleep(0.02)


def _records(path: str) -> List[List[bytes]]:
    """Every command in an AOF file; fails on a partial or corrupt record."""
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        args, pos = aofload._parse_command(data, pos)
        out.append(args)
    return out


def _set_until_refused(r: redis.Redis, prefix: str, size: int = 300,
                       limit: int = 100000) -> List[int]:
    """SET keys until the server refuses one; the acknowledged indexes."""
    acked = []
    for i in range(limit):
        try:
            r.set("%s%d" % (prefix, i), b"v%d-" % i + b"x" * size)
        except redis.ResponseError as exc:
            assert str(exc).startswith("MISCONF "), exc
            return acked
        acked.append(i)
    raise AssertionError("never refused")


def _log(path: str) -> str:
    try:
        return open(path).read()
    except FileNotFoundError:
        return ""


# -- the AOF under write faults -----------------------------------------------------
def test_short_write_is_truncated_and_writes_refused_until_recovery(workdir, disk):
    log = os.path.join(workdir, "log.txt")
    with Server(port=0, appendonly=True, dir=workdir, logfile=log, quiet=False) as server:
        r = redis.Redis(port=server.port)
        r.set("before", "1")
        disk.budget = 5000                          # the disk fills up mid-record
        acked = _set_until_refused(r, "k")
        assert acked, "some writes fit before the disk was full"
        with pytest.raises(redis.ResponseError) as refused:
            r.set("refused", "x")
        assert str(refused.value) == MISCONF_ENOSPC
        with pytest.raises(redis.ResponseError) as ping:
            r.ping()
        assert str(ping.value) == MISCONF_ENOSPC
        assert r.get("before") == b"1"              # reads still work
        info = r.info("persistence")
        assert info["aof_last_write_status"] == "err"
        incr = aof_files(workdir)[-1]
        # The partial record was truncated away: the file parses to its very end.
        assert _records(incr)
        for _ in range(30):                         # retries keep failing quietly
            with pytest.raises(redis.ResponseError):
                r.set("refused", "x")
        disk.budget = None                          # space returns
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")
        assert r.ping()
        for i in range(100):
            r.set("after%d" % i, "y")
        records = _records(incr)
        keys = [args[1] for args in records if args[0].upper() == b"SET"]
        assert len(keys) == len(set(keys)), "a record was written twice"
    text = _log(log)
    assert text.count("Short write while writing to the AOF file") == 1
    assert text.count("AOF write error looks solved, Redis can write again.") == 1
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert r.get("before") == b"1"
        for i in acked:
            assert r.get("k%d" % i) == b"v%d-" % i + b"x" * 300
        assert r.get("refused") is None
        assert all(r.get("after%d" % i) == b"y" for i in range(100))


def test_remainder_kept_when_truncate_fails(workdir, disk):
    disk.truncate_error = errno.EIO
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        disk.budget = 3001
        acked = _set_until_refused(r, "k")
        disk.budget = None
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")
        r.set("last", "1")
        records = _records(aof_files(workdir)[-1])       # whole records only
        keys = [args[1] for args in records if args[0].upper() == b"SET"]
        assert keys == [b"k%d" % i for i in acked] + [b"last"]
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert r.dbsize() == len(acked) + 1


def test_failed_write_reports_the_cause(workdir, disk):
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        disk.budget, disk.error = 0, errno.EIO
        r.set("acked", "1")          # its write fails after the reply (everysec)
        with pytest.raises(redis.ResponseError) as refused:
            r.incr("n")
        assert str(refused.value) == "MISCONF Errors writing to the AOF file: " \
                                     "Input/output error"
        disk.budget = None
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")
        assert r.incr("n") == 1
    with Server(port=0, appendonly=True, dir=workdir) as server:
        assert redis.Redis(port=server.port).mget("acked", "n") == [b"1", b"1"]


def test_refusal_in_multi_exec_and_scripts(workdir, disk):
    with Server(port=0, appendonly=True, dir=workdir) as server:
        conn = RawConnection(server.port)
        assert conn.call("MULTI") == b"+OK\r\n"
        assert conn.call("SET", "queued", "1") == b"+QUEUED\r\n"
        disk.budget = 0
        r = redis.Redis(port=server.port)
        r.set("fails", "1")
        # Queued before the failure: EXEC refuses the transaction as a whole.
        assert conn.call("EXEC") == (b"-EXECABORT Transaction discarded because of: "
                                     + MISCONF_ENOSPC.encode() + b"\r\n")
        assert conn.call("MULTI") == b"+OK\r\n"
        assert conn.call("SET", "a", "1") == b"-" + MISCONF_ENOSPC.encode() + b"\r\n"
        assert conn.call("GET", "a") == b"+QUEUED\r\n"
        assert conn.call("EXEC").startswith(b"-EXECABORT")
        assert conn.call("EVAL", "return redis.call('set', 'a', 'b')", "0").startswith(
            b"-" + MISCONF_ENOSPC.encode() + b" script: ")
        assert conn.call("EVAL", "#!lua\nreturn redis.call('set', 'a', 'b')", "0") == \
            b"-" + MISCONF_ENOSPC.encode() + b"\r\n"
        assert conn.call("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')",
                         "0") == b"$-1\r\n"
        assert conn.call("EVAL", "return 1", "0") == b":1\r\n"
        conn.close()
        disk.budget = None
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")


def test_fsync_failure_refuses_writes_until_fsync_works(workdir, disk):
    log = os.path.join(workdir, "log.txt")
    with Server(port=0, appendonly=True, dir=workdir, logfile=log, quiet=False) as server:
        r = redis.Redis(port=server.port)
        disk.fsync_error = errno.EIO
        r.set("a", "1")
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "err")
        with pytest.raises(redis.ResponseError) as refused:
            r.set("b", "2")
        assert str(refused.value) == "MISCONF Errors writing to the AOF file: " \
                                     "Input/output error"
        disk.fsync_error = None
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")
        assert r.set("b", "2")
    assert _log(log).count("Fail to fsync the AOF file: Input/output error") == 1


_ALWAYS_SCRIPT = """
import errno, os, sys, redis
from miniredis import Server
from miniredis.persistence import diskio
real = diskio.{name}
def broken(*args):
    if os.environ.get("ARMED"):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    return real(*args)
diskio.{name} = broken
server = Server(port=0, appendonly=True, appendfsync="always", dir=sys.argv[1],
                logfile=sys.argv[2], quiet=False).start()
r = redis.Redis(port=server.port)
r.set("a", "1")
os.environ["ARMED"] = "1"
try:
    r.set("b", "2")
except Exception:
    pass
print("still running")
"""


@pytest.mark.parametrize("name,line", [
    ("write", "Can't recover from AOF write error when the AOF fsync policy is 'always'. "
              "Exiting..."),
    ("fsync", "Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
              "Input/output error. Exiting...")])
def test_always_exits_on_write_or_fsync_error(workdir, name, line):
    log = os.path.join(workdir, "log.txt")
    done = subprocess.run([sys.executable, "-c", _ALWAYS_SCRIPT.format(name=name),
                           workdir, log], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 1, done.stderr.decode()
    assert b"still running" not in done.stdout
    assert line in _log(log)
    with Server(port=0, appendonly=True, dir=workdir) as server:
        r = redis.Redis(port=server.port)
        assert r.get("a") == b"1"
        if name == "write":
            assert r.get("b") is None          # never written (nor acknowledged)


# -- RDB snapshots -----------------------------------------------------------------
def test_failed_bgsave_refuses_writes_while_configured(workdir, disk):
    with Server(port=0, dir=workdir, save="3600 1") as server:
        r = redis.Redis(port=server.port)
        r.set("a", "1")
        disk.budget = 0                                  # the child inherits the fault
        assert r.bgsave()
        wait_until(lambda: not r.info("persistence")["rdb_bgsave_in_progress"])
        assert r.info("persistence")["rdb_last_bgsave_status"] == "err"
        for call in (lambda: r.set("b", "2"), r.ping):
            with pytest.raises(redis.ResponseError) as refused:
                call()
            assert str(refused.value) == errors.MISCONF_RDB
        assert r.get("a") == b"1"
        r.config_set("stop-writes-on-bgsave-error", "no")
        assert r.set("b", "2")
        r.config_set("stop-writes-on-bgsave-error", "yes")
        with pytest.raises(redis.ResponseError):
            r.set("b", "3")
        r.config_set("save", "")                         # no save points: no refusal
        assert r.set("b", "3")
        r.config_set("save", "3600 1")
        with pytest.raises(redis.ResponseError):
            r.set("b", "4")
        assert not [n for n in os.listdir(workdir) if n.startswith("temp-")]
        disk.budget = None
        assert r.bgsave()
        wait_until(lambda: r.info("persistence")["rdb_last_bgsave_status"] == "ok")
        assert r.set("b", "4")


def test_save_of_a_large_string_is_fast_and_loads(workdir, redis_server):
    noise = os.urandom(200000)
    with Server(port=0, dir=workdir) as server:
        r = redis.Redis(port=server.port, socket_timeout=30)
        r.setbit("big", 1016301586, 1)               # a 127 MB bitmap: zero runs
        r.setbit("big", 4242, 1)
        r.set("noise", noise)                        # incompressible: stored raw
        r.set("small", "s")
        started = time.monotonic()
        assert r.save()
        elapsed = time.monotonic() - started
        assert elapsed < 3, "SAVE of 127 MB took %.1f s" % elapsed
    assert os.path.getsize(os.path.join(workdir, "dump.rdb")) < 2000000 + len(noise)
    with Server(port=0, dir=workdir) as server:
        r = redis.Redis(port=server.port, socket_timeout=30)
        assert r.strlen("big") == 127037699 and r.bitcount("big") == 2
        assert r.getbit("big", 1016301586) == 1 and r.getbit("big", 4242) == 1
        assert r.get("noise") == noise and r.get("small") == b"s"
    real = RedisProcess(redis_server, ("--dir", workdir))    # Redis reads our LZF
    try:
        r = redis.Redis(port=real.port, socket_timeout=30)
        assert r.strlen("big") == 127037699 and r.bitcount("big") == 2
        assert r.getbit("big", 1016301586) == 1 and r.get("noise") == noise
    finally:
        real.proc.terminate()
        real.proc.wait(10)


def test_zero_run_compression_round_trips():
    import random
    from miniredis.persistence.rdb import lzf_decompress
    from miniredis.persistence.rdbwrite import lzf_zero_runs
    rng = random.Random(7)
    packed_some = 0
    for _ in range(300):
        size = rng.choice([65536, 100000, 300001])
        value = bytearray(size)
        for _ in range(rng.randint(0, 40)):
            at = rng.randrange(size)
            chunk = rng.randbytes(rng.randint(1, 600))
            value[at:at + len(chunk)] = chunk
        value = value[:size]
        assert len(value) == size
        packed = lzf_zero_runs(value)
        if packed is not None:
            packed_some += 1
            assert len(packed) < size
            assert lzf_decompress(packed, size) == bytes(value)
    assert packed_some > 100
    assert lzf_zero_runs(os.urandom(100000)) is None


def _load_hashes(port: int, count: int) -> None:
    """HSET h<i> f v g <i> for i < count, sent as one raw pipeline (redis-py's
    pipeline spends seconds encoding them)."""
    payload = b"".join(encode_command((b"HSET", b"h%d" % i, b"f", b"v", b"g", b"%d" % i))
                       for i in range(count))
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(payload + b"PING\r\n")
        replies = bytearray()
        while not replies.endswith(b"+PONG\r\n"):
            more = conn.recv(1 << 20)
            assert more, "the server closed the connection"
            replies += more
    assert replies == b":2\r\n" * count + b"+PONG\r\n"


@pytest.mark.parametrize("command", ["BGSAVE", "BGREWRITEAOF"])
def test_background_snapshot_never_stalls_clients(workdir, command):
    with Server(port=0, dir=workdir, appendonly=command == "BGREWRITEAOF") as server:
        r = redis.Redis(port=server.port)
        _load_hashes(server.port, 120000)
        r.execute_command(command)
        worst = 0.0
        pings = 0
        while True:
            started = time.perf_counter()
            r.ping()
            worst = max(worst, time.perf_counter() - started)
            pings += 1
            info = r.info("persistence")
            if not info["rdb_bgsave_in_progress"] and not info["aof_rewrite_in_progress"]:
                break
        # Generous for a loaded 2-core CI machine (the ping client shares this process's
        # GIL with the server's thread); copying 200,000 hashes in one step took ~0.3 s.
        assert worst < 0.1, "a ping waited %.3f s" % worst
        assert info["rdb_last_bgsave_status"] == "ok"
        assert info["aof_last_bgrewrite_status"] == "ok"
    with Server(port=0, dir=workdir, appendonly=command == "BGREWRITEAOF") as server:
        r = redis.Redis(port=server.port)
        assert r.dbsize() == 120000
        assert r.hgetall("h103456") == {b"f": b"v", b"g": b"103456"}


# -- differential: the texts and behaviour of redis-server -----------------------------
@pytest.fixture(scope="module")
def redis_server():
    executable = find_redis_server()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server not found")
        pytest.skip("redis-server not found")
    return executable


def _both(redis_server: str, *options: str):
    """A miniredis process and a redis-server, each in its own directory."""
    real = RedisProcess(redis_server, options)
    mini_dir = tempfile.mkdtemp(prefix="mini-dur-")
    mini = MiniProcess(mini_dir, "--save", "", *options)
    return real, mini


def _stop(real: RedisProcess, mini: MiniProcess) -> None:
    real.stop()
    mini.kill()
    shutil.rmtree(mini.dir, ignore_errors=True)


def test_bgsave_failure_misconf_as_redis(redis_server):
    real, mini = _both(redis_server)
    try:
        replies = []
        for port, folder in ((real.port, real.dir), (mini.port, mini.dir)):
            r = redis.Redis(port=port)
            r.config_set("save", "3600 1")
            r.set("a", "1")
            os.makedirs(os.path.join(folder, "dump.rdb", "x"))   # rename() will fail
            assert r.bgsave()
            wait_until(lambda: not r.info("persistence")["rdb_bgsave_in_progress"])
            conn = RawConnection(port)
            replies.append([
                r.info("persistence")["rdb_last_bgsave_status"],
                conn.call("SET", "b", "1"), conn.call("PING"), conn.call("GET", "a"),
                conn.call("MULTI"), conn.call("INCR", "n"), conn.call("EXEC"),
                conn.call("EVAL", "return redis.call('del', 'a')", "0").split(b" script:")[0],
                conn.call("SAVE")])
            subscriber = RawConnection(port)      # the disk check comes first
            replies[-1] += [subscriber.call("SUBSCRIBE", "ch"),
                            subscriber.call("SET", "b", "1"), subscriber.call("GET", "b")]
            subscriber.close()
            replies[-1] += [conn.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"),
                            conn.call("SET", "b", "1")]
            conn.close()
        assert replies[0] == replies[1]
        assert replies[0][1] == b"-%s\r\n" % errors.MISCONF_RDB.encode()
    finally:
        _stop(real, mini)


def test_config_set_appendonly_failure_as_redis(redis_server):
    real, mini = _both(redis_server)
    try:
        replies = []
        for port, folder in ((real.port, real.dir), (mini.port, mini.dir)):
            open(os.path.join(folder, "appendonlydir"), "w").close()   # not a directory
            conn = RawConnection(port)
            replies.append([conn.call("CONFIG", "SET", "appendonly", "yes"),
                            conn.call("CONFIG", "GET", "appendonly"),
                            conn.call("SET", "k", "v")])
            info = redis.Redis(port=port).info("persistence")
            replies[-1] += [info["aof_enabled"], info["aof_last_write_status"]]
            conn.close()
        assert replies[0] == replies[1]
        assert replies[1][0].startswith(b"-ERR CONFIG SET failed (possibly related to "
                                        b"argument 'appendonly') - Unable to turn on AOF")
    finally:
        _stop(real, mini)


def test_startup_names_the_directory_and_cause(workdir):
    open(os.path.join(workdir, "appendonlydir"), "w").close()
    done = run_mini(workdir, "--appendonly", "yes")
    assert done.returncode == 1
    message = done.stdout.decode()      # (in the log, as Redis's; no logfile: stdout)
    assert "appendonlydir" in message and "Not a directory" in message, message
    assert "Failed listening" not in message and not done.stderr
    missing = os.path.join(workdir, "missing")
    done = run_mini(missing)
    assert done.returncode == 1
    # (as redis-server: the dir line is refused where it stands, test_config_params)
    message = done.stderr.decode()
    assert "FATAL CONFIG FILE ERROR" in message and missing in message and \
        "No such file or directory" in message, message


def test_startup_on_a_read_only_file_system(read_only_tmpfs):
    done = run_mini(read_only_tmpfs, "--appendonly", "yes")
    assert done.returncode == 1
    message = done.stdout.decode()
    assert read_only_tmpfs in message and "Read-only file system" in message, message
    assert "Failed listening" not in message


# -- real full disks (tmpfs) -----------------------------------------------------------
@pytest.fixture
def small_tmpfs():
    """A 2 MB tmpfs; unmounted in teardown. Skipped (reason printed) without mount."""
    path = tempfile.mkdtemp(prefix="mini-tmpfs-")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", path],
                          capture_output=True)
    if done.returncode != 0:
        os.rmdir(path)
        reason = "cannot mount a tmpfs (%s): full-disk tests skipped" % (
            done.stderr.decode().strip() or "not permitted")
        print(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def read_only_tmpfs():
    """A read-only tmpfs (skipped, reason printed, where mounting is not permitted)."""
    path = tempfile.mkdtemp(prefix="mini-ro-")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", path],
                          capture_output=True)
    if done.returncode != 0:
        os.rmdir(path)
        reason = "cannot mount a tmpfs (%s): read-only test skipped" % (
            done.stderr.decode().strip() or "not permitted")
        print(reason)
        pytest.skip(reason)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


def _fill(path: str, name: str = "filler") -> str:
    """Fill the file system at ``path`` (a file of every free byte)."""
    filler = os.path.join(path, name)
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_full_disk_loses_nothing_acknowledged(small_tmpfs):
    mini = MiniProcess(small_tmpfs, "--appendonly", "yes", "--appendfsync", "everysec",
                       "--save", "")
    try:
        r = redis.Redis(port=mini.port)
        for i in range(50):
            r.set("early%d" % i, "x" * 100)
        filler = _fill(small_tmpfs)
        os.truncate(filler, os.path.getsize(filler) - 200 * 1024)   # 200 KB left
        acked = []
        refusal = None
        for i in range(4000):
            try:
                r.set("k%d" % i, "v" * 500)
                acked.append(i)
            except redis.ResponseError as exc:
                refusal = str(exc)
                break
        assert refusal == MISCONF_ENOSPC
        os.unlink(filler)                                # space returns
        wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")
        for i in range(100):
            r.set("after%d" % i, "a")
        time.sleep(1.5)                                  # everysec: fsynced
        mini.proc.send_signal(signal.SIGKILL)
        mini.proc.wait()
        mini = MiniProcess(small_tmpfs, "--appendonly", "yes", "--save", "",
                           port=free_port())
        r = redis.Redis(port=mini.port)
        assert all(r.exists("early%d" % i) for i in range(50))
        missing = [i for i in acked if r.get("k%d" % i) != b"v" * 500]
        assert not missing, "%d acknowledged keys lost" % len(missing)
        assert all(r.get("after%d" % i) == b"a" for i in range(100))
    finally:
        mini.proc.kill()
        mini.proc.wait()


def test_full_disk_misconf_as_redis(small_tmpfs, redis_server):
    replies = {}
    for name in ("redis", "miniredis"):
        folder = os.path.join(small_tmpfs, name)
        os.makedirs(folder)
        if name == "redis":
            port = free_port()
            proc = subprocess.Popen([redis_server, "--port", str(port), "--dir", folder,
                                     "--appendonly", "yes", "--save", ""],
                                    stdout=subprocess.DEVNULL)
            wait_serving(proc, port, 10, "redis-server")
            wait_until(lambda: _answers(port))
        else:
            mini = MiniProcess(folder, "--appendonly", "yes", "--save", "")
            proc, port = mini.proc, mini.port
        try:
            r = redis.Redis(port=port)
            filler = _fill(small_tmpfs, "filler-" + name)
            refusal = None
            for i in range(200):
                try:
                    r.set("k%d" % i, "v" * 500)
                except redis.ResponseError as exc:
                    refusal = str(exc)
                    break
            conn = RawConnection(port)
            replies[name] = [refusal, conn.call("PING"), conn.call("DEL", "k0"),
                             conn.call("GET", "nothing"),
                             r.info("persistence")["aof_last_write_status"]]
            conn.close()
            os.unlink(filler)
            wait_until(lambda: r.info("persistence")["aof_last_write_status"] == "ok")
            replies[name].append(RawConnection(port).call("PING"))
        finally:
            proc.kill()
            proc.wait()
    assert replies["redis"] == replies["miniredis"]
    assert replies["redis"][0] == MISCONF_ENOSPC


def _answers(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False


# -- memory of large values -----------------------------------------------------------------
def _memory(pid: int) -> dict:
    fields = {}
    for line in open("/proc/%d/status" % pid):
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


@pytest.mark.parametrize("appendonly", ["no", "yes"])
def test_large_set_peaks_at_twice_its_size(workdir, appendonly):
    """A SET of N bytes costs at most ~2N at its peak (the query buffer and the
    value), with the AOF on too; Redis peaks at N without AOF and 3N with it."""
    mini = MiniProcess(workdir, "--appendonly", appendonly, "--save", "")
    try:
        r = redis.Redis(port=mini.port, socket_timeout=60)
        time.sleep(0.3)
        base = _memory(mini.proc.pid)["VmRSS"]
        size = 100 * 1024 * 1024
        conn = RawConnection(mini.port)
        # The big request, then more requests in the same stream.
        conn.send_raw(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % size + b"v" * size
                      + b"\r\n*2\r\n$6\r\nSTRLEN\r\n$3\r\nbig\r\nPING\r\n")
        assert conn.read_raw() == b"+OK\r\n"
        assert conn.read_raw() == b":%d\r\n" % size
        assert conn.read_raw() == b"+PONG\r\n"
        conn.close()
        peak = _memory(mini.proc.pid)["VmHWM"] - base
        assert peak < 2.4 * size, "peak +%d MB for a %d MB value" % (peak >> 20, size >> 20)
        assert r.getrange("big", size - 3, -1) == b"vvv"
    finally:
        mini.kill()


def test_flushall_kills_a_running_bgsave_and_saves(workdir):
    """FLUSHALL (Redis's flushAllDataAndResetRDB): an older snapshot never lands after
    it, and with save points the empty dataset is saved at once."""
    with Server(port=0, dir=workdir, save="3600 1") as server:
        r = redis.Redis(port=server.port)
        pipe = r.pipeline(transaction=False)
        for i in range(50000):
            pipe.set("k%d" % i, "v")
        pipe.execute()
        assert r.bgsave()
        assert r.flushall()
        assert r.info("persistence")["rdb_bgsave_in_progress"] == 0
        time.sleep(1)                      # a surviving child would be done by now
        copy = os.path.join(workdir, "copy")
        os.makedirs(copy)
        shutil.copy(os.path.join(workdir, "dump.rdb"), copy)
    with Server(port=0, dir=copy) as server:
        assert redis.Redis(port=server.port).keys() == []


def test_failing_automatic_rewrites_are_limited(workdir, monkeypatch):
    """After 3 consecutive failures automatic rewrites wait (1, 2, 4... minutes), as
    Redis's aofRewriteLimited; BGREWRITEAOF is not held back."""
    from miniredis.persistence import snapshot

    def broken(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(snapshot, "rewrite_commands", broken)
    log = os.path.join(workdir, "log.txt")
    with Server(port=0, appendonly=True, dir=workdir, logfile=log, quiet=False,
                auto_aof_rewrite_min_size="1", auto_aof_rewrite_percentage="1",
                aof_use_rdb_preamble=False) as server:
        r = redis.Redis(port=server.port)
        r.set("k", "v" * 1000)
        wait_until(lambda: "triggered the limit, will retry in 1 minutes" in _log(log))
        time.sleep(0.5)
        info = r.info("persistence")
        assert info["aof_rewrites_consecutive_failures"] == 3
        assert info["aof_last_bgrewrite_status"] == "err"
        assert not info["aof_rewrite_in_progress"]
        assert r.set("k", "still writable")            # a failed rewrite is no MISCONF
        monkeypatch.undo()
        assert r.bgrewriteaof()
        wait_until(lambda: r.info("persistence")["aof_last_bgrewrite_status"] == "ok")


def test_full_disk_failed_bgsave_refuses_writes_until_a_save_succeeds(small_tmpfs):
    mini = MiniProcess(small_tmpfs, "--save", "1 1", "--appendonly", "no")
    try:
        r = redis.Redis(port=mini.port)
        r.set("big", b"x" * 300000)
        filler = _fill(small_tmpfs)
        r.set("trigger", "1")                     # a save point fires within a second
        wait_until(lambda: r.info("persistence")["rdb_last_bgsave_status"] == "err")
        with pytest.raises(redis.ResponseError) as refused:
            r.set("refused", "1")
        assert str(refused.value) == errors.MISCONF_RDB
        os.unlink(filler)
        # The save point is retried 5 s after the failure (CONFIG_BGSAVE_RETRY_DELAY).
        wait_until(lambda: r.info("persistence")["rdb_last_bgsave_status"] == "ok", 15)
        assert r.set("after", "1")
        assert r.save()
        mini.proc.send_signal(signal.SIGKILL)
        mini.proc.wait()
        mini = MiniProcess(small_tmpfs, "--save", "", port=free_port())
        r = redis.Redis(port=mini.port)
        assert len(r.get("big")) == 300000 and r.get("trigger") == b"1"
        assert r.get("refused") is None and r.get("after") == b"1"
    finally:
        mini.proc.kill()
        mini.proc.wait()


def test_without_fork_snapshots_are_written_inline(workdir, monkeypatch):
    """Where os.fork does not exist the background commands write in place."""
    monkeypatch.setattr(diskio, "CAN_FORK", False)
    with Server(port=0, dir=workdir, appendonly=True) as server:
        r = redis.Redis(port=server.port)
        r.set("a", "1")
        assert r.bgsave() and r.bgrewriteaof()
        info = r.info("persistence")
        assert not info["rdb_bgsave_in_progress"] and not info["aof_rewrite_in_progress"]
        assert info["rdb_last_bgsave_status"] == "ok"
        assert info["aof_last_bgrewrite_status"] == "ok" and info["aof_rewrites"] == 1
    with Server(port=0, dir=workdir) as server:
        assert redis.Redis(port=server.port).get("a") == b"1"
