# Native framing: bench/envelope.R (C envelope code against the pure-R
# reference) on 1 KB, 1 MB and 100 MB payloads.

scenario_native <- function(ctx) {
  env <- new.env()
  utils::capture.output(sys.source(file.path(ctx$bench_dir, "envelope.R"), envir = env))
  out <- env$out
  rows <- list()
  for (label in unique(out$payload)) {
    for (op in c("pack", "parse")) {
      d <- out[out$payload == label & out$op == op, ]
      c_t <- d$median_s[d$impl == "C"]
      r_t <- d$median_s[d$impl == "R"]
      rows[[length(rows) + 1L]] <- row(
        "native framing", sprintf("%s %s, C", op, label), c_t * 1e6, "us",
        peer = r_t * 1e6, peer_name = "pure R",
        note = sprintf("C %s vs R %s allocated%s", fmt_bytes(d$mem_bytes[d$impl == "C"]),
                       fmt_bytes(d$mem_bytes[d$impl == "R"]),
                       if (op == "parse") sprintf("; C without payload copy %.1f us",
                                                  d$median_s[d$impl == "C_nocopy"] * 1e6) else ""))
    }
  }
  do.call(rbind, rows)
}

fmt_bytes <- function(b) {
  b <- unname(b)
  # bench's formatter fails below one byte (a per-call share of an allocation)
  if (length(b) == 1L && (!is.finite(b) || abs(b) < 1)) return(paste(signif(b, 3), "B"))
  format(bench::as_bench_bytes(b))
}
