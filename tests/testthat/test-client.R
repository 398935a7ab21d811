test_that("the manifest lists the example functions with descriptions", {
  srv <- rpc_server()
  m <- mangoro_rpc_get_manifest(srv)
  expect_true(all(c("add", "echoString", "echoStruct", "transposeMatrix") %in% names(m)))
  for (f in c("add", "echoString", "echoStruct", "transposeMatrix")) {
    expect_type(m[[f]]$Metadata$description, "character")
    expect_true(nzchar(m[[f]]$Metadata$description))
  }
  # Simplified as jsonlite::fromJSON() does (the prototype's shape) ...
  expect_s3_class(m$add$Args, "data.frame")
  expect_identical(m$add$Args$Name, c("x", "y"))
  expect_identical(m$add$Args$Type$Type, c("float64", "float64"))
  expect_identical(m$echoString$Args$Name, "s")
  expect_identical(m$echoStruct$Args$Name, "person")
  expect_identical(m$transposeMatrix$Args, list())
  # ... or nested, as the server object keeps it.
  nested <- mangoro_rpc_get_manifest(srv, simplify = FALSE)
  expect_identical(vapply(nested$add$Args, `[[`, "", "Name"), c("x", "y"))
  expect_identical(nested$add$Args[[1]]$Type$Type, "float64")
  expect_identical(srv$manifest, nested)
  expect_error(mangoro_rpc_get_manifest(srv, simplify = NA), class = "mangoro_input_error")
  expect_identical(srv$info$server, "rgoipc")
  expect_gt(srv$info$max_message_size, 0)
})

test_that("add, echoString, transposeMatrix and echoStruct give the expected values", {
  srv <- rpc_server()
  res <- mangoro_rpc_call(srv, "add", data.frame(x = c(1.5, 2.5, 3.5, NA), y = c(0.5, 1.5, 2.5, 4.5)))
  expect_s3_class(res, "data.frame")
  expect_identical(res[[1]], c(2, 4, 6, NA))
  expect_identical(as.data.frame(res), res)

  s <- c("hello", "world", NA, "mangoro")
  expect_identical(mangoro_rpc_call(srv, "echoString", data.frame(s = s))$result, s)

  mat <- matrix(as.double(1:12), nrow = 3)
  from_df <- mangoro_rpc_call(srv, "transposeMatrix", as.data.frame(mat))
  from_mat <- mangoro_rpc_call(srv, "transposeMatrix", mat)
  expect_identical(unname(as.matrix(from_df)), t(mat))
  expect_identical(from_mat, from_df)

  person_df <- data.frame(name = c("Ann", "Bo", NA), age = c(31, NA, 7))
  res <- mangoro_rpc_call(srv, "echoStruct", data.frame(person = I(person_df)))
  expect_identical(res$person, person_df)
  expect_identical(srv$call("add", data.frame(x = 1, y = 2))[[1]], 3)
})

test_that("every column type round-trips through a Go server", {
  skip_if_not_installed("bit64")
  srv <- rpc_server()
  n <- 5
  df <- data.frame(
    i32 = c(1L, NA, -2L, .Machine$integer.max, 0L),
    i64 = bit64::as.integer64(c("9007199254740993", NA, "-1", "0", "42")),
    f64 = c(1.5, NA, NaN, -Inf, 1e300),
    str = c("a", NA, "", "\u00e9\u4e2d", "x"),
    lgl = c(TRUE, NA, FALSE, TRUE, FALSE),
    d32 = as.Date(c("2024-02-29", NA, "1900-01-01", "2100-12-31", "1970-01-01")),
    ts = as.POSIXct(c("2024-01-01 00:00:00", NA, "1960-06-01 12:30:00.25",
                      "2038-01-19 03:14:08", "2000-01-01 00:00:00"), tz = "America/Chicago")
  )
  df$bin <- list(as.raw(1:3), NULL, raw(0), as.raw(255), as.raw(0))
  df$lst <- list(1:3, NULL, integer(), NA_integer_, 5L)
  df$st <- data.frame(a = c(1L, NA, 3L, 4L, 5L), b = c("p", "q", NA, "s", "t"))
  out <- mangoro_rpc_call(srv, "echo", df)
  expect_identical(names(out), names(df))
  for (col in names(df)) expect_identical(out[[col]], df[[col]], info = col)
  expect_identical(is.nan(out$f64), is.nan(df$f64))
  # zero rows and a million rows
  expect_identical(mangoro_rpc_call(srv, "echo", df[0, c("i32", "f64", "str")]), df[0, c("i32", "f64", "str")])
  big <- data.frame(x = runif(1e6), y = seq_len(1e6))
  expect_identical(mangoro_rpc_call(srv, "echo", big, timeout = 60000), big)
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = big$x, y = big$x))[[1]], big$x * 2)
})

