"""Append inline instructions one character over the API limit."""

with open("assistants/a.yaml", "a") as f:
    f.write("instructions: " + "x" * 256_001 + "\n")
