"""The multi-part AOF's manifest and files against redis-server 7.0: the same
directory prepared for both servers, then the same outcome compared -- exit status and
the log line Redis's tools look for when a manifest is refused; data, file names and
manifest text when it is loaded, upgraded from a Redis 6 single file, rewritten
(history files, aof-disable-auto-gc, failed rewrites, AOF off), or when AOF is turned
on at run time (the temporary incr file, during a BGSAVE).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any, Callable, Dict, List, Optional

import pytest
import redis

from tests.harness import ROOT, free_port, server_argv, start_process

_SET = "*3\r\n$3\r\nSET\r\n$2\r\n{0}\r\n$2\r\n{1}\r\n"


def _sets(*pairs: str) -> bytes:
    return "".join(_SET.format(k, v) for k, v in zip(pairs[0::2], pairs[1::2])).encode()



def _options(workdir: str, *extra: str) -> List[str]:
    return ["--bind", "127.0.0.1", "--save", "", "--dir", workdir, "--appendonly", "yes",
            "--enable-debug-command", "yes", "--auto-aof-rewrite-percentage", "0",
            "--logfile", os.path.join(workdir, "log.txt"), *extra]


def _prepare(workdir: str, files: Dict[str, Any]) -> None:
    for name, data in files.items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)


def _log(workdir: str) -> str:
    try:
        with open(os.path.join(workdir, "log.txt"), errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _listing(workdir: str) -> List[str]:
    folder = os.path.join(workdir, "appendonlydir")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def _manifest(workdir: str, prefix: str = "appendonly.aof") -> Optional[bytes]:
    try:
        with open(os.path.join(workdir, "appendonlydir", prefix + ".manifest"), "rb") as h:
            return h.read()
    except FileNotFoundError:
        return None


class _Running:
    """One server (redis-server or miniredis) serving ``workdir``."""

    def __init__(self, kind: str, workdir: str, *extra: str) -> None:
        self.workdir = workdir
        self.proc, self.port = start_process(
            lambda port: server_argv(kind) + ["--port", str(port)] + _options(workdir, *extra),
            what=kind, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.r = redis.Redis(port=self.port)
        deadline = time.time() + 20
        while self.r.info("persistence")["loading"]:
            assert time.time() < deadline
            time.sleep(0.02)

    def wait(self, condition: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while not condition():
            assert time.time() < deadline, "condition not reached"
            time.sleep(0.02)

    def rewrite_done(self) -> None:
        def done() -> bool:
            info = self.r.info("persistence")
            return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]
        self.wait(done)

    def kill_child(self) -> None:
        """SIGKILL the forked child (a rewrite or a save), as Redis's tests do."""
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                               text=True).stdout.split()
        assert found, "no child"
        os.kill(int(found[0]), signal.SIGKILL)

    def stop(self) -> None:
        self.r.close()
        self.proc.kill()
        self.proc.wait(10)


