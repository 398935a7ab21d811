# A warm rebuild in a new R session: rpc-example's main.go copied to a
# scratch directory with a new comment (so Go recompiles it and relinks),
# built with a warm Go cache. Prints wall time and CPU split into this R
# process (what build.R costs) and its children (go version, go build and
# the compiler and linker they run).
#   R_LIBS=<lib> MANGORO_GOCACHE=<warm cache> Rscript bench/R/warm_build.R <scratch dir>
suppressPackageStartupMessages(library(mangoro))
dir <- commandArgs(trailingOnly = TRUE)[1]
dir.create(dir, showWarnings = FALSE)
src <- file.path(dir, "main.go")
file.copy(system.file("go", "cmd", "rpc-example", "main.go", package = "mangoro"), src, overwrite = TRUE)
cat("// ", format(Sys.time(), "%OS6"), "\n", file = src, append = TRUE, sep = "")
t0 <- proc.time()
invisible(mangoro_go_build(src, out = file.path(dir, "prog"), quiet = TRUE))
t <- (proc.time() - t0) * 1000
cat(sprintf("%s: wall %.0f ms; CPU R %.0f ms, children %.0f ms\n", find.package("mangoro"),
            t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], t[["user.child"]] + t[["sys.child"]]))
