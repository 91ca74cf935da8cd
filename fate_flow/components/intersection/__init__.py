"""Intersection: the ids guest and host(s) share, found by RSA blind signatures or in clear (raw)."""
