#!/usr/bin/env bash
# Installs what mangoro needs on a fresh Debian machine: Go (>= 1.23) from the
# backports suite of the mirror this machine already uses, Debian's prebuilt
# R packages where they are recent enough, and CRAN source for the rest.
# Safe to run twice: it installs only what is missing.
set -euo pipefail

min_go="1.23"
log() { printf 'setup: %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

go_ok() {
  local go="$1" v
  [ -x "$go" ] || return 1
  v=$("$go" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ "$(printf '%s\n%s\n' "$min_go" "$v" | sort -V | head -n1)" = "$min_go" ]
}

find_go() {
  local c
  for c in "${MANGORO_GO:-}" "$(command -v go 2>/dev/null || true)" /usr/lib/go-1.2[3-9]/bin/go /usr/local/go/bin/go; do
    [ -n "$c" ] && go_ok "$c" && { echo "$c"; return 0; }
  done
  return 1
}

# The backports source is derived from the Debian source the machine already
# has, so the project never names a mirror host itself.
add_backports() {
  local codename src dst=/etc/apt/sources.list.d/mangoro-backports.sources
  [ -f "$dst" ] && return 0
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME}")
  src=$(ls /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -n "$src" ]; then
    awk -v s="${codename}-backports" '
      BEGIN { RS=""; ORS="\n\n" }
      /Suites:[^\n]*'"${codename}"'([ \n]|$)/ && !done {
        n = split($0, lines, "\n"); out = ""
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^Suites:/) lines[i] = "Suites: " s
          if (lines[i] ~ /^#/) continue
          out = out lines[i] "\n"
        }
        printf "%s", out; done = 1
      }' "$src" | as_root tee "$dst" >/dev/null
  else
    grep -hE "^deb [^ ]+ ${codename} " /etc/apt/sources.list | head -n1 |
      awk -v s="${codename}-backports" '{ $3 = s; print }' |
      as_root tee /etc/apt/sources.list.d/mangoro-backports.list >/dev/null
  fi
  log "added ${codename}-backports from the machine's own Debian mirror"
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! go_bin=$(find_go); then
  log "no Go >= ${min_go} found; installing golang-1.23-go from backports"
  add_backports
  apt_updated=0
  apt_install -t "$(. /etc/os-release && echo "${VERSION_CODENAME}")-backports" golang-1.23-go
  go_bin=$(find_go)
fi
log "Go: ${go_bin} ($("$go_bin" env GOVERSION))"

# Debian's prebuilt R packages (recent enough for what mangoro uses), plus the
# tools R CMD check --as-cran and the vignettes need.
need_deb=()
for p in r-cran-processx r-cran-roxygen2 r-cran-pkgbuild r-cran-knitr r-cran-rmarkdown r-cran-later \
         r-cran-promises r-cran-bit64 r-cran-bench r-cran-curl r-cran-ps r-cran-withr pandoc qpdf tidy curl \
         texlive-latex-base texlive-latex-recommended texlive-fonts-recommended; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_deb+=("$p")
done
if [ "${#need_deb[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need_deb[*]}"
  apt_install "${need_deb[@]}"
fi

# nanonext, nanoarrow and mirai are too old (or absent) in Debian: CRAN source,
# through the repositories R is configured with.
Rscript --vanilla -e '
  r <- getOption("repos"); if (is.null(r) || identical(unname(r["CRAN"]), "@CRAN@")) source(file.path(R.home("etc"), "Rprofile.site"))
  want <- c(nanonext = "1.5.0", nanoarrow = "0.6.0", mirai = "2.0.0")
  have <- vapply(names(want), function(p) tryCatch(as.character(packageVersion(p)), error = function(e) "0.0"), "")
  need <- names(want)[package_version(have) < package_version(want)]
  if (length(need)) {
    message("setup: installing from CRAN: ", paste(need, collapse = ", "))
    install.packages(need, Ncpus = 2L, quiet = TRUE)
    bad <- need[!vapply(need, requireNamespace, NA, quietly = TRUE)]
    if (length(bad)) stop("could not install: ", paste(bad, collapse = ", "))
  }
'
log "done"
