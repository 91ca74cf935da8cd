"""The hetero_lr component."""
