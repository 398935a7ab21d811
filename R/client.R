# Calling Go functions: resolve the target (socket, server or URL), build the
# message, one request per call on a req context, decode the reply.

# The per-call path calls these directly: `nanonext::f` costs a lookup each time.
#' @importFrom nanonext request until unresolved collect_aio stat
NULL

client_state <- new.env(parent = emptyenv())
client_state$sockets <- list() # URL -> list(sock, ctx, info)

#' Call a Go function
#'
#' Sends `data` as the arguments of `func_name` and returns the result as a
#' data.frame. `mangoro_rpc_call_aio()` returns at once with an object that
#' resolves later, so many calls can be in flight on one server.
#'
#' @param sock Where to send the call: a `mangoro_server` (from
#'   [mangoro_server_start()]), a nanonext `req` socket, or a URL string such
#'   as `"ipc:///tmp/x.sock"` (a socket is dialled once per URL and reused).
#' @param func_name Character scalar; the function's name in the manifest.
#' @param data The arguments, one column per argument: a data.frame, a named
#'   list of equal-length vectors, a matrix (unnamed columns become
#'   `V1..Vn`) or a nanoarrow array stream. See [mangoro_ipc_write()] for the
#'   type mapping.
#' @param timeout Numeric; milliseconds to wait for the reply. Default `NULL`
#'   means option `mangoro.timeout`, itself 10000 (10 s) by default; `Inf`
#'   waits without limit (only when you ask for it).
#' @return `mangoro_rpc_call()`: a data.frame (usually one column, `result`).
#' @section Errors:
#' * `mangoro_remote_error`: the Go function returned an error or panicked
#'   (fields `remote_message`, `func`); the server keeps running.
#' * `mangoro_timeout_error`: no reply within `timeout`.
#' * `mangoro_server_gone`: the server process exited or the connection was
#'   closed (field `stderr`: the server's last log lines).
#' * `mangoro_protocol_error`: the reply is not a valid mangoro message.
#' * `mangoro_input_error`: `data` cannot be sent (e.g. unsupported types).
#' * `mangoro_message_too_large`: the message exceeds the server's
#'   `max_message_size` (known for servers and URLs, from the info request).
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' mangoro_rpc_call(srv, "add", data.frame(x = 1:3 + 0.5, y = 1))
#' close(srv)
#' @export
mangoro_rpc_call <- function(sock, func_name, data, timeout = NULL) {
  if (inherits(sock, "mangoro_pool")) return(pool_call(sock, func_name, data, timeout)) # pool hook (R/pool.R)
  target <- rpc_target(sock)
  msg <- mangoro_rpc_call_message(func_name, data)
  check_message_size(msg, target)
  reply <- rpc_request(target, msg, timeout)
  rpc_decode_reply(reply, func_name, target)
}

#' @rdname mangoro_rpc_call
#' @return `mangoro_rpc_call_aio()`: a `mangoro_aio` object, at once. It works
#'   like a nanonext `recvAio`: `unresolved(x)` says whether the reply is
#'   still pending, `call_aio(x)` waits for it, and `x$data` is the decoded
#'   data.frame (or, if the call failed, the classed error condition, not
#'   signalled). [mangoro_aio_result()] waits and returns the data.frame or
#'   signals the error. `promises::as.promise(x)` (and so `promises::then()`
#'   or `%...>%`) gives a promise that resolves to the data.frame or rejects
#'   with the classed error.
#' @export
mangoro_rpc_call_aio <- function(sock, func_name, data, timeout = NULL) {
  if (inherits(sock, "mangoro_pool")) return(pool_call_aio(sock, func_name, data, timeout)) # pool hook (R/pool.R)
  target <- rpc_target(sock)
  msg <- mangoro_rpc_call_message(func_name, data)
  check_message_size(msg, target)
  check_server_alive(target)
  # A fresh context per call: each request has its own reply slot, so any
  # number can be in flight on one socket.
  ctx <- nanonext::context(target$sock)
  t <- request_timeout(timeout)
  aio <- send_request(target, ctx, msg, t)
  new_mangoro_aio(aio, ctx, func_name, target, t)
}

