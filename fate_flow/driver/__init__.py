"""Job driver: DSL parsing, scheduling, task launching and the task executor entry point."""
