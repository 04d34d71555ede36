"""Inline function parameters nested 450 objects deep (a RecursionError, exit 3, before)."""

from pathlib import Path

depth = 450
schema = "{type: string}"
for _ in range(depth):
    schema = "{type: object, properties: {a: " + schema + "}}"
text = "kind: assistant\nkey: a\ntools:\n  - type: function\n    function:\n      name: f\n"
out = Path("assistants/a.yaml")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text(text + "      parameters: " + schema + "\n", encoding="utf-8")
