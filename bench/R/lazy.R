# Lazy strings (src/altrep_string.c) against full materialization and R's own
# floor, unserialize() of the same vector, in one run. The Arrow buffers are
# built once from the strings (outside the timings); each timing starts from
# a collected heap, and the strings are NOT in R's CHARSXP cache (the source
# vector is dropped), so every path creates its CHARSXPs for real.

scenario_lazy_strings <- function(ctx, n = 1e6, reps = if (quick) 3 else 7) {
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
  cases <- list(
    lazy_use_10 = function() make()[idx],
    lazy_materialize_all = function() .Call(ns$mangoro_c_lazy_materialize, make()),
    unserialize_floor = function() unserialize(ser),
    ipc_read_today = function() mangoro:::mangoro_ipc_read(stream)
  )
  times <- lapply(cases, function(f) {
    vapply(seq_len(reps), function(i) {
      invisible(gc())
      t0 <- mclock_ms()
      r <- f()
      t <- mclock_ms() - t0
      rm(r)
      t
    }, 0)
  })
  data.frame(what = names(cases), median_ms = vapply(times, stats::median, 0),
             min_ms = vapply(times, min, 0), reps = reps, n = n, stringsAsFactors = FALSE)
}
