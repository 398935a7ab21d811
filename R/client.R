# Calling Go functions: resolve the target (server, URL or bare socket), send
# the message R/message.R builds as one request on a req context, wait for the
# reply or a dropped connection, and let R/message.R decode it.

# The per-call path calls these directly: `nanonext::f` costs a lookup each time.
#' @importFrom nanonext request until until_ unresolved collect_aio stat is_error_value
NULL

client_state <- new.env(parent = emptyenv())
client_state$sockets <- list() # URL -> target
client_state$bare <- list()    # socket id -> environment(cv, info)
client_state$deferred <- list() # cancels queued by aio finalizers

#' Call a Go function
#'
#' Sends `data` as the arguments of `func_name` and returns the result as a
#' data.frame. `mangoro_rpc_call_aio()` returns at once with an object that
#' resolves later, so many calls can be in flight on one server.
#'
#' @param sock Where to send the call: a `mangoro_server` (from
#'   [mangoro_server_start()]), a nanonext `req` socket, or a URL string such
#'   as `"ipc:///tmp/x.sock"` (a socket is dialled once per URL and reused).
#' @param func_name Character scalar; the function's name in the manifest
#'   (valid UTF-8, 1 to 256 bytes).
#' @param data The arguments, one column per argument: a data.frame, a named
#'   list of equal-length vectors, a matrix (unnamed columns become
#'   `V1..Vn`) or a nanoarrow array stream. See [mangoro_ipc_write()] for the
#'   type mapping.
#' @param timeout Numeric; milliseconds to wait for the reply. Default `NULL`
#'   means option `mangoro.timeout`, itself 10000 (10 s) by default; `Inf`
#'   waits without limit (only when you ask for it).
#' @return `mangoro_rpc_call()`: a data.frame (usually one column, `result`);
#'   a tibble when `data` is one.
#' @section Errors:
#' * `mangoro_remote_error`: the Go function returned an error or panicked
#'   (fields `remote_message`, `func` and `code`, the server's error code such
#'   as `"unknown_function"`, `"bad_arguments"`, `"panic"` or `"handler"`;
#'   `"other"` from servers that send none); the server keeps running.
#' * `mangoro_timeout_error`: no reply within `timeout`.
#' * `mangoro_server_gone`: the server process exited or the connection
#'   dropped (field `stderr`: a server's last log lines). Noticed within a
#'   second whatever `timeout` is, `Inf` included: at once for servers and
#'   URLs (pipe events), by checking the socket's connections at least once a
#'   second for a bare socket (a socket you made may have its own
#'   `pipe_notify()`, which NNG would let mangoro replace, so mangoro leaves
#'   it alone).
#' * `mangoro_protocol_error`: the reply is not a valid mangoro message.
#' * `mangoro_input_error`: `func_name` or `data` cannot be sent (e.g.
#'   unsupported types).
#' * `mangoro_message_too_large`: the message exceeds the server's
#'   `max_message_size`, from the info request: fetched when the server
#'   starts or the URL is dialled, and on the first call through a bare
#'   socket.
#' @section Shared memory and lazy strings:
#' A synchronous call to a server on the same host (an `ipc://` address whose
#' server lists `"shm"` in its info) sends arguments of at least option
#' `mangoro.shm_threshold` bytes (default 262144; `Inf` never) through a
#' shared memory segment reused for every call, and gets results that large
#' back the same way: columns of doubles and integers without `NA` are then
#' read in place (no copy), and R's first write to one copies it. String
#' result columns of at least option `mangoro.lazy_strings` rows (default
#' 1000; `FALSE` never) make their R strings when they are first used.
#' Nothing changes for other servers.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' mangoro_rpc_call(srv, "add", data.frame(x = 1:3 + 0.5, y = 1))
#' close(srv)
#' @family entry points
#' @export
mangoro_rpc_call <- function(sock, func_name, data, timeout = NULL) {
  # The common case, a data frame to a started server, takes the fewest R
  # steps (for a small call they cost more than the transport, see
  # bench/PROFILE.md): one native call for the options and the request
  # (src/call.c), the request, one wait, one native call to decode.
  # Everything else, bad input included: rpc_call(), which says what is wrong.
  msg <- .Call(mangoro_c_call_fast, sock, func_name, data, timeout, deadline_margin, client_state)
  if (!is.raw(msg)) return(rpc_call(sock, func_name, data, timeout, if (is.double(msg) || is.list(msg)) msg))
  # .subset2(): `$` on a classed environment would look for a method first.
  call <- .subset2(sock, ".call")
  # request(context, data, send_mode, recv_mode, timeout, cv): by position,
  # which R matches faster than names.
  aio <- request(call$ctx, msg, "raw", "raw", attr(msg, "timeout"), call$cv)
  # Left NULL by an interrupt, a timeout's errorValue: the server is told to
  # stop the call (its id is in the request's header).
  reply <- NULL
  on.exit(if (!is.raw(reply) && (is.null(reply) || identical(unclass(reply), 5L))) {
    abandon_call(call, aio, .Call(mangoro_c_request_id, msg))
  })
  # Always one wait, even for a reply already in: each reply signals the cv
  # once, so each call takes its own signal and none is left for the next.
  until_(call$cv, attr(msg, "wait"))
  # aio$data (the reply, an errorValue, or unresolved) without `$`'s method
  # lookup on the classed aio.
  got <- .subset2(aio, "data")
  reply <- if (is.raw(got) || !unresolved(got)) got else wait_reply(aio, call, attr(msg, "timeout"), call_what(func_name), waited = TRUE)
  # The result frame, decoded in place; NULL for anything else (an
  # errorValue, an error reply, a tibble to give back), which call_reply() reads.
  res <- .Call(mangoro_c_call_reply, reply, data)
  if (is.null(res)) call_reply(reply, func_name, sock, data) else res
}

