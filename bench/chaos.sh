#!/usr/bin/env bash
# Chaos: four faults, each with what the client must see.
#   upstream-kill     the upstream is SIGKILLed mid-response: the client sees a broken response
#                     (no final chunk, or the connection closed before Content-Length), never a
#                     clean short one; over HTTP/1.1 and HTTP/2, Content-Length and chunked.
#   redis-restart     a private Redis is shut down under load and started again: each failure
#                     mode holds during the outage (failOpen admits, failClosed answers 503,
#                     localFallback decides locally), then decisions return to Redis.
#   sigkill-haproxy   two gateways behind HAProxy; one is SIGKILLed and restarted under load:
#                     the client sees 0 failed requests.
#   config-unreadable the gateway runs as `nobody`; its configuration directory is made
#                     unreadable and a reload asked for: the old configuration keeps serving,
#                     the refusal is logged and counted, and a later reload succeeds.
#
# usage: bench/chaos.sh [SCENARIO...]   (default: all four, in that order)
#        env: PORTCULLIS_BIN (default: cargo build --release), CHAOS_DIR (/tmp/portcullis-chaos)
# needs: python3, curl (HTTP/2), haproxy, redis-server, openssl, runuser; installs haproxy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${CHAOS_DIR:-/tmp/portcullis-chaos}
rm -rf "$work" && mkdir -p "$work" && chmod 755 "$work"
source "$root/bench/lib/common.sh"
command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy; }
bin=$(portcullis_binary)
# A copy `nobody` can execute (the checkout may sit under a directory it cannot enter).
install -m 755 "$bin" "$work/portcullis" && cmp -s "$bin" "$work/portcullis"
bin=$work/portcullis

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
failures=0
verdict() { # verdict NAME CONDITION-STATUS DETAIL
  if [ "$2" -eq 0 ]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; failures=$((failures + 1)); fi
}
load() { # load PORT RATE SECONDS MIX OUT-PREFIX
  python3 "$root/bench/lib/loadgen.py" --target "127.0.0.1:$1" --rate "$2" --duration "$3" \
    --connections 8 --mix "$4" --timeline "$5.timeline" --summary "$5.summary" >/dev/null
}
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

gateway_config() { # gateway_config PORT ADMIN ORIGIN-PORT [EXTRA-TOP-LEVEL-YAML] [EXTRA-ROUTES-YAML]
  cat <<CONF
listeners:
  - name: chaos
    address: 127.0.0.1:$1
admin:
  address: $2
accessLog:
  enabled: false
${4:-}
routes:
  - name: plain
    match: { pathPrefix: / }
    upstream: { service: origin }
    policies: { auth: none }
${5:-}
services:
  origin:
    visibility: public
    endpoints: ["127.0.0.1:$3"]
CONF
}

# --- 1. upstream killed mid-response ------------------------------------------------------
scenario_upstream_kill() {
  echo "== upstream-kill"
  local origin_port=19201 port=19280 admin=127.0.0.1:19290 dir=$work/upstream-kill
  mkdir -p "$dir"
  gateway_config "$port" "$admin" "$origin_port" > "$dir/gateway.yaml"
  "$bin" serve --config "$dir/gateway.yaml" 2>"$dir/gateway.err" &
  local gateway=$!
  pids+=("$gateway")
  for path in half-length half-chunked; do
    for protocol in http1.1 http2-prior-knowledge; do
      rm -f "$dir/marker"
      python3 "$root/bench/lib/origin.py" "$origin_port" --marker "$dir/marker" &
      local origin=$!
      pids+=("$origin")
      wait_http "http://127.0.0.1:$port/warm"
      curl -sS --"$protocol" -o "$dir/body" -w '%{http_code} %{size_download}\n' \
        "http://127.0.0.1:$port/$path" > "$dir/curl.out" 2> "$dir/curl.err" &
      local client=$!
      for _ in $(seq 1 100); do [ -s "$dir/marker" ] && break; sleep 0.1; done
      kill -9 "$origin"
      local code=0
      wait "$client" || code=$?
      local got
      got=$(stat -c %s "$dir/body" 2>/dev/null || echo 0)
      # Broken = curl reports an error (18 partial file, 56 receive failure, 92 HTTP/2 stream
      # error) and fewer bytes than the upstream announced or a missing final chunk.
      [ "$code" -ne 0 ] && [ "$got" -lt 1048576 ]
      verdict "upstream-kill $path over $protocol" $? \
        "curl exit $code ($(tr -d '\n' < "$dir/curl.err" | cut -c1-90)), $got bytes received"
    done
  done
  curl -fsS "http://$admin/metrics" | grep -E '^portcullis_(upstream|requests)_[a-z_]*total' | grep -v ' 0$' | head -8 || true
  kill "$gateway"
}

