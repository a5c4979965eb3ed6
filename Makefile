# miniredis: `make run` serves on 127.0.0.1:6379, `make test` runs every test.
# Both set themselves up: a virtualenv in .venv with the package and the test tools,
# and (for the differential tests) a real redis-server from Debian when it is missing.

# The interpreter the virtualenv is made from. Debian's /usr/bin/python3 (built with PGO
# and LTO, libpython linked in) runs miniredis 6-13% faster than a default source build
# such as pyenv's (a shared libpython, no PGO): it is preferred when it is 3.9 or newer and
# can make a virtualenv (Debian's python3-venv); else python3 from the PATH.
PYTHON ?= $(shell /usr/bin/python3 -c 'import sys, ensurepip; \
	sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1 && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Three workers (on two cores), a test file each at a time: most tests wait on sockets,
# processes and timers, so the cores stay half idle with two (the whole suite: 8.5 min
# with two, 6-7 with three). `make test PYTEST_ARGS=` runs them in one process.
PYTEST_ARGS ?= -n 3 --dist loadfile

.PHONY: run test venv redis-server bench clean

run: $(STAMP)
	$(BIN)/miniredis $(ARGS)

# The tests start hundreds of miniredis processes: with PYTHONDONTWRITEBYTECODE set
# (as on some CI machines) each would compile the package anew, 0.3 s of CPU a start.
test: $(STAMP) redis-server
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q $(PYTEST_ARGS) tests

venv: $(STAMP)

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The differential tests compare against a real redis-server (and the replication tests
# run redis-sentinel). Install Debian's when either is missing and we may (root with
# apt-get); otherwise warn loudly: those tests then skip, except under CI=true where
# they fail. The packages' own services are stopped: tests start their own servers.
redis-server:
	@if command -v redis-server >/dev/null 2>&1 && \
			command -v redis-sentinel >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing redis-server (Debian package) for the differential tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools \
			redis-sentinel >/dev/null && \
		for service in redis-server redis-sentinel; do \
			systemctl stop $$service >/dev/null 2>&1 || service $$service stop \
				>/dev/null 2>&1 || true; \
		done; \
	else \
		echo "WARNING: redis-server is not installed and cannot be installed here:"; \
		echo "WARNING: the differential tests will be SKIPPED."; \
	fi

# make bench [ARGS=--quick] [ARGS=--publish]: every performance goal side by side with
# redis-server (benchmarks/bench.py), tables and a chart. The bench extra adds
# matplotlib and fakeredis; the Go peer is built when the go command can fetch it.
BENCH_STAMP := $(VENV)/.bench-installed
ALICEBOB := benchmarks/peers/alicebob/alicebob-miniredis

bench: $(STAMP) $(BENCH_STAMP) redis-server
	@if [ ! -x $(ALICEBOB) ] && [ -z "$$ALICEBOB_MINIREDIS" ] && command -v go >/dev/null; then \
		timeout 120 benchmarks/peers/alicebob/build.sh >/dev/null 2>&1 || \
			echo "alicebob/miniredis (Go) peer not built: see benchmarks/README.rst"; \
	fi
	$(BIN)/python benchmarks/bench.py $(ARGS)

$(BENCH_STAMP): $(STAMP) setup.py
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
