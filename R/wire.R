# The envelope every mangoro message travels in, specified in inst/WIRE.md.
# The C routines in src/envelope.c do the work; envelope_pack_r() and
# envelope_parse_r() are plain R versions of the same format, kept as the
# reference the tests compare the C code against.

envelope_type <- c(manifest = 0L, call = 1L, result = 2L, error = 3L, info = 4L)

#' Pack and unpack unsigned 32-bit integers (big-endian)
#'
#' The envelope stores lengths as unsigned 32-bit big-endian integers. These
#' helpers convert between R numbers and those 4 bytes.
#'
#' @param x Numeric or integer scalar; a whole number in `0..4294967295`.
#'   Doubles are accepted because R integers stop at 2^31 - 1.
#' @param raw4 Raw vector of exactly 4 bytes.
#' @return `mangoro_pack_int32()`: a raw vector of 4 bytes.
#'   `mangoro_unpack_int32()`: a double in `0..4294967295`.
#' @section Errors: `mangoro_input_error` for a negative, missing,
#'   non-integral or too large `x`, or `raw4` that is not 4 bytes.
#' @examples
#' mangoro_pack_int32(258)
#' mangoro_unpack_int32(mangoro_pack_int32(4294967295))
#' @export
mangoro_pack_int32 <- function(x) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < 0 ||
      x > 4294967295 || x != trunc(x)) {
    mangoro_abort(
      c("`x` must be one whole number in 0..4294967295.",
        sprintf("Got: %s.", format_value(x))),
      class = "mangoro_input_error"
    )
  }
  x <- as.double(x)
  as.raw(c(x %/% 16777216, (x %/% 65536) %% 256, (x %/% 256) %% 256, x %% 256))
}

#' @rdname mangoro_pack_int32
#' @export
mangoro_unpack_int32 <- function(raw4) {
  if (!is.raw(raw4) || length(raw4) != 4L) {
    mangoro_abort(
      c("`raw4` must be a raw vector of exactly 4 bytes.",
        sprintf("Got: %s.", format_value(raw4))),
      class = "mangoro_input_error"
    )
  }
  sum(as.double(as.integer(raw4)) * c(16777216, 65536, 256, 1))
}

format_value <- function(x) {
  if (is.null(x)) return("NULL")
  sprintf("%s of length %d%s", class(x)[1L], length(x),
          if (length(x) == 1L && is.atomic(x)) paste0(" (", format(x), ")") else "")
}

# Build an envelope in C: one allocation, one copy of the payload.
envelope_pack <- function(type, name = "", error = "", payload = NULL) {
  .Call(mangoro_c_envelope_pack, type, name, error, payload)
}

# The same in plain R (reference implementation for tests and the bench).
envelope_pack_r <- function(type, name = "", error = "", payload = NULL) {
  nm <- charToRaw(enc2utf8(if (is.null(name) || is.na(name)) "" else name))
  er <- charToRaw(enc2utf8(if (is.null(error) || is.na(error)) "" else error))
  c(as.raw(type), mangoro_pack_int32(length(nm)), nm,
    mangoro_pack_int32(length(er)), er, payload)
}

# Parse in C. Returns list(type, name, error, payload) (copy = TRUE) or
# list(type, name, error, offset, length); malformed input is a classed
# mangoro_protocol_error.
envelope_parse <- function(x, copy = TRUE) {
  if (!is.raw(x)) {
    mangoro_abort(c("A mangoro message must be a raw vector.",
                    sprintf("Got: %s.", format_value(x))),
                  class = "mangoro_protocol_error")
  }
  res <- .Call(mangoro_c_envelope_parse, x, copy)
  if (!is.null(res$status)) envelope_parse_abort(res$status, res$at, length(x))
  res
}

envelope_parse_abort <- function(status, at, n) {
  why <- switch(
    status,
    sprintf("it is %d bytes long, shorter than the 9-byte header", n),
    "its name length runs past the end of the message",
    "its error length runs past the end of the message",
    "its name or error contains a NUL byte",
    "its type byte is not one of 0 (manifest), 1 (call), 2 (result), 3 (error), 4 (info)",
    "its name or error is longer than 2^31 - 1 bytes"
  )
  mangoro_abort(
    c(sprintf("Malformed mangoro message: %s (byte %s).", why, format(at)),
      "The peer does not speak the mangoro wire format, or the message was truncated."),
    class = "mangoro_protocol_error"
  )
}

# Plain R parser with the same checks and results as the C one.
envelope_parse_r <- function(x) {
  n <- length(x)
  if (n < 9) envelope_parse_abort(1L, n, n)
  type <- as.integer(x[1L])
  if (type > 4L) envelope_parse_abort(5L, 0, n)
  nlen <- mangoro_unpack_int32(x[2:5])
  if (nlen > n - 9) envelope_parse_abort(2L, 1, n)
  epos <- 5 + nlen
  elen <- mangoro_unpack_int32(x[(epos + 1):(epos + 4)])
  if (elen > n - epos - 4) envelope_parse_abort(3L, epos, n)
  name <- x[seq_len(nlen) + 5]
  err <- x[seq_len(elen) + epos + 4]
  if (any(name == as.raw(0)) || any(err == as.raw(0))) envelope_parse_abort(4L, 5, n)
  ppos <- epos + 4 + elen
  utf8 <- function(r) { s <- rawToChar(r); Encoding(s) <- "UTF-8"; s }
  list(type = type, name = utf8(name), error = utf8(err),
       payload = if (ppos < n) x[(ppos + 1):n] else raw(0))
}

