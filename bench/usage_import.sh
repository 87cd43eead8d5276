#!/usr/bin/env bash
# Benchmark: import a national-size month of LTE usage (default N = 9,500,000 lines, the
# number of GIGA devices in Japan) with full validation through the release `gigaops` binary, on
# SQLite and PostgreSQL, side by side with the raw loader of the same file into a bare table keyed
# by line and month (sqlite3 .import, psql \copy); then evaluate the month (`escalation run`).
# Prints seconds, rows/s and peak memory (max RSS from /usr/bin/time). Not a test: nothing is asserted.
#
#   bash bench/usage_import.sh [N]
set -euo pipefail
export GIGAOPS_LOG=warn
cd "$(dirname "$0")/.."
N="${1:-9500000}"
PG="${GIGAOPS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
out=bench-out
mkdir -p "$out"
cargo build --release -q -p gigaops-cli
bin=target/release/gigaops
schools=examples/maebashi-fy2022/schools-maebashi.csv
lines="$out/lines-$N.csv"; prev="$out/usage-$N-2024-08.csv"; csv="$out/usage-$N-2024-09.csv"
[ -f "$lines" ] || python3 bench/gen_usage.py lines "$N" "$schools" > "$lines"
[ -f "$prev" ] || python3 bench/gen_usage.py usage "$N" 2024-08 > "$prev"
[ -f "$csv" ] || python3 bench/gen_usage.py usage "$N" 2024-09 > "$csv"
echo "file: $csv ($(du -h "$csv" | cut -f1), $N rows); machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"

measure() { # label, rows, command…
  local label=$1 n=$2; shift 2
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$out/rss" "$@" > "$out/last.log" 2>&1 || { cat "$out/last.log"; exit 1; }
  t1=$(date +%s.%N)
  rss=$(tail -1 "$out/rss")
  awk -v l="$label" -v n="$n" -v a="$t0" -v b="$t1" -v r="$rss" \
    'BEGIN { s = b - a; printf "%-40s %8.2f s %12.0f rows/s  peak RSS %7.1f MiB\n", l, s, n / s, r / 1024 }'
}

run_backend() { # label, url
  local label=$1 db=$2
  $bin --database-url "$db" import schools "$schools" > /dev/null
  $bin --database-url "$db" escalation policy set --effective-from 2024-09 > /dev/null
  measure "gigaops import lines ($label)" "$N" $bin --database-url "$db" import lines "$lines"
  measure "gigaops import usage 2024-08 ($label)" "$N" $bin --database-url "$db" import usage "$prev"
  measure "gigaops import usage 2024-09 ($label)" "$N" $bin --database-url "$db" import usage "$csv"
  measure "re-import 2024-09, unchanged ($label)" "$N" $bin --database-url "$db" import usage "$csv"
  measure "gigaops escalation run 2024-09 ($label)" "$N" $bin --database-url "$db" escalation run --month 2024-09
  cat "$out/last.log"
}

# SQLite
rm -f "$out"/usage.db* "$out/raw-usage.db"
run_backend SQLite "sqlite://$out/usage.db?mode=rwc"
sqlite3 "$out/raw-usage.db" "CREATE TABLE usage (line_id TEXT, month TEXT, usage_gb REAL, PRIMARY KEY (line_id, month));"
measure "raw loader: sqlite3 .import" "$N" sqlite3 "$out/raw-usage.db" -cmd ".mode csv" ".import --skip 1 $csv usage"

# PostgreSQL
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gigaops_bench_usage" -qc "CREATE DATABASE gigaops_bench_usage"
pdb="$PG/gigaops_bench_usage"
run_backend PostgreSQL "$pdb"
psql "$pdb" -qc "DROP TABLE IF EXISTS raw_usage" -qc "CREATE TABLE raw_usage (line_id TEXT, month TEXT, usage_gb NUMERIC, PRIMARY KEY (line_id, month))"
measure "raw loader: psql copy" "$N" psql "$pdb" -qc "\\copy raw_usage FROM '$csv' WITH (FORMAT csv, HEADER true)"
