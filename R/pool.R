# A pool of Go workers behind one R client: n processes serving the same
# program, on this machine or on other hosts, each with its own connection.
#
# Why one req socket per worker, with dispatch in R, and not one req socket
# dialled to every worker: NNG's req resends a request on another pipe when
# its pipe is lost (and after 60 s without a reply), which would run a call
# twice and hide which worker died. Here each worker has its own socket with
# resending off (`req:resend-time` 0): a request goes to exactly one worker,
# and a lost connection fails it at once (NNG error 19), naming the worker.
# Map chunks are then retried on another worker; other calls fail with
# `mangoro_server_gone`. Every socket signals the pool's one condition
# variable on pipe events, and map requests signal it on completion, so a map
# waits on one event source for replies, timeouts and lost workers.
#
# Remote workers are placed with mirai: the pool starts one mirai daemon per
# worker (any launch configuration mirai has), and each daemon runs the
# shipped binary with mangoro_server_start() and announces the worker's URL
# back over a req socket to the pool. The daemon holds the worker's stdin, so
# the worker exits with its daemon, and the daemon exits with its connection
# to this R session.
#
# Security of remote pools (the default unless insecure = TRUE): mirai's link
# is tls+tcp, so the task that carries the pool's token is encrypted; each
# daemon makes its worker's certificate for the address R will dial (nanonext
# checks the common name, and only the host knows its address) and announces
# URL, certificate and token over tls+tcp to a listener whose certificate
# came in the task; R pins that certificate for that worker and puts the
# token in every request's header (the worker refuses requests without it).

#' A pool of Go workers
#'
#' Starts `n` copies of a Go program (built with [mangoro_go_build()]) on this
#' machine, on other hosts through a mirai launch configuration, or joins
#' workers already running, and returns one object to call them through. A
#' pool is a target wherever a server is: [mangoro_rpc_call()],
#' [mangoro_rpc_call_aio()], [mangoro_functions()], and [mangoro_map()],
#' which spreads the rows of a data frame over every worker.
#'
#' @details
#' **Local workers** are started like [mangoro_server_start()] starts a
#' server (an `ipc://` socket each, exiting with this R session), with
#' `GOMAXPROCS` set to `gomaxprocs`.
#'
#' **Remote workers** are started by mirai daemons: `remote` is a launch
#' configuration from [mirai::remote_config()], [mirai::ssh_config()] or
#' [mirai::cluster_config()], or a list of them (one group each). The pool
#' launches the daemons (`n` per configuration, or one per host for an
#' `ssh_config()` of several hosts), ships the binary to each (a Go binary is
#' static: the hosts need no Go, only R with mirai and mangoro), and each
#' daemon starts one worker listening on `tls+tcp://<its address>:0` (see
#' 'Security'), choosing its address nearest to `host`. Calls of Go functions
#' registered with `rgoipc.Meta("idempotent", "true")` are sent once more, to
#' another worker, when their worker dies; other calls then fail with
#' `mangoro_server_gone` naming the worker. A worker exits when its daemon
#' does; close() stops the daemons. Workers must be reachable from this session at their
#' addresses: tunnelled ssh (`tunnel = TRUE`) is not supported.
#'
#' **Joining** workers started by other means (a scheduler script printed by
#' [mangoro_worker_command()]): `mangoro_pool(urls = ...)`. close() does not
#' stop them.
#'
#' **Dispatch**: each worker has its own connection; a call goes to the live
#' worker with the fewest calls in flight. A worker whose connection drops is
#' noticed at once (pipe events) and gets no more calls until it reconnects;
#' a local worker whose process has exited is gone for good.
#'
#' @section Security: Remote workers listen on `tls+tcp://`, each with a
#'   certificate made on its host for its address, which R pins (a worker
#'   cannot be impersonated); every request carries the pool's random token
#'   in its header, and a worker answers a request without it only with an
#'   error reply of code `unauthorized`. The token and the workers' keys
#'   travel inside the mirai tasks, over mirai's TLS link, and to the workers
#'   in their environment: never on a command line, in a log or in an error.
#'   `insecure = TRUE` uses plain `tcp://` instead (no TLS, no token).
#'   Local workers use `ipc://` files only your user can open.
#'   vignette("scaling-out") describes the threat model.
#' @param binary Character scalar or `NULL`: path of the Go executable (not
#'   needed with `urls`).
#' @param n Integer or `NULL` (default): number of local workers (default:
#'   the number of cores), or with `remote`, daemons per configuration
#'   (default 1, or one per host of an `ssh_config()`); recycled over a list
#'   of configurations.
#' @param remote A mirai launch configuration, a list of them, or `NULL`
#'   (default: local workers).
#' @param host Character scalar or `NULL` (default): the address remote hosts
#'   use to reach this R session, as an IP address or host name, or a URL
#'   such as `"tls+tcp://10.0.0.1:0"`; the daemons' link is `tls+tcp://`
#'   unless `insecure = TRUE`. Default: the first of [mirai::host_url()].
#' @param gomaxprocs Integer or `NULL` (default): `GOMAXPROCS` for each worker.
#'   Default for local workers: the cores divided by `n` (at least 1); for
#'   remote ones, Go's default (all cores of the host).
#' @param ... Passed to [mirai::daemons()] for remote workers (e.g.
#'   `output = TRUE` to see the daemons' output).
#' @param urls Character vector or `NULL` (default): join workers already
#'   listening at these URLs instead of starting any.
#' @param insecure Logical, default `FALSE`: `TRUE` starts remote workers on
#'   plain `tcp://` (no TLS, no token), and allows joining `tcp://` workers
#'   beyond the loopback interface. Only on networks you trust.
#' @param timeout Numeric; milliseconds to wait for every worker to be ready.
#'   Default 60000.
#' @return A `mangoro_pool`: pass it as the target of calls; `close(pool)`
#'   stops every worker it started and every daemon it launched (safe to call
#'   twice; also done when it is garbage-collected and when R exits). Fields:
#'   `name`, `manifest`, `workers` (see [mangoro_pool_workers()]).
#' @section Errors: `mangoro_input_error` for bad arguments;
#'   `mangoro_start_error` when a worker cannot be started or does not report
#'   within `timeout` (every worker already started is stopped).
#' @seealso [mangoro_map()], [mangoro_pool_workers()], vignette("scaling-out").
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/rpc-example", package = "mangoro"))
#' pool <- mangoro_pool(bin, n = 2, gomaxprocs = 1)
#' pool
#' mangoro_rpc_call(pool, "add", data.frame(x = 1, y = 2))
#' mangoro_map(pool, "spin", data.frame(n = rep(1e5, 8)), chunk_size = 1)
#' close(pool)
#' @export
mangoro_pool <- function(binary = NULL, n = NULL, remote = NULL, host = NULL, gomaxprocs = NULL,
                         ..., urls = NULL, insecure = FALSE, timeout = 60000) {
  timeout <- as_timeout(timeout)
  if (is.null(timeout)) timeout <- Inf
  check_flag(insecure, "insecure")
  if (!is.null(urls)) return(pool_join(urls, insecure, timeout))
  check_binary(binary)
  if (!is.null(gomaxprocs)) gomaxprocs <- check_count(gomaxprocs, "gomaxprocs")
  pool <- pool_new(basename(binary))
  ok <- FALSE
  on.exit(if (!ok) close(pool), add = TRUE)
  deadline <- mclock() + timeout
  if (is.null(remote)) {
    n <- if (is.null(n)) local_cores() else check_count(n, "n")
    if (is.null(gomaxprocs)) gomaxprocs <- max(1L, local_cores() %/% n)
    pool_start_local(pool, binary, n, gomaxprocs, deadline)
  } else {
    pool_start_remote(pool, binary, n, remote, host, gomaxprocs, deadline, secure = !insecure, ...)
  }
  pool_ready(pool, deadline)
  ok <- TRUE
  pool
}

