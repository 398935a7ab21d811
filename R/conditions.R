# Every error mangoro raises is a classed condition under `mangoro_error`, so
# callers can catch a family (`mangoro_error`) or one case (`mangoro_build_error`).
# Fields passed in `...` travel with the condition (e.g. `output`, `stderr`).
# The constructors for the message and transport errors live here too, so
# client.R, server.R and message.R only decide *when* to raise them.

#' Build a mangoro error condition without signalling it
#'
#' @param message Character; the message, already formatted (may have several lines).
#' @param class Character; the specific classes, most specific first.
#' @param ... Named fields stored in the condition object.
#' @param call The call to report; `NULL` by default because the message says
#'   what went wrong better than an internal call would.
#' @noRd
mangoro_condition <- function(message, class = NULL, ..., call = NULL) {
  structure(
    class = c(class, "mangoro_error", "error", "condition"),
    list(message = paste(message, collapse = "\n"), call = call, ...)
  )
}

#' Signal a mangoro error
#' @inheritParams mangoro_condition
#' @noRd
mangoro_abort <- function(message, class = NULL, ..., call = NULL) {
  stop(mangoro_condition(message, class = class, ..., call = call))
}

format_value <- function(x) {
  if (is.null(x)) return("NULL")
  sprintf("%s of length %d%s", class(x)[1L], length(x),
          if (length(x) == 1L && is.atomic(x)) paste0(" (", format(x), ")") else "")
}

# --- the message (R/message.R) ----------------------------------------------

# A status from the C envelope parser (src/envelope.c) -> protocol error.
envelope_error <- function(status, at, n) {
  why <- switch(
    status,
    sprintf("it is %d bytes long, shorter than the 9-byte header", n),
    "its name length runs past the end of the message",
    "its error length runs past the end of the message",
    "its name or error contains a NUL byte",
    "its type byte is not one of 0 (manifest), 1 (call), 2 (result), 3 (error), 4 (info)",
    "its name or error is longer than 2^31 - 1 bytes",
    "it is not a raw vector"
  )
  mangoro_condition(
    c(sprintf("Malformed mangoro message: %s (byte %s).", why, format(at)),
      "The peer does not speak the mangoro wire format, or the message was truncated."),
    class = "mangoro_protocol_error"
  )
}

arrow_read_error <- function(why) {
  mangoro_condition(
    c("The result payload is not a valid Arrow IPC stream.", paste0("Malformed stream: ", why, ".")),
    class = "mangoro_protocol_error"
  )
}

# An error string from the C writer (src/ipc_write.c): the data cannot be sent.
arrow_write_error <- function(why) {
  mangoro_condition(
    c(sprintf("Can't send the data: %s.", why),
      if (grepl("factor", why)) "Rebuild the factor with factor() so its codes match its levels."),
    class = "mangoro_input_error"
  )
}

unexpected_type_error <- function(type, wanted) {
  mangoro_condition(
    c(sprintf("Unexpected reply of type %d; wanted %s.", type, wanted),
      "The peer does not follow the mangoro protocol."),
    class = "mangoro_protocol_error"
  )
}

# An error reply (type 3). Its payload is JSON {"code": ...}; an empty or
# unreadable payload means code "other" (servers before 0.2 send nothing).
remote_error <- function(env, func_name) {
  func <- if (nzchar(env$name)) env$name else func_name
  mangoro_condition(
    c(sprintf("The Go server returned an error%s:",
              if (is.null(func)) "" else sprintf(" for %s()", func)),
      env$error),
    class = "mangoro_remote_error", remote_message = env$error, func = func,
    code = remote_error_code(env$payload)
  )
}

remote_error_code <- function(payload) {
  if (!length(payload)) return("other")
  obj <- tryCatch(jsonlite::parse_json(rawToChar(payload)),  # never a file name or URL
                  error = function(e) NULL)
  code <- if (is.list(obj) && !is.null(names(obj))) obj$code
  if (is.character(code) && length(code) == 1L && !is.na(code) && nzchar(code)) code else "other"
}

message_too_large_error <- function(size, max) {
  mangoro_condition(
    c(sprintf("The message is %s bytes, over the server's limit of %s bytes.",
              format(size, big.mark = ","), format(max, big.mark = ",")),
      "Send the data in smaller chunks (fewer rows per call), or raise the limit",
      "(env MANGORO_MAX_MESSAGE_SIZE when starting the server)."),
    class = "mangoro_message_too_large", size = size, max_message_size = max
  )
}

# --- the transport (R/client.R) ------------------------------------------------

# An NNG error: 5 is a timeout, the rest mean the connection is unusable. A
# server object whose process exited => server_gone with its log.
transport_error <- function(code, what, srv = NULL) {
  code <- as.integer(code)
  is_srv <- inherits(srv, "mangoro_server")
  if (is_srv && !srv$process$is_alive()) return(server_gone_error(srv))
  if (code == 5L) {
    # The server is alive, so its log is more likely old news than the
    # reason; it travels in the condition, and the message says where to look.
    return(mangoro_condition(
      c(sprintf("Timed out waiting for %s.", what),
        "Raise `timeout` (milliseconds) or option mangoro.timeout if the work takes longer.",
        if (is_srv) "The server is still running; mangoro_server_log() shows its log."),
      class = "mangoro_timeout_error",
      stderr = if (is_srv) server_log_tail(srv) else character()
    ))
  }
  mangoro_condition(
    c(sprintf("Could not complete %s: %s.", what, nanonext::nng_error(code)),
      "The connection to the server is closed or broken."),
    class = "mangoro_server_gone", nng_code = code,
    stderr = if (is_srv) server_log_tail(srv) else character()
  )
}

