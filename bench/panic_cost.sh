#!/usr/bin/env bash
# What `panic = "unwind"` costs against `panic = "abort"`: instructions per proxied request,
# counted by callgrind (repeatable whatever else the machine does), and binary size.
#
# usage: bench/panic_cost.sh UNWIND_BINARY ABORT_BINARY
#   build the second with: CARGO_PROFILE_RELEASE_PANIC=abort CARGO_TARGET_DIR=/tmp/abort \
#                          cargo build --release -p portcullis
# Per request = (Ir after 2,500 requests − Ir after 500) / 2,000, so start-up and shutdown
# cancel out. One worker thread, one keep-alive client connection, plain route, 1 KiB answer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
unwind=${1:?unwind binary}
abort=${2:?abort binary}
work=${BENCH_DIR:-/tmp/portcullis-panic-cost}
mkdir -p "$work"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }

upstream_port=19071
gateway_port=19080
python3 "$root/bench/lib/fixed_upstream.py" "$upstream_port" &
upstream_pid=$!
trap 'kill "$upstream_pid" 2>/dev/null || true' EXIT

cat > "$work/plain.yaml" <<CONF
listeners:
  - name: bench
    address: 127.0.0.1:$gateway_port
routes:
  - name: plain
    match: { pathPrefix: / }
    upstream: { service: origin }
    policies: { auth: none }
services:
  origin:
    visibility: public
    endpoints: ["127.0.0.1:$upstream_port"]
CONF

# Total instructions of one gateway run that serves $2 requests.
instructions() {
  local binary=$1 requests=$2 out=$work/callgrind.out
  rm -f "$out"
  PORTCULLIS_WORKER_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$binary" serve --config "$work/plain.yaml" >"$work/gateway.out" 2>"$work/gateway.err" &
  local pid=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null -H 'Host: bench.test' "http://127.0.0.1:$gateway_port/" 2>/dev/null && break
    sleep 0.1
  done
  python3 "$root/bench/lib/keepalive_client.py" 127.0.0.1 "$gateway_port" "$requests"
  kill -INT "$pid"
  wait "$pid" || true
  grep -m1 '^summary:' "$out" | awk '{print $2}'
}

printf '%-8s %14s %14s %18s %12s\n' panic "Ir(500)" "Ir(2500)" "Ir per request" "size (bytes)"
for variant in unwind abort; do
  binary=${!variant}
  small=$(instructions "$binary" 500)
  large=$(instructions "$binary" 2500)
  per_request=$(( (large - small) / 2000 ))
  printf '%-8s %14s %14s %18s %12s\n' "$variant" "$small" "$large" "$per_request" "$(stat -c %s "$binary")"
done
