"""``python -m lanes``: the same as the ``lanes`` command."""

import sys

from lanes.cli import main

sys.exit(main())
