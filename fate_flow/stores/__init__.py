"""Stores the driver and the use-cases write through: table and model catalogues, metrics, output data."""
