"""Union: the rows of several tables of one schema in one table (FATE 1.4's ``Union``)."""