test_that("factors travel as dictionaries and come back from Go as factors", {
  srv <- rpc_server()
  f <- factor(c("b", NA, "a", "b"), levels = c("z", "a", "b"))
  o <- factor(c("lo", "hi", NA, "lo"), levels = c("lo", "mid", "hi"), ordered = TRUE)
  df <- data.frame(f = f, o = o, x = c(1, 2, NA, 4))
  out <- mangoro_rpc_call(srv, "echo", df)
  expect_identical(out, df)
  expect_identical(levels(out$f), c("z", "a", "b"))
  expect_s3_class(out$o, c("ordered", "factor"), exact = TRUE)
  # zero rows: arrow-go gives an empty dictionary array no index buffer
  expect_identical(mangoro_rpc_call(srv, "echo", df[0, ]), df[0, ])
  big <- data.frame(f = factor(sample(c(letters, NA), 1e6, TRUE), levels = rev(letters)))
  expect_identical(mangoro_rpc_call(srv, "echo", big, timeout = 60000), big)
})

test_that("rgoipc accepts factors for a declared dictionary argument", {
  srv <- local_mangoro_server(test_program("factor-server"))
  expect_identical(srv$manifest$describe$Args[[1]]$Type$Type, "dictionary")
  f <- factor(c("b", NA, "a"), levels = c("z", "a", "b"))
  res <- mangoro_rpc_call(srv, "describe", data.frame(f = f))
  expect_identical(res$code, c(2L, NA, 1L))
  expect_identical(res$label, c("b", NA, "a"))
  expect_identical(res$levels, rep(3L, 3))
  expect_identical(res$ordered, rep(FALSE, 3))
  o <- factor("hi", levels = c("lo", "hi"), ordered = TRUE)
  expect_identical(mangoro_rpc_call(srv, "describe", data.frame(f = o))$ordered, TRUE)
  expect_identical(mangoro_rpc_call(srv, "keep", data.frame(f = f))$f, f)
  # a character column is not a dictionary: a remote validation error
  expect_error(mangoro_rpc_call(srv, "describe", data.frame(f = "a")), "dictionary",
               class = "mangoro_remote_error")
})

test_that("time zones survive the round trip under two session zones", {
  srv <- rpc_server()
  for (session_tz in c("Pacific/Auckland", "UTC")) {
    withr::local_timezone(session_tz)
    x <- as.POSIXct(c("2021-10-31 01:30:00", NA), tz = "Europe/London")
    out <- mangoro_rpc_call(srv, "echo", data.frame(t = x))$t
    expect_identical(attr(out, "tzone"), "Europe/London")
    expect_equal(as.double(out), as.double(x))
  }
})

