"""trio-chat: a multi-user chat server that shows Trio's structured concurrency at work."""

# The one source of the version: pyproject.toml reads it from here (tool.setuptools.dynamic).
# Written out rather than asked of importlib.metadata, which (with the email package it
# imports) was 1.6 MB of an idle server's memory.
__version__ = "0.1.0"
