#!/bin/sh
# Weak-key benchmark (docs/PERFORMANCE.md, "Weak keys"): batch GCD over 100,000 and
# 1,000,000 generated 1024-bit moduli with planted shared primes, against fastgcd on the
# same 100,000 in the same run, and the naive pairwise method on 5,000. Data goes to $OUT
# (default /tmp/mica-weak-keys), never the repo.
#
# Generation is not timed. The 100,000 are RSA-shaped (two 512-bit primes: 4.5 min here);
# the 1,000,000 are products of eight 128-bit primes (~150 s of CPU instead of ~45 min),
# the same size and so the same batch-GCD arithmetic (bench/bench_gcd.cpp, Gen).
#
# fastgcd (https://github.com/sagi/fastgcd) is the peer. It is not part of mica and is
# never committed: build it in a scratch folder outside the repo against Debian's
# libgmp-dev (its GMP patch only adds 64-bit raw I/O, which inputs under 2 GiB do not
# need), e.g. `gcc -std=gnu99 -O3 -pthread fastgcd.c -o fastgcd -lgmp`, and pass its path
# in $FASTGCD; without it the comparison is skipped.
#
#   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMICA_BUILD_BENCH=ON \
#         -DMICA_BUILD_TESTS=OFF && ninja -C build/bench bench_gcd
#   FASTGCD=/tmp/fastgcd-scratch/fastgcd bench/run_weak_keys.sh build/bench [--skip-1m]
set -eu
BUILD=${1:-build/bench}
B=$(realpath "$BUILD/bench_gcd")
OUT=${OUT:-/tmp/mica-weak-keys}
mkdir -p "$OUT"
[ -s "$OUT/m100k.hex" ] || $B gen 100000 1024 "$OUT/m100k.hex" 1
head -5000 "$OUT/m100k.hex" > "$OUT/m5k.hex"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "== naive pairwise, 5,000 moduli"
/usr/bin/time -v $B naive "$OUT/m100k.hex" 5000 2>&1 | grep -E "naive|Elapsed|Maximum resident|User time"
echo "== mica batch GCD, 5,000 moduli"
/usr/bin/time -v $B batch "$OUT/m5k.hex" 2 2>&1 | grep -E "mica batch|Elapsed|Maximum resident|User time"
for round in 1 2 3; do
  echo "== round $round: mica batch GCD, 100,000 moduli"
  /usr/bin/time -v $B batch "$OUT/m100k.hex" 2 2>&1 | grep -E "mica batch|Elapsed|Maximum resident|User time"
  if [ -n "${FASTGCD:-}" ]; then
    echo "== round $round: fastgcd, the same 100,000 moduli"
    work=$(mktemp -d /tmp/fastgcd-run.XXXXXX)
    (cd "$work" && /usr/bin/time -v "$FASTGCD" "$OUT/m100k.hex" 2>&1 |
      grep -E "run took|Elapsed|Maximum resident|User time")
    # fastgcd lists the moduli with a factor in common; the planted ones are 2 per pair.
    echo "fastgcd: $(wc -l < "$work/vulnerable_moduli") moduli with a shared factor" \
         "($(( $(wc -l < "$OUT/m100k.hex.planted") * 2 )) planted)"
    rm -rf "$work"
  fi
done
[ "${2:-}" = "--skip-1m" ] && exit 0
[ -s "$OUT/m1m.hex" ] || $B gen 1000000 1024 "$OUT/m1m.hex" 2 8
echo "== mica batch GCD, 1,000,000 moduli"
/usr/bin/time -v $B batch "$OUT/m1m.hex" 2 2>&1 | grep -E "mica batch|Elapsed|Maximum resident|User time"