local_cores <- function() {
  n <- parallel::detectCores(logical = TRUE)
  if (is.na(n) || n < 1L) 1L else as.integer(n)
}

check_binary <- function(binary) {
  if (!is.character(binary) || length(binary) != 1L || is.na(binary) || !file.exists(binary)) {
    mangoro_abort(
      c(sprintf("Go worker binary not found: %s.", format_value(binary)),
        "Build it first with mangoro_go_build()."),
      class = "mangoro_input_error"
    )
  }
}

check_count <- function(x, what) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < 1 || x != trunc(x)) {
    mangoro_abort(sprintf("`%s` must be one whole number >= 1; got %s.", what, format_value(x)),
                  class = "mangoro_input_error")
  }
  as.integer(x)
}

check_flag <- function(x, what) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    mangoro_abort(sprintf("`%s` must be TRUE or FALSE.", what), class = "mangoro_input_error")
  }
}

pool_new <- function(name) {
  pool <- new.env(parent = emptyenv())
  pool$name <- name
  pool$cv <- nanonext::cv()   # replies (map calls) and announcements
  pool$pcv <- nanonext::cv()  # pipe events of every worker's socket
  pool$pcv_seen <- -1L
  pool$workers <- list()
  pool$groups <- list()   # remote groups: list(id, config, expected)
  pool$aios <- list()     # outstanding mangoro_pool_call_aio() calls
  pool$manifest <- NULL
  pool$header <- ""       # request header (the token) of a secure pool
  pool$closed <- FALSE
  class(pool) <- "mangoro_pool"
  reg.finalizer(pool, pool_finalize, onexit = TRUE)
  pool
}

# A worker: where it is, its own connection, what the dispatcher knows.
pool_add_worker <- function(pool, url, kind, cores = 1L, server = NULL, pid = NA_integer_,
                            group = NA_integer_, tls = NULL, log = NA_character_) {
  w <- new.env(parent = emptyenv())
  w$id <- length(pool$workers) + 1L
  w$url <- url
  w$kind <- kind
  w$host <- if (kind == "local") "localhost" else url_host(url)
  w$server <- server
  w$pid <- as.integer(pid)
  w$group <- as.integer(group)
  w$cores <- max(1L, as.integer(cores))
  w$log <- log        # the worker's log file on its host (remote workers)
  w$cert <- if (!is.null(tls)) attr(tls, "mangoro_cert")  # the pinned certificate (PEM)
  w$busy <- 0L        # calls in flight
  w$sent <- 0         # calls sent, for fair ties
  w$dead <- FALSE     # a local process that exited: never comes back
  w$lost <- NA_real_  # dialer connect count when a call saw the connection drop
  w$up <- FALSE
  sock <- nanonext::socket("req")
  # Never resend: a lost connection fails the call (error 19) instead.
  nanonext::opt(sock, "req:resend-time") <- 0L
  nanonext::pipe_notify(sock, pool$pcv, add = TRUE, remove = TRUE)
  res <- suppressWarnings(nanonext::dial(sock, url = url, tls = tls, autostart = NA))
  w$sock <- sock
  pool$workers[[w$id]] <- w
  if (nanonext::is_error_value(res)) {
    mangoro_abort(
      c(sprintf("Could not connect to the worker at %s: %s.", url, nanonext::nng_error(res)),
        "Check that it is running and that this session can reach its address."),
      class = "mangoro_start_error"
    )
  }
  w
}

