# Running a Go program as an RPC server: start it with processx, wait for its
# ready line (an event, not a sleep), dial it, and clean up in layers: close(),
# local_/with_ helpers, a GC/exit finalizer, and the child itself exiting when
# its stdin pipe (held by this R session) closes.

#' Start a Go RPC server
#'
#' Starts a built Go program (see [mangoro_go_build()]) as a child process
#' serving at `url`, waits until it is ready and has answered a manifest
#' request, and returns an object to call it with.
#'
#' @details The program is run as `binary url args...` with the environment
#'   variables `MANGORO_READY=stdout` (print `mangoro-ready <url>` once
#'   listening) and `MANGORO_PARENT=stdin` (exit when stdin closes, so the
#'   server goes away with this R session, even after `kill -9`). Its stderr
#'   (and anything printed after the ready line) goes to a log file, see
#'   [mangoro_server_log()].
#' @param binary Character scalar; path of the Go executable.
#' @param url Character scalar; the address to serve on. Default: a fresh
#'   private `ipc://` path from [create_ipc_path()]. For TCP, port 0 lets the
#'   server pick a free port; `srv$url` then holds the address it bound.
#' @param args Character vector, default `character()`; more arguments after
#'   the URL.
#' @param env Named character vector or `NULL` (default); environment
#'   variables added to (or overriding) the current ones, e.g.
#'   `c(MANGORO_MAX_MESSAGE_SIZE = "1048576")`.
#' @param timeout Numeric; milliseconds to wait for start-up (ready line,
#'   manifest, info). Default 10000.
#' @param workdir Character scalar or `NULL` (default, the current directory);
#'   the working directory of the process.
#' @return A `mangoro_server` object: pass it to [mangoro_rpc_call()] or
#'   [mangoro_rpc_call_aio()], or use `srv$call(func_name, data)`. Fields:
#'   `url`, `name`, `manifest`, `info`, `process` (a processx process),
#'   `log_file`. Close it with `close(srv)` (safe to call twice); it is also
#'   closed when garbage-collected and when R exits.
#' @section Security: who is authenticated:
#' * `ipc://` (the default): the socket file lives in a 0700 directory, so
#'   only this user (and root) can connect.
#' * `tcp://` and `ws://`: nobody. Any local user (and, on a non-loopback
#'   address, anyone who can reach the port) can call every function. Starting
#'   a server on one warns (class `mangoro_insecure_warning`).
#' * `tls+tcp://` and `wss://`: the server proves who it is to the client
#'   (its certificate) and the traffic is encrypted; clients are not
#'   authenticated unless the server requires client certificates.
#' * A token (environment variable `MANGORO_TOKEN` given to the server in
#'   `env`, and sent by the client in every request's header; R does so for
#'   the server object it returns): the client proves itself to the server. The server unsets the variable at start and
#'   never logs it; requests without it get only an `"unauthorized"` error.
#' @section Warnings: `mangoro_insecure_warning` for a plain `tcp://` or
#'   `ws://` `url`.
#' @section Errors: `mangoro_start_error` (fields `status`, `stderr`) when
#'   the program exits or does not become ready within `timeout`, or
#'   `binary` is not an executable (e.g. a `.go` file: build it with
#'   [mangoro_go_build()]); `mangoro_input_error` for a missing binary.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' srv
#' srv$call("add", data.frame(x = 1, y = 2))
#' close(srv)
#' @family entry points
#' @export
mangoro_server_start <- function(binary, url = create_ipc_path(), args = character(),
                                 env = NULL, timeout = 10000, workdir = NULL) {
  if (!is.character(binary) || length(binary) != 1L || is.na(binary) || !file.exists(binary)) {
    mangoro_abort(
      c(sprintf("Go server binary not found: %s.", format_value(binary)),
        "Build it first with mangoro_go_build()."),
      class = "mangoro_input_error"
    )
  }
  if (dir.exists(binary) || file.access(binary, 1L) != 0L) {
    mangoro_abort(
      c(sprintf("%s is not an executable%s.", binary,
                if (grepl("\\.go$", binary) || dir.exists(binary)) " (it looks like Go source)" else ""),
        "mangoro_go_build() makes one from Go source: mangoro_server_start(mangoro_go_build(src))."),
      class = "mangoro_start_error"
    )
  }
  if (!is.null(env) && (!is.character(env) || is.null(names(env)) || any(!nzchar(names(env))))) {
    mangoro_abort("`env` must be a named character vector, e.g. c(NAME = \"value\").",
                  class = "mangoro_input_error")
  }
  warn_if_insecure(url)
  t <- as_timeout(timeout)
  deadline <- mclock() + if (is.null(t)) Inf else t
  log_file <- tempfile(paste0(basename(binary), "-"), fileext = ".log")
  proc <- processx::process$new(
    binary, c(url, args),
    stdin = "|", stdout = "|", stderr = log_file,
    env = c("current", MANGORO_READY = "stdout", MANGORO_PARENT = "stdin", env),
    wd = workdir, cleanup = TRUE
  )
  srv <- new.env(parent = emptyenv())
  srv$url <- url
  srv$name <- basename(binary)
  srv$binary <- binary
  srv$process <- proc
  srv$log_file <- log_file
  srv$sock <- NULL
  # A server given a token requires it in every request (R sends it).
  srv$token <- if ("MANGORO_TOKEN" %in% names(env)) env[["MANGORO_TOKEN"]]
  class(srv) <- "mangoro_server"
  reg.finalizer(srv, server_finalize, onexit = TRUE)
  ok <- FALSE
  on.exit(if (!ok) close(srv), add = TRUE)

  # The ready line names the bound address: for tcp://host:0 it has the port.
  srv$url <- sub("^mangoro-ready\\s+", "", trimws(wait_ready_line(srv, deadline)))
  srv$cv <- nanonext::cv()
  srv$sock <- no_resend(nanonext::socket("req", dial = srv$url, autostart = TRUE))
  nanonext::pipe_notify(srv$sock, srv$cv, remove = TRUE)
  srv$ctx <- nanonext::context(srv$sock)
  left <- function() max(1, deadline - mclock())
  target <- rpc_target(srv)
  srv$manifest <- tryCatch(
    mangoro_rpc_get_manifest(srv, timeout = left(), simplify = FALSE),
    mangoro_error = function(e) start_abort(srv, c("It did not answer the manifest request:",
                                                    conditionMessage(e)))
  )
  srv$info <- tryCatch(rpc_get_info(target, timeout = left()),
                       mangoro_remote_error = function(e) NULL)
  srv$call <- function(func_name, data, timeout = NULL) {
    mangoro_rpc_call(srv, func_name, data, timeout = timeout)
  }
  ok <- TRUE
  srv
}

