"""Session-persistence core: a runtime store (authority) and a projection store."""
