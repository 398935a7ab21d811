# Start-up: spawn to first answered call (start + one `add`). Floor: the raw
# echo server spawned to its first echo. Peer: mirai daemons(1) to its first
# answered mirai.

scenario_startup <- function(ctx) {
  df <- data.frame(x = 1.5, y = 2.5)
  msg <- mangoro_rpc_call_message("add", df)
  runs <- if (quick) 3 else 10
  mangoro_t <- replicate(runs, {
    t <- time_ms({
      srv <- mangoro_server_start(ctx$example)
      mangoro_rpc_call(srv, "add", df)
    })
    close(srv)
    t
  })
  floor_t <- replicate(runs, {
    t <- time_ms({
      echo <- start_rawecho(ctx$rawecho)
      raw_echo(echo, msg)
    })
    close_rawecho(echo)
    t
  })
  mirai_t <- replicate(min(runs, 5), {
    t <- time_ms({
      mirai::daemons(1)
      mirai::mirai(x + y, x = 1.5, y = 2.5)[]
    })
    mirai::daemons(0)
    t
  })
  row("start-up", "spawn to first answer (median)", stats::median(mangoro_t), "ms",
      floor = stats::median(floor_t), peer = stats::median(mirai_t), peer_name = "mirai daemons(1)",
      target = 200,
      note = sprintf("%d runs; p95 %.1f ms; start = process, ready line, manifest + info requests",
                     runs, stats::quantile(mangoro_t, 0.95)))
}
