"""The README's set-up is exactly two commands, `.ci/run` runs exactly those, and both work on a
system Python that refuses `pip install` (PEP 668, externally managed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Set-up on a fresh machine"


def readme_commands(text: str) -> list[str]:
    """The ``sh`` blocks of the README's set-up section, each one command line."""
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [block.strip() for block in blocks]


def ci_lines() -> list[str]:
    text = (ROOT / ".ci" / "run").read_text("utf-8")
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_readme_set_up_is_two_one_line_commands_that_only_install_into_a_venv() -> None:
    commands = readme_commands((ROOT / "README.md").read_text("utf-8"))
    assert len(commands) == 2, commands
    for command in commands:
        assert "\n" not in command
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install ")
        steps = [step.strip() for step in command.split("&&")]
        assert not any(re.match(r"(python3? -m )?pip3? ", step) for step in steps), command
    assert commands[0].endswith("&& .venv/bin/lanes detect")
    assert commands[1].endswith("&& .venv/bin/python -m pytest")


def test_ci_runs_exactly_the_readme_commands_in_order() -> None:
    commands = readme_commands((ROOT / "README.md").read_text("utf-8"))
    lines = ci_lines()
    assert all(command in lines for command in commands), (commands, lines)
    assert lines.index(commands[0]) < lines.index(commands[1])
    installs = [line for line in lines if "pip install" in line]
    assert all(".venv/bin/pip install" in line for line in installs), installs  # no system pip


def test_the_sync_check_notices_a_changed_command() -> None:
    readme = (
        (ROOT / "README.md")
        .read_text("utf-8")
        .replace(".venv/bin/lanes detect\n", ".venv/bin/lanes detect --format json\n", 1)
    )
    assert readme_commands(readme)[0] not in ci_lines()


def externally_managed_python(directory: Path) -> Path:
    """A venv-less Python marked EXTERNALLY-MANAGED, like a distribution's system Python: a
    copy of this interpreter's base binary over a stdlib directory of links to the real one,
    plus the marker (the real installation is not touched)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    binary = Path(sys.base_prefix) / "bin" / version
    stdlib = Path(sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix}))
    assert binary.is_file() and (stdlib / "os.py").is_file(), (binary, stdlib)
    (directory / "bin").mkdir(parents=True)
    fake_stdlib = directory / "lib" / version
    fake_stdlib.mkdir(parents=True)
    shutil.copy2(binary, directory / "bin" / version)
    (directory / "bin" / "python3").symlink_to(version)
    for entry in stdlib.iterdir():
        if entry.name != "EXTERNALLY-MANAGED":
            (fake_stdlib / entry.name).symlink_to(entry)
    (fake_stdlib / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=managed by the system (a test's marker)\n"
    )
    return directory / "bin"


def repository_copy(target: Path) -> Path:
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "copy"]):
        subprocess.run([*git, *args], cwd=target, check=True, capture_output=True)
    return target


def test_readme_commands_work_on_an_externally_managed_python(tmp_path: Path) -> None:
    system_bin = externally_managed_python(tmp_path / "system")
    repo = repository_copy(tmp_path / "repo")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS")
    }
    env |= {
        "PATH": f"{system_bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "LANES_CACHE_DIR": str(tmp_path / "cache"),
    }

    def shell(command: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command],
            cwd=repo,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    refused = shell("python3 -m pip install --dry-run six")
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    assert shell("python3 -c 'import sys; print(sys.prefix == sys.base_prefix)'").stdout == (
        "True\n"
    )  # a system Python, not a virtualenv

    detect, tests = readme_commands((repo / "README.md").read_text("utf-8"))
    first = shell(detect)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "lanes selected" in first.stdout
    # The second command as written; pytest collects the whole suite instead of running it here.
    second = shell(tests, PYTEST_ADDOPTS="--collect-only -q -p no:cacheprovider")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert re.search(r"\d+ tests? collected", second.stdout), second.stdout[-2000:]
