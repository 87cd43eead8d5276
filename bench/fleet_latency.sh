#!/usr/bin/env bash
# Benchmark: page latency with the demo register loaded (25,704 devices, FY2021–2022
# history). Serves the release binary on loopback, logs in with curl, and drives the filtered,
# paginated device list and the monthly report with wrk (Debian package `wrk`) on SQLite and
# PostgreSQL. Prints wrk's latency distribution (50/75/90/99 %). Not a test: nothing is asserted.
#
#   bash bench/fleet_latency.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-20}"
PG="${GIGAOPS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
PORT=18080
out=bench-out
mkdir -p "$out"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p gigaops-cli
bin="$target/release/gigaops"

run() { # label, database url
  local label=$1 db=$2 jar="$out/cookies.txt"
  $bin --database-url "$db" demo > /dev/null 2>&1
  $bin --database-url "$db" serve --addr "127.0.0.1:$PORT" > "$out/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break; sleep 0.2; done
  rm -f "$jar"
  local token
  token=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$PORT/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=board@demo.gigaops.jp" --data-urlencode "password=gigaops-demo-2026!" "http://127.0.0.1:$PORT/login"
  local cookie
  cookie=$(awk '$6 == "gigaops_session" { print "gigaops_session=" $7 }' "$jar")
  [ -n "$cookie" ] || { echo "login failed"; exit 1; }
  for path in "/fleet/devices?status=spare&group=iPad%EF%BC%88%E5%B0%8F%E4%B8%AD%EF%BC%89&page=3" \
              "/fleet/devices?q=DMP&page=10" \
              "/fleet/report?fiscal_year=R4"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path")
    echo "== $label GET $path (HTTP $code), wrk -t2 -c8 -d${SECS}s"
    wrk -t2 -c8 -d"${SECS}s" --latency -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path" |
      sed -n '/Latency Distribution/,/Requests\/sec/p'
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

rm -f "$out/latency.db"*
run "SQLite" "sqlite://$out/latency.db?mode=rwc"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS gigaops_latency" -qc "CREATE DATABASE gigaops_latency"
run "PostgreSQL" "$PG/gigaops_latency"
