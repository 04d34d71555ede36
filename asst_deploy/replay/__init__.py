"""Conversation regression tests: scripts, a runner, cassettes and the pytest plugin."""
