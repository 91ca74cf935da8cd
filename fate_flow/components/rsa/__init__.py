"""Rsa: FATE 1.4's RSA utility module, which saves the RSA-intersection host's signed-id table."""
