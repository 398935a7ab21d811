# Soak: many calls, mixed sync/async, with cancellations and timeouts,
# against rpc-example; RSS of R and of the Go server sampled throughout.
# Passes when neither grows more than 5% after warm-up (the first 10% of
# calls), every call ends as expected, and no worker is left busy.
#
#   Rscript bench/soak.R [calls] [minutes]
#
# calls: default 100000. minutes: optional time budget; the run stops early
# (and says so) when it is spent. From the repository root, mangoro
# installed; set MANGORO_GO / MANGORO_GOCACHE as for any build.

suppressPackageStartupMessages(library(mangoro))
args <- commandArgs(TRUE)
n_calls <- if (length(args) >= 1L) as.numeric(args[[1L]]) else 100000
budget_ms <- if (length(args) >= 2L) as.numeric(args[[2L]]) * 60000 else Inf

rss_kb <- function(pid = "self") {
  f <- file.path("/proc", pid, "status")
  if (!file.exists(f)) return(NA_real_)
  line <- grep("^VmRSS:", readLines(f), value = TRUE)
  as.numeric(gsub("[^0-9]", "", line))
}

bin <- mangoro_go_build(system.file("go", "cmd", "rpc-example", package = "mangoro"), quiet = TRUE)
srv <- mangoro_server_start(bin)
on.exit(close(srv), add = TRUE)
pid <- srv$process$get_pid()
df <- data.frame(x = runif(16), y = runif(16))
strings <- data.frame(s = sprintf("item-%04d", 1:64))

# One step: a few calls of one kind; returns how many calls it made and how
# many ended otherwise than expected.
steps <- list(
  sync_add = function() {
    ok <- isTRUE(all.equal(mangoro_rpc_call(srv, "add", df)$result, df$x + df$y))
    c(1, !ok)
  },
  sync_echo = function() {
    ok <- identical(mangoro_rpc_call(srv, "echo", strings), strings)
    c(1, !ok)
  },
  async_batch = function() {
    aios <- lapply(1:8, function(i) mangoro_rpc_call_aio(srv, "add", data.frame(x = i, y = 1)))
    res <- vapply(mangoro_aio_result(aios), function(r) r$result, 0)
    c(8, !identical(res, as.double(1:8) + 1))
  },
  sync_timeout = function() {
    e <- tryCatch(mangoro_rpc_call(srv, "sleep", data.frame(ms = 2000), timeout = 5),
                  mangoro_error = identity)
    c(1, !(inherits(e, "mangoro_timeout_error") || identical(e$code, "deadline_exceeded")))
  },
  async_close = function() {
    a <- mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 2000), timeout = Inf)
    close(a)
    c(1, !inherits(a$data, "error"))
  },
  async_dropped = function() {
    # Left to the garbage collector unresolved: its finalizer cancels it.
    mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 2000), timeout = 20)
    c(1, 0)
  }
)
# Mostly happy calls; one step in ten abandons a call one of three ways.
plan <- c(rep("sync_add", 5), "sync_echo", rep("async_batch", 1), "sync_timeout", "async_close", "async_dropped")

t0 <- as.double(nanonext::mclock())
done <- 0
bad <- 0
samples <- data.frame(calls = numeric(), r_kb = numeric(), go_kb = numeric())
next_sample <- 0
lost <- stats::setNames(integer(length(steps)), names(steps))
stopped_early <- FALSE
i <- 0L
while (done < n_calls) {
  i <- i + 1L
  step <- plan[[(i - 1L) %% length(plan) + 1L]]
  r <- tryCatch(steps[[step]](), mangoro_error = function(e) {
    # A happy call that failed (e.g. timed out): counted, and the run goes on.
    lost[[step]] <<- lost[[step]] + 1L
    c(1, 1)
  })
  done <- done + r[[1L]]
  bad <- bad + r[[2L]]
  if (done >= next_sample) {
    samples[nrow(samples) + 1L, ] <- c(done, rss_kb(), rss_kb(pid))
    next_sample <- done + max(500, n_calls / 200)
    if (as.double(nanonext::mclock()) - t0 > budget_ms) { stopped_early <- TRUE; break }
  }
}
invisible(gc())
samples[nrow(samples) + 1L, ] <- c(done, rss_kb(), rss_kb(pid))
elapsed_s <- (as.double(nanonext::mclock()) - t0) / 1000
info <- mangoro_server_info(srv, timeout = 5000)

# Growth after warm-up: the last tenth of the samples against the sample at
# the end of the first tenth of the calls.
warm <- samples[samples$calls >= 0.1 * done, ][1L, ]
tail_ <- utils::tail(samples, max(1L, nrow(samples) %/% 10L))
growth <- function(col) 100 * (mean(tail_[[col]]) - warm[[col]]) / warm[[col]]
g_r <- growth("r_kb")
g_go <- growth("go_kb")

cat(sprintf("soak: %d calls (%s) in %.0f s, %.0f calls/s; %d ended unexpectedly\n",
            as.integer(done), if (stopped_early) sprintf("stopped early: budget of %g min spent", budget_ms / 60000)
            else "full run", elapsed_s, done / elapsed_s, as.integer(bad)))
cat(sprintf("R   RSS: %.1f MB after warm-up, %.1f MB at the end: %+.2f%%\n",
            warm$r_kb / 1024, mean(tail_$r_kb) / 1024, g_r))
cat(sprintf("Go  RSS: %.1f MB after warm-up, %.1f MB at the end: %+.2f%%\n",
            warm$go_kb / 1024, mean(tail_$go_kb) / 1024, g_go))
if (bad > 0) cat("unexpected endings by step:", paste(names(lost), lost, sep = "=", collapse = ", "), "\n")
cat(sprintf("server: %d workers, %d busy at the end\n", as.integer(info$workers), as.integer(info$busy)))
pass <- bad == 0 && g_r < 5 && g_go < 5
cat(if (pass) "PASS" else "FAIL", "\n")
if (!pass) quit(status = 1L)
