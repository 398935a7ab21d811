# Concurrency: 16 calls of a 100 ms sleep in flight at once (aio API) against
# one such call; and the CPU-bound `spin` on servers limited to 1 and 2 cores.

scenario_concurrency <- function(ctx) {
  srv <- ctx$srv
  sleep <- data.frame(ms = 100)
  reps <- if (quick) 2 else 5
  one <- stats::median(replicate(reps, time_ms(mangoro_rpc_call(srv, "sleep", sleep))))
  sixteen <- stats::median(replicate(reps, time_ms({
    aios <- lapply(1:16, function(i) mangoro_rpc_call_aio(srv, "sleep", sleep))
    res <- mangoro_aio_result(aios)
    stopifnot(all(vapply(res, function(r) r$result, 0) == 100))
  })))
  # Peer: 16 one-off sleeps on 16 mirai daemons, against one on the same pool.
  mirai::daemons(16)
  mirai::everywhere(NULL)[]
  m_one <- stats::median(replicate(reps, time_ms(mirai::mirai(Sys.sleep(0.1))[])))
  m16 <- stats::median(replicate(reps, time_ms({
    ms <- lapply(1:16, function(i) mirai::mirai(Sys.sleep(0.1)))
    invisible(lapply(ms, `[`))
  })))
  mirai::daemons(0)

  spin <- spin_scaling(ctx)
  rbind(
    row("concurrency: 16 x sleep(100 ms) in flight", "wall time / one call", sixteen, "ms",
        floor = one, peer = m16 / m_one * one, peer_name = "mirai x16 (scaled)",
        target = 1.5, target_on = "floor",
        note = sprintf("one call %.1f ms; mirai: 16 on 16 daemons %.1f ms vs one %.1f ms",
                       one, m16, m_one)),
    spin
  )
}

# Calibrate n so one spin takes ~250 ms, then time 1 call and 2 concurrent
# calls on servers started with GOMAXPROCS = 1 and 2.
spin_scaling <- function(ctx) {
  probe <- 2e7
  t <- time_ms(mangoro_rpc_call(ctx$srv, "spin", data.frame(n = probe), timeout = 60000))
  n <- round(probe * 250 / max(t, 1))
  arg <- data.frame(n = n)
  reps <- if (quick) 2 else 3
  res <- list()
  floor <- list()
  for (procs in 1:2) {
    srv <- mangoro_server_start(ctx$example, env = c(GOMAXPROCS = as.character(procs)))
    one <- stats::median(replicate(reps, time_ms(mangoro_rpc_call(srv, "spin", arg, timeout = 60000))))
    two <- stats::median(replicate(reps, time_ms({
      aios <- lapply(1:2, function(i) mangoro_rpc_call_aio(srv, "spin", arg, timeout = 60000))
      mangoro_aio_result(aios)
    })))
    close(srv)
    res[[procs]] <- c(one = one, two = two)
    # Floor: the same loop in plain Go, once and twice in parallel.
    f <- replicate(reps, {
      out <- processx::run(ctx$spinfloor, format(n, scientific = FALSE),
                           env = c("current", GOMAXPROCS = as.character(procs)))$stdout
      as.numeric(strsplit(trimws(out), " ")[[1]])
    })
    floor[[procs]] <- c(one = stats::median(f[1, ]), two = stats::median(f[2, ]))
  }
  speedup <- res[[1]][["two"]] / res[[2]][["two"]]
  floor_speedup <- floor[[1]][["two"]] / floor[[2]][["two"]]
  rbind(
    row("concurrency: 2 x spin, GOMAXPROCS=1", "wall time of 2 concurrent calls", res[[1]][["two"]], "ms",
        floor = floor[[1]][["two"]],
        note = sprintf("n = %.3g; one call %.0f ms (plain Go %.0f ms); floor = 2 goroutines in plain Go",
                       n, res[[1]][["one"]], floor[[1]][["one"]])),
    row("concurrency: 2 x spin, GOMAXPROCS=2", "wall time of 2 concurrent calls", res[[2]][["two"]], "ms",
        floor = floor[[2]][["two"]],
        note = sprintf("one call %.0f ms (plain Go %.0f ms); 2 calls / 1 call = %.2f (plain Go %.2f, ideal 1.0)",
                       res[[2]][["one"]], floor[[2]][["one"]], res[[2]][["two"]] / res[[2]][["one"]],
                       floor[[2]][["two"]] / floor[[2]][["one"]])),
    row("concurrency: 2 x spin", "speed-up 2 cores vs 1", speedup, "x", floor = floor_speedup,
        note = "ideal 2.0; floor = the same speed-up of the plain Go loop on this machine")
  )
}