url_host <- function(url) {
  host <- tryCatch(nanonext::parse_url(url)[["hostname"]], error = function(e) "")
  if (nzchar(host)) host else url
}

# Local workers: one mangoro_server each, so start-up, logs and the
# exit-with-R contract are the server's own.
pool_start_local <- function(pool, binary, n, gomaxprocs, deadline) {
  for (i in seq_len(n)) {
    srv <- mangoro_server_start(binary, url = create_ipc_path("pool"),
                                env = c(GOMAXPROCS = as.character(gomaxprocs)),
                                timeout = max(1, deadline - mclock()))
    pool_add_worker(pool, srv$url, "local", cores = gomaxprocs, server = srv,
                    pid = srv$process$get_pid())
  }
}

# Joined workers: dial, check they answer, never stop them.
pool_join <- function(urls, insecure, timeout) {
  if (!is.character(urls) || !length(urls) || anyNA(urls) || anyDuplicated(urls)) {
    mangoro_abort("`urls` must be distinct worker URLs, e.g. \"tcp://10.0.0.2:5555\".",
                  class = "mangoro_input_error")
  }
  for (u in urls) check_worker_url(u, insecure)
  pool <- pool_new("joined")
  ok <- FALSE
  on.exit(if (!ok) close(pool), add = TRUE)
  for (u in urls) pool_add_worker(pool, u, "joined")
  pool_ready(pool, mclock() + timeout)
  ok <- TRUE
  pool
}

check_worker_url <- function(url, insecure) {
  scheme <- sub("://.*$", "", url)
  if (identical(scheme, "ipc")) return(invisible())
  if (!identical(scheme, "tcp")) {
    mangoro_abort(
      c(sprintf("Cannot join a worker at %s: only ipc:// and tcp:// workers are supported.", url),
        "TLS workers come with a later version of mangoro."),
      class = "mangoro_input_error"
    )
  }
  host <- url_host(url)
  loopback <- host %in% c("localhost", "::1", "[::1]") || startsWith(host, "127.")
  if (!loopback && !isTRUE(insecure)) {
    mangoro_abort(
      c(sprintf("The worker at %s is reached over plain tcp:// beyond this machine.", url),
        "Pass insecure = TRUE to accept that, on a network you trust."),
      class = "mangoro_input_error"
    )
  }
}

# Every worker connected and answering; the manifest comes from the first and
# every worker must serve the same functions.
pool_ready <- function(pool, deadline) {
  if (!length(pool$workers)) {
    mangoro_abort("The pool has no workers.", class = "mangoro_start_error")
  }
  for (w in pool$workers) {
    left <- max(1, deadline - mclock())
    m <- tryCatch(pool_manifest(pool, w, left), mangoro_error = function(e) e)
    if (inherits(m, "error")) {
      mangoro_abort(c(sprintf("The worker at %s did not answer the manifest request:", w$url),
                      conditionMessage(m)), class = "mangoro_start_error")
    }
    if (is.null(pool$manifest)) {
      pool$manifest <- m
    } else if (!identical(sort(names(m)), sort(names(pool$manifest)))) {
      mangoro_abort(
        c(sprintf("The worker at %s serves other functions than the first worker:", w$url),
          sprintf("%s versus %s.", paste(names(m), collapse = ", "),
                  paste(names(pool$manifest), collapse = ", ")),
          "A pool's workers must run the same program."),
        class = "mangoro_start_error"
      )
    }
  }
  invisible(pool)
}

# The manifest request of one worker, with the pool's header.
pool_manifest <- function(pool, w, timeout) {
  msg <- envelope_pack(envelope_type[["manifest"]], "", pool$header)
  aio <- pool_send(w, msg, if (is.finite(timeout)) as.integer(timeout))
  reply <- collect_aio(aio)
  w$busy <- w$busy - 1L
  if (nanonext::is_error_value(reply)) stop(transport_error(reply, "the manifest request"))
  json_parse(message_payload(reply, "manifest"), simplify = FALSE)
}

# A call message to a pool worker: the header goes in the envelope's text
# field (the C encoder leaves it empty: [type][name_len][name][0 0 0 0][payload]).
pool_message <- function(pool, func_name, data) {
  msg <- mangoro_rpc_call_message(func_name, data)
  if (!nzchar(pool$header)) return(msg)
  at <- 5 + mangoro_unpack_int32(msg[2:5])
  text <- charToRaw(enc2utf8(pool$header))
  c(msg[seq_len(at)], mangoro_pack_int32(length(text)), text, msg[-seq_len(at + 4)])
}

# Are calls of `func_name` safe to run twice? Go marks them with
# rgoipc.Meta("idempotent", "true").
pool_idempotent <- function(pool, func_name) {
  identical(pool$manifest[[func_name]]$Metadata$idempotent, "true")
}

# --- remote workers ---------------------------------------------------------

