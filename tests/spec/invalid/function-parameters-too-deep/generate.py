"""Write a function whose parameters nest `depth` objects (450 raised RecursionError)."""

import json
from pathlib import Path

depth = 450
schema: dict = {"type": "string"}
for _ in range(depth):
    schema = {"type": "object", "properties": {"inner": schema}}
function = {"name": "get_weather", "parameters": schema}
Path("functions/get_weather.json").write_text(json.dumps(function), encoding="utf-8")