# --- 2. Redis restarted under load -------------------------------------------------------
scenario_redis_restart() {
  echo "== redis-restart"
  local origin_port=19202 port=19281 admin=127.0.0.1:19291 redis_port=16390 dir=$work/redis
  mkdir -p "$dir"
  redis_start() {
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
    for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
    return 1
  }
  redis_start
  python3 "$root/bench/lib/origin.py" "$origin_port" &
  pids+=($!)
  local limits="redis:
  url: redis://127.0.0.1:$redis_port
  # A deadline a loaded two-core machine meets (as in soak.sh): what is tested here is the
  # outage, not a missed deadline. REDIS_TIMEOUT_MS=10 runs with the default.
  timeoutMs: ${REDIS_TIMEOUT_MS:-250}
rateLimits:
  open:   { capacity: 1000000000, refillPerSecond: 1000000000, key: [routeName], store: redis, failureMode: failOpen }
  closed: { capacity: 1000000000, refillPerSecond: 1000000000, key: [routeName], store: redis, failureMode: failClosed }
  local:  { capacity: 1000000000, refillPerSecond: 1000000000, key: [routeName], store: redis, failureMode: localFallback }"
  local routes=""
  for mode in open closed local; do
    routes+="  - name: fail-$mode
    match: { pathPrefix: /$mode }
    upstream: { service: origin }
    policies: { auth: none, rateLimit: $mode }
"
  done
  gateway_config "$port" "$admin" "$origin_port" "$limits" "$routes" > "$dir/gateway.yaml"
  "$bin" serve --config "$dir/gateway.yaml" 2>"$dir/gateway.err" &
  local gateway=$!
  pids+=("$gateway")
  wait_http "http://127.0.0.1:$port/closed"
  cat > "$dir/mix.json" <<JSON
[{"name": "open", "path": "/open"}, {"name": "closed", "path": "/closed"}, {"name": "local", "path": "/local"}]
JSON
  load "$port" 150 24 "$dir/mix.json" "$dir/load" &
  local loader=$!
  sleep 6
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  local down_at
  down_at=$(date +%s.%N)
  sleep 6
  redis_start
  local up_at
  up_at=$(date +%s.%N)
  # Decisions are back in Redis once its command count grows with the load and the gateway's
  # fallback counter stands still.
  local commands_before fallbacks_then
  commands_before=$(redis-cli -p "$redis_port" info stats | awk -F: '/^total_commands_processed/ {print $2+0}')
  sleep 2
  fallbacks_then=$(metric "$admin" portcullis_rate_limit_fallback_total)
  wait "$loader" || true
  local commands_after fallbacks_end breaker
  commands_after=$(redis-cli -p "$redis_port" info stats | awk -F: '/^total_commands_processed/ {print $2+0}')
  fallbacks_end=$(metric "$admin" portcullis_rate_limit_fallback_total)
  breaker=$(metric "$admin" portcullis_rate_limit_breaker_state)
  # Per mode: outcomes before the outage, during it, and after it, by the load's own seconds:
  # the second in which Redis went down and the one in which it came back count as outage.
  local down up load_start
  load_start=$(json "$dir/load.summary" '["start_epoch"]')
  down=$(awk -v a="$load_start" -v b="$down_at" 'BEGIN {print int(b - a)}')
  up=$(awk -v a="$load_start" -v b="$up_at" 'BEGIN {print int(b - a) + 1}')
  python3 - "$dir/load.timeline" "$down" "$up" > "$dir/phases.txt" <<'PY'
import json, sys
from collections import Counter
path, down, up = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
phases = {}
for line in open(path):
    row = json.loads(line)
    phase = "before" if row["second"] < down else ("outage" if row["second"] < up else "after")
    for key, count in row["counts"].items():
        kind, outcome = key.split(" ", 1)
        phases.setdefault((kind, phase), Counter())[outcome] += count
for kind in ("open", "closed", "local"):
    print(kind, " ".join("%s=%s" % (p, dict(phases.get((kind, p), {}))) for p in ("before", "outage", "after")))
PY
  cat "$dir/phases.txt"
  local open_line closed_line local_line
  open_line=$(grep '^open ' "$dir/phases.txt"); closed_line=$(grep '^closed ' "$dir/phases.txt"); local_line=$(grep '^local ' "$dir/phases.txt")
  ! grep -q "fail" <<< "$open_line"
  verdict "redis-restart failOpen admits throughout" $? "$open_line"
  ! grep -q "fail" <<< "$local_line"
  verdict "redis-restart localFallback admits locally throughout" $? "$local_line"
  grep -q "outage={[^}]*'fail:503'" <<< "$closed_line" && ! grep -q "after={[^}]*fail" <<< "$closed_line" \
    && ! grep -q "before={[^}]*fail" <<< "$closed_line"
  verdict "redis-restart failClosed refuses during the outage only" $? "$closed_line"
  [ "$commands_after" -gt $((commands_before + 100)) ] && [ "${fallbacks_end%.*}" -eq "${fallbacks_then%.*}" ] && [ "${breaker%.*}" -eq 0 ]
  verdict "redis-restart decisions return to Redis" $? \
    "Redis commands during the last 10 s: $((commands_after - commands_before)); fallback decisions 2 s after restart: $fallbacks_then, at the end: $fallbacks_end; breaker state $breaker"
  kill "$gateway"
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
}

