# Time against payload size for `add` (x and y doubles: payload = 16 bytes a
# row, 1 KB ... 1 GB), each path next to its floors in the same run:
#   socket      mangoro_rpc_call(srv, "add", df) with mangoro.shm_threshold = Inf:
#               Arrow over NNG both ways
#   shm         the same with mangoro.shm_threshold = 0: arguments through the
#               warm arena (R/shm.R), result over NNG
#   transport   raw NNG echo (bench/go/rawecho) of the same request message
#               over ipc: what moving those bytes out and back costs
#   memcpy      one memcpy of the payload bytes into memory already faulted
#               in (a warm segment): any design that hands R's vectors to
#               another process copies them at least once, and no copy is
#               cheaper than this one (a real lower bound; fresh memory costs
#               more, see the shm rows)
#   local R     x + y in this R session (no second process at all)
#   mirai       mirai::mirai(x + y, x = x, y = y)[] on one daemon
#   shm proto   the round-one shm pieces without Arrow: R writes x, y into a
#               fresh segment, shm-peer adds into another, R maps the result
#               as an ALTREP vector (tests/testthat/go/shm-peer, op 'a')

scenario_payload <- function(ctx, sizes = 10^(3:9), peer = NULL) {
  ns <- asNamespace("mangoro")
  out <- list()
  for (p in sizes) {
    n <- max(1, round(p / 16))
    step(sprintf("  payload %s (%s rows)", format_bytes(16 * n), format(n, big.mark = ",")))
    x <- seq_len(n) + 0.5
    y <- rep_len(c(1.25, 2.5), n)
    df <- data.frame(x = x, y = y)
    msg <- mangoro_rpc_call_message("add", df)
    warm <- ns$shm_create(16 * n)
    big <- p >= 1e9
    it <- if (big) 2L else if (p >= 1e8) 3L else NULL
    args <- list(
      socket = quote(withr::with_options(list(mangoro.shm_threshold = Inf),
                                         mangoro_rpc_call(ctx$srv, "add", df, timeout = 120000))),
      shm = quote(withr::with_options(list(mangoro.shm_threshold = 0),
                                      mangoro_rpc_call(ctx$srv, "add", df, timeout = 120000))),
      transport = quote(raw_echo(ctx$echo, msg)),
      memcpy = quote({ ns$shm_write(warm, 0, x); ns$shm_write(warm, 8 * n, y) }),
      local_r = quote(x + y),
      mirai = quote(mirai::mirai(x + y, x = x, y = y)[]),
      shm_proto = quote(shm_add_call(peer, x, y))
    )
    if (is.null(peer)) args$shm_proto <- NULL
    bm <- if (is.null(it)) {
      do.call(bench::mark, c(args, list(min_time = if (quick) 0.1 else 0.3, min_iterations = 3,
                                        max_iterations = 2000, check = FALSE, filter_gc = FALSE,
                                        memory = FALSE)))
    } else {
      do.call(bench::mark, c(args, list(iterations = it, check = FALSE, filter_gc = FALSE,
                                        memory = FALSE)))
    }
    ns$shm_unlink(attr(warm, "name"))
    rm(warm, x, y, df, msg)
    invisible(gc())
    out[[length(out) + 1L]] <- data.frame(
      payload = 16 * n, what = as.character(bm$expression),
      median_s = vapply(bm$time, function(t) stats::median(as.numeric(t)), 0),
      min_s = vapply(bm$time, function(t) min(as.numeric(t)), 0),
      iterations = vapply(bm$time, length, 0L), stringsAsFactors = FALSE
    )
  }
  do.call(rbind, out)
}

format_bytes <- function(b) {
  u <- c("B", "KB", "MB", "GB")
  k <- pmin(floor(log10(pmax(b, 1)) / 3), 3)
  sprintf("%g %s", signif(b / 1000^k, 3), u[k + 1])
}

# Plots the fastest iteration of each path: on a shared, loaded machine the
# minimum is the best estimate of what a path costs by itself (the median
# holds the time slices other jobs took); FLOORS.md gives both.
plot_payload <- function(res, file) {
  res$median_s <- res$min_s
  grDevices::png(file, width = 1000, height = 640, res = 110)
  on.exit(grDevices::dev.off())
  whats <- c("socket", "shm", "shm_proto", "mirai", "transport", "local_r", "memcpy")
  labels <- c(socket = "mangoro socket path (add)", shm = "mangoro shared memory path (add, warm arena)", shm_proto = "shm pieces, no Arrow (round one)",
              mirai = "mirai (x + y on a daemon)", transport = "transport floor: raw NNG echo of the message",
              local_r = "R: x + y locally", memcpy = "memory floor: one memcpy, warm pages")
  cols <- c(socket = "#d62728", shm = "#8c564b", shm_proto = "#9467bd", mirai = "#ff7f0e", transport = "#7f7f7f",
            local_r = "#2ca02c", memcpy = "#1f77b4")
  whats <- intersect(whats, unique(res$what))
  graphics::par(mar = c(4.5, 6, 2.5, 1))
  graphics::plot(range(res$payload), range(res$median_s), log = "xy", type = "n", xaxt = "n", yaxt = "n",
                 xlab = "payload (x and y doubles)", ylab = "",
                 main = "add: time against payload size (one run, shared 2-core VM)")
  graphics::mtext("time per call (fastest of the iterations)", side = 2, line = 4.5)
  xt <- 10^(3:9)
  graphics::axis(1, at = xt, labels = format_bytes(xt))
  yt <- 10^(-7:2)
  graphics::axis(2, at = yt, labels = c("100 ns", "1 us", "10 us", "100 us", "1 ms", "10 ms", "100 ms",
                                        "1 s", "10 s", "100 s"), las = 1)
  graphics::abline(h = yt, v = xt, col = "grey90")
  for (w in whats) {
    r <- res[res$what == w, ]
    graphics::lines(r$payload, r$median_s, type = "b", pch = 19, col = cols[[w]], lwd = 2,
                    lty = if (w %in% c("transport", "memcpy", "local_r")) 2 else 1)
  }
  graphics::legend("topleft", legend = labels[whats], col = cols[whats], lwd = 2, pch = 19,
                   lty = ifelse(whats %in% c("transport", "memcpy", "local_r"), 2, 1), bg = "white",
                   cex = 0.85)
}
