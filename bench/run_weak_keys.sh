#!/bin/sh
# Weak-key benchmark (docs/PERFORMANCE.md, "Weak keys"): batch GCD over 100,000 and
# 1,000,000 generated 1024-bit moduli with planted shared primes, and the naive pairwise
# method on 5,000. Data goes to $OUT (default /tmp/mica-weak-keys), never the repo.
# Generation is not timed (1M moduli: about 50 min of CPU with 2 cores).
#
#   cmake -S . -B build-f-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DMICA_BUILD_BENCH=ON \
#         -DMICA_BUILD_TESTS=OFF && ninja -C build-f-rel bench_gcd
#   bench/run_weak_keys.sh build-f-rel [--skip-1m]
set -eu
BUILD=${1:-build-f-rel}
B=$BUILD/bench_gcd
OUT=${OUT:-/tmp/mica-weak-keys}
mkdir -p "$OUT"
[ -s "$OUT/m100k.hex" ] || $B gen 100000 1024 "$OUT/m100k.hex" 1
head -5000 "$OUT/m100k.hex" > "$OUT/m5k.hex"
echo "== naive pairwise, 5,000 moduli"
/usr/bin/time -v $B naive "$OUT/m100k.hex" 5000 2>&1 | grep -E "naive|Elapsed|Maximum resident|User time"
echo "== mica batch GCD, 5,000 moduli"
/usr/bin/time -v $B batch "$OUT/m5k.hex" 2 2>&1 | grep -E "mica batch|Elapsed|Maximum resident|User time"
echo "== mica batch GCD, 100,000 moduli"
/usr/bin/time -v $B batch "$OUT/m100k.hex" 2 2>&1 | grep -E "mica batch|Elapsed|Maximum resident|User time"
[ "${2:-}" = "--skip-1m" ] && exit 0
[ -s "$OUT/m1m.hex" ] || $B gen 1000000 1024 "$OUT/m1m.hex" 2
echo "== mica batch GCD, 1,000,000 moduli"
/usr/bin/time -v $B batch "$OUT/m1m.hex" 2 2>&1 | grep -E "mica batch|Elapsed|Maximum resident|User time"
