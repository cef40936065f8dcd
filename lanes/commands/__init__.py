"""One module per ``lanes`` subcommand; each exposes ``add_parser`` and ``run``."""
