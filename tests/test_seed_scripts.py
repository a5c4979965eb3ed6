"""The user-facing example scripts run as users run them: ``python scripts/<name>.py``.

Each starts a miniredis of its own (no URL given) and must exit 0 with the output it
promises. scripts/streams_taskqueue.py has its own in tests/test_streams_taskqueue.py
and scripts/flask_hotqueue_jobs.py in tests/clients/test_flask_hotqueue.py; the
in-process tests of scripts/rq_example.py are in tests/clients/test_rq.py.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import redis

from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import reliable_queue  # noqa: E402


def _run(script: str, *args: str, timeout: float = 60) -> str:
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), *args],
                         capture_output=True, text=True, timeout=timeout, cwd="/")
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_reliable_queue_script():
    lines = _run("reliable_queue.py", "--producers", "2", "--consumers", "3",
                 "--items", "60").splitlines()
    assert lines[0] == "2 producers push 120 items; 3 consumers take them"
    killed = re.fullmatch(r"killed (consumer-\d) while it held (p\d-\d+)", lines[1])
    assert killed, lines
    victim, item = killed.groups()
    assert lines[2] == "recovery: %s has no heartbeat; requeued %s" % (victim, item)
    finished = re.fullmatch(
        r"every one of the 120 items was processed exactly once \((p\d-\d+) by "
        r"(consumer-\d), after recovery\); queue and processing lists empty", lines[3])
    assert finished and finished.group(1) == item and finished.group(2) != victim
    assert len(lines) == 4


def test_reliable_queue_recover_only_touches_dead_consumers(server):
    client = redis.Redis.from_url(server.url)
    client.lpush(reliable_queue.QUEUE, "new")
    client.lpush(reliable_queue.processing_key("dead"), "d-old", "d-new")
    client.lpush(reliable_queue.processing_key("alive"), "a")
    client.set(reliable_queue.alive_key("alive"), 1, px=10_000)
    assert reliable_queue.recover(client) == [("dead", [b"d-new", b"d-old"])]
    # Back at the consuming (right) end, the oldest first: BRPOPLPUSH takes it next.
    assert client.lrange(reliable_queue.QUEUE, 0, -1) == [b"new", b"d-new", b"d-old"]
    assert client.exists(reliable_queue.processing_key("dead")) == 0
    assert client.lrange(reliable_queue.processing_key("alive"), 0, -1) == [b"a"]
    assert reliable_queue.recover(client) == []
    client.close()


def test_rq_example_script():
    """scripts/rq_example.py from the command line (its function is tested in
    tests/clients/test_rq.py; this checks the script's own miniredis and exit status)."""
    lines = _run("rq_example.py").splitlines()
    assert lines[0] == "enqueued 6 jobs; scheduled: enqueue_at, enqueue_in"
    statuses = {line.split()[0]: line.split()[1] for line in lines[1:-1]}
    assert statuses == {"count_words": "finished", "enqueue_in": "finished",
                        "enqueue_at": "finished", "retry": "finished",
                        "retry_interval": "finished", "doomed": "failed"}
    assert lines[-1] == "finished registry: 5, failed registry: 1, scheduled registry: 0"
