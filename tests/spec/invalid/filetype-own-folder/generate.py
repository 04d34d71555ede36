"""Put a file in .asst-deploy/ (made here: .gitignore keeps the folder out of the repository)."""

from pathlib import Path

Path(".asst-deploy").mkdir()
out = Path(".asst-deploy/notes.md")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text("state of the tool, not knowledge\n", encoding="utf-8")