# The reply of a call made on the fast path, when it is not a plain result
# frame: a transport error, a remote error, or a result shaped like `data`.
call_reply <- function(reply, func_name, sock, data) {
  if (!is.raw(reply)) stop(transport_error(reply, call_what(func_name), sock)) # an errorValue
  # NA: the decoder asks int64_as_integer64() only if an int64 column comes.
  res <- .Call(mangoro_c_message_decode, reply, NA, TRUE)
  # A classed object is the frame; anything else what message_decode() reads.
  if (!is.object(res)) res <- message_result(reply, func_name, sock, decoded_message(res, reply))
  like_input(res, data)
}

# A synchronous call, any target and data. `msg`: the request the fast path
# already wrote into a shared memory arena (or list(need)), else NULL.
rpc_call <- function(sock, func_name, data, timeout, msg = NULL) {
  if (inherits(sock, "mangoro_pool")) return(pool_call(sock, func_name, data, timeout)) # pool hook (R/pool.R)
  if (length(client_state$deferred)) flush_cancels()
  target <- rpc_target(sock)
  if (is.null(msg)) msg <- call_message(target, func_name, data, timeout)
  if (!is.raw(msg)) return(shm_rpc_call(target, func_name, data, timeout, msg)) # R/shm.R
  socket_rpc_send(target, func_name, msg, timeout, attr(msg, "id"), data)
}

call_what <- function(func_name) sprintf("the call to %s()", func_name)

# A call's request. For the data the C writer covers, one native call
# (src/call.c) checks the name, gives the call an id when the server takes
# request headers (inst/WIRE.md), and writes the header and the Arrow stream:
# the raw message for the socket or, for a large call to a server sharing
# memory (shm = TRUE), the stream's length once it is in the arena, or
# list(need) when the arena is too small (R/shm.R). The message carries its id
# in attribute "id".
call_message <- function(target, func_name, data, timeout, shm = TRUE) {
  if (!inherits(data, c("nanoarrow_array_stream", "nanoarrow_array"))) {
    cols <- if (is.data.frame(data)) data else as_arg_columns(data)
    st <- if (shm) target$shm
    t <- as_timeout(timeout)
    speaks <- target$speaks
    if (is.null(speaks)) speaks <- speaks_header(target, timeout) # a bare socket
    msg <- .Call(mangoro_c_call_encode, func_name, cols, .row_names_info(cols, 2L),
                 speaks, if (is.null(t)) NA_real_ else t + deadline_margin,
                 target$token_json, st$arena, if (isTRUE(st$ok)) shm_threshold() else Inf)
    if (!is.null(msg) && !is.character(msg) && !is.integer(msg)) return(msg)
    if (is.integer(msg)) check_func_name(func_name) # says what is wrong with the name
    if (is.character(msg)) stop(arrow_write_error(msg))
  }
  check_func_name(func_name)
  id <- if (speaks_header(target, timeout)) new_call_id()
  msg <- arrow_encode_nanoarrow(data, envelope_pack(envelope_type[["call"]], func_name,
                                                    call_header(target, id, timeout)))
  attr(msg, "id") <- id
  msg
}

