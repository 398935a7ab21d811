# Lazy strings (src/altrep_string.c) against full materialization and R's own
# floor, unserialize() of the same vector, in one run. The Arrow buffers are
# built once from the strings (outside the timings); each timing starts from
# a collected heap, and the strings are NOT in R's CHARSXP cache (the source
# vector is dropped), so every path creates its CHARSXPs for real.

scenario_lazy_strings <- function(ctx, n = 1e6, reps = if (quick) 3 else 9) {
  source(file.path(dirname(ctx$bench_dir), "tests", "testthat", "helper-arrow-utf8.R"), local = TRUE)
  x <- sprintf("s%07d-%s", seq_len(n), rep_len(c("alpha", "beta", "gamma"), n))
  b <- arrow_utf8_buffers(x)
  ser <- serialize(x, NULL)
  stream <- mangoro:::mangoro_ipc_write(data.frame(x = x, stringsAsFactors = FALSE))
  idx <- round(seq(1, n, length.out = 10))
  want <- x[idx]
  rm(x)
  ns <- asNamespace("mangoro")
  make <- function() ns$lazy_utf8(b$bytes, b$offsets, b$data, b$data_len, b$n, validity = b$validity)
  stopifnot(identical(make()[idx], want), identical(mangoro:::mangoro_ipc_read(stream)$x[idx], want))
  eager <- function() withr::with_options(list(mangoro.lazy_strings = FALSE), mangoro:::mangoro_ipc_read(stream))
  stopifnot(identical(eager()$x[idx], want))
  cases <- list(
    lazy_use_10 = function() make()[idx],
    lazy_materialize_all = function() .Call(ns$mangoro_c_lazy_materialize, make()),
    unserialize_floor = function() unserialize(ser),
    # The reply path: src/ipc_read.c makes the column lazy (the stream is
    # what a reply's payload holds) ...
    reply_use_10 = function() mangoro:::mangoro_ipc_read(stream)$x[idx],
    reply_materialize_all = function() .Call(ns$mangoro_c_lazy_materialize, mangoro:::mangoro_ipc_read(stream)$x),
    # ... and before lazy strings (mangoro.lazy_strings = FALSE): every CHARSXP at once.
    reply_eager = eager
  )
  # Interleaved: round i times every case once, in an order that turns each
  # round (as interleaved_times() in common.R), so a swing in the VM's speed
  # hits the floor and the paths alike; each timing starts from a collected heap.
  k <- length(cases)
  tm <- matrix(0, reps, k)
  for (i in seq_len(reps)) {
    for (j in (seq_len(k) + i) %% k + 1L) {
      invisible(gc())
      t0 <- mclock_ms()
      r <- cases[[j]]()
      tm[i, j] <- mclock_ms() - t0
      rm(r)
    }
  }
  times <- stats::setNames(lapply(seq_len(k), function(j) tm[, j]), names(cases))
  data.frame(what = names(cases), median_ms = vapply(times, stats::median, 0),
             min_ms = vapply(times, min, 0), reps = reps, n = n, stringsAsFactors = FALSE)
}

# For bench/run.R: the lazy-string goals of issue 13 as report rows, all
# from one run of scenario_lazy_strings() (1e6 strings through the reply
# reader, src/ipc_read.c, against the eager reader and unserialize()).
scenario_lazy <- function(ctx) {
  res <- scenario_lazy_strings(ctx, n = 1e6)
  ctx$lazy <- res
  ms <- function(what) res$median_ms[res$what == what]
  note <- sprintf("1e6 strings, median of %d interleaved rounds; `Rscript bench/run.R` (bench/R/lazy.R)", res$reps[[1]])
  rbind(
    row("lazy strings (1e6)", "use 10 of the returned strings, vs eager reader", ms("reply_use_10"), "ms",
        floor = ms("reply_eager"), target = 0.2, target_on = "floor",
        note = paste("floor = the eager reader (mangoro.lazy_strings = FALSE, as 0.1.0);", note)),
    row("lazy strings (1e6)", "materialize all, vs unserialize()", ms("reply_materialize_all"), "ms",
        floor = ms("unserialize_floor"), target = 1.2, target_on = "floor", note = note),
    row("lazy strings (1e6)", "eager reader, vs unserialize()", ms("reply_eager"), "ms",
        floor = ms("unserialize_floor"), note = note)
  )
}
