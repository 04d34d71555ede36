"""Totals of a sales table (day,amount): the report-writer skill's script."""

import csv
import sys

with open(sys.argv[1], newline="") as table:
    rows = [(row["day"], float(row["amount"])) for row in csv.DictReader(table)]
best = max(rows, key=lambda row: row[1])
print(f"total {sum(a for _, a in rows):.2f}; best day {best[0]} ({best[1]:.2f})")