# tcp:// and ws:// authenticate nobody: say so once per start.
warn_if_insecure <- function(url) {
  if (is.character(url) && length(url) == 1L && grepl("^(tcp|ws)://", url)) {
    warning(warningCondition(
      paste0(sprintf("%s has no authentication: any local user can connect and call every function.\n", url),
             "Use ipc:// (the default) on one machine, or tls+tcp:// or wss:// with a certificate."),
      class = c("mangoro_insecure_warning", "mangoro_warning")
    ))
  }
}

# Read stdout until the ready line: poll_io() is an event wait; EOF (or the
# process exiting) during start-up is a start error with the log attached.
wait_ready_line <- function(srv, deadline) {
  proc <- srv$process
  repeat {
    left <- deadline - mclock()
    if (left <= 0) start_abort(srv, "It did not print its ready line in time.")
    state <- proc$poll_io(as.integer(ceiling(left)))[["output"]]
    if (state == "ready") {
      lines <- proc$read_output_lines()
      ready <- grep("^mangoro-ready ", lines, value = TRUE)
      if (length(ready)) return(invisible(ready[[1L]]))
    }
    # EOF on stdout before the ready line: the program is exiting.
    if (state == "closed" || !proc$is_incomplete_output()) {
      proc$wait(max(1, min(2000, deadline - mclock())))
      start_abort(srv, "It exited during start-up.")
    }
  }
}

start_abort <- function(srv, why) {
  proc <- srv$process
  status <- if (proc$is_alive()) NA_integer_ else proc$get_exit_status()
  stderr <- server_log_tail(srv, 20L)
  close(srv)
  stop(start_error(srv, why, status, stderr))
}

# The log lines that explain a failure: the last `n`, after the stack trace
# of the last recovered handler panic (old news: the call that panicked got
# its error and the server kept serving).
server_log_tail <- function(srv, n = 20L) {
  utils::tail(after_recovered_panic(server_log_lines(srv)), n)
}

server_log_lines <- function(srv) {
  f <- srv$log_file
  if (is.null(f) || !file.exists(f)) return(character())
  readLines(f, warn = FALSE)
}

# rgoipc logs a recovered panic as "[prog] <date> <time> <fn>: panic: <value>"
# followed by the goroutine's stack: "goroutine N [...]:" and pairs of a
# function line and a tab-indented file line.
after_recovered_panic <- function(lines) {
  heads <- grep("^\\[[^]]*\\] [0-9/]+ [0-9:.]+ [^ ]+: panic: ", lines)
  if (!length(heads)) return(lines)
  i <- heads[[length(heads)]] + 1L
  if (i <= length(lines) && grepl("^goroutine [0-9]+ \\[", lines[[i]])) i <- i + 1L
  while (i < length(lines) && startsWith(lines[[i + 1L]], "\t")) i <- i + 2L
  c(sprintf("(%d earlier lines, up to the stack trace of a recovered panic, left out: see mangoro_server_log())",
            i - 1L),
    lines[seq_len(max(0L, length(lines) - i + 1L)) + i - 1L])
}

