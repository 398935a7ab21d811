# A static HTTP(S) file server run by the http-server Go program
# (inst/go/cmd/http-server) and controlled over rgoipc: thin wrappers around
# its startServer, stopServer and serverStatus functions, plus a self-signed
# certificate helper for HTTPS.

#' Serve a directory over HTTP(S)
#'
#' Controls the static file server of the `http-server` Go program: start it
#' once with [mangoro_server_start()] (see the example), then start, query
#' and stop any number of HTTP(S) servers in it, one per address.
#'
#' `mangoro_http_start()` returns only once the address is bound, so a
#' client may connect straight away; with port 0 the reply gives the port
#' that was picked.
#'
#' @section What is served: GET and HEAD for the files under `dir`, with
#'   byte ranges (`206`, and `416` for a range past the end), conditional
#'   requests and content types for the web and data formats (`.wasm`,
#'   `.js`, `.json`, `.csv`, `.parquet`, `.arrow`, ...). A directory serves its
#'   `index.html`; without one, a listing of its files when `listing` is on,
#'   else 403.
#'   Every response has `X-Content-Type-Options: nosniff`. Each request is
#'   logged to the Go program's log ([mangoro_server_log()]) unless `silent`.
#' @section What is never served: nothing outside `dir`. Paths with `..` or
#'   `.` segments (also percent-encoded, such as `%2e%2e`), encoded slashes
#'   or backslashes (`%2f`, `%5c`), backslashes, NUL bytes or empty segments
#'   answer 400; symbolic links that resolve outside `dir` answer 403 (links
#'   that stay inside are followed), whatever `listing` and `dotfiles` say;
#'   names starting with a dot (`.git`, `.env`) answer 404 when `dotfiles`
#'   is off.
#' @section Defaults by address: `listing` and `dotfiles` default (`NULL`)
#'   to the bound address: on for a loopback address (`127.0.0.1`, `::1`, a
#'   bare port), as Go's own `http.FileServer` does and as a local preview
#'   of a site (and scripts written for mangoro's prototype) expect; off for
#'   any other address (`0.0.0.0`, a LAN address). There, anyone who can
#'   reach the port could list every file and read dotfiles such as `.env`
#'   or `.git/config`, which often hold secrets; pass `TRUE` to expose them
#'   deliberately.
#' @section Cross-origin headers: `cors = TRUE` sends
#'   `Access-Control-Allow-Origin: *`, exposes `Content-Range`,
#'   `Content-Length` and `Accept-Ranges`, answers preflight `OPTIONS`
#'   requests allowing the `Range` header, and sends
#'   `Cross-Origin-Resource-Policy: cross-origin`. `coop = TRUE` sends
#'   `Cross-Origin-Opener-Policy: same-origin` and
#'   `Cross-Origin-Embedder-Policy: require-corp`, which make a page
#'   cross-origin isolated (needed for `SharedArrayBuffer`, e.g. threaded
#'   WebAssembly).
#' @section Errors: `mangoro_http_error` (also a `mangoro_remote_error`) when
#'   the Go side refuses, with field `reason`: `"addr_in_use"`,
#'   `"already_running"` (this program already serves that address),
#'   `"not_running"` (stopping an address nothing serves), `"dir"` (missing
#'   or not a directory), `"tls"` (missing or unreadable certificate or key),
#'   `"addr"` (malformed address) or `"other"`; `remote_message` holds the Go
#'   message. `mangoro_input_error` for bad arguments, before anything is
#'   sent; the errors of [mangoro_rpc_call()] otherwise.
#' @param sock The controller: a `mangoro_server` running `http-server`, or a
#'   nanonext socket or URL connected to it (see [mangoro_rpc_call()]).
#' @param addr Character or numeric scalar: `"host:port"`, or just a port
#'   (`8080`, `"8080"`, `":8080"`), which binds 127.0.0.1 only. Use
#'   `"0.0.0.0:8080"` to serve every interface, port `0` for a free port.
#'   For `mangoro_http_stop()` and `mangoro_http_status()`, the server to act
#'   on; `NULL` (default) means all of them.
#' @param dir Character scalar, default `"."`: the directory to serve. A
#'   relative path is taken from R's working directory.
#' @param prefix Character scalar, default `"/"`: the URL path under which
#'   `dir` appears, e.g. `"/data/"`.
#' @param cors Logical scalar, default `FALSE`: allow pages from any origin to
#'   read the files (see below).
#' @param coop Logical scalar, default `FALSE`: send the cross-origin isolation
#'   headers (see below).
#' @param tls Logical scalar, default `FALSE`: serve HTTPS (TLS 1.2 or later)
#'   with `cert` and `key`.
#' @param cert,key Character scalars or `NULL` (default): PEM files with the
#'   certificate (chain) and its private key, e.g. from
#'   [mangoro_http_selfsigned()]. Required when `tls = TRUE`.
#' @param silent Logical scalar, default `FALSE`: do not log requests.
#' @param listing Logical scalar or `NULL` (default): list directories that
#'   have no `index.html` (otherwise they answer 403). `NULL` means on for a
#'   loopback address, off for any other (see 'Defaults by address').
#' @param dotfiles Logical scalar or `NULL` (default): serve names starting
#'   with a dot (otherwise they answer 404). `NULL` as for `listing`.
#' @param timeout Numeric or `NULL` (default): milliseconds to wait for the
#'   controller's reply, as in [mangoro_rpc_call()]. For
#'   `mangoro_http_stop()`, `NULL` means `grace` plus 10 seconds.
#' @return A data.frame with one row per server concerned (one row for
#'   `mangoro_http_start()`; for `mangoro_http_stop()` and
#'   `mangoro_http_status()` with `addr = NULL`, one per server, or a single
#'   row when there is none) and columns:
#'   * `status`: `"ok"` from `mangoro_http_start()` and `mangoro_http_stop()`
#'     (a failure is an error instead); the state, `"running"` or
#'     `"stopped"`, from `mangoro_http_status()`.
#'   * `message`: `"HTTP server started on 127.0.0.1:8080"`,
#'     `"HTTP server stopped"` (`"no HTTP server was running"` when there
#'     was none), or from `mangoro_http_status()` `"running at
#'     127.0.0.1:8080"` or `"stopped"`.
#'   * `addr` (the bound `"host:port"`), `url` (where the files are, e.g.
#'     `"https://127.0.0.1:8443/data/"`), `dir` (absolute), `prefix` and
#'     `tls`; these five are `NA` in a row that concerns no server.
#' @examplesIf mangoro::mangoro_go_available()
#' bin <- mangoro_go_build(system.file("go/cmd/http-server", package = "mangoro"))
#' ctl <- mangoro_server_start(bin)
#' site <- tempfile("site-")
#' dir.create(site)
#' writeLines("hello", file.path(site, "hello.txt"))
#' srv <- mangoro_http_start(ctl, addr = 0, dir = site, cors = TRUE)
#' srv$url
#' readLines(paste0(srv$url, "hello.txt"))
#' mangoro_http_status(ctl)
#' mangoro_http_stop(ctl)
#' close(ctl)
#' @export
mangoro_http_start <- function(sock, addr, dir = ".", prefix = "/", cors = FALSE, coop = FALSE,
                               tls = FALSE, cert = NULL, key = NULL, silent = FALSE,
                               listing = NULL, dotfiles = NULL, timeout = NULL) {
  if (missing(addr)) {
    mangoro_abort(
      c("`addr` is missing.",
        "Give \"host:port\" or a port, e.g. \"127.0.0.1:8080\", or 0 for a free port."),
      class = "mangoro_input_error"
    )
  }
  args <- list(
    addr = http_addr(addr, "addr"),
    dir = http_path(dir, "dir"),
    prefix = http_string(prefix, "prefix"),
    cors = http_flag(cors, "cors"),
    coop = http_flag(coop, "coop"),
    tls = http_flag(tls, "tls"),
    cert = if (is.null(cert)) "" else http_path(cert, "cert"),
    key = if (is.null(key)) "" else http_path(key, "key"),
    silent = http_flag(silent, "silent"),
    # NA asks the Go side for the default of the address it binds.
    listing = if (is.null(listing)) NA else http_flag(listing, "listing"),
    dotfiles = if (is.null(dotfiles)) NA else http_flag(dotfiles, "dotfiles")
  )
  if (args$tls && (is.null(cert) || is.null(key))) {
    mangoro_abort(
      c("`tls = TRUE` needs both `cert` and `key` (PEM files).",
        "Make a self-signed pair with mangoro_http_selfsigned()."),
      class = "mangoro_input_error"
    )
  }
  if (!args$tls && (!is.null(cert) || !is.null(key))) {
    mangoro_abort(
      c("`cert` and `key` are only used with `tls = TRUE`.",
        "Set `tls = TRUE` to serve HTTPS, or drop `cert` and `key`."),
      class = "mangoro_input_error"
    )
  }
  http_call(sock, "startServer", args, timeout)
}

