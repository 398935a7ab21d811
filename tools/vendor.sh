#!/usr/bin/env bash
# Regenerates inst/go/vendor from the offline module mirror, or verifies it.
#
#   tools/vendor.sh            re-vendor in place (pins come from inst/go/go.mod)
#   tools/vendor.sh --verify   re-vendor a scratch copy; fail on any difference
#
# Modules come from the offline mirror beside the checkout (../shared/goproxy,
# or MANGORO_GOPROXY_DIR) when it is there, with every go.sum line checked
# against its goproxy.sum; otherwise from the toolchain's own proxy setting
# (GOPROXY, else `go env GOPROXY`), checked by the checksum database as go
# always does. Exit status 2 means the modules cannot be had here (no mirror,
# proxy off or unreachable): callers report that as a skip.
#
# Besides `go mod vendor`, it keeps inst/go/_longpaths/ in step: copies of the
# vendored files whose path inside the package would pass the 100-byte limit
# tar archives guarantee. R CMD build leaves the long originals out (see
# .Rbuildignore) and mangoro_go_build() puts them back through `go build
# -overlay`, so the installed tree is never modified.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
proxy=${MANGORO_GOPROXY_DIR:-$root/../shared/goproxy}
sums=${MANGORO_GOPROXY_SUM:-$root/../shared/goproxy.sum}
go=${GO:-$(command -v go || echo /usr/lib/go-1.23/bin/go)}
limit=100   # bytes, counted from the package directory name "mangoro/"

die() { printf 'vendor: %s\n' "$*" >&2; exit 1; }
unavailable() { printf 'vendor: %s\n' "$*" >&2; exit 2; }

if [ -d "$proxy" ]; then
  modenv=(GOPROXY="file://$(cd "$proxy" && pwd)" GOSUMDB=off)
else
  proxy_setting=${GOPROXY:-$(env -u GOFLAGS "$go" env GOPROXY 2>/dev/null || true)}
  case "$proxy_setting" in
    "" | off) unavailable "skipped: no module mirror at $proxy and GOPROXY is '${proxy_setting:-unset}'" ;;
  esac
  modenv=(GOPROXY="$proxy_setting")
  sums=""   # the checksum database checks what the proxy serves
fi

vendor_into() { # $1 = a module directory holding go.mod and tools.go
  (cd "$1" &&
    env "${modenv[@]}" GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off GOTELEMETRY=off "$go" mod tidy &&
    env "${modenv[@]}" GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off GOTELEMETRY=off "$go" mod vendor)
}

# Every go.sum line must have been verified against the checksum database.
check_sums() {
  [ -n "$sums" ] || return 0
  [ -f "$sums" ] || die "no $sums to check go.sum against"
  local extra
  extra=$(grep -vxFf "$sums" "$1/go.sum" || true)
  [ -z "$extra" ] || die "go.sum lines not in $(basename "$sums"):"$'\n'"$extra"
}

# Writes _longpaths/: one copy per over-long vendored file plus MAP, whose
# lines read "<copy name> <path relative to inst/go>".
make_longpaths() { # $1 = module directory
  local mod=$1 out=$1/_longpaths n=0 f
  rm -rf "$out"; mkdir -p "$out"
  (cd "$mod" && find vendor -type f | LC_ALL=C sort) | while read -r f; do
    if [ "$(printf 'mangoro/inst/go/%s' "$f" | wc -c)" -gt "$limit" ]; then
      n=$((n + 1))
      cp "$mod/$f" "$out/f$n.go.txt"
      printf 'f%s.go.txt %s\n' "$n" "$f" >> "$out/MAP"
    fi
  done
  [ -f "$out/MAP" ] || rm -rf "$out"
}

if [ "${1:-}" = "--verify" ]; then
  scratch=$(mktemp -d); trap 'chmod -R u+w "$scratch"; rm -rf "$scratch"' EXIT
  # The whole module but its vendor tree, so tidy sees every import.
  tar -C "$root/inst/go" --exclude=./vendor --exclude=./_longpaths -cf - . | tar -C "$scratch" -xf -
  if ! out=$(vendor_into "$scratch" 2>&1); then
    # Without the mirror, a proxy that cannot serve the modules is a skip.
    [ -d "$proxy" ] || unavailable "skipped: GOPROXY=$proxy_setting could not serve the modules: $(printf '%s' "$out" | tail -n1)"
    die "go mod tidy/vendor failed:"$'\n'"$out"
  fi
  make_longpaths "$scratch"
  check_sums "$scratch"
  status=0
  diff -q "$root/inst/go/go.mod" "$scratch/go.mod" || status=1
  diff -q "$root/inst/go/go.sum" "$scratch/go.sum" || status=1
  diff -r -q "$root/inst/go/vendor" "$scratch/vendor" || status=1
  diff -r -q "$root/inst/go/_longpaths" "$scratch/_longpaths" || status=1
  [ "$status" = 0 ] || die "inst/go/vendor differs from a fresh 'go mod vendor' (run tools/vendor.sh)"
  echo "vendor: verified: inst/go/vendor matches go.mod and the module mirror"
  exit 0
fi

vendor_into "$root/inst/go"
make_longpaths "$root/inst/go"
check_sums "$root/inst/go"
echo "vendor: regenerated inst/go/vendor ($(grep -c '^# ' "$root/inst/go/vendor/modules.txt") modules)"
