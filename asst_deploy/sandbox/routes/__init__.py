"""Route modules of the sandbox, one per resource family."""