def _both(tmp_path, scenario: Callable[[str, str], Any],
          files: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``scenario(kind, workdir)`` for each server on the same prepared directory."""
    outcomes = {}
    for kind in ("redis", "miniredis"):
        workdir = str(tmp_path / kind)
        os.makedirs(workdir)
        _prepare(workdir, files or {})
        outcomes[kind] = scenario(kind, workdir)
    return outcomes


# -- refused manifests -----------------------------------------------------------------
_BASE1 = "appendonlydir/appendonly.aof.1.base.aof"
_INCR1 = "appendonlydir/appendonly.aof.1.incr.aof"
_INCR2 = "appendonlydir/appendonly.aof.2.incr.aof"
_MANIFEST = "appendonlydir/appendonly.aof.manifest"
_LONG = "file appendonly.aof.1.base.aof seq 1 type b " * 30
_REFUSED = {
    "a file missing": ("file appendonly.aof.1.base.aof seq 1 type b\n"
                       "file appendonly.aof.1.incr.aof seq 1 type i\n"
                       "file appendonly.aof.2.incr.aof seq 2 type i\n", [_BASE1, _INCR2]),
    "decreasing seq": ("file appendonly.aof.2.incr.aof seq 2 type i\n"
                       "file appendonly.aof.1.incr.aof seq 1 type i\n", [_INCR1, _INCR2]),
    "blank line": ("file appendonly.aof.1.incr.aof seq 1 type i\n\n"
                   "file appendonly.aof.2.incr.aof seq 2 type i\n", [_INCR1, _INCR2]),
    "two bases": ("file appendonly.aof.1.base.aof seq 1 type b\n"
                  "file appendonly.aof.1.base.aof seq 2 type b\n", [_BASE1]),
    "unknown type": ("file appendonly.aof.1.base.aof seq 1 type x\n", [_BASE1]),
    "missing key": ("filx appendonly.aof.1.base.aof seq 1 type b\n", [_BASE1]),
    "too short": ("file appendonly.aof.1.incr.aof type i\n", [_INCR1]),
    "odd words": ("file appendonly.aof.1.incr.aof seq 1 type i newkey\n", [_INCR1]),
    "seq zero": ("file appendonly.aof.1.incr.aof seq x type i\n", [_INCR1]),
    "too long": (_LONG + "\n", [_BASE1]),
    "no newline at the end": ("file appendonly.aof.1.incr.aof seq 1 type i", [_INCR1]),
    "a path": ("file ../appendonly.aof.1.incr.aof seq 1 type i\n", [_INCR1]),
    "unbalanced quotes": ('file "appendonly.aof.1.incr.aof seq 1 type i\n', [_INCR1]),
    "empty": ("", []),
    "an old single file named but missing": ("file appendonly.aof seq 1 type b\n", []),
}
_ERRORS = ["No such file or directory", "Found a non-monotonic sequence number",
           "Invalid AOF manifest file format", "Found duplicate base file information",
           "Unknown AOF file type", "The AOF manifest file contains too long line",
           "File can't be a path, just a filename", "Found an empty AOF manifest",
           "FATAL AOF MANIFEST FILE ERROR"]


@pytest.mark.parametrize("case", sorted(_REFUSED))
def test_refused_manifest_as_redis(tmp_path, case):
    """Redis exits (status 1) on a manifest it refuses and logs why once; the files
    stay as they were."""
    text, names = _REFUSED[case]
    files = {name: _sets("k1", "v1") for name in names}
    files[_MANIFEST] = text

    def scenario(kind: str, workdir: str) -> Any:
        done = subprocess.run(server_argv(kind) + ["--port", str(free_port())]
                              + _options(workdir), cwd=ROOT, capture_output=True, timeout=30)
        log = _log(workdir)
        return (done.returncode, [(error, log.count(error)) for error in _ERRORS
                                  if error in log], _listing(workdir))
    outcomes = _both(tmp_path, scenario, files)
    assert outcomes["miniredis"] == outcomes["redis"]
    assert outcomes["redis"][0] == 1 and outcomes["redis"][1]


# -- manifests that load ---------------------------------------------------------------
_LOADED = {
    "gaps in seq, an unknown key": (
        "file appendonly.aof.1.base.aof seq 1 type b newkey newvalue\n"
        "# a comment\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        "file appendonly.aof.3.incr.aof seq 3 type i\n",
        {_BASE1: _sets("k1", "v1"), _INCR1: b"",
         "appendonlydir/appendonly.aof.3.incr.aof": _sets("k3", "v3")}),
    "quoted names, history kept": (
        'file "appendonly.aof.1.base.aof" seq 1 type b\n'
        "file appendonly.aof.0.base.aof seq 9 type h\n"
        "FILE appendonly.aof.2.incr.aof SEQ 2 TYPE i\n",
        {_BASE1: _sets("k1", "v1"), _INCR2: _sets("k2", "v2"),
         "appendonlydir/appendonly.aof.0.base.aof": _sets("k0", "v0")}),
    "only comments": ("# nothing\n", {}),
}


@pytest.mark.parametrize("case", sorted(_LOADED))
def test_loaded_manifest_as_redis(tmp_path, case):
    """What loads, what the manifest says afterwards (a base is created when there is
    none, history files are deleted at start-up) and which files remain."""
    text, files = _LOADED[case]
    files = dict(files, **{_MANIFEST: text})

    def scenario(kind: str, workdir: str) -> Any:
        server = _Running(kind, workdir)
        try:
            values = server.r.mget("k0", "k1", "k2", "k3")
            server.r.set("k4", "v4")
            server.r.execute_command("DEBUG", "LOADAOF")
            return values, server.r.get("k4"), _manifest(workdir), _listing(workdir)
        finally:
            server.stop()
    outcomes = _both(tmp_path, scenario, files)
    assert outcomes["miniredis"] == outcomes["redis"]


# -- upgrading from Redis 6's single file ----------------------------------------------
def _rdb_preamble_file(tmp_path) -> bytes:
    """An appendonly.aof as Redis 6 wrote it with aof-use-rdb-preamble: a snapshot, then
    commands."""
    workdir = str(tmp_path / "preamble")
    os.makedirs(workdir)
    server = _Running("redis", workdir, "--appendonly", "no")
    try:
        server.r.mset({"k1": "v1", "k2": "v2"})
        server.r.save()
    finally:
        server.stop()
    with open(os.path.join(workdir, "dump.rdb"), "rb") as handle:
        return handle.read() + _sets("k3", "v3")


@pytest.mark.parametrize("case", ["plain", "rdb preamble", "interrupted", "both dirs",
                                  "two servers"])
def test_upgrade_from_single_file_as_redis(tmp_path, case):
    """dir/appendonly.aof and no manifest (or a manifest naming it alone, the file not
    yet moved): it becomes the base of a new manifest in appendonlydir, then rewrites
    go on from seq 2. A copy already in the directory wins."""
    old = _rdb_preamble_file(tmp_path) if case == "rdb preamble" else \
        _sets("k1", "v1", "k2", "v2", "k3", "v3")
    files = {"appendonly.aof": old}
    if case in ("interrupted", "both dirs"):
        files[_MANIFEST] = "file appendonly.aof seq 1 type b\n"
    if case == "both dirs":
        files["appendonlydir/appendonly.aof"] = _sets("k4", "v4")
    if case == "two servers":
        files["appendonly.aof2"] = _sets("k4", "v4")

    def scenario(kind: str, workdir: str) -> Any:
        servers = [_Running(kind, workdir)]
        if case == "two servers":
            servers.append(_Running(kind, workdir, "--appendfilename", "appendonly.aof2"))
        try:
            out: List[Any] = [os.path.exists(os.path.join(workdir, "appendonly.aof"))]
            for server, prefix in zip(servers, ("appendonly.aof", "appendonly.aof2")):
                out += [server.r.mget("k1", "k2", "k3", "k4"), _manifest(workdir, prefix)]
                server.r.bgrewriteaof()
                server.rewrite_done()
                server.r.set("k5", "v5")
                digest = server.r.execute_command("DEBUG", "DIGEST")
                server.r.execute_command("DEBUG", "LOADAOF")
                out += [_manifest(workdir, prefix),
                        digest == server.r.execute_command("DEBUG", "DIGEST")]
            out.append(_listing(workdir))
            out.append("Successfully migrated an old-style AOF file" in _log(workdir))
            return out
        finally:
            for server in servers:
                server.stop()
    outcomes = _both(tmp_path, scenario, files)
    assert outcomes["miniredis"] == outcomes["redis"]


# -- files created and rewritten ---------------------------------------------------------
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_base_created_at_start_as_redis(tmp_path, preamble):
    """A first start writes an empty base, RDB (.base.rdb) or RESP (.base.aof) as
    aof-use-rdb-preamble says, and a first incr file; a whitespace appendfilename is
    quoted in the manifest."""
    def scenario(kind: str, workdir: str) -> Any:
        out = []
        for prefix in ("appendonly.aof", " file seq \n\n.aof "):
            server = _Running(kind, workdir, "--aof-use-rdb-preamble", preamble,
                              "--appendfilename", prefix)
            try:
                server.r.set("foo", "bar")
                out.append(_manifest(workdir, prefix))
                server.r.bgrewriteaof()
                server.rewrite_done()
                digest = server.r.execute_command("DEBUG", "DIGEST")
                server.r.execute_command("DEBUG", "LOADAOF")
                out += [_manifest(workdir, prefix),
                        digest == server.r.execute_command("DEBUG", "DIGEST")]
            finally:
                server.stop()
        return out + [_listing(workdir)]
    outcomes = _both(tmp_path, scenario)
    assert outcomes["miniredis"] == outcomes["redis"]


def test_rewrites_history_and_aof_off_as_redis(tmp_path):
    """Failed rewrites leave one more incr file each; a rewrite with AOF off writes a
    base alone; turning AOF on numbers incr files from what the manifest on disk
    says; aof-disable-auto-gc keeps history files in the manifest until it is
    turned off again; DEBUG LOADAOF rereads the manifest."""
    def scenario(kind: str, workdir: str) -> Any:
        server = _Running(kind, workdir)
        r = server.r
        out: List[Any] = []
        try:
            r.set("k", "v")
            r.config_set("rdb-key-save-delay", 10000000)
            for _ in range(2):
                r.bgrewriteaof()
                server.kill_child()
                server.rewrite_done()
            info = r.info("persistence")
            out += [_manifest(workdir), info["aof_rewrites_consecutive_failures"],
                    info["aof_last_bgrewrite_status"]]
            r.config_set("rdb-key-save-delay", 0)
            r.config_set("appendonly", "no")
            r.bgrewriteaof()
            server.rewrite_done()
            r.execute_command("DEBUG", "LOADAOF")
            out += [_manifest(workdir), _listing(workdir), r.get("k")]
            r.config_set("appendonly", "yes")
            server.rewrite_done()
            r.config_set("aof-disable-auto-gc", "yes")
            for _ in range(2):
                r.bgrewriteaof()
                server.rewrite_done()
            out += [_manifest(workdir), _listing(workdir)]
            r.config_set("aof-disable-auto-gc", "no")
            out += [_manifest(workdir), _listing(workdir)]
            r.execute_command("DEBUG", "LOADAOF")
            r.bgrewriteaof()
            server.rewrite_done()
            out += [_manifest(workdir), r.get("k")]
            return out
        finally:
            server.stop()
    outcomes = _both(tmp_path, scenario)
    assert outcomes["miniredis"] == outcomes["redis"]


def test_turning_aof_on_as_redis(tmp_path):
    """CONFIG SET appendonly yes during a BGSAVE schedules the rewrite and logs
    nothing meanwhile; a rewrite killed while AOF is being turned on removes its
    temporary incr file (no manifest yet) and is retried."""
    def scenario(kind: str, workdir: str) -> Any:
        server = _Running(kind, workdir, "--appendonly", "no")
        r = server.r
        out: List[Any] = []
        try:
            r.config_set("rdb-key-save-delay", 10000000)
            r.set("k1", "v1")
            r.bgsave()
            r.config_set("appendonly", "yes")
            info = r.info("persistence")
            out += [info["aof_rewrite_scheduled"], info["aof_rewrite_in_progress"],
                    _listing(workdir)]
            r.set("k2", "v2")
            server.kill_child()                      # the BGSAVE: the rewrite starts
            server.wait(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 1)
            out.append(_listing(workdir))
            server.kill_child()                      # the rewrite: retried
            server.wait(lambda: "Removing the temp incr aof file" in _log(workdir))
            out += [_manifest(workdir), r.info("persistence")["aof_enabled"]]
            server.wait(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 1)
            r.config_set("rdb-key-save-delay", 0)    # (for the next attempt)
            server.kill_child()
            server.rewrite_done()
            out += [_manifest(workdir), _listing(workdir),
                    _log(workdir).count("Removing the temp incr aof file")]
            r.set("k3", "v3")
            r.execute_command("DEBUG", "LOADAOF")
            out.append(r.mget("k1", "k2", "k3"))
            return out
        finally:
            server.stop()
    outcomes = _both(tmp_path, scenario)
    assert outcomes["miniredis"] == outcomes["redis"]
