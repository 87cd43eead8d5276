#!/usr/bin/env python3
"""Writes a synthetic device inventory of N rows (gigaops generic CSV) to stdout.

Deterministic: serials DEV0000000001…, asset tags AT-…, spread over the Maebashi school codes given
in the MEXT file (argument 2), 3 % spares. Used by bench/fleet_import.sh.
"""
import csv
import sys

n = int(sys.argv[1])
codes = []
with open(sys.argv[2], encoding="utf-8") as f:
    for row in csv.DictReader(f):
        if row["本分校"].startswith(("1", "2")) and row["学校種"][:2] in ("B1", "C1", "E1"):
            codes.append(row["学校コード"])
out = sys.stdout
out.write("serial_number,model,model_group,device_class,status,school_code,asset_tag\n")
for i in range(1, n + 1):
    spare = i % 33 == 0
    school = "" if spare else codes[i % len(codes)]
    out.write(f"DEV{i:010d},iPad（第9世代）,iPad（小中）,learner,{'spare' if spare else 'deployed'},{school},AT-{i:08d}\n")
