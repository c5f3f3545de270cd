"""The project's own WebSocket app: a chat in channels, showing how to wire the library."""
