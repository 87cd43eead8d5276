#!/usr/bin/env python3
"""Writes a synthetic national-size LTE dataset for bench/usage_import.sh (gigaops).

    python3 bench/gen_usage.py lines N SCHOOLS.csv > lines.csv
    python3 bench/gen_usage.py usage N YYYY-MM > usage.csv

Deterministic: line ids 080xxxxxxxx (N ≤ 10^8), spread over the Maebashi school codes of the MEXT
file; monthly usage in GB with 3 decimals, mostly 0–10 GB, with about 0.2 % of lines at 100–300 GB
so that the escalation run has cases to open.
"""
import sys

kind, n = sys.argv[1], int(sys.argv[2])
out = sys.stdout
if kind == "lines":
    import csv
    codes = []
    with open(sys.argv[3], encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["本分校"].startswith(("1", "2")) and row["学校種"][:2] in ("B1", "C1", "E1"):
                codes.append(row["学校コード"])
    out.write("line_id,school_code,allowance_gb,active_from\n")
    for i in range(n):
        out.write(f"080{i:08d},{codes[i % len(codes)]},5,2020-04-01\n")
else:
    month = sys.argv[3]
    salt = int(month.replace("-", ""))
    out.write("line_id,month,usage_gb\n")
    for i in range(n):
        h = (i * 2654435761 + salt * 40503) % 1000003
        if h < 2000:
            mb = 100_000 + (h * 997) % 200_000
        else:
            mb = (h * 7919) % 10_000
        out.write(f"080{i:08d},{month},{mb // 1000}.{mb % 1000:03d}\n")
