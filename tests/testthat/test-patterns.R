# Asynchronous and event-driven patterns between R and a Go peer: receiving
# in the background, learning about connects and disconnects from
# pipe_notify(), and telling a message from a disconnect with a cv flag.

test_that("recv_aio() takes a Go publisher's stream while R does other work", {
  # The publisher sends c(1, 2, 3) every 5 ms once a subscriber is there.
  go <- local_peer("pub", transport_url("ipc"), "-codec", "float64", "-interval", "5ms",
                   "-repeat", "-1", "--", "1", "2", "3")
  sub <- nanonext::socket("sub", dial = peer_url(go))
  on.exit(close(sub), add = TRUE)
  nanonext::subscribe(sub, NULL)

  cv <- nanonext::cv()
  aio <- nanonext::recv_aio(sub, mode = "double", timeout = 5000, cv = cv)
  busy <- sum(as.numeric(seq_len(1e6))) # R is free while the message comes
  expect_identical(busy, 500000500000)
  expect_true(nanonext::until(cv, 5000))
  expect_identical(nanonext::call_aio(aio)$data, c(1, 2, 3))

  # A stream: several messages, each signalling the same cv.
  aios <- lapply(1:5, function(i) nanonext::recv_aio(sub, mode = "double", timeout = 5000, cv = cv))
  for (i in 1:5) expect_true(nanonext::until(cv, 5000))
  expect_identical(lapply(aios, function(a) a$data), rep(list(c(1, 2, 3)), 5L))

  # Stop the stream before closing: closing a sub socket while messages
  # pour in can hang in NNG's socket shutdown. Wait until the pipe is gone.
  gone <- nanonext::cv()
  nanonext::pipe_notify(sub, gone, remove = TRUE)
  go$kill()
  expect_true(nanonext::until(gone, 5000))
})

test_that("pipe_notify() signals a cv when the Go peer connects and when it goes away", {
  s <- nanonext::socket("pull")
  on.exit(close(s), add = TRUE)
  cv <- nanonext::cv()
  nanonext::pipe_notify(s, cv, add = TRUE, remove = TRUE)
  nanonext::listen(s, transport_url("ipc"), fail = "error")
  url <- bound_url(s)

  go <- local_peer("push", url, "-dial")
  expect_true(nanonext::until(cv, 5000)) # connected
  expect_identical(nanonext::stat(s, "pipes"), 1)
  go$kill()
  expect_true(nanonext::until(cv, 5000)) # gone
  expect_identical(nanonext::stat(s, "pipes"), 0)
})

test_that("wait() with a flagged cv tells a message (TRUE) from a disconnect (FALSE)", {
  s <- nanonext::socket("pull")
  on.exit(close(s), add = TRUE)
  cv <- nanonext::cv()
  # Disconnects set the flag; received messages only signal.
  nanonext::pipe_notify(s, cv, remove = TRUE, flag = TRUE)
  nanonext::listen(s, transport_url("tcp"), fail = "error")
  go <- local_peer("push", bound_url(s), "-dial", "-stdin")

  aio <- nanonext::recv_aio(s, mode = "character", cv = cv)
  go$write_input("string \"a message\"\n")
  expect_true(nanonext::wait(cv))
  expect_identical(aio$data, "a message")

  aio <- nanonext::recv_aio(s, mode = "character", cv = cv)
  go$kill()
  go$wait(5000)
  # The peer is dead, so the pipe's removal is certain to signal.
  expect_false(nanonext::wait(cv))
  expect_true(nanonext::unresolved(aio))
  nanonext::stop_aio(aio)
})

test_that("a Go peer stops cleanly on SIGTERM, on a quit message and when stdin ends", {
  skip_on_os("windows") # no SIGTERM there
  go <- local_peer("rep", transport_url("tcp"))
  go$signal(tools::SIGTERM)
  expect_identical(peer_exit_status(go), 0L)
  expect_match(peer_log(go), "[nng-peer rep] done", fixed = TRUE)

  l <- local_listener("push", transport_url("ipc"))
  go <- local_peer("pull", l$url, "-dial")
  expect_peers(l)
  nanonext::send(l$sock, "quit", mode = "raw", block = 5000)
  expect_identical(peer_values(peer_lines(go)), "quit")
  expect_identical(peer_exit_status(go), 0L)

  # R keeps the peer's stdin open (MANGORO_PARENT=stdin): closing it, as
  # when R exits, stops the peer.
  go <- local_peer("sub", transport_url("ws"))
  close(go$get_input_connection())
  expect_identical(peer_exit_status(go), 0L)
  expect_match(peer_log(go), "parent gone", fixed = TRUE)
})
