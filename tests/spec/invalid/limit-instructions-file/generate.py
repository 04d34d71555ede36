"""Write an instructions file one character over the API limit."""

from pathlib import Path

Path("prompts").mkdir()
out = Path("prompts/a.md")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text("x" * 256_001)