test_that("eight concurrent aio calls overlap", {
  srv <- rpc_server()
  start <- mclock_ms()
  aios <- lapply(1:8, function(i) mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 200)))
  expect_true(any(vapply(aios, nanonext::unresolved, TRUE)))
  res <- mangoro_aio_result(aios)
  elapsed <- mclock_ms() - start
  expect_identical(vapply(res, function(r) r[[1]], 0), rep(200, 8))
  expect_lt(elapsed, 1000)
  # nanonext's own API works on the object
  a <- mangoro_rpc_call_aio(srv, "add", data.frame(x = 1, y = 41))
  expect_s3_class(a, "mangoro_aio")
  expect_identical(nanonext::call_aio(a)$data[[1]], 42)
  expect_false(nanonext::unresolved(a))
  expect_output(print(a), "mangoro_aio \\| add\\(\\) \\| resolved")
  # failures are condition objects in $data and signalled by mangoro_aio_result()
  f <- mangoro_rpc_call_aio(srv, "fail", data.frame(message = "boom"))
  expect_s3_class(nanonext::call_aio(f)$data, "mangoro_remote_error")
  expect_error(mangoro_aio_result(f), "boom", class = "mangoro_remote_error")
})

test_that("aio calls convert to promises", {
  skip_if_not_installed("promises")
  skip_if_not_installed("later")
  srv <- rpc_server()
  value <- NULL
  failure <- NULL
  promises::then(promises::as.promise(mangoro_rpc_call_aio(srv, "add", data.frame(x = 2, y = 3))),
                 function(df) value <<- df)
  promises::catch(promises::as.promise(mangoro_rpc_call_aio(srv, "fail", data.frame(message = "nope"))),
                  function(e) failure <<- e)
  deadline <- mclock_ms() + 5000
  while ((is.null(value) || is.null(failure)) && mclock_ms() < deadline) later::run_now(0.5)
  expect_identical(value[[1]], 5)
  expect_s3_class(failure, "mangoro_remote_error")
  expect_true(promises::is.promise(promises::as.promise(mangoro_rpc_call_aio(srv, "add", data.frame(x = 1, y = 1)))))
})

test_that("bad inputs give classed errors and the server keeps answering", {
  srv <- rpc_server()
  still_ok <- function() expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))[[1]], 2)

  e <- expect_error(mangoro_rpc_call(srv, "noSuchFunction", data.frame(x = 1)), class = "mangoro_remote_error")
  expect_match(e$remote_message, "noSuchFunction")
  still_ok()
  expect_error(mangoro_rpc_call(srv, "add", data.frame(x = "a", y = "b")), class = "mangoro_remote_error")
  still_ok()
  expect_error(mangoro_rpc_call(srv, "add", data.frame(x = 1)), class = "mangoro_remote_error")
  still_ok()
  e <- expect_error(mangoro_rpc_call(srv, "fail", data.frame(message = "handler says no")),
                    class = "mangoro_remote_error")
  expect_identical(e$func, "fail")
  expect_match(e$remote_message, "handler says no")
  still_ok()
  expect_error(mangoro_rpc_call(srv, "crash", data.frame(x = 1)), class = "mangoro_remote_error")
  still_ok()
  expect_error(mangoro_rpc_call(srv, "add", data.frame(x = complex(real = 1))), class = "mangoro_input_error")
  still_ok()

  # raw garbage and a truncated envelope, sent by hand
  for (bytes in list(as.raw(c(0xde, 0xad, 0xbe, 0xef)),
                     mangoro_rpc_call_message("add", data.frame(x = 1, y = 2))[1:7],
                     mangoro_rpc_call_message("add", data.frame(x = 1, y = 2))[1:40])) {
    mangoro_rpc_send(srv, bytes)
    reply <- mangoro_rpc_parse_response(mangoro_rpc_recv(srv))
    expect_identical(reply$type, 3L)
    expect_error(mangoro:::message_result(mangoro:::envelope_pack(3L, reply$name, reply$error), "add"),
                 class = "mangoro_remote_error")
    still_ok()
  }
})

test_that("messages over the server's size limit are refused before sending", {
  srv <- rpc_server(env = c(MANGORO_MAX_MESSAGE_SIZE = "4096"))
  expect_identical(srv$info$max_message_size, 4096)
  big <- data.frame(x = runif(2000), y = runif(2000))
  e <- expect_error(mangoro_rpc_call(srv, "add", big), class = "mangoro_message_too_large")
  expect_gt(e$size, 4096)
  expect_error(mangoro_rpc_call_aio(srv, "add", big), class = "mangoro_message_too_large")
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))[[1]], 2)
})

