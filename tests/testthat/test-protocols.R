# Every NNG protocol between R (nanonext) and Go (mangos, the nng-peer
# program), both ways, over every transport. Go peers print what they
# receive ("mangoro-recv <codec> <values>"); R asserts on those values and on
# what it receives itself. No sleeps: readiness is the Go ready line or an R
# pipe_notify() cv, and messages are awaited with timeouts.

test_that("R req -> Go rep over every transport, the reply decoded and reversed in Go", {
  for (transport in c("ipc", "tcp", "ws", "tls+tcp", "wss")) {
    url <- transport_url(transport)
    tls <- if (is_tls(url)) tls_pair()
    go <- local_peer("rep", url, "-codec", "float64", "-op", "reverse",
                     if (!is.null(tls)) peer_tls_args(tls))
    s <- nanonext::socket("req")
    nanonext::dial(s, peer_url(go), tls = tls$client, fail = "error")
    x <- c(1.5, -2, 1e300, NA, Inf)
    r <- nanonext::request(nanonext::context(s), x, send_mode = "raw",
                           recv_mode = "double", timeout = 5000)
    expect_identical(r[], rev(x), label = transport)
    expect_identical(peer_values(peer_lines(go)), x, label = transport)
    close(s)
  }
})

test_that("Go req -> R rep, R answering with reply() on a context (tcp and wss)", {
  for (transport in c("tcp", "wss")) {
    url <- transport_url(transport)
    tls <- if (is_tls(url)) tls_pair()
    l <- local_listener("rep", url, tls = tls$server)
    # The Go client gets the CA from the environment as PEM text.
    go <- local_peer("req", l$url, "-dial", "-codec", "int32", "--", "3", "-1", "NA",
                     env = if (!is.null(tls)) mangoro_tls_env(tls, "client"))
    ctx <- nanonext::context(l$sock)
    rc <- nanonext::reply(ctx, execute = function(x) x * 2L, recv_mode = "integer",
                          send_mode = "raw", timeout = 5000)
    expect_identical(rc, 0L)
    expect_identical(peer_values(peer_lines(go)), c(6L, -2L, NA))
    expect_identical(peer_exit_status(go), 0L) # one request answered: done
  }
})

test_that("data types survive R -> Go -> R: double, integer, character, raw", {
  cases <- list(
    float64 = c(0, -0.1, pi, 1e-310, .Machine$double.xmax, NA, NaN, -Inf),
    int32 = c(0L, 1L, -1L, .Machine$integer.max, -.Machine$integer.max, NA),
    string = c("a", "", "two words", "caf\u00e9", "tab\tand \"quotes\""),
    raw = as.raw(c(0, 1, 127, 128, 255))
  )
  mode <- c(float64 = "double", int32 = "integer", string = "character", raw = "raw")
  for (codec in names(cases)) {
    x <- cases[[codec]]
    go <- local_peer("rep", create_ipc_path("types"), "-codec", codec, "-op", "echo", "-count", "1")
    s <- nanonext::socket("req", dial = peer_url(go))
    ctx <- nanonext::context(s)
    echo <- nanonext::request(ctx, x, send_mode = "raw", recv_mode = mode[[codec]], timeout = 5000)[]
    expect_identical(echo, x, label = paste(codec, "echo"))
    # What Go decoded, printed as text and parsed back in R, is the same.
    expect_identical(peer_values(peer_lines(go)), x, label = paste(codec, "as decoded in Go"))
    close(s)
    expect_identical(peer_exit_status(go), 0L)
  }
  # Element boundaries, not just bytes: Go reverses the elements.
  go <- local_peer("rep", create_ipc_path("rev"), "-codec", "string", "-op", "reverse")
  s <- nanonext::socket("req", dial = peer_url(go))
  r <- nanonext::request(nanonext::context(s), c("ab", "", "cde"), send_mode = "raw",
                         recv_mode = "character", timeout = 5000)
  expect_identical(r[], c("cde", "", "ab"))
  close(s)
})

