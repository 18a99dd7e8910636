#!/usr/bin/env bash
# TLS scanning benchmark (issue 3 item 8; docs/PERFORMANCE.md "Network discovery (TLS)").
#
# Part 1: nginx on 1,000 loopback endpoints (127.0.0.1-10 x ports 20000-20099; ports
# 20000-20049 ECDSA P-256, 20050-20099 RSA-2048; one distinct leaf per endpoint, chain
# leaf + CA, made with openssl at run time), then in the same run against the same
# endpoints: mica scan tls, nmap --script +ssl-cert, cfssl scan -scanner ChainExpiration,
# sslscan (certificate only, on a subset), openssl s_time -new (one connection at a time).
# Client CPU from /usr/bin/time, server CPU from the nginx workers' /proc/PID/stat.
#
# Part 2: 10,000 targets, 30 % tarpits (bench/tls_tarpit.cpp on 127.0.0.11-13), 70 % real
# nginx endpoints (a second nginx with 7,000 listeners), concurrency 1000, handshake
# timeout 3 s: wall time and peak RSS.
#
# Usage: bench/run_tls.sh   (knobs: BUILD=build/bench CONC=512 CFSSL_WORKERS=100 SSLSCAN_N=100
#                            NMAP_N=1000 STIME=10 SKIP_PART2=0)
# Loopback only: every address below is in 127.0.0.0/8. Everything lives in a temp
# directory under /tmp, removed at the end with the servers.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${BUILD:-$ROOT/build/bench}
MICA=${MICA:-$BUILD/mica}
CONC=${CONC:-512}
CFSSL_WORKERS=${CFSSL_WORKERS:-100}
SSLSCAN_N=${SSLSCAN_N:-100}
NMAP_N=${NMAP_N:-1000}
STIME=${STIME:-10}
SKIP_PART2=${SKIP_PART2:-0}
TICK=$(getconf CLK_TCK)
[ -x "$MICA" ] || { echo "no $MICA: build it (Release) first" >&2; exit 1; }
for t in nginx nmap cfssl sslscan openssl sqlite3 /usr/bin/time c++; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done

