"""A 5000-digit temperature (Python refuses to convert over 4300 digits: exit 3 before)."""

from pathlib import Path

Path("assistants/a.yaml").write_text(
    "kind: assistant\nkey: a\ntemperature: " + "9" * 5000 + "\n", encoding="utf-8"
)
