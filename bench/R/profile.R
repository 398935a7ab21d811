# Profiles of the gaps: R's sampling profiler (Rprof + summaryRprof) on the
# small call and the 1e7 bulk call, and a Go CPU profile of the server
# (bench/go/profserver) answering the bulk calls.

scenario_profile <- function(ctx) {
  df <- data.frame(x = 1.5, y = 2.5)
  ctx$prof_small <- rprof_top(function() {
    for (i in seq_len(if (quick) 500 else 3000)) mangoro_rpc_call(ctx$srv, "add", df)
  }, interval = 0.001)
  big <- bulk_data("add", 1e7)
  ctx$prof_bulk <- rprof_top(function() {
    for (i in seq_len(if (quick) 2 else 5)) mangoro_rpc_call(ctx$srv, "add", big, timeout = 60000)
  }, interval = 0.005)

  prof <- tempfile("server-", fileext = ".pprof")
  srv <- mangoro_server_start(ctx$profserver, args = prof)
  strs <- bulk_data("echoString", 1e6)
  mid <- bulk_data("add", 1e6)
  for (i in seq_len(if (quick) 5 else 20)) mangoro_rpc_call(srv, "add", mid, timeout = 60000)
  for (i in seq_len(if (quick) 2 else 5)) mangoro_rpc_call(srv, "echoString", strs, timeout = 60000)
  for (i in seq_len(if (quick) 2 else 5)) mangoro_rpc_call(srv, "add", big, timeout = 60000)
  close(srv)
  res <- processx::run(mangoro_go_binary(),
                       c("tool", "pprof", "-top", "-nodecount=25", ctx$profserver, prof),
                       env = asNamespace("mangoro")$go_env(ctx$gocache), error_on_status = FALSE,
                       stderr_to_stdout = TRUE)
  ctx$prof_go <- res$stdout
  NULL
}

# Run f under Rprof; the top functions by self and total time.
rprof_top <- function(f, interval) {
  file <- tempfile("rprof-")
  Rprof(file, interval = interval)
  f()
  Rprof(NULL)
  s <- summaryRprof(file)
  list(self = utils::head(s$by.self, 12), total = utils::head(s$by.total, 15),
       time = s$sampling.time)
}
