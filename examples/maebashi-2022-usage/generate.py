#!/usr/bin/env python3
"""Generate the real-input example dataset examples/maebashi-2022-usage/ (gigaops).

The published figures come from a board meeting document of 前橋市 (section
「３ 報告（１）イ 学習者用端末の運用状況（通信量）」, 前橋市教育委員会): 24,933 lines (24,888 from May
2022) at 5 GB per line per month, the city's monthly total January–December 2022 and its ratio to
the pooled capacity, and the results of the staged escalation from September 2022. Lines are tied
to the 24,933 deployed learner devices of ../maebashi-fy2022/inventory.csv (24,213 iPads +
720 Chromebooks = 24,933, the seed's line count), so every line has a real school code and a
device serial. Everything else (phone numbers, pupil ids, which 45 lines end in April, the usage of
each line, the heavy users' monthly figures) is synthetic and fixed by RANDOM_SEED.

Usage (Python 3.11, stdlib only):

    python3 examples/maebashi-2022-usage/generate.py

Writes lines.csv, usage-2022-01.csv … usage-2022-11.csv (gigaops format), carrier-2022-12.csv
(a carrier-style statement read through carrier-mapping.toml) and expected.json next to this file
(UTF-8 without BOM, LF), then re-reads them, recomputes the capacity table and re-runs the
escalation rules month by month, and asserts that the seed's figures come out. Exit 0 = pass.
"""
from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INVENTORY = HERE.parent / "maebashi-fy2022" / "inventory.csv"
RANDOM_SEED = 20221231

# ---------------------------------------------------------------------------------------------
# Published figures (seed 003, 「通信量の状況（小・中・特支・高合計２４，９３３回線分）」).
# ---------------------------------------------------------------------------------------------
LINES = 24_933                   # 合計２４，９３３回線分 → 契約通信量１２４，６６５GB／月（1人５GB／月）
LINES_FROM_MAY = 24_888          # ※５月からは２４，８８８回線で契約 → １２４，４４０GB／月
ALLOWANCE_GB = 5
MONTHLY_GB = [57_563, 62_360, 55_760, 53_018, 60_931, 64_119, 62_209, 45_761, 68_216, 66_144, 64_107, 65_752]
MONTHLY_PERCENT = [46, 50, 45, 43, 49, 52, 50, 37, 55, 53, 52, 53]
# 「令和４年９月以降の対応数と改善状況」: steps taken per month (①…④) and improved.
ESCALATION = {
    "2022-09": {"new": 16, "steps": [16, 0, 0, 0], "improved": 0},
    "2022-10": {"new": 5, "steps": [5, 11, 0, 0], "improved": 5},
    "2022-11": {"new": 18, "steps": [18, 4, 3, 0], "improved": 9},
    "2022-12": {"new": 14, "steps": [14, 5, 2, 2], "improved": 16},
}
COHORTS = {  # cohort → (entered, reached ②③④, improved after ①②③④) by the end of December
    "2022-09": (16, [11, 3, 2], [5, 8, 1, 0]),
    "2022-10": (5, [4, 2, 0], [1, 2, 0, 0]),
    "2022-11": (18, [5, 0, 0], [13, 0, 0, 0]),
    "2022-12": (14, [0, 0, 0], [0, 0, 0, 0]),
}
SINGLE_GB, CONSECUTIVE_GB, CONSECUTIVE_MONTHS, STEPS, EFFECTIVE_FROM = 200, 100, 2, 4, 9

