"""Regenerate docs/images/audit-release.png: the release report of the audit test fixture.

Usage: python -m tests.lanes.audit_screenshot [OUTPUT.png]   (needs /usr/bin/chromium)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.lanes.audit_helpers import HISTORY, LEGACY_MAP, history_repo, lanes, write_detector

CHROMIUM = "/usr/bin/chromium"
WINDOW = "1400,2000"


def render_release(work: Path) -> Path:
    repo, _ = history_repo(work)
    script = write_detector(work)
    page = work / "release.html"
    args = ["audit", "release", f"HEAD~{len(HISTORY)}..HEAD", "--format", "html"]
    args += ["--output", str(page), "--against-command", f"bash ../{script.name}"]
    result = lanes(repo, *args, "--against-map", LEGACY_MAP)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return page


def screenshot(page: Path, output: Path, profile: Path) -> None:
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={output}",
            f"--window-size={WINDOW}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


def main() -> int:
    output = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images/audit-release.png").resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        screenshot(render_release(work), output, work / "profile")
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