#' Build and parse mangoro RPC messages
#'
#' Low-level helpers for the mangoro wire format, for tests, debugging and
#' clients that manage their own sockets. [mangoro_rpc_call()] uses them.
#'
#' @details Every message is
#'   `[type:1 byte][name_len:uint32 BE][name][error_len:uint32 BE][error][payload]`
#'   with types 0 (manifest), 1 (call), 2 (result), 3 (error) and 4 (info).
#'   The payload of calls and results is one Arrow IPC stream.
#' @param func_name Character scalar; the name of the Go function to call.
#' @param data The arguments: a data.frame, a named list of equal-length
#'   vectors, a matrix or a nanoarrow array stream; see [mangoro_rpc_call()].
#' @return `mangoro_rpc_manifest_request()` and `mangoro_rpc_call_message()`:
#'   a raw vector ready to send.
#' @examples
#' mangoro_rpc_manifest_request()
#' msg <- mangoro_rpc_call_message("add", data.frame(x = 1, y = 2))
#' str(mangoro_rpc_parse_response(msg))
#' @export
mangoro_rpc_manifest_request <- function() {
  envelope_pack(envelope_type[["manifest"]])
}

#' @rdname mangoro_rpc_manifest_request
#' @export
mangoro_rpc_call_message <- function(func_name, data) {
  check_func_name(func_name)
  ipc_stream_with_header(data, envelope_header(envelope_type[["call"]], func_name))
}

mangoro_rpc_info_request <- function() {
  envelope_pack(envelope_type[["info"]])
}

envelope_header <- function(type, name = "", error = "") {
  .Call(mangoro_c_envelope_header, type, name, error)
}

check_func_name <- function(func_name) {
  if (!is.character(func_name) || length(func_name) != 1L || is.na(func_name) ||
      !nzchar(func_name)) {
    mangoro_abort(
      c("`func_name` must be one non-empty string, the name of a Go function.",
        sprintf("Got: %s.", format_value(func_name))),
      class = "mangoro_input_error"
    )
  }
}

#' @rdname mangoro_rpc_manifest_request
#' @param raw Raw vector; a whole message as received.
#' @return `mangoro_rpc_parse_response()`: a list with `type` (integer),
#'   `name` and `error` (character) and `payload` (raw). A truncated or
#'   malformed message is a `mangoro_protocol_error`; the parser checks every
#'   length against the message before reading.
#' @export
mangoro_rpc_parse_response <- function(raw) {
  envelope_parse(raw, copy = TRUE)
}

#' Send and receive raw mangoro messages
#'
#' Thin wrappers over nanonext's `send()` and `recv()` in raw mode, with a
#' timeout and classed errors. On a `req` socket, a send must be followed by
#' a receive.
#'
#' @param sock A nanonext socket or context (e.g. `nanonext::socket("req",
#'   dial = url)`), or a `mangoro_server`.
#' @param msg Raw vector; the message (see [mangoro_rpc_call_message()]).
#' @param timeout Numeric; milliseconds to wait. Default: option
#'   `mangoro.timeout` (10000 ms). `Inf` waits without limit.
#' @return `mangoro_rpc_send()`: `sock`, invisibly. `mangoro_rpc_recv()`: the
#'   message as a raw vector.
#' @section Errors: `mangoro_timeout_error` when the time runs out;
#'   `mangoro_server_gone` when the socket is closed.
#' @export
mangoro_rpc_send <- function(sock, msg, timeout = NULL) {
  con <- rpc_connection(sock)
  if (!is.raw(msg)) {
    mangoro_abort(c("`msg` must be a raw vector.", sprintf("Got: %s.", format_value(msg))),
                  class = "mangoro_input_error")
  }
  res <- nanonext::send(con, msg, mode = "raw", block = nng_timeout(timeout))
  if (nanonext::is_error_value(res) && res != 0L) {
    nng_abort(res, "send", sock)
  }
  invisible(sock)
}

#' @rdname mangoro_rpc_send
#' @export
mangoro_rpc_recv <- function(sock, timeout = NULL) {
  con <- rpc_connection(sock)
  res <- nanonext::recv(con, mode = "raw", block = nng_timeout(timeout))
  if (nanonext::is_error_value(res)) nng_abort(res, "receive", sock)
  res
}

# Milliseconds for nanonext: option mangoro.timeout, Inf => no limit (-1).
resolve_timeout <- function(timeout) {
  if (is.null(timeout)) timeout <- getOption("mangoro.timeout", 10000)
  if (!is.numeric(timeout) || length(timeout) != 1L || is.na(timeout) || timeout < 0) {
    mangoro_abort(
      c("`timeout` must be one non-negative number of milliseconds (or Inf).",
        sprintf("Got: %s.", format_value(timeout))),
      class = "mangoro_input_error"
    )
  }
  timeout
}

nng_timeout <- function(timeout) {
  timeout <- resolve_timeout(timeout)
  if (is.infinite(timeout)) TRUE else as.integer(min(timeout, .Machine$integer.max))
}
