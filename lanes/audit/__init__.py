"""``lanes audit``: coverage, history and release audits for release managers.

* :mod:`lanes.audit.coverage`: every tracked file through the engine; stale globs, dead lanes,
  uncovered files and components, missing references, contracts, the coverage matrix.
* :mod:`lanes.audit.history`: replays commits, each through the configuration at that commit
  (:mod:`lanes.audit.configs`), and compares each selection with another one
  (:mod:`lanes.audit.against`), per commit and per owner component
  (:mod:`lanes.audit.attribution`: latent gaps).
* :mod:`lanes.audit.release`: one report for a release range, combining both, with the
  coverage at B read from B's tree (:mod:`lanes.audit.tree_at`).
* Renderers: :mod:`~lanes.audit.render_text`, :mod:`~lanes.audit.render_markdown`,
  :mod:`~lanes.audit.render_html`, :mod:`~lanes.audit.render_json`.

The audit logic is pure: git is read in :mod:`lanes.audit.gitsource`, :mod:`~lanes.audit.configs`
and :mod:`~lanes.audit.tree_at` (through :mod:`lanes.git`).
"""