# --- 3. SIGKILL behind HAProxy -----------------------------------------------------------
scenario_sigkill_haproxy() {
  echo "== sigkill-haproxy"
  local origin_port=19203 front=19300 dir=$work/haproxy
  mkdir -p "$dir"
  python3 "$root/bench/lib/origin.py" "$origin_port" &
  pids+=($!)
  declare -A gateway_pid
  start_gateway() { # start_gateway INDEX
    local port=$((19310 + $1)) admin=127.0.0.1:$((19390 + $1))
    gateway_config "$port" "$admin" "$origin_port" > "$dir/gateway-$1.yaml"
    "$bin" serve --config "$dir/gateway-$1.yaml" 2>>"$dir/gateway-$1.err" &
    gateway_pid[$1]=$!
    pids+=($!)
    wait_http "http://127.0.0.1:$port/ready-check"
  }
  start_gateway 1
  start_gateway 2
  cat > "$dir/haproxy.cfg" <<CONF
global
  nbthread 1
  daemon
  pidfile $dir/haproxy.pid
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 5s
  option http-keep-alive
  retries 3
  option redispatch 1
  # A killed instance shows as a refused or reset connection or an empty answer: retry those
  # (every request of this load is a GET, safe to send twice) on the other instance.
  retry-on conn-failure empty-response response-timeout
frontend fe
  bind 127.0.0.1:$front
  default_backend gateways
backend gateways
  balance roundrobin
  option httpchk GET /health-check
  default-server inter 200ms fall 2 rise 2 observe layer7 error-limit 1 on-error mark-down
  server g1 127.0.0.1:19311 check
  server g2 127.0.0.1:19312 check
CONF
  haproxy -f "$dir/haproxy.cfg"
  wait_http "http://127.0.0.1:$front/through-haproxy"
  echo '[{"name": "get", "path": "/item"}]' > "$dir/mix.json"
  load "$front" 300 20 "$dir/mix.json" "$dir/load" &
  local loader=$!
  sleep 4
  kill -9 "${gateway_pid[1]}"; echo "SIGKILL gateway 1 at 4 s"
  sleep 3
  start_gateway 1; echo "gateway 1 back at ~7 s"
  sleep 4
  kill -9 "${gateway_pid[2]}"; echo "SIGKILL gateway 2 at ~11 s"
  sleep 3
  start_gateway 2; echo "gateway 2 back at ~14 s"
  wait "$loader" || true
  kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
  local requests failed
  requests=$(json "$dir/load.summary" '["requests"]')
  failed=$(json "$dir/load.summary" '["failed"]')
  [ "$failed" -eq 0 ]
  verdict "sigkill-haproxy 0 failed requests" $? "$requests requests at 300/s over 20 s, $failed failed; outcomes $(json "$dir/load.summary" '["outcomes"]'), p99 $(json "$dir/load.summary" '["p99_ms"]') ms"
  kill "${gateway_pid[1]}" "${gateway_pid[2]}" 2>/dev/null || true
}