#' @rdname mangoro_http_start
#' @param grace Numeric scalar, default 5000: milliseconds during which
#'   requests in flight (downloads) may finish; then remaining connections
#'   are closed.
#' @details `mangoro_http_stop()` stops accepting connections at once and
#'   waits up to `grace` for responses in flight. Stopping when no server runs
#'   is fine with `addr = NULL`, an error (reason `"not_running"`) for a given
#'   address. The HTTP servers also end when the controller is closed.
#' @export
mangoro_http_stop <- function(sock, addr = NULL, grace = 5000, timeout = NULL) {
  if (!is.numeric(grace) || length(grace) != 1L || is.na(grace) || grace < 0 || is.infinite(grace)) {
    mangoro_abort(
      c("`grace` must be one non-negative number of milliseconds.",
        sprintf("Got: %s.", format_value(grace))),
      class = "mangoro_input_error"
    )
  }
  if (is.null(timeout)) timeout <- grace + 10000
  args <- list(addr = if (is.null(addr)) "" else http_addr(addr, "addr"), grace = as.double(grace))
  http_call(sock, "stopServer", args, timeout)
}

#' @rdname mangoro_http_start
#' @export
mangoro_http_status <- function(sock, addr = NULL, timeout = NULL) {
  args <- list(addr = if (is.null(addr)) "" else http_addr(addr, "addr"))
  http_call(sock, "serverStatus", args, timeout)
}

