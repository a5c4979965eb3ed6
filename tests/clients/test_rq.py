"""rq on miniredis: real ``rq worker`` processes (burst and long-running with the
scheduler), job status and results, ``Retry``, ``enqueue_in``/``enqueue_at``, the
finished and failed job registries, ``Job.fetch`` and the ``rq info`` command line.

rq's own Lua scripts run here too: the scheduler's lock (acquire-or-refresh and
release scripts) and ``Queue.empty``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
from rq import Queue, Retry, Worker
from rq.job import Job
from rq.registry import (FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry,
                         StartedJobRegistry)

from tests.clients.conftest import ROOT, worker_env, wait_until
from tests.clients.tasks_rq import add, boom, flaky, whoami

RQ = os.path.join(os.path.dirname(sys.executable), "rq")
# How long a worker may take to exit: rq's pub/sub thread waits for messages 60 s at a
# time (run_in_thread(sleep_time=60)) and its stop() joins the thread, so when that
# thread reads the UNSUBSCRIBE confirmation before the stop flag is set, the worker
# exits a minute later (with redis-server as with miniredis; seen on a loaded machine).
WORKER_EXIT = 90
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from rq_example import run_example  # noqa: E402


@pytest.fixture
def conn(queue_url):
    client = redis.Redis.from_url(queue_url)
    yield client
    client.close()


def _rq_info(url: str) -> str:
    done = subprocess.run([RQ, "info", "--url", url], env=worker_env(), timeout=30,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_burst_worker_statuses_results_registries_and_fetch(queue_url, conn, spawn):
    queue = Queue("default", connection=conn)
    ok = queue.enqueue(add, 2, 3)
    failed = queue.enqueue(boom)
    retried = queue.enqueue(flaky, "flaky:attempts", 2, retry=Retry(max=3))
    assert [job.get_status().value for job in (ok, failed, retried)] == ["queued"] * 3
    assert queue.count == 3 and queue.job_ids == [ok.id, failed.id, retried.id]
    assert conn.type("rq:queue:default") == b"list"
    assert conn.smembers("rq:queues") == {b"rq:queue:default"}

    worker = spawn([RQ, "worker", "--burst", "--url", queue_url, "default"])
    assert worker.wait(timeout=WORKER_EXIT) == 0, worker.log_path.read_text()

    assert ok.get_status(refresh=True).value == "finished"
    assert ok.return_value() == 5
    fetched = Job.fetch(ok.id, connection=conn)
    assert fetched.return_value() == 5 and fetched.func_name == "tests.clients.tasks_rq.add"
    assert fetched.args == (2, 3)
    assert fetched.enqueued_at <= fetched.started_at <= fetched.ended_at
    assert failed.get_status(refresh=True).value == "failed"
    assert "ValueError: boom" in failed.latest_result().exc_string
    # Retried at once twice (Retry without interval), succeeding on the third attempt.
    retried = Job.fetch(retried.id, connection=conn)
    assert retried.get_status().value == "finished"
    assert retried.return_value() == 3 and retried.retries_left == 1
    assert conn.get("flaky:attempts") == b"3"

    assert set(FinishedJobRegistry(queue=queue).get_job_ids()) == {ok.id, retried.id}
    assert FailedJobRegistry(queue=queue).get_job_ids() == [failed.id]
    assert StartedJobRegistry(queue=queue).get_job_ids() == []
    assert queue.count == 0 and not Worker.all(connection=conn)
    with pytest.raises(Exception, match="No such job"):
        Job.fetch("no-such-job", connection=conn)

    info = _rq_info(queue_url)
    assert "default      | 0, 0 executing, 2 finished, 1 failed" in info
    assert "0 workers, 1 queues" in info

    # Requeueing a failed job from its registry puts it back on the queue.
    FailedJobRegistry(queue=queue).requeue(failed.id)
    assert queue.job_ids == [failed.id] and failed.get_status(refresh=True).value == "queued"
    assert queue.empty() == 1        # Queue.empty is one of rq's Lua scripts
    assert queue.count == 0 and not conn.exists("rq:job:" + failed.id)


def test_rq_example_scheduler_enqueue_in_at_and_retries(queue_url, conn):
    """scripts/rq_example.py: the seed's scheduling and retry example, with a
    long-running ``rq worker --with-scheduler``."""
    lines = []
    report = run_example(queue_url, out=lines.append)
    assert lines[0] == "enqueued 6 jobs; scheduled: enqueue_at, enqueue_in"
    assert {name: info["status"] for name, info in report.items()} == {
        "count_words": "finished", "enqueue_in": "finished", "enqueue_at": "finished",
        "retry": "finished", "retry_interval": "finished", "doomed": "failed"}
    assert report["count_words"]["result"] == 5
    assert report["enqueue_in"]["result"] == "Hello, in!"
    assert report["enqueue_at"]["result"] == "Hello, at!"
    # Scheduled jobs were due about their delay after their creation (rq keeps whole
    # seconds of the time, taken just before the job is made) and did not start sooner.
    for name, delay in (("enqueue_in", 1), ("enqueue_at", 2)):
        info = report[name]
        assert timedelta(0) <= info["created_at"] + timedelta(seconds=delay) - \
            info["scheduled_for"] < timedelta(seconds=2), info
        assert info["started_at"] >= info["scheduled_for"], info
    assert report["retry"]["result"] == 3
    assert report["retry_interval"]["result"] == 3
    assert report["retry_interval"]["ended_at"] - report["retry"]["ended_at"] >= \
        timedelta(seconds=1.5)          # two retries spaced one second apart
    assert conn.get("example:doomed") == b"3"    # the first run and two retries
    assert "RuntimeError: attempt 3 failed" in report["doomed"]["exc_info"]
    assert lines[-1] == ("finished registry: 5, failed registry: 1, "
                         "scheduled registry: 0")


def test_long_running_worker_serves_new_jobs_and_shows_in_rq_info(queue_url, conn, spawn):
    queue = Queue("default", connection=conn)
    worker = spawn([RQ, "worker", "--with-scheduler", "--url", queue_url, "-n", "w1",
                    "default"])
    wait_until(lambda: Worker.all(connection=conn))
    (registered,) = Worker.all(connection=conn)
    assert registered.name == "w1" and registered.queue_names() == ["default"]
    wait_until(lambda: conn.exists("rq:scheduler-lock:default"))

    first = queue.enqueue(whoami)
    wait_until(lambda: first.get_status(refresh=True).value == "finished")
    later = queue.enqueue_in(timedelta(seconds=1), add, 20, 22)
    assert later.get_status().value == "scheduled"
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [later.id]
    wait_until(lambda: later.get_status(refresh=True).value == "finished")
    assert later.return_value() == 42
    # Each job ran in a work horse forked by the worker.
    assert first.return_value() != worker.pid

    info = _rq_info(queue_url)
    assert "1 workers, 1 queues" in info and "w1 " in info

    worker.send_signal(signal.SIGTERM)               # warm shut-down
    assert worker.wait(timeout=WORKER_EXIT) == 0, worker.log_path.read_text()
    assert not Worker.all(connection=conn)
    assert not conn.exists("rq:scheduler-lock:default")    # released by its Lua script
