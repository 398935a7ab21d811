# Abandoned calls are cancelled on the server, deadlines reach handlers, and
# old servers get neither (inst/WIRE.md, "Request header", "Cancel").

# R's timer or the server's deadline (the same number of ms) fires first.
expect_timed_out <- function(e) {
  expect_true(inherits(e, "mangoro_timeout_error") || identical(e$code, "deadline_exceeded"),
              label = paste(class(e), collapse = "/"))
}

remote_message <- function(expr) {
  tryCatch({ expr; NA_character_ }, mangoro_remote_error = function(e) e$remote_message)
}

test_that("70 timed-out sleeps do not starve the server: an add answers at once", {
  srv <- rpc_server()
  expect_identical(srv$info$workers, 64)
  aios <- lapply(1:70, function(i) mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 4000), timeout = 100))
  t0 <- mclock_ms()
  expect_timed_out(tryCatch(mangoro_aio_result(aios[[70]]), mangoro_error = identity))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2), timeout = 3000)$result, 3)
  # Every worker is free again (uncancelled, they would sleep 4 s): 64 short
  # calls at once all answer.
  short <- lapply(1:64, function(i) mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 10), timeout = 3000))
  expect_identical(vapply(mangoro_aio_result(short), `[[`, 0, 1L), rep(10, 64))
  expect_lt(mclock_ms() - t0, 2000)
  for (a in aios) expect_timed_out(a$data)
})

test_that("a call's timeout becomes its handler's deadline", {
  srv <- local_mangoro_server(test_program("cancel-server"))
  left <- mangoro_rpc_call(srv, "deadline", list(), timeout = 2000)$result
  expect_gt(left, 1000)
  expect_lte(left, 2000 + mangoro:::deadline_margin)
  expect_identical(mangoro_rpc_call(srv, "deadline", list(), timeout = Inf)$result, -1)
  # Both workers held by sleeps cancelled at their deadline: an add-like call
  # right after still gets a worker within far less than the 5 s sleeps.
  a <- lapply(1:2, function(i) mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 5000), timeout = 200))
  expect_error(mangoro_rpc_call(srv, "sleep", data.frame(ms = 5000), timeout = 200),
               class = "mangoro_timeout_error")
  t0 <- mclock_ms()
  expect_identical(mangoro_rpc_call(srv, "sleep", data.frame(ms = 1), timeout = 3000)$result, 1)
  expect_lt(mclock_ms() - t0, 1500)
  expect_identical(mangoro_server_info(srv)$busy, 0)
})

test_that("an interrupted synchronous call is cancelled on the server", {
  skip_on_os("windows")
  srv <- local_mangoro_server(test_program("cancel-server"))
  # The handler sends SIGINT to this R process once the call has started.
  res <- tryCatch(mangoro_rpc_call(srv, "interruptParent", list(), timeout = 20000),
                  interrupt = function(e) "interrupted")
  expect_identical(res, "interrupted")
  # Without the cancel the handler would run to its 20 s deadline.
  expect_identical(mangoro_rpc_call(srv, "lastEnd", list(), timeout = 3000)$result, "context canceled")
})

test_that("close() and stop_aio() of an aio, and its garbage collection, cancel the call", {
  srv <- local_mangoro_server(test_program("cancel-server"))
  # Two workers: hold both, free them each way, and see a third call run.
  stops <- list(
    close = function(a) close(a),
    stop_aio = function(a) { nanonext::stop_aio(a); a$data },
    gc = function(a) gc(verbose = FALSE)
  )
  for (how in names(stops)) {
    a1 <- mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 20000), timeout = Inf)
    a2 <- mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 20000), timeout = Inf)
    if (how == "gc") { rm(a1, a2); stops$gc() } else { stops[[how]](a1); stops[[how]](a2) }
    t0 <- mclock_ms()
    expect_identical(mangoro_rpc_call(srv, "sleep", data.frame(ms = 1), timeout = 3000)$result, 1, label = how)
    expect_lt(mclock_ms() - t0, 2000, label = how)
  }
})

