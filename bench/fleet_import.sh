#!/usr/bin/env bash
# Benchmark: import a generated N-device inventory (default 1,000,000) with full validation through
# the release `gigaops` binary, on SQLite and PostgreSQL, side by side in the same run with the raw
# loader of the same file into a bare table with the same key (sqlite3 .import, psql \copy).
# A second reference loads, just as raw, the rows gigaops stored (dumped after its import) into
# empty copies of the register's own tables with their indexes (`device` and the first states in
# `device_state`): the same bytes and indexes gigaops writes, without reading, checking or matching.
# Prints one line per command as it ends, then a Markdown table (time, rows/s, peak RSS from
# /usr/bin/time, ratio to each raw loader of the same backend). Not a test: nothing is asserted.
#
#   bash bench/fleet_import.sh [N]
#   GIGAOPS_LOG=gigaops_store=debug bash bench/fleet_import.sh 100000   # laps in bench-out/*.log
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
PG="${GIGAOPS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
export GIGAOPS_LOG="${GIGAOPS_LOG:-warn}"
BACKENDS="${GIGAOPS_BENCH_BACKENDS:-sqlite postgres}"   # e.g. GIGAOPS_BENCH_BACKENDS=postgres
out=bench-out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
[ -n "${GIGAOPS_BENCH_NO_BUILD:-}" ] || cargo build --release -q -p gigaops-cli
bin="$target/release/gigaops"
schools=examples/maebashi-fy2022/schools-maebashi.csv
csv="$out/inventory-$N.csv"
[ -f "$csv" ] || python3 bench/gen_inventory.py "$N" "$schools" > "$csv"
echo "file: $csv ($(du -h "$csv" | cut -f1), $N rows); machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg)"
results="$out/fleet-results.tsv"
: > "$results"

measure() { # backend, label, command…
  local backend=$1 label=$2; shift 2
  local t0 t1 rss log="$out/$(echo "$label-$backend" | tr -c 'a-zA-Z0-9\n' '_').log"
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$out/rss" "$@" > "$log" 2>&1 || { cat "$log"; exit 1; }
  t1=$(date +%s.%N)
  rss=$(tail -1 "$out/rss")
  L="$label" awk -v b="$backend" -v n="$N" -v a="$t0" -v e="$t1" -v r="$rss" 'BEGIN {
    s = e - a; l = ENVIRON["L"]; printf "%-10s %-36s %8.2f s %10.0f rows/s  peak RSS %7.1f MiB\n", b, l, s, n / s, r / 1024 }'
  printf '%s\t%s\t%s\t%s\n' "$backend" "$label" "$(awk -v a="$t0" -v e="$t1" 'BEGIN { print e - a }')" "$rss" >> "$results"
}

# SQLite: the raw loader first, then gigaops into an empty register, then the same file again
if [[ " $BACKENDS " == *" sqlite "* ]]; then
rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm" "$out/raw.db"
printf 'CREATE TABLE device (serial_number TEXT PRIMARY KEY, model TEXT, model_group TEXT, device_class TEXT, status TEXT, school_code TEXT, asset_tag TEXT);\n' > "$out/raw.sql"
sqlite3 "$out/raw.db" < "$out/raw.sql"
measure SQLite "raw loader: sqlite3 .import" sqlite3 "$out/raw.db" -cmd ".mode csv" ".import --skip 1 $csv device"
db="sqlite://$out/bench.db?mode=rwc"
$bin --database-url "$db" import schools "$schools" > /dev/null
measure SQLite "gigaops import devices" $bin --database-url "$db" import devices "$csv" --as-of 2024-04-01
measure SQLite "re-import, all unchanged" $bin --database-url "$db" import devices "$csv" --as-of 2024-04-01
# the same rows, raw, into empty copies of the register's tables (same columns and indexes)
rm -f "$out/same.db" "$out/same.db-wal" "$out/same.db-shm"
sqlite3 -csv "$out/bench.db" "SELECT * FROM device" > "$out/device-rows.csv"
sqlite3 -csv "$out/bench.db" "SELECT * FROM device_state" > "$out/state-rows.csv"
{ echo "PRAGMA journal_mode=wal;"; sqlite3 "$out/bench.db" ".schema device" ".schema device_state"; } | sqlite3 "$out/same.db" > /dev/null
measure SQLite "raw loader, register's own tables" sqlite3 "$out/same.db" -cmd ".mode csv" \
  "BEGIN" ".import $out/device-rows.csv device" ".import $out/state-rows.csv device_state" "COMMIT"
fi

# PostgreSQL: the same
if [[ " $BACKENDS " == *" postgres "* ]]; then
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gigaops_bench" -qc "CREATE DATABASE gigaops_bench"
pdb="$PG/gigaops_bench"
psql "$pdb" -qc "CREATE TABLE raw_device (serial_number TEXT PRIMARY KEY, model TEXT, model_group TEXT, device_class TEXT, status TEXT, school_code TEXT, asset_tag TEXT)"
measure PostgreSQL "raw loader: psql \\copy" psql "$pdb" -qc "\\copy raw_device FROM '$csv' WITH (FORMAT csv, HEADER true)"
$bin --database-url "$pdb" import schools "$schools" > /dev/null
measure PostgreSQL "gigaops import devices" $bin --database-url "$pdb" import devices "$csv" --as-of 2024-04-01
measure PostgreSQL "re-import, all unchanged" $bin --database-url "$pdb" import devices "$csv" --as-of 2024-04-01
psql "$pdb" -qc "\\copy device TO '$PWD/$out/device-rows.tsv'" -qc "\\copy device_state TO '$PWD/$out/state-rows.tsv'" \
  -qc "CREATE TABLE same_device (LIKE device INCLUDING ALL)" -qc "CREATE TABLE same_device_state (LIKE device_state INCLUDING ALL)"
measure PostgreSQL "raw loader, register's own tables" psql "$pdb" -q -c "BEGIN" \
  -c "\\copy same_device FROM '$PWD/$out/device-rows.tsv'" -c "\\copy same_device_state FROM '$PWD/$out/state-rows.tsv'" -c "COMMIT"
fi

echo
echo "| backend | run ($N rows) | time | rows/s | peak RSS | ÷ raw loader, bare table | ÷ raw loader, register's tables |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk -F'\t' -v n="$N" '
  $2 ~ /^raw loader:/ { raw[$1] = $3 }
  $2 ~ /^raw loader, register/ { same[$1] = $3 }
  { b[NR] = $1; l[NR] = $2; s[NR] = $3; r[NR] = $4 }
  END { for (i = 1; i <= NR; i++)
    printf "| %s | %s | %.2f s | %.0f | %.1f MiB | %.2f× | %.2f× |\n", b[i], l[i], s[i], n / s[i], r[i] / 1024, raw[b[i]] / s[i], same[b[i]] / s[i] }' "$results"
