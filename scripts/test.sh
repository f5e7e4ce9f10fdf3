#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, then
# vets, tests, runs every fuzz target briefly and compiles the benchmarks.
#
# Env: FUZZTIME (default 20000x: executions per fuzz target; 0 skips fuzzing).
# A count, not a duration: go1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" when a duration runs out mid-execution
# (golang/go#75804, fixed in go1.27), and a count has no deadline to race.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"
FUZZTIME=${FUZZTIME:-20000x}

# Debian packages the tests use; they never skip in CI: the interop tests
# run the seed's openssl commands, the browser tests drive chromium, the
# shared rate limit tests start redis-server, the PKCS#11 tests keep their
# keys in a SoftHSM2 token.
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
{ command -v softhsm2-util >/dev/null && [[ -e /usr/lib/softhsm/libsofthsm2.so ]]; } || need+=(softhsm2)
if ((${#need[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]} (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "the tests need ${need[*]}: install them (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

# The function tests run a real Fn function written with the Node FDK
# (test/functions/node-echo). Node is required in CI (installed from Debian
# when missing); on a dev machine without it those tests skip, saying so.
# npm ci runs only when the lock file changed since the last install.
if ! command -v node >/dev/null && [[ -n ${CI:-} ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing nodejs npm (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "CI needs node and npm for the function tests: install them (apt-get install nodejs npm)" >&2
    exit 1
  fi
fi
if command -v npm >/dev/null; then
  # examples/authorizer: TestExampleAuthorizer runs the example as written.
  for fn in test/functions/*/ examples/authorizer/; do
    [[ -f $fn/package-lock.json ]] || continue
    stamp=$fn/node_modules/.keygate-lock-sha256
    want=$(sha256sum "$fn/package-lock.json" | cut -d' ' -f1)
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
      echo "npm ci in $fn" >&2
      (cd "$fn" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
      echo "$want" >"$stamp"
    fi
  done
else
  echo "node is not installed: the tests that run the Node Fn function will skip (CI installs it)" >&2
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then
  printf 'gofmt needed:\n%s\n' "$unformatted" >&2
  exit 1
fi
go vet ./...
# The container image is a static build (CGO_ENABLED=0, no PKCS#11): keep it compiling.
CGO_ENABLED=0 go build -o /dev/null ./cmd/keygate

if [[ $FUZZTIME != 0 ]]; then
  for pkg in $(go list ./...); do
    for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
      echo "fuzz $pkg $target ($FUZZTIME)"
      if ! out=$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1); then
        printf '%s\n' "$out" >&2
        exit 1
      fi
    done
  done
fi

# Benchmarks only have to keep compiling and running here; figures come
# from bench/ and go test -bench on a quiet machine.
if ! out=$(go test -run='^$' -bench=. -benchtime=1x ./... 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi

go test -count=1 ./...