# A synchronous call the socket way.
socket_rpc_call <- function(target, func_name, data, timeout) {
  msg <- call_message(target, func_name, data, timeout, shm = FALSE)
  socket_rpc_send(target, func_name, msg, timeout, attr(msg, "id"), data)
}

socket_rpc_send <- function(target, func_name, msg, timeout, id = NULL, data = NULL) {
  check_message_size(msg, target, timeout)
  what <- call_what(func_name)
  reply <- rpc_request(target, msg, timeout, what, id)
  if (is_error_value(reply)) stop(transport_error(reply, what, target$server))
  like_input(message_result(reply, func_name, target$server), data)
}

#' @rdname mangoro_rpc_call
#' @return `mangoro_rpc_call_aio()`: a `mangoro_aio` object, at once. It works
#'   like a nanonext `recvAio`: `unresolved(x)` says whether the reply is
#'   still pending, `call_aio(x)` waits for it, and `x$data` is the decoded
#'   data.frame (or, if the call failed, the classed error condition, not
#'   signalled). [mangoro_aio_result()] waits and returns the data.frame or
#'   signals the error; it also notices a dropped connection, as
#'   `mangoro_rpc_call()` does. `promises::as.promise(x)` (and so
#'   `promises::then()` or `%...>%`) gives a promise that resolves to the
#'   data.frame or rejects with the classed error.
#' @export
mangoro_rpc_call_aio <- function(sock, func_name, data, timeout = NULL) {
  if (inherits(sock, "mangoro_pool")) return(pool_call_aio(sock, func_name, data, timeout)) # pool hook (R/pool.R)
  if (length(client_state$deferred)) flush_cancels()
  target <- rpc_target(sock)
  msg <- call_message(target, func_name, data, timeout, shm = FALSE)
  id <- attr(msg, "id")
  check_message_size(msg, target, timeout)
  check_server_alive(target)
  # A fresh context per call: each request has its own reply slot, so any
  # number can be in flight on one socket.
  ctx <- nanonext::context(target$sock)
  t <- as_timeout(timeout)
  aio <- send_request(target, ctx, msg, t)
  new_mangoro_aio(aio, ctx, func_name, target, t, id)
}

#' Get the manifest of a Go server
#'
#' Asks the server which functions it offers (message type 0).
#'
#' @inheritParams mangoro_rpc_call
#' @param simplify Logical scalar, default `TRUE`: simplify the JSON as
#'   [jsonlite::fromJSON()] does, so arrays of objects become data frames
#'   (`manifest$add$Args$Name` is `c("x", "y")`). `FALSE` keeps the nested
#'   form: objects become named lists, arrays lists, `null` `NULL`
#'   (`manifest$add$Args[[1]]$Name`); a `mangoro_server` keeps this form in
#'   `srv$manifest`.
#' @return A named list, one element per function, each a list with `Args`
#'   (with `simplify = TRUE` a data.frame with columns `Name`, `Type` (itself
#'   a data.frame: `Type`, `Nullable`, ...), `Optional`, `Default` and, for
#'   a function with one-value Go parameters, `Scalar`, or an
#'   empty list for a function without fixed arguments), `ReturnType`,
#'   `Vectorized` and `Metadata` (e.g. `description`), with the server's JSON
#'   keys.
#' @section Errors: as [mangoro_rpc_call()]; a reply that is not valid JSON is
#'   a `mangoro_protocol_error`.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' manifest <- mangoro_rpc_get_manifest(srv)
#' manifest$add$Args$Name
#' manifest$add$Metadata$description
#' close(srv)
#' @family wire-level helpers
#' @export
mangoro_rpc_get_manifest <- function(sock, timeout = NULL, simplify = TRUE) {
  if (!is.logical(simplify) || length(simplify) != 1L || is.na(simplify)) {
    mangoro_abort(sprintf("`simplify` must be TRUE or FALSE, not %s.", format_value(simplify)),
                  class = "mangoro_input_error")
  }
  target <- rpc_target(sock)
  reply <- rpc_request(target, message_encode_request("manifest", request_header(token = target$token)), timeout)
  env <- reply_envelope(reply, "the manifest request", target)
  if (env$type == envelope_type[["error"]]) remote_abort(env, NULL)
  if (env$type != envelope_type[["manifest"]]) unexpected_type(env, "manifest (0)")
  json_parse(env$payload, simplify = simplify)
}

