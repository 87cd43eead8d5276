#!/usr/bin/env bash
# Benchmark: `gigaops import lines` of N generated lines (default 9,500,000, Japan's GIGA devices)
# into an empty register, on SQLite and PostgreSQL, side by side in the same run with the raw loader
# of the same file into a bare table keyed by line id (sqlite3 .import, psql \copy); then the same
# file again (all unchanged). Prints one line per command, then a Markdown table (time, rows/s, peak
# RSS = "Maximum resident set size" of /usr/bin/time, ratio to the raw loader). Nothing is asserted.
#
#   bash bench/lines_import.sh [N]        # GIGAOPS_BENCH_NO_BUILD=1: use the release binary as built
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-9500000}"
PG="${GIGAOPS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
export GIGAOPS_LOG="${GIGAOPS_LOG:-warn}"
BACKENDS="${GIGAOPS_BENCH_BACKENDS:-sqlite postgres}"   # e.g. GIGAOPS_BENCH_BACKENDS=postgres
out=bench-out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
[ -n "${GIGAOPS_BENCH_NO_BUILD:-}" ] || cargo build --release -q -p gigaops-cli
bin="$target/release/gigaops"
schools=examples/maebashi-fy2022/schools-maebashi.csv
lines="$out/lines-$N.csv"
[ -f "$lines" ] || python3 bench/gen_usage.py lines "$N" "$schools" > "$lines"
echo "file: $lines ($(du -h "$lines" | cut -f1), $N rows); machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
results="$out/lines-results.tsv"
: > "$results"

measure() { # backend, label, command…
  local backend=$1 label=$2; shift 2
  local t0 t1 rss log="$out/$(echo "$label-$backend" | tr -c 'a-zA-Z0-9\n' '_').log"
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$out/time-v" "$@" > "$log" 2>&1 || { cat "$log"; exit 1; }
  t1=$(date +%s.%N)
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out/time-v")
  L="$label" awk -v b="$backend" -v n="$N" -v a="$t0" -v e="$t1" -v r="$rss" 'BEGIN {
    s = e - a; l = ENVIRON["L"]; printf "%-10s %-36s %8.2f s %10.0f rows/s  peak RSS %7.1f MiB\n", b, l, s, n / s, r / 1024 }'
  printf '%s\t%s\t%s\t%s\n' "$backend" "$label" "$(awk -v a="$t0" -v e="$t1" 'BEGIN { print e - a }')" "$rss" >> "$results"
}

# SQLite
if [[ " $BACKENDS " == *" sqlite "* ]]; then
rm -f "$out"/lines.db* "$out/raw-lines.db"
sqlite3 "$out/raw-lines.db" "CREATE TABLE line (line_id TEXT PRIMARY KEY, school_code TEXT, allowance_gb REAL, active_from TEXT);"
measure SQLite "raw loader: sqlite3 .import" sqlite3 "$out/raw-lines.db" -cmd ".mode csv" ".import --skip 1 $lines line"
db="sqlite://$out/lines.db?mode=rwc"
$bin --database-url "$db" import schools "$schools" > /dev/null
measure SQLite "gigaops import lines" $bin --database-url "$db" import lines "$lines"
measure SQLite "re-import, all unchanged" $bin --database-url "$db" import lines "$lines"
fi

# PostgreSQL
if [[ " $BACKENDS " == *" postgres "* ]]; then
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gigaops_bench_lines" -qc "CREATE DATABASE gigaops_bench_lines"
pdb="$PG/gigaops_bench_lines"
psql "$pdb" -qc "CREATE TABLE raw_line (line_id TEXT PRIMARY KEY, school_code TEXT, allowance_gb NUMERIC, active_from DATE)"
measure PostgreSQL "raw loader: psql \\copy" psql "$pdb" -qc "\\copy raw_line FROM '$lines' WITH (FORMAT csv, HEADER true)"
$bin --database-url "$pdb" import schools "$schools" > /dev/null
measure PostgreSQL "gigaops import lines" $bin --database-url "$pdb" import lines "$lines"
measure PostgreSQL "re-import, all unchanged" $bin --database-url "$pdb" import lines "$lines"
fi

echo
echo "| backend | run ($N lines) | time | rows/s | peak RSS | speed ÷ raw loader |"
echo "|---|---|---:|---:|---:|---:|"
awk -F'\t' -v n="$N" '
  $2 ~ /^raw loader/ { raw[$1] = $3 }
  { b[NR] = $1; l[NR] = $2; s[NR] = $3; r[NR] = $4 }
  END { for (i = 1; i <= NR; i++)
    printf "| %s | %s | %.2f s | %.0f | %.1f MiB | %.2f× |\n", b[i], l[i], s[i], n / s[i], r[i] / 1024, raw[b[i]] / s[i] }' "$results"
