#!/usr/bin/env python3
"""Generate the real-input example dataset examples/maebashi-fy2022/ (gigaops).

The published figures come from a board meeting document of 前橋市 (section
「３ 報告事項（１）イ 学習者用端末の運用状況（破損状況）」, 前橋市教育委員会); schools are the real
MEXT 学校コード rows in `data/mext-school-codes/maebashi.csv` (relative to the repository
root). Everything else (serial numbers, per-school allocation, dates within a month, causes, which
devices break, write-offs, the one reconciling movement) is synthetic and fixed by RANDOM_SEED.

Usage (Python 3.11, stdlib only):

    python3 examples/maebashi-fy2022/generate.py [--schools PATH]

Writes inventory.csv, movements-fy2021.csv, incidents-fy2021.csv, incidents-fy2022.csv and
expected.json next to this file (UTF-8 without BOM, LF), then re-reads them, re-simulates the
device statuses day by day and asserts that the seed's figures come out. Exit status 0 = pass.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_SCHOOLS = REPO / "data" / "mext-school-codes" / "maebashi.csv"

RANDOM_SEED = 20230131

# ---------------------------------------------------------------------------------------------
# Published figures (seed 003, 「３ 報告事項（１）イ 学習者用端末の運用状況（破損状況）」).
# Only these constants feed expected.json.
# ---------------------------------------------------------------------------------------------
SEED_FILE = "003_3ee138903101a49b.txt"
SEED_SECTION = "３ 報告事項（１）イ　学習者用端末の運用状況 （破損状況）"
IPAD_DEPLOYED = 24_213          # ｉＰａｄ（小中） 配置済台数 24,213 台
IPAD_SPARES_ROLLOUT = 750       # 保守用台数 750 台 ※整備時
IPAD_FY2022_BREAKAGES = [16, 22, 23, 20, 12, 35, 26, 44, 21]          # ４月 … １２月 破損数
IPAD_FY2022_SPARES_LEFT = [518, 496, 473, 453, 441, 406, 380, 336, 315]  # 保守残数
IPAD_FY2022_TOTAL = 219         # 合計 219 台
IPAD_FY2021_TOTAL = 215         # ※令和3年度 215台
CB_DEPLOYED = 720               # Chromebook（高） 配置済台数 720 台
CB_SPARES_ROLLOUT = 21          # 保守用台数 21 台 ※整備時
CB_FY2022_FAULTS = [0, 0, 9, 2, 0, 5, 2, 6, 0]                        # ４月 … １２月 故障数
CB_FY2022_TOTAL = 24            # 合計 24 台
CB_FY2021_TOTAL = 2             # ※令和3年度 2台

# The one synthetic movement that reconciles 750 (rollout) with 518 (end of April 2022):
# 750 − 215 (FY2021 replacements) − 1 (this movement) = 534 on 2022-03-31; 534 − 16 = 518.
RECONCILING_MOVES = 1
IPAD_SPARES_FY2022_START = IPAD_SPARES_ROLLOUT - IPAD_FY2021_TOTAL - RECONCILING_MOVES
MOVEMENT_DATE = dt.date(2021, 6, 15)

# ---------------------------------------------------------------------------------------------
# Synthetic choices
# ---------------------------------------------------------------------------------------------
AS_OF = dt.date(2021, 4, 1)
FY2021 = (dt.date(2021, 4, 1), dt.date(2022, 3, 31))
FY2022_MONTHS = [(2022, m) for m in range(4, 13)]
FY2021_MONTHS = [(2021, m) for m in range(4, 13)] + [(2022, m) for m in range(1, 4)]
# FY2021 iPad damage per month, April 2021 … March 2022 (seed gives only the total 215).
IPAD_FY2021_SPLIT = [10, 14, 19, 16, 8, 17, 22, 24, 18, 20, 22, 25]
# FY2021 Chromebook faults (seed gives only the total 2): one in October 2021, one in January 2022.
CB_FY2021_SPLIT = [0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]
WRITE_OFF_PROBABILITY = 0.4      # share of broken iPads that get written_off_on
WRITE_OFF_DAYS = (30, 60)        # written_off_on = occurred_on + 30…60 days (a working day)
WRITE_OFF_LIMIT = dt.date(2022, 12, 31)  # no write-off dated after the seed's last month
REPAIR_DAYS = (10, 20)           # Chromebook repaired_on = occurred_on + 10…20 days (a working day)

BRANCH_DEVICES = 12              # each 分校 (2(分)) gets 12 iPads
SPECIAL_SCHOOL_DEVICES = 120     # 前橋市立前橋特別支援学校 (E1) gets 120 iPads
KIND_WEIGHT = {"B1": 1.00, "C1": 1.25}  # 本校 base weight by 学校種
HIGH_SCHOOL = "D110210000610"    # 前橋市立前橋高等学校: all Chromebooks

IPAD_MODEL, IPAD_GROUP = "iPad（第8世代）", "iPad（小中）"
CB_MODEL, CB_GROUP = "Lenovo 300e Chromebook Gen 2", "Chromebook（高）"

IPAD_DAMAGE_CAUSES = [("画面割れ", 45), ("落下", 25), ("水濡れ", 8), ("充電端子破損", 8),
                      ("筐体破損", 8), ("カメラ破損", 6)]
CB_FAULT_CAUSES = [("起動不良", 30), ("充電不良", 25), ("キーボード故障", 20),
                   ("画面表示不良", 15), ("タッチパッド不良", 10)]

# 国民の祝日 (incl. substitute holidays and the 2021 Olympic moves) in FY2021 and Apr–Dec 2022.
HOLIDAYS = {dt.date.fromisoformat(d) for d in [
    "2021-04-29", "2021-05-03", "2021-05-04", "2021-05-05", "2021-07-22", "2021-07-23",
    "2021-08-09", "2021-09-20", "2021-09-23", "2021-11-03", "2021-11-23", "2022-01-10",
    "2022-02-11", "2022-02-23", "2022-03-21", "2022-04-29", "2022-05-03", "2022-05-04",
    "2022-05-05", "2022-07-18", "2022-08-11", "2022-09-19", "2022-09-23", "2022-10-10",
    "2022-11-03", "2022-11-23", "2023-01-02", "2023-01-09", "2023-02-23", "2023-03-21",
]}

INVENTORY_HEADER = ["serial_number", "model", "model_group", "device_class", "status",
                    "school_code", "asset_tag"]
INCIDENT_HEADER = ["serial_number", "occurred_on", "kind", "cause", "replacement_serial",
                   "repaired_on", "written_off_on"]
MOVEMENT_HEADER = ["serial_number", "moved_on", "to_status", "to_school_code"]

SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # upper-case, no I/O


def working_day(d: dt.date) -> bool:
    """Mon–Fri, not a national holiday, not 年末年始 (12/29–1/3)."""
    if d.weekday() >= 5 or d in HOLIDAYS:
        return False
    if (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3):
        return False
    return True


def working_days(year: int, month: int) -> list[dt.date]:
    d = dt.date(year, month, 1)
    out = []
    while d.month == month:
        if working_day(d):
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def month_end(year: int, month: int) -> dt.date:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in table], weights=[w for _, w in table])[0]


def later_working_day(rng: random.Random, start: dt.date, lo: int, hi: int) -> dt.date:
    cands = [start + dt.timedelta(days=k) for k in range(lo, hi + 1)]
    cands = [d for d in cands if working_day(d)]
    return rng.choice(cands)


# ---------------------------------------------------------------------------------------------
# Schools and allocation
# ---------------------------------------------------------------------------------------------
def load_schools(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        status = r["本分校"][:1]
        if status not in ("1", "2"):
            continue  # 9(廃): closed, no devices
        out.append({"code": r["学校コード"], "kind": r["学校種"][:2], "branch": status == "2",
                    "name": r["学校名"]})
    return sorted(out, key=lambda s: s["code"])


def variation(code: str) -> float:
    """Deterministic per-school factor 0.6 … 1.4 from SHA-256 of the school code."""
    h = int.from_bytes(hashlib.sha256(code.encode("ascii")).digest()[:4], "big")
    return 0.6 + 0.8 * h / 2**32


def allocate_ipads(schools: list[dict]) -> dict[str, int]:
    ipad_schools = [s for s in schools if s["kind"] in ("B1", "C1", "E1")]
    alloc: dict[str, int] = {}
    mains = []
    for s in ipad_schools:
        if s["kind"] == "E1":
            alloc[s["code"]] = SPECIAL_SCHOOL_DEVICES
        elif s["branch"]:
            alloc[s["code"]] = BRANCH_DEVICES
        else:
            mains.append(s)
    rest = IPAD_DEPLOYED - sum(alloc.values())
    weights = {s["code"]: KIND_WEIGHT[s["kind"]] * variation(s["code"]) for s in mains}
    total_w = sum(weights.values())
    quotas = {c: rest * w / total_w for c, w in weights.items()}
    floors = {c: int(q) for c, q in quotas.items()}
    left = rest - sum(floors.values())
    # largest remainder, ties by school code
    for c in sorted(quotas, key=lambda c: (-(quotas[c] - floors[c]), c))[:left]:
        floors[c] += 1
    alloc.update(floors)
    return dict(sorted(alloc.items()))


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
def make_serials(rng: random.Random, prefix: str, n_rand: int, count: int, taken: set) -> list[str]:
    out = []
    while len(out) < count:
        s = prefix + "".join(rng.choice(SERIAL_CHARS) for _ in range(n_rand))
        if s not in taken:
            taken.add(s)
            out.append(s)
    return out


class Pool:
    """A list with O(1) random removal (order-dependent, hence deterministic)."""

    def __init__(self, items=()):
        self.items = list(items)
        self.index = {x: i for i, x in enumerate(self.items)}

    def add(self, x):
        self.index[x] = len(self.items)
        self.items.append(x)

    def remove(self, x):
        i = self.index.pop(x)
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.index[last] = i

    def take_random(self, rng, ok=lambda x: True):
        for _ in range(1000):
            x = rng.choice(self.items)
            if ok(x):
                self.remove(x)
                return x
        cands = [x for x in self.items if ok(x)]
        x = rng.choice(cands)
        self.remove(x)
        return x

    def __len__(self):
        return len(self.items)

    def __contains__(self, x):
        return x in self.index


def generate(schools_path: Path) -> dict:
    rng = random.Random(RANDOM_SEED)
    schools = load_schools(schools_path)
    alloc = allocate_ipads(schools)
    assert HIGH_SCHOOL in {s["code"] for s in schools}

    taken: set[str] = set()
    ipad_serials = make_serials(rng, "DMP", 9, IPAD_DEPLOYED + IPAD_SPARES_ROLLOUT, taken)
    cb_serials = make_serials(rng, "PF", 6, CB_DEPLOYED + CB_SPARES_ROLLOUT, taken)

    inventory = []
    school_of: dict[str, str] = {}
    k = 0
    for code, n in alloc.items():
        for _ in range(n):
            s = ipad_serials[k]
            k += 1
            inventory.append([s, IPAD_MODEL, IPAD_GROUP, "learner", "deployed", code,
                              f"MBS-IP-{k:06d}"])
            school_of[s] = code
    for _ in range(IPAD_SPARES_ROLLOUT):
        s = ipad_serials[k]
        k += 1
        inventory.append([s, IPAD_MODEL, IPAD_GROUP, "learner", "spare", "", f"MBS-IP-{k:06d}"])
    for i, s in enumerate(cb_serials, 1):
        if i <= CB_DEPLOYED:
            inventory.append([s, CB_MODEL, CB_GROUP, "learner", "deployed", HIGH_SCHOOL,
                              f"MBS-CB-{i:06d}"])
            school_of[s] = HIGH_SCHOOL
        else:
            inventory.append([s, CB_MODEL, CB_GROUP, "learner", "spare", "", f"MBS-CB-{i:06d}"])

    ipad_deployed = Pool(ipad_serials[:IPAD_DEPLOYED])
    ipad_spares = Pool(ipad_serials[IPAD_DEPLOYED:])
    cb_deployed = Pool(cb_serials[:CB_DEPLOYED])
    cb_spares = Pool(cb_serials[CB_DEPLOYED:])
    # Registered devices count as in place since the day before the register date, so a device
    # may break (or a spare be used) on 2021-04-01 itself; a device that changed state on day d
    # is only eligible again from d + 1.
    eve = AS_OF - dt.timedelta(days=1)
    deployed_since = {s: eve for s in ipad_serials[:IPAD_DEPLOYED] + cb_serials[:CB_DEPLOYED]}
    spare_since = {s: eve for s in cb_serials[CB_DEPLOYED:]}
    cb_returns: list[tuple[dt.date, str]] = []  # (repaired_on, serial) not yet back in the pool

    # The reconciling movement: the last spare iPad (by asset tag) is returned as 初期不良.
    moved = ipad_serials[-1]
    ipad_spares.remove(moved)
    movements = [[moved, MOVEMENT_DATE.isoformat(), "retired", ""]]

    def plan(months, ipad_counts, cb_counts):
        events = []  # (date, seq, group)
        seq = 0
        for (y, m), ni, nc in zip(months, ipad_counts, cb_counts):
            days = working_days(y, m)
            for group, n in (("ipad", ni), ("cb", nc)):
                for d in sorted(rng.choice(days) for _ in range(n)):
                    events.append((d, seq, group))
                    seq += 1
        events.sort()
        return events

    def run(events) -> list[list[str]]:
        rows = []
        for d, _, group in events:
            # Chromebooks whose repair finished strictly before d are back in the spare pool.
            for r in [x for x in cb_returns if x[0] < d]:
                cb_returns.remove(r)
                cb_spares.add(r[1])
                spare_since[r[1]] = r[0]
            if group == "ipad":
                broken = ipad_deployed.take_random(rng, lambda s: deployed_since[s] < d)
                repl = ipad_spares.take_random(rng)
                deployed_since[repl] = d
                school_of[repl] = school_of[broken]
                ipad_deployed.add(repl)
                cause = weighted(rng, IPAD_DAMAGE_CAUSES)
                wo = ""
                if rng.random() < WRITE_OFF_PROBABILITY:
                    w = later_working_day(rng, d, *WRITE_OFF_DAYS)
                    if w <= WRITE_OFF_LIMIT:
                        wo = w.isoformat()
                rows.append([broken, d.isoformat(), "damage", cause, repl, "", wo])
            else:
                broken = cb_deployed.take_random(rng, lambda s: deployed_since[s] < d)
                repl = cb_spares.take_random(rng, lambda s: spare_since[s] < d)
                deployed_since[repl] = d
                school_of[repl] = school_of[broken]
                cb_deployed.add(repl)
                rep = later_working_day(rng, d, *REPAIR_DAYS)
                cb_returns.append((rep, broken))
                cause = weighted(rng, CB_FAULT_CAUSES)
                rows.append([broken, d.isoformat(), "fault", cause, repl, rep.isoformat(), ""])
        return rows

    fy21 = run(plan(FY2021_MONTHS, IPAD_FY2021_SPLIT, CB_FY2021_SPLIT))
    fy22 = run(plan(FY2022_MONTHS, IPAD_FY2022_BREAKAGES, CB_FY2022_FAULTS))
    assert moved not in {r[4] for r in fy21 + fy22}
    return {"inventory": inventory, "movements": movements, "fy2021": fy21, "fy2022": fy22,
            "alloc": alloc, "schools": schools}


def expected_json() -> dict:
    """Built from the SEED constants only (plus the documented reconciling movement)."""
    assert sum(IPAD_FY2022_BREAKAGES) == IPAD_FY2022_TOTAL
    assert sum(CB_FY2022_FAULTS) == CB_FY2022_TOTAL
    months = [f"{y}-{m:02d}" for y, m in FY2022_MONTHS]
    return {
        "fiscal_year": 2022,
        "source": f"seed {SEED_FILE}, 「{SEED_SECTION}」",
        "note": ("Figures published for 令和4年度 April–December 2022 only; January–March 2023 are "
                 "not in the seed (the dataset has no incidents there). spares_start for iPad is "
                 "750 − 215 − 1 (one synthetic reconciling movement, see README). Chromebook "
                 "spares_start is the rollout figure 21 (the two FY2021 faults were repaired); "
                 "the seed gives no monthly Chromebook spare counts. incident_rate and "
                 "spares_exhausted_in are deliberately not asserted here."),
        "groups": [
            {
                "model_group": CB_GROUP,
                "deployed": CB_DEPLOYED,
                "spares_start": CB_SPARES_ROLLOUT,
                "months": [{"month": mo, "damage": 0, "fault": n, "loss": 0, "theft": 0, "total": n}
                           for mo, n in zip(months, CB_FY2022_FAULTS)],
                "total": CB_FY2022_TOTAL,
                "previous_year_total": CB_FY2021_TOTAL,
            },
            {
                "model_group": IPAD_GROUP,
                "deployed": IPAD_DEPLOYED,
                "spares_start": IPAD_SPARES_FY2022_START,
                "months": [{"month": mo, "damage": n, "fault": 0, "loss": 0, "theft": 0, "total": n,
                            "spare_remaining": left}
                           for mo, n, left in zip(months, IPAD_FY2022_BREAKAGES,
                                                  IPAD_FY2022_SPARES_LEFT)],
                "total": IPAD_FY2022_TOTAL,
                "previous_year_total": IPAD_FY2021_TOTAL,
            },
        ],
    }


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


# ---------------------------------------------------------------------------------------------
# Self-check: re-read the files and re-simulate
# ---------------------------------------------------------------------------------------------
def read_csv(path: Path, header: list[str]) -> list[dict]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: BOM"
    assert b"\r" not in raw, f"{path.name}: CR"
    text = raw.decode("utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == header, f"{path.name}: header {rows[0]}"
    return [dict(zip(header, r)) for r in rows[1:]]


def self_check(schools: list[dict]) -> None:
    inv = read_csv(HERE / "inventory.csv", INVENTORY_HEADER)
    mov = read_csv(HERE / "movements-fy2021.csv", MOVEMENT_HEADER)
    inc21 = read_csv(HERE / "incidents-fy2021.csv", INCIDENT_HEADER)
    inc22 = read_csv(HERE / "incidents-fy2022.csv", INCIDENT_HEADER)
    exp = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))

    serials = [r["serial_number"] for r in inv]
    assert len(serials) == len(set(serials)), "duplicate serial"
    assert len({r["asset_tag"] for r in inv}) == len(inv), "duplicate asset tag"
    for r in inv:
        s = r["serial_number"]
        assert s == s.upper() and s.isalnum()
        assert (s.startswith("DMP") and len(s) == 12) or (s.startswith("PF") and len(s) == 8)
    group = {r["serial_number"]: r["model_group"] for r in inv}
    status = {r["serial_number"]: r["status"] for r in inv}
    school = {r["serial_number"]: r["school_code"] for r in inv}
    c = Counter((r["model_group"], r["status"]) for r in inv)
    assert c == Counter({(IPAD_GROUP, "deployed"): IPAD_DEPLOYED,
                         (IPAD_GROUP, "spare"): IPAD_SPARES_ROLLOUT,
                         (CB_GROUP, "deployed"): CB_DEPLOYED,
                         (CB_GROUP, "spare"): CB_SPARES_ROLLOUT}), c
    assert all(r["device_class"] == "learner" for r in inv)
    assert all((r["status"] == "spare") == (r["school_code"] == "") for r in inv)

    open_codes = {s["code"]: s for s in schools}
    per_school = Counter(r["school_code"] for r in inv if r["status"] == "deployed")
    ipad_targets = {c for c, s in open_codes.items() if s["kind"] in ("B1", "C1", "E1")}
    for r in inv:
        if r["status"] == "deployed":
            kind = open_codes[r["school_code"]]["kind"]  # KeyError = closed/unknown school
            assert (kind in ("B1", "C1", "E1")) == (r["model_group"] == IPAD_GROUP)
            if r["model_group"] == CB_GROUP:
                assert r["school_code"] == HIGH_SCHOOL
    assert all(per_school[c] > 0 for c in ipad_targets), "a school without devices"

    # events by date
    events: dict[dt.date, list] = defaultdict(list)
    for m in mov:
        events[dt.date.fromisoformat(m["moved_on"])].append(("move", m))
    fy_rows = {"fy2021": inc21, "fy2022": inc22}
    for name, rows in fy_rows.items():
        dates = [r["occurred_on"] for r in rows]
        assert dates == sorted(dates), f"{name} not sorted by date"
        for r in rows:
            d = dt.date.fromisoformat(r["occurred_on"])
            assert working_day(d), f"incident on a non-working day {d}"
            events[d].append(("incident", r))
            if r["repaired_on"]:
                events[dt.date.fromisoformat(r["repaired_on"])].append(("repaired", r))
            if r["written_off_on"]:
                w = dt.date.fromisoformat(r["written_off_on"])
                assert w <= WRITE_OFF_LIMIT
                events[w].append(("written_off", r))
    lo, hi = FY2021
    assert all(lo <= dt.date.fromisoformat(r["occurred_on"]) <= hi for r in inc21)
    assert all(dt.date(2022, 4, 1) <= dt.date.fromisoformat(r["occurred_on"])
               <= dt.date(2022, 12, 31) for r in inc22)

    broke_once: set[str] = set()
    used_repl: set[str] = set()
    month_ends = {month_end(y, m): f"{y}-{m:02d}" for y, m in FY2021_MONTHS + FY2022_MONTHS}
    spare_at_end: dict[str, Counter] = {}
    d = AS_OF
    last = dt.date(2022, 12, 31)
    while d <= last:
        todays = events.get(d, [])
        before = dict(status) if todays else status  # state at the end of the previous day
        for kind, r in todays:
            s = r["serial_number"]
            if kind == "move":
                assert before[s] == "spare" and s not in used_repl
                status[s] = r["to_status"]
                school[s] = r["to_school_code"]
            elif kind == "incident":
                repl = r["replacement_serial"]
                assert before[s] == "deployed", f"{s} not deployed on {d}"
                assert before[repl] == "spare", f"replacement {repl} not spare on {d}"
                assert group[s] == group[repl]
                if group[s] == IPAD_GROUP:
                    assert r["kind"] == "damage" and not r["repaired_on"]
                    assert s not in broke_once, f"{s} broke twice"
                    assert repl not in used_repl, f"spare {repl} used twice"
                    broke_once.add(s)
                    used_repl.add(repl)
                else:
                    assert r["kind"] == "fault" and r["repaired_on"] and not r["written_off_on"]
                    gap = (dt.date.fromisoformat(r["repaired_on"]) - d).days
                    assert REPAIR_DAYS[0] <= gap <= REPAIR_DAYS[1]
                status[s] = "in_repair"
                status[repl] = "deployed"
                school[repl] = school[s]
            elif kind == "repaired":
                assert status[s] == "in_repair"
                status[s] = "spare"
                school[s] = ""
            elif kind == "written_off":
                assert status[s] == "in_repair"
                status[s] = "retired"
        if d in month_ends:
            spare_at_end[month_ends[d]] = Counter(
                group[s] for s, st in status.items() if st == "spare")
        if d == dt.date(2022, 3, 31):
            spares_start = Counter(group[s] for s, st in status.items() if st == "spare")
        if d == dt.date(2022, 4, 1):
            deployed_apr1 = Counter(group[s] for s, st in status.items() if st == "deployed")
        d += dt.timedelta(days=1)

    exp_groups = {g["model_group"]: g for g in exp["groups"]}
    counts22 = {g: Counter() for g in exp_groups}
    for r in inc22:
        counts22[group[r["serial_number"]]][(r["occurred_on"][:7], r["kind"])] += 1
    totals21 = Counter(group[r["serial_number"]] for r in inc21)
    for gname, g in exp_groups.items():
        assert deployed_apr1[gname] == g["deployed"], (gname, deployed_apr1[gname])
        assert spares_start[gname] == g["spares_start"], (gname, spares_start[gname])
        for m in g["months"]:
            for k in ("damage", "fault", "loss", "theft"):
                assert counts22[gname][(m["month"], k)] == m[k], (gname, m)
            if "spare_remaining" in m:
                assert spare_at_end[m["month"]][gname] == m["spare_remaining"], \
                    (gname, m["month"], spare_at_end[m["month"]][gname], m["spare_remaining"])
        assert sum(counts22[gname].values()) == g["total"]
        assert totals21[gname] == g["previous_year_total"]

    # summary
    print("self-check passed")
    print(f"  schools with iPads: {len(ipad_targets)}, Chromebooks at {HIGH_SCHOOL}")
    print(f"  inventory: {len(inv)} rows; movements: {len(mov)}; "
          f"incidents FY2021: {len(inc21)}, FY2022: {len(inc22)}")
    print(f"  deployed 2022-04-01: iPad {deployed_apr1[IPAD_GROUP]}, "
          f"Chromebook {deployed_apr1[CB_GROUP]}")
    print(f"  spares 2022-03-31: iPad {spares_start[IPAD_GROUP]}, "
          f"Chromebook {spares_start[CB_GROUP]}")
    print("  month    iPad破損 保守残  CB故障 CB予備")
    for y, m in FY2022_MONTHS:
        mo = f"{y}-{m:02d}"
        print(f"  {mo}  {counts22[IPAD_GROUP][(mo, 'damage')]:7d} {spare_at_end[mo][IPAD_GROUP]:6d}"
              f"  {counts22[CB_GROUP][(mo, 'fault')]:6d} {spare_at_end[mo][CB_GROUP]:6d}")
    wo = sum(1 for r in inc21 + inc22 if r["written_off_on"])
    print(f"  totals FY2022: iPad {sum(counts22[IPAD_GROUP].values())}, Chromebook "
          f"{sum(counts22[CB_GROUP].values())}; FY2021: iPad {totals21[IPAD_GROUP]}, "
          f"Chromebook {totals21[CB_GROUP]}; iPads written off by 2022-12-31: {wo}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schools", type=Path, default=DEFAULT_SCHOOLS,
                    help="MEXT rows for 前橋市 (default: %(default)s)")
    args = ap.parse_args()
    data = generate(args.schools)
    write_csv(HERE / "inventory.csv", INVENTORY_HEADER, data["inventory"])
    write_csv(HERE / "movements-fy2021.csv", MOVEMENT_HEADER, data["movements"])
    write_csv(HERE / "incidents-fy2021.csv", INCIDENT_HEADER, data["fy2021"])
    write_csv(HERE / "incidents-fy2022.csv", INCIDENT_HEADER, data["fy2022"])
    (HERE / "expected.json").write_text(
        json.dumps(expected_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    self_check(data["schools"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
