"""A function file of 200 000 nested arrays (deeper than any recursive parser goes)."""

from pathlib import Path

depth = 200_000
text = (
    '{"name": "f", "parameters": {"type": "object", "default": ' + "[" * depth + "]" * depth + "}}"
)
out = Path("functions/f.json")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text(text, encoding="utf-8")
