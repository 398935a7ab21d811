# Bulk: `add` on two columns of 1e6 and 1e7 doubles and `echoString` on 1e6
# strings. Payload rate = (request bytes + reply bytes) / median time.
#
# Floors, each a real lower bound measured in the same run (0.1.0's "floor"
# of writeBin + readBin, a strsplit for strings, was slower than mangoro itself
# and is gone):
#   transport: half a raw echo of the request plus half a raw echo of the
#     reply (each echo moves its message both ways over the same ipc socket):
#     what the socket path costs before any encoding;
#   memory: one memcpy of the argument bytes into memory already faulted in
#     (a warm shared memory segment): handing R's vectors to another process
#     needs at least one copy, and none is cheaper (strings: their bytes);
#   local R: R computing the same result itself (x + y; for echoString, R's
#     own floor for making the strings: unserialize() of the same vector).
# Peer: mirai with the same data.

scenario_bulk <- function(ctx) {
  ctx$bulk <- list()
  cases <- list(
    list(name = "add, 2 x 1e6 doubles", func = "add", n = 1e6, iters = if (quick) 3 else 21),
    list(name = "add, 2 x 1e7 doubles", func = "add", n = 1e7, iters = if (quick) 2 else 9),
    list(name = "echoString, 1e6 strings", func = "echoString", n = 1e6, iters = if (quick) 2 else 5)
  )
  mirai::daemons(1)
  out <- lapply(cases, bulk_case, ctx = ctx)
  do.call(rbind, out)
}

bulk_data <- function(func, n) {
  if (func == "add") {
    return(data.frame(x = seq_len(n) + 0.5, y = rep_len(c(1.25, 2.5), n)))
  }
  data.frame(s = sprintf("s%07d-%s", seq_len(n), rep_len(c("alpha", "beta", "gamma"), n)), stringsAsFactors = FALSE)
}