#' Get the manifest of a Go server
#'
#' Asks the server which functions it offers (message type 0).
#'
#' @inheritParams mangoro_rpc_call
#' @return A named list, one element per function, each a list with `Args`
#'   (a list of `Name`, `Type`, `Optional`, `Default`), `ReturnType`,
#'   `Vectorized` and `Metadata` (e.g. `description`), as in the server's JSON:
#'   objects become named lists, arrays lists, `null` `NULL`.
#' @section Errors: as [mangoro_rpc_call()]; a reply that is not valid JSON is
#'   a `mangoro_protocol_error`.
#' @export
mangoro_rpc_get_manifest <- function(sock, timeout = NULL) {
  target <- rpc_target(sock)
  reply <- rpc_request(target, mangoro_rpc_manifest_request(), timeout)
  env <- reply_envelope(reply, "the manifest request", target)
  if (env$type == envelope_type[["error"]]) remote_abort(env, NULL)
  if (env$type != envelope_type[["manifest"]]) unexpected_type(env, "manifest (0)")
  json_parse(env$payload)
}

# Info request (type 4). A server that does not know it answers type 3:
# that means "no info" and gives NULL, not an error.
rpc_get_info <- function(target, timeout = NULL) {
  reply <- rpc_request(target, mangoro_rpc_info_request(), timeout)
  env <- reply_envelope(reply, "the info request", target)
  if (env$type != envelope_type[["info"]]) return(NULL)
  json_parse(env$payload)
}

# Target: list(sock, ctx (reusable for sync calls), server or NULL, info).
rpc_target <- function(sock) {
  if (inherits(sock, "mangoro_server")) {
    if (is.null(sock$sock)) {
      mangoro_abort(
        c("This mangoro server has been closed.", "Start a new one with mangoro_server_start()."),
        class = "mangoro_server_gone", stderr = server_log_tail(sock)
      )
    }
    return(list(sock = sock$sock, ctx = sock$ctx, server = sock, info = sock$info))
  }
  if (inherits(sock, "nanoSocket")) {
    # Synchronous calls use the socket's own default context (send + recv).
    return(list(sock = sock, ctx = NULL, server = NULL, info = NULL))
  }
  if (is.character(sock) && length(sock) == 1L && !is.na(sock)) {
    return(url_target(sock))
  }
  mangoro_abort(
    c("`sock` must be a mangoro_server, a nanonext req socket or a URL string.",
      sprintf("Got: %s.", format_value(sock))),
    class = "mangoro_input_error"
  )
}

# One cached req socket per URL; the info reply is fetched once, on dialling.
url_target <- function(url) {
  cached <- client_state$sockets[[url]]
  if (!is.null(cached)) return(cached)
  sock <- tryCatch(
    nanonext::socket("req", dial = url),
    error = function(e) mangoro_abort(
      c(sprintf("Could not dial %s: %s", url, conditionMessage(e)),
        "Check the URL (e.g. ipc:///path/to.sock or tcp://127.0.0.1:5555)."),
      class = "mangoro_input_error"
    )
  )
  target <- list(sock = sock, ctx = nanonext::context(sock), server = NULL, info = NULL)
  target$info <- tryCatch(rpc_get_info(target), mangoro_error = function(e) NULL)
  client_state$sockets[[url]] <- target
  target
}

# Drop the cached socket for a URL (its server has been closed).
forget_url_socket <- function(url) {
  cached <- client_state$sockets[[url]]
  if (is.null(cached)) return(invisible())
  try(suppressWarnings(close(cached$sock)), silent = TRUE)
  client_state$sockets[[url]] <- NULL
  invisible()
}

# The connection send()/recv() use for mangoro_rpc_send()/recv().
rpc_connection <- function(sock) {
  if (inherits(sock, c("nanoSocket", "nanoContext"))) return(sock)
  target <- rpc_target(sock)
  if (is.null(target$ctx)) target$sock else target$ctx
}

request_timeout <- function(timeout) {
  if (is.null(timeout) && is.null(getOption("mangoro.timeout"))) return(10000L)
  timeout <- resolve_timeout(timeout)
  if (is.infinite(timeout)) NULL else as.integer(min(timeout, .Machine$integer.max))
}

check_message_size <- function(msg, target) {
  max <- target$info$max_message_size
  if (is.numeric(max) && length(max) == 1L && length(msg) > max) {
    mangoro_abort(
      c(sprintf("The message is %s bytes, over the server's limit of %s bytes.",
                format(length(msg), big.mark = ","), format(max, big.mark = ",")),
        "Send the data in smaller chunks (fewer rows per call), or raise the limit",
        "(env MANGORO_MAX_MESSAGE_SIZE when starting the server)."),
      class = "mangoro_message_too_large", size = length(msg), max_message_size = max
    )
  }
}

