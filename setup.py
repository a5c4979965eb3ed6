"""Packaging for miniredis: ``pip install -e .[test]`` (the Makefile does it for you)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "miniredis" / "__init__.py").read_text()).group(1)

setup(
    name="miniredis",
    version=VERSION,
    description="A Redis-protocol-compatible server in Python, for development and tests",
    long_description=(HERE / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    packages=find_packages(include=["miniredis", "miniredis.*"]),
    python_requires=">=3.9",
    install_requires=[
        "gevent>=22.10",
        "hiredis>=2.0",
        "lupa>=2.0",
        "anycrc>=2.1",
        "sortedcontainers>=2.4",
        "setproctitle>=1.3",    # the process title (miniredis/proctitle.py)
    ],
    extras_require={
        "test": [
            "pytest>=7", "pytest-xdist>=3", "hypothesis>=6", "redis>=5",
            # tests/clients/ and scripts/: the libraries run against miniredis
            "valkey>=6", "walrus>=0.9", "hotqueue>=0.2.8", "rpqueue>=0.33", "flask>=2",
            "huey", "rq", "celery", "kombu",
            # tests/test_command_table.py: README.rst must stay valid reStructuredText
            "docutils",
        ],
        # make bench: the chart, and fakeredis's TCP server as a peer to compare with
        "bench": ["matplotlib>=3.5", "fakeredis>=2.20"],
    },
    entry_points={
        "console_scripts": ["miniredis = miniredis.cli:main"],
        # installing miniredis makes its fixtures available to every pytest run
        "pytest11": ["miniredis = miniredis.pytest_plugin"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Database",
        "Topic :: Software Development :: Testing",
    ],
)
