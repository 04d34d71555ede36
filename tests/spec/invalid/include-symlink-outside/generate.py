"""A folder symlinked to a place outside the project (made here: the repository keeps none)."""

import os
from pathlib import Path

outside = Path("..", "outside-shared").resolve()
outside.mkdir(exist_ok=True)
(outside / "b.yaml").write_text("kind: assistant\nkey: b\n", encoding="utf-8")
os.symlink(outside, "shared")
