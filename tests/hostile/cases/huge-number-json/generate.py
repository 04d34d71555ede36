"""A 5000-digit integer in a function file."""

from pathlib import Path

text = '{"name": "f", "parameters": {"type": "integer", "maximum": ' + "9" * 5000 + "}}"
out = Path("functions/f.json")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text(text, encoding="utf-8")
