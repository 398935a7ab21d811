#!/usr/bin/env bash
# Checks that `make install` installs the vignettes: installs into a fresh
# temporary library, then asks R for mangoro's vignettes and expects every
# vignettes/*.Rmd among them, vignette("mangoro") included.
#   tools/check-install.sh        (make and R CMD build need Go, ~1 min)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lib=$(mktemp -d "${TMPDIR:-/tmp}/mangoro-install-XXXXXX")
trap 'rm -rf "$lib"' EXIT
make -C "$root" install LIB="$lib" > "$lib.log" 2>&1 || { tail -30 "$lib.log"; rm -f "$lib.log"; exit 1; }
rm -f "$lib.log"
want=$(cd "$root/vignettes" && ls *.Rmd | sed 's/\.Rmd$//' | tr '\n' ' ')
R_LIBS="$lib" Rscript -e '
  want <- strsplit(trimws(commandArgs(TRUE)[[1]]), " ")[[1]]
  got <- utils::vignette(package = "mangoro", lib.loc = .libPaths()[[1]])$results[, "Item"]
  missing <- setdiff(want, got)
  if (length(missing)) stop("vignettes not installed: ", paste(missing, collapse = ", "))
  v <- utils::vignette("mangoro", package = "mangoro", lib.loc = .libPaths()[[1]])
  if (!inherits(v, "vignette") || !file.exists(file.path(v$Dir, "doc", v$PDF))) stop("vignette(\"mangoro\") has no document")
  cat("installed vignettes:", got, "\n")
' "$want"