test_that("pair: both sides send, with R listening (ipc) and with Go listening (ws)", {
  # R listens, Go dials.
  l <- local_listener("pair", create_ipc_path("pair"))
  go <- local_peer("pair", l$url, "-dial", "-codec", "float64", "-count", "1", "--", "1", "2")
  expect_peers(l)
  expect_identical(nanonext::send(l$sock, c(10, 20, 30), mode = "raw", block = 5000), 0L)
  expect_identical(nanonext::recv(l$sock, mode = "double", block = 5000), c(1, 2))
  expect_identical(peer_values(peer_lines(go)), c(10, 20, 30))

  # Go listens, R dials; Go also answers each message, reversed.
  go <- local_peer("pair", transport_url("ws"), "-codec", "string", "-op", "reverse", "hello from Go")
  s <- nanonext::socket("pair", dial = peer_url(go))
  on.exit(close(s), add = TRUE)
  expect_identical(nanonext::recv(s, mode = "character", block = 5000), "hello from Go")
  nanonext::send(s, c("x", "y"), mode = "raw", block = 5000)
  expect_identical(nanonext::recv(s, mode = "character", block = 5000), c("y", "x"))
  expect_identical(peer_values(peer_lines(go)), c("x", "y"))
})

test_that("Go pub -> R sub: nanonext topic filtering on messages made in Go", {
  # The publisher waits for its subscriber, then publishes what its stdin
  # asks for; a subscriber reads messages in order, so a filtered message
  # followed by a matching one proves the filtered one was dropped.
  go <- local_peer("pub", transport_url("tcp"), "-stdin", "-peers", "1")
  pub <- function(...) go$write_input(paste0(paste(...), "\n"))
  sub <- nanonext::socket("sub")
  on.exit(close(sub), add = TRUE)
  cv <- nanonext::cv()
  nanonext::pipe_notify(sub, cv, add = TRUE)
  nanonext::subscribe(sub, "fruit")
  nanonext::dial(sub, peer_url(go), fail = "error")
  expect_true(nanonext::until(cv, 5000))
  got <- function(mode) nanonext::recv(sub, mode = mode, block = 5000)

  # Character vector whose first element is the topic.
  pub("string veg carrot")
  pub("string fruit apple")
  expect_identical(got("character"), c("fruit", "apple"))
  # A single string that starts with the topic.
  pub("string vegetable:leek")
  pub("string fruit:banana")
  expect_identical(got("character"), "fruit:banana")
  # A double topic: the first element of a double vector.
  nanonext::subscribe(sub, 2)
  pub("float64 3 1 1")
  pub("float64 2 10 20")
  expect_identical(got("double"), c(2, 10, 20))
  # unsubscribe(): fruit no longer arrives, 2 still does.
  nanonext::unsubscribe(sub, "fruit")
  pub("string fruit cherry")
  pub("float64 2 30")
  expect_identical(got("double"), c(2, 30))
  # NULL subscribes to everything.
  nanonext::subscribe(sub, NULL)
  pub("raw 01 02 03")
  expect_identical(got("raw"), as.raw(1:3))
})

test_that("R pub -> Go sub over ws: Go filters by topic like nanonext", {
  l <- local_listener("pub", transport_url("ws"))
  go <- local_peer("sub", l$url, "-dial", "-codec", "string", "-topic", "fruit", "-count", "2")
  expect_peers(l)
  for (msg in list(c("veg", "carrot"), c("fruit", "apple"), "vegetable:leek", "fruit:pear")) {
    nanonext::send(l$sock, msg, mode = "raw", block = 5000)
  }
  expect_identical(lapply(peer_lines(go, 2L), peer_values), list(c("fruit", "apple"), "fruit:pear"))
  expect_identical(peer_exit_status(go), 0L)
})

