"""Registration of the dataio component (filled in by its implementation)."""
