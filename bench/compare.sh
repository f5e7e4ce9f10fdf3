#!/usr/bin/env bash
# keygate side by side with HAProxy 2.6 (plain proxy, and jwt_verify RS256 with
# the same iss/aud/exp/scope rules, each with and without a log line per
# request), nginx and Caddy (plain proxies), on 127.0.0.1, loaded by wrk.
#
# End to end: installs wrk, haproxy, nginx, caddy, curl and openssl (Debian)
# unless SKIP_INSTALL=1, builds keygate and the bench programs (bench/backend,
# bench/tokengen), makes an RSA-2048 key with openssl, writes the OCI spec and
# the HAProxy config, starts everything, checks that every JWT target accepts
# the good token and refuses the bad ones (401 or 403, never 2xx), then runs
# wrk -c$CONNS in interleaved rounds (each target once per round, the start
# rotated per round) and prints one table of medians plus the issue's targets.
#
# Targets
#   direct                        the backend itself
#   haproxy-plain                 HAProxy, plain reverse proxy, no log
#   haproxy-plain-logged          the same with option httplog: a line per request
#                                 to stdout (a file in $WORK/logs)
#   haproxy-jwt                   HAProxy, jwt_verify RS256 + alg/iss/aud/exp/scope rules, no log
#   haproxy-jwt-logged            the same with option httplog
#   keygate-anonymous-route       keygate, an ANONYMOUS route (no token sent),
#                                 access log on (JSON lines to stderr, a file in $WORK/logs)
#   keygate-jwt-same-token        keygate, an ANY_OF api:read route, one token
#                                 (cache hits), access log on
#   keygate-jwt-cold              the same route on a keygate started with
#                                 --token-cache-size 0 (a full verification per
#                                 request), access log on
#   keygate-anonymous-route-nolog keygate-anonymous-route on a keygate started
#                                 with --no-access-log
#   keygate-jwt-same-token-nolog  keygate-jwt-same-token on that keygate
#   keygate-anonymous-route-transport  keygate-anonymous-route on a keygate started
#                                 with --no-inline-upstream (every exchange through
#                                 http.Transport): the inline path's gain
#   nginx-plain                   nginx (Debian), plain reverse proxy, access_log off
#   caddy-plain                   Caddy (Debian), plain reverse_proxy, no log
# The plain targets get the same request without a token (PLAIN_TOKEN=1 sends
# them the token too, as the shared run.sh did). The logged pairs (HAProxy
# with httplog, keygate with its access log) are the like-for-like rows; the
# -nolog and unlogged rows show what the log costs each.
#
# With FASTPROBE=1 (default 0: the standard table is unchanged) three more
# targets measure bench/fastprobe, a probe that does keygate's work on this spec
# (internal/authz, internal/token, internal/keys) on github.com/valyala/fasthttp
# instead of net/http; it is its own Go module, so fasthttp stays out of
# keygate's go.mod. It is not keygate: its rows answer "what would fasthttp buy".
#   fastprobe-anonymous-route  the probe, /anon (no token sent)
#   fastprobe-jwt-same-token   the probe, /jwt with one token (cache hits)
#   fastprobe-jwt-cold         a second probe with -token-cache-size 0
#
# With CACHE=1 (default 0) one more target measures response caching: a third
# keygate, started with a config file whose responseCache is a redis-server the
# script starts on loopback, serving an anonymous route with responseCacheLookup
# and responseCacheStore; every measured request is a cache HIT (checked).
#   keygate-cache-hit          keygate, /cached answered from Redis (compare
#                              with keygate-anonymous-route: the same backend
#                              answer, fetched from the backend each time)
#   keygate-ratelimit-redis    the same keygate, /anon of a deployment with a
#                              TOTAL rateLimiting decided in that redis-server
#                              (sharedState.redis; a rate never reached): what
#                              one Redis round trip per request adds (compare
#                              with keygate-anonymous-route-nolog: both run
#                              without an access log)
#
# Usage: bench/compare.sh                       (3 rounds x 10 s, shared layout)
#        ROUNDS=5 DUR=20s bench/compare.sh
#        SKIP_INSTALL=1 LAYOUT=pinned bench/compare.sh
# Env:   DUR (10s), WARM (3s), ROUNDS (3), CONNS (64), LAYOUT (shared|pinned),
#        PORT_BASE (18180; uses PORT_BASE..PORT_BASE+12, +13 and +14 with CACHE=1),
#        SKIP_INSTALL (0), PLAIN_TOKEN (0), WORK (scratch dir; default a new
#        temporary one), KEYGATE_BIN (a prebuilt keygate instead of building
#        ./cmd/keygate), FASTPROBE (0; 1 adds the fastprobe-* targets),
#        CACHE (0; 1 adds keygate-cache-hit and keygate-ratelimit-redis and needs redis-server)
#
# Layouts (2 cores: wrk, proxy and backend share them):
#   shared : nothing pinned; wrk -t2; Go GOMAXPROCS=2; haproxy nbthread 2.
#   pinned : wrk -t1 on CPU 0; backend and proxies on CPU 1 (GOMAXPROCS=1,
#            haproxy nbthread 1).
#
# Compare ratios from one run, never absolute req/s across runs: a shared
# machine drifts. Ratios are paired per round (target / haproxy-plain-logged
# and / haproxy-jwt-logged measured in the same round), then the median over
# rounds is shown.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$(mktemp -d -t keygate-bench.XXXXXX)}
DUR=${DUR:-10s}
WARM=${WARM:-3s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
LAYOUT=${LAYOUT:-shared}
SKIP_INSTALL=${SKIP_INSTALL:-0}
PLAIN_TOKEN=${PLAIN_TOKEN:-0}
PORT_BASE=${PORT_BASE:-18180}
KEYGATE_BIN=${KEYGATE_BIN:-}
FASTPROBE=${FASTPROBE:-0}
CACHE=${CACHE:-0}
P_BACKEND=$PORT_BASE
P_HAP_PLAIN=$((PORT_BASE + 1))
P_HAP_JWT=$((PORT_BASE + 2))
P_KG=$((PORT_BASE + 3))
P_KG_COLD=$((PORT_BASE + 4))
P_FP=$((PORT_BASE + 5))
P_FP_COLD=$((PORT_BASE + 6))
P_HAP_PLAIN_LOG=$((PORT_BASE + 7))
P_HAP_JWT_LOG=$((PORT_BASE + 8))
P_KG_NOLOG=$((PORT_BASE + 9))
P_NGINX=$((PORT_BASE + 10))
P_CADDY=$((PORT_BASE + 11))
P_KG_TRANSPORT=$((PORT_BASE + 12))
P_REDIS=$((PORT_BASE + 13))
P_KG_CACHE=$((PORT_BASE + 14))
ISS="https://auth.example.test/"
AUD="api://perf-gateway"
SCOPE="api:read"
KID="perf-key-1"
PREFIX="/bench"
export PATH="/usr/local/go/bin:$PATH"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

case $LAYOUT in
  shared) SUT_CPUS=""; NBT=2; GMP=2; WRK_PREFIX=(); WRK_THREADS=2 ;;
  pinned) SUT_CPUS=1; NBT=1; GMP=1; WRK_PREFIX=(taskset -c 0); WRK_THREADS=1 ;;
  *) die "LAYOUT must be shared or pinned, not \"$LAYOUT\"" ;;
