"""One module per alert channel type, each exposing ``render`` and ``deliver``."""
