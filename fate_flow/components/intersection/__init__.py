"""The intersection component."""