pool_start_remote <- function(pool, binary, n, remote, host, gomaxprocs, deadline, secure, ...) {
  if (!requireNamespace("mirai", quietly = TRUE)) {
    mangoro_abort("Remote workers need the mirai package: install.packages(\"mirai\").",
                  class = "mangoro_input_error")
  }
  configs <- remote_configs(remote)
  n <- if (is.null(n)) rep(1L, length(configs)) else
    rep_len(vapply(n, check_count, 1L, what = "n"), length(configs))
  url <- remote_host_url(host, secure)
  near <- url_host(url)
  bytes <- readBin(binary, "raw", file.info(binary)$size)
  # The pool's credential: workers require it on every request, and the
  # daemons present it when they announce their worker. It travels only
  # inside the mirai task (TLS when secure) and the worker's environment.
  token <- paste(nanonext::random(16L), collapse = "")
  if (secure) pool$header <- request_header(token = token) # {"token": ...}
  # Workers announce themselves here, over TLS when secure: the daemons
  # verify this session with the certificate from the task, and the
  # announcement (the token, the worker's certificate) is encrypted.
  ann_cert <- NULL
  ann_tls <- NULL
  if (secure) {
    pem <- nanonext::write_cert(cn = near)
    ann_cert <- pem$client
    ann_tls <- nanonext::tls_config(server = pem$server)
  }
  scheme <- if (secure) "tls+tcp" else "tcp"
  pool$announce <- nanonext::socket("rep")
  res <- suppressWarnings(nanonext::listen(pool$announce, url = sprintf("%s://%s:0", scheme, near),
                                           tls = ann_tls))
  if (nanonext::is_error_value(res)) {
    mangoro_abort(c(sprintf("Could not listen on %s for remote workers: %s.", near,
                            nanonext::nng_error(res)),
                    "Set `host` to an address of this machine that the remote hosts can reach."),
                  class = "mangoro_input_error")
  }
  port <- nanonext::opt(pool$announce$listener[[1L]], "tcp-bound-port")
  announce <- sprintf("%s://%s:%d", scheme, near, port)
  start_call <- quote(start(binary, name, announce, ann_cert, token, near, gomaxprocs, secure, timeout))
  expected <- 0L
  for (g in seq_along(configs)) {
    cfg <- configs[[g]]
    id <- sprintf("mangoro-pool-%s-%d", nanonext::random(4L), g)
    count <- if (is.list(cfg$args) && length(cfg$args) > 1L) length(cfg$args) else n[[g]]
    pool$groups[[g]] <- list(id = id, expected = count)
    mirai::daemons(n[[g]], url = url, remote = cfg, dispatcher = TRUE, ..., .compute = id)
    pool$groups[[g]]$tasks <- mirai::everywhere(
      start_call,
      .args = list(start = pool_daemon_start, binary = bytes, name = pool$name, announce = announce,
                   ann_cert = ann_cert, token = token, near = near, gomaxprocs = gomaxprocs,
                   secure = secure, timeout = max(1, deadline - mclock())),
      .min = count, .compute = id
    )
    expected <- expected + count
  }
  pool_await_announcements(pool, expected, token, deadline)
}

remote_configs <- function(remote) {
  is_config <- function(x) is.list(x) && all(c("command", "args", "rscript") %in% names(x))
  configs <- if (is_config(remote)) list(remote) else remote
  if (!is.list(configs) || !length(configs) || !all(vapply(configs, is_config, NA))) {
    mangoro_abort(
      c("`remote` must be a mirai launch configuration or a list of them.",
        "Make one with mirai::ssh_config(), mirai::cluster_config() or mirai::remote_config()."),
      class = "mangoro_input_error"
    )
  }
  if (any(vapply(configs, function(x) isTRUE(x$tunnel), NA))) {
    mangoro_abort(
      c("Tunnelled ssh (ssh_config(tunnel = TRUE)) is not supported for workers:",
        "R calls each worker at its own address, so the hosts must be reachable directly."),
      class = "mangoro_input_error"
    )
  }
  configs
}

# mirai's link to the daemons carries the pool's token and the workers'
# keys: TLS unless the pool is insecure (mirai makes its own certificate).
remote_host_url <- function(host, secure = FALSE) {
  if (is.null(host)) host <- mirai::host_url()[[1L]]
  if (!is.character(host) || length(host) != 1L || is.na(host) || !nzchar(host)) {
    mangoro_abort("`host` must be one address, e.g. \"10.0.0.1\" or \"tls+tcp://10.0.0.1:0\".",
                  class = "mangoro_input_error")
  }
  if (!grepl("://", host, fixed = TRUE)) host <- sprintf("tcp://%s:0", host)
  if (secure) host <- sub("^tcp://", "tls+tcp://", host)
  if (secure && !grepl("^tls\\+tcp://", host)) {
    mangoro_abort(
      c(sprintf("`host` %s is not a tcp:// or tls+tcp:// address.", host),
        "A secure pool talks to its daemons over tls+tcp://."),
      class = "mangoro_input_error"
    )
  }
  host
}

