# Shared set-up for the bench scenarios: binaries, servers, timing helpers and
# the row format every scenario returns.

# Every script sources this file first, having set bench_dir (see bench/run.R).
suppressPackageStartupMessages({
  library(mangoro)
  library(bench)
})

# Source more files of bench/R into the global environment.
bench_source <- function(...) {
  for (f in c(...)) source(file.path(bench_dir, "R", f), local = globalenv())
}

quick <- nzchar(Sys.getenv("MANGORO_BENCH_QUICK"))

step <- function(...) message(format(Sys.time(), "[%H:%M:%S] "), ...)

mclock_ms <- function() as.double(nanonext::mclock())

# Time an expression in milliseconds on the monotonic clock.
time_ms <- function(expr) {
  t0 <- mclock_ms()
  force(expr)
  mclock_ms() - t0
}

# A run's context before any build: where binaries go and the Go cache.
bench_context <- function(bench_dir) {
  ctx <- new.env()
  ctx$bench_dir <- bench_dir
  ctx$bin_dir <- file.path(tempdir(), "bench-bin")
  dir.create(ctx$bin_dir, showWarnings = FALSE)
  gc <- Sys.getenv("MANGORO_GOCACHE")
  ctx$gocache <- if (nzchar(gc)) gc else NULL
  ctx
}

# Build the programs once; rebuilds are scenarios of their own.
bench_setup <- function(bench_dir) {
  ctx <- bench_context(bench_dir)
  ctx$example_src <- system.file("go", "cmd", "rpc-example", package = "mangoro")
  build <- function(src, name) {
    step("building ", name)
    mangoro_go_build(src, out = file.path(ctx$bin_dir, name), gocache = ctx$gocache, quiet = TRUE)
  }
  ctx$example <- build(ctx$example_src, "rpc-example")
  ctx$rawecho <- build(file.path(bench_dir, "go", "rawecho"), "rawecho")
  ctx$profserver <- build(file.path(bench_dir, "go", "profserver"), "profserver")
  ctx$spinfloor <- build(file.path(bench_dir, "go", "spinfloor"), "spinfloor")
  ctx$srv <- mangoro_server_start(ctx$example)
  ctx$echo <- start_rawecho(ctx$rawecho)
  ctx
}

bench_teardown <- function(ctx) {
  if (!is.null(ctx$srv)) close(ctx$srv)
  if (!is.null(ctx$echo)) close_rawecho(ctx$echo)
  ctx$srv <- ctx$echo <- NULL
  try(mirai::daemons(0), silent = TRUE)
  invisible()
}

# The floor server: started like a mangoro server (ready line on stdout,
# exit on stdin EOF) but dialled with a bare nanonext req socket, since it
# answers every message, manifest requests included, with the message itself.
# It runs on one P (GOMAXPROCS=1): one caller at a time is answered fastest
# that way, 10 us sooner per small echo and 40 % sooner for 160 MB on the
# 2-core VM (bench/PROFILE.md, round four), and a floor must be the fastest
# echo there is (mangoro's Main also runs on one P while quiet).
start_rawecho <- function(binary) {
  url <- create_ipc_path("rawecho")
  proc <- processx::process$new(
    binary, url, stdin = "|", stdout = "|", stderr = tempfile("rawecho-", fileext = ".log"),
    env = c("current", MANGORO_READY = "stdout", MANGORO_PARENT = "stdin", GOMAXPROCS = "1"), cleanup = TRUE
  )
  repeat {
    state <- proc$poll_io(10000)[["output"]]
    if (state == "ready" && any(grepl("^mangoro-ready ", proc$read_output_lines()))) break
    if (state != "ready") stop("rawecho did not start: ", state)
  }
  sock <- nanonext::socket("req", dial = url)
  list(proc = proc, url = url, sock = sock, ctx = nanonext::context(sock))
}

close_rawecho <- function(echo) {
  try(close(echo$sock), silent = TRUE)
  echo$proc$signal(tools::SIGTERM)
  echo$proc$wait(2000)
  if (echo$proc$is_alive()) echo$proc$kill()
}

# One raw round trip on the floor server: the bytes go out and come back.
raw_echo <- function(echo, msg) {
  nanonext::collect_aio(nanonext::request(echo$ctx, msg, send_mode = "raw",
                                          recv_mode = "raw", timeout = 60000))
}

# Seconds taken by each of `n` rounds of `calls` (a named list of functions),
# the calls of a round one after another, in an order that turns each round
# (so each call follows each other one as often): a matrix, one column per
# call.
interleaved_times <- function(calls, n, warmup = 100L) {
  for (i in seq_len(warmup)) for (f in calls) f()
  k <- length(calls)
  tm <- matrix(0, n, k, dimnames = list(NULL, names(calls)))
  for (i in seq_len(n)) {
    for (j in (seq_len(k) + i) %% k + 1L) {
      t0 <- bench::hires_time()
      calls[[j]]()
      tm[i, j] <- bench::hires_time() - t0
    }
  }
  tm
}

# Median and p95 of a bench::mark row, in seconds.
bm_stats <- function(bm, i) {
  t <- as.numeric(bm$time[[i]])
  c(median = stats::median(t), p95 = unname(stats::quantile(t, 0.95)),
    mem = as.numeric(bm$mem_alloc[[i]]), n = length(t))
}

# A result row. `direction` is "<=" (value must not exceed target) or ">="; NA
# target = informational. `ratio_floor` / `ratio_peer` are value / floor and
# value / peer, computed in the same run.
row <- function(scenario, metric, value, unit, floor = NA, peer = NA, peer_name = "",
                target = NA, direction = "<=", target_on = "value", note = "") {
  ratio_floor <- if (is.na(floor)) NA else value / floor
  ratio_peer <- if (is.na(peer)) NA else value / peer
  checked <- switch(target_on, value = value, floor = ratio_floor, peer = ratio_peer)
  pass <- if (is.na(target)) NA else if (direction == "<=") checked <= target else checked >= target
  # Margin: how far from the target, as a factor (> 1 = worse than target).
  score <- if (is.na(target)) NA else if (direction == "<=") checked / target else target / checked
  data.frame(scenario = scenario, metric = metric, value = value, unit = unit,
             floor = floor, ratio_floor = ratio_floor, peer = peer, peer_name = peer_name,
             ratio_peer = ratio_peer, target = target, direction = direction,
             target_on = target_on, checked = checked, pass = pass, score = score,
             note = note, stringsAsFactors = FALSE)
}
