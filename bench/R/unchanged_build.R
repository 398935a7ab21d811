# The unchanged-source build of rpc-example, for one installed mangoro:
#   R_LIBS=<lib> Rscript bench/R/unchanged_build.R [min_time]
# Builds once (so the binary and its stamp exist), then bench::mark()s the
# call that must return at once, and times the same number of calls for CPU
# (this process and its children: Sys.which() runs a shell), which a busy
# machine disturbs less than wall time. Run it once per library, each in its
# own process, alternating, and compare.
suppressPackageStartupMessages(library(mangoro))
args <- commandArgs(trailingOnly = TRUE)
min_time <- if (length(args)) as.numeric(args[1]) else 2
src <- system.file("go", "cmd", "rpc-example", package = "mangoro")
out <- file.path(tempdir(), "rpc-example-unchanged")
invisible(mangoro_go_build(src, out = out, quiet = TRUE))
mtime <- file.mtime(out)
bm <- bench::mark(mangoro_go_build(src, out = out, quiet = TRUE), min_time = min_time,
                  check = FALSE, filter_gc = FALSE)
n <- bm$n_itr
t0 <- proc.time()
for (i in seq_len(n)) mangoro_go_build(src, out = out, quiet = TRUE)
t <- proc.time() - t0
cpu <- sum(t[c("user.self", "sys.self", "user.child", "sys.child")], na.rm = TRUE) / n * 1000
cat(sprintf("%s: median %.2f ms, min %.2f ms, n %d; CPU %.2f ms/call (R %.2f); binary %s\n",
            find.package("mangoro"), as.numeric(bm$median) * 1000, as.numeric(bm$min) * 1000, n,
            cpu, sum(t[c("user.self", "sys.self")]) / n * 1000,
            if (identical(file.mtime(out), mtime)) "untouched" else "REWRITTEN"))
