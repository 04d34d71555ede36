"""The engine suite: compare, render, apply, destroy, CLI, against the sandbox."""
