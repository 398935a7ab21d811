# Small call: `add` on a 1-row frame. Floor: the same envelope bytes echoed
# raw by a Go rep socket over the same ipc transport. Peer: a mirai round trip.

scenario_small <- function(ctx) {
  df <- data.frame(x = 1.5, y = 2.5)
  msg <- mangoro_rpc_call_message("add", df)
  stopifnot(identical(raw_echo(ctx$echo, msg), msg),
            identical(mangoro_rpc_call(ctx$srv, "add", df)$result, 4))
  mirai::daemons(1)
  stopifnot(identical(mirai::mirai(x + y, x = df$x, y = df$y)[], 4))
  x <- df$x
  y <- df$y
  n <- if (quick) 50 else 200
  bm <- bench::mark(
    mangoro = mangoro_rpc_call(ctx$srv, "add", df),
    floor = raw_echo(ctx$echo, msg),
    mirai = mirai::mirai(x + y, x = x, y = y)[],
    min_iterations = n, max_iterations = n * 5, min_time = 1,
    check = FALSE, time_unit = "us", filter_gc = FALSE
  )
  m <- bm_stats(bm, 1)
  f <- bm_stats(bm, 2)
  p <- bm_stats(bm, 3)
  us <- 1e6
  ctx$small <- list(bm = bm, msg_bytes = length(msg))
  rbind(
    row("small call (add, 1 row)", "median vs floor", m[["median"]] * us, "us",
        floor = f[["median"]] * us, peer = p[["median"]] * us, peer_name = "mirai",
        target = 1.3, target_on = "floor",
        note = sprintf("%d-byte message; %d iterations", length(msg), m[["n"]])),
    row("small call (add, 1 row)", "median vs mirai", m[["median"]] * us, "us",
        floor = f[["median"]] * us, peer = p[["median"]] * us, peer_name = "mirai",
        target = 0.5, target_on = "peer"),
    row("small call (add, 1 row)", "p95", m[["p95"]] * us, "us",
        floor = f[["p95"]] * us, peer = p[["p95"]] * us, peer_name = "mirai"),
    row("small call (add, 1 row)", "R memory per call", m[["mem"]], "bytes",
        floor = f[["mem"]], peer = p[["mem"]], peer_name = "mirai")
  )
}
