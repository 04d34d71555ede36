"""Append 129 function tools, one over the API limit."""

with open("assistants/a.yaml", "a") as f:
    for i in range(129):
        f.write(f"  - type: function\n    function: {{name: f{i}}}\n")
