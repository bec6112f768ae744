"""The Trio shell: listeners, connections, the hub's task, timeouts and shutdown. No wire format."""
