"""Write an instructions file one character over the API limit."""

from pathlib import Path

Path("prompts").mkdir()
Path("prompts/a.md").write_text("x" * 256_001)