# Before sending: a server whose connection is down may have exited. Only
# then is the process asked (a processx call costs ~15 us, too much for
# every call); a live process with no pipe is left to the reply wait.
check_server_alive <- function(target) {
  srv <- target$server
  if (!is.null(srv) && srv_pipes(srv) == 0L && !srv$process$is_alive()) server_gone_abort(srv)
}

# Send a request on `ctx`. For servers the request also signals the server's
# cv, which pipe removals signal too, so a waiter notices a dead server at once
# instead of at the timeout.
send_request <- function(target, ctx, msg, t) {
  srv <- target$server
  if (is.null(srv)) {
    return(request(ctx, msg, send_mode = "raw", recv_mode = "raw", timeout = t))
  }
  request(ctx, msg, send_mode = "raw", recv_mode = "raw", timeout = t, cv = srv$cv)
}

# Synchronous request on the target's reusable context: returns the reply
# raw vector or a nanonext errorValue.
rpc_request <- function(target, msg, timeout) {
  check_server_alive(target)
  t <- request_timeout(timeout)
  if (is.null(target$ctx)) return(socket_request(target$sock, msg, t))
  aio <- send_request(target, target$ctx, msg, t)
  wait_reply(aio, target, t)
}

# A bare req socket: blocking send and receive on its default context, as
# cheap as a request gets. Returns the reply or a nanonext errorValue.
socket_request <- function(sock, msg, t) {
  block <- if (is.null(t)) TRUE else t
  res <- nanonext::send(sock, msg, mode = "raw", block = block)
  if (nanonext::is_error_value(res)) return(res)
  nanonext::recv(sock, mode = "raw", block = block)
}

# Wait for `aio` to resolve. Without a server: nanonext's own wait. With one:
# wait on its cv (signalled by the reply and by pipe removals). Only a
# wake-up without the reply costs more: with no connected pipe, wait (an
# exit event, bounded) for the process to exit and report it gone.
wait_reply <- function(aio, target, t) {
  srv <- target$server
  if (is.null(srv)) return(collect_aio(aio))
  cv <- srv$cv
  # Happy path: one wait, woken by the reply.
  if (unresolved(aio)) until(cv, if (is.null(t)) .Machine$integer.max else t + 5L)
  if (!unresolved(aio)) return(collect_aio(aio))
  deadline <- if (is.null(t)) Inf else mclock() + t
  while (unresolved(aio)) {
    if (srv_pipes(srv) == 0L) {
      if (srv$process$is_alive()) srv$process$wait(timeout = min(1000, max(0, deadline - mclock())))
      if (!srv$process$is_alive()) {
        nanonext::stop_aio(aio)
        server_gone_abort(srv)
      }
    }
    left <- deadline - mclock()
    if (left <= 0) break
    until(cv, if (is.finite(left)) left + 5 else .Machine$integer.max)
  }
  collect_aio(aio)
}

srv_pipes <- function(srv) {
  n <- stat(srv$sock, "pipes")
  if (is.numeric(n)) as.integer(n) else 0L
}

mclock <- function() {
  as.double(nanonext::mclock())
}

# Reply raw (or nanonext errorValue) -> parsed envelope.
reply_envelope <- function(reply, what, target) {
  if (nanonext::is_error_value(reply)) nng_abort(reply, what, target$server)
  envelope_parse(reply, copy = TRUE)
}

rpc_decode_reply <- function(reply, func_name, target) {
  if (nanonext::is_error_value(reply)) nng_abort(reply, sprintf("the call to %s()", func_name), target$server)
  # No payload copy: the result is decoded in place from the reply.
  env <- envelope_parse(reply, copy = FALSE)
  if (env$type == 2L) return(ipc_read_at(reply, env$offset))
  if (env$type == envelope_type[["error"]]) remote_abort(env, func_name)
  unexpected_type(env, "result (2) or error (3)")
}

remote_abort <- function(env, func_name) {
  func <- if (nzchar(env$name)) env$name else func_name
  mangoro_abort(
    c(sprintf("The Go server returned an error%s:",
              if (is.null(func)) "" else sprintf(" for %s()", func)),
      env$error),
    class = "mangoro_remote_error", remote_message = env$error, func = func
  )
}

unexpected_type <- function(env, wanted) {
  mangoro_abort(
    c(sprintf("Unexpected reply of type %d; wanted %s.", env$type, wanted),
      "The peer does not follow the mangoro protocol."),
    class = "mangoro_protocol_error"
  )
}

