"""One-vs-rest: a binary model fitted once per class (FATE's ``one_vs_rest``). Nothing is imported here."""
