# The message layer: every mangoro message is built and read here.
#
#   [type:1][name_len:u32 BE][name][error_len:u32 BE][error][payload]
#
# (inst/WIRE.md specifies it in full). A call is encoded in one
# native call (envelope header + Arrow stream, src/ipc_write.c) and a reply
# decoded in one (envelope + Arrow result, src/envelope.c). When the data
# holds a type the C writer does not cover, this file falls back to nanoarrow
# (R/convert.R); callers never choose.

envelope_type <- c(manifest = 0L, call = 1L, result = 2L, error = 3L, info = 4L, cancel = 5L,
                   shm_call = 6L) # 6: R/shm.R

# --- encode -----------------------------------------------------------------

# A call message for `func_name` with arguments `data`; `header` (a JSON
# string from request_header(), "" for none) goes in the text field.
message_encode_call <- function(func_name, data, header = "") {
  check_func_name(func_name)
  if (!inherits(data, c("nanoarrow_array_stream", "nanoarrow_array"))) {
    cols <- if (is.data.frame(data)) data else as_arg_columns(data)
    msg <- if (!nzchar(header)) {
      .Call(mangoro_c_message_encode, envelope_type[["call"]], func_name, cols,
            .row_names_info(cols, 2L))
    } else {
      # The envelope header (with the request header) as the prefix the
      # Arrow stream is written after: still one pass, one allocation.
      .Call(mangoro_c_ipc_write, envelope_pack(envelope_type[["call"]], func_name, header),
            cols, .row_names_info(cols, 2L))
    }
    if (is.raw(msg)) return(msg)
    if (is.character(msg)) stop(arrow_write_error(msg))
  }
  arrow_encode_nanoarrow(data, envelope_pack(envelope_type[["call"]], func_name, header))
}

# The request header (inst/WIRE.md, "Request header"): a JSON object for the
# text field of a request. `id`: the call id (NULL for none, e.g. a manifest
# request); `timeout_ms`: how long the client waits (NULL: no limit);
# `token`: the credential of a server that requires one (NULL: none). Returns
# "" when there is nothing to say. Used for every request R sends, pool
# workers included (R/pool.R).
request_header <- function(id = NULL, timeout_ms = NULL, token = NULL) {
  .Call(mangoro_c_request_header, id, if (is.null(timeout_ms)) NA_real_ else as.double(timeout_ms),
        token_json(token))
}

# A fresh call id: 16 hex digits, never repeated in a session (src/call.c).
new_call_id <- function() .Call(mangoro_c_new_call_id)

# A cancel request (type 5) for call `id`.
message_encode_cancel <- function(id, header = "") {
  envelope_pack(envelope_type[["cancel"]], id, header)
}

# A request without payload (manifest, info); `header` as for a call.
message_encode_request <- function(type, header = "") {
  envelope_pack(envelope_type[[type]], "", header)
}

# The Arrow stream of `data` alone (mangoro_ipc_write()).
arrow_encode <- function(data) {
  if (!inherits(data, c("nanoarrow_array_stream", "nanoarrow_array"))) {
    cols <- if (is.data.frame(data)) data else as_arg_columns(data)
    res <- .Call(mangoro_c_ipc_write, raw(0), cols, .row_names_info(cols, 2L))
    if (is.raw(res)) return(res)
    if (is.character(res)) stop(arrow_write_error(res))
  }
  arrow_encode_nanoarrow(data, raw(0))
}

envelope_pack <- function(type, name = "", error = "", payload = NULL) {
  res <- .Call(mangoro_c_envelope_pack, type, name, error, payload)
  if (is.character(res)) {
    mangoro_abort(c(sprintf("Can't build the message: %s.", res)), class = "mangoro_input_error")
  }
  res
}

# Function names (inst/WIRE.md): valid UTF-8, no NUL, 1..256
# bytes. R strings cannot hold NUL, so UTF-8 and the length are left.
check_func_name <- function(func_name) {
  ok <- is.character(func_name) && length(func_name) == 1L && !is.na(func_name) &&
    nzchar(func_name)
  if (ok) {
    bytes <- enc2utf8(func_name)
    if (!validUTF8(bytes) || nchar(bytes, "bytes") > 256L) {
      mangoro_abort(
        c("`func_name` must be valid UTF-8 text of at most 256 bytes.",
          sprintf("Got %d bytes%s.", nchar(bytes, "bytes"),
                  if (!validUTF8(bytes)) " that are not valid UTF-8" else "")),
        class = "mangoro_input_error"
      )
    }
    return(invisible(func_name))
  }
  mangoro_abort(
    c("`func_name` must be one non-empty string, the name of a Go function.",
      sprintf("Got: %s.", format_value(func_name))),
    class = "mangoro_input_error"
  )
}

# --- decode -------------------------------------------------------------------

# A received message -> list(type, name, error, data, payload): for a result
# `data` is the data.frame (decoded in place from `x`), for other types
# `payload` holds the payload bytes. Malformed input is a protocol error.
message_decode <- function(x) {
  decoded_message(.Call(mangoro_c_message_decode, x, int64_as_integer64(), FALSE), x)
}