test_that("a slow call times out with a classed error; the server stays usable", {
  srv <- rpc_server()
  start <- mclock_ms()
  err <- expect_error(mangoro_rpc_call(srv, "sleep", data.frame(ms = 3000), timeout = 200),
                      class = "mangoro_timeout_error")
  expect_lt(mclock_ms() - start, 2000)
  expect_match(conditionMessage(err), "Timed out waiting for the call to sleep()", fixed = TRUE)
  expect_match(conditionMessage(err), "mangoro_server_log()", fixed = TRUE)
  expect_type(err$stderr, "character")
  withr::local_options(mangoro.timeout = 150)
  expect_error(mangoro_rpc_call(srv, "sleep", data.frame(ms = 3000)), class = "mangoro_timeout_error")
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))[[1]], 2)
  expect_error(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1), timeout = -1),
               class = "mangoro_input_error")
})

test_that("the fast call path reads timeouts and options as the slow path does", {
  srv <- rpc_server()
  one <- data.frame(x = 1, y = 1)
  # No limit, a whole limit, a fractional one, a limit past integer range.
  for (t in list(Inf, 5000L, 2500.7, 1e12)) {
    expect_identical(mangoro_rpc_call(srv, "add", one, timeout = t)$result, 2)
  }
  for (bad in list(NA, "soon", c(1, 2), -0.5)) {
    e <- expect_error(mangoro_rpc_call(srv, "add", one, timeout = bad), class = "mangoro_input_error")
    expect_match(conditionMessage(e), "`timeout` must be one non-negative number", fixed = TRUE)
    withr::with_options(list(mangoro.timeout = bad), {
      expect_error(mangoro_rpc_call(srv, "add", one), class = "mangoro_input_error")
    })
  }
  withr::with_options(list(mangoro.shm_threshold = "big"), {
    e <- expect_error(mangoro_rpc_call(srv, "add", one), class = "mangoro_input_error")
    expect_match(conditionMessage(e), "mangoro.shm_threshold", fixed = TRUE)
  })
  # Both options set at once (the fast path reads them in one walk of the
  # options list): each still takes effect.
  withr::with_options(list(mangoro.timeout = 50, mangoro.shm_threshold = 0), {
    expect_error(mangoro_rpc_call(srv, "sleep", data.frame(ms = 2000)), class = "mangoro_timeout_error")
    if (mangoro:::shm_supported()) {
      expect_identical(mangoro_rpc_call(srv, "add", one)$result, 2)
      expect_true(isTRUE(mangoro:::rpc_target(srv)$shm$accepted))
    }
  })
  # The server answers the next call: nothing above reached it half-made.
  expect_identical(mangoro_rpc_call(srv, "add", one)$result, 2)
})

test_that("a request vector is reused only when nothing else holds it", {
  srv <- rpc_server()
  invisible(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1))) # the call record
  st <- mangoro:::client_state
  fast <- function(df, t) .Call(mangoro:::mangoro_c_call_fast, srv, "add", df, t, 100L, st)
  # Held requests of the same size never change under the next one.
  a <- fast(data.frame(x = 1.5, y = 2), 1000)
  a_bytes <- as.vector(a)
  b <- fast(data.frame(x = 7.25, y = 3), 2000)
  expect_identical(length(a), length(b))
  expect_identical(as.vector(a), a_bytes)
  expect_false(identical(as.vector(a), as.vector(b)))
  # A request nothing holds any more may be the next one's vector; it gets
  # only the next one's attributes (the slow path's request has no wait or
  # timeout, the fast path's has both).
  rm(a, b)
  invisible(fast(data.frame(x = 1.5, y = 2), 1000))
  slow <- mangoro:::call_message(mangoro:::rpc_target(srv), "add", data.frame(x = 1.5, y = 2), 1000)
  expect_setequal(names(attributes(slow)), "id")
  again <- fast(data.frame(x = 1.5, y = 2), 1000)
  expect_setequal(names(attributes(again)), c("wait", "timeout"))
  expect_identical(attr(again, "timeout"), 1000L)
  # The fast path's id is read back from the request's header, and only then.
  id <- .Call(mangoro:::mangoro_c_request_id, again)
  expect_match(id, "^[0-9a-f]{16}$")
  expect_length(grepRaw(sprintf('{"id":"%s"', id), again, fixed = TRUE), 1L)
  expect_null(.Call(mangoro:::mangoro_c_request_id, mangoro_rpc_call_message("add", data.frame(x = 1))))
  expect_null(.Call(mangoro:::mangoro_c_request_id, as.raw(1:3)))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1.5, y = 2))$result, 3.5)
})