esac

# ---------------------------------------------------------------- install
if [[ $SKIP_INSTALL != 1 ]]; then
  need=()
  for c in wrk haproxy nginx caddy curl openssl; do command -v "$c" >/dev/null || need+=("$c"); done
  if ((${#need[@]})); then
    # Debian's nginx and caddy packages start their services where they can
    # (a container's policy-rc.d refuses); this script runs its own.
    log "installing ${need[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [[ $CACHE == 1 ]] && ! command -v redis-server >/dev/null; then
    log "installing redis-server (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq redis-server >/dev/null
  fi
fi
[[ $CACHE != 1 ]] || command -v redis-server >/dev/null || die "redis-server not found (CACHE=1 needs it)"
for c in wrk haproxy nginx caddy curl openssl go awk; do
  command -v "$c" >/dev/null || die "$c not found (SKIP_INSTALL=1 needs it installed)"
done
[[ -z $SUT_CPUS ]] || command -v taskset >/dev/null || die "taskset not found (LAYOUT=pinned)"

mkdir -p "$WORK/bin" "$WORK/logs"
RESULTS="$WORK/results.tsv"
log "scratch directory: $WORK"

# ---------------------------------------------------------------- process control
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

declare -A PID_OF
start() { # name cmd... (pinned to SUT_CPUS when set)
  local name=$1; shift
  if [[ -n $SUT_CPUS ]]; then
    taskset -c "$SUT_CPUS" "$@" >"$WORK/logs/$name.log" 2>&1 &
  else
    "$@" >"$WORK/logs/$name.log" 2>&1 &
  fi
  PID_OF[$name]=$!
  PIDS+=("$!")
}

wait_port() { # port name
  local i
  for i in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    kill -0 "${PID_OF[$2]}" 2>/dev/null || die "$2 exited; see $WORK/logs/$2.log"
    sleep 0.1
  done
  die "$2 did not listen on port $1; see $WORK/logs/$2.log"
}

# ---------------------------------------------------------------- build, keys, tokens
if [[ -z $KEYGATE_BIN ]]; then
  log "building keygate and the bench programs"
  (cd "$ROOT" && go build -trimpath -o "$WORK/bin/keygate" ./cmd/keygate)
  KEYGATE_BIN=$WORK/bin/keygate
else
  log "building the bench programs (keygate: $KEYGATE_BIN)"
fi
(cd "$ROOT" && go build -trimpath -o "$WORK/bin/" ./bench/backend ./bench/tokengen)
if [[ $FASTPROBE == 1 ]]; then
  log "building bench/fastprobe (its own module; fetches fasthttp through the Go module proxy if not cached)"
  (cd "$ROOT/bench/fastprobe" && go build -trimpath -o "$WORK/bin/fastprobe" .)
fi

if [[ ! -s $WORK/jwt-priv.pem ]]; then
  log "generating an RSA-2048 key with openssl"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/jwt-priv.pem" 2>/dev/null
fi
# HAProxy's jwt_verify needs a "BEGIN PUBLIC KEY" PEM (a certificate fails every request).
openssl pkey -in "$WORK/jwt-priv.pem" -pubout -out "$WORK/jwt-pub.pem"

TG=("$WORK/bin/tokengen" -key "$WORK/jwt-priv.pem" -kid "$KID" -iss "$ISS" -aud "$AUD")
TOKEN=$("${TG[@]}")
declare -A BAD=(
  [expired]=$("${TG[@]}" -ttl -1m)
  [no_exp]=$("${TG[@]}" -no-exp)
  [wrong_iss]=$("${TG[@]}" -iss https://evil.example.test/)
  [wrong_aud]=$("${TG[@]}" -aud api://other)
  [no_scope]=$("${TG[@]}" -scope "openid profile api:write")
  [scope_prefix]=$("${TG[@]}" -scope "api:readonly")
  [tampered_sig]=$("${TG[@]}" -tamper)
  [alg_none]=$("${TG[@]}" -alg none)
  [alg_hs256_pubkey]=$("${TG[@]}" -alg HS256 -pub "$WORK/jwt-pub.pem")
)
log "token length: ${#TOKEN} bytes"

# ---------------------------------------------------------------- keygate spec
write_spec() {
  local pem backend="http://127.0.0.1:$P_BACKEND/"
  pem=$(awk '{printf "%s\\n", $0}' "$WORK/jwt-pub.pem")
  cat > "$WORK/spec.json" <<EOF
{
  "requestPolicies": {
    "authentication": {
      "type": "JWT_AUTHENTICATION",
      "tokenHeader": "Authorization",
      "tokenAuthScheme": "Bearer",
      "isAnonymousAccessAllowed": true,
      "issuers": ["$ISS"],
      "audiences": ["$AUD"],
      "publicKeys": {"type": "STATIC_KEYS", "keys": [{"format": "PEM", "kid": "$KID", "key": "$pem"}]}
    }
  },
  "routes": [
    {
      "path": "/anon",
      "methods": ["GET"],
      "backend": {"type": "HTTP_BACKEND", "url": "$backend"},
      "requestPolicies": {"authorization": {"type": "ANONYMOUS"}}
    },
    {
      "path": "/jwt",
      "methods": ["GET"],
      "backend": {"type": "HTTP_BACKEND", "url": "$backend"},
      "requestPolicies": {"authorization": {"type": "ANY_OF", "allowedScope": ["$SCOPE"]}}
    }
  ]
}
EOF
  "$KEYGATE_BIN" validate --spec "$WORK/spec.json" --path-prefix "$PREFIX" >"$WORK/logs/validate.log" 2>&1 ||
    { cat "$WORK/logs/validate.log" >&2; die "keygate validate refused the spec"; }
}

# write_cache_config writes the CACHE=1 keygate's spec and config file: one
# anonymous route to the backend whose responses are cached in the local
# redis-server for an hour.
write_cache_config() {
  cat > "$WORK/cache-spec.json" <<EOF
{
  "routes": [
    {
      "path": "/cached",
      "methods": ["GET"],
      "backend": {"type": "HTTP_BACKEND", "url": "http://127.0.0.1:$P_BACKEND/"},
      "requestPolicies": {"responseCacheLookup": {"type": "SIMPLE_LOOKUP_POLICY"}},
      "responsePolicies": {"responseCacheStore": {"type": "FIXED_TTL_STORE_POLICY", "timeToLiveInSeconds": 3600}}
    }
  ]
}
EOF
  cat > "$WORK/ratelimit-spec.json" <<EOF
{
  "requestPolicies": {"rateLimiting": {"rateKey": "TOTAL", "rateInRequestsPerSecond": 10000000}},
  "routes": [
    {"path": "/anon", "methods": ["GET"], "backend": {"type": "HTTP_BACKEND", "url": "http://127.0.0.1:$P_BACKEND/"}}
  ]
}
EOF
  cat > "$WORK/cache.yaml" <<EOF
listen: 127.0.0.1:$P_KG_CACHE
deployments:
- pathPrefix: $PREFIX
  specificationFile: cache-spec.json
- pathPrefix: $PREFIX-rl
  specificationFile: ratelimit-spec.json
sharedState:
  redis: {url: "redis://127.0.0.1:$P_REDIS/0"}
responseCache:
  type: EXTERNAL_RESP_CACHE
  servers: [{host: 127.0.0.1, port: $P_REDIS}]
EOF
  "$KEYGATE_BIN" validate --config "$WORK/cache.yaml" >"$WORK/logs/validate-cache.log" 2>&1 ||
    { cat "$WORK/logs/validate-cache.log" >&2; die "keygate validate refused the cache config"; }
}

# ---------------------------------------------------------------- haproxy config
# jwt_rules are the JWT frontends' rules, the same in both.
jwt_rules() {
  cat <<EOF
    http-request set-var(txn.bearer) http_auth_bearer
    http-request return status 401 content-type text/plain string "missing bearer token" hdr WWW-Authenticate "Bearer" unless { var(txn.bearer) -m found }
    http-request set-var(txn.jwt_alg)   var(txn.bearer),jwt_header_query('\$.alg')
    http-request set-var(txn.jwt_iss)   var(txn.bearer),jwt_payload_query('\$.iss')
    http-request set-var(txn.jwt_aud)   var(txn.bearer),jwt_payload_query('\$.aud')
    http-request set-var(txn.jwt_exp)   var(txn.bearer),jwt_payload_query('\$.exp','int')
    http-request set-var(txn.jwt_scope) var(txn.bearer),jwt_payload_query('\$.scope')
    http-request set-var(txn.now)       date
    http-request return status 401 content-type text/plain string "bad alg"       unless { var(txn.jwt_alg) -m str RS256 }
    http-request return status 401 content-type text/plain string "bad issuer"    unless { var(txn.jwt_iss) -m str $ISS }
    http-request return status 401 content-type text/plain string "bad audience"  unless { var(txn.jwt_aud) -m str $AUD }
    http-request return status 401 content-type text/plain string "expired"       unless { var(txn.jwt_exp),sub(txn.now) -m int gt 0 }
    http-request return status 401 content-type text/plain string "missing scope" unless { var(txn.jwt_scope) -m reg '(^| )$SCOPE( |\$)' }
    http-request return status 401 content-type text/plain string "bad signature" unless { var(txn.bearer),jwt_verify("RS256","$WORK/jwt-pub.pem") -m int 1 }
EOF
}

write_haproxy_cfg() {
  cat > "$WORK/haproxy.cfg" <<EOF
global
    nbthread $NBT
    maxconn 4096
    # the *_logged frontends write a line per request to stdout (a file)
    log stdout format raw local0

defaults
    mode http
    timeout connect 5s
    timeout client  30s
    timeout server  30s

# (i) plain reverse proxy, without and with a log line per request
frontend fe_plain
    bind 127.0.0.1:$P_HAP_PLAIN
    default_backend be_app

frontend fe_plain_logged
    bind 127.0.0.1:$P_HAP_PLAIN_LOG
    log global
    option httplog
    default_backend be_app

# (ii) RS256 JWT verification, 401 otherwise. jwt_verify checks only the
# signature, so every claim has its own rule. Without and with a log line.
frontend fe_jwt
    bind 127.0.0.1:$P_HAP_JWT
$(jwt_rules)
    default_backend be_app

frontend fe_jwt_logged
    bind 127.0.0.1:$P_HAP_JWT_LOG
    log global
    option httplog
$(jwt_rules)
    default_backend be_app

backend be_app
    server app 127.0.0.1:$P_BACKEND
EOF
  haproxy -c -q -f "$WORK/haproxy.cfg"
}

# ---------------------------------------------------------------- nginx, caddy configs
write_nginx_cfg() {
  mkdir -p "$WORK/nginx"
  cat > "$WORK/nginx.conf" <<EOF
worker_processes $NBT;
pid $WORK/nginx/nginx.pid;
error_log $WORK/logs/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream app { server 127.0.0.1:$P_BACKEND; keepalive 64; }
    server {
        listen 127.0.0.1:$P_NGINX;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
  nginx -t -q -c "$WORK/nginx.conf" -g 'daemon off;' 2>"$WORK/logs/nginx-check.log" ||
    { cat "$WORK/logs/nginx-check.log" >&2; die "nginx refused its config"; }
}

write_caddy_cfg() {
  cat > "$WORK/Caddyfile" <<EOF
{
    admin off
    auto_https off
}
http://127.0.0.1:$P_CADDY {
    reverse_proxy 127.0.0.1:$P_BACKEND
}
EOF
}

# ---------------------------------------------------------------- targets
TARGETS=(direct haproxy-plain haproxy-plain-logged haproxy-jwt haproxy-jwt-logged
  keygate-anonymous-route keygate-jwt-same-token keygate-jwt-cold
  keygate-anonymous-route-nolog keygate-jwt-same-token-nolog keygate-anonymous-route-transport nginx-plain caddy-plain)
declare -A URL_OF=(
  [direct]="http://127.0.0.1:$P_BACKEND/"
  [haproxy-plain]="http://127.0.0.1:$P_HAP_PLAIN/"
  [haproxy-plain-logged]="http://127.0.0.1:$P_HAP_PLAIN_LOG/"
  [haproxy-jwt]="http://127.0.0.1:$P_HAP_JWT/"
  [haproxy-jwt-logged]="http://127.0.0.1:$P_HAP_JWT_LOG/"
  [keygate-anonymous-route]="http://127.0.0.1:$P_KG$PREFIX/anon"
  [keygate-jwt-same-token]="http://127.0.0.1:$P_KG$PREFIX/jwt"
  [keygate-jwt-cold]="http://127.0.0.1:$P_KG_COLD$PREFIX/jwt"
  [keygate-anonymous-route-nolog]="http://127.0.0.1:$P_KG_NOLOG$PREFIX/anon"
  [keygate-jwt-same-token-nolog]="http://127.0.0.1:$P_KG_NOLOG$PREFIX/jwt"
  [keygate-anonymous-route-transport]="http://127.0.0.1:$P_KG_TRANSPORT$PREFIX/anon"
  [nginx-plain]="http://127.0.0.1:$P_NGINX/"
  [caddy-plain]="http://127.0.0.1:$P_CADDY/"
)
declare -A PROC_OF=(
  [direct]=backend [haproxy-plain]=haproxy [haproxy-plain-logged]=haproxy [haproxy-jwt]=haproxy [haproxy-jwt-logged]=haproxy
  [keygate-anonymous-route]=keygate [keygate-jwt-same-token]=keygate [keygate-jwt-cold]=keygate_cold
  [keygate-anonymous-route-nolog]=keygate_nolog [keygate-jwt-same-token-nolog]=keygate_nolog
  [keygate-anonymous-route-transport]=keygate_transport
  [nginx-plain]=nginx [caddy-plain]=caddy
)
declare -A JWT_TARGET=([haproxy-jwt]=1 [haproxy-jwt-logged]=1 [keygate-jwt-same-token]=1 [keygate-jwt-cold]=1
  [keygate-jwt-same-token-nolog]=1)
JWT_CHECKS=(haproxy-jwt haproxy-jwt-logged keygate-jwt-same-token keygate-jwt-cold keygate-jwt-same-token-nolog)
PLAIN_CHECKS=(direct haproxy-plain haproxy-plain-logged keygate-anonymous-route keygate-anonymous-route-nolog
  keygate-anonymous-route-transport nginx-plain caddy-plain)
if [[ $FASTPROBE == 1 ]]; then
  TARGETS+=(fastprobe-anonymous-route fastprobe-jwt-same-token fastprobe-jwt-cold)
  URL_OF+=(
    [fastprobe-anonymous-route]="http://127.0.0.1:$P_FP$PREFIX/anon"
    [fastprobe-jwt-same-token]="http://127.0.0.1:$P_FP$PREFIX/jwt"
    [fastprobe-jwt-cold]="http://127.0.0.1:$P_FP_COLD$PREFIX/jwt"
  )
  PROC_OF+=([fastprobe-anonymous-route]=fastprobe [fastprobe-jwt-same-token]=fastprobe [fastprobe-jwt-cold]=fastprobe_cold)
  JWT_TARGET+=([fastprobe-jwt-same-token]=1 [fastprobe-jwt-cold]=1)
  JWT_CHECKS+=(fastprobe-jwt-same-token fastprobe-jwt-cold)
  PLAIN_CHECKS+=(fastprobe-anonymous-route)
fi
if [[ $CACHE == 1 ]]; then
  TARGETS+=(keygate-cache-hit keygate-ratelimit-redis)
  URL_OF+=([keygate-cache-hit]="http://127.0.0.1:$P_KG_CACHE$PREFIX/cached"
    [keygate-ratelimit-redis]="http://127.0.0.1:$P_KG_CACHE$PREFIX-rl/anon")
  PROC_OF+=([keygate-cache-hit]=keygate_cache [keygate-ratelimit-redis]=keygate_cache)
  PLAIN_CHECKS+=(keygate-cache-hit keygate-ratelimit-redis)
fi

sends_token() { [[ -n ${JWT_TARGET[$1]:-} || $PLAIN_TOKEN == 1 ]]; }

code() { # url [header]
  if [[ -n ${2:-} ]]; then
    curl -s -o /dev/null -w '%{http_code}' -H "$2" "$1"
  else
    curl -s -o /dev/null -w '%{http_code}' "$1"
  fi
}

refused() { [[ $1 == 401 || $1 == 403 ]]; }

# check_correctness runs every check twice, so a refusal is not turned into
# an acceptance by a cache filled on the first pass.
check_correctness() {
  local fail=0 t url name got pass
  for pass in 1 2; do
    for t in "${JWT_CHECKS[@]}"; do
      url=${URL_OF[$t]}
      got=$(code "$url" "Authorization: Bearer $TOKEN")
      [[ $got == 200 ]] || { log "FAIL: $t: valid token -> $got, want 200"; fail=1; }
      got=$(code "$url")
      [[ $got == 401 ]] || { log "FAIL: $t: no token -> $got, want 401"; fail=1; }
      got=$(code "$url" "Authorization: Basic dXNlcjpwYXNz")
      [[ $got == 401 ]] || { log "FAIL: $t: basic auth -> $got, want 401"; fail=1; }
      for name in "${!BAD[@]}"; do
        got=$(code "$url" "Authorization: Bearer ${BAD[$name]}")
        refused "$got" || { log "FAIL: $t: $name -> $got, want 401 or 403"; fail=1; }
        [[ $pass == 1 ]] && CHECKED[$t]+=" $name=$got"
      done
    done
    for t in "${PLAIN_CHECKS[@]}"; do
      url=${URL_OF[$t]}
      got=$(code "$url")
      [[ $got == 200 ]] || { log "FAIL: $t: no token -> $got, want 200"; fail=1; }
      got=$(code "$url" "Authorization: Bearer $TOKEN")
      [[ $got == 200 ]] || { log "FAIL: $t: valid token -> $got, want 200"; fail=1; }
    done
  done
  if [[ $CACHE == 1 ]]; then
    got=$(curl -s -o /dev/null -D - "${URL_OF[keygate-cache-hit]}" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache-status" {print $2}')
    [[ $got == HIT ]] || { log "FAIL: keygate-cache-hit: X-Cache-Status $got, want HIT"; fail=1; }
  fi
  [[ $fail == 0 ]] || die "correctness checks failed; nothing measured"
  for t in "${JWT_CHECKS[@]}"; do
    log "correctness $t: valid=200 none=401 basic=401${CHECKED[$t]}"
  done
  log "correctness: ${PLAIN_CHECKS[*]} -> 200 with and without a token"
}
declare -A CHECKED=()
for t in "${JWT_CHECKS[@]}"; do CHECKED[$t]=""; done

cat > "$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
EOF

run_wrk() { # target duration -> prints the RESULT line
  local t=$1 d=$2 hdr=()
  sends_token "$t" && hdr=(-H "Authorization: Bearer $TOKEN")
  "${WRK_PREFIX[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$d" -s "$WORK/report.lua" "${hdr[@]}" "${URL_OF[$t]}" |
    grep '^RESULT' || die "wrk gave no result for $t"
}

# A process and its children (nginx's workers; the others are one process).
proc_tree() { echo "$1"; pgrep -P "$1" || true; }
cpu_ticks() { # utime+stime of the tree, clock ticks
  local p t=0
  for p in $(proc_tree "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
peak_rss_kib() { # peak resident set (VmHWM) summed over the tree
  local p t=0
  for p in $(proc_tree "$1"); do t=$((t + $(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
  echo "$t"
}

# ---------------------------------------------------------------- start
write_spec
write_haproxy_cfg
write_nginx_cfg
write_caddy_cfg
log "layout $LAYOUT: GOMAXPROCS=$GMP, haproxy nbthread $NBT, wrk -t$WRK_THREADS${SUT_CPUS:+, system under test on CPU $SUT_CPUS}"
start backend env GOMAXPROCS=$GMP "$WORK/bin/backend" -listen "127.0.0.1:$P_BACKEND"
wait_port "$P_BACKEND" backend
start haproxy haproxy -db -f "$WORK/haproxy.cfg"
# keygate writes its access log (and every other line) to stderr, which
# start() sends to $WORK/logs/<name>.log, as it does HAProxy's stdout.
start keygate env GOMAXPROCS=$GMP "$KEYGATE_BIN" serve --spec "$WORK/spec.json" --path-prefix "$PREFIX" \
  --listen "127.0.0.1:$P_KG"
start keygate_cold env GOMAXPROCS=$GMP "$KEYGATE_BIN" serve --spec "$WORK/spec.json" --path-prefix "$PREFIX" \
  --listen "127.0.0.1:$P_KG_COLD" --token-cache-size 0
start keygate_nolog env GOMAXPROCS=$GMP "$KEYGATE_BIN" serve --spec "$WORK/spec.json" --path-prefix "$PREFIX" \
  --listen "127.0.0.1:$P_KG_NOLOG" --no-access-log
start keygate_transport env GOMAXPROCS=$GMP "$KEYGATE_BIN" serve --spec "$WORK/spec.json" --path-prefix "$PREFIX" \
  --listen "127.0.0.1:$P_KG_TRANSPORT" --no-inline-upstream
start nginx nginx -c "$WORK/nginx.conf" -g 'daemon off;'
start caddy env GOMAXPROCS=$GMP XDG_DATA_HOME="$WORK/caddy" XDG_CONFIG_HOME="$WORK/caddy" \
  caddy run --config "$WORK/Caddyfile" --adapter caddyfile
wait_port "$P_HAP_PLAIN" haproxy
wait_port "$P_HAP_PLAIN_LOG" haproxy
wait_port "$P_HAP_JWT" haproxy
wait_port "$P_HAP_JWT_LOG" haproxy
wait_port "$P_KG" keygate
wait_port "$P_KG_COLD" keygate_cold
wait_port "$P_KG_NOLOG" keygate_nolog
wait_port "$P_KG_TRANSPORT" keygate_transport
wait_port "$P_NGINX" nginx
wait_port "$P_CADDY" caddy
if [[ $FASTPROBE == 1 ]]; then
  FP=("$WORK/bin/fastprobe" -backend "http://127.0.0.1:$P_BACKEND/" -pub "$WORK/jwt-pub.pem" -kid "$KID"
    -iss "$ISS" -aud "$AUD" -scope "$SCOPE" -prefix "$PREFIX")
  start fastprobe env GOMAXPROCS=$GMP "${FP[@]}" -listen "127.0.0.1:$P_FP"
  start fastprobe_cold env GOMAXPROCS=$GMP "${FP[@]}" -listen "127.0.0.1:$P_FP_COLD" -token-cache-size 0
  wait_port "$P_FP" fastprobe
  wait_port "$P_FP_COLD" fastprobe_cold
fi
if [[ $CACHE == 1 ]]; then
  write_cache_config
  start redis redis-server --port "$P_REDIS" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK"
  start keygate_cache env GOMAXPROCS=$GMP "$KEYGATE_BIN" serve --config "$WORK/cache.yaml" --no-access-log
  wait_port "$P_KG_CACHE" keygate_cache
fi
check_correctness

log "warm-up $WARM per target"
for t in "${TARGETS[@]}"; do run_wrk "$t" "$WARM" >/dev/null; done

# ---------------------------------------------------------------- rounds
TCK=$(getconf CLK_TCK)
printf 'round\ttarget\trps\tp50_us\tp99_us\terrors\tproxy_cpu_us_per_req\tbackend_cpu_us_per_req\tpeak_rss_kib\n' >"$RESULTS"
n=${#TARGETS[@]}
for r in $(seq 1 "$ROUNDS"); do
  for i in $(seq 0 $((n - 1))); do
    t=${TARGETS[$(((i + r - 1) % n))]}
    proc=${PROC_OF[$t]}
    b0=$(cpu_ticks "${PID_OF[backend]}")
    p0=$(cpu_ticks "${PID_OF[$proc]}")
    line=$(run_wrk "$t" "$DUR")
    b1=$(cpu_ticks "${PID_OF[backend]}")
    p1=$(cpu_ticks "${PID_OF[$proc]}")
    rss=$(peak_rss_kib "${PID_OF[$proc]}")
    # RESULT requests=N rps=X p50_us=.. p99_us=.. non2xx=.. sockerr=..
    eval "$(echo "$line" | sed 's/^RESULT //; s/\([a-z0-9_]*\)=\([0-9.]*\)/w_\1=\2;/g')"
    # shellcheck disable=SC2154 # w_* come from the eval above
    {
      pcpu=$(awk -v a="$p0" -v b="$p1" -v n="$w_requests" -v t="$TCK" 'BEGIN{printf "%.1f", (b-a)/t*1e6/(n>0?n:1)}')
      bcpu=$(awk -v a="$b0" -v b="$b1" -v n="$w_requests" -v t="$TCK" 'BEGIN{printf "%.1f", (b-a)/t*1e6/(n>0?n:1)}')
      [[ $t == direct ]] && pcpu=-
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$t" "$w_rps" "$w_p50_us" "$w_p99_us" \
        $((w_non2xx + w_sockerr)) "$pcpu" "$bcpu" "$rss" >>"$RESULTS"
      log "r$r $t: rps=$w_rps p50=${w_p50_us}us p99=${w_p99_us}us non2xx=$w_non2xx sockerr=$w_sockerr proxy_cpu=${pcpu}us/req"
    }
  done
done

# ---------------------------------------------------------------- table
echo
echo "keygate vs HAProxy: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)),"
echo "  $(haproxy -v | head -1 | awk '{print "HAProxy", $3}'), $(go version | awk '{print $3}'), layout $LAYOUT, wrk -t$WRK_THREADS -c$CONNS,"
echo "  $ROUNDS rounds x $DUR (warm-up $WARM), token ${#TOKEN} bytes, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -F'\t' -v rounds="$ROUNDS" -v targets="${TARGETS[*]}" '
function median(s,   a, n, i, j, x) {
  n = split(s, a, " ")
  if (n == 0) return 0
  for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j+1] = a[j]; a[j+1] = x }
  return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function pairedRatio(t, base,   i, s, v, d) {
  s = ""
  for (i = 1; i <= rounds; i++) {
    v = R[i SUBSEP t]; d = R[i SUBSEP base]
    if (v != "" && d > 0) s = s " " v / d
  }
  return median(s)
}
NR == 1 { next }
{
  t = $2
  R[$1 SUBSEP t] = $3
  rps[t] = rps[t] " " $3; p50[t] = p50[t] " " $4; p99[t] = p99[t] " " $5
  err[t] += $6; pc[t] = pc[t] " " $7; bc[t] = bc[t] " " $8
  if ($9 + 0 > rss[t] + 0) rss[t] = $9
}
END {
  nt = split(targets, T, " ")
  tw = 24; for (i = 1; i <= nt; i++) if (length(T[i]) > tw) tw = length(T[i])
  printf "\n%-" tw "s %9s %9s %9s %8s %8s %7s %12s %12s %9s\n", "target", "req/s", "x hap-pl-L", "x hap-jwt-L", "p50_ms", "p99_ms", "errors", "proxy_us/req", "backend_us/r", "peak_MiB"
  for (i = 1; i <= nt; i++) {
    t = T[i]
    if (!(t in rps)) continue
    pcpu = (t == "direct") ? "-" : sprintf("%.1f", median(pc[t]))
    printf "%-" tw "s %9.0f %9.2f %9.2f %8.3f %8.3f %7d %12s %12.1f %9.1f\n", t, median(rps[t]),
      pairedRatio(t, "haproxy-plain-logged"), pairedRatio(t, "haproxy-jwt-logged"),
      median(p50[t]) / 1000, median(p99[t]) / 1000, err[t], pcpu, median(bc[t]), rss[t] / 1024
  }
  print ""
  print "req/s, p50, p99, CPU: medians over rounds; x hap-pl-L and x hap-jwt-L: median of per-round"
  print "ratios to haproxy-plain-logged and haproxy-jwt-logged; proxy_us/req: CPU time (user+sys) of"
  print "the proxy (nginx: master and workers) per request; peak_MiB: VmHWM of the process serving the"
  print "target (one haproxy serves the four haproxy targets, one keygate keygate-anonymous-route and"
  print "keygate-jwt-same-token, another both -nolog targets; direct shows the backend)."
  if ("fastprobe-jwt-same-token" in rps)
    print "One fastprobe serves fastprobe-anonymous-route and fastprobe-jwt-same-token, likewise."

  # The targets of the performance issue.
  print "\nTargets"
  targetChecks("keygate")
  if ("fastprobe-jwt-same-token" in rps) {
    print "\nThe same targets for bench/fastprobe (FASTPROBE=1; a fasthttp probe, not keygate)"
    targetChecks("fastprobe")
  }
}
# The targets of the performance issue, against the logged HAProxy rows (the
# keygate access log is on in the rows named without -nolog). p99 compares
# each target with its HAProxy counterpart (plain-logged for the anonymous
# route, jwt-logged for the JWT routes) and shows the worst gap.
function targetChecks(who,   i, v, worst, wt, peak, pair, base) {
  check(who "-jwt-same-token >= 1.2 x haproxy-jwt-logged", pairedRatio(who "-jwt-same-token", "haproxy-jwt-logged"), ">=", 1.2, "%.2f x")
  check(who "-jwt-cold >= 0.8 x haproxy-jwt-logged", pairedRatio(who "-jwt-cold", "haproxy-jwt-logged"), ">=", 0.8, "%.2f x")
  check(who "-anonymous-route >= 0.8 x haproxy-plain-logged", pairedRatio(who "-anonymous-route", "haproxy-plain-logged"), ">=", 0.8, "%.2f x")
  if ("caddy-plain" in rps)
    check(who "-anonymous-route >= 2 x caddy-plain", pairedRatio(who "-anonymous-route", "caddy-plain"), ">=", 2, "%.2f x")
  pair[who "-anonymous-route"] = "haproxy-plain-logged"
  pair[who "-jwt-same-token"] = "haproxy-jwt-logged"
  pair[who "-jwt-cold"] = "haproxy-jwt-logged"
  worst = -1e9; wt = ""
  for (t in pair) {
    if (!(t in rps)) continue
    v = (median(p99[t]) - median(p99[pair[t]])) / 1000; if (v >= worst) { worst = v; wt = t " vs " pair[t] }
  }
  check(who " p99 <= HAProxy p99 + 1 ms", worst, "<=", 1, "%+.3f ms (worst: " wt ")")
  peak = rss[who "-jwt-same-token"] + 0; if (rss[who "-jwt-cold"] + 0 > peak) peak = rss[who "-jwt-cold"] + 0
  check(who " peak RSS <= 64 MiB", peak / 1024, "<=", 64, "%.1f MiB")
  if ((who "-anonymous-route-transport") in rps)
    printf "  info %-52s got %.2f x the rate with http.Transport, CPU %.1f vs %.1f us/req\n", "inline upstream path (anonymous route)",
      pairedRatio(who "-anonymous-route", who "-anonymous-route-transport"), median(pc[who "-anonymous-route"]), median(pc[who "-anonymous-route-transport"])
  if ((who "-ratelimit-redis") in rps && (who "-anonymous-route-nolog") in rps)
    printf "  info %-52s got %.2f x the rate, p50 %.0f vs %.0f us, p99 %.0f vs %.0f us\n", "rate limit in Redis vs none (both without access log)",
      pairedRatio(who "-ratelimit-redis", who "-anonymous-route-nolog"), median(p50[who "-ratelimit-redis"]), median(p50[who "-anonymous-route-nolog"]),
      median(p99[who "-ratelimit-redis"]), median(p99[who "-anonymous-route-nolog"])
  if ((who "-anonymous-route-nolog") in rps) {
    check("access log costs <= 5% (anonymous route)", pairedRatio(who "-anonymous-route", who "-anonymous-route-nolog"), ">=", 0.95, "%.3f x the rate without it")
    check("access log costs <= 5% (same token)", pairedRatio(who "-jwt-same-token", who "-jwt-same-token-nolog"), ">=", 0.95, "%.3f x the rate without it")
  }
}
function check(name, got, op, want, fmt,   ok) {
  ok = (op == ">=") ? (got >= want) : (got <= want)
  printf "  %-4s %-52s got " fmt "\n", ok ? "PASS" : "MISS", name, got
}' "$RESULTS"
echo
# Every logged request left a line: count them (warm-up and checks included).
echo "log lines: keygate $(grep -c '"message":"request"' "$WORK/logs/keygate.log" || true)," \
  "keygate cold $(grep -c '"message":"request"' "$WORK/logs/keygate_cold.log" || true)," \
  "haproxy $(grep -c 'fe_.*_logged' "$WORK/logs/haproxy.log" || true)"
echo "raw per-round results: $RESULTS (logs: $WORK/logs)"
