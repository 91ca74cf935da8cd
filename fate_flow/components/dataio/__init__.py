"""The dataio component."""