# Runs on a mirai daemon (this function travels there; its environment is
# mangoro's namespace, so the host needs mangoro, not Go). Starts the worker,
# keeps it in the daemon's global environment (everywhere() preserves it) and
# announces its URL, or the error, to the pool. A secure worker listens on
# tls+tcp:// with a certificate made here for the address R dials (nanonext
# checks the certificate's common name against it, and the address is only
# known here): its key never leaves the host, and R pins the certificate,
# which reaches it over the TLS announcement, next to the token.
pool_daemon_start <- function(binary, name, announce, ann_cert, token, near, gomaxprocs, secure,
                              timeout) {
  deadline <- mclock() + timeout
  res <- tryCatch({
    dir <- tempfile("mangoro-worker-")
    dir.create(dir, mode = "0700")
    path <- file.path(dir, name)
    writeBin(binary, path)
    Sys.chmod(path, "0700")
    ip <- nearest_ip(nanonext::ip_addr(), near)
    env <- if (!is.null(gomaxprocs)) c(GOMAXPROCS = as.character(gomaxprocs))
    cert <- NULL
    if (secure) {
      pem <- nanonext::write_cert(cn = ip)
      cert <- pem$client
      env <- c(env, MANGORO_TLS_CERT = pem$server[[1L]], MANGORO_TLS_KEY = pem$server[[2L]],
               MANGORO_TOKEN = token)
    }
    w <- worker_process_start(path, sprintf("%s://%s:0", if (secure) "tls+tcp" else "tcp", ip),
                              env, dir, deadline)
    unlink(path) # the running program keeps its file open
    assign(".mangoro_worker", w, envir = globalenv())
    cores <- if (is.null(gomaxprocs)) parallel::detectCores() else gomaxprocs
    list(url = w$url, pid = w$process$get_pid(), cores = cores, cert = cert, log = w$log)
  }, error = function(e) list(error = conditionMessage(e)))
  res$token <- token
  res$nodename <- Sys.info()[["nodename"]]
  tls <- if (!is.null(ann_cert)) nanonext::tls_config(client = ann_cert)
  sock <- nanonext::socket("req", dial = announce, tls = tls)
  on.exit(close(sock))
  aio <- nanonext::request(nanonext::context(sock), res, timeout = max(1000, deadline - mclock()))
  nanonext::call_aio(aio)
  res$url
}

# A worker process on a daemon's host: like mangoro_server_start() (ready
# line, exits with its parent's stdin), but the daemon never calls it, so it
# needs neither the token nor the certificate, which stay in its environment.
worker_process_start <- function(path, url, env, dir, deadline) {
  log <- file.path(dir, "worker.log")
  proc <- processx::process$new(
    path, url, stdin = "|", stdout = "|", stderr = log,
    env = c("current", MANGORO_READY = "stdout", MANGORO_PARENT = "stdin", env),
    cleanup = TRUE
  )
  repeat {
    left <- deadline - mclock()
    fail <- function(why) {
      try(proc$kill(), silent = TRUE)
      stop(sprintf("the worker %s: %s; its log: %s", why, url,
                   paste(utils::tail(readLines(log, warn = FALSE), 5L), collapse = " | ")))
    }
    if (left <= 0) fail("did not print its ready line in time")
    if (proc$poll_io(as.integer(ceiling(left)))[["output"]] == "eof") fail("exited before it was ready")
    line <- grep("^mangoro-ready\\s+", proc$read_output_lines(), value = TRUE)
    if (length(line)) {
      return(list(process = proc, url = sub("^mangoro-ready\\s+", "", trimws(line[[1L]])), log = log))
    }
  }
}

# The local address sharing the longest prefix with the pool's host: the
# interface the daemon reached it on, in the usual layouts.
nearest_ip <- function(ips, near) {
  ips <- unname(ips[grepl("^[0-9]+(\\.[0-9]+){3}$", ips)])
  if (!length(ips)) stop("no IPv4 address on this host")
  if (!grepl("^[0-9]+(\\.[0-9]+){3}$", near)) return(ips[[1L]])
  bits <- function(ip) {
    paste(vapply(as.integer(strsplit(ip, ".", fixed = TRUE)[[1L]]), function(b) {
      paste(rev(as.integer(intToBits(b))[1:8]), collapse = "")
    }, ""), collapse = "")
  }
  target <- strsplit(bits(near), "")[[1L]]
  common <- vapply(ips, function(ip) {
    d <- which(strsplit(bits(ip), "")[[1L]] != target)
    if (length(d)) d[[1L]] - 1L else 32L
  }, 0L)
  ips[[which.max(common)]]
}

# Wait (on the pool's cv) for `expected` announcements; each adds a worker.
pool_await_announcements <- function(pool, expected, token, deadline) {
  ann <- pool$announce
  errors <- character()
  got <- 0L
  while (got < expected) {
    left <- deadline - mclock()
    if (left <= 0) remote_start_abort(pool, got, expected, errors)
    msg <- nanonext::recv_aio(ann, mode = "serial", timeout = as.integer(left), cv = pool$cv)
    while (unresolved(msg) && mclock() < deadline) until(pool$cv, max(1, deadline - mclock()))
    value <- collect_aio(msg)
    if (nanonext::is_error_value(value)) next
    nanonext::send(ann, TRUE, mode = "serial", block = 1000L)
    if (!is.list(value) || !identical(value$token, token)) next
    got <- got + 1L
    if (!is.null(value$error)) {
      errors <- c(errors, sprintf("%s: %s", value$nodename, value$error))
      next
    }
    tls <- if (!is.null(value$cert)) {
      structure(nanonext::tls_config(client = value$cert), mangoro_cert = value$cert)
    }
    pool_add_worker(pool, value$url, "remote", cores = value$cores, pid = value$pid, tls = tls,
                    log = value$log)
  }
  if (length(errors)) remote_start_abort(pool, got, expected, errors)
  cv_reset_safe(pool$cv)
}

remote_start_abort <- function(pool, got, expected, errors) {
  mangoro_abort(
    c(sprintf("Only %d of %d remote workers started%s.", got - length(errors), expected,
              if (got < expected) " before the timeout" else ""),
      if (length(errors)) c("Errors reported by the hosts:", errors),
      if (got < expected) c("Daemons that never reported may not have launched or connected:",
                            "check the launch configuration (try it with mirai::launch_remote()),",
                            "that the hosts have R with mirai and mangoro, and that they reach `host`.")),
    class = "mangoro_start_error", errors = errors
  )
}