# ---------------------------------------------------------------------------------------------
# Synthetic heavy users: usage (GB, 3 decimals) for July … December; other months 5 GB.
# Each pattern: (name, count, [Jul, Aug, Sep, Oct, Nov, Dec]).
# ---------------------------------------------------------------------------------------------
P = [
    # September cohort (16)
    ("S1a single Sep, improves Oct", 3, [5, 20, 230, 40, 10, 8]),
    ("S1b 100+ Aug & Sep (Aug not evaluated but counts), improves Oct", 2, [30, 120, 105, 60, 12, 9]),
    ("S2a single Sep, exactly 200 Oct, improves Nov", 5, [8, 15, 210, 200, 30, 20]),
    ("S2b exactly 100 Aug–Oct, 99.999 Nov", 3, [10, 100, 100, 100, 99.999, 40]),
    ("S3 Sep–Nov, improves Dec", 1, [12, 60, 250, 130, 140, 20]),
    ("S4 Sep–Dec: reaches step 4", 2, [10, 110, 150, 160, 220, 180]),
    # October cohort (5)
    ("O1 120 Sep alone (not met), 110 Oct (met), improves Nov", 1, [5, 10, 120, 110, 30, 10]),
    ("O2 Oct–Nov, improves Dec", 2, [5, 10, 40, 300, 205, 50]),
    ("O3 Oct–Dec: step 3", 2, [5, 10, 20, 240, 150, 130]),
    # November cohort (18)
    ("N1a single Nov, improves Dec", 10, [5, 8, 15, 30, 260, 12]),
    ("N1b exactly 100 Oct & Nov, improves Dec", 3, [5, 8, 15, 100, 100, 5]),
    ("N2 Nov–Dec: step 2", 5, [5, 8, 15, 20, 230, 170]),
    # December cohort (14)
    ("D1 single Dec", 11, [5, 8, 15, 12, 30, 250]),
    ("D2 150 Nov & Dec", 3, [5, 8, 15, 12, 150, 150]),
    # near misses: never meet the criteria in September–December
    ("M1 199.999 Oct alone", 3, [5, 8, 15, 199.999, 50, 20]),
    ("M2 heavy Jul–Aug only (before the policy)", 2, [150, 150, 20, 20, 20, 20]),
    ("M3 99.999 Sep then 150 Oct", 2, [5, 8, 99.999, 150, 30, 20]),
]
HEAVY_JAN_JUN = [("M4 300 GB in March (never evaluated)", 2, 3, 300)]  # (name, count, month, GB)
NORMAL_WEIGHT_CAP = 20.0         # a normal line uses at most ~20× the average (< 100 GB)


def mb(gb: float) -> int:
    return round(gb * 1000)


def fmt_gb(mb_: int) -> str:
    return f"{mb_ // 1000}.{mb_ % 1000:03d}"


def phone(i: int) -> str:
    return f"070{40000000 + i * 37 % 10000000 + (i * 37 // 10000000):08d}"


