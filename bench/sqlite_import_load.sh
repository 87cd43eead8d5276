#!/usr/bin/env bash
# Load test: sign-ins and page views on the demo while a 1,000,000-row device import writes to the
# same SQLite database (the release binary; the import runs from the command line into a second
# municipality of the same file, as an operator would run it beside the server). Reports requests,
# errors and latency (bench/import_load.py) and the import's time. Not a test: nothing is asserted.
#
#   bash bench/sqlite_import_load.sh [N] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
WORKERS="${2:-4}"
PORT=18081
PASSWORD="${GIGAOPS_DEMO_PASSWORD:-gigaops-demo-2026!}"
out=bench-out
mkdir -p "$out"
target="${CARGO_TARGET_DIR:-target}"
[ -n "${GIGAOPS_BENCH_NO_BUILD:-}" ] || cargo build --release -q -p gigaops-cli
bin="$target/release/gigaops"
schools=examples/maebashi-fy2022/schools-maebashi.csv
csv="$out/inventory-$N.csv"
[ -f "$csv" ] || python3 bench/gen_inventory.py "$N" "$schools" > "$csv"
db="$out/load.db"
rm -f "$db" "$db-wal" "$db-shm" "$out/load.stop"
url="sqlite://$db?mode=rwc"
$bin --database-url "$url" demo > /dev/null
$bin --database-url "$url" municipality add bench ベンチ市教育委員会 > /dev/null
$bin --database-url "$url" --municipality bench import schools "$schools" > /dev/null 2>&1
$bin --database-url "$url" --municipality maebashi serve --addr "127.0.0.1:$PORT" > "$out/load-serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/health" > /dev/null || { cat "$out/load-serve.log"; exit 1; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $N devices; $WORKERS workers signing in and reading pages"
python3 bench/import_load.py "http://127.0.0.1:$PORT" board@demo.gigaops.jp "$PASSWORD" "$WORKERS" \
  "$out/load.stop" "$out/load-requests.tsv" &
load=$!
sleep 2   # the workers are signing in before the import starts
t0=$(date +%s.%N)
$bin --database-url "$url" --municipality bench import devices "$csv" --as-of 2024-04-01
t1=$(date +%s.%N)
sleep 2   # and go on after it ends
touch "$out/load.stop"
wait $load
awk -v a="$t0" -v e="$t1" 'BEGIN { printf "import of the devices: %.2f s\n", e - a }'