# Call the controller; a refusal from Go becomes a mangoro_http_error whose
# `reason` says which case it is, so callers can branch without parsing text.
http_call <- function(sock, func_name, args, timeout) {
  tryCatch(
    mangoro_rpc_call(sock, func_name, args, timeout = timeout),
    mangoro_remote_error = function(e) {
      msg <- sub(paste0("^", func_name, ": "), "", e$remote_message)
      reason <- http_reason(msg)
      mangoro_abort(
        c(sprintf("%s: %s", http_action(func_name), msg), http_hint(reason)),
        class = c("mangoro_http_error", "mangoro_remote_error"),
        reason = reason, remote_message = e$remote_message, func = func_name
      )
    }
  )
}

http_action <- function(func_name) {
  switch(func_name,
    startServer = "Could not start the HTTP server",
    stopServer = "Could not stop the HTTP server",
    "Could not get the HTTP server status"
  )
}

# Reasons follow the messages of inst/go/internal/httpserve (manager.go).
http_reason <- function(msg) {
  patterns <- c(
    addr_in_use = "is already in use",
    already_running = "is already running at",
    not_running = "no HTTP server is running at",
    dir = "^dir ",
    tls = "cert|key|TLS",
    addr = "^addr |bad port|cannot listen"
  )
  hit <- vapply(patterns, grepl, logical(1), x = msg)
  if (any(hit)) names(patterns)[which(hit)[[1L]]] else "other"
}

