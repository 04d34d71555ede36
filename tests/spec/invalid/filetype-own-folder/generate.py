"""Put a file in .asst-deploy/ (made here: .gitignore keeps the folder out of the repository)."""

from pathlib import Path

Path(".asst-deploy").mkdir()
Path(".asst-deploy/notes.md").write_text("state of the tool, not knowledge\n", encoding="utf-8")