test_that("killing the server mid-call gives mangoro_server_gone before the timeout", {
  srv <- rpc_server()
  a <- mangoro_rpc_call_aio(srv, "sleep", data.frame(ms = 20000), timeout = 15000)
  start <- mclock_ms()
  srv$process$kill()
  e <- expect_error(mangoro_aio_result(a), class = "mangoro_server_gone")
  expect_lt(mclock_ms() - start, 5000)
  expect_type(e$stderr, "character")
  expect_error(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 1)), class = "mangoro_server_gone")
})

test_that("URL strings and bare nanonext sockets work as targets", {
  srv <- rpc_server()
  expect_identical(mangoro_rpc_call(srv$url, "add", data.frame(x = 1, y = 2))[[1]], 3)
  expect_identical(mangoro_rpc_call(srv$url, "add", data.frame(x = 2, y = 2))[[1]], 4)
  s <- nanonext::socket("req", dial = srv$url)
  on.exit(close(s), add = TRUE)
  expect_identical(mangoro_rpc_call(s, "add", data.frame(x = 1, y = 5))[[1]], 6)
  expect_true("add" %in% names(mangoro_rpc_get_manifest(s)))
  expect_error(mangoro_rpc_call(42, "add", data.frame(x = 1)), class = "mangoro_input_error")
})

test_that("an rgoipc server answers envelopes built byte by byte", {
  srv <- rpc_server()
  s <- nanonext::socket("req", dial = srv$url)
  on.exit(close(s), add = TRUE)
  be32 <- function(n) writeBin(as.integer(n), raw(), endian = "big")
  payload <- mangoro_ipc_write(data.frame(x = c(1, 2), y = c(10, 20)))
  msg <- c(as.raw(1), be32(3), charToRaw("add"), be32(0), payload)
  nanonext::send(s, msg, mode = "raw", block = 5000)
  reply <- nanonext::recv(s, mode = "raw", block = 5000)
  expect_identical(reply[1], as.raw(2))
  nlen <- readBin(reply[2:5], "integer", endian = "big")
  elen <- readBin(reply[(6 + nlen):(9 + nlen)], "integer", endian = "big")
  expect_identical(elen, 0L)
  result <- mangoro_ipc_read(reply[(10 + nlen + elen):length(reply)])
  expect_identical(result[[1]], c(11, 22))
  # manifest request: nine bytes
  nanonext::send(s, c(as.raw(0), be32(0), be32(0)), mode = "raw", block = 5000)
  reply <- nanonext::recv(s, mode = "raw", block = 5000)
  expect_identical(reply[1], as.raw(0))
})

test_that("the R client talks to a server written against the wire format alone", {
  bin <- test_program("minimal-server")
  srv <- local_mangoro_server(bin)
  expect_null(srv$info) # it answers the info request with an error: no info
  expect_setequal(names(srv$manifest), c("add", "echo"))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = c(1.5, NA), y = c(1, 2)))[[1]], c(2.5, NA))
  df <- data.frame(s = c("a", NA), d = as.Date(c(NA, "2020-01-01")), n = c(NaN, 1))
  expect_identical(mangoro_rpc_call(srv, "echo", df), df)
  expect_error(mangoro_rpc_call(srv, "nope", data.frame(x = 1)), "unknown function",
               class = "mangoro_remote_error")
})

