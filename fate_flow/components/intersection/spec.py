"""Registration of the intersection component (filled in by its implementation)."""
