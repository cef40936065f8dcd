"""git, failing safe: every function that returns a :class:`~lanes.model.ChangeSet` turns *any*
git problem (bad revision, corrupt repository, missing or hung ``git``, timeout) into
``uncertain="git-error"`` with the message in ``detail``; it never raises and never returns an
empty "precise" change set because something went wrong (failure mode U5).

One concern a module, imported in this order (each only imports the ones above it):

* :mod:`lanes.git.parse`: decoding paths and parsing ``-z`` output (no I/O);
* :mod:`lanes.git.runner`: running git (argument lists, timeouts, process-group kill; plain
  processes, no GitPython);
* :mod:`lanes.git.basis`: how a change set was obtained, reason codes, the fail-safe result;
* :mod:`lanes.git.revs`: resolving revisions, merge bases, shallow clones;
* :mod:`lanes.git.diff`: the changed paths between trees (renames as both sides, copies);
* :mod:`lanes.git.base`: locating the base (fetching, deepening) and :func:`changes_between`;
* :mod:`lanes.git.local`: :func:`local_changes` (work tree, index, untracked files);
* :mod:`lanes.git.commits`: one commit's changes and the streamed history of a range.

This package's ``__init__`` imports nothing, so importing one module costs only that module.
Needs git >= 2.31 (``--diff-merges=first-parent``, ``--no-write-fetch-head``).
"""