# The connection under a call dropped (a pipe removal, no pipe left) and no
# server process can tell more: URL and bare socket targets.
connection_lost_error <- function(what, url) {
  mangoro_condition(
    c(sprintf("The connection%s dropped while waiting for %s.",
              if (is.null(url)) "" else sprintf(" to %s", url), what),
      "The server has exited or closed the connection; start it again and retry."),
    class = "mangoro_server_gone", stderr = character()
  )
}

# --- the server process (R/server.R) ----------------------------------------------

server_gone_error <- function(srv) {
  proc <- srv$process
  status <- if (proc$is_alive()) NA_integer_ else proc$get_exit_status()
  stderr <- server_log_tail(srv, 20L)
  mangoro_condition(
    c(sprintf("The Go server %s (pid %d) is gone%s.", srv$name, proc$get_pid(),
              if (is.na(status)) "" else sprintf(", exit status %d", status)),
      if (length(stderr)) c("Last lines of its log:", stderr) else "Its log is empty.",
      "Start it again with mangoro_server_start()."),
    class = "mangoro_server_gone", status = status, stderr = stderr
  )
}

server_closed_error <- function(srv) {
  mangoro_condition(
    c("This mangoro server has been closed.", "Start a new one with mangoro_server_start()."),
    class = "mangoro_server_gone", stderr = server_log_tail(srv)
  )
}

start_error <- function(srv, why, status, stderr) {
  mangoro_condition(
    c(sprintf("Could not start the Go server %s (%s).", srv$name, srv$url), why,
      if (!is.na(status)) sprintf("Exit status: %d.", status),
      if (length(stderr)) c("Last lines of its log:", stderr) else "Its log is empty."),
    class = "mangoro_start_error", status = status, stderr = stderr
  )
}

# --- the pool (R/pool.R, R/map.R) ------------------------------------------------

# A worker of a pool went away during `what`, or failed it with NNG error `code`.
pool_gone_condition <- function(pool, w, what, code = NA_integer_) {
  srv <- w$server
  status <- NA_integer_
  stderr <- character()
  if (!is.null(srv)) {
    if (!srv$process$is_alive()) status <- srv$process$get_exit_status()
    stderr <- server_log_tail(srv, 20L)
  }
  mangoro_condition(
    c(sprintf("Worker %d of the pool (%s, %s%s) went away during %s%s.", w$id, w$host, w$url,
              if (is.na(w$pid)) "" else sprintf(", pid %d", w$pid), what,
              if (is.na(status)) "" else sprintf("; exit status %d", status)),
      if (length(stderr)) c("Last lines of its log:", stderr),
      "The pool goes on with its other workers; print(pool) shows their state."),
    class = "mangoro_server_gone", worker = w$id, url = w$url, host = w$host,
    status = status, stderr = stderr, nng_code = code
  )
}

pool_none_up <- function(pool) {
  mangoro_condition(
    c(sprintf("No worker of the pool (%d workers) is reachable.", length(pool$workers)),
      pool_states_line(pool), "Start a new pool with mangoro_pool()."),
    class = "mangoro_server_gone"
  )
}

pool_closed_error <- function() {
  mangoro_condition(c("This mangoro pool has been closed.", "Start a new one with mangoro_pool()."),
                    class = "mangoro_server_gone")
}

pool_timeout_error <- function(w, what) {
  mangoro_condition(
    c(sprintf("Timed out waiting for %s on worker %d (%s).", what, w$id, w$url),
      "Raise `timeout` (milliseconds) or option mangoro.timeout if the work takes longer."),
    class = "mangoro_timeout_error", worker = w$id, url = w$url
  )
}

pool_cancelled_error <- function(w, func_name) {
  mangoro_condition(sprintf("The call to %s() was cancelled.", func_name),
                    class = "mangoro_cancelled_error", worker = w$id)
}

# Calls were done again on other workers because `workers` (character) were lost.
worker_lost_warning <- function(workers, what) {
  warningCondition(sprintf("Lost %s; %s.", paste(workers, collapse = ", "), what),
                   class = c("mangoro_worker_lost", "mangoro_warning"), workers = workers)
}

# int64 values read as doubles (no bit64, or option mangoro.int64 = "double")
# that are 2^53 or more in magnitude may have been rounded.
warn_int64_precision <- function(cols) {
  for (col in cols) {
    warning(warningCondition(
      sprintf(paste("int64 column `%s` has values of magnitude 2^53 or more that may have lost precision",
                    "as doubles; install bit64 to get exact integer64 values."), col),
      class = c("mangoro_precision_warning", "mangoro_warning")
    ))
  }
}
