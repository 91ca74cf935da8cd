"""Registration of the hetero_lr component (filled in by its implementation)."""
