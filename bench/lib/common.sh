# Shared by bench/chaos.sh and bench/soak.sh (sourced, not run).

# The release binary: $PORTCULLIS_BIN when set, else built here.
portcullis_binary() {
  if [ -n "${PORTCULLIS_BIN:-}" ]; then echo "$PORTCULLIS_BIN"; return; fi
  cargo build --release --locked -p portcullis --manifest-path "$root/Cargo.toml" >&2
  echo "$root/target/release/portcullis"
}

# A fresh RS256 key in $1, its modulus as a JWK `n` in $jwk_n and a token valid for $2 seconds
# (issuer https://bench.portcullis.test, audience bench) in $token.
make_jwt() {
  local dir=$1 lifetime=${2:-7200}
  openssl genrsa -out "$dir/bench_rsa.pem" 2048 2>/dev/null
  b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  jwk_n=$(openssl rsa -in "$dir/bench_rsa.pem" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
  local now header payload signature
  now=$(date +%s)
  header=$(printf '{"alg":"RS256","typ":"JWT","kid":"bench"}' | b64url)
  payload=$(printf '{"iss":"https://bench.portcullis.test","aud":"bench","sub":"user-1","tenant_id":"tenant-1","scope":"orders:read","iat":%d,"exp":%d}' "$now" "$((now + lifetime))" | b64url)
  signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$dir/bench_rsa.pem" | b64url)
  token="$header.$payload.$signature"
}

# The `authentication:` block for that issuer.
jwt_issuer_yaml() {
  cat <<YAML
authentication:
  jwt:
    issuers:
      - issuer: https://bench.portcullis.test
        audiences: [bench]
        algorithms: [RS256]
        jwks:
          keys:
            - { kty: RSA, kid: bench, alg: RS256, use: sig, n: "$jwk_n", e: AQAB }
YAML
}

# Wait until URL answers 2xx (up to 30 s); extra curl arguments after the URL.
wait_http() {
  local url=$1; shift
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $url" >&2
  return 1
}

# A counter or gauge's value from a Prometheus text page (0 when absent).
metric() {
  local admin=$1 series=$2
  curl -fsS "http://$admin/metrics" | awk -v s="$series" 'index($0, s" ") == 1 {print $2; found=1} END {if (!found) print 0}'
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
