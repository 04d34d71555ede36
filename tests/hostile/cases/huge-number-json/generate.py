"""A 5000-digit integer in a function file."""

from pathlib import Path

text = '{"name": "f", "parameters": {"type": "integer", "maximum": ' + "9" * 5000 + "}}"
Path("functions/f.json").write_text(text, encoding="utf-8")
