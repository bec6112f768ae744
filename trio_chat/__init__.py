"""trio-chat: a multi-user chat server that shows Trio's structured concurrency at work."""
