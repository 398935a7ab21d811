#!/usr/bin/env bash
# Runs every check of the project and ends with one line:
#   tests: N passed, M failed, K skipped
# counted from go test (every test, subtest, example and fuzz seed), testthat
# (expectations, as testthat reports them) and the named checks below (gofmt,
# vet, staticcheck, vendor verify, R CMD check). Exits non-zero on any failure.
#   tools/test.sh            everything
#   tools/test.sh --go-only  the Go checks only
# A check whose tool cannot be had here (no ../shared/goproxy mirror and no
# reachable GOPROXY) is reported as skipped with the reason, never as passed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=$root/.cache
mkdir -p "$cache"
go=${MANGORO_GO:-$(command -v go || ls -d /usr/lib/go-1.2[3-9]/bin/go | sort -V | tail -n1)}
export PATH=$(dirname "$go"):$PATH
# Where tools and modules come from: the offline mirror beside the checkout
# (CI), else the toolchain's own proxy setting, read before GOPROXY=off below.
mirror=$root/../shared/goproxy
user_proxy=$(env -u GOPROXY -u GOFLAGS "$go" env GOPROXY 2>/dev/null || true)
export GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GOWORK=off GOTELEMETRY=off
export GOCACHE=${MANGORO_GOCACHE:-$cache/go-build} MANGORO_GOCACHE=${MANGORO_GOCACHE:-$cache/go-build}
export XDG_CONFIG_HOME=$cache/config GOPATH=$cache/gopath