http_hint <- function(reason) {
  switch(reason,
    already_running = "Stop it first with mangoro_http_stop(), or use another `addr`.",
    not_running = "See mangoro_http_status() for the running servers.",
    tls = "Make a certificate and key with mangoro_http_selfsigned().",
    NULL
  )
}

http_flag <- function(x, name) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    mangoro_abort(
      sprintf("`%s` must be TRUE or FALSE, not %s.", name, format_value(x)),
      class = "mangoro_input_error"
    )
  }
  x
}

http_string <- function(x, name) {
  if (!is.character(x) || length(x) != 1L || is.na(x)) {
    mangoro_abort(
      sprintf("`%s` must be a character string, not %s.", name, format_value(x)),
      class = "mangoro_input_error"
    )
  }
  x
}

# Paths are made absolute here: the Go program's working directory may not
# be R's.
http_path <- function(x, name) {
  x <- http_string(x, name)
  if (!nzchar(x)) {
    mangoro_abort(sprintf("`%s` must not be empty.", name), class = "mangoro_input_error")
  }
  normalizePath(path.expand(x), mustWork = FALSE)
}

http_addr <- function(x, name) {
  if (is.numeric(x) && length(x) == 1L && !is.na(x) && x >= 0 && x <= 65535 && x == round(x)) {
    return(format(x, scientific = FALSE))
  }
  x <- http_string(x, name)
  if (!nzchar(trimws(x))) {
    mangoro_abort(
      c(sprintf("`%s` must not be empty.", name),
        "Give \"host:port\" or a port, e.g. \"127.0.0.1:8080\", or 0 for a free port."),
      class = "mangoro_input_error"
    )
  }
  x
}

#' Make a self-signed certificate for HTTPS
#'
#' Writes a new self-signed certificate for `host` and its private key as PEM
#' files, for `mangoro_http_start(tls = TRUE)`. Clients verify the server
#' with the certificate itself as their certificate authority, e.g.
#' `curl::new_handle(cainfo = pair$ca)` or `curl --cacert`.
#'
#' The pair comes from [nanonext::write_cert()] (4096-bit RSA, valid until
#' 2030); `host` goes in the subject common name, which curl checks. Clients
#' that require a subject alternative name (browsers, Go) will not accept
#' it: use a certificate from your usual tooling for those.
#'
#' @param host Character scalar, default `"127.0.0.1"`: the host name or IP
#'   address clients use in the URL.
#' @param dir Character scalar: the directory to write into, created with
#'   mode 0700 if needed. Default: a new temporary directory.
#' @return A list of paths: `cert` (the certificate, `cert.pem`), `key` (the
#'   private key, `key.pem`, mode 0600) and `ca` (the file clients should
#'   trust; for a self-signed pair, the certificate itself).
#' @examples
#' pair <- mangoro_http_selfsigned("127.0.0.1")
#' file.info(pair$key)$mode
#' @export
mangoro_http_selfsigned <- function(host = "127.0.0.1", dir = tempfile("mangoro-tls-")) {
  files <- selfsigned_files(host, dir, cn_arg = "host")
  list(cert = files$cert_file, key = files$key_file, ca = files$cert_file)
}

# Create the file empty with mode 0600 before any secret is written to it.
write_private <- function(text, path) {
  if (file.exists(path)) unlink(path)
  if (!file.create(path) || !Sys.chmod(path, "0600", use_umask = FALSE)) {
    mangoro_abort(sprintf("Could not create %s with mode 0600.", path), class = "mangoro_input_error")
  }
  con <- file(path, open = "w")
  on.exit(close(con))
  writeLines(text, con, sep = "")
  invisible(path)
}
