"""Create 21 data files, one more than code_interpreter accepts."""

from pathlib import Path

Path("data").mkdir()
for i in range(21):
    Path(f"data/f{i:02}.csv").write_text("n\n1\n")
