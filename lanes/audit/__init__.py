"""``lanes audit``: coverage, history and release audits for release managers.

* :mod:`lanes.audit.coverage`: every tracked file through the engine; stale globs, dead lanes,
  uncovered files and components, missing references, contracts, the coverage matrix.
* :mod:`lanes.audit.history`: replays first-parent commits through the current configuration and
  compares each selection with another one (:mod:`lanes.audit.against`).
* :mod:`lanes.audit.release`: one report for a release range, combining both.
* Renderers: :mod:`~lanes.audit.render_text`, :mod:`~lanes.audit.render_markdown`,
  :mod:`~lanes.audit.render_html`, :mod:`~lanes.audit.render_json`.

The audit logic is pure: git is read in :mod:`lanes.audit.gitsource` only.
"""
