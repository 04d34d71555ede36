"""A 20 MB instructions file (the API takes 256 000 characters)."""

from pathlib import Path

Path("prompts/a.md").write_text("All work and no play. ${project}\n" * 600_000, encoding="utf-8")
