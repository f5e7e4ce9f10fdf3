#!/usr/bin/env bash
# CPU profile of keygate under wrk load, for one compare.sh target.
#
# Reuses the scratch directory of a compare.sh run (its binaries, key and
# spec), starts the backend and one keygate with --admin/--pprof on
# 127.0.0.1, loads the target with wrk for PROF_SECONDS + 4 s, takes a
# PROF_SECONDS CPU profile meanwhile, and prints `go tool pprof -top` by flat
# and by cumulative time. Everything it starts is stopped on exit.
#
# Usage: WORK=/tmp/keygate-bench.XXXX bench/profile.sh keygate-jwt-same-token
#        WORK=... bench/profile.sh keygate-anonymous-route
#        WORK=... bench/profile.sh keygate-jwt-cold
# Env:   WORK (required), PROF_SECONDS (10), CONNS (64), TOP (15), NO_ACCESS_LOG (0),
#        PORT_BASE (18280; uses PORT_BASE..PORT_BASE+2), GOMAXPROCS_SUT (2)
set -euo pipefail

TARGET=${1:-keygate-jwt-same-token}
WORK=${WORK:?set WORK to the scratch directory of a bench/compare.sh run}
PROF_SECONDS=${PROF_SECONDS:-10}
CONNS=${CONNS:-64}
TOP=${TOP:-15}
PORT_BASE=${PORT_BASE:-18280}
GMP=${GOMAXPROCS_SUT:-2}
P_BACKEND=$PORT_BASE
P_KG=$((PORT_BASE + 1))
P_ADMIN=$((PORT_BASE + 2))
export PATH="/usr/local/go/bin:$PATH"

for f in bin/keygate bin/backend bin/tokengen spec.json jwt-priv.pem; do
  [[ -e $WORK/$f ]] || { echo "profile.sh: $WORK/$f missing; run bench/compare.sh with WORK=$WORK first" >&2; exit 1; }
done

cache=()
case $TARGET in
  keygate-anonymous-route) path=/bench/anon ;;
  keygate-jwt-same-token) path=/bench/jwt ;;
  keygate-jwt-cold) path=/bench/jwt; cache=(--token-cache-size 0) ;;
  *) echo "profile.sh: unknown target $TARGET" >&2; exit 2 ;;
esac

PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# The spec points at compare.sh's backend port: rewrite it for ours.
sed -E "s#http://127\.0\.0\.1:[0-9]+/#http://127.0.0.1:$P_BACKEND/#" "$WORK/spec.json" >"$WORK/profile-spec.json"

GOMAXPROCS=$GMP "$WORK/bin/backend" -listen "127.0.0.1:$P_BACKEND" 2>"$WORK/logs/profile-backend.log" &
PIDS+=("$!")
# The access log is on (to a file), as in compare.sh's keygate targets;
# NO_ACCESS_LOG=1 profiles the -nolog keygate instead.
nolog=()
[[ ${NO_ACCESS_LOG:-0} == 1 ]] && nolog=(--no-access-log)
GOMAXPROCS=$GMP "$WORK/bin/keygate" serve --spec "$WORK/profile-spec.json" --path-prefix /bench \
  --listen "127.0.0.1:$P_KG" "${nolog[@]}" --admin "127.0.0.1:$P_ADMIN" --pprof "${cache[@]}" \
  2>"$WORK/logs/profile-keygate.log" &
PIDS+=("$!")
for p in $P_BACKEND $P_KG $P_ADMIN; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done

hdr=()
[[ $TARGET != keygate-anonymous-route ]] && hdr=(-H "Authorization: Bearer $("$WORK/bin/tokengen" -key "$WORK/jwt-priv.pem")")
url="http://127.0.0.1:$P_KG$path"
code=$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$url")
[[ $code == 200 ]] || { echo "profile.sh: $url answered $code, want 200" >&2; exit 1; }

wrk -t2 -c"$CONNS" -d"$((PROF_SECONDS + 4))s" "${hdr[@]}" "$url" >"$WORK/logs/profile-wrk.txt" &
PIDS+=("$!")
sleep 2
prof="$WORK/cpu-$TARGET.pprof"
curl -s -o "$prof" "http://127.0.0.1:$P_ADMIN/debug/pprof/profile?seconds=$PROF_SECONDS"
wait "${PIDS[2]}" || true
grep -E 'Requests/sec|Latency' "$WORK/logs/profile-wrk.txt" || true

echo "== $TARGET: top $TOP by flat time"
go tool pprof -top -nodecount="$TOP" "$WORK/bin/keygate" "$prof" 2>/dev/null
echo "== $TARGET: top $TOP by cumulative time"
go tool pprof -top -cum -nodecount="$TOP" "$WORK/bin/keygate" "$prof" 2>/dev/null
echo "profile: $prof"
