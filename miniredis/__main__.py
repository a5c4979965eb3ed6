"""``python -m miniredis``: the same as the ``miniredis`` command."""
import sys

from .cli import main

sys.exit(main())