#' Ask a Go server about itself
#'
#' Sends an info request (message type 4) and returns the server's answer,
#' fresh: how many workers it has and how many are in a call now.
#'
#' @inheritParams mangoro_rpc_call
#' @param target Where to ask: a `mangoro_server`, a nanonext `req` socket or
#'   a URL string, as `sock` in [mangoro_rpc_call()].
#' @return A named list (the server's info JSON, inst/WIRE.md): `protocol`,
#'   `server`, `version`, `max_message_size`, `functions`, and from servers of
#'   mangoro 0.2.0 on `features` (a list of strings such as `"header"`,
#'   `"cancel"`, `"auth"`), `workers` (calls run at once) and `busy` (workers
#'   in a call now). When `busy` equals `workers`, new calls (and this
#'   request) wait for a worker to finish; a Go handler that ignores its
#'   `context.Context` keeps its worker even after the call was cancelled.
#'   `NULL` from a server too old to know the info request.
#' @section Errors: as [mangoro_rpc_call()].
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' mangoro_server_info(srv)[c("workers", "busy")]
#' close(srv)
#' @export
mangoro_server_info <- function(target, timeout = NULL) {
  rpc_get_info(rpc_target(target), timeout)
}

# Info request (type 4). A server that does not know it answers type 3:
# that means "no info" and gives NULL, not an error.
rpc_get_info <- function(target, timeout = NULL) {
  reply <- rpc_request(target, message_encode_request("info", request_header(token = target$token)), timeout)
  env <- reply_envelope(reply, "the info request", target)
  if (env$type != envelope_type[["info"]]) return(NULL)
  info <- json_parse(env$payload)
  # Sizes are doubles whatever their magnitude (jsonlite makes small whole
  # numbers integers, larger ones doubles).
  if (is.list(info)) info[] <- lapply(info, function(v) if (is.integer(v)) as.double(v) else v)
  info
}

# JSON from the server (raw bytes or a string) via jsonlite; anything it
# cannot read is a protocol error. parse_json() never takes the text for a
# file name or URL, as fromJSON() may. A \u0000 escape is refused: R strings
# cannot hold NUL and jsonlite would silently cut the string there.
json_parse <- function(text, simplify = FALSE) {
  bad <- function(what) {
    mangoro_abort(
      c(sprintf("Malformed JSON from the server: %s.", what),
        sprintf("Text starts: %s", encodeString(substr(text, 1L, 80L), quote = "\"")),
        "Is the server a mangoro (rgoipc) program of a matching version?"),
      class = "mangoro_protocol_error"
    )
  }
  if (is.raw(text)) {
    if (any(text == as.raw(0L))) { text <- ""; bad("a NUL byte") }
    text <- rawToChar(text)
  }
  if (!is.character(text) || length(text) != 1L || is.na(text)) bad("not a string")
  Encoding(text) <- "UTF-8"
  if (!validUTF8(text)) { text <- iconv(text, "UTF-8", "UTF-8", sub = "?"); bad("not valid UTF-8") }
  if (grepl("(^|[^\\\\])(\\\\\\\\)*\\\\u0000", text, perl = TRUE)) bad("a \\u0000 (NUL) escape")
  tryCatch(
    jsonlite::parse_json(text, simplifyVector = simplify),
    error = function(e) bad(trimws(strsplit(conditionMessage(e), "\n", fixed = TRUE)[[1L]][1L]))
  )
}

# What the manifest and info requests above use: the reply's envelope, and
# the errors they raise (constructed in R/conditions.R).
reply_envelope <- function(reply, what, target) {
  if (nanonext::is_error_value(reply)) stop(transport_error(reply, what, target$server))
  message_decode(reply)
}

remote_abort <- function(env, func_name) stop(remote_error(env, func_name))

unexpected_type <- function(env, wanted) stop(unexpected_type_error(env$type, wanted))

