"""Output formats, one module each: ``text``, ``json_``, ``markdown``, ``github``."""
