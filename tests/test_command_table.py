"""README.rst's command table never drifts from the code (scripts/command_table.py).

The table is generated from COMMAND INFO and COMMAND DOCS; ``--check`` fails when the
README is stale, which is what the first test runs. The README must also stay valid
reStructuredText (it is the package's long description).
"""
from __future__ import annotations

import os
import subprocess
import sys

import docutils.core
import docutils.utils

from miniredis import commands

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "command_table.py")
README = os.path.join(ROOT, "README.rst")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                          text=True, timeout=60)


def test_readme_command_table_is_current():
    out = _run("--check")
    assert out.returncode == 0, out.stderr


def test_table_lists_every_command_and_subcommand():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    table = text[text.index(".. command-table-start"):text.index(".. command-table-end")]
    names = {line.split("  ")[0].strip() for line in table.splitlines()
             if line[:1].isalpha() and line[:1].isupper()}
    commands.load_all()
    expected = set()
    for cmd in commands.all_commands():
        expected.add(cmd.name.upper())
        expected.update("%s %s" % (cmd.name.upper(), sub.upper())
                        for sub in map(bytes.decode, cmd.subcommands))
    assert expected <= names
    get = next(line for line in table.splitlines() if line.startswith("GET "))
    assert get.split() == ["GET", "string", "2", "readonly", "fast"]


def test_check_fails_on_a_stale_readme_and_the_script_repairs_it(tmp_path):
    with open(README, encoding="utf-8") as f:
        current = f.read()
    stale = tmp_path / "README.rst"
    stale.write_text(current.replace("\nGET ", "\nGETX ", 1), encoding="utf-8")
    out = _run("--check", "--readme", str(stale))
    assert out.returncode == 1 and "stale" in out.stderr
    assert _run("--readme", str(stale)).returncode == 0
    assert stale.read_text(encoding="utf-8") == current
    unmarked = tmp_path / "plain.rst"
    unmarked.write_text("no table here\n", encoding="utf-8")
    assert _run("--check", "--readme", str(unmarked)).returncode == 2


def test_readme_is_valid_restructuredtext():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    # Any warning (a broken table, a bad underline...) raises.
    docutils.core.publish_doctree(text, settings_overrides={
        "halt_level": docutils.utils.Reporter.WARNING_LEVEL, "report_level": 5})
