# TLS between R (nanonext) and Go (mangos) needs the same certificate on both
# sides: as nanonext tlsConfig objects for R, and as PEM files or PEM text for
# the Go program. mangoro_tls_pair() makes all of them from one write_cert().

#' Make a TLS certificate for NNG between R and Go
#'
#' Generates a self-signed certificate and private key with
#' [nanonext::write_cert()], writes them as PEM files a Go program can read,
#' and returns them together with ready-made [nanonext::tls_config()]
#' objects, so that either side can be the TLS server of a `tls+tcp://` or
#' `wss://` connection.
#'
#' The name `cn` goes in the subject common name only (that is what
#' `write_cert()` makes). nanonext checks it against the host of the URL it
#' dials. Go's `crypto/tls` checks subject alternative names only, so a Go
#' client must verify such a certificate itself: the `nng-peer` example
#' program shows how (`inst/go/internal/nngpeer/tls.go`).
#'
#' Key generation (4096-bit RSA) takes a second or two: make one pair and
#' reuse it.
#'
#' @param cn Character scalar, default `"127.0.0.1"`: the host name or IP
#'   address that clients put in the URL.
#' @param dir Character scalar, default a new temporary directory: where to
#'   write `cert.pem` and `key.pem`; created with mode 0700 if missing.
#'   Existing files of those names are replaced.
#' @param valid Character scalar, default `"20301231235959"`: the "not after"
#'   time of the certificate, as `yyyymmddhhmmss`.
#' @return An object of class `mangoro_tls_pair`, a list with
#'   * `cn`: the name in the certificate;
#'   * `cert_file`, `key_file` (mode 0600), `ca_file`: PEM file paths; the CA
#'     is the certificate itself, as it is self-signed;
#'   * `cert`, `key`: the same PEM text (for environment variables);
#'   * `server`: a `tlsConfig` for an R listener;
#'   * `client`: a `tlsConfig` for an R dialer, trusting `cert`.
#' @section Errors:
#' `mangoro_input_error` for a bad argument or a directory that cannot be
#' written.
#' @seealso [mangoro_tls_env()] to pass the PEM text to a Go program.
#' @examples
#' tls <- mangoro_tls_pair()
#' tls
#' s <- nanonext::socket("rep", listen = "tls+tcp://127.0.0.1:0", tls = tls$server)
#' close(s)
#' @export
mangoro_tls_pair <- function(cn = "127.0.0.1", dir = tempfile("mangoro-tls-"),
                             valid = "20301231235959") {
  files <- selfsigned_files(cn, dir, valid)
  structure(
    c(files[c("cn", "cert_file", "key_file")],
      list(ca_file = files$cert_file, cert = files$cert, key = files$key,
           server = nanonext::tls_config(server = files$pem$server),
           client = nanonext::tls_config(client = files$pem$client))),
    class = "mangoro_tls_pair"
  )
}

# The one implementation behind mangoro_tls_pair() and
# mangoro_http_selfsigned(): a self-signed certificate for `cn` from
# nanonext::write_cert(), written as cert.pem and key.pem (mode 0600) in `dir`.
selfsigned_files <- function(cn, dir, valid = "20301231235959", cn_arg = "cn") {
  tls_string(cn, cn_arg, "a host name or IP address, e.g. \"127.0.0.1\"")
  tls_string(dir, "dir", "a directory path")
  tls_string(valid, "valid", "a time as yyyymmddhhmmss, e.g. \"20301231235959\"")
  if (!grepl("^[0-9]{14}$", valid)) {
    mangoro_abort(c(sprintf("`valid` must be a time as yyyymmddhhmmss, not \"%s\".", valid),
                    "For example \"20301231235959\"."), class = "mangoro_input_error")
  }
  dir <- normalizePath(path.expand(dir), mustWork = FALSE)
  if (!dir.exists(dir) && !dir.create(dir, recursive = TRUE, mode = "0700")) {
    mangoro_abort(sprintf("Could not create the directory %s for the certificate.", dir),
                  class = "mangoro_input_error")
  }
  pem <- nanonext::write_cert(cn = cn, valid = valid)
  cert_file <- file.path(dir, "cert.pem")
  key_file <- file.path(dir, "key.pem")
  write_private(pem$server[[2L]], key_file)
  write_private(pem$server[[1L]], cert_file)
  list(cn = cn, cert_file = cert_file, key_file = key_file,
       cert = pem$server[[1L]], key = pem$server[[2L]], pem = pem)
}

#' Environment variables carrying a TLS certificate to a Go program
#'
#' The `nng-peer` example program (and any program built on the same
#' pattern) reads PEM text from `MANGORO_TLS_CERT`, `MANGORO_TLS_KEY` and
#' `MANGORO_TLS_CA` when they are set, instead of files. This returns them
#' for `processx::process$new(env = c("current", ...))`: no file is needed
#' and nothing is left on disk.
#'
#' @param pair A `mangoro_tls_pair` from [mangoro_tls_pair()].
#' @param role Character scalar, default `"server"`: `"server"` for a Go
#'   program that listens (certificate and key), `"client"` for one that
#'   dials (the CA to verify the server with).
#' @return A named character vector of environment variables.
#' @examples
#' tls <- mangoro_tls_pair()
#' names(mangoro_tls_env(tls, "client"))
#' @export
mangoro_tls_env <- function(pair, role = "server") {
  if (!inherits(pair, "mangoro_tls_pair")) {
    mangoro_abort("`pair` must come from mangoro_tls_pair().", class = "mangoro_input_error")
  }
  if (!identical(role, "server") && !identical(role, "client")) {
    mangoro_abort("`role` must be \"server\" (a Go listener) or \"client\" (a Go dialer).",
                  class = "mangoro_input_error")
  }
  switch(role,
    server = c(MANGORO_TLS_CERT = pair$cert, MANGORO_TLS_KEY = pair$key),
    client = c(MANGORO_TLS_CA = pair$cert)
  )
}

#' @export
format.mangoro_tls_pair <- function(x, ...) {
  c(sprintf("<mangoro_tls_pair> self-signed certificate for \"%s\"", x$cn),
    sprintf("  cert/ca: %s", x$cert_file),
    sprintf("  key:     %s", x$key_file))
}

#' @export
print.mangoro_tls_pair <- function(x, ...) {
  cat(format(x, ...), sep = "\n")
  invisible(x)
}

tls_string <- function(x, name, what) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x)) {
    mangoro_abort(sprintf("`%s` must be %s (one non-empty string).", name, what),
                  class = "mangoro_input_error")
  }
  invisible(x)
}
