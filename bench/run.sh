#!/usr/bin/env bash
# CPU per request of Portcullis against nginx and HAProxy in the same run, plus idle RSS with
# 10,000 routes loaded. Method: ../shared/bench/README.md (wrk -t1 -c32, 1 KiB upstream,
# one worker per proxy, medians of interleaved rounds).
#
# usage: bench/run.sh [ROUNDS]        (default 5 rounds of 5 s each per proxy)
# needs: nginx haproxy wrk (installed here from Debian's packages when missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
rounds=${1:-5}
work=${BENCH_DIR:-/tmp/portcullis-bench}
# Configs live apart from the access log: the config watcher watches its file's directory,
# and every log write there would wake it.
conf=$work/conf
mkdir -p "$work" "$conf"

for tool in nginx haproxy wrk; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx haproxy wrk; break; }
done

cargo build --release --locked -p portcullis --manifest-path "$root/Cargo.toml"
bin=$root/target/release/portcullis

cleanup() {
  [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null || true
  [ -n "${rss_pid:-}" ] && kill "$rss_pid" 2>/dev/null || true
  "$shared/peers.sh" stop || true
}
trap cleanup EXIT
"$shared/peers.sh" stop >/dev/null 2>&1 || true
"$shared/peers.sh" start

# The plain route: metrics on (always) and the access log on, to a file.
cat > "$conf/plain.yaml" <<CONF
listeners:
  - name: bench
    address: 127.0.0.1:8080
admin:
  address: 127.0.0.1:9902
accessLog:
  path: $work/access.log
routes:
  - name: plain
    match: { pathPrefix: / }
    upstream: { service: origin }
    policies: { auth: none }
services:
  origin:
    visibility: public
    endpoints: ["127.0.0.1:9001"]
CONF
rm -f "$work/access.log"
PORTCULLIS_WORKER_THREADS=1 "$bin" serve --config "$conf/plain.yaml" 2>"$work/gateway.err" &
gw_pid=$!
for _ in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null http://127.0.0.1:8080/ || { cat "$work/gateway.err"; exit 1; }

nginx_pid=$(cat /tmp/portcullis-peers/nginx.pid)
haproxy_pid=$(cat /tmp/portcullis-peers/haproxy.pid)
: > "$work/results.txt"
for i in $(seq 1 "$rounds"); do
  echo "round $i"
  for pair in "nginx $nginx_pid http://127.0.0.1:8081/" "haproxy $haproxy_pid http://127.0.0.1:8082/" \
              "portcullis $gw_pid http://127.0.0.1:8080/"; do
    set -- $pair
    line=$("$shared/cpu_per_request.py" --pid "$2" --url "$3")
    echo "$1 $line" | tee -a "$work/results.txt"
  done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo
printf '%-11s %10s %14s\n' proxy rps cpu_us_per_req
for p in nginx haproxy portcullis; do
  rps=$(grep "^$p " "$work/results.txt" | sed 's/.*rps=\([0-9.]*\).*/\1/' | median)
  cpu=$(grep "^$p " "$work/results.txt" | sed 's/.*cpu_us_per_req=\([0-9.]*\).*/\1/' | median)
  printf '%-11s %10s %14s\n' "$p" "$rps" "$cpu"
done
echo "access log lines written: $(wc -l < "$work/access.log")"
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true; gw_pid=

# Idle RSS with 10,000 routes loaded.
python3 - "$conf/routes10k.yaml" <<'PY'
import sys
out = ["listeners:", "  - name: bench", "    address: 127.0.0.1:8090",
       "admin:", "  address: 127.0.0.1:9903", "accessLog:", "  enabled: false", "routes:"]
for i in range(10000):
    out += [f"  - name: route-{i}",
            f"    match: {{ host: tenant{i % 100}.example.com, pathPrefix: /v1/svc{i // 100}/items{i} }}",
            "    upstream: { service: origin }",
            "    policies: { auth: none, timeoutMs: 1500 }"]
out += ["services:", "  origin:", "    visibility: public", "    endpoints: [\"127.0.0.1:9001\"]"]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
start=$(date +%s.%N)
PORTCULLIS_WORKER_THREADS=1 "$bin" serve --config "$conf/routes10k.yaml" 2>"$work/gateway10k.err" &
rss_pid=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null http://127.0.0.1:9903/readyz 2>/dev/null && break; sleep 0.1; done
ready=$(date +%s.%N)
sleep 2
echo "10,000 routes: ready after $(echo "$ready - $start" | bc) s; idle $(grep VmRSS /proc/$rss_pid/status)"
