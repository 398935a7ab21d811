# Re-render bench/README.md and bench/results.png from a saved run, e.g.
#   MANGORO_BENCH_SAVE=/tmp/run.rds Rscript bench/run.R
#   Rscript bench/render.R /tmp/run.rds
# (for editing bench/ANALYSIS.md without running the benchmarks again).

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench_dir <- normalizePath(if (length(script)) dirname(script[[1L]]) else "bench")
source(file.path(bench_dir, "R", "common.R"))
bench_source("native.R", "report.R")
saved <- readRDS(commandArgs(TRUE)[1])
ctx <- saved$ctx
ctx$bench_dir <- bench_dir
write_report(saved$results, ctx, saved$elapsed, file.path(bench_dir, "README.md"))
plot_results(saved$results, file.path(bench_dir, "results.png"))
