"""The seeds' Flask jobs API with HotQueue workers (scripts/flask_hotqueue_jobs.py).

In-process: the Flask test client against this module's miniredis, with the script's
worker both as real spawned processes and as a thread (to check each step). As a user
runs it: the script in a subprocess, in demo mode, on its own miniredis and on ours.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
import redis

from tests.clients._embedded import embedded_server, server  # noqa: F401 (fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "flask_hotqueue_jobs.py")
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import flask_hotqueue_jobs as jobs  # noqa: E402


@pytest.fixture
def app(server):
    return jobs.create_app(server.url)


@pytest.fixture
def client(app):
    return app.test_client()


def _post(client, start: int, end: int) -> dict:
    response = client.post("/jobs", json={"start": start, "end": end})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_post_then_worker_processes_then_get_done(app, client, server):
    created = _post(client, 0, 100)
    assert created["status"] == "queued" and created["payload"] == {"start": 0, "end": 100}
    assert set(created) == {"id", "status", "payload", "created"}
    jid = created["id"]
    assert client.get("/jobs/" + jid).get_json() == created
    # The record is a hash; only the id is on the queue (JSON-serialized by HotQueue).
    assert server.get("job:" + jid)[b"status"] == b"queued"
    assert server.get("hotqueue:jobs") == [json.dumps(jid).encode()]

    second = _post(client, 1000, 2000)["id"]
    workers = jobs.Workers(server.url, 2)
    try:
        done = jobs.wait_for(app, [jid, second], timeout=30)
    finally:
        workers.stop()
    assert [job["status"] for job in done] == ["done", "done"]
    assert [job["result"] for job in done] == [25, 135]
    first = done[0]
    assert first["created"] <= first["started"] <= first["finished"]
    assert client.get("/jobs/" + jid).get_json() == first
    assert all(process.exitcode == 0 for process in workers.processes)
    assert server.get("hotqueue:jobs") is None       # stop messages consumed too


def test_unknown_job_is_404(client):
    response = client.get("/jobs/no-such-id")
    assert response.status_code == 404
    assert response.get_json() == {"status": "error", "message": "no job no-such-id"}


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'{"start": 1}', b'{"start": "1", "end": 2}',
    b'{"start": true, "end": 2}', b'{"start": 5, "end": 2}', b'{"start": 0, "end": 1e9}',
])
def test_invalid_jobs_are_400_and_store_nothing(client, server, body):
    response = client.post("/jobs", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["status"] == "error"
    assert server.keys() == []


def test_worker_decorator_steps_and_failures(server):
    """The worker in a thread: queued -> running -> done, a failing job is marked
    failed without killing the worker, and the stop message ends it."""
    rd = redis.Redis.from_url(server.url)
    queue = jobs.job_queue(server.url)
    good = jobs.add_job(rd, queue, {"start": 0, "end": 10})["id"]
    bad = jobs.add_job(rd, queue, {"start": "x", "end": 10})["id"]  # skips the API check
    queue.put(jobs._STOP)
    worker = threading.Thread(target=jobs.run_worker, args=(server.url,))
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    done, failed = jobs.get_job(rd, good), jobs.get_job(rd, bad)
    assert done["status"] == "done" and done["result"] == 4
    assert failed["status"] == "failed" and "TypeError" in failed["error"]
    assert "result" not in failed and failed["finished"] >= failed["started"]
    assert len(queue) == 0
    rd.close()


def test_count_primes():
    assert [jobs.count_primes(0, n) for n in (0, 1, 2, 3, 10, 100)] == [0, 0, 0, 1, 4, 25]
    assert jobs.count_primes(7, 8) == 1 and jobs.count_primes(8, 11) == 0
    assert jobs.count_primes(0, 1_000_000) == 78498


def test_script_demo_on_its_own_miniredis():
    out = subprocess.run([sys.executable, SCRIPT, "--demo"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "posted 4 jobs"
    assert [line.split(None, 2)[1:] for line in lines[1:5]] == [
        ["done", "primes in [0, 100): 25"], ["done", "primes in [0, 1000000): 78498"],
        ["done", "primes in [1000, 2000): 135"],
        ["done", "primes in [999000, 1000000): 65"]]
    assert lines[5:] == ["GET /jobs/no-such-job -> 404"]


def test_script_demo_with_a_url(server):
    url = server.url[:-1] + "3"          # database 3 of this module's miniredis
    out = subprocess.run([sys.executable, SCRIPT, url, "--demo", "--workers", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    records = server.keys(db=3)
    assert len(records) == 4 and all(key.startswith(b"job:") for key in records)
    assert server.keys() == []
