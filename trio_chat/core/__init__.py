"""The pure core: nicknames, framing, events and the hub's logic. No I/O, and no Trio."""