# A target: list(sock, ctx (reusable for sync calls, NULL for a bare socket),
# cv (signalled by replies, and by pipe removals where `notified`), server or
# NULL, url or NULL, bare (a bare socket's cached state) or NULL, info).
rpc_target <- function(sock) {
  if (inherits(sock, "mangoro_server")) {
    if (is.null(sock$sock)) stop(server_closed_error(sock))
    # Built once per server (and again if its socket or info changed).
    target <- sock$.target
    if (is.null(target) || !identical(target$sock, sock$sock) || !identical(target$info, sock$info)) {
      target <- list(sock = sock$sock, ctx = sock$ctx, cv = sock$cv, notified = TRUE,
                     server = sock, url = sock$url, bare = NULL, info = sock$info,
                     token = sock$token, token_json = token_json(sock$token),
                     shm = shm_target_state(sock$info, sock$url),
                     speaks = "header" %in% sock$info$features, max_size = max_size(sock$info))
      sock$.target <- target
      # What mangoro_rpc_call()'s fast path uses, once the info is known.
      sock$.call <- if (!is.null(sock$info)) target
    }
    return(target)
  }
  if (inherits(sock, "nanoSocket")) return(socket_target(sock))
  if (is.character(sock) && length(sock) == 1L && !is.na(sock)) {
    return(url_target(sock))
  }
  mangoro_abort(
    c("`sock` must be a mangoro_server, a nanonext req socket or a URL string.",
      sprintf("Got: %s.", format_value(sock))),
    class = "mangoro_input_error"
  )
}

# One cached req socket per URL, its pipe removals signalling the target's
# cv; the info reply is fetched once, on dialling.
url_target <- function(url) {
  cached <- client_state$sockets[[url]]
  if (!is.null(cached)) return(cached)
  # The cv before the socket: at exit R runs finalizers newest first, so the
  # socket is closed (firing its pipe removal at the cv) while the cv is
  # still there. The other order crashes R as it exits (nanonext 1.10).
  cv <- nanonext::cv()
  sock <- tryCatch(
    nanonext::socket("req", dial = url),
    error = function(e) mangoro_abort(
      c(sprintf("Could not dial %s: %s", url, conditionMessage(e)),
        "Check the URL (e.g. ipc:///path/to.sock or tcp://127.0.0.1:5555)."),
      class = "mangoro_input_error"
    )
  )
  no_resend(sock)
  nanonext::pipe_notify(sock, cv, remove = TRUE)
  target <- list(sock = sock, ctx = nanonext::context(sock), cv = cv, notified = TRUE,
                 server = NULL, url = url, bare = NULL, info = NULL)
  target$info <- tryCatch(rpc_get_info(target), mangoro_error = function(e) NULL)
  target$shm <- shm_target_state(target$info, url)
  target$speaks <- "header" %in% target$info$features
  target$max_size <- max_size(target$info)
  client_state$sockets[[url]] <- target
  target
}

# A socket the user made. Its state (a cv the replies signal, the info reply
# once fetched) is cached by the socket's id; nothing that refers to the
# socket is kept, so it is still closed when the user lets it go. No
# pipe_notify(): NNG keeps one callback per event and socket, so setting one
# would silently replace the user's own.
socket_target <- function(sock) {
  id <- as.character(attr(sock, "id"))
  bare <- client_state$bare[[id]]
  if (is.null(bare)) {
    bare <- new.env(parent = emptyenv())
    bare$cv <- nanonext::cv()
    bare$info <- NULL # NULL: not asked yet; FALSE: asked, none
    client_state$bare[[id]] <- bare
  }
  list(sock = sock, ctx = NULL, cv = bare$cv, notified = FALSE, server = NULL,
       url = NULL, bare = bare, info = if (is.list(bare$info)) bare$info)
}

# The largest envelope the server takes (Inf: not known).
max_size <- function(info) {
  max <- info$max_message_size
  if (is.numeric(max) && length(max) == 1L && !is.na(max)) max else Inf
}

# A token as a JSON string for the request header ("" for none).
token_json <- function(token) {
  if (is.null(token)) "" else as.character(jsonlite::toJSON(enc2utf8(token), auto_unbox = TRUE))
}

# NNG's req protocol resends a request that has had no reply after
# `req:resend-time` (60 s by default): a call longer than that would run twice.
# Every req socket mangoro makes has resending off.
no_resend <- function(sock) {
  nanonext::opt(sock, "req:resend-time") <- 0L
  invisible(sock)
}

# Does the target's server understand request headers and cancels (its info
# lists "header")? A bare socket's info is asked for once.
speaks_header <- function(target, timeout) {
  info <- target$info
  if (is.null(info) && !is.null(target$bare)) info <- bare_socket_info(target, timeout)
  "header" %in% info$features
}

