# The unchanged-source build of rpc-example, for one installed mangoro:
#   R_LIBS=<lib> Rscript bench/R/unchanged_build.R [min_time]
# Builds once (so the binary and its stamp exist), then bench::mark()s the
# call that must return at once. Run it once per library, each in its own
# process, and compare the medians.
suppressPackageStartupMessages(library(mangoro))
args <- commandArgs(trailingOnly = TRUE)
min_time <- if (length(args)) as.numeric(args[1]) else 2
src <- system.file("go", "cmd", "rpc-example", package = "mangoro")
out <- file.path(tempdir(), "rpc-example-unchanged")
invisible(mangoro_go_build(src, out = out, quiet = TRUE))
mtime <- file.mtime(out)
bm <- bench::mark(mangoro_go_build(src, out = out, quiet = TRUE), min_time = min_time,
                  check = FALSE, filter_gc = FALSE)
cat(sprintf("%s (mangoro %s): median %.2f ms, min %.2f ms, itr/s %.0f, n %d, binary %s\n",
            find.package("mangoro"), utils::packageVersion("mangoro"), as.numeric(bm$median) * 1000,
            as.numeric(bm$min) * 1000, bm$`itr/sec`, bm$n_itr,
            if (identical(file.mtime(out), mtime)) "untouched" else "REWRITTEN"))
