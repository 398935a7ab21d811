# Bulk: `add` on two columns of 1e6 and 1e7 doubles and `echoString` on 1e6
# strings. Payload rate = (request bytes + reply bytes) / median time.
#
# Floor = transport + the copies no client can avoid:
#   transport: half a raw echo of the request plus half a raw echo of the
#     reply (each echo moves its message both ways over the same ipc socket);
#   encode: one copy of the argument vectors into bytes (writeBin; strings:
#     charToRaw(paste(collapse)));
#   decode: one copy of the result bytes into an R vector (readBin; strings:
#     strsplit of one buffer, a CHARSXP per string).
# Peer: mirai with the same data.

scenario_bulk <- function(ctx) {
  ctx$bulk <- list()
  cases <- list(
    list(name = "add, 2 x 1e6 doubles", func = "add", n = 1e6, iters = if (quick) 3 else 15),
    list(name = "add, 2 x 1e7 doubles", func = "add", n = 1e7, iters = if (quick) 2 else 5),
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
  # Strings: one pass that copies every string's bytes out (encode) and one
  # that makes a CHARSXP per string from a byte buffer (decode).
  encode_floor <- if (is_add) {
    function() { writeBin(x, raw()); writeBin(y, raw()) }
  } else {
    function() charToRaw(paste(x, collapse = "\n"))
  }
  res_bytes <- if (is_add) env$payload else charToRaw(paste(x, collapse = "\n"))
  decode_floor <- if (is_add) {
    function() readBin(res_bytes, "double", n = result_len)
  } else {
    function() strsplit(rawToChar(res_bytes), "\n", fixed = TRUE)[[1L]]
  }
  peer <- if (is_add) {
    function() mirai::mirai(x + y, x = x, y = y)[]
  } else {
    function() mirai::mirai(x, x = x)[]
  }
  # Correctness once, outside the timings.
  got <- mangoro_rpc_call(ctx$srv, case$func, df, timeout = 60000)$result
  stopifnot(identical(got, if (is_add) x + y else x), identical(peer(), got))

  it <- case$iters
  mark <- function(...) bench::mark(..., iterations = it, check = FALSE, filter_gc = FALSE,
                                    memory = TRUE)
  bm <- mark(
    mangoro = mangoro_rpc_call(ctx$srv, case$func, df, timeout = 60000),
    echo_request = raw_echo(ctx$echo, msg),
    echo_reply = raw_echo(ctx$echo, reply),
    encode_copy = encode_floor(),
    decode_copy = decode_floor(),
    mirai = peer()
  )
  s <- lapply(seq_len(nrow(bm)), function(i) bm_stats(bm, i))
  names(s) <- as.character(bm$expression)
  floor_t <- (s$echo_request[["median"]] + s$echo_reply[["median"]]) / 2 +
    s$encode_copy[["median"]] + s$decode_copy[["median"]]
  t <- s$mangoro[["median"]]
  gbps <- function(sec) bytes / sec / 1e9

  # gc()-based peak: the most R heap the call needed above what was in use.
  invisible(gc(reset = TRUE))
  before <- sum(gc()[, 2L])
  res <- mangoro_rpc_call(ctx$srv, case$func, df, timeout = 60000)
  peak <- (sum(gc()[, 6L]) - before) * 1024^2 # "max used" (Mb) columns
  rm(res)

  ctx$bulk[[case$name]] <- list(bm = bm, bytes = bytes, floor = floor_t)
  rows <- rbind(
    row(case$name, "payload rate", gbps(t), "GB/s", floor = gbps(floor_t),
        peer = gbps(s$mirai[["median"]]), peer_name = "mirai", target = 2, direction = ">=",
        note = sprintf("%s MB in + %s MB out; median %.1f ms over %d",
                       fmt_mb(length(msg)), fmt_mb(length(reply)), t * 1e3, it)),
    row(case$name, "rate vs floor", gbps(t), "GB/s", floor = gbps(floor_t),
        peer = gbps(s$mirai[["median"]]), peer_name = "mirai", target = 0.5,
        direction = ">=", target_on = "floor",
        note = sprintf("floor %.1f ms = echo %.1f + encode %.1f + decode %.1f",
                       floor_t * 1e3, (s$echo_request[["median"]] + s$echo_reply[["median"]]) / 2 * 1e3,
                       s$encode_copy[["median"]] * 1e3, s$decode_copy[["median"]] * 1e3)),
    row(case$name, "R memory allocated (mem_alloc)", s$mangoro[["mem"]], "bytes",
        floor = s$echo_request[["mem"]] / 2 + s$echo_reply[["mem"]] / 2 +
          s$encode_copy[["mem"]] + s$decode_copy[["mem"]],
        peer = s$mirai[["mem"]], peer_name = "mirai"),
    row(case$name, "R peak heap / argument bytes (gc)", peak / payload_in, "x",
        note = sprintf("peak %s MB for %s MB of arguments", fmt_mb(peak), fmt_mb(payload_in)))
  )
  if (case$n == 1e7 && is_add) {
    rows <- rbind(rows, row(case$name, "memory: mem_alloc / argument bytes",
                            s$mangoro[["mem"]] / payload_in, "x", target = 3,
                            note = sprintf("%s MB allocated for %s MB of arguments",
                                           fmt_mb(s$mangoro[["mem"]]), fmt_mb(payload_in))))
  }
  rows
}

fmt_mb <- function(b) format(round(b / 1e6, 1), nsmall = 1)