# Map an NNG error to a classed condition: 5 is a timeout, the rest mean the
# connection is unusable. A server object whose process exited => server_gone.
nng_abort <- function(code, what, srv = NULL) {
  stop(nng_condition(code, what, srv))
}

nng_condition <- function(code, what, srv = NULL) {
  code <- as.integer(code)
  if (inherits(srv, "mangoro_server") && !srv$process$is_alive()) {
    return(server_gone_condition(srv))
  }
  if (code == 5L) {
    # The server is alive, so its log is more likely old news than the
    # reason; it travels in the condition, and the message says where to look.
    is_srv <- inherits(srv, "mangoro_server")
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
    stderr = if (inherits(srv, "mangoro_server")) server_log_tail(srv) else character()
  )
}

# A condition object like mangoro_abort() signals, for aio results.
mangoro_condition <- function(message, class = NULL, ..., call = NULL) {
  structure(
    class = c(class, "mangoro_error", "error", "condition"),
    list(message = paste(message, collapse = "\n"), call = call, ...)
  )
}

# --- async ------------------------------------------------------------------

# The recvAio from nanonext::request(), re-classed: nanonext's unresolved()
# and call_aio() keep working on it, and its `data` binding is replaced by one
# that decodes the reply once (on first access) into a data.frame.
new_mangoro_aio <- function(aio, ctx, func_name, target, t) {
  if (!is.environment(aio)) {
    # request() failed at once (e.g. closed socket): an error list.
    stop(nng_condition(aio$data, sprintf("the call to %s()", func_name), target$server))
  }
  raw_data <- activeBindingFunction("data", aio)
  rm("data", envir = aio)
  srv <- target$server
  decoded <- NULL
  makeActiveBinding("data", function() {
    if (!is.null(decoded)) return(decoded)
    reply <- raw_data()
    if (nanonext::unresolved(reply)) return(reply)
    decoded <<- tryCatch(
      rpc_decode_reply(reply, func_name, target),
      mangoro_error = identity
    )
    # The context has done its job; release it with the aio.
    decoded
  }, aio)
  assign(".mangoro_func", func_name, envir = aio)
  assign(".mangoro_ctx", ctx, envir = aio)
  assign(".mangoro_target", target, envir = aio)
  assign(".mangoro_deadline", if (is.null(t)) Inf else mclock() + t, envir = aio)
  class(aio) <- c("mangoro_aio", "recvAio")
  aio
}

#' Wait for an asynchronous call and return its result
#'
#' @param x A `mangoro_aio` from [mangoro_rpc_call_aio()], or a list of them.
#' @return The data.frame (for a list, a list of data.frames). Errors are
#'   signalled with their classes, as in [mangoro_rpc_call()].
#' @export
mangoro_aio_result <- function(x) {
  if (inherits(x, "mangoro_pool_aio")) return(pool_aio_result(x)) # pool hook (R/pool.R)
  if (is.list(x) && !is.environment(x)) return(lapply(x, mangoro_aio_result))
  if (!inherits(x, "mangoro_aio")) {
    mangoro_abort(c("`x` must be a mangoro_aio from mangoro_rpc_call_aio().",
                    sprintf("Got: %s.", format_value(x))), class = "mangoro_input_error")
  }
  target <- x$.mangoro_target
  if (!is.null(target$server) && nanonext::unresolved(x)) {
    left <- x$.mangoro_deadline - mclock()
    # wait_reply() notices a dead server before the timeout.
    wait_reply(x, target, if (is.finite(left)) max(0, left) else NULL)
  }
  nanonext::call_aio(x)
  value <- x$data
  if (inherits(value, "error")) stop(value)
  value
}

#' @export
print.mangoro_aio <- function(x, ...) {
  state <- if (nanonext::unresolved(x)) "unresolved" else "resolved"
  cat(sprintf("< mangoro_aio | %s() | %s | $data >\n", x$.mangoro_func, state))
  invisible(x)
}

#' @exportS3Method promises::as.promise
as.promise.mangoro_aio <- function(x) {
  x_ <- x
  finish <- function(...) {
    value <- x_$data
    if (inherits(value, "error")) stop(value)
    value
  }
  promises::then(NextMethod(), onFulfilled = finish, onRejected = finish)
}

#' @exportS3Method promises::is.promising
is.promising.mangoro_aio <- function(x) TRUE