def generate() -> dict:
    rnd = random.Random(RANDOM_SEED)
    with INVENTORY.open(encoding="utf-8") as f:
        devices = [r for r in csv.DictReader(f) if r["status"] == "deployed" and r["device_class"] == "learner"]
    assert len(devices) == LINES, len(devices)
    lines = []
    for i, d in enumerate(devices):
        lines.append({
            "line_id": phone(i), "school_code": d["school_code"], "device_serial": d["serial_number"],
            "pupil_id": f"P{i + 1:06d}", "allowance_gb": ALLOWANCE_GB, "active_from": "2021-04-01",
            "active_to": "",
        })
    assert len({ln["line_id"] for ln in lines}) == LINES
    order = list(range(LINES))
    rnd.shuffle(order)
    ending = sorted(order[:LINES - LINES_FROM_MAY])
    for i in ending:
        lines[i]["active_to"] = "2022-04-30"
    pool = order[LINES - LINES_FROM_MAY:]
    fixed: dict[int, dict[int, int]] = {}   # line index → month → MB
    patterns: dict[str, list[str]] = {}
    k = 0
    for name, count, jul_dec in P:
        for _ in range(count):
            i = pool[k]
            k += 1
            fixed[i] = {m: mb(5) for m in range(1, 13)}
            for j, g in enumerate(jul_dec):
                fixed[i][7 + j] = mb(g)
            patterns.setdefault(name, []).append(lines[i]["line_id"])
    for name, count, month, g in HEAVY_JAN_JUN:
        for _ in range(count):
            i = pool[k]
            k += 1
            fixed[i] = {m: mb(5) for m in range(1, 13)}
            fixed[i][month] = mb(g)
            patterns.setdefault(name, []).append(lines[i]["line_id"])
    usage: list[dict[int, int]] = [dict() for _ in range(LINES)]
    for month in range(1, 13):
        active = [i for i in range(LINES) if month <= 4 or not lines[i]["active_to"]]
        assert len(active) == (LINES if month <= 4 else LINES_FROM_MAY)
        total = MONTHLY_GB[month - 1] * 1000
        rest = total - sum(fixed[i][month] for i in active if i in fixed)
        normal = [i for i in active if i not in fixed]
        weights = [min(rnd.lognormvariate(0, 1.0), NORMAL_WEIGHT_CAP) for _ in normal]
        w_sum = sum(weights)
        shares = [int(rest * w / w_sum) for w in weights]
        left = rest - sum(shares)
        for j in range(left):
            shares[j % len(shares)] += 1
        for i, s in zip(normal, shares):
            assert 0 <= s < 100_000, s
            usage[i][month] = s
        for i in active:
            if i in fixed:
                usage[i][month] = fixed[i][month]
    return {"lines": lines, "usage": usage, "patterns": patterns}