# The header of a call: its id and how long R waits, and the token of a
# server started with one ("" when there is nothing to send). The deadline
# sent is R's timeout plus deadline_margin ms, so that R's own timer fires
# first and a timeout is a mangoro_timeout_error, not the server's
# "deadline_exceeded" reply racing it.
call_header <- function(target, id, timeout) {
  if (is.null(id)) return(if (is.null(target$token)) "" else request_header(token = target$token))
  t <- as_timeout(timeout)
  request_header(id, if (!is.null(t)) t + deadline_margin, target$token)
}

deadline_margin <- 100L

# Tell the server R stopped waiting for call `id` (inst/WIRE.md, "Cancel"):
# fire and forget, on a fresh context, without waiting for the ack. Nothing
# is sent without a connection (the call went with it).
send_cancel <- function(target, id) {
  if (socket_pipes(target$sock) == 0L) return(invisible())
  msg <- message_encode_cancel(id, request_header(token = target$token))
  try(nanonext::send(nanonext::context(target$sock), msg, mode = "raw", block = 500L),
      silent = TRUE)
  invisible()
}

# Drop the cached socket for a URL (its server has been closed).
forget_url_socket <- function(url) {
  cached <- client_state$sockets[[url]]
  if (is.null(cached)) return(invisible())
  try(suppressWarnings(close(cached$sock)), silent = TRUE)
  client_state$sockets[[url]] <- NULL
  invisible()
}

# Milliseconds for nanonext (an integer, or NULL for no limit) from a
# `timeout` argument: NULL means option mangoro.timeout, else 10000.
as_timeout <- function(timeout) {
  if (is.null(timeout)) {
    timeout <- getOption("mangoro.timeout")
    if (is.null(timeout)) return(10000L)
  }
  if (!is.numeric(timeout) || length(timeout) != 1L || is.na(timeout) || timeout < 0) {
    mangoro_abort(
      c("`timeout` must be one non-negative number of milliseconds (or Inf).",
        sprintf("Got: %s.", format_value(timeout))),
      class = "mangoro_input_error"
    )
  }
  if (is.infinite(timeout)) NULL else as.integer(min(timeout, .Machine$integer.max))
}

# The size check is exact: the server's max_message_size is the largest
# envelope it accepts. A bare socket's info is asked for on its first call.
check_message_size <- function(msg, target, timeout = NULL) {
  info <- target$info
  if (is.null(info) && !is.null(target$bare)) info <- bare_socket_info(target, timeout)
  max <- max_size(info)
  if (length(msg) > max) stop(message_too_large_error(length(msg), max))
}

bare_socket_info <- function(target, timeout) {
  bare <- target$bare
  if (is.null(bare$info)) {
    info <- tryCatch(rpc_get_info(target, timeout), mangoro_error = function(e) NULL)
    bare$info <- if (is.list(info)) info else FALSE
  }
  if (is.list(bare$info)) bare$info
}

# Before sending: a server whose connection is down may have exited. Only
# then is the process asked (a processx call costs ~15 us, too much for
# every call); a live process with no pipe is left to the reply wait.
check_server_alive <- function(target) {
  srv <- target$server
  if (!is.null(srv) && socket_pipes(target$sock) == 0L && !srv$process$is_alive()) {
    stop(server_gone_error(srv))
  }
}

# Send a request on `ctx`; the reply signals the target's cv, which pipe
# removals signal too (servers, URLs), so a waiter wakes at either.
send_request <- function(target, ctx, msg, t) {
  request(ctx, msg, send_mode = "raw", recv_mode = "raw", timeout = t, cv = target$cv)
}

# Synchronous request: returns the reply raw vector or a nanonext errorValue.
# No liveness check before the send: a server that died since the last call
# left its pipe removal signalled on the target's cv, so the wait below wakes
# at once and wait_reply() finds out. A call with an id is cancelled on the
# server when R stops waiting before the reply: a timeout, or an interrupt
# (or any error) unwinding this frame.
rpc_request <- function(target, msg, timeout, what = "the reply", id = NULL) {
  t <- as_timeout(timeout)
  ctx <- if (is.null(target$ctx)) nanonext::context(target$sock) else target$ctx
  aio <- send_request(target, ctx, msg, t)
  if (is.null(id)) return(wait_reply(aio, target, t, what))
  answered <- FALSE
  on.exit(if (!answered) abandon_call(target, aio, id))
  reply <- wait_reply(aio, target, t, what)
  answered <- !identical(unclass(reply), 5L) # 5: timed out
  reply
}