test_that("a server without the header feature gets no header and no cancel", {
  srv <- local_mangoro_server(test_program("old-server"))
  expect_null(srv$info$features)
  expect_identical(remote_message(mangoro_rpc_call(srv, "text", data.frame(x = 1))), "text=")
  expect_error(mangoro_rpc_call(srv, "hold", data.frame(x = 1), timeout = 100), class = "mangoro_timeout_error")
  a <- mangoro_rpc_call_aio(srv, "hold", data.frame(x = 1), timeout = Inf)
  close(a)
  expect_identical(remote_message(mangoro_rpc_call(srv, "cancels", data.frame(x = 1))), "cancels=0")
  # The same through a URL and a bare socket.
  expect_identical(remote_message(mangoro_rpc_call(srv$url, "text", data.frame(x = 1))), "text=")
  s <- nanonext::socket("req", dial = srv$url)
  withr::defer(close(s))
  expect_identical(remote_message(mangoro_rpc_call(s, "text", data.frame(x = 1))), "text=")
})

test_that("a server with the header feature gets the call's id and timeout", {
  srv <- rpc_server()
  expect_true(all(c("header", "cancel") %in% unlist(srv$info$features)))
  # request_header() is what every call carries (pools add a token).
  expect_identical(request_header("0123456789abcdef", 1500L), '{"id":"0123456789abcdef","timeout_ms":1500}')
  expect_identical(request_header(), "")
  expect_identical(jsonlite::parse_json(request_header(token = "a\"b"))$token, "a\"b")
  # Timeouts are whole milliseconds, rounded half to even, capped at 1e15.
  ms <- c(0, 1, 9, 10, 100, 10100, 2147483647, 2147483747, 0.5, 1.5, 2.5, 999.7, 123456789012, 1e15, 3e17)
  want <- c("0", "1", "9", "10", "100", "10100", "2147483647", "2147483747", "0", "2", "2", "1000",
            "123456789012", "1000000000000000", "1000000000000000")
  got <- vapply(ms, function(m) request_header(timeout_ms = m, token = "t"), "")
  expect_identical(got, sprintf('{"timeout_ms":%s,"token":"t"}', want))
})

test_that("every req socket mangoro makes never resends a request", {
  srv <- rpc_server()
  expect_identical(nanonext::opt(srv$sock, "req:resend-time"), 0L)
  mangoro_rpc_call(srv$url, "add", data.frame(x = 1, y = 1))
  expect_identical(nanonext::opt(mangoro:::client_state$sockets[[srv$url]]$sock, "req:resend-time"), 0L)
})

test_that("the server's print method shows its workers", {
  srv <- rpc_server()
  expect_match(format(srv), "workers: 64, 0 busy", all = FALSE, fixed = TRUE)
  info <- mangoro_server_info(srv)
  expect_identical(info[c("workers", "busy")], list(workers = 64, busy = 0))
})

test_that("a plain tcp:// or ws:// server warns that it authenticates nobody", {
  bin <- test_program("rpc-example")
  expect_warning(srv <- mangoro_server_start(bin, url = "tcp://127.0.0.1:0"),
                 class = "mangoro_insecure_warning")
  withr::defer(close(srv))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))$result, 2)
  expect_no_warning(srv2 <- mangoro_server_start(bin))
  close(srv2)
})

test_that("a server given a token serves its object and refuses requests without it", {
  token <- paste0("tok-", nanonext::random(8L))
  srv <- rpc_server(env = c(MANGORO_TOKEN = token))
  expect_true("auth" %in% unlist(srv$info$features))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2))$result, 3)
  expect_error(mangoro_rpc_call(srv, "fail", data.frame(message = "boom")), "boom",
               class = "mangoro_remote_error")
  # A URL target carries no token: it learns nothing, not even the info.
  expect_null(mangoro_server_info(srv$url))
  e <- tryCatch(mangoro_rpc_call(srv$url, "add", data.frame(x = 1, y = 2)), mangoro_remote_error = identity)
  expect_identical(e$code, "unauthorized")
  expect_identical(e$remote_message, "rgoipc: unauthorized")
  e <- tryCatch(mangoro_rpc_get_manifest(srv$url), mangoro_remote_error = identity)
  expect_identical(e$code, "unauthorized")
  expect_false(any(grepl(token, readLines(srv$log_file), fixed = TRUE)))
})
