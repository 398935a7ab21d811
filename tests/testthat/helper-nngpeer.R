# Shared by test-protocols.R, test-tls.R and test-patterns.R: start the
# nng-peer Go program, read what it prints, and know R's real listen URLs.

# Starts `nng-peer <protocol> <url> <args>` with its ready line on stdout and
# stdin kept open (commands; its end stops the peer), waits for the ready
# line and kills the process when the calling test ends. Returns the process
# with the address it announced in `attr(, "url")` (the real port when `url`
# asks for port 0).
local_peer <- function(protocol, url, ..., env = NULL, .local_envir = parent.frame()) {
  bin <- test_program("nng-peer")
  p <- processx::process$new(
    bin, c(protocol, url, ...), stdin = "|", stdout = "|",
    stderr = tempfile("nng-peer-", fileext = ".log"),
    env = c("current", MANGORO_READY = "stdout", MANGORO_PARENT = "stdin", env),
    cleanup = TRUE
  )
  withr::defer(if (p$is_alive()) { p$kill(); p$wait(5000) }, envir = .local_envir)
  peer_pending[[as.character(p$get_pid())]] <- NULL
  line <- peer_lines(p, 1L, prefix = "mangoro-ready ")
  attr(p, "url") <- sub("^mangoro-ready ", "", line)
  p
}

peer_url <- function(p) attr(p, "url")

# The last lines of a peer's log, for failure messages.
peer_log <- function(p) {
  paste(utils::tail(readLines(p$get_error_file(), warn = FALSE), 20L), collapse = "\n")
}

# Lines read from a peer but not yet returned, by pid: processx hands out
# whatever is in the pipe, which can be more lines than asked for.
peer_pending <- new.env(parent = emptyenv())

# Returns the next `n` lines starting with `prefix` from the peer's stdout,
# waiting on the pipe (processx poll) up to `timeout` ms in all.
peer_lines <- function(p, n = 1L, prefix = "mangoro-", timeout = 10000) {
  key <- as.character(p$get_pid())
  buf <- c(character(), peer_pending[[key]])
  deadline <- Sys.time() + timeout / 1000
  while (sum(startsWith(buf, prefix)) < n) {
    left <- as.numeric(deadline - Sys.time(), units = "secs") * 1000
    if (left <= 0 || p$poll_io(as.integer(left))[["output"]] != "ready") break
    got <- p$read_output_lines()
    if (!length(got) && !p$is_alive()) break
    buf <- c(buf, got)
  }
  hit <- which(startsWith(buf, prefix))
  if (length(hit) < n) {
    peer_pending[[key]] <- buf
    stop(sprintf("nng-peer printed %d of %d expected lines. Its log:\n%s",
                 length(hit), n, peer_log(p)), call. = FALSE)
  }
  last <- hit[[n]]
  peer_pending[[key]] <- buf[-seq_len(last)]
  buf[hit[seq_len(n)]]
}

# Parses "mangoro-recv <codec> <value> ..." back into an R vector.
peer_values <- function(line) {
  tok <- scan(text = line, what = "", quiet = TRUE, allowEscapes = TRUE)
  v <- tok[-(1:2)]
  switch(tok[[2L]],
    float64 = as.numeric(v),
    int32 = as.integer(v),
    string = v,
    raw = as.raw(strtoi(v, 16L))
  )
}

# Waits for the Go peer to exit by itself, returning its exit status.
peer_exit_status <- function(p, timeout = 10000) {
  p$wait(timeout)
  if (p$is_alive()) stop("nng-peer did not exit. Its log:\n", peer_log(p), call. = FALSE)
  status <- p$get_exit_status()
  # processx now and then loses the status of a child that has exited
  # (r-lib/processx#220); nng-peer's last log line on a clean exit is "done".
  if (is.na(status) && endsWith(peer_log(p), "] done")) status <- 0L
  status
}

# The URL an R listener really listens on: port 0 replaced by the port the
# system chose (nanonext's "tcp-bound-port" works for tcp, ws and TLS).
bound_url <- function(sock) {
  l <- sock$listener[[1L]]
  url <- nanonext::opt(l, "url")
  if (startsWith(url, "ipc://")) return(url)
  sub(":0(/|$)", paste0(":", nanonext::opt(l, "tcp-bound-port"), "\\1"), url)
}

# An R socket listening on `url`, with a cv signalled when a peer connects
# (for dialing Go peers: wait for them with until(), not a sleep).
local_listener <- function(protocol, url, tls = NULL, .local_envir = parent.frame()) {
  s <- nanonext::socket(protocol)
  withr::defer(close(s), envir = .local_envir)
  cv <- nanonext::cv()
  nanonext::pipe_notify(s, cv, add = TRUE)
  nanonext::listen(s, url, tls = tls, fail = "error")
  list(sock = s, cv = cv, url = bound_url(s))
}

# Waits until `n` more peers have connected to a local_listener().
expect_peers <- function(l, n = 1L, timeout = 10000) {
  for (i in seq_len(n)) {
    expect_true(nanonext::until(l$cv, timeout), label = sprintf("peer %d of %d connected", i, n))
  }
}

# One listen URL per transport, port 0 where there are ports.
transport_url <- function(transport) {
  switch(transport,
    ipc = create_ipc_path("nngpeer"),
    tcp = "tcp://127.0.0.1:0",
    ws = "ws://127.0.0.1:0/peer",
    `tls+tcp` = "tls+tcp://127.0.0.1:0",
    wss = "wss://127.0.0.1:0/peer"
  )
}

is_tls <- function(url) grepl("^(tls\\+tcp|wss)://", url)

# Certificates take seconds to make: two per test run, shared by the files.
# "good" is for 127.0.0.1; "localhost" is for another name and, being
# another self-signed certificate, also serves as a wrong CA.
test_tls <- new.env(parent = emptyenv())
tls_pair <- function(which = c("good", "localhost")) {
  which <- match.arg(which)
  if (is.null(test_tls[[which]])) {
    cn <- if (which == "good") "127.0.0.1" else "localhost"
    test_tls[[which]] <- mangoro_tls_pair(cn = cn, dir = tempfile("nngpeer-tls-"))
  }
  test_tls[[which]]
}

# nng-peer arguments for TLS material in files: a Go listener presents the
# certificate, a Go dialer trusts the CA.
peer_tls_args <- function(pair, dial = FALSE) {
  if (dial) c("-tls-ca", pair$ca_file) else c("-tls-cert", pair$cert_file, "-tls-key", pair$key_file)
}