# The rest of message_decode() for what the C decoder returned.
decoded_message <- function(env, x) {
  if (!is.null(env$status)) stop(envelope_error(env$status, env$at, length(x)))
  if (env$type == 7L) { # a result in shared memory (R/shm.R), read in place
    if (is.character(env$payload)) stop(shm_refused_error(env$payload))
    env$type <- 2L
  }
  if (env$type == 2L) env$data <- arrow_result(env$data)
  env
}

# What the C reader (src/ipc_read.c, which covers every type mangoro reads)
# returned: the data.frame, with the int64 columns that may have lost
# precision as doubles flagged in an attribute; an error string; or NULL for
# an empty payload.
arrow_result <- function(res) {
  if (is.character(res)) stop(arrow_read_error(res))
  if (is.null(res)) return(data.frame())
  lossy <- attr(res, "mangoro_lossy_int64")
  if (!is.null(lossy)) {
    attr(res, "mangoro_lossy_int64") <- NULL
    warn_int64_precision(names(res)[lossy])
  }
  res
}

# The reply to a call of `func_name`: its data.frame, or the classed error.
# `env`: what message_decode() (or the C decoder, R/client.R) already made of it.
message_result <- function(x, func_name, srv = NULL, env = message_decode(x)) {
  if (env$type == envelope_type[["result"]]) return(env$data)
  if (env$type == envelope_type[["error"]]) {
    err <- remote_error(env, func_name)
    # The deadline R sent ran out on the server first: to the caller that is
    # the same timeout as R's own (whichever side noticed first).
    if (identical(err$code, "deadline_exceeded")) {
      err <- transport_error(5L, sprintf("the call to %s()", func_name), srv)
    }
    stop(err)
  }
  stop(unexpected_type_error(env$type, "result (2) or error (3)"))
}

# The payload of a reply of type `want` (manifest, info); an error reply is
# raised as the remote error.
message_payload <- function(x, want) {
  env <- message_decode(x)
  if (env$type == envelope_type[[want]]) return(env$payload)
  if (env$type == envelope_type[["error"]]) stop(remote_error(env, NULL))
  stop(unexpected_type_error(env$type, sprintf("%s (%d)", want, envelope_type[[want]])))
}

# integer64 results when wanted and bit64 is there (looked up once per session).
int64_as_integer64 <- function() {
  o <- .subset2(.Options, "mangoro.int64") # getOption(), without its call: once per call
  if (!is.null(o) && !identical(o, "integer64")) return(FALSE)
  b <- client_state$bit64
  if (is.null(b)) have_bit64() else b
}

# Is bit64 installed? Asked once per session.
have_bit64 <- function() {
  b <- client_state$bit64
  if (is.null(b)) b <- client_state$bit64 <- requireNamespace("bit64", quietly = TRUE)
  b
}

# An Arrow stream alone, from byte `offset` (0-based) of `x` (mangoro_ipc_read()).
arrow_decode <- function(x, offset = 0) {
  if (length(x) <= offset) return(data.frame())
  arrow_result(.Call(mangoro_c_ipc_read, x, offset, int64_as_integer64()))
}

# --- exported helpers (thin wrappers over the above) ----------------------------------

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
#' @family wire-level helpers
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

#' Build and parse mangoro RPC messages
#'
#' Low-level helpers for the mangoro wire format, for tests, debugging and
#' clients that manage their own sockets. [mangoro_rpc_call()] uses the same
#' code.
#'
#' @details Every message is
#'   `[type:1 byte][name_len:uint32 BE][name][error_len:uint32 BE][error][payload]`
#'   with types 0 (manifest), 1 (call), 2 (result), 3 (error) and 4 (info).
#'   The payload of calls and results is one Arrow IPC stream; that of an
#'   error reply a JSON object with its `code`.
#' @param func_name Character scalar; the name of the Go function to call:
#'   valid UTF-8, 1 to 256 bytes.
#' @param data The arguments: a data.frame, a named list of equal-length
#'   vectors, a matrix or a nanoarrow array stream; see [mangoro_rpc_call()].
#' @return `mangoro_rpc_manifest_request()` and `mangoro_rpc_call_message()`:
#'   a raw vector ready to send.
#' @section Errors: `mangoro_input_error` for a bad `func_name` or `data`.
#' @examples
#' mangoro_rpc_manifest_request()
#' msg <- mangoro_rpc_call_message("add", data.frame(x = 1, y = 2))
#' str(mangoro_rpc_parse_response(msg))
#' @family wire-level helpers
#' @export
mangoro_rpc_manifest_request <- function() {
  message_encode_request("manifest")
}

#' @rdname mangoro_rpc_manifest_request
#' @export
mangoro_rpc_call_message <- function(func_name, data) {
  message_encode_call(func_name, data)
}

mangoro_rpc_info_request <- function() {
  message_encode_request("info")
}

#' @rdname mangoro_rpc_manifest_request
#' @param raw Raw vector; a whole message as received.
#' @return `mangoro_rpc_parse_response()`: a list with `type` (integer),
#'   `name` and `error` (character) and `payload` (raw). A truncated or
#'   malformed message is a `mangoro_protocol_error`; the parser checks every
#'   length against the message before reading.
#' @export
mangoro_rpc_parse_response <- function(raw) {
  env <- .Call(mangoro_c_envelope_parse, raw, TRUE)
  if (!is.null(env$status)) stop(envelope_error(env$status, env$at, length(raw)))
  env
}