#' The last lines of a Go server's log
#'
#' @param srv A `mangoro_server`.
#' @param n Integer, default 20: how many lines.
#' @return A character vector: the last `n` lines the server wrote to stderr
#'   (each prefixed `[<program>] ` by rgoipc servers), all of them, stack
#'   traces of recovered panics included. The `stderr` field of a
#'   `mangoro_server_gone` or `mangoro_timeout_error` holds only the lines
#'   after the last recovered panic's trace: what preceded the failure.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' mangoro_server_log(srv)
#' close(srv)
#' @export
mangoro_server_log <- function(srv, n = 20L) {
  if (!inherits(srv, "mangoro_server")) {
    mangoro_abort("`srv` must be a mangoro_server.", class = "mangoro_input_error")
  }
  utils::tail(server_log_lines(srv), n)
}

#' @export
format.mangoro_server <- function(x, ...) {
  proc <- x$process
  state <- if (is.null(x$sock)) "closed" else if (proc$is_alive()) "running" else
    sprintf("exited (status %s)", format(proc$get_exit_status()))
  fns <- names(x$manifest)
  c(sprintf("<mangoro_server> %s, %s, pid %d, %s", x$name, state, proc$get_pid(), x$url),
    sprintf("  functions: %s", if (length(fns)) paste(fns, collapse = ", ") else "(none)"),
    if (state == "running") format_load(x))
}

# "workers: 64, 3 busy", from a fresh info request with a short timeout: a
# server whose workers are all busy cannot answer it, which is worth saying.
format_load <- function(x) {
  if (!"header" %in% x$info$features) return(NULL) # no load figures before 0.2.0
  info <- tryCatch(mangoro_server_info(x, timeout = 500), mangoro_error = function(e) NULL)
  if (is.null(info)) return("  workers: no answer within 500 ms (all busy?)")
  w <- info$workers
  b <- info$busy
  if (is.numeric(b) && is.numeric(w) && b >= w) {
    return(sprintf("  workers: all %d busy: new calls wait for one to finish", as.integer(w)))
  }
  sprintf("  workers: %d, %d busy", as.integer(w), as.integer(b))
}

#' @export
print.mangoro_server <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

#' Stop a Go server
#'
#' Closes the socket, asks the process to stop (SIGTERM, then SIGKILL after
#' `grace` ms), waits for it to exit and removes the socket file. Safe to call
#' more than once.
#'
#' @param con A `mangoro_server`.
#' @param grace Numeric; milliseconds to wait for a graceful exit. Default 5000.
#' @param ... Unused.
#' @return `con`, invisibly.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' srv <- mangoro_server_start(bin)
#' close(srv)
#' srv
#' close(srv) # a second close does nothing
#' @export
close.mangoro_server <- function(con, grace = 5000, ...) {
  if (isTRUE(con$closed)) return(invisible(con))
  con$closed <- TRUE
  con$.call <- NULL # mangoro_rpc_call() takes its slow path, which says it is closed
  if (!is.null(con$sock)) {
    # The socket's own finalizer may have closed it already (at GC/exit).
    try(suppressWarnings(close(con$sock)), silent = TRUE)
    con$sock <- NULL
    con$ctx <- NULL
  }
  proc <- con$process
  if (!is.null(proc) && proc$is_alive()) {
    try(proc$signal(tools::SIGTERM), silent = TRUE)
    proc$wait(grace)
    if (proc$is_alive()) {
      proc$kill()
      proc$wait(1000)
    }
  }
  forget_url_socket(con$url)
  path <- sub("^ipc://", "", con$url)
  if (!identical(path, con$url) && file.exists(path)) unlink(path)
  invisible(con)
}

server_finalize <- function(srv) {
  try(close(srv, grace = 1000), silent = TRUE)
}

#' Start a Go server for the duration of a scope
#'
#' `local_mangoro_server()` starts a server and closes it when the calling
#' function (or `.local_envir`) exits; `with_mangoro_server()` runs `code`
#' with a server bound to `srv` and closes it afterwards.
#'
#' @param binary,... Passed to [mangoro_server_start()].
#' @param .local_envir Environment; the scope whose exit closes the server.
#'   Default: the caller's frame.
#' @param code Expression evaluated with `srv` bound to the server (in a child
#'   of the calling environment, so use `<<-` to keep other results).
#' @return `local_mangoro_server()`: the `mangoro_server`.
#'   `with_mangoro_server()`: the value of `code`.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' with_mangoro_server(bin, mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2)))
#' @family entry points
#' @export
local_mangoro_server <- function(binary, ..., .local_envir = parent.frame()) {
  srv <- mangoro_server_start(binary, ...)
  do.call(on.exit, list(substitute(close(s), list(s = srv)), add = TRUE), envir = .local_envir)
  srv
}

#' @rdname local_mangoro_server
#' @export
with_mangoro_server <- function(binary, code, ...) {
  srv <- mangoro_server_start(binary, ...)
  on.exit(close(srv), add = TRUE)
  eval(substitute(code), list(srv = srv), parent.frame())
}
