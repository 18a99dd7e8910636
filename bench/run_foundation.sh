#!/usr/bin/env bash
# Foundation benchmarks in one run: certificate decoding (mica, OpenSSL, mbedTLS, Python
# cryptography) over one in-memory DER set, then `mica scan fs` over the corpus tree with
# a warm page cache against ripgrep as the I/O floor, and a check that the inventory holds
# exactly the certificates the generator wrote. docs/PERFORMANCE.md records the figures.
#
#   bench/run_foundation.sh [CORPUS_DIR]
#
# CORPUS_DIR (default /tmp/mica-bench/corpus-$N) is generated with bench/gen_corpus.py
# when it has no manifest.json. Environment:
#   N=100000         certificate files to generate (and as many other files)
#   PASSES=3         passes per bench_parse measurement
#   PY_PASSES=2      passes of the Python peer (it is ~50x slower)
#   THREADS=2        threads of the scaling run of bench_parse
#   BUILD=<repo>/build/bench   build directory (configured here when it has none)
# Results: everything is printed and kept in CORPUS_DIR/results-<time>.txt; the lines
# starting with RESULT are the machine-readable ones.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-100000}
PASSES=${PASSES:-3}
PY_PASSES=${PY_PASSES:-2}
THREADS=${THREADS:-2}
BUILD=${BUILD:-$REPO/build/bench}
OUT=$(realpath -m "${1:-/tmp/mica-bench/corpus-$N}")
PY=/usr/bin/python3  # Debian's python3-cryptography, not a pip one

case "$OUT/" in
  "$REPO"/*) echo "run_foundation: the corpus must live outside the repository ($OUT)" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
LOG="$OUT/results-$(date -u +%Y%m%dT%H%M%SZ).txt"
exec > >(tee "$LOG") 2>&1

section() { printf '\n== %s\n' "$*"; }

section "machine"
echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc:     $(nproc)"
echo "cpu:       $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:    $(uname -srm)"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other work on the box skews figures)"
echo "openssl:   $(openssl version)"
echo "mbedtls:   $(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || echo '?')"
echo "python:    $($PY -c 'import sys, cryptography; print(sys.version.split()[0], "cryptography", cryptography.__version__)')"
echo "compiler:  $(c++ --version | head -1)"
echo "ripgrep:   $(rg --version | head -1)"
COMMIT=$(git -C "$REPO" rev-parse --short HEAD)
DIRTY=$(git -C "$REPO" status --porcelain --untracked-files=no -- src bench | wc -l)
echo "commit:    $COMMIT$([ "$DIRTY" -gt 0 ] && echo " (+$DIRTY uncommitted changes in src/ bench/)")"

# What DecodeCertificate is in this tree: while src/x509/certificate.cpp forwards to the
# OpenSSL reference decoder, every mica_decode figure is the stand-in's, and says so.
DECODER=mica
if grep -q 'WithOpenSsl' "$REPO/src/x509/certificate.cpp" 2>/dev/null; then
  DECODER="stand-in:openssl-reference@$COMMIT"
fi
echo "decoder:   $DECODER"

section "build ($BUILD)"
if [ ! -f "$BUILD/build.ninja" ]; then
  # -Wno-error=restrict: GCC 12 at -O3 reports a false -Wrestrict in std::string's
  # operator+ (GCC bug 105329); it stays a warning.
  cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMICA_BUILD_BENCH=ON \
    -DMICA_BUILD_TESTS=OFF -DCMAKE_CXX_FLAGS=-Wno-error=restrict >/dev/null
fi
ninja -C "$BUILD" -j2 bench_parse
HAVE_MICA=1
if ! ninja -C "$BUILD" -j2 mica; then
  echo "run_foundation: the mica binary does not build at $COMMIT; the scan part is skipped"
  HAVE_MICA=0
fi

section "corpus ($OUT)"
if [ ! -f "$OUT/manifest.json" ]; then
  "$PY" "$REPO/bench/gen_corpus.py" -n "$N" --out "$OUT"
fi
manifest() { "$PY" -c "import json,sys; print(json.load(open('$OUT/manifest.json'))['$1'])"; }
EXPECTED=$(manifest distinct_certificates)
echo "files: $(manifest files) in $(manifest directories) directories, $(manifest bytes) bytes;" \
  "certificate files: $(manifest cert_files) ($(manifest pem_files) PEM, $(manifest der_files) DER," \
  "$(manifest chain_files) chains); distinct certificates: $EXPECTED; seed $(manifest seed), now $(manifest now)"

section "parse: one DER set in memory, $PASSES passes each"
"$BUILD/bench_parse" --passes "$PASSES" --threads "$THREADS" --decoder-label "$DECODER" \
  --dump-der "$OUT/certs.der" "$OUT" | tee "$OUT/parse.txt"

section "parse: Python cryptography peer, same DER set"
"$PY" "$REPO/bench/peer_cryptography.py" --passes "$PY_PASSES" "$OUT/certs.der" | tee "$OUT/peer.txt"

section "filesystem scan, warm cache"
TREE="$OUT/tree"
# Reads every file: the I/O floor. Run twice first to warm the page cache.
rg -l 'BEGIN CERTIFICATE' "$TREE" | wc -l >/dev/null
rg -l 'BEGIN CERTIFICATE' "$TREE" | wc -l >/dev/null

# Runs a command under /usr/bin/time -v; prints and emits wall seconds and peak RSS.
timed() {
  local name=$1; shift
  local tv="$OUT/time-$name.txt"
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tv" "$@"
  t1=$(date +%s.%N)
  WALL=$(printf "%.3f" "$(echo "$t1 - $t0" | bc)")
  RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
  printf '%s: wall %.2f s, peak RSS %d KiB (%s)\n' "$name" "$WALL" "$RSS" \
    "$(grep -E 'Percent of CPU' "$tv" | sed 's/^\s*//')"
}

