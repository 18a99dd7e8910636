#!/bin/bash
# Change detection and audit-log figures (docs/PERFORMANCE.md "Change detection and the
# audit log"). Usage: bench/run_watch.sh [BUILD_DIR]   (a Release build with
# -DMICA_BUILD_BENCH=ON; `make bench` makes one in build/bench).
set -euo pipefail
build=${1:-build/bench}
work=$(mktemp -d /tmp/mica-bench-watch.XXXXXX)
trap 'rm -rf "$work"' EXIT
bw="$build/bench_watch"
mica="$build/mica"
openssl genpkey -algorithm ed25519 -out "$work/audit.key"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

echo "== diff of two scans of 100,000 files (10% and 100% replaced by another issuer; 100% renewed)"
for pct in 10 100; do
  /usr/bin/time -f "peak_rss %M KiB" "$bw" diff "$work/diff$pct.db" 100000 "$pct"
done
/usr/bin/time -f "peak_rss %M KiB" "$bw" diff "$work/renew.db" 100000 100 same-issuer

echo "== audit appends: 1,000,000 events in transactions of 1,000; 20,000 one per transaction"
"$bw" append "$work/log.db" 1000000 1000 "$work/audit.key"
"$bw" append "$work/single.db" 20000 1 "$work/audit.key"

echo "== audit verify of 1,000,000 entries (1,000 signed checkpoints)"
/usr/bin/time -f "peak_rss %M KiB" "$bw" verify "$work/log.db" "$work/audit.key"
echo "-- mica audit verify (CLI, Ed25519 signatures checked)"
printf '[audit]\nverify_key = "%s"\n' "$work/audit.key" > "$work/mica.toml"
/usr/bin/time -f "wall %e s peak_rss %M KiB" "$mica" --db "$work/log.db" --config "$work/mica.toml" audit verify
echo "-- peer: independent Python RFC 6962 verifier over 'mica audit export' (no signatures)"
/usr/bin/time -f "wall %e s" bash -c "'$mica' --db '$work/log.db' audit export | python3 bench/verify_export.py"
echo "-- floor: sqlite3 reading the logged columns"
/usr/bin/time -f "wall %e s" sqlite3 "$work/log.db" \
  "SELECT sum(length(detail) + length(location) + length(after_fp) + length(leaf_hash)) FROM event" >/dev/null
