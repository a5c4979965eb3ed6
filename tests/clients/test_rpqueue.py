"""rpqueue against miniredis: immediate and delayed tasks, retries, periodic tasks.

rpqueue keeps delayed tasks in a sorted set scored by their due time and moves the
due ones to a list with a Lua script (ZRANGEBYSCORE/ZREMRANGEBYRANK/RPUSH/ZREM,
cjson, EVALSHA after the first EVAL); a worker process (``python -m rpqueue.run``)
pops them with BLPOP, also inside MULTI. The worker here is a real subprocess.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis

from tests.clients._embedded import embedded_server  # noqa: F401 (fixture)

# rpqueue 0.33 imports the ``imp`` module, which Python 3.12 removed.
rpqueue = pytest.importorskip("rpqueue", reason="rpqueue needs Python < 3.12 (imp)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TASKS = '''
import os
import time

import redis
import rpqueue

PORT = int(os.environ["RPQ_PORT"])
rpqueue.set_redis_connection_settings(host="127.0.0.1", port=PORT)
log = redis.Redis(port=PORT)


@rpqueue.task(save_results=60)
def add(a, b):
    return a + b


@rpqueue.task(save_results=60)
def stamp(tag):
    log.rpush("ran", tag)
    return time.time()


@rpqueue.task(attempts=3, retry_delay=0, save_results=60)
def flaky(_attempts=3):
    count = log.incr("flaky:calls")
    if count < 3:
        return flaky.retry(_attempts=_attempts)
    log.set("flaky:done", _attempts)
    return count


@rpqueue.periodic_task(1, queue=b"ticks")
def tick():
    log.rpush("ticks", time.time())
'''


@pytest.fixture
def tasks(embedded_server, tmp_path, monkeypatch):
    """The tasks module, importable here and by the worker, on a clean server."""
    embedded_server.flushall()
    (tmp_path / "rpq_tasks.py").write_text(textwrap.dedent(TASKS))
    monkeypatch.setenv("RPQ_PORT", str(embedded_server.port))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("rpq_tasks", None)
    import rpq_tasks
    yield rpq_tasks
    sys.modules.pop("rpq_tasks", None)
    rpqueue.set_redis_connection_settings()


@pytest.fixture
def worker(embedded_server, tasks, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    log = open(tmp_path / "worker.log", "wb")
    client = redis.Redis(port=embedded_server.port)
    before = client.info("clients")["connected_clients"]
    process = subprocess.Popen(
        [sys.executable, "-m", "rpqueue.run", "--host", "127.0.0.1", "--port",
         str(embedded_server.port), "--module", "rpq_tasks", "--threads", "2",
         "--loglevel", "WARNING", "--wait", "0.2"],
        env=env, cwd=str(tmp_path), start_new_session=True,
        # A file, not a pipe nobody reads: a worker that logged more than a pipe
        # holds would block on its next write and stop running tasks.
        stdout=log, stderr=subprocess.STDOUT)
    # The worker's start (an interpreter importing rpqueue and redis) can take seconds
    # on a loaded machine: wait for its connection here, so that the tests' own
    # timeouts measure the tasks, not the start.
    deadline = time.monotonic() + 60
    while client.info("clients")["connected_clients"] <= before:
        assert process.poll() is None, (tmp_path / "worker.log").read_text()
        assert time.monotonic() < deadline, "the rpqueue worker did not connect"
        time.sleep(0.05)
    client.close()
    yield process
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()


def _wait(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _finished(task, timeout: float) -> bool:
    """Whether ``task`` saved its result within ``timeout`` seconds.

    rpqueue's own ``EnqueuedTask.wait()`` asks ``status`` twice, and ``status`` is three
    reads: between the worker's pop (which deletes the message) and its "started"
    mark, no key names the task and ``status`` says "done"; the second ask then says
    "started" and ``wait()`` returns False after 0.0 s (seen once in a full run; the
    same race exists against redis-server). The result key itself is the fact."""
    taskid = task.taskid.encode("latin-1") if isinstance(task.taskid, str) else task.taskid
    connection = rpqueue.get_connection()
    deadline = time.monotonic() + timeout
    while connection.get(b"result:" + taskid) in (None, b""):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _state(embedded_server, tmp_path) -> str:
    """What the server and the worker were doing, for a failure's message (the wait
    for the first task has failed intermittently in full runs, never alone)."""
    log = (tmp_path / "worker.log").read_text(errors="replace")
    lines = ["worker log:", log[-4000:]]
    for command in (("CLIENT", "LIST"), ("INFO", "clients"), ("INFO", "stats"),
                    ("KEYS", "*")):
        try:
            reply = embedded_server.execute(*command)
        except Exception as exc:  # the server itself may be the one in trouble
            reply = repr(exc)
        if isinstance(reply, bytes):
            reply = reply.decode(errors="replace")
        lines += ["%s:" % " ".join(command),
                  reply if isinstance(reply, str) else repr(reply)]
    return "\n".join(lines)


def test_immediate_tasks_and_results(tasks, worker, embedded_server, tmp_path):
    enqueued = [tasks.add.execute(i, 1) for i in range(20)]
    for number, task in enumerate(enqueued):
        started = time.monotonic()
        if not _finished(task, 15):
            pytest.fail("task %d not done after %.1f s (status %s)\n%s" % (
                number, time.monotonic() - started, task.status,
                _state(embedded_server, tmp_path)))
    assert [task.result for task in enqueued] == [i + 1 for i in range(20)]
    assert rpqueue.results([t.taskid for t in enqueued[:3]]) == [1, 2, 3]
    assert enqueued[0].status == "done"


def test_delayed_tasks_wait_in_the_sorted_set(tasks, worker, embedded_server):
    client = redis.Redis(port=embedded_server.port)
    started = time.time()
    late = tasks.stamp.execute("late", delay=2)
    soon = tasks.stamp.execute("soon", delay=1)
    now = tasks.stamp.execute("now")
    # both delayed ones are scored by their due time in the queue's sorted set
    scheduled = dict(client.zrange(b"queue:default", 0, -1, withscores=True))
    assert set(scheduled) == {late.taskid.encode(), soon.taskid.encode()}
    assert scheduled[soon.taskid.encode()] < scheduled[late.taskid.encode()]
    assert late.status == "early"
    _wait(lambda: client.llen("ran") == 3)
    # Due times order the delayed ones; "now" normally runs first, but a worker held up
    # for a second on a loaded machine finds "soon" due by then (seen once in a full run).
    ran = client.lrange("ran", 0, -1)
    assert sorted(ran) == [b"late", b"now", b"soon"] and ran[-1] == b"late", ran
    assert _finished(late, 5) and late.result >= started + 2
    assert soon.result >= started + 1
    assert client.zcard(b"queue:default") == 0


def test_cancel_a_delayed_task(tasks, worker, embedded_server):
    client = redis.Redis(port=embedded_server.port)
    doomed = tasks.stamp.execute("doomed", delay=1)
    kept = tasks.stamp.execute("kept", delay=1)
    assert doomed.cancel() is True
    _wait(lambda: client.llen("ran") == 1)
    time.sleep(0.3)
    assert client.lrange("ran", 0, -1) == [b"kept"]
    assert kept.result is not None and doomed.result is None


def test_retries(tasks, worker, embedded_server):
    client = redis.Redis(port=embedded_server.port)
    tasks.flaky.execute()
    _wait(lambda: client.get("flaky:done") is not None)
    assert client.get("flaky:calls") == b"3"
    assert client.get("flaky:done") == b"1"        # two attempts used up


def test_periodic_task(tasks, worker, embedded_server):
    client = redis.Redis(port=embedded_server.port)
    _wait(lambda: client.llen("ticks") >= 2, timeout=10)
    first, second = (float(t) for t in client.lrange("ticks", 0, 1))
    assert 0.8 <= second - first <= 3
    assert b"ticks" in client.smembers(b"queues:all")


def test_inline_execution_and_queue_sizes(tasks, embedded_server):
    """Without a worker: the task data waits in Redis and can be inspected."""
    tasks.add.execute(1, 2)
    tasks.add.execute(3, 4, delay=30)
    sizes = {queue: (size, seen) for queue, size, seen in rpqueue.queue_sizes()}
    assert sizes[b"default"][0] == 2
    assert rpqueue.known_queues() == [b"default"]
    # (rpqueue.get_page is left out: it unpacks task IDs as str, and redis-py gives
    # bytes without decode_responses, on Redis as here.)
    assert embedded_server.execute("ZCARD", "queue:default") == 1
    assert rpqueue.clear_queue(b"default", delete=True) >= 1
    assert all(size == 0 for queue, size, _ in rpqueue.queue_sizes() if queue == b"default")
