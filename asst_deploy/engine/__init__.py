"""The engine: compare, plan file, render, apply, the lock, export and import, and the
operations facade (operations.py) that the CLI, the runtime and the Action's scripts call."""
