"""A 5000-digit temperature (Python refuses to convert over 4300 digits: exit 3 before)."""

from pathlib import Path

out = Path("assistants/a.yaml")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text("kind: assistant\nkey: a\ntemperature: " + "9" * 5000 + "\n", encoding="utf-8")
