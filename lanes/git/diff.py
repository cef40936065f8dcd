"""Changed paths between trees.

* ``--no-renames``: a rename is its deletion plus its addition, both paths count (U3); no rename
  heuristic, no rename limit. Where copies are requested and something was added, a second
  ``-C --find-copies-harder`` pass adds the *source* of every copy as well (git itself limits
  that pass on very large trees, see ``diff.renameLimit``).
* ``--ignore-submodules=none``: submodule pointer changes count whatever the config says.
* Nothing caps the number of paths (U1).
"""

from __future__ import annotations

from collections.abc import Sequence

from lanes.git.parse import parse_name_status
from lanes.git.runner import output
from lanes.model import StrPath

DIFF_OPTIONS = (
    "--name-status",
    "-z",
    "--no-renames",
    "--ignore-submodules=none",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
)
COPY_OPTIONS = (
    "--name-status",
    "-z",
    "-C",
    "--find-copies-harder",
    "--ignore-submodules=none",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
)


def diff_paths(
    repo: StrPath, revs: Sequence[str], *, copies: bool, cached: bool = False
) -> list[str]:
    """Changed paths of ``git diff [--cached] revs``; with ``copies``, a second pass (only if
    something was added) adds the source of every copy."""
    prefix = ["diff", "--no-relative", *(["--cached"] if cached else [])]
    paths, added = parse_name_status(output(repo, [*prefix, *DIFF_OPTIONS, *revs, "--"]))
    if copies and added:
        paths.extend(parse_name_status(output(repo, [*prefix, *COPY_OPTIONS, *revs, "--"]))[0])
    return paths
