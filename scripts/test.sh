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
