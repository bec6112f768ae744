"""trio-chat: a multi-user chat server that shows Trio's structured concurrency at work."""

from importlib import metadata

__version__ = metadata.version("trio-chat")  # one source: pyproject.toml, as installed
