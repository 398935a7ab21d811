# Small call: `add` on a 1-row frame. Floor: the same request bytes echoed
# raw by a Go rep socket over the same ipc transport. Peer: a mirai round trip.

scenario_small <- function(ctx) {
  df <- data.frame(x = 1.5, y = 2.5)
  # The bytes mangoro sends for this call (with its request header).
  msg <- mangoro:::call_message(mangoro:::rpc_target(ctx$srv), "add", df, NULL)
  attributes(msg) <- NULL
  stopifnot(identical(raw_echo(ctx$echo, msg), msg),
            identical(mangoro_rpc_call(ctx$srv, "add", df)$result, 4))
  mirai::daemons(1)
  stopifnot(identical(mirai::mirai(x + y, x = df$x, y = df$y)[], 4))
  x <- df$x
  y <- df$y
  calls <- list(
    mangoro = function() mangoro_rpc_call(ctx$srv, "add", df),
    floor = function() raw_echo(ctx$echo, msg),
    mirai = function() mirai::mirai(x + y, x = x, y = y)[]
  )
  # Interleaved: call i of each kind runs back to back, so a change in the
  # machine's load hits all three alike (the ratios are what count).
  n <- if (quick) 2000L else 10000L
  tm <- interleaved_times(calls, n)
  mem <- bench::mark(mangoro = calls$mangoro(), floor = calls$floor(), mirai = calls$mirai(),
                     min_iterations = 50, check = FALSE, filter_gc = FALSE)$mem_alloc
  stat <- function(i) c(median = stats::median(tm[, i]), p95 = unname(stats::quantile(tm[, i], 0.95)),
                        mem = as.numeric(mem[[i]]), n = nrow(tm))
  m <- stat(1)
  f <- stat(2)
  p <- stat(3)
  us <- 1e6
  ctx$small <- list(times = tm, msg_bytes = length(msg))
  rbind(
    row("small call (add, 1 row)", "median vs floor", m[["median"]] * us, "us",
        floor = f[["median"]] * us, peer = p[["median"]] * us, peer_name = "mirai",
        target = 1.3, target_on = "floor",
        note = sprintf("%d-byte message; %d calls of each, interleaved", length(msg), m[["n"]])),
    row("small call (add, 1 row)", "median vs mirai", m[["median"]] * us, "us",
        floor = f[["median"]] * us, peer = p[["median"]] * us, peer_name = "mirai",
        target = 0.5, target_on = "peer"),
    row("small call (add, 1 row)", "p95", m[["p95"]] * us, "us",
        floor = f[["p95"]] * us, peer = p[["p95"]] * us, peer_name = "mirai"),
    row("small call (add, 1 row)", "R memory per call", m[["mem"]], "bytes",
        floor = f[["mem"]], peer = p[["mem"]], peer_name = "mirai")
  )
}