bulk_case <- function(case, ctx) {
  step("  ", case$name)
  df <- bulk_data(case$func, case$n)
  msg <- mangoro_rpc_call_message(case$func, df)
  reply <- mangoro_rpc_send(ctx$srv, msg)
  reply <- mangoro_rpc_recv(ctx$srv, timeout = 60000)
  env <- mangoro_rpc_parse_response(reply)
  stopifnot(env$type == 2L)
  bytes <- length(msg) + length(reply)
  payload_in <- sum(vapply(df, function(col) {
    if (is.character(col)) sum(nchar(col, type = "bytes")) + 4 * length(col) else 8 * length(col)
  }, 0))

  is_add <- case$func == "add"
  x <- df[[1L]] # add's x, echoString's s
  y <- if (is_add) df$y
  result_len <- length(x)
  ns <- asNamespace("mangoro")
  arg_bytes <- if (is_add) c(8 * length(x), 8 * length(y)) else sum(nchar(x, type = "bytes"))
  warm <- ns$shm_create(sum(arg_bytes))
  on.exit(ns$shm_unlink(attr(warm, "name")), add = TRUE)
  str_bytes <- if (!is_add) unlist(lapply(x, charToRaw), use.names = FALSE)
  memory_floor <- if (is_add) {
    function() { ns$shm_write(warm, 0, x); ns$shm_write(warm, arg_bytes[[1L]], y) }
  } else {
    function() ns$shm_write(warm, 0, str_bytes)
  }
  ser <- if (!is_add) serialize(x, NULL)
  local_r <- if (is_add) function() x + y else function() unserialize(ser)
  peer <- if (is_add) {
    function() mirai::mirai(x + y, x = x, y = y)[]
  } else {
    function() mirai::mirai(x, x = x)[]
  }
  # Correctness once, outside the timings.
  got <- mangoro_rpc_call(ctx$srv, case$func, df, timeout = 60000)$result
  stopifnot(identical(got, if (is_add) x + y else x), identical(peer(), got))

  it <- case$iters
  idx <- round(seq(1, result_len, length.out = 10))
  call <- function() mangoro_rpc_call(ctx$srv, case$func, df, timeout = 60000)
  # mangoro's default path: shared memory on this ipc server above the
  # threshold (R/shm.R), lazy string results (src/ipc_read.c).
  calls <- list(
    mangoro = call,
    mangoro_socket = function() withr::with_options(list(mangoro.shm_threshold = Inf), call()),
    mangoro_use_10 = function() call()$result[idx],
    mangoro_use_all = function() .Call(ns$mangoro_c_lazy_materialize, call()$result),
    eager_use_10 = function() withr::with_options(list(mangoro.lazy_strings = FALSE, mangoro.shm_threshold = Inf),
                                                  call())$result[idx],
    echo_request = function() raw_echo(ctx$echo, msg),
    echo_reply = function() raw_echo(ctx$echo, reply),
    memory_copy = memory_floor,
    local_r = local_r,
    mirai = peer
  )
  if (is_add) calls[c("mangoro_use_10", "mangoro_use_all", "eager_use_10")] <- NULL
  # Timings interleaved round by round (common.R), so the VM's swings in
  # page-fault cost hit the call and its floors alike; memory from one more
  # run of each (R's allocations are the same every time).
  tm <- interleaved_times(calls, it, warmup = 1L)
  mem <- vapply(calls, function(f) as.numeric(bench::mark(f(), iterations = 1, check = FALSE,
                                                          filter_gc = FALSE, memory = TRUE)$mem_alloc), 0)
  s <- lapply(names(calls), function(nm) c(median = stats::median(tm[, nm]),
                                           p95 = unname(stats::quantile(tm[, nm], 0.95)),
                                           mem = mem[[nm]], n = it))
  names(s) <- names(calls)
  floor_t <- (s$echo_request[["median"]] + s$echo_reply[["median"]]) / 2
  t <- s$mangoro[["median"]]
  gbps <- function(sec) bytes / sec / 1e9

  # gc()-based peak: the most R heap the call needed above what was in use.
  invisible(gc(reset = TRUE))
  before <- sum(gc()[, 2L])
  res <- mangoro_rpc_call(ctx$srv, case$func, df, timeout = 60000)
  peak <- (sum(gc()[, 6L]) - before) * 1024^2 # "max used" (Mb) columns
  rm(res)

  ctx$bulk[[case$name]] <- list(times = tm, bytes = bytes, floor = floor_t)
  rows <- rbind(
    row(case$name, "payload rate", gbps(t), "GB/s", floor = gbps(floor_t),
        peer = gbps(s$mirai[["median"]]), peer_name = "mirai", target = 2, direction = ">=",
        note = sprintf("%s MB in + %s MB out; median %.1f ms over %d",
                       fmt_mb(length(msg)), fmt_mb(length(reply)), t * 1e3, it)),
    row(case$name, "time vs transport floor", t * 1e3, "ms", floor = floor_t * 1e3,
        peer = s$mirai[["median"]] * 1e3, peer_name = "mirai",
        note = sprintf("transport floor = raw echo of request and reply %.1f ms", floor_t * 1e3)),
    row(case$name, "time vs memory floor", t * 1e3, "ms", floor = s$memory_copy[["median"]] * 1e3,
        note = sprintf("memory floor = one memcpy of the %s MB of arguments into warm memory",
                       fmt_mb(sum(arg_bytes)))),
    row(case$name, if (is_add) "time vs R computing x + y" else "time vs R's unserialize() floor",
        t * 1e3, "ms", floor = s$local_r[["median"]] * 1e3,
        target = if (is_add && case$n == 1e7) 2.5 else NA, target_on = "floor",
        note = if (is_add) "issue 13 goal at 1e7: <= 2.5x" else "R making the same strings itself"),
    row(case$name, "R memory allocated (mem_alloc)", s$mangoro[["mem"]], "bytes",
        floor = 8 * result_len, peer = s$mirai[["mem"]], peer_name = "mirai",
        target = if (is_add && case$n == 1e7) 1.2 else NA, target_on = "floor",
        note = "floor = the result vector's bytes; issue 13 goal at 1e7: <= 1.2x"),
    row(case$name, "time vs mirai", t * 1e3, "ms", peer = s$mirai[["median"]] * 1e3, peer_name = "mirai",
        target = if (is_add && case$n == 1e7) 1 / 3 else NA, target_on = "peer",
        note = if (is_add && case$n == 1e7) "issue 13 goal: >= 3x faster than mirai" else ""),
    row(case$name, "shm path vs socket path", t * 1e3, "ms", floor = s$mangoro_socket[["median"]] * 1e3,
        note = "floor column = the socket path (mangoro.shm_threshold = Inf), same run"),
    row(case$name, "R peak heap / argument bytes (gc)", peak / payload_in, "x",
        note = sprintf("peak %s MB for %s MB of arguments", fmt_mb(peak), fmt_mb(payload_in)))
  )
  if (!is_add) {
    rows <- rbind(rows,
      row(case$name, "use 10 returned strings vs 0.1.0's eager path", s$mangoro_use_10[["median"]] * 1e3, "ms",
          floor = s$eager_use_10[["median"]] * 1e3, target = 0.2, target_on = "floor",
          note = "floor column = mangoro.lazy_strings = FALSE, socket; issue 13 goal: >= 5x faster"),
      row(case$name, "use all returned strings vs unserialize()", s$mangoro_use_all[["median"]] * 1e3, "ms",
          floor = s$local_r[["median"]] * 1e3, target = 1.2, target_on = "floor",
          note = "the whole call, materialized, against R making the strings alone; goal <= 1.2x"))
  }
  if (case$n == 1e7 && is_add) {
    rows <- rbind(rows, row(case$name, "memory: mem_alloc / argument bytes",
                            s$mangoro[["mem"]] / payload_in, "x", target = 3,
                            note = sprintf("%s MB allocated for %s MB of arguments",
                                           fmt_mb(s$mangoro[["mem"]]), fmt_mb(payload_in))))
  }
  rows
}

fmt_mb <- function(b) format(round(b / 1e6, 1), nsmall = 1)
