"""The seeds' RQ example: jobs, scheduling (enqueue_in / enqueue_at) and retries.

    queue = Queue(connection=redis_conn)
    job = queue.enqueue(count_words, "some text")
    job = queue.enqueue_in(timedelta(seconds=1), say_hello, "later")
    job = queue.enqueue_at(datetime(...), say_hello, "at a time")
    queue.enqueue(unreliable, ..., retry=Retry(max=3))                    # at once
    queue.enqueue(unreliable, ..., retry=Retry(max=3, interval=[1, 1]))   # spaced out

A worker started with ``rq worker --with-scheduler`` (a subprocess here) runs them: its
scheduler moves due jobs (and spaced-out retries) from the scheduled registry to the
queue. The example then prints the job attributes the seed lists (status, function,
arguments, result, timestamps, exception info) and the registries' contents.

Run ``python scripts/rq_example.py [redis://host:port/db]``: without a URL it starts a
miniredis of its own. The functions below are what the worker imports (module
``rq_example``), so this file must stay importable without side effects.
"""
from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List

import redis
from rq import Queue, Retry, get_current_job
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry

HERE = os.path.dirname(os.path.abspath(__file__))
QUEUE = "default"


def say_hello(name: str) -> str:
    return "Hello, %s!" % name


def count_words(text: str) -> int:
    return len(text.split())


def unreliable(counter: str, failures: int) -> int:
    """Fails ``failures`` times (counted in Redis, so across retries), then succeeds
    and returns the attempt number."""
    job = get_current_job()
    attempt = job.connection.incr(counter)
    if attempt <= failures:
        raise RuntimeError("attempt %d failed" % attempt)
    return attempt


def start_worker(url: str) -> subprocess.Popen:
    """``rq worker --with-scheduler`` on our queue, importing this module."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [HERE, env.get("PYTHONPATH")]))
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    return subprocess.Popen([rq, "worker", "--with-scheduler", "--url", url, "--quiet",
                             QUEUE], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _describe(job: Job) -> Dict[str, Any]:
    """The attributes of a job the seed's example shows."""
    job.refresh()
    return {
        "id": job.id,
        "status": job.get_status().value,
        "func_name": job.func_name,
        "args": job.args,
        "result": job.return_value(),
        "created_at": job.created_at,
        "enqueued_at": job.enqueued_at,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
        "exc_info": job.latest_result().exc_string if job.is_failed else None,
        "retries_left": job.retries_left,
    }


def run_example(url: str, timeout: float = 30.0,
                out: Callable[[str], Any] = print) -> Dict[str, Dict[str, Any]]:
    """Enqueue the example's jobs, let a worker with a scheduler run them, and return
    each job's attributes (after the worker has stopped) by name."""
    # The worker imports the jobs' functions from module ``rq_example``, not __main__.
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    tasks = importlib.import_module("rq_example")
    conn = redis.Redis.from_url(url)
    queue = Queue(QUEUE, connection=conn)
    now = datetime.now(timezone.utc)
    jobs = {
        "count_words": queue.enqueue(tasks.count_words, "the quick brown fox jumps"),
        "enqueue_in": queue.enqueue_in(timedelta(seconds=1), tasks.say_hello, "in"),
        "enqueue_at": queue.enqueue_at(now + timedelta(seconds=2), tasks.say_hello, "at"),
        "retry": queue.enqueue(tasks.unreliable, "example:retry", 2, retry=Retry(max=3)),
        "retry_interval": queue.enqueue(tasks.unreliable, "example:interval", 2,
                                        retry=Retry(max=3, interval=[1, 1])),
        "doomed": queue.enqueue(tasks.unreliable, "example:doomed", 10,
                                retry=Retry(max=2)),
    }
    out("enqueued %d jobs; scheduled: %s" % (
        len(jobs), ", ".join(sorted(name for name, job in jobs.items()
                                    if job.get_status().value == "scheduled"))))
    # (the time a scheduled job is due: whole seconds, as rq's registry keeps it)
    scheduled = ScheduledJobRegistry(queue=queue)
    due = {name: scheduled.get_scheduled_time(job) for name, job in jobs.items()
           if job.get_status().value == "scheduled"}
    worker = start_worker(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            statuses = [job.get_status(refresh=True).value for job in jobs.values()]
            if all(status in ("finished", "failed") for status in statuses):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("jobs still pending: %s" % statuses)
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)      # warm shut-down
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    report = {name: dict(_describe(Job.fetch(job.id, connection=conn)),
                         scheduled_for=due.get(name))
              for name, job in jobs.items()}
    for name, info in report.items():
        out("%-15s %-8s %s%r -> %r" % (name, info["status"], info["func_name"],
                                       tuple(info["args"]), info["result"]))
    out("finished registry: %d, failed registry: %d, scheduled registry: %d" % (
        len(FinishedJobRegistry(queue=queue)), len(FailedJobRegistry(queue=queue)),
        len(ScheduledJobRegistry(queue=queue))))
    conn.close()
    return report


def main(argv: List[str]) -> int:
    server = None
    if len(argv) > 1:
        url = argv[1]
    else:
        sys.path.insert(0, os.path.dirname(HERE))
        from miniredis import Server
        server = Server(port=0).start()
        url = "redis://127.0.0.1:%d/0" % server.port
    try:
        report = run_example(url)
    finally:
        if server is not None:
            server.stop()
    return 0 if report["doomed"]["status"] == "failed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
