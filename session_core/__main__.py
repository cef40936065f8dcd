"""``python -m session_core`` is the ``session-core`` command."""

from __future__ import annotations

import sys

from session_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
