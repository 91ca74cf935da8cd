"""HeteroPearson: the Pearson correlation of the guest's and the host's features by secure two-party
computation (FATE 1.4's ``HeteroPearson``)."""