passed=0 failed=0 skipped=0
failures=() skips=()
step() { printf '\n== %s\n' "$*"; }
ok()   { passed=$((passed + 1)); printf 'ok: %s\n' "$1"; }
bad()  { failed=$((failed + 1)); failures+=("$1"); printf 'FAILED: %s\n' "$1"; }
# MANGORO_TEST_STRICT=1 (CI, which has the mirror) makes a skipped check a failure.
skip() {
  if [ "${MANGORO_TEST_STRICT:-}" = 1 ]; then bad "$1 [a skip, and MANGORO_TEST_STRICT=1]"; return; fi
  skipped=$((skipped + 1)); skips+=("$1"); printf 'SKIPPED: %s\n' "$1"
}
check() { # name, command...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

go_sources() { find inst/go inst/examples tests/testthat/go bench/go -name '*.go' -not -path '*/vendor/*' 2>/dev/null; }

# staticcheck is built once into .cache/bin: from the offline mirror when it is
# beside the checkout, else through the toolchain's module proxy. Exit status
# 2 means it cannot be had here (no mirror, no usable proxy): a skip, not a
# failure; with the mirror present any failure is a failure.
staticcheck_bin() {
  local bin=$cache/bin/staticcheck
  if [ ! -x "$bin" ]; then
    if [ -d "$mirror" ]; then
      GOBIN=$cache/bin GOFLAGS=-mod=mod GOPROXY=file://$(cd "$mirror" && pwd) GOSUMDB=off \
        "$go" install honnef.co/go/tools/cmd/staticcheck@v0.6.1 >&2 || return 1
    elif [ -z "$user_proxy" ] || [ "$user_proxy" = off ]; then
      echo "no module mirror at $mirror and GOPROXY is '${user_proxy:-unset}'" >&2; return 2
    elif ! GOBIN=$cache/bin GOFLAGS=-mod=mod GOPROXY=$user_proxy \
        "$go" install honnef.co/go/tools/cmd/staticcheck@v0.6.1 >"$cache/staticcheck-install.log" 2>&1; then
      echo "no module mirror at $mirror and GOPROXY=$user_proxy failed: $(tail -n1 "$cache/staticcheck-install.log")" >&2
      return 2
    fi
  fi
  echo "$bin"
}

run_go_checks() {
  step "gofmt"
  unformatted=$(go_sources | xargs gofmt -l)
  if [ -z "$unformatted" ]; then ok gofmt; else echo "$unformatted"; bad gofmt; fi

  step "go vet"
  check "go vet" bash -c 'cd inst/go && go vet ./...'

  step "staticcheck"
  local why status
  why=$(staticcheck_bin 2>&1 >"$cache/staticcheck-path"); status=$?
  if [ "$status" -eq 0 ]; then
    check staticcheck bash -c "cd inst/go && '$(cat "$cache/staticcheck-path")' ./..."
  elif [ "$status" -eq 2 ]; then
    skip "staticcheck (cannot be installed here: ${why##*$'\n'})"
  else
    printf '%s\n' "$why"; bad "staticcheck (could not install from $mirror)"
  fi

  step "vendor verify"
  GO="$go" GOPROXY="$user_proxy" bash tools/vendor.sh --verify 2>"$cache/vendor-verify.log"
  status=$?
  if [ "$status" -eq 0 ]; then
    ok "vendor verify"
  elif [ "$status" -eq 2 ]; then
    skip "vendor verify ($(sed -n 's/^vendor: \(skipped: \)\{0,1\}//p' "$cache/vendor-verify.log" | tail -n1))"
  else
    cat "$cache/vendor-verify.log"; bad "vendor verify"
  fi

  step "go test -race"
  (cd inst/go && go test -race -count=1 -v ./...) > "$cache/go-test.log" 2>&1
  status=$?
  grep -E '^(ok|FAIL|---|panic)|^\s+--- FAIL' "$cache/go-test.log" | grep -v -- '--- PASS' | tail -40
  p=$(grep -cE '^\s*--- PASS' "$cache/go-test.log")
  f=$(grep -cE '^\s*--- FAIL' "$cache/go-test.log")
  s=$(grep -cE '^\s*--- SKIP' "$cache/go-test.log")
  echo "go test: $p passed, $f failed, $s skipped (log: .cache/go-test.log)"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then bad "go test (exit $status, see .cache/go-test.log)"; fi
  [ "$f" -eq 0 ] || failures+=("go test")
}

run_r_check() {
  step "R CMD build"
  rm -rf mangoro.Rcheck mangoro_*.tar.gz
  if ! R CMD build . > "$cache/r-build.log" 2>&1; then
    tail -30 "$cache/r-build.log"; bad "R CMD build"; return
  fi
  ok "R CMD build"
  tarball=$(ls mangoro_*.tar.gz | head -n1)

  step "R CMD check --as-cran $tarball"
  # The network-namespace pool test launches mirai daemons (child R sessions),
  # which do not start inside R CMD check's test environment; it runs on the
  # checked installation right after the check instead (run_outside_check).
  MANGORO_OUTSIDE_CHECK=netns _R_CHECK_CRAN_INCOMING_REMOTE_=false _R_CHECK_SYSTEM_CLOCK_=false R_RD4PDF="times,hyper" R CMD check --as-cran "$tarball" 2>&1 | tee "$cache/r-check.log" |
    grep -E '^\* |^Status|ERROR|WARNING|NOTE' | grep -vE ' \.\.\. OK$'
  rout=$(ls mangoro.Rcheck/tests/testthat.Rout* 2>/dev/null | head -n1)
  if [ -n "$rout" ]; then
    summary=$(grep -E '^\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$rout" | tail -n1)
    echo "testthat: ${summary:-no summary line in $rout}"
    if [ -n "$summary" ]; then
      read -r f w s p <<<"$(echo "$summary" | sed -E 's/\[ FAIL ([0-9]+) \| WARN ([0-9]+) \| SKIP ([0-9]+) \| PASS ([0-9]+) \]/\1 \2 \3 \4/')"
      passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
      [ "$f" -eq 0 ] || { failures+=("testthat"); grep -A15 -E '^── (Failure|Error)' "$rout" | head -80; }
    else
      bad "testthat (no results)"; tail -40 "$rout"
    fi
  fi
  run_outside_check
  if grep -qE '^Status: .*(ERROR|WARNING)' "$cache/r-check.log" || ! grep -q '^Status:' "$cache/r-check.log"; then
    grep -B2 -A20 -E '\.\.\. (ERROR|WARNING)$' "$cache/r-check.log" | head -80
    bad "R CMD check --as-cran (errors or warnings)"
  else
    ok "R CMD check --as-cran ($(grep '^Status:' "$cache/r-check.log"))"
  fi
}

# test-pool.R again, on the package R CMD check installed, outside the check:
# its network-namespace test (skipped inside the check) runs here.
run_outside_check() {
  [ -d mangoro.Rcheck/mangoro ] || return 0
  step "test-pool.R outside R CMD check (network namespaces)"
  R_LIBS="$root/mangoro.Rcheck${R_LIBS:+:$R_LIBS}" Rscript -e 'testthat::test_file("tests/testthat/test-pool.R", package = "mangoro", load_package = "installed")' \
    > "$cache/r-pool.log" 2>&1
  local summary
  summary=$(grep -oE '\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$cache/r-pool.log" | tail -n1)
  echo "test-pool.R: ${summary:-no summary line in .cache/r-pool.log}"
  if [ -z "$summary" ]; then bad "test-pool.R outside R CMD check (no results)"; tail -30 "$cache/r-pool.log"; return; fi
  read -r f w s p <<<"$(echo "$summary" | sed -E 's/\[ FAIL ([0-9]+) \| WARN ([0-9]+) \| SKIP ([0-9]+) \| PASS ([0-9]+) \]/\1 \2 \3 \4/')"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  [ "$f" -eq 0 ] || { failures+=("test-pool.R outside R CMD check"); grep -A15 -E '^(Failure|Error) \(' "$cache/r-pool.log" | head -60; }
}

run_go_checks
run_install_check() {
  step "make install installs the vignettes"
  check "vignettes installed by make install" bash tools/check-install.sh
}

[ "${1:-}" = "--go-only" ] || { run_r_check; run_install_check; }

echo
[ "${#skips[@]}" -eq 0 ] || printf 'skipped: %s\n' "${skips[@]}"
[ "${#failures[@]}" -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
echo "tests: $passed passed, $failed failed, $skipped skipped" | tee "$cache/test-summary"
[ "$failed" -eq 0 ]
