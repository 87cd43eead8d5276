#!/usr/bin/env bash
# Benchmark: every page a board member (and a school user) opens on the demo, under load. For each
# backend (an SQLite file; a PostgreSQL database created for the run) it loads the demo the way
# `gigaops demo` does, serves it with the release binary on loopback, signs in with curl (the login
# form's CSRF token is a double-submit cookie), checks each page's first answer with curl (it must
# be 200: a redirect or an error is not a page), then runs `wrk -t2 -cC -dSs --latency` against
# `/static/app.css` (the floor: a static file served by the same process) and each page in turn.
# Prints one Markdown table: page | SQLite p50 / p99 / req/s / errors | PostgreSQL …, where errors
# are wrk's "Non-2xx or 3xx responses" plus its socket errors (connect, read, write, timeout).
# Not a test: nothing is asserted.
#
#   bash bench/report_latency.sh [seconds-per-page=10] [connections=50]
#   GIGAOPS_BENCH_NO_BUILD=1            use target/release/gigaops as it is
#   GIGAOPS_BENCH_BACKENDS=postgres     one backend only ("sqlite postgres" by default)
#   GIGAOPS_BENCH_PAGES='fleet|plan'    only the pages whose label matches this extended regex
#   GIGAOPS_BENCH_REUSE_DB=1            keep the demo database of the previous run (faster)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
CONNS="${2:-50}"
PG="${GIGAOPS_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
PGDB=gigaops_report_latency
BACKENDS="${GIGAOPS_BENCH_BACKENDS:-sqlite postgres}"
ONLY="${GIGAOPS_BENCH_PAGES:-}"
PASSWORD="${GIGAOPS_DEMO_PASSWORD:-gigaops-demo-2026!}"
PORT=18082
base="http://127.0.0.1:$PORT"
out=bench-out
mkdir -p "$out"
command -v wrk > /dev/null || { echo "wrk is not installed (Debian package wrk)"; exit 1; }
target="${CARGO_TARGET_DIR:-target}"
[ -n "${GIGAOPS_BENCH_NO_BUILD:-}" ] || cargo build --release -q -p gigaops-cli
bin="$target/release/gigaops"
export GIGAOPS_LOG="${GIGAOPS_LOG:-warn}"
results="$out/report-latency.tsv"
: > "$results"

# The pages: label | who (board or school) | path. {serial}, {case}, {entry} and {import} are
# filled from the demo data (a device of the school user's school, the first escalation case, the
# first plan entry, the latest import). The list follows the router's GET routes (`gigaops_web::
# route_table`); left out are the login form, the health check, the upload form of a plan file and
# the edit form of a plan entry (forms, not reports). `/fleet/search` answers a redirect to the
# device list filtered by its text, which is measured as "device search".
PAGES=$(cat << 'EOF'
static file (floor)|board|/static/app.css
home|board|/
device list|board|/fleet/devices
device list, filtered (spare, iPad（小中）), page 3|board|/fleet/devices?status=spare&model_group=iPad%EF%BC%88%E5%B0%8F%E4%B8%AD%EF%BC%89&page=3
device search (serial prefix DMP), page 10|board|/fleet/devices?q=DMP&page=10
device page|board|/fleet/devices/{serial}
models and aliases|board|/fleet/models
fleet report|board|/fleet/report
fleet report CSV|board|/fleet/report.csv
plan|board|/plan
plan print|board|/plan/print
plan CSV|board|/plan/report.csv
plan schedule|board|/plan/schedule
plan entry history|board|/plan/entries/{entry}/history
usage report (12 months)|board|/usage/report
escalation|board|/usage/escalation
escalation cases|board|/usage/cases
escalation case|board|/usage/cases/{case}
work list|board|/usage/work
escalation policy|board|/usage/policy
schools|board|/schools
imports|board|/imports
import|board|/imports/{import}
school user: home|school|/
school user: device list|school|/fleet/devices
school user: escalation cases|school|/usage/cases
school user: work list|school|/usage/work
EOF
)

ms() { # wrk's "1.23ms" / "850.00us" / "1.02s" → milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.1f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.1f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.0f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.0f", v * 1000 }
    else printf "%s", v }'
}

