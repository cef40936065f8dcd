"""Run pip-audit on the current environment when its vulnerability service is reachable.

Prints ``skipped: offline`` (exit 0) when the PyPI JSON API cannot be reached, so the security
lane says plainly that the audit did not run instead of failing or passing silently.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

PROBE = "https://pypi.org/pypi/pip/json"


def service_reachable(timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(PROBE, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    if not service_reachable():
        print(f"pip-audit skipped: offline ({PROBE} unreachable)")
        return 0
    return subprocess.run(
        [sys.executable, "-m", "pip_audit", "--progress-spinner", "off"], check=False
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
