# Issue 13's goals alone, in one run (a subset of bench/run.R, which reports
# them with everything else): the small call against the raw NNG echo and
# mirai, bulk add and echoString (shared memory and lazy strings on the
# default path, the socket path and the eager reader next to them) and the
# lazy string reader. Writes bench/GOALS.md.
#
#   Rscript bench/goals.R        (from the repository root, mangoro installed)

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench_dir <- normalizePath(if (length(script)) dirname(script[[1L]]) else "bench")
source(file.path(bench_dir, "R", "common.R"))
bench_source("small.R", "bulk.R", "lazy.R", "report.R")
started <- Sys.time()
load_before <- readLines("/proc/loadavg")
ctx <- bench_context(bench_dir)
ctx$example <- mangoro_go_build(system.file("go", "cmd", "rpc-example", package = "mangoro"),
                                out = file.path(ctx$bin_dir, "rpc-example"), gocache = ctx$gocache, quiet = TRUE)
ctx$rawecho <- mangoro_go_build(file.path(bench_dir, "go", "rawecho"), out = file.path(ctx$bin_dir, "rawecho"),
                                gocache = ctx$gocache, quiet = TRUE)
ctx$srv <- mangoro_server_start(ctx$example)
ctx$echo <- start_rawecho(ctx$rawecho)
on.exit(bench_teardown(ctx), add = TRUE)
rows <- rbind(scenario_small(ctx), scenario_bulk(ctx), scenario_lazy(ctx))
bench_teardown(ctx)
elapsed <- as.numeric(difftime(Sys.time(), started, units = "secs"))
write_goals(rows, "Rscript bench/goals.R", elapsed, load_before, file.path(bench_dir, "GOALS.md"))
