#!/usr/bin/env bash
# Benchmark: import a generated N-device inventory (default 1,000,000) with full
# validation through the release `gigaops` binary, on SQLite and PostgreSQL, side by side with the
# raw loader of the same file into a bare table with the same key (sqlite3 .import, psql \copy).
# Prints rows/s and peak memory (max RSS from /usr/bin/time). Not a test: nothing is asserted.
#
#   bash bench/fleet_import.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
PG="${GIGAOPS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
out=bench-out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p gigaops-cli
bin="$target/release/gigaops"
schools=examples/maebashi-fy2022/schools-maebashi.csv
csv="$out/inventory-$N.csv"
[ -f "$csv" ] || python3 bench/gen_inventory.py "$N" "$schools" > "$csv"
echo "file: $csv ($(du -h "$csv" | cut -f1), $N rows); machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"

measure() { # label, command…
  local label=$1; shift
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$out/rss" "$@" > "$out/last.log" 2>&1 || { cat "$out/last.log"; exit 1; }
  t1=$(date +%s.%N)
  rss=$(tail -1 "$out/rss")
  awk -v l="$label" -v n="$N" -v a="$t0" -v b="$t1" -v r="$rss" \
    'BEGIN { s = b - a; printf "%-34s %8.2f s %12.0f rows/s  peak RSS %7.1f MiB\n", l, s, n / s, r / 1024 }'
}

# SQLite
rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm" "$out/raw.db"
db="sqlite://$out/bench.db?mode=rwc"
$bin --database-url "$db" import schools "$schools" > /dev/null
measure "gigaops import devices (SQLite)" $bin --database-url "$db" import devices "$csv" --as-of 2024-04-01
measure "re-import, unchanged (SQLite)" $bin --database-url "$db" import devices "$csv" --as-of 2024-04-01
printf 'CREATE TABLE device (serial_number TEXT PRIMARY KEY, model TEXT, model_group TEXT, device_class TEXT, status TEXT, school_code TEXT, asset_tag TEXT);\n' > "$out/raw.sql"
sqlite3 "$out/raw.db" < "$out/raw.sql"
measure "raw loader: sqlite3 .import" sqlite3 "$out/raw.db" -cmd ".mode csv" ".import --skip 1 $csv device"

# PostgreSQL
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gigaops_bench" -qc "CREATE DATABASE gigaops_bench"
pdb="$PG/gigaops_bench"
$bin --database-url "$pdb" import schools "$schools" > /dev/null
measure "gigaops import devices (PostgreSQL)" $bin --database-url "$pdb" import devices "$csv" --as-of 2024-04-01
measure "re-import, unchanged (PostgreSQL)" $bin --database-url "$pdb" import devices "$csv" --as-of 2024-04-01
psql "$pdb" -qc "DROP TABLE IF EXISTS raw_device" -qc "CREATE TABLE raw_device (serial_number TEXT PRIMARY KEY, model TEXT, model_group TEXT, device_class TEXT, status TEXT, school_code TEXT, asset_tag TEXT)"
measure "raw loader: psql \\copy" psql "$pdb" -qc "\\copy raw_device FROM '$csv' WITH (FORMAT csv, HEADER true)"
