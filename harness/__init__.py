"""Commit-ordering regression harness for session_core."""
