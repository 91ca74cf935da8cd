"""Reader: DSL v2's way to read a table into a job."""
