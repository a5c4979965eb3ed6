"""The pytest plugin, used by a separate pytest run as a user's test suite would."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_TESTS = '''
import threading
import time

import redis


def test_fixtures_give_a_server_url_and_client(miniredis_server, miniredis_url,
                                                redis_client):
    assert miniredis_url == miniredis_server.url
    assert miniredis_url.startswith("redis://127.0.0.1:")
    assert redis_client.ping() is True
    redis_client.set("left", "behind")
    redis_client.set("other-db", "x")
    redis.Redis.from_url(miniredis_url, db=3).set("k", "v")
    miniredis_server.freeze_time()


def test_databases_flushed_and_clock_running_between_tests(miniredis_server,
                                                          redis_client):
    assert redis_client.dbsize() == 0
    assert miniredis_server.dump() == {}
    assert not miniredis_server.state.clock.frozen


def test_direct_access_and_time_control(miniredis_server, redis_client):
    miniredis_server.set("token", "t", ttl=60)
    assert redis_client.get("token") == b"t"
    miniredis_server.freeze_time()
    miniredis_server.advance_time(61)
    assert redis_client.get("token") is None


def test_same_server_for_the_session(miniredis_server, miniredis_url):
    assert miniredis_server.url == miniredis_url
    SERVERS.add(id(miniredis_server))
    assert len(SERVERS) == 1


def test_same_server_again(miniredis_server):
    SERVERS.add(id(miniredis_server))
    assert len(SERVERS) == 1


SERVERS = set()
'''


def _run_pytest(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_user.py").write_text(textwrap.dedent(USER_TESTS))
    env = dict(os.environ)
    # Only the plugin under test: no other installed plugin, and the miniredis under
    # test rather than an installed copy.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options,
         str(tmp_path / "test_user.py")],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)


def test_plugin_fixtures_in_a_user_suite(tmp_path):
    result = _run_pytest(tmp_path, "-p", "miniredis.pytest_plugin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_fixtures_unknown_without_the_plugin(tmp_path):
    """The fixtures come from the plugin, not from anything else on the path."""
    result = _run_pytest(tmp_path)
    assert result.returncode != 0
    assert "fixture 'miniredis_server' not found" in result.stdout


def test_entry_point_declared(tmp_path):
    """``pip install miniredis`` registers the plugin: the pytest11 entry point."""
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base",
                    str(tmp_path)], cwd=str(ROOT), check=True, capture_output=True,
                   timeout=120)
    entry_points = (tmp_path / "miniredis.egg-info" / "entry_points.txt").read_text()
    section = entry_points.split("[pytest11]", 1)[1].split("[", 1)[0]
    assert section.split() == ["miniredis", "=", "miniredis.pytest_plugin"]
