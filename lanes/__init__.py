"""Graph-derived CI lane detection."""

__version__ = "0.1.0"
