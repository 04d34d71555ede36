"""A 20 MB instructions file (the API takes 256 000 characters)."""

from pathlib import Path

out = Path("prompts/a.md")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text("All work and no play. ${project}\n" * 600_000, encoding="utf-8")