timed rg sh -c "rg -l 'BEGIN CERTIFICATE' '$TREE' > '$OUT/rg.txt'"
RG_WALL=$WALL RG_RSS=$RSS
RG_FILES=$(wc -l <"$OUT/rg.txt")
echo "rg found $RG_FILES files with 'BEGIN CERTIFICATE' (PEM certificate files: $(manifest pem_files))"
echo "RESULT variant=rg_files_with_pem threads=default wall_s=$RG_WALL max_rss_kb=$RG_RSS files=$RG_FILES" |
  tee "$OUT/scan.txt"

if [ "$HAVE_MICA" = 1 ] && ! "$BUILD/mica" scan fs --help >/dev/null 2>&1; then
  echo "run_foundation: this mica has no 'scan fs' command yet; the scan part is skipped"
  HAVE_MICA=0
fi
STATUS=0
if [ "$HAVE_MICA" = 1 ]; then
  for run in 1 2; do
    DB="$OUT/fresh.db"
    rm -f "$DB" "$DB-wal" "$DB-shm"
    timed "mica_scan_$run" "$BUILD/mica" scan fs "$TREE" --db "$DB"
    GOT=$(sqlite3 "$DB" "select count(*) from identity where kind='certificate'")
    OK=yes
    [ "$GOT" = "$EXPECTED" ] || { OK=no; STATUS=1; }
    echo "certificates in the inventory: $GOT, generated: $EXPECTED -> $([ $OK = yes ] && echo OK || echo MISMATCH)"
    echo "RESULT variant=mica_scan_fs run=$run threads=default wall_s=$WALL max_rss_kb=$RSS" \
      "files=$(manifest files) certificates=$GOT expected=$EXPECTED ok=$OK decoder=$DECODER" |
      tee -a "$OUT/scan.txt"
  done
fi

section "summary"
cat "$OUT/parse.txt" "$OUT/peer.txt" "$OUT/scan.txt" | grep '^RESULT' || true
echo "log: $LOG"
exit $STATUS