cv_reset_safe <- function(cv) invisible(nanonext::cv_reset(cv))

# --- dispatch ---------------------------------------------------------------

# Is the worker reachable? Pipe events bump the pool's pipe cv; only then are
# the workers' connections looked at again (an NNG stat costs far more than
# a dispatch). A connection that failed a call counts as down until the
# dialer has connected again; a local process that exited is gone for good.
pool_refresh <- function(pool) {
  v <- nanonext::cv_value(pool$pcv)
  if (identical(v, pool$pcv_seen)) {
    # A killed process drops its connection before it has exited: a down
    # local worker is looked at again until it has.
    for (w in pool$workers) {
      if (!w$up && !w$dead && !is.null(w$server) && !w$server$process$is_alive()) worker_dead(w)
    }
    return(invisible())
  }
  pool$pcv_seen <- v
  for (w in pool$workers) worker_check(w)
  invisible()
}

worker_check <- function(w) {
  if (w$dead || is.null(w$sock)) {
    w$up <- FALSE
    return(invisible())
  }
  pipes <- stat(w$sock, "pipes")
  up <- is.numeric(pipes) && pipes >= 1
  if (up && !is.na(w$lost)) {
    up <- worker_connects(w) > w$lost
    if (up) w$lost <- NA_real_
  }
  if (!up && !is.null(w$server) && !w$server$process$is_alive()) worker_dead(w)
  w$up <- up
  invisible()
}

worker_connects <- function(w) {
  d <- w$sock$dialer[[1L]]
  n <- if (is.null(d)) 0 else stat(d, "connect")
  if (is.numeric(n)) n else 0
}

# A call saw the connection drop (the pipe event may come later).
worker_lost <- function(w) {
  w$up <- FALSE
  if (is.null(w$sock)) return(invisible())
  w$lost <- worker_connects(w)
  if (!is.null(w$server) && !w$server$process$is_alive()) worker_dead(w)
}

worker_dead <- function(w) {
  w$dead <- TRUE
  w$up <- FALSE
  if (!is.null(w$sock)) try(suppressWarnings(close(w$sock)), silent = TRUE)
  w$sock <- NULL
}

worker_state <- function(w) {
  if (w$dead) "exited" else if (is.null(w$sock)) "closed" else if (w$up) "up" else "down"
}

# The live worker with the least work in flight (relative to its slots), or
# NULL. `slots` caps the calls per worker (NULL: no cap); `avoid`: ids.
pool_pick <- function(pool, slots = NULL, avoid = integer()) {
  pool_refresh(pool)
  best <- NULL
  best_load <- Inf
  for (w in pool$workers) {
    if (!w$up || w$id %in% avoid) next
    cap <- if (is.null(slots)) Inf else if (is.function(slots)) slots(w) else slots
    if (w$busy >= cap) next
    load <- (w$busy + 1) / w$cores
    if (load < best_load || (load == best_load && w$sent < best$sent)) {
      best <- w
      best_load <- load
    }
  }
  best
}

pool_send <- function(w, msg, t, cv = NULL) {
  ctx <- nanonext::context(w$sock)
  aio <- request(ctx, msg, send_mode = "raw", recv_mode = "raw", timeout = t, cv = cv)
  w$busy <- w$busy + 1L
  w$sent <- w$sent + 1
  attr(aio, "mangoro_ctx") <- ctx
  aio
}

# A resolved reply -> the data.frame, or the (unsignalled) condition.
pool_reply <- function(pool, w, reply, func_name) {
  if (!nanonext::is_error_value(reply)) {
    return(tryCatch(message_result(reply, func_name),
                    mangoro_error = identity))
  }
  code <- as.integer(reply)
  what <- sprintf("the call to %s()", func_name)
  if (code == 5L) return(pool_timeout_error(w, what))
  if (code == 20L) return(pool_cancelled_error(w, func_name))
  worker_lost(w)
  pool_gone_condition(pool, w, what, code)
}

pool_check_open <- function(pool) {
  if (isTRUE(pool$closed)) stop(pool_closed_error())
}

pool_states_line <- function(pool) {
  paste0("Workers: ", paste(vapply(pool$workers, function(w) {
    sprintf("%d %s", w$id, worker_state(w))
  }, ""), collapse = ", "), ".")
}

# Forget finished user aios, so `busy` counts only calls in flight.
pool_prune <- function(pool) {
  if (!length(pool$aios)) return(invisible())
  keep <- vapply(pool$aios, function(a) {
    if (unresolved(a$aio$data)) return(TRUE)  # the value: a retry sends the call again
    a$w$busy <- a$w$busy - 1L
    FALSE
  }, NA)
  pool$aios <- pool$aios[keep]
  invisible()
}

# Called from mangoro_rpc_call() for a pool target.
pool_call <- function(pool, func_name, data, timeout = NULL) {
  pool_aio_result(pool_call_aio(pool, func_name, data, timeout))
}

# Called from mangoro_aio_result() for a pool aio. The reply, a timeout or a
# lost connection (error 19) resolve the aio and signal the pool's cv. A
# request sent just as its worker's connection closed may instead wait for a
# pipe that never comes back: each wake-up (at least once a second) also
# looks at the worker's connection, which pipe events keep current.
pool_aio_result <- function(x) {
  pool <- x$.mangoro_pool
  # unresolved(x) looks at the first attempt only: ask the value (a retry
  # makes it unresolved again).
  while (unresolved(x$data)) {
    nanonext::until_(pool$cv, 1000L)
    if (!unresolved(x$data)) break
    pool_refresh(pool)
    w <- x$.mangoro_worker_env
    if (!w$up) {
      assign(".mangoro_lost", TRUE, envir = x)
      nanonext::stop_aio(x$.mangoro_attempt)
    }
  }
  value <- x$data
  if (inherits(value, "error")) stop(value)
  value
}