# R stops waiting for call `id` before its reply: stop the aio, tell the server.
abandon_call <- function(target, aio, id) {
  nanonext::stop_aio(aio)
  if (!is.null(id)) send_cancel(target, id) # no id: a server that takes no cancel
}

# Wait for `aio` on the target's cv (signalled by the reply, and by pipe
# removals for servers and URLs). A wake-up without the reply while the
# socket has no connection means the peer is gone: for a server, wait (an
# exit event, bounded) for its process and report it; for a URL or bare
# socket, report the dropped connection. until_() lets a user interrupt the
# wait (rpc_request() then cancels the call). A bare socket's cv hears no pipe
# events, so its connection is looked at after each wait of at most 1 s.
wait_reply <- function(aio, target, t, what = "the reply", waited = FALSE) {
  cv <- target$cv
  srv <- target$server
  # Happy path: one wait, woken by the reply (the caller's, when `waited`),
  # taken even when the reply is already in, to take its signal.
  slice <- if (is.null(srv)) 1000L else .Machine$integer.max
  if (!waited) until_(cv, min(slice, if (is.null(t)) .Machine$integer.max else t + 5))
  if (!unresolved(aio)) return(collect_aio(aio))
  deadline <- if (is.null(t)) Inf else mclock() + t
  while (unresolved(aio)) {
    if (socket_pipes(target$sock) == 0L) {
      # Signal the cv again on the way out, so the next call's wait wakes
      # at once and finds the peer gone too (rpc_request() checks nothing
      # before sending).
      if (is.null(srv)) {
        nanonext::stop_aio(aio)
        nanonext::cv_signal(cv)
        stop(connection_lost_error(what, target$url))
      }
      if (srv$process$is_alive()) srv$process$wait(timeout = min(1000, max(0, deadline - mclock())))
      if (!srv$process$is_alive()) {
        nanonext::stop_aio(aio)
        nanonext::cv_signal(cv)
        stop(server_gone_error(srv))
      }
    }
    left <- deadline - mclock()
    if (left <= 0) break
    until_(cv, min(slice, if (is.finite(left)) left + 5 else .Machine$integer.max))
  }
  collect_aio(aio)
}

socket_pipes <- function(sock) {
  n <- stat(sock, "pipes")
  if (is.numeric(n)) as.integer(n) else 0L
}

