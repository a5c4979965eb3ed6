"""The benchmark scripts themselves (benchmarks/): tiny, fast checks of their parts.

make bench is too slow for the suite; these check that the datasets are what the
README says, that loading them works against miniredis, that redis-benchmark's CSV is
read right and that the chart draws (when matplotlib, the bench extra, is there)."""
import os
import shutil
import sys

import hiredis
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import many_keys, memory, servers, throughput  # noqa: E402


def _commands(path):
    reader = hiredis.Reader()
    with open(path, "rb") as data:
        reader.feed(data.read())
    out = []
    reply = reader.gets()
    while reply is not False:
        out.append(reply)
        reply = reader.gets()
    return out


def test_datasets_hold_what_the_docstring_says(tmp_path):
    path = str(tmp_path / "d.resp")
    memory.write_dataset("strings", 3, path)
    assert _commands(path) == [[b"SET", b"string:%07d" % i, b"value:%07d" % i]
                               for i in range(3)]
    memory.write_dataset("hashes", 2, path)
    hashes = _commands(path)
    assert len(hashes) == 2 and hashes[1][:2] == [b"HSET", b"hash:000001"]
    assert len(hashes[1]) == 2 + 20
    memory.write_dataset("zsets", 1, path)
    assert _commands(path)[0][2:6] == [b"0", b"member:0", b"1", b"member:1"]
    memory.write_dataset("list", 250, path)
    pushes = _commands(path)
    assert [len(c) - 2 for c in pushes] == [100, 100, 50]
    assert pushes[2][-1] == b"item:0000249"


@pytest.mark.parametrize("kind", ["miniredis", "redis-server"])
def test_many_keys_fills_what_its_docstring_says(tmp_path, kind):
    """Hashes and sorted sets that Redis keeps as listpacks, lists and sets of the
    stated sizes, named as redis-benchmark's __rand_int__ spells them."""
    if shutil.which(kind if kind == "redis-server" else "redis-cli") is None:
        pytest.skip("%s not installed" % kind)
    with servers.Server(kind, str(tmp_path)) as server:
        many_keys.fill(server.port, 3)
        assert server.command("DBSIZE") == b":12\r\n"
        key = "%012d" % 2
        assert server.command("HLEN", "h:" + key) == b":%d\r\n" % many_keys.FIELDS
        assert server.command("ZCARD", "z:" + key) == b":%d\r\n" % many_keys.MEMBERS
        assert server.command("LLEN", "l:" + key) == b":%d\r\n" % many_keys.ELEMENTS
        assert server.command("SCARD", "s:" + key) == b":%d\r\n" % many_keys.SET_MEMBERS
        for name in ("h:", "z:"):
            assert server.command("OBJECT", "ENCODING", name + key) == b"$8\r\nlistpack\r\n"
        assert server.command("HGET", "h:" + key, "f:000000000100") != b"$-1\r\n"
        assert server.command("ZSCORE", "z:" + key, "m:000000000007") != b"$-1\r\n"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not installed")
def test_both_loaders_fill_miniredis(tmp_path):
    path = str(tmp_path / "d.resp")
    throughput.write_key_file(path, 5, 40)
    with servers.Server("miniredis", str(tmp_path)) as server:
        servers.pipe_load(server.port, path)  # redis-cli --pipe
        assert server.command("DBSIZE") == b":5\r\n"
        server.command("FLUSHALL")
        servers.socket_load(server.port, path)  # the peers' loader
        assert server.command("SELECT", "1") == b"+OK\r\n"
        assert server.command("DBSIZE") == b":5\r\n"  # a new connection: db 0
        assert server.rss() > 1 << 20
    with pytest.raises(RuntimeError):
        with open(path, "wb") as bad:
            bad.write(servers.resp("INCR", "nope", "extra"))
        with servers.Server("miniredis", str(tmp_path)) as server:
            servers.socket_load(server.port, path)


def test_csv_names_and_turns():
    assert throughput._test_name("LRANGE_100 (first 100 elements)") == "LRANGE_100"
    assert throughput._test_name("MSET (10 keys)") == "MSET"
    assert throughput._test_name("XADD mystream * field value") == "XADD"
    assert throughput._test_name("LPUSH (needed to benchmark LRANGE)") is None
    assert throughput.turns(["a", "b"], 0) == ["a", "b"]
    assert throughput.turns(["a", "b"], 1) == ["b", "a"]


def test_chart_draws(tmp_path):
    pytest.importorskip("matplotlib")
    from benchmarks import chart
    sample = {"rps": 100.0, "p50": 0.03}
    results = {
        "meta": {"date": "today", "cpus": 2, "loadavg": ["1", "1", "1"]},
        "throughput": {config: {"GET": {"redis-server": sample, "miniredis": sample,
                                        "fakeredis": sample}}
                       for config in ("50 clients", "50 clients -P 16", "1 client")},
        "keyscale": {"small": 1000, "large": 1000000, "results": {
            "50 clients": {"miniredis": {"small": 10.0, "large": 9.0}}}},
        "zset": {"members": 1000000, "results": {"ZADD": {"redis-server": 2.0,
                                                          "miniredis": 1.0}}},
        "memory": {"scale": 1, "datasets": {"strings": {
            "unit": "string key", "goal": 1.8, "count": 10,
            "servers": {"redis-server": {"per_key": 60.0}, "miniredis": {"per_key": 90.0}}}}},
    }
    path = tmp_path / "chart.png"
    chart.draw(results, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_value_sizes_runs(capsys):
    """benchmarks/value_sizes.py: one row per type and size, the encodings Redis would
    give (no figure is asserted: they are measurements)."""
    from benchmarks import value_sizes
    assert value_sizes.main(["--count", "3", "--sizes", "2,129"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
    assert [row[:3] for row in rows] == [
        ["hash", "2", "listpack"], ["hash", "129", "hashtable"],
        ["zset", "2", "listpack"], ["zset", "129", "skiplist"]]


def test_floor_server_answers_what_redis_benchmark_sends():
    """benchmarks/floor.py (the bound the goals are read against) serves redis-benchmark's
    commands, pipelined, and a reply larger than the socket takes at once."""
    import subprocess

    from tests.harness import RawConnection, encode_command, start_process

    floor = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "benchmarks", "floor.py")
    proc, port = start_process(lambda port: [sys.executable, floor, str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = RawConnection(port)
        requests = [["PING"], ["SET", "k", "v"], ["GET", "k"], ["GET", "none"],
                    ["INCR", "n"], ["HSET", "h", "f", "x"], ["LPUSH", "l", "a", "b"],
                    ["LRANGE", "l", "0", "99"], ["RPOP", "l"], ["MSET", "a", "1"]]
        conn.send_raw(b"".join(encode_command(r) for r in requests))
        replies = [conn.read_raw() for _ in requests]
        assert replies == [b"+PONG\r\n", b"+OK\r\n", b"$1\r\nv\r\n", b"$-1\r\n", b":1\r\n",
                           b":1\r\n", b":2\r\n", b"*2\r\n$1\r\nb\r\n$1\r\na\r\n",
                           b"$1\r\na\r\n", b"+OK\r\n"]
        big = b"x" * 1000
        conn.send_raw(encode_command(["LPUSH", "big"] + [big] * 3000))
        assert conn.read_raw() == b":3000\r\n"
        conn.send_raw(encode_command(["LRANGE", "big", "0", "-1"]) * 4)
        for _ in range(4):
            assert conn.read_raw() == b"*3000\r\n" + b"$1000\r\n%s\r\n" % big * 3000
    finally:
        proc.kill()
        proc.wait()
