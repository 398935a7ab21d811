# Build: cold (empty Go cache), warm rebuild in a new R session, and an
# unchanged-source build (must not run the compiler).

scenario_build <- function(ctx) {
  src <- ctx$example_src
  out <- file.path(ctx$bin_dir, "rpc-example-build")
  cold_cache <- tempfile("gocache-cold-")
  cold <- time_ms(mangoro_go_build(src, out = out, gocache = cold_cache, rebuild = TRUE, quiet = TRUE))
  unlink(cold_cache, recursive = TRUE)

  # Warm: a new Rscript per run, with the bench's cache (warm since set-up).
  code <- sprintf(paste(
    "suppressPackageStartupMessages(library(mangoro))",
    "t0 <- nanonext::mclock()",
    "mangoro_go_build(%s, out = %s, gocache = %s, rebuild = TRUE, quiet = TRUE)",
    "cat(as.double(nanonext::mclock()) - as.double(t0), '\\n')", sep = "; "),
    deparse(src), deparse(out),
    if (is.null(ctx$gocache)) "NULL" else deparse(ctx$gocache))
  rscript <- file.path(R.home("bin"), "Rscript")
  runs <- if (quick) 1 else 3
  warm <- replicate(runs, {
    wall <- time_ms(res <- processx::run(rscript, c("-e", code),
                                         env = c("current", R_LIBS = paste(.libPaths(), collapse = ":"))))
    c(build = as.numeric(trimws(utils::tail(strsplit(res$stdout, "\n")[[1]], 1))), wall = wall)
  })
  warm_build <- stats::median(warm["build", ])
  warm_wall <- stats::median(warm["wall", ])

  # Unchanged: the binary must be left alone (no compiler run).
  mtime <- file.mtime(out)
  bm <- bench::mark(mangoro_go_build(src, out = out, gocache = ctx$gocache, quiet = TRUE),
                    iterations = if (quick) 5 else 20, check = FALSE)
  unchanged <- as.numeric(bm$median) * 1000
  untouched <- identical(file.mtime(out), mtime)

  rbind(
    row("build", "cold build (empty GOCACHE)", cold / 1000, "s",
        note = "compiles the standard library, arrow-go and mangos; informational"),
    row("build", "warm rebuild, new R session", warm_build / 1000, "s", target = 2,
        note = sprintf("rebuild = TRUE; median of %d; whole Rscript process %.2f s; cold/warm = %.0fx",
                       runs, warm_wall / 1000, cold / warm_build)),
    row("build", "unchanged-source build", unchanged / 1000, "s", target = 0.1,
        note = sprintf("binary %s (compiler %s)", if (untouched) "untouched" else "REWRITTEN",
                       if (untouched) "not run" else "ran"))
  )
}