mclock <- function() {
  as.double(nanonext::mclock())
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
#' @family wire-level helpers
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' mangoro_rpc_send(srv, mangoro_rpc_call_message("add", data.frame(x = 1, y = 2)))
#' str(mangoro_rpc_parse_response(mangoro_rpc_recv(srv)))
#' close(srv)
#' @export
mangoro_rpc_send <- function(sock, msg, timeout = NULL) {
  con <- rpc_connection(sock)
  if (!is.raw(msg)) {
    mangoro_abort(c("`msg` must be a raw vector.", sprintf("Got: %s.", format_value(msg))),
                  class = "mangoro_input_error")
  }
  res <- nanonext::send(con, msg, mode = "raw", block = nng_block(timeout))
  if (nanonext::is_error_value(res) && res != 0L) stop(transport_error(res, "send", sock))
  invisible(sock)
}

#' @rdname mangoro_rpc_send
#' @export
mangoro_rpc_recv <- function(sock, timeout = NULL) {
  con <- rpc_connection(sock)
  res <- nanonext::recv(con, mode = "raw", block = nng_block(timeout))
  if (nanonext::is_error_value(res)) stop(transport_error(res, "receive", sock))
  res
}

# nanonext's `block` argument: TRUE waits without limit.
nng_block <- function(timeout) {
  t <- as_timeout(timeout)
  if (is.null(t)) TRUE else t
}

# The connection send()/recv() use for mangoro_rpc_send()/recv().
rpc_connection <- function(sock) {
  if (inherits(sock, c("nanoSocket", "nanoContext"))) return(sock)
  target <- rpc_target(sock)
  if (is.null(target$ctx)) target$sock else target$ctx
}

# --- async ------------------------------------------------------------------

# The recvAio from nanonext::request(), re-classed: nanonext's unresolved()
# and call_aio() keep working on it, and its `data` binding is replaced by one
# that decodes the reply once (on first access) into a data.frame.
new_mangoro_aio <- function(aio, ctx, func_name, target, t, id = NULL) {
  what <- sprintf("the call to %s()", func_name)
  if (!is.environment(aio)) {
    # request() failed at once (e.g. closed socket): an error list.
    stop(transport_error(aio$data, what, target$server))
  }
  raw_data <- activeBindingFunction("data", aio)
  rm("data", envir = aio)
  decoded <- NULL
  makeActiveBinding("data", function() {
    if (!is.null(decoded)) return(decoded)
    reply <- raw_data()
    if (nanonext::unresolved(reply)) return(reply)
    if (abandoned(reply)) aio_cancel(aio)
    decoded <<- tryCatch(
      if (nanonext::is_error_value(reply)) stop(transport_error(reply, what, target$server))
      else message_result(reply, func_name, target$server),
      mangoro_error = identity
    )
    decoded
  }, aio)
  assign(".mangoro_func", func_name, envir = aio)
  assign(".mangoro_ctx", ctx, envir = aio)
  assign(".mangoro_target", target, envir = aio)
  assign(".mangoro_deadline", if (is.null(t)) Inf else mclock() + t, envir = aio)
  if (!is.null(id)) {
    assign(".mangoro_id", id, envir = aio)
    assign(".mangoro_raw", raw_data, envir = aio)
    reg.finalizer(aio, aio_finalize)
  }
  class(aio) <- c("mangoro_aio", "recvAio")
  aio
}

# A reply R gave up on: timed out (5) or stopped with stop_aio() (20).
abandoned <- function(reply) {
  nanonext::is_error_value(reply) && unclass(reply) %in% c(5L, 20L)
}

# Cancel an aio's call on the server, once.
aio_cancel <- function(aio) {
  id <- aio$.mangoro_id
  if (is.null(id)) return(invisible())
  assign(".mangoro_id", NULL, envir = aio)
  send_cancel(aio$.mangoro_target, id)
}

# Garbage collection of an aio whose reply never came (or was abandoned)
# cancels the call. A finalizer runs wherever R collects garbage, possibly
# inside another call's wait, so it only queues the cancel; the next call (or
# cancel) sends it. R keeps what the aio refers to alive while this runs.
aio_finalize <- function(aio) {
  id <- aio$.mangoro_id
  if (is.null(id)) return()
  reply <- aio$.mangoro_raw()
  if (nanonext::unresolved(reply) || abandoned(reply)) {
    client_state$deferred[[length(client_state$deferred) + 1L]] <- list(target = aio$.mangoro_target, id = id)
  }
}

# Send the cancels finalizers queued.
flush_cancels <- function() {
  pending <- client_state$deferred
  client_state$deferred <- list()
  for (p in pending) send_cancel(p$target, p$id)
}

#' Stop waiting for an asynchronous call
#'
#' Stops the aio (as `nanonext::stop_aio()` does: its `data` becomes an
#' error) and tells the server to cancel the call, whose Go handler sees its
#' `context.Context` cancelled. `nanonext::stop_aio()` on a `mangoro_aio`
#' cancels the call too, when the aio is next read or garbage-collected.
#'
#' @param con A `mangoro_aio` from [mangoro_rpc_call_aio()].
#' @param ... Ignored.
#' @return `con`, invisibly.
#' @export
close.mangoro_aio <- function(con, ...) {
  if (nanonext::unresolved(con)) {
    nanonext::stop_aio(con)
    aio_cancel(con)
  }
  invisible(con)
}

#' Wait for an asynchronous call and return its result
#'
#' @param x A `mangoro_aio` from [mangoro_rpc_call_aio()], or a list of them.
#' @return The data.frame (for a list, a list of data.frames). Errors are
#'   signalled with their classes, as in [mangoro_rpc_call()].
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' aios <- lapply(1:3, function(i) mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 10 * i)))
#' mangoro_aio_result(aios)
#' close(srv)
#' @export
mangoro_aio_result <- function(x) {
  if (inherits(x, "mangoro_pool_aio")) return(pool_aio_result(x)) # pool hook (R/pool.R)
  if (is.list(x) && !is.environment(x)) return(lapply(x, mangoro_aio_result))
  if (!inherits(x, "mangoro_aio")) {
    mangoro_abort(c("`x` must be a mangoro_aio from mangoro_rpc_call_aio().",
                    sprintf("Got: %s.", format_value(x))), class = "mangoro_input_error")
  }
  if (nanonext::unresolved(x)) {
    left <- x$.mangoro_deadline - mclock()
    # wait_reply() notices a dropped connection before the timeout.
    wait_reply(x, x$.mangoro_target, if (is.finite(left)) max(0L, as.integer(left)) else NULL,
               sprintf("the call to %s()", x$.mangoro_func))
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
