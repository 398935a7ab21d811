# Issue 14: a corrupted reply is a protocol error with R alive, whatever the
# types in it.

# The reply of the rpc-example server to echo(l = list(1:3, 4:5)).
list_reply <- function(srv) {
  s <- nanonext::socket("req", dial = srv$url)
  on.exit(close(s))
  nanonext::request(nanonext::context(s), mangoro_rpc_call_message("echo", list(l = list(1:3, 4:5))),
                    send_mode = "raw", recv_mode = "raw", timeout = 10000)[]
}

decode_outcome <- function(payload) {
  tryCatch({
    res <- mangoro_ipc_read(payload)
    if (is.data.frame(res)) "ok" else "not-a-frame"
  }, mangoro_protocol_error = function(e) "protocol", error = function(e) conditionMessage(e))
}

test_that("the issue's flipped byte in a list reply is a protocol error, not an abort", {
  srv <- rpc_server()
  r <- list_reply(srv)
  expect_identical(mangoro_ipc_read(mangoro_rpc_parse_response(r)$payload)$l, list(1:3, 4:5))
  r[357] <- as.raw(0x28)
  expect_error(mangoro_ipc_read(mangoro_rpc_parse_response(r)$payload), class = "mangoro_protocol_error")
  # every byte of the payload set to 0x28 or flipped: data or a protocol error
  payload <- mangoro_rpc_parse_response(list_reply(srv))$payload
  seen <- character()
  for (at in seq_along(payload)) {
    for (v in list(as.raw(0x28), xor(payload[at], as.raw(0xff)))) {
      b <- payload
      b[at] <- v
      seen <- c(seen, decode_outcome(b))
    }
  }
  expect_setequal(unique(seen), c("ok", "protocol"))
  expect_identical(mangoro_rpc_call(srv, "add", data.frame(x = 1, y = 2))$result, 3)
})

test_that("a server answering with corrupted replies gives protocol errors through mangoro_rpc_call()", {
  srv <- rpc_server()
  good <- list_reply(srv)
  start <- mangoro:::message_decode(good)$offset
  set.seed(14)
  replies <- list(`[<-`(good, 357, as.raw(0x28)))
  for (k in 1:40) {
    b <- good
    at <- start + sample.int(length(good) - start, sample(1:3, 1L))
    b[at] <- as.raw(sample.int(256L, length(at), TRUE) - 1L)
    replies[[length(replies) + 1L]] <- b
  }
  rds <- withr::local_tempfile(fileext = ".rds")
  saveRDS(replies, rds)
  url <- sprintf("ipc://%s", withr::local_tempfile(pattern = "fake-"))
  p <- processx::process$new(
    file.path(R.home("bin"), "Rscript"), c(test_path("fuzz", "fake-server.R"), url, rds),
    stdout = "|", stderr = "|", env = c("current", R_LIBS = paste(.libPaths(), collapse = ":"))
  )
  withr::defer(if (p$is_alive()) p$kill())
  expect_identical(p$poll_io(20000)[["output"]], "ready")
  expect_identical(p$read_output_lines(1L), "fake-ready")
  # A bare socket as the target: a URL string would first ask for the info reply.
  sock <- nanonext::socket("req", dial = url)
  on.exit(close(sock), add = TRUE)
  outcome <- function() {
    tryCatch({
      res <- mangoro_rpc_call(sock, "echo", list(l = list(1:3, 4:5)), timeout = 10000)
      if (is.data.frame(res)) "ok" else "not-a-frame"
    }, mangoro_protocol_error = function(e) "protocol", error = function(e) paste(class(e)[1L], conditionMessage(e)))
  }
  expect_identical(outcome(), "protocol") # the issue's reproduction, end to end
  seen <- vapply(seq_len(length(replies) - 1L), function(k) outcome(), "")
  expect_true(all(seen %in% c("ok", "protocol")), info = paste(unique(seen), collapse = "\n"))
  expect_true("protocol" %in% seen)
  expect_identical(p$wait(10000)$get_exit_status(), 0L)
})