# Called from mangoro_rpc_call_aio() for a pool target: a mangoro_aio (a
# nanonext recvAio) whose `data` is the decoded result or the condition. With
# resending off, a worker that dies resolves the aio at once (error 19); a
# call of an idempotent function is then sent once more, to another worker,
# and the aio resolves with that reply.
pool_call_aio <- function(pool, func_name, data, timeout = NULL) {
  pool_check_open(pool)
  msg <- pool_message(pool, func_name, data)
  pool_prune(pool)
  w <- pool_pick(pool)
  if (is.null(w)) stop(pool_none_up(pool))
  t <- as_timeout(timeout)
  deadline <- if (is.null(t)) Inf else mclock() + t
  retry <- pool_idempotent(pool, func_name)
  aio <- pool_send(w, msg, t, pool$cv)
  entry <- new.env(parent = emptyenv())
  entry$w <- w
  entry$aio <- aio
  pool$aios[[length(pool$aios) + 1L]] <- entry
  attempt <- activeBindingFunction("data", aio)
  rm("data", envir = aio)
  decoded <- NULL
  makeActiveBinding("data", function() {
    if (!is.null(decoded)) return(decoded)
    reply <- attempt()
    if (unresolved(reply)) return(reply)
    if (nanonext::is_error_value(reply) && reply == 20L && isTRUE(aio$.mangoro_lost)) {
      reply <- 19L # cancelled by pool_aio_result(): the connection is gone
    }
    w <- entry$w
    value <- pool_reply(pool, w, reply, func_name)
    if (retry && inherits(value, "mangoro_server_gone") && !isTRUE(pool$closed)) {
      retry <<- FALSE
      other <- pool_pick(pool, avoid = w$id)
      left <- if (is.null(t)) NULL else as.integer(max(1, deadline - mclock()))
      if (!is.null(other)) {
        # The first attempt is over: `busy` moves to the new worker.
        w$busy <- w$busy - 1L
        again <- pool_send(other, msg, left, pool$cv)
        entry$w <- other
        entry$aio <- again
        assign(".mangoro_lost", FALSE, envir = aio)
        assign(".mangoro_attempt", again, envir = aio)
        assign(".mangoro_worker", other$id, envir = aio)
        assign(".mangoro_worker_env", other, envir = aio)
        attempt <<- function() again$data
        warning(worker_lost_warning(sprintf("worker %d (%s)", w$id, w$url),
                                    sprintf("the call to %s() was sent again to worker %d",
                                            func_name, other$id)))
        return(attempt())
      }
    }
    decoded <<- value
    decoded
  }, aio)
  assign(".mangoro_func", func_name, envir = aio)
  assign(".mangoro_target", list(server = NULL), envir = aio)
  assign(".mangoro_deadline", deadline, envir = aio)
  assign(".mangoro_worker", w$id, envir = aio)
  assign(".mangoro_worker_env", w, envir = aio)
  assign(".mangoro_attempt", aio, envir = aio)
  assign(".mangoro_pool", pool, envir = aio)
  class(aio) <- c("mangoro_pool_aio", "mangoro_aio", "recvAio")
  aio
}

# --- inspection -------------------------------------------------------------

#' Inspect a pool's workers
#'
#' @param pool A `mangoro_pool` from [mangoro_pool()].
#' @return `mangoro_pool_workers()`: a data.frame with one row per worker:
#'   `id`, `kind` (`"local"`, `"remote"` or `"joined"`), `host`, `state`
#'   (`"up"`, `"down"`: connection lost, `"exited"`: local process gone,
#'   `"closed"`), `pid` (on its host; `NA` for joined workers), `url`, `busy`
#'   (calls in flight) and `calls` (calls sent).
#'   `mangoro_pool_urls()`: the workers' URLs. `mangoro_pool_pids()`: the
#'   process ids of the local workers.
#' @export
mangoro_pool_workers <- function(pool) {
  check_pool(pool)
  pool_prune(pool)
  pool_refresh(pool)
  ws <- pool$workers
  data.frame(
    id = vapply(ws, function(w) w$id, 0L),
    kind = vapply(ws, function(w) w$kind, ""),
    host = vapply(ws, function(w) w$host, ""),
    state = vapply(ws, worker_state, ""),
    pid = vapply(ws, function(w) w$pid, 0L),
    url = vapply(ws, function(w) w$url, ""),
    busy = vapply(ws, function(w) w$busy, 0L),
    calls = vapply(ws, function(w) w$sent, 0),
    stringsAsFactors = FALSE
  )
}

#' @rdname mangoro_pool_workers
#' @export
mangoro_pool_urls <- function(pool) {
  check_pool(pool)
  vapply(pool$workers, function(w) w$url, "")
}

#' @rdname mangoro_pool_workers
#' @export
mangoro_pool_pids <- function(pool) {
  check_pool(pool)
  local <- Filter(function(w) w$kind == "local", pool$workers)
  vapply(local, function(w) w$pid, 0L)
}

check_pool <- function(pool) {
  if (!inherits(pool, "mangoro_pool")) {
    mangoro_abort(c("`pool` must be a mangoro_pool from mangoro_pool().",
                    sprintf("Got: %s.", format_value(pool))), class = "mangoro_input_error")
  }
}

