# mangoro benchmarks: one command runs every scenario against its floor and
# peers and writes bench/README.md and bench/results.png.
#
#   Rscript bench/run.R            (from the repository root; `make bench`)
#
# Uses the installed mangoro. Env MANGORO_GOCACHE is honoured for every build
# except the cold one, which gets an empty cache in a temporary directory.
# MANGORO_BENCH_QUICK=1 runs fewer iterations (for trying changes out).

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
bench_dir <- normalizePath(if (length(script)) dirname(script[[1L]]) else "bench")
source(file.path(bench_dir, "R", "common.R"))
bench_source("small.R", "bulk.R", "concurrency.R", "build.R", "startup.R",
             "native.R", "go.R", "profile.R", "lazy.R", "report.R")

started <- Sys.time()
load_before <- readLines("/proc/loadavg")
ctx <- bench_setup(bench_dir)
on.exit(bench_teardown(ctx), add = TRUE)

results <- list()
run_scenario <- function(name, fun) {
  step(name)
  t0 <- mclock_ms()
  res <- fun(ctx)
  step(sprintf("%s done in %.1f s", name, (mclock_ms() - t0) / 1000))
  res
}
results$small <- run_scenario("small call", scenario_small)
results$bulk <- run_scenario("bulk", scenario_bulk)
results$lazy <- run_scenario("lazy strings", scenario_lazy)
results$concurrency <- run_scenario("concurrency", scenario_concurrency)
results$startup <- run_scenario("start-up", scenario_startup)
results$build <- run_scenario("build", scenario_build)
results$native <- run_scenario("native framing", scenario_native)
results$go <- run_scenario("Go benchmarks", scenario_go)
results$profile <- run_scenario("profiles", scenario_profile)

bench_teardown(ctx)
elapsed <- as.numeric(difftime(Sys.time(), started, units = "secs"))
# Keep the raw results for re-rendering the report (MANGORO_BENCH_SAVE=path,
# then Rscript bench/render.R path).
save_to <- Sys.getenv("MANGORO_BENCH_SAVE")
if (nzchar(save_to)) {
  saveRDS(list(results = results, elapsed = elapsed,
               ctx = as.list(ctx)[setdiff(names(ctx), c("srv", "echo"))]), save_to)
}
write_report(results, ctx, elapsed, file.path(bench_dir, "README.md"))
write_goals(do.call(rbind, results[c("small", "bulk", "lazy")]), "Rscript bench/run.R", elapsed,
            load_before, file.path(bench_dir, "GOALS.md"))
plot_results(results, file.path(bench_dir, "results.png"))
step(sprintf("wrote %s and %s in %.0f s", file.path(bench_dir, "README.md"),
             file.path(bench_dir, "results.png"), elapsed))