signin() { # email, cookie jar → "gigaops_session=…"
  local email=$1 jar=$2 token
  rm -f "$jar"
  token=$(curl -s -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=$email" --data-urlencode "password=$PASSWORD" "$base/login"
  awk '$6 == "gigaops_session" { print "gigaops_session=" $7 }' "$jar"
}

run() { # backend label, database url, sql command (reads one query, prints one value)
  local label=$1 db=$2 sql=$3
  echo "== $label: loading the demo ($(date -u +%H:%M:%S) UTC)" >&2
  $bin --database-url "$db" demo > "$out/report-latency-demo.log" 2>&1 || { cat "$out/report-latency-demo.log"; exit 1; }
  local serial case entry import
  serial=$($sql "SELECT d.serial_number FROM device d JOIN school s ON s.id = d.school_id WHERE s.school_code = 'B110210000017' ORDER BY d.serial_number LIMIT 1")
  case=$($sql "SELECT MIN(id) FROM escalation_case")
  entry=$($sql "SELECT MIN(id) FROM plan_entry")
  import=$($sql "SELECT MAX(id) FROM import_run")
  $bin --database-url "$db" serve --addr "127.0.0.1:$PORT" > "$out/report-latency-serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/health" > /dev/null && break; sleep 0.2; done
  local board school
  board=$(signin board@demo.gigaops.jp "$out/cookies-board.txt")
  school=$(signin school@demo.gigaops.jp "$out/cookies-school.txt")
  [ -n "$board" ] && [ -n "$school" ] || { echo "sign-in failed"; kill "$pid"; exit 1; }
  echo "== $label: load average $(cut -d' ' -f1-3 /proc/loadavg) before the pages; wrk -t2 -c$CONNS -d${SECS}s each" >&2
  while IFS='|' read -r page who path; do
    [ -z "$ONLY" ] || [[ "$page" =~ $ONLY ]] || [ "$path" = /static/app.css ] || continue
    path=${path//\{serial\}/$serial}
    path=${path//\{case\}/$case}
    path=${path//\{entry\}/$entry}
    path=${path//\{import\}/$import}
    local cookie=$board
    [ "$who" = school ] && cookie=$school
    local code log="$out/report-latency-wrk.txt"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base$path")
    wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -H "Cookie: $cookie" "$base$path" > "$log" 2>&1 || true
    # requests wrk gave up on may still be queued in the server: one more request waits for them,
    # so that they do not slow down the next page
    curl -s -o /dev/null -m 300 -H "Cookie: $cookie" "$base$path" || true
    local p50 p99 rps non2xx sock
    p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$log")")
    p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$log")")
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$log")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$log")
    sock=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$log")
    local errors=$((${non2xx:-0} + ${sock:-0}))
    # wrk counts no error when no request at all is answered within its 2 s timeout
    [ "$(awk '/ requests in / { print $1 }' "$log")" != 0 ] || { p50="—"; p99="—"; errors="all (none answered within 2 s)"; }
    [ "$code" = 200 ] || errors="$errors (first answer HTTP $code)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$page" "$path" "$p50" "$p99" "${rps:-0}" "$errors" >> "$results"
    printf '%-12s %-52s p50 %8s ms  p99 %8s ms  %6s req/s  errors %s\n' "$label" "$page" "$p50" "$p99" "${rps:-0}" "$errors" >&2
  done <<< "$PAGES"
  kill "$pid"
  wait "$pid" 2> /dev/null || true
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; $(date -u '+%Y-%m-%d %H:%M') UTC; commit $(git rev-parse --short HEAD)" >&2
if [[ " $BACKENDS " == *" sqlite "* ]]; then
  [ -n "${GIGAOPS_BENCH_REUSE_DB:-}" ] || rm -f "$out/report-latency.db" "$out/report-latency.db-wal" "$out/report-latency.db-shm"
  run SQLite "sqlite://$out/report-latency.db?mode=rwc" "sqlite3 $out/report-latency.db"
fi
if [[ " $BACKENDS " == *" postgres "* ]]; then
  if [ -z "${GIGAOPS_BENCH_REUSE_DB:-}" ] || ! psql -Atq "$PG/$PGDB" -c "SELECT 1" > /dev/null 2>&1; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PGDB" -qc "CREATE DATABASE $PGDB"
  fi
  run PostgreSQL "$PG/$PGDB" "psql -Atq $PG/$PGDB -c"
fi

echo
echo "| page | SQLite p50 | SQLite p99 | SQLite req/s | SQLite errors | PostgreSQL p50 | PostgreSQL p99 | PostgreSQL req/s | PostgreSQL errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '
  !($2 in seen) { seen[$2] = 1; order[++n] = $2 }
  { u = ($4 == "—") ? "" : " ms"; cell[$1, $2] = sprintf("%s%s | %s%s | %s | %s", $4, u, $5, u, $6, $7) }
  END { for (i = 1; i <= n; i++) {
    p = order[i]; s = cell["SQLite", p]; q = cell["PostgreSQL", p]
    if (s == "") s = "— | — | — | —"; if (q == "") q = "— | — | — | —"
    printf "| %s | %s | %s |\n", p, s, q } }' "$results"
