#!/usr/bin/env bash
# CPU per request of policy variants against the plain route, in one gateway process and one
# run (method: ../shared/bench/README.md): a cached RS256 JWT (issue target ≤ 1.10× plain),
# a local token bucket (≤ 1.05×), the exact Redis bucket (≤ 1.5×) and the leased Redis
# bucket (≤ 1.2×). Limits are sized so that they never refuse: the cost measured is the
# decision itself.
#
# usage: bench/policies.sh [ROUNDS]      needs: nginx haproxy wrk openssl, Redis on 127.0.0.1:6379
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
rounds=${1:-3}
work=${BENCH_DIR:-/tmp/portcullis-bench}
conf=$work/conf
mkdir -p "$work" "$conf"

for tool in nginx haproxy wrk; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx haproxy wrk; break; }
done
redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }

cargo build --release --locked -p portcullis --manifest-path "$root/Cargo.toml"
bin=$root/target/release/portcullis

cleanup() {
  [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null || true
  "$shared/peers.sh" stop || true
}
trap cleanup EXIT
"$shared/peers.sh" stop >/dev/null 2>&1 || true
"$shared/peers.sh" start

# A fresh RS256 key, its JWK, and a token valid for an hour.
openssl genrsa -out "$work/bench_rsa.pem" 2048 2>/dev/null
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
modulus_hex=$(openssl rsa -in "$work/bench_rsa.pem" -noout -modulus | cut -d= -f2)
n=$(printf '%s' "$modulus_hex" | xxd -r -p | b64url)
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT","kid":"bench"}' | b64url)
payload=$(printf '{"iss":"https://bench.portcullis.test","aud":"bench","sub":"user-1","tenant_id":"tenant-1","scope":"orders:read","iat":%d,"exp":%d}' "$now" "$((now + 3600))" | b64url)
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$work/bench_rsa.pem" | b64url)
token="$header.$payload.$signature"
cat > "$work/jwt.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA

cat > "$conf/policies.yaml" <<CONF
listeners:
  - name: bench
    address: 127.0.0.1:8080
admin:
  address: 127.0.0.1:9902
accessLog:
  path: $work/access-policies.log
redis:
  url: redis://127.0.0.1:6379
  keyPrefix: portcullis-bench-$$
authentication:
  jwt:
    issuers:
      - issuer: https://bench.portcullis.test
        audiences: [bench]
        algorithms: [RS256]
        jwks:
          keys:
            - { kty: RSA, kid: bench, alg: RS256, use: sig, n: "$n", e: AQAB }
rateLimits:
  local-unbounded:
    capacity: 1000000000
    refillPerSecond: 1000000000
    key: [routeName]
  redis-unbounded:
    capacity: 1000000000
    refillPerSecond: 1000000000
    key: [routeName]
    store: redis
    failureMode: failOpen
  leased-unbounded:
    capacity: 1000000000
    refillPerSecond: 1000000000
    key: [routeName]
    store: redisLeased
    leaseSize: 1000
    failureMode: failOpen
routes:
  - name: plain
    match: { pathPrefix: /plain }
    upstream: { service: origin }
    policies: { auth: none }
  - name: jwt
    match: { pathPrefix: /jwt }
    upstream: { service: origin }
    policies: { auth: required, authMethods: [jwt] }
  - name: local-limit
    match: { pathPrefix: /local }
    upstream: { service: origin }
    policies: { auth: none, rateLimit: local-unbounded }
  - name: redis-limit
    match: { pathPrefix: /redis }
    upstream: { service: origin }
    policies: { auth: none, rateLimit: redis-unbounded }
  - name: leased-limit
    match: { pathPrefix: /leased }
    upstream: { service: origin }
    policies: { auth: none, rateLimit: leased-unbounded }
services:
  origin:
    visibility: public
    endpoints: ["127.0.0.1:9001"]
CONF
"$bin" validate "$conf/policies.yaml"
PORTCULLIS_WORKER_THREADS=1 "$bin" serve --config "$conf/policies.yaml" 2>"$work/gateway-policies.err" &
gw_pid=$!
for _ in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:8080/plain 2>/dev/null && break; sleep 0.1; done
for path in plain local redis leased; do
  curl -fsS -o /dev/null "http://127.0.0.1:8080/$path" || { echo "/$path fails"; cat "$work/gateway-policies.err"; exit 1; }
done
curl -fsS -o /dev/null -H "Authorization: Bearer $token" http://127.0.0.1:8080/jwt \
  || { echo "/jwt fails"; cat "$work/gateway-policies.err"; exit 1; }

: > "$work/policies.txt"
for i in $(seq 1 "$rounds"); do
  echo "round $i"
  for variant in plain jwt local redis leased; do
    extra=""
    [ "$variant" = jwt ] && extra="-s $work/jwt.lua"
    line=$("$shared/cpu_per_request.py" --pid "$gw_pid" --url "http://127.0.0.1:8080/$variant" --wrk-args "$extra")
    echo "$variant $line" | tee -a "$work/policies.txt"
  done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo
plain_cpu=$(grep "^plain " "$work/policies.txt" | sed 's/.*cpu_us_per_req=\([0-9.]*\).*/\1/' | median)
printf '%-8s %10s %14s %8s\n' variant rps cpu_us_per_req ratio
for v in plain jwt local redis leased; do
  rps=$(grep "^$v " "$work/policies.txt" | sed 's/.*rps=\([0-9.]*\).*/\1/' | median)
  cpu=$(grep "^$v " "$work/policies.txt" | sed 's/.*cpu_us_per_req=\([0-9.]*\).*/\1/' | median)
  non2xx=$(grep "^$v " "$work/policies.txt" | sed 's/.*non2xx=\([0-9]*\).*/\1/' | sort -n | tail -1)
  printf '%-8s %10s %14s %8s   (max non-2xx in a round: %s)\n' "$v" "$rps" "$cpu" "$(echo "scale=2; $cpu / $plain_cpu" | bc)" "$non2xx"
done
