#!/bin/bash
# `mica policy check` over the 100,000-certificate corpus (docs/PERFORMANCE.md "Policy").
# Usage: bench/run_policy.sh BASE_DB [RUNS] [MICA] [PEER_MICA]
#   BASE_DB    a scanned corpus with no findings (bench/run_foundation.sh makes the tree;
#              `mica --db BASE_DB scan fs TREE`), never written: every run works on a copy
#   RUNS       pairs of (first check, re-check) per binary, default 3
#   MICA       the build under test, default build/bench/mica (make bench builds it)
#   PEER_MICA  optional: an older binary, run alternately on its own copies
#   OUTPUT=table in the environment prints the table instead of --json
# Each pair: copy BASE_DB (schema migrated and checkpointed first, so no run pays for
# a migration), a first check (every finding opened), then a re-check (nothing changed).
# Prints wall, user + sys CPU, peak RSS, and the load average before each run.
set -euo pipefail
base=$1
runs=${2:-3}
mica=${3:-build/bench/mica}
peer=${4:-}
flag=--json
[ "${OUTPUT:-json}" = table ] && flag=
work=$(mktemp -d /tmp/mica-bench-policy.XXXXXX)
trap 'rm -rf "$work"' EXIT

cp "$base" "$work/base.db"
"$mica" --db "$work/base.db" events --limit 1 >/dev/null  # migrate once, outside the runs
sqlite3 "$work/base.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
echo "== $(nproc) cores; corpus: $(sqlite3 "$work/base.db" "SELECT count(*) FROM identity") identities," \
  "$(sqlite3 "$work/base.db" "SELECT count(*) FROM finding") findings stored"

one() {  # label binary db
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "$1 wall %e s user %U s sys %S s rss %M KiB (load $load)" \
    "$2" --db "$3" policy check $flag >"$work/out.json" 2>"$work/err.txt" || true
  tail -1 "$work/err.txt"
}

for run in $(seq 1 "$runs"); do
  for bin in "$mica" $peer; do
    name=$([ "$bin" = "$mica" ] && echo new || echo peer)
    cp "$work/base.db" "$work/x.db"
    one "$name run $run first" "$bin" "$work/x.db"
    echo "   opened $(grep -o '"opened": [0-9]*\|[0-9]* opened' "$work/out.json" | grep -o '[0-9]*'),"  \
      "events $(sqlite3 "$work/x.db" "SELECT count(*) FROM event WHERE type LIKE 'finding_%'")"
    one "$name run $run again" "$bin" "$work/x.db"
  done
done