def write(data: dict) -> None:
    lines, usage = data["lines"], data["usage"]
    with (HERE / "lines.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["line_id", "school_code", "device_serial", "pupil_id", "allowance_gb", "active_from", "active_to"])
        for ln in lines:
            w.writerow([ln[c] for c in ["line_id", "school_code", "device_serial", "pupil_id", "allowance_gb",
                                        "active_from", "active_to"]])
    for month in range(1, 12):
        with (HERE / f"usage-2022-{month:02d}.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["line_id", "month", "usage_gb"])
            for ln, u in zip(lines, usage):
                if month in u:
                    w.writerow([ln["line_id"], f"2022-{month:02d}", fmt_gb(u[month])])
    # December as a carrier-style statement: hyphenated numbers, 利用年月 as YYYYMM, volume in KB
    # under a header without a unit (carrier-mapping.toml says which column is which, and the unit).
    with (HERE / "carrier-2022-12.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["請求先コード", "電話番号", "利用年月", "料金プラン", "パケット通信量"])
        for ln, u in zip(lines, usage):
            if 12 in u:
                p = ln["line_id"]
                w.writerow(["MBS-0001", f"{p[:3]}-{p[3:7]}-{p[7:]}", "202212", "GIGAスクールプラン", u[12] * 1000])


def read_back() -> tuple[list[dict], dict[str, dict[str, int]]]:
    with (HERE / "lines.csv").open(encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    usage: dict[str, dict[str, int]] = {}
    for month in range(1, 12):
        with (HERE / f"usage-2022-{month:02d}.csv").open(encoding="utf-8") as f:
            for r in csv.DictReader(f):
                whole, frac = r["usage_gb"].split(".")
                usage.setdefault(r["line_id"], {})[r["month"]] = int(whole) * 1000 + int(frac)
    with (HERE / "carrier-2022-12.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            kb = int(r["パケット通信量"])
            assert kb % 1000 == 0
            usage.setdefault(r["電話番号"].replace("-", ""), {})["2022-12"] = kb // 1000
    return lines, usage


def check() -> dict:
    lines, usage = read_back()
    months = [f"2022-{m:02d}" for m in range(1, 13)]
    table = []
    for i, m in enumerate(months):
        first, last = f"{m}-01", f"{m}-31"
        active = [ln for ln in lines if ln["active_from"] <= last and (not ln["active_to"] or ln["active_to"] >= first)]
        cap_gb = sum(int(ln["allowance_gb"]) for ln in active)
        total_mb = sum(u.get(m, 0) for u in usage.values())
        assert total_mb == MONTHLY_GB[i] * 1000, (m, total_mb)
        ratio = round(MONTHLY_GB[i] / cap_gb, 4)
        assert round(ratio * 100) == MONTHLY_PERCENT[i], (m, ratio)
        assert cap_gb == (124_665 if i < 4 else 124_440)
        table.append({"month": m, "usage_gb": float(MONTHLY_GB[i]), "capacity_gb": float(cap_gb),
                      "active_lines": len(active), "ratio": ratio})
        for u in usage.values():
            assert u.get(m, 0) >= 0
    # escalation, month by month, exactly the escalation rules of gigaops (domain::usage)
    open_step: dict[str, int] = {}
    opened_in: dict[str, str] = {}
    results, cohort_log = {}, []

    def meets(line: str, mi: int) -> bool:
        u = usage[line]
        cur = u.get(months[mi])
        if cur is None:
            return False
        if cur >= SINGLE_GB * 1000:
            return True
        window = [u.get(months[mi - j]) for j in range(CONSECUTIVE_MONTHS)]
        return all(x is not None and x >= CONSECUTIVE_GB * 1000 for x in window)

    for mi in range(EFFECTIVE_FROM - 1, 12):
        m = months[mi]
        r = {"new": 0, "steps": [0] * STEPS, "improved": 0, "continued": 0, "missing": 0}
        for line in sorted(usage):
            ok = meets(line, mi)
            s = open_step.get(line)
            if s is None:
                if ok:
                    open_step[line], opened_in[line] = 1, m
                    r["new"] += 1
                    r["steps"][0] += 1
                    cohort_log.append((opened_in[line], "opened", 1))
            elif m not in usage[line]:
                r["missing"] += 1
            elif not ok:
                r["improved"] += 1
                cohort_log.append((opened_in[line], "improved", s))
                del open_step[line]
            elif s == STEPS:
                r["continued"] += 1
            else:
                open_step[line] = s + 1
                r["steps"][s] += 1
                cohort_log.append((opened_in[line], "advanced", s + 1))
        exp = ESCALATION[m]
        assert (r["new"], r["steps"], r["improved"]) == (exp["new"], exp["steps"], exp["improved"]), (m, r)
        results[m] = r
    cohorts = []
    for c, (entered, reached, improved) in COHORTS.items():
        got_e = sum(1 for (cm, k, _) in cohort_log if cm == c and k == "opened")
        got_r = [sum(1 for (cm, k, s) in cohort_log if cm == c and k == "advanced" and s == n) for n in (2, 3, 4)]
        got_i = [sum(1 for (cm, k, s) in cohort_log if cm == c and k == "improved" and s == n) for n in (1, 2, 3, 4)]
        assert (got_e, got_r, got_i) == (entered, reached, improved), (c, got_e, got_r, got_i)
        cohorts.append({"cohort": c, "entered": entered, "reached": dict(zip(["2", "3", "4"], reached)),
                        "improved_after": dict(zip(["1", "2", "3", "4"], improved))})
    return {
        "source": "seed 003 「３ 報告（１）イ 学習者用端末の運用状況（通信量）」 前橋市教育委員会",
        "capacity": table,
        "escalation": {
            "months": [{"month": m, "new_cases": r["new"],
                        "steps": {str(n + 1): r["steps"][n] for n in range(STEPS)},
                        "improved": r["improved"], "continued": r["continued"], "missing_data": r["missing"]}
                       for m, r in results.items()],
            "cohorts": cohorts,
        },
    }


def main() -> int:
    data = generate()
    write(data)
    expected = check()
    expected["heavy_user_patterns"] = {k: len(v) for k, v in data["patterns"].items()}
    with (HERE / "expected.json").open("w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("ok: capacity table and escalation results match seed 003", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
