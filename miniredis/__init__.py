"""miniredis: a Redis-protocol-compatible server in Python, for development and tests."""
from __future__ import annotations

__version__ = "0.1.0"

from .embed import CommandFailed  # noqa: E402
from .server import Server  # noqa: E402

__all__ = ["CommandFailed", "Server", "__version__"]
