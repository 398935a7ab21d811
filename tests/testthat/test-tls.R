# TLS between R and Go with the certificates of mangoro_tls_pair(): the right
# CA connects, a wrong CA or a certificate for another name is refused, with
# Go as the server and as the client.

test_that("mangoro_tls_pair() writes the certificate and a private key, and makes tls_configs", {
  tls <- tls_pair("good")
  expect_s3_class(tls, "mangoro_tls_pair")
  expect_identical(tls$cn, "127.0.0.1")
  expect_identical(tls$ca_file, tls$cert_file)
  expect_identical(readLines(tls$cert_file, n = 1L), "-----BEGIN CERTIFICATE-----")
  expect_match(paste(readLines(tls$key_file), collapse = "\n"), "PRIVATE KEY")
  expect_identical(paste(readLines(tls$cert_file), collapse = "\n"), sub("\n$", "", tls$cert))
  if (.Platform$OS.type == "unix") {
    expect_identical(format(file.info(tls$key_file)$mode), "600")
  }
  expect_s3_class(tls$server, "tlsConfig")
  expect_s3_class(tls$client, "tlsConfig")
  expect_output(print(tls), "certificate for \"127.0.0.1\"")
  expect_false(any(grepl("PRIVATE", format(tls))))

  expect_identical(mangoro_tls_env(tls, "server"),
                   c(MANGORO_TLS_CERT = tls$cert, MANGORO_TLS_KEY = tls$key))
  expect_identical(mangoro_tls_env(tls, "client"), c(MANGORO_TLS_CA = tls$cert))
})

test_that("mangoro_tls_pair() and mangoro_tls_env() reject bad input with classed errors", {
  expect_error(mangoro_tls_pair(cn = 1), class = "mangoro_input_error")
  expect_error(mangoro_tls_pair(cn = NA_character_), class = "mangoro_input_error")
  expect_error(mangoro_tls_pair(cn = c("a", "b")), class = "mangoro_input_error")
  expect_error(mangoro_tls_pair(valid = "2030"), "yyyymmddhhmmss", class = "mangoro_input_error")
  blocker <- withr::local_tempfile(lines = "a file, not a directory")
  expect_error(suppressWarnings(mangoro_tls_pair(dir = file.path(blocker, "sub"))),
               "Could not create", class = "mangoro_input_error")
  expect_error(mangoro_tls_env(list(cert = "x")), "mangoro_tls_pair", class = "mangoro_input_error")
  expect_error(mangoro_tls_env(tls_pair("good"), "both"), class = "mangoro_input_error")
})

test_that("R client -> Go TLS server (PEM from the environment): right CA connects, wrong CA does not", {
  tls <- tls_pair("good")
  go <- local_peer("rep", transport_url("tls+tcp"), "-codec", "string",
                   env = mangoro_tls_env(tls, "server"))
  call_go <- function(client) {
    s <- nanonext::socket("req")
    on.exit(close(s))
    nanonext::dial(s, peer_url(go), tls = client, fail = "error")
    r <- nanonext::request(nanonext::context(s), "secret", send_mode = "raw",
                           recv_mode = "character", timeout = 1000)[]
    list(reply = r, pipes = nanonext::stat(s, "pipes"))
  }
  good <- call_go(tls$client)
  expect_identical(good$reply, "secret")
  # Another self-signed certificate as CA: the handshake fails, no pipe is
  # ever made and the request times out.
  wrong <- call_go(tls_pair("localhost")$client)
  expect_identical(unclass(wrong$reply), 5L)
  expect_identical(wrong$pipes, 0)
})

test_that("R client refuses a Go server whose certificate is for another name", {
  other <- tls_pair("localhost")
  go <- local_peer("rep", transport_url("wss"), peer_tls_args(other))
  s <- nanonext::socket("req")
  on.exit(close(s))
  # The CA is right (it is that very certificate), the name is not.
  nanonext::dial(s, peer_url(go), tls = other$client, fail = "error")
  r <- nanonext::request(nanonext::context(s), "x", send_mode = "raw", timeout = 1000)[]
  expect_identical(unclass(r), 5L)
  expect_identical(nanonext::stat(s, "pipes"), 0)
})

# Runs a Go client to its end; returns its exit status and log.
run_go_client <- function(...) {
  res <- processx::run(test_program("nng-peer"), c(...), error_on_status = FALSE, timeout = 20)
  list(status = res$status, log = res$stderr, out = res$stdout)
}

test_that("Go client -> R TLS listener: right CA works, wrong CA and wrong name exit 1", {
  tls <- tls_pair("good")
  l <- local_listener("rep", transport_url("tls+tcp"), tls = tls$server)

  wrong_ca <- run_go_client("req", l$url, "-dial", peer_tls_args(tls_pair("localhost"), dial = TRUE), "x")
  expect_identical(wrong_ca$status, 1L)
  expect_match(wrong_ca$log, "certificate signed by unknown authority")
  expect_match(wrong_ca$log, "^\\[nng-peer req\\] ")
  expect_identical(nanonext::stat(l$sock, "pipes"), 0)

  # With the right CA: R receives in the background while Go connects.
  ctx <- nanonext::context(l$sock)
  served <- nanonext::recv_aio(ctx, mode = "character", timeout = 20000)
  p <- local_peer("req", l$url, "-dial", peer_tls_args(tls, dial = TRUE), "hello")
  expect_identical(nanonext::call_aio(served)$data, "hello")
  nanonext::send(ctx, "hello back", mode = "raw", block = 5000)
  expect_identical(peer_values(peer_lines(p)), "hello back")
  expect_identical(peer_exit_status(p), 0L)
})

test_that("Go client checks the server name in a certificate without SANs", {
  other <- tls_pair("localhost")
  l <- local_listener("rep", transport_url("tls+tcp"), tls = other$server)
  wrong_name <- run_go_client("req", l$url, "-dial", peer_tls_args(other, dial = TRUE), "x")
  expect_identical(wrong_name$status, 1L)
  expect_match(wrong_name$log, "server certificate is for \"localhost\", not \"127.0.0.1\"", fixed = TRUE)
  # The same certificate is accepted for the name it carries.
  ctx <- nanonext::context(l$sock)
  served <- nanonext::recv_aio(ctx, mode = "character", timeout = 20000)
  p <- local_peer("req", l$url, "-dial", "-tls-server-name", "localhost",
                  peer_tls_args(other, dial = TRUE), "named")
  expect_identical(nanonext::call_aio(served)$data, "named")
  nanonext::send(ctx, "ok", mode = "raw", block = 5000)
  expect_identical(peer_values(peer_lines(p)), "ok")
})