#' @export
format.mangoro_pool <- function(x, ...) {
  if (isTRUE(x$closed)) {
    return(sprintf("<mangoro_pool> %s, closed (%d workers)", x$name, length(x$workers)))
  }
  ws <- mangoro_pool_workers(x)
  hosts <- unique(ws$host)
  head <- sprintf("<mangoro_pool> %s, %d workers (%d up) on %d host%s, %d calls in flight",
                  x$name, nrow(ws), sum(ws$state == "up"), length(hosts),
                  if (length(hosts) == 1L) "" else "s", sum(ws$busy))
  rows <- sprintf("  %2d %-6s %-7s %-10s %s%s", ws$id, ws$kind, ws$state,
                  ifelse(is.na(ws$pid), "", paste("pid", ws$pid)), ws$url,
                  ifelse(ws$busy > 0, sprintf(" (%d in flight)", ws$busy), ""))
  fns <- names(x$manifest)
  c(head, rows, sprintf("  functions: %s", if (length(fns)) paste(fns, collapse = ", ") else "(none)"))
}

#' @export
print.mangoro_pool <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

#' Stop a pool
#'
#' Stops every local worker (SIGTERM, then SIGKILL after `grace`), stops the
#' mirai daemons of remote workers (each worker exits with its daemon) and
#' waits, on pipe events, until their connections are gone; then closes the
#' pool's sockets. Joined workers are left running. Safe to call twice.
#'
#' @param con A `mangoro_pool`.
#' @param grace Numeric; milliseconds to wait for workers to exit. Default 5000.
#' @param ... Unused.
#' @return `con`, invisibly.
#' @export
close.mangoro_pool <- function(con, grace = 5000, ...) {
  if (isTRUE(con$closed)) return(invisible(con))
  con$closed <- TRUE
  deadline <- mclock() + grace + 1000
  for (a in con$aios) try(nanonext::stop_aio(a$aio), silent = TRUE)
  con$aios <- list()
  # Remote: stopping the daemons ends the workers (their stdin closes); the
  # workers' connections dropping is the sign they have gone.
  for (g in con$groups) try(mirai::daemons(0, .compute = g$id), silent = TRUE)
  remote <- Filter(function(w) w$kind == "remote" && !is.null(w$sock), con$workers)
  while (length(remote) && mclock() < deadline) {
    remote <- Filter(function(w) {
      p <- stat(w$sock, "pipes")
      is.numeric(p) && p > 0
    }, remote)
    if (length(remote)) until(con$pcv, max(1, deadline - mclock()))
  }
  # Local: signal all first, so they shut down together.
  local <- Filter(function(w) !is.null(w$server), con$workers)
  for (w in local) {
    p <- w$server$process
    if (p$is_alive()) try(p$signal(tools::SIGTERM), silent = TRUE)
  }
  for (w in local) close(w$server, grace = max(1, deadline - mclock()))
  for (w in con$workers) {
    if (!is.null(w$sock)) try(suppressWarnings(close(w$sock)), silent = TRUE)
    w$sock <- NULL
  }
  if (!is.null(con$announce)) try(suppressWarnings(close(con$announce)), silent = TRUE)
  con$announce <- NULL
  invisible(con)
}

pool_finalize <- function(pool) {
  try(close(pool, grace = 1000), silent = TRUE)
}

#' The command that starts a worker by other means
#'
#' For hosts where mirai cannot start workers (a batch script, a container,
#' a service manager): prints the shell command that starts the Go program
#' as a pool worker, and how to join it from R with `mangoro_pool(urls = )`.
#' The host needs only a copy of the binary (built for its platform with
#' `mangoro_go_build(goos =, goarch =)`), neither Go nor R.
#'
#' @param binary Character scalar: the binary's path on the worker host.
#' @param url Character scalar: the address the worker listens on, default
#'   `"tcp://0.0.0.0:5555"` (every interface, port 5555).
#' @param gomaxprocs Integer or `NULL` (default: Go's default, all cores).
#' @return The command, a character scalar, invisibly (it is also printed).
#' @section Security: the worker listens on plain `tcp://`; joining it needs
#'   `insecure = TRUE`. Run it only on a network you trust.
#' @examples
#' mangoro_worker_command("./rpc-example", "tcp://0.0.0.0:5555", gomaxprocs = 8)
#' @export
mangoro_worker_command <- function(binary, url = "tcp://0.0.0.0:5555", gomaxprocs = NULL) {
  if (!is.character(binary) || length(binary) != 1L || is.na(binary) || !nzchar(binary)) {
    mangoro_abort("`binary` must be the path of the program on the worker host.",
                  class = "mangoro_input_error")
  }
  if (!is.character(url) || length(url) != 1L || !grepl("^tcp://[^:]+:[0-9]+$", url)) {
    mangoro_abort("`url` must be one tcp:// address with a port, e.g. \"tcp://0.0.0.0:5555\".",
                  class = "mangoro_input_error")
  }
  env <- if (!is.null(gomaxprocs)) sprintf("GOMAXPROCS=%d ", check_count(gomaxprocs, "gomaxprocs"))
  cmd <- paste0(env, shell_words(c(binary, url)))
  join <- sub("^tcp://(0\\.0\\.0\\.0|\\[::\\])", "tcp://<host>", url)
  cat("# On the worker host (stops on SIGTERM or SIGINT):\n", cmd, "\n",
      "# Then in R, once it is listening:\n",
      sprintf("pool <- mangoro_pool(urls = \"%s\", insecure = TRUE)\n", join), sep = "")
  invisible(cmd)
}
