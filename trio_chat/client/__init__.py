"""``trio-chat client``: a terminal client for the plain line protocol."""
