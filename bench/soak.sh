#!/usr/bin/env bash
# Soak: MINUTES of mixed load (plain GET, JWT GET, Redis-limited GET, 4 KiB POST) at a fixed
# rate while the configuration file is swapped for another valid one every second.
# Passes when no request failed, every swap was installed (none refused) and RSS after
# warm-up (the first fifth of the run, at most 5 minutes) stays within 10% of its lowest sample.
#
# usage: bench/soak.sh [MINUTES]        (default 30)   env: RATE (default 300 req/s),
#        REDIS_TIMEOUT_MS (default 250),
#        PORTCULLIS_BIN (default: cargo build --release), SOAK_DIR (default /tmp/portcullis-soak)
# needs: python3, openssl, Redis on 127.0.0.1:6379
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-30}
rate=${RATE:-300}
work=${SOAK_DIR:-/tmp/portcullis-soak}
conf=$work/conf # the watched directory holds only the configuration
rm -rf "$work" && mkdir -p "$conf"
source "$root/bench/lib/common.sh"
redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }
bin=$(portcullis_binary)

origin_port=19101 gateway_port=19180 admin=127.0.0.1:19190
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

python3 "$root/bench/lib/origin.py" "$origin_port" &
pids+=($!)
make_jwt "$work" $((minutes * 60 + 3600))

# Two valid configurations that differ in what a swap really rebuilds: a route, a limit's
# shape and the default timeout. Variant A has /extra, variant B does not (no load goes there).
write_config() {
  local variant=$1 out=$2 capacity timeout extra=""
  if [ "$variant" = a ]; then capacity=1000000000 timeout=15000
    extra="  - name: extra
    match: { pathPrefix: /extra }
    upstream: { service: origin }
    policies: { auth: none }"
  else capacity=999999999 timeout=14000; fi
  cat > "$out" <<CONF
listeners:
  - name: soak
    address: 127.0.0.1:$gateway_port
admin:
  address: $admin
accessLog:
  path: $work/access.log
defaults:
  timeoutMs: $timeout
redis:
  url: redis://127.0.0.1:6379
  keyPrefix: portcullis-soak-$$
  # The default 10 ms deadline is for a dedicated host; this run shares two cores with the
  # load generator and whatever else the machine does, and failClosed turns every missed
  # deadline into a refused request. REDIS_TIMEOUT_MS=10 soaks with the default.
  timeoutMs: ${REDIS_TIMEOUT_MS:-250}
$(jwt_issuer_yaml)
rateLimits:
  shared:
    capacity: $capacity
    refillPerSecond: 1000000000
    key: [routeName]
    store: redis
    failureMode: failClosed
routes:
  - name: plain
    match: { pathPrefix: /plain }
    upstream: { service: origin }
    policies: { auth: none }
  - name: jwt
    match: { pathPrefix: /jwt }
    upstream: { service: origin }
    policies: { auth: required, authMethods: [jwt] }
  - name: redis-limited
    match: { pathPrefix: /redis }
    upstream: { service: origin }
    policies: { auth: none, rateLimit: shared }
  - name: upload
    match: { pathPrefix: /upload, methods: [POST] }
    upstream: { service: origin }
    policies: { auth: none }
$extra
services:
  origin:
    visibility: public
    endpoints: ["127.0.0.1:$origin_port"]
CONF
}
write_config a "$work/a.yaml"
write_config b "$work/b.yaml"
"$bin" validate "$work/a.yaml" >/dev/null
"$bin" validate "$work/b.yaml" >/dev/null
cp "$work/a.yaml" "$conf/gateway.yaml"

"$bin" serve --config "$conf/gateway.yaml" 2>"$work/gateway.err" &
gateway_pid=$!
pids+=("$gateway_pid")
wait_http "http://127.0.0.1:$gateway_port/plain"
wait_http "http://127.0.0.1:$gateway_port/redis/x"
loads_before=$(metric "$admin" 'portcullis_config_loads_total{result="success"}')

cat > "$work/mix.json" <<JSON
[
 {"name": "plain", "method": "GET", "path": "/plain"},
 {"name": "jwt", "method": "GET", "path": "/jwt/orders", "headers": {"Authorization": "Bearer $token"}},
 {"name": "redis", "method": "GET", "path": "/redis/x"},
 {"name": "post", "method": "POST", "path": "/upload", "headers": {"Content-Type": "application/octet-stream"}, "body_bytes": 4096}
]
JSON

duration=$((minutes * 60))
python3 "$root/bench/lib/loadgen.py" --target "127.0.0.1:$gateway_port" --rate "$rate" \
  --duration "$duration" --connections 8 --mix "$work/mix.json" \
  --timeline "$work/timeline.jsonl" --summary "$work/summary.json" >/dev/null &
load_pid=$!

# A swap every second (write aside, rename over: the watcher sees one complete file), and an
# RSS sample every 5 s.
swaps=0
start=$(date +%s)
: > "$work/rss.tsv"
while kill -0 "$load_pid" 2>/dev/null; do
  variant=$([ $((swaps % 2)) -eq 0 ] && echo b || echo a)
  cp "$work/$variant.yaml" "$conf/.next.yaml" && mv "$conf/.next.yaml" "$conf/gateway.yaml"
  swaps=$((swaps + 1))
  elapsed=$(( $(date +%s) - start ))
  if [ $((swaps % 5)) -eq 0 ]; then printf '%s\t%s\n' "$elapsed" "$(rss_kib "$gateway_pid")" >> "$work/rss.tsv"; fi
  sleep 1
done
wait "$load_pid" || true
sleep 2 # the last swap's reload

loads_after=$(metric "$admin" 'portcullis_config_loads_total{result="success"}')
refused=$(metric "$admin" 'portcullis_config_loads_total{result="failure"}')
kill -0 "$gateway_pid" || { echo "FAIL: the gateway died"; tail -20 "$work/gateway.err"; exit 1; }

warmup=$(( duration / 5 < 300 ? duration / 5 : 300 ))
read -r rss_min rss_max rss_first rss_last samples < <(awk -v w="$warmup" '$1 >= w {
    if (n == 0) {min = $2; max = $2; first = $2}
    if ($2 < min) min = $2; if ($2 > max) max = $2; last = $2; n++ }
  END {print min, max, first, last, n}' "$work/rss.tsv")
growth=$(awk -v a="$rss_min" -v b="$rss_max" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$work/summary.json")
failed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$work/summary.json")

echo
echo "soak: $minutes min at $rate req/s, mixed plain/JWT/Redis-limited/POST 4 KiB"
echo "requests: $requests, failed: $failed"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("outcomes:", s["outcomes"]); print("p50 ms:", s["p50_ms"]); print("p99 ms:", s["p99_ms"]); [print("failure:", f) for f in s["first_failures"]]' "$work/summary.json"
echo "config swaps written: $swaps, installed: $((${loads_after%.*} - ${loads_before%.*})), refused: $refused"
echo "RSS after ${warmup}s warm-up ($samples samples): first ${rss_first} KiB, min ${rss_min}, max ${rss_max}, last ${rss_last}: spread ${growth}%"
verdict=PASS
[ "$failed" -eq 0 ] || verdict=FAIL
[ "${refused%.*}" -eq 0 ] || verdict=FAIL
awk -v g="$growth" 'BEGIN {exit !(g <= 10)}' || verdict=FAIL
echo "soak: $verdict"
[ "$verdict" = PASS ]