# --- 4. configuration directory made unreadable ------------------------------------------
scenario_config_unreadable() {
  echo "== config-unreadable"
  local origin_port=19204 port=19282 admin=127.0.0.1:19292 dir=$work/unreadable
  mkdir -p "$dir/conf"
  python3 "$root/bench/lib/origin.py" "$origin_port" &
  pids+=($!)
  gateway_config "$port" "$admin" "$origin_port" > "$dir/conf/gateway.yaml"
  chown -R nobody "$dir/conf" && chmod 755 "$dir" && touch "$dir/gateway.err" && chown nobody "$dir/gateway.err"
  runuser -u nobody -- "$bin" serve --config "$dir/conf/gateway.yaml" 2>>"$dir/gateway.err" &
  local gateway=$!
  pids+=("$gateway")
  wait_http "http://127.0.0.1:$port/before"
  local serving_pid
  serving_pid=$(pgrep -u nobody -f "$dir/conf/gateway.yaml" | head -1)
  echo '[{"name": "get", "path": "/item"}]' > "$dir/mix.json"
  load "$port" 100 12 "$dir/mix.json" "$dir/load" &
  local loader=$!
  local refused_before
  refused_before=$(metric "$admin" 'portcullis_config_loads_total{result="failure"}')
  sleep 2
  chmod 000 "$dir/conf"
  kill -HUP "$serving_pid"
  local refused_after=$refused_before
  for _ in $(seq 1 50); do
    refused_after=$(metric "$admin" 'portcullis_config_loads_total{result="failure"}')
    [ "${refused_after%.*}" -gt "${refused_before%.*}" ] && break
    sleep 0.1
  done
  sleep 4
  chmod 755 "$dir/conf"
  local loaded_before
  loaded_before=$(metric "$admin" 'portcullis_config_loads_total{result="success"}')
  kill -HUP "$serving_pid"
  local loaded_after=$loaded_before
  for _ in $(seq 1 50); do
    loaded_after=$(metric "$admin" 'portcullis_config_loads_total{result="success"}')
    [ "${loaded_after%.*}" -gt "${loaded_before%.*}" ] && break
    sleep 0.1
  done
  wait "$loader" || true
  local failed logged
  failed=$(json "$dir/load.summary" '["failed"]')
  logged=$(grep -ci 'permission denied' "$dir/gateway.err" || true)
  [ "$failed" -eq 0 ] && [ "${refused_after%.*}" -gt "${refused_before%.*}" ] && [ "$logged" -gt 0 ] \
    && [ "${loaded_after%.*}" -gt "${loaded_before%.*}" ]
  verdict "config-unreadable old configuration keeps serving" $? \
    "$(json "$dir/load.summary" '["requests"]') requests, $failed failed; refused loads $refused_before -> $refused_after; log lines naming 'permission denied': $logged; loads after access restored $loaded_before -> $loaded_after"
  grep -i 'permission denied' "$dir/gateway.err" | head -2 | cut -c1-220
  kill "$serving_pid" 2>/dev/null || true
}

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(upstream-kill redis-restart sigkill-haproxy config-unreadable)
for scenario in "${scenarios[@]}"; do
  "scenario_${scenario//-/_}"
done
echo
[ "$failures" -eq 0 ] && echo "chaos: PASS" || { echo "chaos: $failures FAILED"; exit 1; }
