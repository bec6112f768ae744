"""Front ends: one sans-I/O module per wire protocol.

Each is fed bytes and hands back commands, and is handed events and returns bytes.
"""