W=$(mktemp -d /tmp/mica-tls-bench.XXXXXX)
LOG=$W/results.txt
PIDS=()
cleanup() {
  for f in "$W"/nginx*/nginx.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
say() { echo "$*" | tee -a "$LOG"; }

say "# run_tls.sh $(date -u +%FT%TZ) commit $(git -C "$ROOT" rev-parse --short HEAD) mica=$MICA"
say "# machine: $(nproc) cpu, $(uname -r), $(openssl version), nginx $(nginx -v 2>&1 | sed 's/.*\///'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- certificates -------------------------------------------------------------------
cd "$W"
mkdir certs
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=mica bench CA" -days 30 -out ca.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out ec.key 2>/dev/null
openssl genrsa -out rsa.key 2048 2>/dev/null
openssl req -new -key ec.key -subj "/CN=x" -out ec.csr
openssl req -new -key rsa.key -subj "/CN=x" -out rsa.csr
t0=$(date +%s.%N)
n=0
for a in $(seq 1 10); do
  for p in $(seq 20000 20099); do
    k=ec; [ "$p" -ge 20050 ] && k=rsa
    printf 'subjectAltName=IP:127.0.0.%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$a" > ext.cnf
    openssl x509 -req -in $k.csr -CA ca.pem -CAkey ca.key -set_serial $((a * 100000 + p)) \
      -subj "/CN=127.0.0.$a port $p" -days 30 -extfile ext.cnf -out certs/$a-$p.pem 2>/dev/null
    cat ca.pem >> certs/$a-$p.pem
    echo "$a $p $k" >> endpoints.txt
    n=$((n + 1))
  done
done
say "# made $n leaf certificates in $(echo "$(date +%s.%N) - $t0" | bc) s"
awk '{print "127.0.0." $1 ":" $2}' endpoints.txt > targets.txt

# --- nginx --------------------------------------------------------------------------
# start_nginx DIR: DIR/servers.conf holds the server blocks.
start_nginx() {
  local d=$1
  cat > "$d/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 60000;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 30000; multi_accept on; }
http {
  access_log off;
  ssl_session_cache off;
  ssl_session_tickets off;
  ssl_protocols TLSv1.2 TLSv1.3;
  include $d/servers.conf;
}
EOF
  nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf"
  for _ in $(seq 50); do [ -s "$d/nginx.pid" ] && break; sleep 0.2; done
  sleep 1
}
workers() { pgrep -P "$(cat "$1/nginx.pid")"; }
# CPU seconds (user+sys) of the nginx workers in DIR.
server_cpu() {
  local t=0 p f
  for p in $(workers "$1"); do read -r -a f < "/proc/$p/stat"; t=$((t + f[13] + f[14])); done
  echo "scale=2; $t / $TICK" | bc
}

mkdir nginx1
while read -r a p k; do
  echo "server { listen 127.0.0.$a:$p ssl; ssl_certificate $W/certs/$a-$p.pem; ssl_certificate_key $W/$k.key; return 204; }"
done < endpoints.txt > nginx1/servers.conf
start_nginx "$W/nginx1"
say "# nginx 1: $(workers "$W/nginx1" | wc -l) workers, $(ss -ltn | grep -c ' 127\.0\.0\.[0-9]*:200[0-9][0-9] ') listeners"

# run NAME CMD...: wall/user/sys/RSS of CMD and the nginx workers' CPU meanwhile.
run() {
  local name=$1; shift
  local s0 s1
  s0=$(server_cpu "$W/nginx1")
  /usr/bin/time -f "%e %U %S %M" -o "time-$name.txt" "$@" > "out-$name.txt" 2> "err-$name.txt" || true
  s1=$(server_cpu "$W/nginx1")
  read -r wall usr sys rss < <(tail -1 "time-$name.txt")
  local srv; srv=$(echo "$s1 - $s0" | bc)
  say "RESULT tool=$name wall_s=$wall user_s=$usr sys_s=$sys peak_rss_kib=$rss server_cpu_s=$srv load=$(cut -d' ' -f1 /proc/loadavg)"
}

# --- part 1 -------------------------------------------------------------------------
say "## part 1: 1,000 endpoints"
# Warm-up, not timed: nginx's first handshake on each server block costs it about twice
# the CPU of later ones (measured: 1.47 s vs 0.70 s of worker CPU for 1,000 handshakes),
# which would be charged to whichever tool ran first.
"$MICA" --db "$W/warm.db" scan tls -q --targets-file targets.txt --concurrency "$CONC" \
  --retries 0 --ca-file ca.pem > /dev/null 2>&1 || true
run mica "$MICA" --db "$W/m.db" scan tls -q --targets-file targets.txt --concurrency "$CONC" \
  --retries 0 --ca-file ca.pem
cat err-mica.txt >> "$LOG"
say "# mica stored: endpoint_result=$(sqlite3 m.db 'select count(*) from endpoint_result') ok=$(sqlite3 m.db 'select count(*) from endpoint_result where ok=1') verified=$(sqlite3 m.db 'select count(*) from endpoint_result where verified=1') name_matches=$(sqlite3 m.db 'select count(*) from endpoint_result where name_matches=1') chain_len2=$(sqlite3 m.db 'select count(*) from endpoint_result where chain_len=2') identities=$(sqlite3 m.db "select count(*) from identity where kind='certificate'") sightings=$(sqlite3 m.db 'select count(*) from sighting') protocols=$(sqlite3 m.db "select group_concat(protocol||'/'||cipher||'='||n) from (select protocol, cipher, count(*) n from endpoint_result group by 1,2)")"
say "# expected: endpoint_result=1000 ok=1000 verified=1000 name_matches=1000 chain_len2=1000 identities=1001 (1000 leaves + CA) sightings=2000"
# The same scan without --ca-file: the bench CA is then a private CA, as most CAs inside a
# network are, and every chain is looked up in the system trust store and fails. This is
# the case OpenSSL 3.0's default verify paths made slow (docs/PERFORMANCE.md, "System
# trust without the directory scan").
run mica-private-ca "$MICA" --db "$W/m2.db" scan tls -q --targets-file targets.txt \
  --concurrency "$CONC" --retries 0
say "# mica-private-ca stored: ok=$(sqlite3 m2.db 'select count(*) from endpoint_result where ok=1') verified=$(sqlite3 m2.db 'select count(*) from endpoint_result where verified=1') errors=$(sqlite3 m2.db "select group_concat(verify_error||'='||n) from (select verify_error, count(*) n from endpoint_result group by 1)")"

head -n "$NMAP_N" targets.txt > nmap-targets.txt
NMAP_PORTS=$(cut -d: -f2 nmap-targets.txt | sort -un | paste -sd,)
NMAP_HOSTS=$(cut -d: -f1 nmap-targets.txt | sort -u | paste -sd' ')
# "+ssl-cert": run the script whatever the port's guessed service (these ports are not
# in nmap's list of likely-TLS ports, and -sV would add service probes).
run nmap nmap -Pn -n -p "$NMAP_PORTS" --script +ssl-cert $NMAP_HOSTS
say "# nmap: $NMAP_N endpoints, $(grep -c 'ssl-cert: Subject' out-nmap.txt) certificates printed"

run cfssl cfssl scan -scanner ChainExpiration -num-workers "$CFSSL_WORKERS" -max-hosts 1000 \
  -ca-bundle ca.pem -timeout 10s $(cat targets.txt)
say "# cfssl: $(grep -c 'ChainExpiration' out-cfssl.txt) ChainExpiration lines, $(grep -ci 'error' out-cfssl.txt) lines with 'error'"

head -n "$SSLSCAN_N" targets.txt > sslscan-targets.txt
run sslscan sslscan --no-colour --no-ciphersuites --no-renegotiation --no-compression \
  --no-heartbleed --no-groups --no-fallback --show-certificate --targets=sslscan-targets.txt
say "# sslscan: $SSLSCAN_N endpoints (one at a time; it also probes SSLv2..TLSv1.3 per endpoint, no flag turns that off), $(grep -c 'Testing SSL server' out-sslscan.txt) endpoints, $(grep -c 'Subject:' out-sslscan.txt) Subject lines (subject+issuer per endpoint)"

for port in 20000 20050; do
  run "s_time-$port" openssl s_time -connect "127.0.0.1:$port" -new -time "$STIME"
  say "# s_time $port: $(grep 'connections in' out-s_time-$port.txt | head -1)"
done
kill "$(cat nginx1/nginx.pid)"
sleep 1

[ "$SKIP_PART2" = 1 ] && exit 0

# --- part 2 -------------------------------------------------------------------------
say "## part 2: 10,000 targets, 30 % tarpits, concurrency 1000, handshake timeout 3 s"
c++ -O2 -o tls_tarpit "$HERE/tls_tarpit.cpp"
./tls_tarpit 127.0.0. 11 3 30000 1000 600 > tarpit.out &
PIDS+=($!)
mkdir nginx2
{
  for k in ec rsa; do
    echo "server {"
    [ $k = ec ] && ports=$(seq 21000 21349) || ports=$(seq 21350 21699)
    for a in $(seq 1 10); do for p in $ports; do echo "  listen 127.0.0.$a:$p ssl;"; done; done
    echo "  ssl_certificate $W/certs/1-$([ $k = ec ] && echo 20000 || echo 20050).pem;"
    echo "  ssl_certificate_key $W/$k.key; return 204; }"
  done
} > nginx2/servers.conf
start_nginx "$W/nginx2"
for _ in $(seq 50); do grep -q ready tarpit.out && break; sleep 0.2; done
say "# nginx 2: $(ss -ltn | grep -c ' 127\.0\.0\.[0-9]*:21[0-6][0-9][0-9] ') listeners; tarpit: $(head -1 tarpit.out)"
{
  for a in $(seq 1 10); do for p in $(seq 21000 21699); do echo "127.0.0.$a:$p"; done; done
  for a in 11 12 13; do for p in $(seq 30000 30999); do echo "127.0.0.$a:$p"; done; done
} | shuf --random-source=<(yes) > targets10k.txt
s0=$(server_cpu "$W/nginx2")
/usr/bin/time -f "%e %U %S %M" -o time-tarpit.txt "$MICA" --db "$W/t.db" scan tls -q \
  --targets-file targets10k.txt --concurrency 1000 --handshake-timeout 3s --connect-timeout 3s \
  --retries 0 --ca-file ca.pem > out-tarpit.txt 2> err-tarpit.txt || true
s1=$(server_cpu "$W/nginx2")
read -r wall usr sys rss < time-tarpit.txt
say "RESULT tool=mica-10k-tarpits wall_s=$wall user_s=$usr sys_s=$sys peak_rss_kib=$rss server_cpu_s=$(echo "$s1 - $s0" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
say "# stored: $(sqlite3 t.db "select c||'='||count(*) from (select coalesce(nullif(failure_class,''),'ok') c from endpoint_result) group by c" | paste -sd' ')"
say "# log kept in $LOG (copied to /tmp/mica-tls-bench-last.txt)"
cp "$LOG" /tmp/mica-tls-bench-last.txt
