"""Managers of data, tracking and models; each gets its dependencies passed in."""
