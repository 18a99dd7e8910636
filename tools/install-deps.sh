#!/bin/bash
# Installs the Debian 12 packages a make target needs, only those that are missing.
# Usage: tools/install-deps.sh build|test|bench|fuzz ...  (idempotent; needs root or sudo)
set -euo pipefail

build=(build-essential cmake ninja-build ccache pkg-config libssl-dev libsqlite3-dev libgmp-dev
       libcli11-dev libfmt-dev libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev
       libexpected-dev libgtest-dev libgmock-dev ca-certificates
       libmaxminddb-dev libcurl4-openssl-dev libgoogle-perftools-dev)
# Tools the tests use to make fixtures at test time, and sqlite3 to tamper with a
# database from a test; mbedTLS because the test build also compiles bench/ (Makefile).
test=(openssl openssh-client putty-tools default-jdk-headless sqlite3 procps nginx libmbedtls-dev)
bench=(libbenchmark-dev python3 python3-cryptography ripgrep libmbedtls-dev hyperfine time nginx nmap sslscan golang-cfssl)
fuzz=(clang libclang-rt-14-dev)

want=()
for set in "$@"; do
  case "$set" in
    build) want+=("${build[@]}") ;;
    test) want+=("${build[@]}" "${test[@]}") ;;
    bench) want+=("${build[@]}" "${bench[@]}") ;;
    fuzz) want+=("${build[@]}" "${fuzz[@]}") ;;
    *) echo "install-deps: unknown set '$set' (build, test, bench, fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
