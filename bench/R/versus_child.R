# One round of bench/versus.R for one mangoro version, run in a child R
# process whose R_LIBS puts that version first. It touches only API that
# 0.1.0 exports too (mangoro_go_build, mangoro_server_start, mangoro_rpc_call,
# mangoro_rpc_call_aio, mangoro_aio_result, mangoro_rpc_get_manifest, close)
# and builds the server from the loaded version's own inst/go, so each version
# runs its own rgoipc. The workloads are 0.1.0's (its bench/R/*.R at 907d317).
#
# versus_round() returns the raw samples of every figure (seconds, bytes) for
# the parent to pool over rounds.

versus_round <- function(quick) {
  lib <- dirname(find.package("mangoro"))
  ctx <- bench_context(bench_dir)
  src <- system.file("go", "cmd", "rpc-example", package = "mangoro", lib.loc = lib)
  bin <- file.path(ctx$bin_dir, "rpc-example")
  step("  building rpc-example from ", src)
  mangoro_go_build(src, out = bin, gocache = ctx$gocache, quiet = TRUE)
  srv <- mangoro_server_start(bin)
  on.exit(close(srv), add = TRUE)

  samples <- c(
    versus_small(srv, n = if (quick) 200 else 1000),
    versus_bulk(srv, quick),
    versus_concurrency(srv, reps = if (quick) 2 else 5),
    versus_startup(bin, runs = if (quick) 3 else 10),
    versus_build(src, bin, ctx$gocache, quick)
  )
  list(lib = lib, src = src, samples = samples)
}

# bench::mark's raw times of each iteration, in seconds.
mark_times <- function(bm, i = 1L) as.numeric(bm$time[[i]])

# Small call: `add` on a 1-row frame, every iteration kept (filter_gc = FALSE).
versus_small <- function(srv, n) {
  df <- data.frame(x = 1.5, y = 2.5)
  stopifnot(identical(mangoro_rpc_call(srv, "add", df)$result, 4))
  for (i in 1:100) mangoro_rpc_call(srv, "add", df) # warm-up
  bm <- bench::mark(mangoro_rpc_call(srv, "add", df), iterations = n, check = FALSE,
                    filter_gc = FALSE)
  list(small = mark_times(bm))
}

# Bulk: add on 2 x 1e6 and 2 x 1e7 doubles (time and bench's mem_alloc), and
# echoString on 1e6 strings, the call alone and with every string used.
versus_bulk <- function(srv, quick) {
  out <- list()
  for (n in c(1e6, 1e7)) {
    df <- bulk_data("add", n)
    stopifnot(identical(mangoro_rpc_call(srv, "add", df, timeout = 60000)$result, df$x + df$y)) # + warm-up
    invisible(gc())
    iters <- if (n == 1e6) (if (quick) 3 else 10) else (if (quick) 2 else 4)
    bm <- bench::mark(mangoro_rpc_call(srv, "add", df, timeout = 60000), iterations = iters,
                      check = FALSE, filter_gc = FALSE, memory = TRUE)
    key <- if (n == 1e6) "add_1e6" else "add_1e7"
    out[[paste0(key, "_time")]] <- mark_times(bm)
    out[[paste0(key, "_mem")]] <- as.numeric(bm$mem_alloc)
    rm(df, bm)
    invisible(gc())
  }
  # The same strings for both versions; the column is named after the
  # function's argument, which each version's rpc-example names differently
  # (0.1.0's manifest comes as nested lists, the current one as data frames).
  args <- mangoro_rpc_get_manifest(srv)[["echoString"]]$Args
  arg <- if (is.data.frame(args)) args$Name[[1L]] else args[[1L]]$Name
  df <- stats::setNames(bulk_data("echoString", 1e6), arg)
  x <- df[[1L]]
  stopifnot(identical(mangoro_rpc_call(srv, "echoString", df, timeout = 60000)$result, x))
  used <- sum(nchar(x, type = "bytes"))
  # nchar() reads every element, so lazy (ALTREP) strings are made for real.
  use_all <- function() {
    res <- mangoro_rpc_call(srv, "echoString", df, timeout = 60000)$result
    stopifnot(sum(nchar(res, type = "bytes")) == used)
  }
  invisible(gc())
  iters <- if (quick) 1 else 3
  bm <- bench::mark(
    call = mangoro_rpc_call(srv, "echoString", df, timeout = 60000),
    used = use_all(),
    iterations = iters, check = FALSE, filter_gc = FALSE, memory = FALSE
  )
  out$echo_call <- mark_times(bm, 1L)
  out$echo_used <- mark_times(bm, 2L)
  out
}

# Concurrency: 16 `sleep(100 ms)` calls in flight at once through the aio API.
versus_concurrency <- function(srv, reps) {
  sleep <- data.frame(ms = 100)
  sixteen <- function() {
    aios <- lapply(1:16, function(i) mangoro_rpc_call_aio(srv, "sleep", sleep))
    res <- mangoro_aio_result(aios)
    stopifnot(all(vapply(res, function(r) r$result, 0) == 100))
  }
  sixteen() # warm-up
  list(sleep16 = replicate(reps, time_ms(sixteen())) / 1000)
}

# Start-up: mangoro_server_start() to the first answered `add`.
versus_startup <- function(bin, runs) {
  df <- data.frame(x = 1.5, y = 2.5)
  once <- function() {
    t <- time_ms({
      srv <- mangoro_server_start(bin)
      stopifnot(identical(mangoro_rpc_call(srv, "add", df)$result, 4))
    })
    close(srv)
    t
  }
  once() # warm-up (the binary's pages in the OS cache)
  list(startup = replicate(runs, once()) / 1000)
}

# Build: a warm rebuild (rebuild = TRUE) timed inside a new Rscript that loads
# this same version, and an unchanged-source build that must not run Go.
versus_build <- function(src, bin, gocache, quick) {
  out <- file.path(dirname(bin), "rpc-example-build")
  code <- sprintf(paste(
    "suppressPackageStartupMessages(library(mangoro))",
    "t0 <- nanonext::mclock()",
    "mangoro_go_build(%s, out = %s, gocache = %s, rebuild = TRUE, quiet = TRUE)",
    "cat(as.double(nanonext::mclock()) - as.double(t0), '\\n')", sep = "; "),
    deparse(src), deparse(out), if (is.null(gocache)) "NULL" else deparse(gocache))
  rscript <- file.path(R.home("bin"), "Rscript")
  env <- c("current", R_LIBS = paste(.libPaths(), collapse = .Platform$path.sep))
  warm <- replicate(if (quick) 1 else 2, {
    wall <- time_ms(res <- processx::run(rscript, c("-e", code), env = env))
    c(build = as.numeric(trimws(utils::tail(strsplit(res$stdout, "\n")[[1L]], 1L))), wall = wall)
  })
  mtime <- file.mtime(out)
  bm <- bench::mark(mangoro_go_build(src, out = out, gocache = gocache, quiet = TRUE),
                    iterations = if (quick) 5 else 20, check = FALSE)
  if (!identical(file.mtime(out), mtime)) stop("the unchanged-source build rewrote ", out)
  list(build_warm = warm["build", ] / 1000, build_warm_process = warm["wall", ] / 1000,
       build_unchanged = mark_times(bm))
}