test_that("R surveyor, two Go respondents, one silent: its aio times out (errorValue 5)", {
  l <- local_listener("surveyor", create_ipc_path("survey"))
  answers <- local_peer("respondent", l$url, "-dial", "-codec", "string", "-op", "reverse")
  silent <- local_peer("respondent", l$url, "-dial", "-codec", "string", "-op", "none")
  expect_peers(l, 2L)
  nanonext::survey_time(l$sock, 500)
  nanonext::send(l$sock, c("how", "are", "you"), mode = "raw", block = 5000)
  aios <- list(nanonext::recv_aio(l$sock, mode = "character"),
               nanonext::recv_aio(l$sock, mode = "character"))
  results <- lapply(aios, function(a) nanonext::call_aio(a)$data)
  answered <- Filter(Negate(nanonext::is_error_value), results)
  timed_out <- Filter(nanonext::is_error_value, results)
  expect_identical(answered, list(c("you", "are", "how")))
  expect_length(timed_out, 1L)
  expect_identical(unclass(timed_out[[1L]]), 5L)
  # Both respondents received the survey.
  expect_identical(peer_values(peer_lines(answers)), c("how", "are", "you"))
  expect_identical(peer_values(peer_lines(silent)), c("how", "are", "you"))
})

test_that("Go surveyor -> two R respondents (tcp)", {
  go <- local_peer("surveyor", transport_url("tcp"), "-peers", "2", "-survey-time", "500ms",
                   "-count", "1", "-codec", "int32", "--", "1", "2", "3")
  res <- lapply(1:2, function(i) nanonext::socket("respondent", dial = peer_url(go)))
  on.exit(lapply(res, close), add = TRUE)
  for (i in 1:2) {
    x <- nanonext::recv(res[[i]], mode = "integer", block = 5000)
    expect_identical(x, 1:3)
    nanonext::send(res[[i]], x * 10L + i, mode = "raw", block = 5000)
  }
  lines <- peer_lines(go, 3L)
  expect_identical(lines[[3L]], "mangoro-survey-done 2")
  got <- lapply(lines[1:2], peer_values)
  expect_setequal(got, list(c(11L, 21L, 31L), c(12L, 22L, 32L)))
  expect_identical(peer_exit_status(go), 0L)
})

test_that("push/pull: R push -> Go pull (tls+tcp), Go pushes -> R pull (ws, two pushers)", {
  tls <- tls_pair()
  go <- local_peer("pull", transport_url("tls+tcp"), "-codec", "float64", "-count", "3",
                   peer_tls_args(tls))
  s <- nanonext::socket("push")
  on.exit(close(s), add = TRUE)
  nanonext::dial(s, peer_url(go), tls = tls$client, fail = "error")
  for (i in 1:3) nanonext::send(s, c(i, i / 2), mode = "raw", block = 5000)
  expect_identical(lapply(peer_lines(go, 3L), peer_values), lapply(1:3, function(i) c(i, i / 2)))
  expect_identical(peer_exit_status(go), 0L)

  # Fan-in: two Go pushers, one R puller.
  l <- local_listener("pull", transport_url("ws"))
  local_peer("push", l$url, "-dial", "-codec", "string", "-repeat", "2", "from one")
  local_peer("push", l$url, "-dial", "-codec", "string", "-repeat", "2", "from two")
  got <- vapply(1:4, function(i) nanonext::recv(l$sock, mode = "character", block = 5000), "")
  expect_identical(sort(got), rep(c("from one", "from two"), each = 2L))
})

test_that("bus: an R node and two Go nodes (tcp), every message to every peer", {
  l <- local_listener("bus", transport_url("tcp"))
  go <- list()
  for (v in c("one", "two")) {
    go[[v]] <- local_peer("bus", l$url, "-dial", "-codec", "string", "-count", "1", paste("hello from", v))
  }
  expect_peers(l, 2L)
  got <- vapply(1:2, function(i) nanonext::recv(l$sock, mode = "character", block = 5000), "")
  expect_setequal(got, c("hello from one", "hello from two"))
  nanonext::send(l$sock, "hello from R", mode = "raw", block = 5000)
  for (p in go) {
    expect_identical(peer_values(peer_lines(p)), "hello from R")
    expect_identical(peer_exit_status(p), 0L)
  }
})
