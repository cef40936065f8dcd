"""Session-persistence core: a runtime store (authority) and a projection store."""

__version__ = "0.1.0"
