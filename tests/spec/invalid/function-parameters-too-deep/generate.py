"""Write a function whose parameters nest `depth` objects (450 raised RecursionError)."""

import json
from pathlib import Path

depth = 450
schema: dict = {"type": "string"}
for _ in range(depth):
    schema = {"type": "object", "properties": {"inner": schema}}
function = {"name": "get_weather", "parameters": schema}
out = Path("functions/get_weather.json")
out.parent.mkdir(parents=True, exist_ok=True)  # git keeps no empty folders
out.write_text(json.dumps(function), encoding="utf-8")
