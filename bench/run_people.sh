#!/bin/bash
# People: ingest and scoring of 10 million access events (docs/PERFORMANCE.md).
#
#   bench/run_people.sh [EVENTS] [PEOPLE]      (default 10000000 5000)
#
# Builds a Release mica in build/people-bench, generates the input with
# gen_people_events into $BENCH_DIR (default /tmp/mica-people-bench), then times with
# /usr/bin/time -v (wall clock and peak RSS):
#   1. mica people events ingest   (parse, enrich with the intel set, store, aggregate)
#   2. mica people risk            (score everyone over the week from the aggregates)
#   3. the peers on the same file: python3 json.loads per line, and jq -c . (parse only,
#      nothing stored), as a baseline for what merely reading the JSON costs.
set -euo pipefail
EVENTS=${1:-10000000}
PEOPLE=${2:-5000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build/people-bench}
DIR=${BENCH_DIR:-/tmp/mica-people-bench}

cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMICA_BUILD_BENCH=ON \
  -DMICA_BUILD_TESTS=OFF >/dev/null
ninja -C "$BUILD" -j2 mica gen_people_events >/dev/null
mkdir -p "$DIR"
if [ ! -s "$DIR/events.jsonl" ] || [ "$(wc -l <"$DIR/events.jsonl")" -ne "$EVENTS" ]; then
  "$BUILD/gen_people_events" --events "$EVENTS" --people "$PEOPLE" --out "$DIR"
fi
ls -l "$DIR/events.jsonl"
rm -rf "$DIR/bench.db" "$DIR/bench.db-wal" "$DIR/bench.db-shm" "$DIR/bench.db.intel"
MICA=("$BUILD/mica" --db "$DIR/bench.db")
"${MICA[@]}" intel load "$DIR/intel" >/dev/null
"${MICA[@]}" people import "$DIR/hr.csv"

measure() {  # label, command...
  local label=$1
  shift
  /usr/bin/time -v "$@" 2>"$DIR/time.txt" >"$DIR/out.txt" || true
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$DIR/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$DIR/time.txt" | awk '{print $NF}')
  printf '%-28s wall %-10s peak RSS %6d MiB\n' "$label" "$wall" $((rss / 1024))
  grep -v "^\s" "$DIR/out.txt" | head -3 || true
}

echo "== $EVENTS events, $PEOPLE people"
measure "mica people events ingest" "${MICA[@]}" people events ingest "$DIR/events.jsonl"
measure "mica people risk" "${MICA[@]}" people risk --at 2026-11-20T00:00:00Z --csv
echo "== peers (parse only, same file)"
measure "python3 json.loads" python3 -c '
import json, sys
n = 0
for line in sys.stdin.buffer:
    json.loads(line); n += 1
print(n, "lines")' <"$DIR/events.jsonl"
measure "jq -c ." sh -c "jq -c . '$DIR/events.jsonl' | wc -l"
ls -l "$DIR/bench.db"