test_that("the README's add.go example builds and answers", {
  bin <- test_program_file(system.file("examples", "add.go", package = "mangoro"))
  srv <- local_mangoro_server(bin)
  expect_identical(srv$manifest$add$Metadata$description, "Element-wise x + y")
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1:3, y = 0.5))$result, c(1.5, 2.5, 3.5))
})

test_that("a dead server behind a URL or a bare socket is noticed within a second, even with timeout = Inf", {
  for (kind in c("url", "socket")) {
    srv <- rpc_server()
    target <- srv$url
    if (kind == "socket") {
      target <- nanonext::socket("req", dial = srv$url)
      withr::defer(close(target))
    }
    # connected (and, for the socket, its info fetched) before the kill
    expect_identical(mangoro_rpc_call(target, "add", data.frame(x = 1, y = 1))[[1]], 2)
    a <- mangoro_rpc_call_aio(target, "sleep", data.frame(ms = 3000), timeout = Inf)
    start <- mclock_ms()
    srv$process$kill() # SIGKILL while the call is in flight
    e <- expect_error(mangoro_aio_result(a), class = "mangoro_server_gone")
    expect_lt(mclock_ms() - start, 1500)
    expect_match(conditionMessage(e), "connection", label = kind)
    # the next synchronous call fails the same way, not after its timeout
    start <- mclock_ms()
    expect_error(mangoro_rpc_call(target, "add", data.frame(x = 1, y = 1), timeout = Inf),
                 class = "mangoro_server_gone")
    expect_lt(mclock_ms() - start, 1500)
  }
})

test_that("the size check is exact: limit passes, limit + 1 is refused, for every target", {
  # With the Go side's exact max_message_size (the envelope, not the wire
  # frame), a message of exactly the limit is served. Every target here
  # speaks the request header, so the message carries one (a 16-digit call
  # id and the 5000 ms timeout).
  d <- data.frame(x = runif(100))
  # What R sends to these servers: the call with its header (id, timeout).
  n <- length(mangoro:::message_encode_call("echo", d, mangoro:::call_header(list(), strrep("0", 16L), 5000)))
  at <- rpc_server(env = c(MANGORO_MAX_MESSAGE_SIZE = as.character(n)))
  under <- rpc_server(env = c(MANGORO_MAX_MESSAGE_SIZE = as.character(n - 1)))
  expect_equal(at$info$max_message_size, n)
  sockets <- list()
  withr::defer(for (s in sockets) close(s))
  for (srv in list(at, under)) {
    s <- nanonext::socket("req", dial = srv$url)
    sockets <- c(sockets, list(s))
    for (target in list(srv, srv$url, s)) {
      if (identical(srv, at)) {
        expect_equal(mangoro_rpc_call(target, "echo", d, timeout = 5000), d)
      } else {
        e <- expect_error(mangoro_rpc_call(target, "echo", d, timeout = 5000), class = "mangoro_message_too_large")
        expect_identical(e$size, n)
        expect_identical(e$max_message_size, n - 1)
      }
    }
  }
})

test_that("remote errors carry the server's code", {
  srv <- rpc_server()
  e <- expect_error(mangoro_rpc_call(srv, "noSuchFunction", data.frame(x = 1)),
                    class = "mangoro_remote_error")
  expect_identical(e$code, "unknown_function")
  e <- expect_error(mangoro_rpc_call(srv, "crash", data.frame()), class = "mangoro_remote_error")
  expect_identical(e$code, "panic")
  e <- expect_error(mangoro_rpc_call(srv, "crash", data.frame(x = 1)), class = "mangoro_remote_error")
  expect_identical(e$code, "bad_arguments")
  e <- expect_error(mangoro_rpc_call(srv, "fail", data.frame(message = "no")), class = "mangoro_remote_error")
  expect_identical(e$code, "handler")
})
